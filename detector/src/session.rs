//! Opening an ONNX Runtime session for a model: threads and execution provider.
//!
//! Each inference worker opens its own session (`Session::run` needs `&mut self`).
//! CPU is the default. CUDA and TensorRT are compiled in only with the `cuda` /
//! `tensorrt` cargo features, and need the GPU build of ONNX Runtime; when one is asked
//! for and cannot be used, the session runs on CPU with a warning, unless
//! `require_execution_provider` is set, in which case it is an error.

use std::path::Path;

use ort::session::Session;

use crate::{runtime::OnnxRuntime, DetectorError};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// Opens `path` with the options. Falls back to CPU (and says why in `fallback`) unless
/// the provider is required.
pub fn open_session(
    runtime: &OnnxRuntime,
    path: &Path,
    options: &SessionOptions,
) -> Result<(OpenedSession, Option<String>), DetectorError> {
    let load_err = |reason: String| DetectorError::ModelLoad { path: path.to_path_buf(), reason };
    if options.execution_provider != ExecutionProviderKind::Cpu {
        match open_with_provider(runtime, path, options) {
            Ok(session) => {
                return Ok((OpenedSession { session, execution_provider: options.execution_provider }, None))
            }
            Err(reason) if options.require_execution_provider => {
                return Err(DetectorError::ExecutionProvider {
                    provider: options.execution_provider.name(),
                    path: path.to_path_buf(),
                    reason,
                })
            }
            Err(reason) => {
                let session = cpu_builder(runtime, options)
                    .and_then(|mut b| b.commit_from_file(path).map_err(|e| e.to_string()))
                    .map_err(load_err)?;
                let note = format!(
                    "{} execution provider unavailable ({reason}); running on CPU",
                    options.execution_provider.name()
                );
                return Ok((OpenedSession { session, execution_provider: ExecutionProviderKind::Cpu }, Some(note)));
            }
        }
    }
    let session = cpu_builder(runtime, options)
        .and_then(|mut b| b.commit_from_file(path).map_err(|e| e.to_string()))
        .map_err(load_err)?;
    Ok((OpenedSession { session, execution_provider: ExecutionProviderKind::Cpu }, None))
}

fn cpu_builder(
    runtime: &OnnxRuntime,
    options: &SessionOptions,
) -> Result<ort::session::builder::SessionBuilder, String> {
    Session::builder(&runtime.environment)
        .map_err(|e| e.to_string())?
        .with_intra_threads(options.intra_op_threads.max(1))
        .map_err(|e| e.to_string())
}

fn provider_for(kind: ExecutionProviderKind) -> Result<ort::ep::ExecutionProviderDispatch, String> {
    match kind {
        #[cfg(feature = "cuda")]
        ExecutionProviderKind::Cuda => Ok(ort::ep::CUDA::default().build()),
        #[cfg(feature = "tensorrt")]
        ExecutionProviderKind::TensorRt => Ok(ort::ep::TensorRT::default().build()),
        ExecutionProviderKind::Cpu => Err("the CPU needs no execution provider".into()),
        #[allow(unreachable_patterns)]
        other => Err(format!(
            "this build of streetwatch has no {} support (build with `--features {}`)",
            other.name(),
            other.name()
        )),
    }
}

fn open_with_provider(runtime: &OnnxRuntime, path: &Path, options: &SessionOptions) -> Result<Session, String> {
    let provider = provider_for(options.execution_provider)?;
    cpu_builder(runtime, options)?
        .with_execution_providers([provider.error_on_failure()])
        .map_err(|e| e.to_string())?
        .commit_from_file(path)
        .map_err(|e| e.to_string())
}
