//! A box the model proposed, before suppression and mapping back to the frame.

use crate::geometry::boxes::BoxXyxy;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class_id: usize,
    pub score: f32,
    /// In model-input pixels.
    pub bbox: BoxXyxy,
}
