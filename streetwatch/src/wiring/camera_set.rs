//! The cameras a pipeline runs, changeable while it runs. `run` starts its configured
//! cameras here; a cluster worker's pipeline is also given cameras and has cameras
//! taken away while the others keep streaming and analysing (see `camera_control`).
//!
//! A camera lives in four places: its ingest task, the detector's feed, the incident
//! sink and the camera-status publisher. Adding goes sink → feed → status → ingest
//! (nothing streams before it can be analysed); removing goes the other way round
//! and returns only when the camera is stopped everywhere: its ingest task has ended,
//! no frame of it is in analysis, and its `stopped` status is on the broker. That is
//! what lets the worker hand the camera on (never two workers on one camera).

use std::collections::BTreeMap;
use std::sync::Arc;

use ingest::{CameraHandle, CameraWorker, Doorbell, StatusEvent};
use tokio::sync::{broadcast, watch, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::analysis::camera_setup;
use super::camera_status_out::CameraStatusOut;
use super::detection::{privacy_masks, IngestFeed};
use super::incident_publisher::Incidents;
use crate::config::{Camera, Config};

struct Running {
    /// The detector's (and the sink's) index of the camera.
    index: usize,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub struct CameraSet {
    feed: Arc<IngestFeed>,
    sink: Arc<Incidents>,
    stream_time_base: Option<detector::timestamp::Timestamp>,
    status: Option<Arc<CameraStatusOut>>,
    doorbell: Arc<Doorbell>,
    events: broadcast::Sender<StatusEvent>,
    shutdown: CancellationToken,
    running: Mutex<BTreeMap<String, Running>>,
    /// How many ingest tasks have not ended yet.
    live_tasks: watch::Sender<usize>,
}

/// Decrements the live-task count when an ingest task ends, however it ends.
struct TaskEnded(watch::Sender<usize>);

impl Drop for TaskEnded {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

pub struct CameraSetParts {
    pub feed: Arc<IngestFeed>,
    pub sink: Arc<Incidents>,
    /// Time zero of fast files' clocks, for cameras added later (see `camera_setup`).
    pub stream_time_base: Option<detector::timestamp::Timestamp>,
    pub status: Option<Arc<CameraStatusOut>>,
    pub doorbell: Arc<Doorbell>,
    pub events: broadcast::Sender<StatusEvent>,
    pub shutdown: CancellationToken,
}

impl CameraSet {
    pub fn new(parts: CameraSetParts) -> Self {
        let CameraSetParts { feed, sink, stream_time_base, status, doorbell, events, shutdown } = parts;
        Self {
            feed,
            sink,
            stream_time_base,
            status,
            doorbell,
            events,
            shutdown,
            running: Mutex::default(),
            live_tasks: watch::Sender::new(0),
        }
    }

    fn spawn(&self, worker: CameraWorker) -> (CancellationToken, JoinHandle<()>) {
        let stop = self.shutdown.child_token();
        self.live_tasks.send_modify(|n| *n += 1);
        let ended = TaskEnded(self.live_tasks.clone());
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let _ended = ended;
            worker.run(token).await;
        });
        (stop, task)
    }

    /// Starts the cameras the feed and the sink were built with (index i = the i-th
    /// worker), each on its own task: a failing camera retries by itself and never
    /// holds up the others.
    pub async fn start_initial(&self, workers: Vec<(CameraWorker, CameraHandle)>) {
        let mut running = self.running.lock().await;
        for (index, (worker, handle)) in workers.into_iter().enumerate() {
            let (stop, task) = self.spawn(worker);
            running.insert(handle.id.to_string(), Running { index, stop, task });
        }
    }

    /// Starts `camera` (of `config`) unless it runs already.
    pub async fn add(&self, config: &Config, camera: &Camera) {
        let mut running = self.running.lock().await;
        if running.contains_key(&camera.config.id) || !camera.config.enabled {
            return;
        }
        let (worker, handle) =
            CameraWorker::new(camera.ingest.clone(), Arc::clone(&self.doorbell), self.events.clone());
        let index = self.sink.add_camera(camera_setup(config, &handle, self.stream_time_base));
        let fed = self.feed.add(handle.clone(), privacy_masks(config, &handle.id));
        debug_assert_eq!(index, fed, "the sink and the feed number cameras alike");
        if let Some(status) = &self.status {
            status.add(config, &handle);
        }
        let (stop, task) = self.spawn(worker);
        running.insert(camera.config.id.clone(), Running { index, stop, task });
        tracing::info!(camera = %camera.config.id, "camera added to the running pipeline");
    }

    /// Stops `camera_id` everywhere; returns once it is (see the module's note).
    pub async fn remove(&self, camera_id: &str) {
        let Some(r) = self.running.lock().await.remove(camera_id) else { return };
        r.stop.cancel();
        let _ = r.task.await;
        self.feed.retire(r.index);
        let sink = Arc::clone(&self.sink);
        let _ = tokio::task::spawn_blocking(move || sink.retire(r.index)).await;
        if let Some(status) = self.status.clone() {
            let id = camera_id.to_string();
            let _ = tokio::task::spawn_blocking(move || status.remove(&id)).await;
        }
        tracing::info!(camera = camera_id, "camera removed from the running pipeline");
    }

    /// The ids of the cameras running now.
    pub async fn ids(&self) -> Vec<String> {
        self.running.lock().await.keys().cloned().collect()
    }

    /// Waits until every camera's task has ended (files without `loop` end by
    /// themselves; live cameras run until shutdown).
    pub async fn all_ended(&self) {
        let mut live = self.live_tasks.subscribe();
        let _ = live.wait_for(|n| *n == 0).await;
    }

    /// Waits for the ingest tasks after shutdown was asked for.
    pub async fn join_all(&self) {
        let running = std::mem::take(&mut *self.running.lock().await);
        for (_, r) in running {
            r.stop.cancel();
            let _ = r.task.await;
        }
    }
}
