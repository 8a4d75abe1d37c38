//! What the inference workers read from: camera slots holding the newest frame each.
//! The binary implements these over ingest's frame slots, so this crate needs no
//! GStreamer; tests implement them over plain vectors.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::image::{ImageError, ImageRef};

/// Cameras by index (0..camera_count), each with at most one waiting frame.
pub trait FrameFeed: Send + Sync + 'static {
    type Frame: AnalysableFrame;

    fn camera_count(&self) -> usize;
    fn camera_id(&self, camera: usize) -> Arc<str>;
    /// Takes the camera's waiting frame, if any (the newest: older ones were replaced).
    fn take(&self, camera: usize) -> Option<Self::Frame>;
    /// A counter that moves whenever a frame may have arrived.
    fn arrivals(&self) -> u64;
    /// Blocks until `arrivals()` passes `seen` or `timeout` ends; returns the new count.
    fn wait_for_arrival(&self, seen: u64, timeout: Duration) -> u64;
}

pub trait AnalysableFrame: Send + 'static {
    fn image(&self) -> Result<ImageRef<'_>, ImageError>;
    /// When the frame was put up for analysis: queue wait is measured from here.
    fn ready_at(&self) -> SystemTime;
}
