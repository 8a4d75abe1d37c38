//! Letterbox geometry: how a frame is scaled and padded into the model's input, and
//! how boxes found in the model's input map back to frame pixels. Pure arithmetic,
//! shared by the OpenCV preprocessing and the postprocessing, and property-tested.

use crate::geometry::boxes::BoxXyxy;

/// One frame size fitted into one model input size, aspect ratio kept, centred.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub frame_width: u32,
    pub frame_height: u32,
    /// Model pixels per frame pixel.
    pub scale: f64,
    /// Size of the scaled frame inside the model input.
    pub resized_width: u32,
    pub resized_height: u32,
    /// Padding left of and above the scaled frame.
    pub pad_left: u32,
    pub pad_top: u32,
}

impl Letterbox {
    /// Fits a `frame_width x frame_height` frame into `input_width x input_height`.
    /// Both sizes must be positive (callers check the frame; manifests check the model).
    pub fn fit(frame_width: u32, frame_height: u32, input_width: u32, input_height: u32) -> Self {
        let scale =
            (f64::from(input_width) / f64::from(frame_width)).min(f64::from(input_height) / f64::from(frame_height));
        // Rounded, at least one pixel, never more than the input.
        let resized_width = ((f64::from(frame_width) * scale).round() as u32).clamp(1, input_width);
        let resized_height = ((f64::from(frame_height) * scale).round() as u32).clamp(1, input_height);
        Self {
            frame_width,
            frame_height,
            scale,
            resized_width,
            resized_height,
            pad_left: (input_width - resized_width) / 2,
            pad_top: (input_height - resized_height) / 2,
        }
    }

    /// Scale factors actually applied on each axis (rounding makes them differ slightly).
    fn axis_scales(&self) -> (f64, f64) {
        (
            f64::from(self.resized_width) / f64::from(self.frame_width),
            f64::from(self.resized_height) / f64::from(self.frame_height),
        )
    }

    /// A frame point in model-input coordinates.
    pub fn frame_to_model(&self, x: f64, y: f64) -> (f64, f64) {
        let (sx, sy) = self.axis_scales();
        (x * sx + f64::from(self.pad_left), y * sy + f64::from(self.pad_top))
    }

    /// A model-input point in frame coordinates (not clamped).
    pub fn model_to_frame(&self, x: f64, y: f64) -> (f64, f64) {
        let (sx, sy) = self.axis_scales();
        ((x - f64::from(self.pad_left)) / sx, (y - f64::from(self.pad_top)) / sy)
    }

    /// A box found in the model input, in frame pixels, clamped to the frame.
    pub fn box_to_frame(&self, b: &BoxXyxy) -> BoxXyxy {
        let (x1, y1) = self.model_to_frame(f64::from(b.x1), f64::from(b.y1));
        let (x2, y2) = self.model_to_frame(f64::from(b.x2), f64::from(b.y2));
        BoxXyxy { x1: x1 as f32, y1: y1 as f32, x2: x2 as f32, y2: y2 as f32 }
            .clamped(self.frame_width as f32, self.frame_height as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wide_frame_is_padded_above_and_below() {
        let lb = Letterbox::fit(1920, 1080, 640, 640);
        assert_eq!((lb.resized_width, lb.resized_height), (640, 360));
        assert_eq!((lb.pad_left, lb.pad_top), (0, 140));
        let (x, y) = lb.frame_to_model(960.0, 540.0);
        assert!((x - 320.0).abs() < 1e-9 && (y - 320.0).abs() < 1e-9);
    }

    #[test]
    fn tall_frame_is_padded_left_and_right() {
        let lb = Letterbox::fit(810, 1080, 416, 416);
        assert_eq!(lb.resized_height, 416);
        assert_eq!(lb.resized_width, 312);
        assert_eq!(lb.pad_left, 52);
        assert_eq!(lb.pad_top, 0);
    }

    proptest! {
        // Any frame point survives the round trip through model coordinates.
        #[test]
        fn points_round_trip(fw in 16u32..4000, fh in 16u32..4000, iw in 1u32..21, ih in 1u32..21,
                             fx in 0.0f64..1.0, fy in 0.0f64..1.0) {
            let lb = Letterbox::fit(fw, fh, iw * 32, ih * 32);
            let (x, y) = (fx * f64::from(fw), fy * f64::from(fh));
            let (mx, my) = lb.frame_to_model(x, y);
            let (bx, by) = lb.model_to_frame(mx, my);
            prop_assert!((bx - x).abs() < 1e-6 * f64::from(fw));
            prop_assert!((by - y).abs() < 1e-6 * f64::from(fh));
        }

        // The scaled frame lies inside the input, centred to within a pixel, and fills
        // it on at least one axis.
        #[test]
        fn scaled_frame_fits_and_is_centred(fw in 1u32..5000, fh in 1u32..5000, iw in 1u32..21, ih in 1u32..21) {
            let (iw, ih) = (iw * 32, ih * 32);
            let lb = Letterbox::fit(fw, fh, iw, ih);
            prop_assert!(lb.pad_left + lb.resized_width <= iw);
            prop_assert!(lb.pad_top + lb.resized_height <= ih);
            let right = iw - lb.pad_left - lb.resized_width;
            let bottom = ih - lb.pad_top - lb.resized_height;
            prop_assert!(right.abs_diff(lb.pad_left) <= 1 && bottom.abs_diff(lb.pad_top) <= 1);
            prop_assert!(lb.resized_width + 1 >= iw || lb.resized_height + 1 >= ih);
        }

        // The frame's corners land on the scaled frame's corners, and any box maps back
        // inside the frame, keeping its order.
        #[test]
        fn boxes_map_back_inside_the_frame(fw in 16u32..4000, fh in 16u32..4000, s in 1u32..21,
                                          x1 in -100.0f32..800.0, y1 in -100.0f32..800.0,
                                          w in 0.0f32..900.0, h in 0.0f32..900.0) {
            let lb = Letterbox::fit(fw, fh, s * 32, s * 32);
            let (cx, cy) = lb.frame_to_model(f64::from(fw), f64::from(fh));
            prop_assert!((cx - f64::from(lb.pad_left + lb.resized_width)).abs() < 1e-6);
            prop_assert!((cy - f64::from(lb.pad_top + lb.resized_height)).abs() < 1e-6);
            let b = lb.box_to_frame(&BoxXyxy { x1, y1, x2: x1 + w, y2: y1 + h });
            prop_assert!(b.x1 >= 0.0 && b.y1 >= 0.0 && b.x2 <= fw as f32 && b.y2 <= fh as f32);
            prop_assert!(b.x1 <= b.x2 && b.y1 <= b.y2);
        }
    }
}
