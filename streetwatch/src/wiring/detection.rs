//! Ingest's camera slots to the detector's inference workers.
//!
//! The detector knows nothing of GStreamer: it reads frames through its `FrameFeed`
//! trait, implemented here over ingest's slots and doorbell.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use detector::image::{ImageError, ImageRef};
use detector::postprocess::decode::ScoreThresholds;
use detector::postprocess::PostprocessSettings;
use detector::preprocess::privacy_mask::PrivacyMask;
use detector::session::SessionOptions;
use detector::workers::feed::{AnalysableFrame, FrameFeed};
use detector::workers::pool::{DetectionSink, InferencePool, PoolSettings};
use detector::LoadedModel;
use ingest::{CameraHandle, Doorbell, Frame};

use crate::config::Config;

/// Ingest's frame slots, as the detector reads them. Cameras are added (a cluster
/// pipeline given more) and retired (taken away) while the detector runs; an index
/// is never reused, so a late result of a retired camera cannot reach another.
pub struct IngestFeed {
    cameras: RwLock<Vec<FeedCamera>>,
    doorbell: Arc<Doorbell>,
}

struct FeedCamera {
    id: Arc<str>,
    /// None once retired.
    handle: Option<CameraHandle>,
    masks: Arc<[PrivacyMask]>,
}

impl IngestFeed {
    /// The feed of `cameras` (indices in their order).
    pub fn new(config: &Config, cameras: &[CameraHandle], doorbell: Arc<Doorbell>) -> Self {
        let feed = Self { cameras: RwLock::default(), doorbell };
        for handle in cameras {
            feed.add(handle.clone(), privacy_masks(config, &handle.id));
        }
        feed
    }

    /// Adds a camera; returns its index.
    pub fn add(&self, handle: CameraHandle, masks: Vec<PrivacyMask>) -> usize {
        let mut cameras = self.cameras.write().unwrap_or_else(|p| p.into_inner());
        cameras.push(FeedCamera { id: Arc::clone(&handle.id), handle: Some(handle), masks: Arc::from(masks) });
        cameras.len() - 1
    }

    /// The camera at `index` gives no more frames (what waits in its slot is dropped).
    pub fn retire(&self, index: usize) {
        if let Some(c) = self.cameras.write().unwrap_or_else(|p| p.into_inner()).get_mut(index) {
            c.handle = None;
        }
    }
}

/// A decoded frame on its way through the detector.
pub struct IngestFrame(pub Frame);

impl AnalysableFrame for IngestFrame {
    fn image(&self) -> Result<ImageRef<'_>, ImageError> {
        let f = &self.0;
        ImageRef::bgr(f.width, f.height, f.stride, &f.pixels)
    }
    fn ready_at(&self) -> SystemTime {
        self.0.captured_at
    }
    fn pts(&self) -> Option<Duration> {
        self.0.pts
    }
    fn sequence(&self) -> u64 {
        self.0.sequence
    }
}

impl FrameFeed for IngestFeed {
    type Frame = IngestFrame;

    fn camera_count(&self) -> usize {
        self.cameras.read().unwrap_or_else(|p| p.into_inner()).len()
    }
    fn camera_id(&self, camera: usize) -> Arc<str> {
        let cameras = self.cameras.read().unwrap_or_else(|p| p.into_inner());
        cameras.get(camera).map_or_else(|| Arc::from("unknown"), |c| Arc::clone(&c.id))
    }
    fn privacy_masks(&self, camera: usize) -> Arc<[PrivacyMask]> {
        let cameras = self.cameras.read().unwrap_or_else(|p| p.into_inner());
        cameras.get(camera).map_or_else(|| Arc::from(Vec::new()), |c| Arc::clone(&c.masks))
    }
    fn take(&self, camera: usize) -> Option<IngestFrame> {
        let cameras = self.cameras.read().unwrap_or_else(|p| p.into_inner());
        cameras.get(camera)?.handle.as_ref()?.slot.take().map(IngestFrame)
    }
    fn arrivals(&self) -> u64 {
        self.doorbell.count()
    }
    fn wait_for_arrival(&self, seen: u64, timeout: Duration) -> u64 {
        self.doorbell.wait_after(seen, timeout)
    }
}

/// The detector's settings from the validated config.
pub fn pool_settings(config: &Config) -> PoolSettings {
    let d = &config.detector;
    let manifest = &config.model_manifest;
    // Class names were checked against the model when the config was validated.
    let thresholds = manifest
        .classes
        .iter()
        .map(|class| d.class_score_thresholds.get(class).copied().unwrap_or(d.score_threshold))
        .collect();
    PoolSettings {
        workers: d.inference_threads as usize,
        session: session_options(config),
        postprocess: PostprocessSettings {
            thresholds: ScoreThresholds::new(thresholds),
            nms_iou: d.nms_iou,
            max_detections: d.max_detections as usize,
            min_box_size_px: d.min_box_size_px,
            max_box_fraction: d.max_box_fraction,
        },
        max_batch: d.max_batch as usize,
    }
}

/// The privacy masks of the camera with id `camera_id`.
pub fn privacy_masks(config: &Config, camera_id: &str) -> Vec<PrivacyMask> {
    config.cameras.iter().find(|c| c.config.id == camera_id).map(|c| c.privacy_masks.clone()).unwrap_or_default()
}

/// ONNX Runtime session settings from the config.
pub fn session_options(config: &Config) -> SessionOptions {
    let d = &config.detector;
    SessionOptions {
        intra_op_threads: d.intra_op_threads as usize,
        execution_provider: d.execution_provider,
        require_execution_provider: d.require_execution_provider,
    }
}

/// Verifies and loads the model (blocking: hashing and session creation take a while).
pub fn load_model(config: &Config) -> Result<LoadedModel, detector::DetectorError> {
    LoadedModel::load(config.model_manifest.clone(), &config.model_dir, config.onnxruntime_library.as_deref())
}

/// Starts the inference workers on the cameras' slots.
pub fn start_detection<S: DetectionSink<IngestFrame>>(
    config: &Config,
    model: &LoadedModel,
    feed: Arc<IngestFeed>,
    sink: Arc<S>,
) -> Result<InferencePool, detector::DetectorError> {
    detector::workers::metrics::describe();
    let settings = pool_settings(config);
    let mut pool = InferencePool::start(model, feed, sink, settings)?;
    if let Some(fallback) = pool.fallback.take() {
        tracing::warn!("detector: {:#}", anyhow::Error::new(fallback));
    }
    Ok(pool)
}
