use std::path::PathBuf;

use thiserror::Error;

// This file imports nothing of the crate's, so any file may use its errors.

/// Everything that can go wrong while preparing or running detection. Each variant
/// names the file it is about, so the operator knows where to look; the cause is the
/// error's source (shown by `{:#}`).
#[derive(Debug, Error)]
pub enum DetectorError {
    #[error("model manifest {path}")]
    Manifest { path: PathBuf, source: ManifestError },

    #[error("model file {path} not found (run deploy/setup.sh to fetch and convert the model)")]
    ModelMissing { path: PathBuf },

    #[error("model file {path}: cannot read")]
    ModelRead { path: PathBuf, source: std::io::Error },

    #[error("model file {path}: sha256 is {actual}, the manifest expects {expected} (corrupt or wrong file: delete it and run deploy/setup.sh)")]
    ModelChecksum { path: PathBuf, expected: String, actual: String },

    #[error("model file {path}: does not match its manifest")]
    ModelMismatch { path: PathBuf, source: SignatureMismatch },

    #[error("model file {path}: ONNX Runtime cannot load it")]
    ModelLoad { path: PathBuf, source: ort::Error },

    #[error("model file {path}: its manifest's input cannot be prepared")]
    Preprocess { path: PathBuf, source: PreprocessError },

    #[error("model file {path}: the {provider} execution provider is required (detector.require_execution_provider) but cannot be used")]
    ExecutionProvider { provider: &'static str, path: PathBuf, source: ProviderError },

    #[error(
        "ONNX Runtime library not found: {tried} (set detector.onnxruntime_library in the config or ORT_DYLIB_PATH, or run deploy/setup.sh)"
    )]
    RuntimeMissing { tried: String },

    #[error("detector: cannot start inference thread {index}")]
    Worker { index: usize, source: std::io::Error },

    #[error("detector: cannot start the evidence worker")]
    EvidenceWorker { source: std::io::Error },

    #[error("ONNX Runtime library {path}: cannot load it")]
    RuntimeLoad { path: PathBuf, source: ort::LoadDynamicError },

    #[error("ONNX Runtime library {path}: cannot start its environment")]
    RuntimeStart { path: PathBuf, source: ort::Error },
}

/// Why a model manifest was refused.
#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read")]
    Read(#[source] std::io::Error),
    #[error("not valid TOML for a manifest")]
    Parse(#[source] toml::de::Error),
    /// Every problem found, so one edit fixes them all.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<&'static str>),
}

/// How a model's inputs and outputs differ from what its manifest says.
#[derive(Debug, Error)]
pub enum SignatureMismatch {
    #[error("no input named `{0}`")]
    NoInput(String),
    #[error("no output named `{0}`")]
    NoOutput(String),
    #[error("{0} is not a tensor")]
    NotTensor(&'static str),
    #[error("input `{name}` has shape {shape:?}, the manifest expects [batch, 3, {height}, {width}]")]
    InputShape { name: String, shape: Vec<i64>, width: u32, height: u32 },
    #[error("input `{name}` has a fixed batch of {batch}, the manifest says dynamic_batch")]
    FixedBatch { name: String, batch: i64 },
    #[error("output `{name}` has shape {shape:?}, which does not fit decoder {decoder} with {classes} classes")]
    OutputShape { name: String, shape: Vec<i64>, decoder: String, classes: usize },
}

/// Why a frame could not be turned into model input.
#[derive(Debug, Error)]
pub enum PreprocessError {
    #[error("OpenCV")]
    OpenCv(#[from] opencv::Error),
    #[error("tensor slice of {got} floats, need {need}")]
    TensorSlice { got: usize, need: usize },
}

/// Why an execution provider other than the CPU cannot be used.
#[derive(Debug, Error)]
pub enum ProviderError {
    #[error("this build of streetwatch has no {0} support (build with `--features {0}`)")]
    NotBuilt(&'static str),
    #[error("ONNX Runtime refused it")]
    Refused(#[source] ort::Error),
}

/// A session asked for an execution provider and got the CPU instead (the provider is
/// not required): a warning for the operator, with why.
#[derive(Debug, Error)]
#[error("{provider} execution provider unavailable; running on CPU")]
pub struct ProviderFallback {
    pub provider: &'static str,
    pub source: ProviderError,
}
