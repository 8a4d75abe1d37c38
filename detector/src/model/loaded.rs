//! A model ready for inference: manifest read, bytes verified, ONNX Runtime loaded,
//! inputs and outputs checked. Every inference worker opens its own session from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::verify::{check_model_io, verify_model_file};
use crate::runtime::{onnxruntime, OnnxRuntime};
use crate::{DetectorError, ModelManifest};

#[derive(Clone)]
pub struct LoadedModel {
    pub manifest: Arc<ModelManifest>,
    pub path: PathBuf,
    pub sha256: String,
    pub runtime: Arc<OnnxRuntime>,
}

impl LoadedModel {
    /// Verifies `manifest`'s file in `model_dir` and checks it against the manifest in
    /// ONNX Runtime (loaded from `library`, or the default places). Each failure is
    /// a clear error that names the file.
    pub fn load(manifest: ModelManifest, model_dir: &Path, library: Option<&Path>) -> Result<Self, DetectorError> {
        let verified = verify_model_file(&manifest, model_dir)?;
        let runtime = onnxruntime(library)?;
        check_model_io(&runtime, &manifest, &verified.path)?;
        Ok(Self { manifest: Arc::new(manifest), path: verified.path, sha256: verified.sha256, runtime })
    }

    /// Loads the manifest file too (benchmarks, tests).
    pub fn from_manifest_file(
        manifest: &Path,
        model_dir: &Path,
        library: Option<&Path>,
    ) -> Result<Self, DetectorError> {
        Self::load(ModelManifest::load(manifest)?, model_dir, library)
    }
}
