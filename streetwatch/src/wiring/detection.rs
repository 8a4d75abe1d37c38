//! Ingest's camera slots to the detector's inference workers.
//!
//! The detector knows nothing of GStreamer: it reads frames through its `FrameFeed`
//! trait, implemented here over ingest's slots and doorbell.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use detector::image::{ImageError, ImageRef};
use detector::postprocess::decode::ScoreThresholds;
use detector::postprocess::PostprocessSettings;
use detector::preprocess::privacy_mask::PrivacyMask;
use detector::session::{ExecutionProviderKind, SessionOptions};
use detector::workers::feed::{AnalysableFrame, FrameFeed};
use detector::workers::pool::{DetectionSink, InferencePool, PoolSettings};
use detector::LoadedModel;
use ingest::{CameraHandle, Doorbell, Frame};

use crate::config::schema::{Coordinates, ExecutionProvider};
use crate::config::Config;

/// Ingest's frame slots, as the detector reads them.
pub struct IngestFeed {
    cameras: Vec<CameraHandle>,
    doorbell: Arc<Doorbell>,
}

impl IngestFeed {
    pub fn new(cameras: Vec<CameraHandle>, doorbell: Arc<Doorbell>) -> Self {
        Self { cameras, doorbell }
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
}

impl FrameFeed for IngestFeed {
    type Frame = IngestFrame;

    fn camera_count(&self) -> usize {
        self.cameras.len()
    }
    fn camera_id(&self, camera: usize) -> Arc<str> {
        Arc::clone(&self.cameras[camera].id)
    }
    fn take(&self, camera: usize) -> Option<IngestFrame> {
        self.cameras.get(camera)?.slot.take().map(IngestFrame)
    }
    fn arrivals(&self) -> u64 {
        self.doorbell.count()
    }
    fn wait_for_arrival(&self, seen: u64, timeout: Duration) -> u64 {
        self.doorbell.wait_after(seen, timeout)
    }
}

/// The detector's settings from the validated config, for the cameras that run (in
/// the order of `cameras`).
pub fn pool_settings(config: &Config, cameras: &[CameraHandle]) -> PoolSettings {
    let d = &config.detector;
    let manifest = &config.model_manifest;
    // Class names were checked against the model when the config was validated.
    let thresholds = manifest
        .classes
        .iter()
        .map(|class| d.class_score_thresholds.get(class).copied().unwrap_or(d.score_threshold))
        .collect();
    let privacy_masks = cameras.iter().map(|handle| privacy_masks(config, &handle.id)).collect();
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
        privacy_masks,
    }
}

/// The privacy masks of the camera with id `camera_id`.
pub fn privacy_masks(config: &Config, camera_id: &str) -> Vec<PrivacyMask> {
    config
        .cameras
        .iter()
        .find(|c| c.config.id == camera_id)
        .map(|c| {
            c.config
                .privacy_masks
                .iter()
                .map(|m| PrivacyMask {
                    points: m.polygon.clone(),
                    normalized: m.coordinates == Coordinates::Normalized,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// ONNX Runtime session settings from the config.
pub fn session_options(config: &Config) -> SessionOptions {
    let d = &config.detector;
    SessionOptions {
        intra_op_threads: d.intra_op_threads as usize,
        execution_provider: match d.execution_provider {
            ExecutionProvider::Cpu => ExecutionProviderKind::Cpu,
            ExecutionProvider::Cuda => ExecutionProviderKind::Cuda,
            ExecutionProvider::Tensorrt => ExecutionProviderKind::TensorRt,
        },
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
    cameras: Vec<CameraHandle>,
    doorbell: Arc<Doorbell>,
    sink: Arc<S>,
) -> Result<InferencePool, detector::DetectorError> {
    detector::workers::metrics::describe();
    let settings = pool_settings(config, &cameras);
    let feed = Arc::new(IngestFeed::new(cameras, doorbell));
    let pool = InferencePool::start(model, feed, sink, settings)?;
    if let Some(note) = &pool.fallback_note {
        tracing::warn!("detector: {note}");
    }
    Ok(pool)
}
