//! Multi-object tracking per camera: Kalman-predicted boxes, two-stage association.

pub mod association;
pub mod kalman;
pub mod tracker;
