//! One long-lived task per camera: `run()` loops over `run_once()`, which builds
//! the pipeline, watches it, and returns why it ended. Failures are classified,
//! retried with exponential backoff plus jitter (slowly for wrong credentials),
//! and published as state changes. Nothing here can stall another camera: each
//! camera has its own task, pipeline threads and slot, and a panic in its code
//! path ends only its current attempt.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{FutureExt, StreamExt};
use gstreamer as gst;
use gstreamer::prelude::*;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::change_gate::ChangeGate;
use crate::failure::{FailureKind, SourceFailure};
use crate::frame::{Doorbell, FrameSlot};
use crate::pipeline::{self, CameraPipeline};
use crate::preroll::PrerollBuffer;
use crate::status::{state_name, CameraState, StatusEvent};
use crate::{metrics, CameraSettings, RetryPolicy, SourceKind};

/// Upper bound of pre-roll bytes per camera, whatever the bitrate (about 10 s of 16 Mbit/s).
const PREROLL_MAX_BYTES: usize = 20 * 1024 * 1024;

/// What the rest of the process holds for a camera.
#[derive(Clone)]
pub struct CameraHandle {
    pub id: Arc<str>,
    pub slot: Arc<FrameSlot>,
    pub preroll: Arc<Mutex<PrerollBuffer>>,
    pub status: watch::Receiver<StatusEvent>,
}

pub struct CameraWorker {
    settings: CameraSettings,
    slot: Arc<FrameSlot>,
    /// Kept across pipeline restarts: the still-scene baseline is the camera's.
    change_gate: Arc<Mutex<ChangeGate>>,
    preroll: Arc<Mutex<PrerollBuffer>>,
    status: watch::Sender<StatusEvent>,
    events: broadcast::Sender<StatusEvent>,
}

enum Outcome {
    Shutdown,
    /// A file with `loop` reached its end: start it again at once.
    Looped,
    /// A file without `loop` played to its end.
    Finished,
    Failed(SourceFailure),
}

/// Exponential backoff with jitter.
struct Backoff {
    policy: RetryPolicy,
    next: Duration,
}

impl Backoff {
    fn new(policy: &RetryPolicy) -> Self {
        Self { policy: policy.clone(), next: policy.initial_backoff }
    }
    fn reset(&mut self) {
        self.next = self.policy.initial_backoff;
    }
    fn next_wait(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.policy.max_backoff);
        with_jitter(base, self.policy.jitter)
    }
}

fn with_jitter(base: Duration, jitter: f64) -> Duration {
    base.mul_f64(1.0 + jitter * rand::random::<f64>())
}

impl CameraWorker {
    /// A worker and the handle the rest of the process uses. `events` receives every
    /// state change of every camera.
    pub fn new(
        settings: CameraSettings,
        doorbell: Arc<Doorbell>,
        events: broadcast::Sender<StatusEvent>,
    ) -> (Self, CameraHandle) {
        let initial = StatusEvent {
            camera_id: Arc::clone(&settings.id),
            state: CameraState::Connecting,
            since: SystemTime::now(),
            last_error: None,
            fps: 0.0,
        };
        let (status, status_rx) = watch::channel(initial);
        let slot = Arc::new(FrameSlot::new(doorbell));
        let preroll = Arc::new(Mutex::new(PrerollBuffer::new(settings.preroll, PREROLL_MAX_BYTES)));
        let handle = CameraHandle {
            id: Arc::clone(&settings.id),
            slot: Arc::clone(&slot),
            preroll: Arc::clone(&preroll),
            status: status_rx,
        };
        let change_gate = Arc::new(Mutex::new(ChangeGate::new(settings.change_gate.clone())));
        (Self { settings, slot, change_gate, preroll, status, events }, handle)
    }

    fn set_state(&self, state: CameraState, error: Option<String>) {
        let changed = {
            let cur = self.status.borrow();
            cur.state != state || cur.last_error != error
        };
        if !changed {
            return;
        }
        let mut event = self.status.borrow().clone();
        if event.state != state {
            event.since = SystemTime::now();
        }
        event.state = state;
        event.last_error = error;
        if state != CameraState::Streaming {
            event.fps = 0.0;
        }
        tracing::info!(state = state_name(state), "camera state");
        metrics::state(&self.settings.id, state);
        self.status.send_replace(event.clone());
        // No receiver is fine (nobody listening yet).
        let _ = self.events.send(event);
    }

    fn set_fps(&self, fps: f64) {
        metrics::fps(&self.settings.id, fps);
        self.status.send_modify(|s| s.fps = fps as f32);
    }

    /// Runs until `shutdown` (or until a non-looping file ends), in the camera's
    /// span (`camera{id, site}`): its log lines say which camera without a field each.
    pub async fn run(self, shutdown: CancellationToken) {
        let site = self.settings.site.as_deref().unwrap_or("");
        let span = tracing::info_span!("camera", id = %self.settings.id, site);
        self.supervise(shutdown).instrument(span).await;
    }

    async fn supervise(self, shutdown: CancellationToken) {
        let camera = Arc::clone(&self.settings.id);
        tracing::info!(url = %self.settings.url, decode = ?self.settings.decode, "camera starting");
        let mut backoff = Backoff::new(&self.settings.retry);
        let mut looped = false;
        loop {
            if !looped {
                // Keep the last error visible while reconnecting. (Bind it first: a `borrow()`
                // inside the call would hold the read lock while `set_state` writes.)
                let last_error = self.status.borrow().last_error.clone();
                self.set_state(CameraState::Connecting, last_error);
            }
            looped = false;
            let started = Instant::now();
            let outcome = AssertUnwindSafe(self.run_once(&shutdown)).catch_unwind().await.unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Outcome::Failed(SourceFailure::new(
                    FailureKind::Other,
                    format!("internal error in the camera's pipeline code: {what}"),
                ))
            });
            let failure = match outcome {
                Outcome::Shutdown => {
                    self.set_state(CameraState::Stopped, None);
                    return;
                }
                Outcome::Looped => {
                    looped = true;
                    continue;
                }
                Outcome::Finished => {
                    // Its last keyframes may still be in the shared decoders.
                    let id = Arc::clone(&camera);
                    let pool = Arc::clone(crate::keyframe_decoder::KeyframeDecoderPool::global());
                    let _ = tokio::task::spawn_blocking(move || pool.wait_idle(&id, Duration::from_secs(10))).await;
                    tracing::info!("file played to its end; camera stopped (set loop = true to repeat)");
                    self.set_state(CameraState::Stopped, None);
                    return;
                }
                Outcome::Failed(f) => f,
            };
            if self.settings.url.kind() == SourceKind::File {
                // A file gives the same answer however often it is tried: the camera
                // ends here, failed, with the reason (replay and `run` report it).
                let message = format!("{}: {}", self.settings.url, failure.explained_for_file());
                tracing::error!(kind = failure.kind.as_str(), "{message}; not retried");
                metrics::restarted(&camera, failure.kind.as_str());
                self.set_state(CameraState::Failed, Some(message));
                return;
            }
            metrics::restarted(&camera, failure.kind.as_str());
            if started.elapsed() >= self.settings.retry.stable_after {
                backoff.reset();
            }
            let (state, wait) = match failure.kind {
                FailureKind::Unauthorized => {
                    (CameraState::AuthFailed, with_jitter(self.settings.retry.auth_retry, self.settings.retry.jitter))
                }
                FailureKind::Stalled => (CameraState::Stalled, backoff.next_wait()),
                _ => (CameraState::Backoff, backoff.next_wait()),
            };
            tracing::warn!(kind = failure.kind.as_str(), retry_in_ms = wait.as_millis() as u64, "{failure}");
            self.set_state(state, Some(failure.message.clone()));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => {
                    self.set_state(CameraState::Stopped, Some(failure.message));
                    return;
                }
            }
        }
    }

    async fn run_once(&self, shutdown: &CancellationToken) -> Outcome {
        let cp = match pipeline::build(
            &self.settings,
            Arc::clone(&self.slot),
            Arc::clone(&self.preroll),
            Arc::clone(&self.change_gate),
        ) {
            Ok(p) => p,
            Err(f) => return Outcome::Failed(f),
        };
        let outcome = self.watch(&cp, shutdown).await;
        cp.shared.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
        stop_pipeline(cp.pipeline, &self.settings.id).await;
        outcome
    }

    async fn watch(&self, cp: &CameraPipeline, shutdown: &CancellationToken) -> Outcome {
        let Some(bus) = cp.pipeline.bus() else {
            return Outcome::Failed(SourceFailure::new(FailureKind::Setup, "pipeline has no bus"));
        };
        let mut messages = bus.stream();
        if cp.pipeline.set_state(gst::State::Playing).is_err() {
            // The reason, if any, is on the bus.
            let reason = bus
                .pop_filtered(&[gst::MessageType::Error])
                .and_then(|m| match m.view() {
                    gst::MessageView::Error(e) => Some(SourceFailure::from_gst_error(e)),
                    _ => None,
                })
                .unwrap_or_else(|| SourceFailure::new(FailureKind::Other, "the pipeline refused to start"));
            return Outcome::Failed(reason);
        }
        let retry = &self.settings.retry;
        let started = Instant::now();
        let mut streaming = false;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let (mut fps_frames, mut fps_at, mut fps_ema) = (0u64, Instant::now(), None::<f64>);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Outcome::Shutdown,
                msg = messages.next() => {
                    let Some(msg) = msg else {
                        return Outcome::Failed(SourceFailure::new(FailureKind::Other, "pipeline bus closed"));
                    };
                    match msg.view() {
                        gst::MessageView::Error(e) => {
                            let mut failure = SourceFailure::from_gst_error(e);
                            if cp.shared.no_video.load(Ordering::SeqCst) {
                                failure.kind = FailureKind::NotVideo;
                            }
                            return Outcome::Failed(failure);
                        }
                        gst::MessageView::Eos(_) => {
                            if self.settings.url.kind() != SourceKind::File {
                                return Outcome::Failed(SourceFailure::new(FailureKind::EndOfStream, "the camera ended the stream"));
                            }
                            // A looping file starts again in a new pipeline: a flushing seek
                            // would not re-establish clock pacing when nothing reaches the
                            // sink (keyframes go to the shared decoders).
                            return if self.settings.loop_file { Outcome::Looped } else { Outcome::Finished };
                        }
                        gst::MessageView::Warning(w) => {
                            tracing::debug!(warning = %crate::redact_credentials(&w.error().to_string()), "pipeline warning");
                        }
                        _ => {}
                    }
                }
                _ = tick.tick() => {
                    match cp.shared.since_last_unit() {
                        None if started.elapsed() > retry.connect_timeout => {
                            return Outcome::Failed(SourceFailure::new(
                                FailureKind::ConnectTimeout,
                                format!("no video within {} s of starting", retry.connect_timeout.as_secs()),
                            ));
                        }
                        None => {}
                        Some(gap) => {
                            if !streaming {
                                streaming = true;
                                self.set_state(CameraState::Streaming, None);
                            }
                            if gap > self.settings.stall_timeout {
                                return Outcome::Failed(SourceFailure::new(
                                    FailureKind::Stalled,
                                    format!("no video for {:.1} s (stall_timeout_secs = {})", gap.as_secs_f64(), self.settings.stall_timeout.as_secs()),
                                ));
                            }
                        }
                    }
                    let dt = fps_at.elapsed();
                    if dt >= Duration::from_secs(2) {
                        let frames = cp.shared.frames_delivered.load(Ordering::Relaxed);
                        let rate = (frames - fps_frames) as f64 / dt.as_secs_f64();
                        let ema = fps_ema.map_or(rate, |e| 0.5 * e + 0.5 * rate);
                        fps_ema = Some(ema);
                        (fps_frames, fps_at) = (frames, Instant::now());
                        self.set_fps(ema);
                    }
                }
            }
        }
    }
}

/// Stops a pipeline without blocking the async runtime. An RTSP teardown can wait on
/// a dead server; after a few seconds we stop waiting and let it finish on its own.
async fn stop_pipeline(pipeline: gst::Pipeline, camera: &str) {
    let stopping = tokio::task::spawn_blocking(move || {
        let _ = pipeline.set_state(gst::State::Null);
    });
    if tokio::time::timeout(Duration::from_secs(5), stopping).await.is_err() {
        tracing::warn!(camera, "pipeline took more than 5 s to stop; continuing without waiting");
    }
}
