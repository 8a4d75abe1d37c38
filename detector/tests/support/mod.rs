//! Shared by the detector's integration tests: the model and images deploy/setup.sh
//! put in the cache, and an engine on them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use detector::engine::Engine;
use detector::postprocess::decode::ScoreThresholds;
use detector::postprocess::PostprocessSettings;
use detector::runtime::default_cache_dir;
use detector::session::SessionOptions;
use detector::{LoadedModel, ModelManifest};
use opencv::core::{MatTraitConst, MatTraitConstManual};

pub fn cache_dir() -> PathBuf {
    default_cache_dir().expect("HOME or STREETWATCH_CACHE must be set")
}

pub fn test_image_dir() -> PathBuf {
    cache_dir().join("testdata")
}

pub fn manifest_path(size: u32) -> PathBuf {
    named_manifest_path(&format!("yolov3-tiny-{size}"))
}

/// `models/<stem>.toml`.
pub fn named_manifest_path(stem: &str) -> PathBuf {
    PathBuf::from(format!("{}/../models/{stem}.toml", env!("CARGO_MANIFEST_DIR")))
}

pub fn load_model(size: u32) -> LoadedModel {
    load_named_model(&format!("yolov3-tiny-{size}"))
}

pub fn load_named_model(stem: &str) -> LoadedModel {
    LoadedModel::from_manifest_file(&named_manifest_path(stem), &cache_dir().join("models"), None)
        .unwrap_or_else(|e| panic!("{e} (run deploy/setup.sh)"))
}

pub fn postprocess(manifest: &ModelManifest, score: f32, nms_iou: f32) -> PostprocessSettings {
    PostprocessSettings {
        thresholds: ScoreThresholds::uniform(manifest.classes.len(), score),
        nms_iou,
        max_detections: 300,
        min_box_size_px: 0.0,
        max_box_fraction: 1.0,
    }
}

pub fn engine_for(size: u32, score: f32, nms_iou: f32) -> (Engine, ModelManifest) {
    engine_for_named(&format!("yolov3-tiny-{size}"), score, nms_iou)
}

pub fn engine_for_named(stem: &str, score: f32, nms_iou: f32) -> (Engine, ModelManifest) {
    let model = load_named_model(stem);
    let manifest = (*model.manifest).clone();
    let (engine, _) = Engine::open(&model, &SessionOptions::default(), postprocess(&manifest, score, nms_iou), 4)
        .unwrap_or_else(|e| panic!("{e}"));
    (engine, manifest)
}

/// Decodes an image file with OpenCV into packed BGR bytes.
pub fn load_bgr(path: &Path) -> (u32, u32, Vec<u8>) {
    let mat = opencv::imgcodecs::imread(path.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!mat.empty(), "{}: cannot be decoded (run deploy/setup.sh)", path.display());
    assert!(mat.is_continuous());
    (mat.cols() as u32, mat.rows() as u32, mat.data_bytes().unwrap().to_vec())
}
