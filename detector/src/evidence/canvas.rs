//! A drawing surface for evidence images: a copy of the frame with a caption strip
//! below it (so captions hide nothing of the scene, and frame coordinates stay as
//! they are), privacy masks filled before anything else.

use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Point, Rect, Scalar, Vector, CV_8UC3};
use opencv::imgcodecs;
use opencv::imgproc;
use opencv::prelude::VectorToVec;

use super::borrowed_mat::with_borrowed_mat;
use super::error::EvidenceError;
use crate::geometry::boxes::BoxXyxy;
use crate::image::ImageRef;
use crate::preprocess::privacy_mask::PrivacyMask;
use crate::zones::Zone;

pub const RED: (f64, f64, f64) = (40.0, 40.0, 230.0);
pub const GREEN: (f64, f64, f64) = (60.0, 200.0, 60.0);
pub const YELLOW: (f64, f64, f64) = (0.0, 215.0, 255.0);
pub const WHITE: (f64, f64, f64) = (255.0, 255.0, 255.0);

fn bgr(c: (f64, f64, f64)) -> Scalar {
    Scalar::new(c.0, c.1, c.2, 0.0)
}

fn polygon(points: impl Iterator<Item = (f64, f64)>) -> Vector<Point> {
    points.map(|(x, y)| Point::new(x.round() as i32, y.round() as i32)).collect()
}

pub struct Canvas {
    mat: Mat,
    width: u32,
    height: u32,
    thickness: i32,
}

impl Canvas {
    /// The frame with masks filled and an empty caption strip below it.
    pub fn new(image: ImageRef<'_>, masks: &[PrivacyMask]) -> Result<Self, EvidenceError> {
        let (w, h) = (image.width(), image.height());
        let thickness = ((w.max(h) as f64 / 640.0).round() as i32).max(1);
        let strip = 44 * thickness;
        let mut mat = Mat::new_rows_cols_with_default(h as i32 + strip, w as i32, CV_8UC3, Scalar::all(0.0))?;
        with_borrowed_mat(image, |frame| {
            let mut top = Mat::roi_mut(&mut mat, Rect::new(0, 0, w as i32, h as i32))?;
            frame.copy_to(&mut top)
        })?;
        let mut masked: Vector<Vector<Point>> = Vector::new();
        for m in masks {
            masked.push(polygon(m.frame_points(w, h)));
        }
        if !masked.is_empty() {
            imgproc::fill_poly(&mut mat, &masked, Scalar::all(0.0), imgproc::LINE_8, 0, Point::new(0, 0))?;
        }
        Ok(Self { mat, width: w, height: h, thickness })
    }

    /// Outlines every zone; `bold` (a zone id) twice as thick.
    pub fn zones(&mut self, zones: &[Zone], bold: Option<&str>) -> Result<(), EvidenceError> {
        for zone in zones {
            let (sx, sy) = if zone.normalized { (f64::from(self.width), f64::from(self.height)) } else { (1.0, 1.0) };
            let mut outline: Vector<Vector<Point>> = Vector::new();
            outline.push(polygon(zone.polygon.iter().map(|[x, y]| (x * sx, y * sy))));
            let t = if bold == Some(&*zone.id) { 2 * self.thickness } else { self.thickness };
            imgproc::polylines(&mut self.mat, &outline, true, bgr(YELLOW), t, imgproc::LINE_AA, 0)?;
        }
        Ok(())
    }

    /// A box with its label above it.
    pub fn labelled_box(&mut self, b: &BoxXyxy, label: &str, colour: (f64, f64, f64)) -> Result<(), EvidenceError> {
        let b = b.clamped(self.width as f32, self.height as f32);
        let rect = Rect::new(b.x1 as i32, b.y1 as i32, b.width().max(1.0) as i32, b.height().max(1.0) as i32);
        let t = self.thickness;
        imgproc::rectangle(&mut self.mat, rect, bgr(colour), 2 * t, imgproc::LINE_8, 0)?;
        let at = Point::new(rect.x, (rect.y - 4).max(12 * t));
        let font = imgproc::FONT_HERSHEY_SIMPLEX;
        imgproc::put_text(&mut self.mat, label, at, font, 0.45 * t as f64, bgr(colour), t, imgproc::LINE_AA, false)?;
        Ok(())
    }

    /// Two lines in the strip below the frame: white, then yellow.
    pub fn caption(&mut self, first: &str, second: &str) -> Result<(), EvidenceError> {
        let (t, base) = (self.thickness, self.height as i32);
        let font = imgproc::FONT_HERSHEY_SIMPLEX;
        let scale = 0.45 * t as f64;
        imgproc::put_text(
            &mut self.mat,
            first,
            Point::new(6, base + 18 * t),
            font,
            scale,
            bgr(WHITE),
            t,
            imgproc::LINE_AA,
            false,
        )?;
        imgproc::put_text(
            &mut self.mat,
            second,
            Point::new(6, base + 38 * t),
            font,
            scale,
            bgr(YELLOW),
            t,
            imgproc::LINE_AA,
            false,
        )?;
        Ok(())
    }

    pub fn jpeg(&self, quality: i32) -> Result<Vec<u8>, EvidenceError> {
        encode_jpeg(&self.mat, quality)
    }

    /// Packed BGR pixels, frame and strip: `(width, height, bytes)`.
    pub fn into_bgr(self) -> Result<(u32, u32, Vec<u8>), EvidenceError> {
        let rows = self.mat.rows() as u32;
        Ok((self.width, rows, self.mat.data_bytes()?.to_vec()))
    }
}

pub(crate) fn encode_jpeg(mat: &Mat, quality: i32) -> Result<Vec<u8>, EvidenceError> {
    let mut jpeg: Vector<u8> = Vector::new();
    let params: Vector<i32> = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality.clamp(10, 100)]);
    if !imgcodecs::imencode(".jpg", mat, &mut jpeg, &params)? {
        return Err(EvidenceError::JpegRefused);
    }
    Ok(jpeg.to_vec())
}
