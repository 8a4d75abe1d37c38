//! Config cameras to ingest workers.

use std::sync::Arc;
use std::time::Duration;

use ingest::{CameraHandle, CameraSettings, CameraWorker, Doorbell, RetryPolicy, StatusEvent};
use tokio::sync::broadcast;

use crate::config::Camera;

/// Ingest's view of one configured camera.
pub fn camera_settings(camera: &Camera) -> CameraSettings {
    let c = &camera.config;
    CameraSettings {
        id: Arc::from(c.id.as_str()),
        url: camera.url.clone(),
        decode: c.decode,
        sample_fps: c.sample_fps,
        max_keyframe_interval: Duration::from_secs_f64(c.max_keyframe_interval_secs),
        transport: c.transport,
        latency_ms: c.latency_ms,
        stall_timeout: Duration::from_secs(c.stall_timeout_secs),
        preroll: Duration::from_secs(c.preroll_secs),
        loop_file: c.loop_file,
        pacing: c.pacing,
        retry: RetryPolicy {
            max_backoff: Duration::from_secs(c.max_backoff_secs),
            auth_retry: Duration::from_secs(c.auth_retry_secs),
            // A camera that needs longer than its stall timeout to start is stalled too.
            connect_timeout: Duration::from_secs(c.stall_timeout_secs.max(15)),
            ..RetryPolicy::default()
        },
    }
}

/// One supervised worker per enabled camera, not yet running, with the handles the
/// detector reads from. Nothing streams until `spawn_cameras`.
pub fn prepare_cameras(
    cameras: &[Camera],
    doorbell: &Arc<Doorbell>,
    events: &broadcast::Sender<StatusEvent>,
) -> (Vec<CameraWorker>, Vec<CameraHandle>) {
    ingest::metrics::describe();
    cameras
        .iter()
        .filter(|c| c.config.enabled)
        .map(|camera| CameraWorker::new(camera_settings(camera), Arc::clone(doorbell), events.clone()))
        .unzip()
}
