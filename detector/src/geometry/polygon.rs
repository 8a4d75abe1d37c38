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

/// Whether `(x, y)` lies inside the polygon (even-odd rule; points exactly on an edge
/// may fall either side, but always the same side whatever the vertex order).
///
/// Each edge is taken lower end first, so reversing the vertex list or starting it at
/// another vertex gives bit-for-bit the same arithmetic: membership cannot depend on
/// how a zone was written down.
pub fn contains_point(points: &[[f64; 2]], x: f64, y: f64) -> bool {
    let n = points.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    for i in 0..n {
        let (mut a, mut b) = (points[i], points[(i + 1) % n]);
        if (a[1], a[0]) > (b[1], b[0]) {
            std::mem::swap(&mut a, &mut b);
        }
        // Half-open in y: a vertex on the ray's line is counted for one edge only.
        if a[1] <= y && y < b[1] {
            let cross_x = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if x < cross_x {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod membership_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn square_and_concave_shapes() {
        let square = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        assert!(contains_point(&square, 5.0, 5.0));
        assert!(!contains_point(&square, 15.0, 5.0));
        assert!(!contains_point(&square, -0.1, 5.0));
        // An L shape: the notch is outside.
        let l = [[0.0, 0.0], [10.0, 0.0], [10.0, 4.0], [4.0, 4.0], [4.0, 10.0], [0.0, 10.0]];
        assert!(contains_point(&l, 2.0, 8.0));
        assert!(!contains_point(&l, 8.0, 8.0));
    }

    fn polygon() -> impl Strategy<Value = Vec<[f64; 2]>> {
        prop::collection::vec((0.0f64..100.0, 0.0f64..100.0).prop_map(|(x, y)| [x, y]), 3..9)
    }

    proptest! {
        // Membership is a property of the shape, not of how its vertices are listed.
        #[test]
        fn membership_ignores_vertex_order_and_rotation(poly in polygon(), rot in 0usize..9,
                                                       x in -10.0f64..110.0, y in -10.0f64..110.0) {
            let expected = contains_point(&poly, x, y);
            let mut rotated = poly.clone();
            rotated.rotate_left(rot % poly.len());
            prop_assert_eq!(contains_point(&rotated, x, y), expected);
            let mut reversed = rotated.clone();
            reversed.reverse();
            prop_assert_eq!(contains_point(&reversed, x, y), expected);
        }

        // Vertices exactly on grid lines and query points on them too: the hard cases.
        #[test]
        fn membership_ignores_order_on_a_grid(poly in prop::collection::vec((0i32..6, 0i32..6).prop_map(|(x, y)| [f64::from(x), f64::from(y)]), 3..8),
                                             rot in 0usize..8, x in 0i32..6, y in 0i32..6) {
            let (x, y) = (f64::from(x), f64::from(y));
            let expected = contains_point(&poly, x, y);
            let mut other = poly.clone();
            other.rotate_left(rot % poly.len());
            other.reverse();
            prop_assert_eq!(contains_point(&other, x, y), expected);
        }
    }
}
