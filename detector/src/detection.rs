//! What the detector reports for one frame.

use std::sync::Arc;

use serde::Serialize;

use crate::geometry::boxes::BoxXyxy;

/// One object found in a frame: a class and a box, never an identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub class_id: usize,
    /// The class name from the model manifest (Darknet spelling, e.g. `motorbike`).
    pub label: Arc<str>,
    pub score: f32,
    /// In frame pixels, clamped to the frame.
    pub bbox: BoxXyxy,
}
