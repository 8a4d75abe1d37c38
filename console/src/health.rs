//! What the camera health page shows, as the binary provides it.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CameraHealth {
    pub id: String,
    /// `connecting`, `streaming`, `stalled`, `backoff`, `auth_failed`, `stopped`.
    pub state: String,
    /// Unix ms since which it has been in `state`.
    pub since_ms: i64,
    /// Credentials already redacted.
    pub last_error: Option<String>,
    /// Frames per second delivered to analysis, recently.
    pub fps: f32,
    /// Unix ms of the newest analysed frame.
    pub last_frame_ms: Option<i64>,
    pub has_thumbnail: bool,
}

pub trait CameraHealthSource: Send + Sync {
    fn cameras(&self) -> Vec<CameraHealth>;
    /// A recent small JPEG of the camera's picture (privacy masks applied).
    fn thumbnail(&self, camera_id: &str) -> Option<Vec<u8>>;
}

/// A deployment without cameras (benchmarks, tests of the console alone).
pub struct NoCameras;

impl CameraHealthSource for NoCameras {
    fn cameras(&self) -> Vec<CameraHealth> {
        Vec::new()
    }

    fn thumbnail(&self, _camera_id: &str) -> Option<Vec<u8>> {
        None
    }
}
