//! Frames to model input: letterbox (OpenCV resize into a padded canvas), privacy
//! masks, colour order and normalisation into a planar f32 tensor.

pub mod letterbox;
pub mod prepare;
pub mod privacy_mask;
