//! Privacy masks: configured polygons (windows, doorways, private yards) that are
//! filled before the model ever sees the frame, so nothing inside them is detected.

/// A polygon in frame coordinates: normalised (0..1 of width and height) or pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyMask {
    pub points: Vec<[f64; 2]>,
    pub normalized: bool,
}

impl PrivacyMask {
    /// The polygon in pixels of a `width x height` frame.
    pub fn frame_points(&self, width: u32, height: u32) -> impl Iterator<Item = (f64, f64)> + '_ {
        let (sx, sy) = if self.normalized { (f64::from(width), f64::from(height)) } else { (1.0, 1.0) };
        self.points.iter().map(move |[x, y]| (x * sx, y * sy))
    }
}
