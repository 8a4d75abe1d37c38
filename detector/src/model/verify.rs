//! Checks that a model file is the one its manifest describes: present, the right
//! bytes (sha256), and the inputs and outputs the pipeline will feed and read.

use std::io::Read;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::ValueType;
use sha2::{Digest, Sha256};

use crate::error::SignatureMismatch;
use crate::{runtime::OnnxRuntime, DetectorError, ModelManifest, OutputDecoder};

/// A model file whose bytes matched the manifest.
#[derive(Debug, Clone)]
pub struct VerifiedModel {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

/// Hashes the model file and compares it with the manifest.
pub fn verify_model_file(manifest: &ModelManifest, model_dir: &Path) -> Result<VerifiedModel, DetectorError> {
    let path = manifest.model_path(model_dir);
    if !path.is_file() {
        return Err(DetectorError::ModelMissing { path });
    }
    let read_err = |source| DetectorError::ModelRead { path: path.clone(), source };
    let mut file = std::fs::File::open(&path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    let actual = hex::encode(hasher.finalize());
    if actual != manifest.sha256 {
        return Err(DetectorError::ModelChecksum { path, expected: manifest.sha256.clone(), actual });
    }
    Ok(VerifiedModel { path, sha256: actual, bytes })
}

/// Opens the model in ONNX Runtime and checks its input and output against the manifest.
pub fn check_model_io(runtime: &OnnxRuntime, manifest: &ModelManifest, path: &Path) -> Result<(), DetectorError> {
    let open = || -> Result<Session, ort::Error> {
        Session::builder(&runtime.environment)?.with_intra_threads(1)?.commit_from_file(path)
    };
    let session = open().map_err(|source| DetectorError::ModelLoad { path: path.to_path_buf(), source })?;
    check_session_io(&session, manifest)
        .map_err(|source| DetectorError::ModelMismatch { path: path.to_path_buf(), source })
}

fn tensor_shape<'a>(ty: &'a ValueType, what: &'static str) -> Result<&'a [i64], SignatureMismatch> {
    ty.tensor_shape().map(|s| &**s).ok_or(SignatureMismatch::NotTensor(what))
}

/// Compares a loaded session's signature with the manifest. Dynamic dimensions
/// (-1) match anything.
pub fn check_session_io(session: &Session, manifest: &ModelManifest) -> Result<(), SignatureMismatch> {
    let dim_ok = |actual: i64, expected: i64| actual < 0 || actual == expected;
    let input = session
        .inputs()
        .iter()
        .find(|i| i.name() == manifest.input.name)
        .ok_or_else(|| SignatureMismatch::NoInput(manifest.input.name.clone()))?;
    let shape = tensor_shape(input.dtype(), "input")?;
    let (w, h) = (i64::from(manifest.input.width), i64::from(manifest.input.height));
    if shape.len() != 4 || !dim_ok(shape[1], 3) || !dim_ok(shape[2], h) || !dim_ok(shape[3], w) {
        return Err(SignatureMismatch::InputShape {
            name: input.name().to_string(),
            shape: shape.to_vec(),
            width: manifest.input.width,
            height: manifest.input.height,
        });
    }
    if manifest.input.dynamic_batch && shape[0] >= 0 {
        return Err(SignatureMismatch::FixedBatch { name: input.name().to_string(), batch: shape[0] });
    }
    let output = session
        .outputs()
        .iter()
        .find(|o| o.name() == manifest.output.name)
        .ok_or_else(|| SignatureMismatch::NoOutput(manifest.output.name.clone()))?;
    let shape = tensor_shape(output.dtype(), "output")?;
    let classes = manifest.classes.len() as i64;
    let ok = match manifest.output.decoder {
        OutputDecoder::YoloDecoded | OutputDecoder::Yolov5 => shape.len() == 3 && dim_ok(shape[2], 5 + classes),
        OutputDecoder::Yolov8 => shape.len() == 3 && dim_ok(shape[1], 4 + classes),
    };
    if !ok {
        return Err(SignatureMismatch::OutputShape {
            name: output.name().to_string(),
            shape: shape.to_vec(),
            decoder: format!("{:?}", manifest.output.decoder),
            classes: manifest.classes.len(),
        });
    }
    Ok(())
}
