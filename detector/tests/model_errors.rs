//! Every way a model can be wrong is a clear error naming the file, never a panic.

mod support;

use detector::{DetectorError, LoadedModel, ModelManifest, OutputDecoder};
use support::{cache_dir, manifest_path};

fn manifest_416() -> ModelManifest {
    ModelManifest::load(&manifest_path(416)).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn a_missing_model_file_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let e = LoadedModel::load(manifest_416(), dir.path(), None).err().unwrap();
    assert!(matches!(e, DetectorError::ModelMissing { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains(&dir.path().join("yolov3-tiny-416.onnx").display().to_string()), "{text}");
    assert!(text.contains("deploy/setup.sh"), "{text}");
}

#[test]
fn a_wrong_sha256_is_reported_with_both_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("yolov3-tiny-416.onnx"), b"not the model").unwrap();
    let e = LoadedModel::load(manifest_416(), dir.path(), None).err().unwrap();
    let text = e.to_string();
    assert!(matches!(e, DetectorError::ModelChecksum { .. }), "{text}");
    assert!(text.contains(&sha256_hex(b"not the model")) && text.contains(&manifest_416().sha256), "{text}");
}

#[test]
fn a_corrupt_model_whose_sha256_was_pinned_fails_to_load_cleanly() {
    // A truncated ONNX file, pinned as if someone had updated the manifest to match it.
    let real = std::fs::read(cache_dir().join("models/yolov3-tiny-416.onnx")).expect("run deploy/setup.sh");
    let truncated = &real[..real.len() / 3];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("yolov3-tiny-416.onnx"), truncated).unwrap();
    let mut manifest = manifest_416();
    manifest.sha256 = sha256_hex(truncated);
    let e = LoadedModel::load(manifest, dir.path(), None).err().unwrap();
    assert!(matches!(e, DetectorError::ModelLoad { .. }), "{e:?}");
    assert!(e.to_string().contains("ONNX Runtime cannot load it"), "{e}");
}

#[test]
fn a_model_that_does_not_match_its_manifest_says_how() {
    let models = cache_dir().join("models");
    let mut wrong_size = manifest_416();
    wrong_size.input.width = 320;
    wrong_size.input.height = 320;
    let e = LoadedModel::load(wrong_size, &models, None).err().unwrap();
    let text = causes(&e);
    assert!(matches!(e, DetectorError::ModelMismatch { .. }), "{text}");
    assert!(text.contains("[-1, 3, 416, 416]") && text.contains("[batch, 3, 320, 320]"), "{text}");

    let mut wrong_decoder = manifest_416();
    wrong_decoder.output.decoder = OutputDecoder::Yolov8;
    let text = causes(&LoadedModel::load(wrong_decoder, &models, None).err().unwrap());
    assert!(text.contains("does not fit decoder Yolov8 with 80 classes"), "{text}");

    let mut wrong_classes = manifest_416();
    wrong_classes.classes.pop();
    let text = causes(&LoadedModel::load(wrong_classes, &models, None).err().unwrap());
    assert!(text.contains("79 classes"), "{text}");

    let mut wrong_input = manifest_416();
    wrong_input.input.name = "input".into();
    let text = causes(&LoadedModel::load(wrong_input, &models, None).err().unwrap());
    assert!(text.contains("no input named `input`"), "{text}");
}

/// The error and its sources, as the binary prints them.
fn causes(e: &dyn std::error::Error) -> String {
    std::iter::successors(Some(e), |e| e.source()).map(ToString::to_string).collect::<Vec<_>>().join(": ")
}
