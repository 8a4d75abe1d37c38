//! Polygons as lists of `[x, y]` points (closed implicitly).

use std::fmt;

/// Why a list of points is not a usable zone polygon.
#[derive(Debug, Clone, PartialEq)]
pub enum PolygonProblem {
    TooFewPoints { points: usize },
    NotFinite { index: usize },
    ZeroArea,
    SelfIntersecting { edge_a: usize, edge_b: usize },
}

impl fmt::Display for PolygonProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewPoints { points } => write!(f, "needs at least 3 points, has {points}"),
            Self::NotFinite { index } => write!(f, "point {index} is not a finite number"),
            Self::ZeroArea => write!(f, "has zero area (its points are repeated or on one line)"),
            Self::SelfIntersecting { edge_a, edge_b } => {
                write!(f, "edges {edge_a} and {edge_b} cross: the polygon must not intersect itself")
            }
        }
    }
}

/// Twice the signed area (shoelace formula); positive for counter-clockwise.
pub fn signed_area2(points: &[[f64; 2]]) -> f64 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let [x0, y0] = points[i];
            let [x1, y1] = points[(i + 1) % n];
            x0 * y1 - x1 * y0
        })
        .sum()
}

fn orientation(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Proper crossing of two segments (touching at an end point does not count).
fn segments_cross(p1: [f64; 2], p2: [f64; 2], q1: [f64; 2], q2: [f64; 2]) -> bool {
    let d1 = orientation(q1, q2, p1);
    let d2 = orientation(q1, q2, p2);
    let d3 = orientation(p1, p2, q1);
    let d4 = orientation(p1, p2, q2);
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

/// Checks that points form a simple polygon with an area. Crossing edges are checked
/// first: a bow-tie has zero signed area, but "edges cross" is the useful message.
pub fn check_polygon_shape(points: &[[f64; 2]]) -> Result<(), PolygonProblem> {
    let n = points.len();
    if n < 3 {
        return Err(PolygonProblem::TooFewPoints { points: n });
    }
    if let Some(index) = points.iter().position(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return Err(PolygonProblem::NotFinite { index });
    }
    for a in 0..n {
        for b in a + 2..n {
            // Edge n-1 and edge 0 are adjacent.
            if a == 0 && b == n - 1 {
                continue;
            }
            if segments_cross(points[a], points[(a + 1) % n], points[b], points[(b + 1) % n]) {
                return Err(PolygonProblem::SelfIntersecting { edge_a: a, edge_b: b });
            }
        }
    }
    let scale = points.iter().flat_map(|p| p.iter()).fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    if signed_area2(points).abs() <= 1e-9 * scale * scale {
        return Err(PolygonProblem::ZeroArea);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert_eq!(check_polygon_shape(&square), Ok(()));
        assert_eq!(check_polygon_shape(&square[..2]), Err(PolygonProblem::TooFewPoints { points: 2 }));
        assert_eq!(check_polygon_shape(&[[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]), Err(PolygonProblem::ZeroArea));
        let bowtie = [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]];
        assert_eq!(check_polygon_shape(&bowtie), Err(PolygonProblem::SelfIntersecting { edge_a: 0, edge_b: 2 }));
        assert_eq!(
            check_polygon_shape(&[[0.0, 0.0], [f64::NAN, 0.0], [1.0, 1.0]]),
            Err(PolygonProblem::NotFinite { index: 1 })
        );
    }
}
