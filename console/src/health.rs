//! What the camera health page shows, as the binary provides it.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CameraHealth {
    pub id: String,
    /// `connecting`, `streaming`, `stalled`, `backoff`, `auth_failed`, `stopped`, `failed`; in
    /// the shared console also `stale` (its worker's heartbeat stopped).
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
    /// The worker running the camera (shared console); None in a single process.
    pub worker: Option<String>,
    /// Where the camera is (districts are made of sites and grids).
    pub site: String,
    pub grid: String,
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

/// Camera health as the workers publish it (the shared console): the newest
/// `CameraStatus` of each camera from the console's database. A camera whose
/// record is older than `stale_after` shows `stale`, whatever its state said: the
/// worker that reported it is gone or cut off, and nobody analyses the camera.
pub struct PublishedCameras {
    pub console: std::sync::Weak<crate::Console>,
    pub stale_after: std::time::Duration,
}

impl PublishedCameras {
    /// How old a camera's newest record may be: `stale_after`, or three of the
    /// worker's own heartbeat intervals when that is longer.
    fn limit_ms(&self, heartbeat_interval_ms: i64) -> i64 {
        (self.stale_after.as_millis() as i64).max(heartbeat_interval_ms.saturating_mul(3))
    }
}

impl CameraHealthSource for PublishedCameras {
    fn cameras(&self) -> Vec<CameraHealth> {
        let Some(console) = self.console.upgrade() else { return Vec::new() };
        let rows = match console.store().camera_statuses() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("console: reading camera status: {}", crate::error::chain(&e));
                return Vec::new();
            }
        };
        let now = crate::store::now_ms();
        rows.into_iter()
            .map(|r| {
                // Never reported (reported_at_ms 0), or silent too long.
                let stale = now - r.reported_at_ms > self.limit_ms(r.heartbeat_interval_ms);
                CameraHealth {
                    id: r.camera,
                    state: if stale { "stale".into() } else { r.state },
                    since_ms: if stale { r.reported_at_ms } else { r.since_ms },
                    last_error: Some(r.last_error).filter(|e| !e.is_empty()),
                    fps: if stale { 0.0 } else { r.fps as f32 },
                    last_frame_ms: Some(r.last_frame_ms).filter(|t| *t > 0),
                    has_thumbnail: false,
                    worker: Some(r.worker).filter(|w| !w.is_empty()),
                    site: r.site,
                    grid: r.grid,
                }
            })
            .collect()
    }

    fn thumbnail(&self, _camera_id: &str) -> Option<Vec<u8>> {
        None
    }
}
