//! Axis-aligned boxes in pixel coordinates.

use serde::{Deserialize, Serialize};

/// A box by its corners: `x1 <= x2`, `y1 <= y2`, in pixels of some image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoxXyxy {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoxXyxy {
    /// From centre and size, as YOLO heads give them.
    pub fn from_center(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        Self { x1: cx - w / 2.0, y1: cy - h / 2.0, x2: cx + w / 2.0, y2: cy + h / 2.0 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Intersection over union; 0 for boxes without area.
    pub fn iou(&self, other: &BoxXyxy) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    /// The box cut to `[0, width] x [0, height]`.
    pub fn clamped(&self, width: f32, height: f32) -> Self {
        Self {
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
            x2: self.x2.clamp(0.0, width),
            y2: self.y2.clamp(0.0, height),
        }
    }

    pub fn is_finite(&self) -> bool {
        self.x1.is_finite() && self.y1.is_finite() && self.x2.is_finite() && self.y2.is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_known_boxes() {
        let a = BoxXyxy { x1: 0.0, y1: 0.0, x2: 10.0, y2: 10.0 };
        let b = BoxXyxy { x1: 5.0, y1: 0.0, x2: 15.0, y2: 10.0 };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&a), 1.0);
        let far = BoxXyxy { x1: 20.0, y1: 20.0, x2: 30.0, y2: 30.0 };
        assert_eq!(a.iou(&far), 0.0);
        let empty = BoxXyxy { x1: 1.0, y1: 1.0, x2: 1.0, y2: 1.0 };
        assert_eq!(empty.iou(&empty), 0.0);
    }
}
