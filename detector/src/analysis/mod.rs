//! Per-camera analysis: tracking, stillness, zones, rules, incidents, wired together.

pub mod camera;

pub use camera::{AnalysisHint, CameraAnalysis};
