//! Small pictures of what a camera sees now, for the console's camera health page:
//! the frame scaled down, privacy masks filled, as JPEG.

use opencv::core::{Mat, Point, Scalar, Size, Vector};
use opencv::imgproc;

use super::borrowed_mat::with_borrowed_mat;
use super::canvas::encode_jpeg;
use super::error::EvidenceError;
use crate::image::ImageRef;
use crate::preprocess::privacy_mask::PrivacyMask;

/// The frame at most `max_width` pixels wide (never enlarged), masks filled.
pub fn thumbnail_jpeg(
    image: ImageRef<'_>,
    masks: &[PrivacyMask],
    max_width: u32,
    quality: i32,
) -> Result<Vec<u8>, EvidenceError> {
    let (w, h) = (image.width(), image.height());
    let scale = (f64::from(max_width) / f64::from(w.max(1))).min(1.0);
    let size =
        Size::new((f64::from(w) * scale).round().max(1.0) as i32, (f64::from(h) * scale).round().max(1.0) as i32);
    let mut small = Mat::default();
    with_borrowed_mat(image, |frame| imgproc::resize(frame, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA))?;
    let masked: Vector<Vector<Point>> = masks
        .iter()
        .map(|m| {
            m.frame_points(w, h)
                .map(|(x, y)| Point::new((x * scale).round() as i32, (y * scale).round() as i32))
                .collect::<Vector<Point>>()
        })
        .collect();
    if !masked.is_empty() {
        imgproc::fill_poly(&mut small, &masked, Scalar::all(0.0), imgproc::LINE_8, 0, Point::new(0, 0))?;
    }
    encode_jpeg(&small, quality)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::decode_jpeg;

    #[test]
    fn thumbnails_are_scaled_down_and_masked() {
        let (w, h) = (640u32, 480u32);
        let bgr = vec![200u8; (w * h * 3) as usize];
        let image = ImageRef::bgr(w, h, (w * 3) as usize, &bgr).unwrap();
        let mask = PrivacyMask { points: vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]], normalized: true };
        let jpeg = thumbnail_jpeg(image, &[mask], 320, 80).unwrap();
        let (tw, th, pixels) = decode_jpeg(&jpeg).unwrap();
        assert_eq!((tw, th), (320, 240));
        let at = |x: u32, y: u32| pixels[((y * tw + x) * 3) as usize];
        assert!(at(40, 120) < 30, "masked half is black");
        assert!(at(280, 120) > 170, "the rest is the picture");
        // Never enlarged.
        let (tw, _, _) = decode_jpeg(&thumbnail_jpeg(image, &[], 1920, 80).unwrap()).unwrap();
        assert_eq!(tw, 640);
    }
}
