//! Opening an ONNX Runtime session for a model: threads and execution provider.
//!
//! Each inference worker opens its own session (`Session::run` needs `&mut self`).
//! CPU is the default. CUDA and TensorRT are compiled in only with the `cuda` /
//! `tensorrt` cargo features, and need the GPU build of ONNX Runtime; when one is asked
//! for and cannot be used, the session runs on CPU with a warning, unless
//! `require_execution_provider` is set, in which case it is an error.

use std::path::Path;

use ort::session::Session;

use crate::error::{ProviderError, ProviderFallback};
use crate::{runtime::OnnxRuntime, DetectorError};

/// The config names these `cpu`, `cuda`, `tensorrt` (`detector.execution_provider`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionProviderKind {
    #[default]
    Cpu,
    Cuda,
    TensorRt,
}

impl ExecutionProviderKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::TensorRt => "tensorrt",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub intra_op_threads: usize,
    pub execution_provider: ExecutionProviderKind,
    pub require_execution_provider: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { intra_op_threads: 1, execution_provider: ExecutionProviderKind::Cpu, require_execution_provider: false }
    }
}

/// A session and the execution provider it actually runs on.
pub struct OpenedSession {
    pub session: Session,
    pub execution_provider: ExecutionProviderKind,
}

/// Opens `path` with the options. Falls back to CPU (and says why in the `ProviderFallback`) unless
/// the provider is required.
pub fn open_session(
    runtime: &OnnxRuntime,
    path: &Path,
    options: &SessionOptions,
) -> Result<(OpenedSession, Option<ProviderFallback>), DetectorError> {
    let load_err = |source: ort::Error| DetectorError::ModelLoad { path: path.to_path_buf(), source };
    if options.execution_provider != ExecutionProviderKind::Cpu {
        match open_with_provider(runtime, path, options) {
            Ok(session) => {
                return Ok((OpenedSession { session, execution_provider: options.execution_provider }, None))
            }
            Err(source) if options.require_execution_provider => {
                return Err(DetectorError::ExecutionProvider {
                    provider: options.execution_provider.name(),
                    path: path.to_path_buf(),
                    source,
                })
            }
            Err(source) => {
                let session =
                    cpu_builder(runtime, options).and_then(|mut b| b.commit_from_file(path)).map_err(load_err)?;
                let fallback = ProviderFallback { provider: options.execution_provider.name(), source };
                return Ok((OpenedSession { session, execution_provider: ExecutionProviderKind::Cpu }, Some(fallback)));
            }
        }
    }
    let session = cpu_builder(runtime, options).and_then(|mut b| b.commit_from_file(path)).map_err(load_err)?;
    Ok((OpenedSession { session, execution_provider: ExecutionProviderKind::Cpu }, None))
}

fn cpu_builder(
    runtime: &OnnxRuntime,
    options: &SessionOptions,
) -> Result<ort::session::builder::SessionBuilder, ort::Error> {
    Ok(Session::builder(&runtime.environment)?.with_intra_threads(options.intra_op_threads.max(1))?)
}

fn provider_for(kind: ExecutionProviderKind) -> Result<ort::ep::ExecutionProviderDispatch, ProviderError> {
    match kind {
        #[cfg(feature = "cuda")]
        ExecutionProviderKind::Cuda => Ok(ort::ep::CUDA::default().build()),
        #[cfg(feature = "tensorrt")]
        ExecutionProviderKind::TensorRt => Ok(ort::ep::TensorRT::default().build()),
        // Never asked for: the CPU is the default session, opened without a provider.
        ExecutionProviderKind::Cpu => Err(ProviderError::NotBuilt("cpu")),
        #[allow(unreachable_patterns)]
        other => Err(ProviderError::NotBuilt(other.name())),
    }
}

fn open_with_provider(runtime: &OnnxRuntime, path: &Path, options: &SessionOptions) -> Result<Session, ProviderError> {
    let provider = provider_for(options.execution_provider)?;
    let open = || -> Result<Session, ort::Error> {
        cpu_builder(runtime, options)?.with_execution_providers([provider.error_on_failure()])?.commit_from_file(path)
    };
    open().map_err(ProviderError::Refused)
}
