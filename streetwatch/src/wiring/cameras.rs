//! Config cameras to ingest workers.

use std::sync::Arc;
use std::time::Duration;

use ingest::{CameraHandle, CameraSettings, CameraWorker, Doorbell, RetryPolicy, StatusEvent};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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

/// Starts one supervised worker per enabled camera. Each runs on its own task; a
/// failing camera retries by itself and never holds up the others.
pub fn start_cameras(
    cameras: &[Camera],
    doorbell: &Arc<Doorbell>,
    events: &broadcast::Sender<StatusEvent>,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Vec<CameraHandle> {
    ingest::metrics::describe();
    cameras
        .iter()
        .filter(|c| c.config.enabled)
        .map(|camera| {
            let (worker, handle) = CameraWorker::new(camera_settings(camera), Arc::clone(doorbell), events.clone());
            tasks.spawn(worker.run(shutdown.clone()));
            handle
        })
        .collect()
}
