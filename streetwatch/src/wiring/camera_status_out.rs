//! A worker's cameras' health on Kafka (`[cluster] camera_status_topic`): a
//! `CameraStatus` record, keyed by camera id, on every state change and for every
//! camera once per heartbeat. The shared console reads it to show which worker runs
//! each camera, and a camera whose records stopped as stale.

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use ingest::{CameraHandle, StatusEvent};
use proto::Message;
use router::kafka::state_publisher::StatePublisher;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::console::unix_ms;
use super::incident_publisher::{camera_ref, Incidents};
use crate::config::Config;

/// What one record needs beyond the camera's status.
struct Reporter {
    publisher: StatePublisher,
    worker: String,
    heartbeat: Duration,
    /// The cameras reported on: their status, and how events name them.
    cameras: RwLock<Vec<(CameraHandle, proto::v1::CameraRef)>>,
    sink: Weak<Incidents>,
}

/// The status of the cameras a pipeline runs, on Kafka; cameras come and go with
/// `add` and `remove`.
pub struct CameraStatusOut {
    reporter: Arc<Reporter>,
    pub task: tokio::task::JoinHandle<()>,
}

impl CameraStatusOut {
    pub fn add(&self, config: &Config, handle: &CameraHandle) {
        self.reporter.add(config, handle);
    }

    /// Says `stopped` for the camera and stops reporting on it; blocks until the
    /// record is on the broker (or 3 s passed): the worker the camera moves to
    /// says `streaming` after this.
    pub fn remove(&self, camera_id: &str) {
        let removed = {
            let mut cameras = self.reporter.cameras.write().unwrap_or_else(|p| p.into_inner());
            let at = cameras.iter().position(|(h, _)| &*h.id == camera_id);
            at.map(|i| cameras.remove(i))
        };
        if let Some((handle, _)) = removed {
            self.reporter.send(&stopped(&handle));
            self.reporter.publisher.flush(Duration::from_secs(3));
        }
    }
}

fn stopped(handle: &CameraHandle) -> StatusEvent {
    let mut status = handle.status.borrow().clone();
    status.state = ingest::CameraState::Stopped;
    status.since = SystemTime::now();
    status.fps = 0.0;
    status
}

impl Reporter {
    fn add(&self, config: &Config, handle: &CameraHandle) {
        let config_of = config.cameras.iter().find(|c| *c.config.id == *handle.id).map(|c| &c.config);
        let wire = camera_ref(&handle.id, config_of);
        self.cameras.write().unwrap_or_else(|p| p.into_inner()).push((handle.clone(), wire));
    }

    fn handles(&self) -> Vec<CameraHandle> {
        self.cameras.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(h, _)| h.clone()).collect()
    }

    fn record(&self, status: &StatusEvent) -> proto::v1::CameraStatus {
        let camera = self
            .cameras
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(h, _)| *h.id == *status.camera_id)
            .map_or_else(|| camera_ref(&status.camera_id, None), |(_, r)| r.clone());
        let last_frame_ms =
            self.sink.upgrade().and_then(|s| s.camera_picture(&status.camera_id)).and_then(|p| p.last_frame_ms);
        proto::v1::CameraStatus {
            camera: Some(camera),
            state: status.state as i32,
            since_ms: unix_ms(status.since),
            // Redacted by ingest before it reached the status.
            last_error: status.last_error.clone().unwrap_or_default(),
            measured_fps: status.fps,
            worker: self.worker.clone(),
            reported_at_ms: unix_ms(SystemTime::now()),
            heartbeat_interval_ms: self.heartbeat.as_millis().min(u128::from(u32::MAX)) as u32,
            last_frame_ms: last_frame_ms.unwrap_or(0),
        }
    }

    fn reports_on(&self, camera_id: &str) -> bool {
        self.cameras.read().unwrap_or_else(|p| p.into_inner()).iter().any(|(h, _)| &*h.id == camera_id)
    }

    fn send(&self, status: &StatusEvent) {
        self.publisher.send(&status.camera_id, &self.record(status).encode_to_vec());
    }
}

/// Starts publishing when this `run` is a cluster worker's pipeline with Kafka.
/// Ends at `shutdown`, after a last record per camera: a worker handing its cameras
/// over says `stopped` for them before the next worker says `streaming`. Not when
/// `orphaned` is cancelled (the worker died): then nobody runs the cameras until
/// the group moves them, and the silence lets the console show them stale.
pub fn spawn(
    config: &Config,
    cameras: &[CameraHandle],
    events: &broadcast::Sender<StatusEvent>,
    sink: Weak<Incidents>,
    shutdown: &CancellationToken,
    orphaned: CancellationToken,
) -> Option<CameraStatusOut> {
    if !config.cluster.enabled {
        return None;
    }
    let conn = config.kafka.as_ref()?;
    let topic = &config.cluster.camera_status_topic;
    let heartbeat = Duration::from_secs(config.cluster.heartbeat_secs);
    let publisher = match StatePublisher::new(conn, topic, heartbeat) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("camera status will not be published: {e}");
            return None;
        }
    };
    let reporter = Arc::new(Reporter {
        publisher,
        worker: config.service.instance.clone(),
        heartbeat,
        cameras: RwLock::default(),
        sink,
    });
    for handle in cameras {
        reporter.add(config, handle);
    }
    let out = Arc::clone(&reporter);
    let mut changes = events.subscribe();
    let shutdown = shutdown.clone();
    tracing::info!(topic = %topic, every_secs = heartbeat.as_secs(), "camera status published to Kafka");
    let task = tokio::spawn(async move {
        let mut beat = tokio::time::interval(heartbeat);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                // The worker died: not a word more, not even the cameras stopping.
                _ = orphaned.cancelled() => break,
                _ = beat.tick() => {
                    for c in reporter.handles() {
                        let status = c.status.borrow().clone();
                        reporter.send(&status);
                    }
                }
                change = changes.recv() => match change {
                    // Only cameras still reported on: a removed one said `stopped` last.
                    Ok(status) if reporter.reports_on(&status.camera_id) => reporter.send(&status),
                    Ok(_) => {}
                    // Missed changes are covered by the next heartbeat.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        if orphaned.is_cancelled() {
            tracing::info!("camera status: the worker is gone; no last records (its cameras show stale)");
            return;
        }
        let last = Arc::clone(&reporter);
        let _ = tokio::task::spawn_blocking(move || {
            for c in last.handles() {
                last.send(&stopped(&c));
            }
            last.publisher.flush(Duration::from_secs(3));
        })
        .await;
    });
    Some(CameraStatusOut { reporter: out, task })
}
