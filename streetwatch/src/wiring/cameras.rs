//! Config cameras to ingest workers.

use std::sync::Arc;

use ingest::{CameraHandle, CameraWorker, Doorbell, StatusEvent};
use tokio::sync::broadcast;

use crate::config::Camera;

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
        .map(|camera| CameraWorker::new(camera.ingest.clone(), Arc::clone(doorbell), events.clone()))
        .unzip()
}
