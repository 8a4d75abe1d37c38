//! What the inference workers read from: camera slots holding the newest frame each.
//! The binary implements these over ingest's frame slots, so this crate needs no
//! GStreamer; tests implement them over plain vectors.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::image::{ImageError, ImageRef};
use crate::preprocess::privacy_mask::PrivacyMask;

/// Cameras by index (0..camera_count), each with at most one waiting frame. The
/// count may grow while the pool runs (a cluster pipeline given another camera); an
/// index never changes its camera, and a camera taken away just has no more frames.
pub trait FrameFeed: Send + Sync + 'static {
    type Frame: AnalysableFrame;

    fn camera_count(&self) -> usize;
    fn camera_id(&self, camera: usize) -> Arc<str>;
    /// The regions blanked before the camera's frames reach the model.
    fn privacy_masks(&self, _camera: usize) -> Arc<[PrivacyMask]> {
        Arc::from(Vec::new())
    }
    /// Takes the camera's waiting frame, if any (the newest: older ones were replaced).
    fn take(&self, camera: usize) -> Option<Self::Frame>;
    /// A counter that moves whenever a frame may have arrived.
    fn arrivals(&self) -> u64;
    /// Blocks until `arrivals()` passes `seen` or `timeout` ends; returns the new count.
    fn wait_for_arrival(&self, seen: u64, timeout: Duration) -> u64;
}

pub trait AnalysableFrame: Send + 'static {
    fn image(&self) -> Result<ImageRef<'_>, ImageError>;
    /// When the frame was put up for analysis: queue wait is measured from here, and
    /// a live camera's analysis counts the frame as taken then.
    fn ready_at(&self) -> SystemTime;
    /// The stream's presentation time, if it has one (a file played fast is analysed
    /// in its own time).
    fn pts(&self) -> Option<Duration> {
        None
    }
    /// The camera's frame number (log lines).
    fn sequence(&self) -> u64 {
        0
    }
}
