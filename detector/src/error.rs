use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while preparing or running detection. Each variant
/// names the file it is about, so the operator knows where to look.
#[derive(Debug, Error)]
pub enum DetectorError {
    #[error("model manifest {path}: {reason}")]
    Manifest { path: PathBuf, reason: String },

    #[error("model file {path} not found (run deploy/setup.sh to fetch and convert the model)")]
    ModelMissing { path: PathBuf },

    #[error("model file {path}: cannot read: {source}")]
    ModelRead { path: PathBuf, source: std::io::Error },

    #[error("model file {path}: sha256 is {actual}, the manifest expects {expected} (corrupt or wrong file: delete it and run deploy/setup.sh)")]
    ModelChecksum { path: PathBuf, expected: String, actual: String },

    #[error("model file {path}: does not match its manifest: {reason}")]
    ModelMismatch { path: PathBuf, reason: String },

    #[error("model file {path}: ONNX Runtime cannot load it: {reason}")]
    ModelLoad { path: PathBuf, reason: String },

    #[error("model file {path}: the {provider} execution provider is required (detector.require_execution_provider) but cannot be used: {reason}")]
    ExecutionProvider { provider: &'static str, path: PathBuf, reason: String },

    #[error(
        "ONNX Runtime library not found: {tried} (set detector.onnxruntime_library in the config or ORT_DYLIB_PATH, or run deploy/setup.sh)"
    )]
    RuntimeMissing { tried: String },

    #[error("detector: {reason}")]
    Worker { reason: String },

    #[error("ONNX Runtime library {path}: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },
}
