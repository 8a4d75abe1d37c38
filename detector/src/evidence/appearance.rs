//! Appearance patches: a box's content shrunk to 16x16 grey values, compared by
//! normalised cross-correlation. Subtracting the mean and dividing by the spread makes
//! the comparison blind to brightness and contrast, which is what changes when clouds
//! pass, street lights come on or headlights sweep; what is *there* does not.

use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Rect, Size};
use opencv::imgproc;

use super::borrowed_mat::with_borrowed_mat;
use crate::geometry::boxes::BoxXyxy;
use crate::image::ImageRef;

const SIDE: usize = 16;

/// A box's content, 16x16 grey, mean 0 and unit norm (or flat).
#[derive(Debug, Clone, PartialEq)]
pub struct GreyPatch {
    values: Vec<f32>,
    /// A patch without texture (a blank wall) proves nothing either way.
    flat: bool,
}

impl GreyPatch {
    /// From 16x16 grey values, row by row.
    pub fn from_grey(values: &[f32]) -> Option<Self> {
        if values.len() != SIDE * SIDE {
            return None;
        }
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let centred: Vec<f32> = values.iter().map(|v| v - mean).collect();
        let norm = centred.iter().map(|v| v * v).sum::<f32>().sqrt();
        // Less than one grey level of spread per pixel on average: nothing to compare.
        let flat = norm < (SIDE as f32);
        let values = if flat { centred } else { centred.iter().map(|v| v / norm).collect() };
        Some(Self { values, flat })
    }

    /// The content of `bbox` in `image`; None when the box has no pixels in the frame.
    pub fn capture(image: ImageRef<'_>, bbox: &BoxXyxy) -> Option<Self> {
        let b = bbox.clamped(image.width() as f32, image.height() as f32);
        let (x, y) = (b.x1.floor() as i32, b.y1.floor() as i32);
        let (w, h) = ((b.x2.ceil() as i32 - x).max(0), (b.y2.ceil() as i32 - y).max(0));
        if w < 2 || h < 2 {
            return None;
        }
        let grey = with_borrowed_mat(image, |frame| {
            let roi = Mat::roi(frame, Rect::new(x, y, w, h))?;
            let mut small = Mat::default();
            imgproc::resize(&roi, &mut small, Size::new(SIDE as i32, SIDE as i32), 0.0, 0.0, imgproc::INTER_AREA)?;
            let mut grey = Mat::default();
            imgproc::cvt_color_def(&small, &mut grey, imgproc::COLOR_BGR2GRAY)?;
            let mut packed = Mat::default();
            grey.copy_to(&mut packed)?;
            Ok(packed.data_bytes()?.iter().map(|&v| f32::from(v)).collect::<Vec<f32>>())
        })
        .ok()?;
        Self::from_grey(&grey)
    }

    /// Normalised cross-correlation in -1..1; 0 when either patch is flat.
    pub fn correlation(&self, other: &GreyPatch) -> f32 {
        if self.flat || other.flat {
            return 0.0;
        }
        self.values.iter().zip(&other.values).map(|(a, b)| a * b).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64x64 BGR frame with a textured square in it.
    fn frame(brightness: f32, contrast: f32, other_content: bool) -> Vec<u8> {
        let mut px = vec![0u8; 64 * 64 * 3];
        for y in 0..64 {
            for x in 0..64 {
                let texture = if other_content {
                    (y * 11 % 19 + x * 3 % 13) as f32 * 4.0
                } else {
                    (x * 7 % 23 + y * 5 % 17) as f32 * 4.0
                };
                let v = (brightness + contrast * texture).clamp(0.0, 255.0) as u8;
                px[(y * 64 + x) * 3..][..3].copy_from_slice(&[v, v, v]);
            }
        }
        px
    }

    #[test]
    fn lighting_changes_keep_the_correlation_and_other_content_loses_it() {
        let day = frame(40.0, 1.0, false);
        let dusk = frame(10.0, 0.5, false);
        let other = frame(40.0, 1.0, true);
        let b = BoxXyxy { x1: 8.0, y1: 8.0, x2: 56.0, y2: 40.0 };
        let patch = |px: &[u8]| GreyPatch::capture(ImageRef::bgr(64, 64, 192, px).unwrap(), &b).unwrap();
        let (p_day, p_dusk, p_other) = (patch(&day), patch(&dusk), patch(&other));
        assert!(p_day.correlation(&p_dusk) > 0.95, "{}", p_day.correlation(&p_dusk));
        assert!(p_day.correlation(&p_other) < 0.5, "{}", p_day.correlation(&p_other));
        let flat = vec![90u8; 64 * 64 * 3];
        assert_eq!(p_day.correlation(&patch(&flat)), 0.0);
        let outside = BoxXyxy { x1: 70.0, y1: 0.0, x2: 90.0, y2: 10.0 };
        assert!(GreyPatch::capture(ImageRef::bgr(64, 64, 192, &day).unwrap(), &outside).is_none());
    }
}
