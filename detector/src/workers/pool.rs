//! The pool of inference worker threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::feed::{AnalysableFrame, FrameFeed};
use super::metrics;
use super::scheduler::FairScheduler;
use crate::detection::Detection;
use crate::engine::{Engine, EngineInput, StageTimings};
use crate::error::ProviderFallback;
use crate::model::loaded::LoadedModel;
use crate::postprocess::PostprocessSettings;
use crate::preprocess::privacy_mask::PrivacyMask;
use crate::session::SessionOptions;
use crate::DetectorError;

/// How long an idle worker sleeps before looking at the stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// A frame with what was found in it, handed to the sink in camera order.
pub struct AnalysedFrame<Fr> {
    pub camera: usize,
    pub camera_id: Arc<str>,
    pub frame: Fr,
    pub detections: Vec<Detection>,
    /// From `ready_at` to a worker taking the frame.
    pub queue_wait: Duration,
    /// Of the whole batch the frame was in.
    pub timings: StageTimings,
    pub batch_size: usize,
}

/// Receives analysed frames. `deliver` may block: that is the backpressure from the
/// stages after detection.
pub trait DetectionSink<Fr>: Send + Sync + 'static {
    fn deliver(&self, analysed: AnalysedFrame<Fr>);
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub workers: usize,
    pub session: SessionOptions,
    pub postprocess: PostprocessSettings,
    /// Frames of distinct cameras per `Session::run` (models with a dynamic batch only).
    pub max_batch: usize,
}

pub struct InferencePool {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Why a requested execution provider is not in use, if it is not.
    pub fallback: Option<ProviderFallback>,
}

impl InferencePool {
    /// Opens one session per worker (so a model problem is an error here, at startup)
    /// and starts the threads.
    pub fn start<F: FrameFeed, S: DetectionSink<F::Frame>>(
        model: &LoadedModel,
        feed: Arc<F>,
        sink: Arc<S>,
        settings: PoolSettings,
    ) -> Result<Self, DetectorError> {
        // OpenCV's own thread pool would compete with the workers: they are the parallelism.
        let _ = opencv::core::set_num_threads(1);
        let mut engines = Vec::new();
        let mut fallback = None;
        for _ in 0..settings.workers.max(1) {
            let (engine, note) =
                Engine::open(model, &settings.session, settings.postprocess.clone(), settings.max_batch)?;
            fallback = fallback.or(note);
            engines.push(engine);
        }
        let scheduler = Arc::new(FairScheduler::new(feed));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (i, engine) in engines.into_iter().enumerate() {
            let worker =
                Worker { engine, scheduler: Arc::clone(&scheduler), sink: Arc::clone(&sink), stop: Arc::clone(&stop) };
            let spawned = std::thread::Builder::new().name(format!("inference-{i}")).spawn(move || worker.run());
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(DetectorError::Worker { index: i, source: e });
                }
            }
        }
        metrics::set_workers(threads.len());
        Ok(Self { stop, threads, fallback })
    }

    /// Stops the workers after their current batch and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        metrics::set_workers(0);
    }
}

impl Drop for InferencePool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker<F: FrameFeed, S> {
    engine: Engine,
    scheduler: Arc<FairScheduler<F>>,
    sink: Arc<S>,
    stop: Arc<AtomicBool>,
}

impl<F: FrameFeed, S: DetectionSink<F::Frame>> Worker<F, S> {
    fn run(mut self) {
        let feed = Arc::clone(self.scheduler.feed());
        while !self.stop.load(Ordering::Relaxed) {
            let seen = feed.arrivals();
            let batch = self.scheduler.take_batch(self.engine.max_batch());
            if batch.is_empty() {
                feed.wait_for_arrival(seen, IDLE_WAIT);
                continue;
            }
            let cameras: Vec<usize> = batch.iter().map(|(c, _)| *c).collect();
            self.analyse(batch, &*feed);
            self.scheduler.release(cameras);
        }
    }

    fn analyse(&mut self, batch: Vec<(usize, F::Frame)>, feed: &F) {
        let taken_at = SystemTime::now();
        // Frames whose pixels are unusable are reported and left out of the batch.
        let mut usable = Vec::with_capacity(batch.len());
        for (camera, frame) in batch {
            match frame.image() {
                Ok(_) => usable.push((camera, frame)),
                Err(e) => {
                    let id = feed.camera_id(camera);
                    tracing::warn!(camera = %id, "frame skipped: {e}");
                    metrics::record_error(&id, "image");
                }
            }
        }
        if usable.is_empty() {
            return;
        }
        let masks: Vec<Arc<[PrivacyMask]>> = usable.iter().map(|(camera, _)| feed.privacy_masks(*camera)).collect();
        let outcome = {
            let inputs: Vec<EngineInput<'_>> = usable
                .iter()
                .zip(&masks)
                .filter_map(|((_, frame), masks)| frame.image().ok().map(|image| EngineInput { image, masks }))
                .collect();
            self.engine.detect(&inputs)
        };
        match outcome {
            Ok((results, timings)) => {
                metrics::record_batch(&timings, usable.len());
                let batch_size = usable.len();
                for ((camera, frame), detections) in usable.into_iter().zip(results) {
                    let camera_id = feed.camera_id(camera);
                    let queue_wait = taken_at.duration_since(frame.ready_at()).unwrap_or_default();
                    metrics::record_frame(&camera_id, queue_wait, detections.len());
                    self.sink.deliver(AnalysedFrame {
                        camera,
                        camera_id,
                        frame,
                        detections,
                        queue_wait,
                        timings,
                        batch_size,
                    });
                }
            }
            Err(e) => {
                for (camera, _) in &usable {
                    let id = feed.camera_id(*camera);
                    // As an error field, the log line carries its causes too.
                    tracing::warn!(camera = %id, error = &e as &dyn std::error::Error, "frame not analysed");
                    metrics::record_error(&id, e.stage());
                }
            }
        }
    }
}
