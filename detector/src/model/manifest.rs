//! Model manifests: `models/<name>.toml`.
//!
//! A manifest says everything the pipeline needs to feed a model and read its output,
//! so that a newer model is a manifest change, not a code change.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ManifestError;
use crate::DetectorError;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    pub name: String,
    pub version: String,
    /// File name of the ONNX model inside the model cache directory.
    pub file: String,
    /// Lower-case hex sha256 of the ONNX file.
    pub sha256: String,
    /// Where the weights come from and under which terms.
    pub license: String,
    #[serde(default)]
    pub source: String,
    pub input: ModelInput,
    pub output: ModelOutput,
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelInput {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub color_order: ColorOrder,
    /// Pixel values are multiplied by `scale`, then `(v - mean[c]) / std[c]`.
    pub scale: f32,
    #[serde(default = "zero3")]
    pub mean: [f32; 3],
    #[serde(default = "one3")]
    pub std: [f32; 3],
    /// Grey level (0-255) of the letterbox padding.
    pub pad_value: u8,
    /// Whether the batch dimension is dynamic, so frames of several cameras can share one run.
    #[serde(default)]
    pub dynamic_batch: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColorOrder {
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelOutput {
    pub name: String,
    pub decoder: OutputDecoder,
}

/// How to read the output tensor.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutputDecoder {
    /// `[batch, boxes, 5 + classes]`: cx, cy, w, h in input pixels, objectness and
    /// per-class probabilities, already decoded in the graph (our converted Darknet models).
    YoloDecoded,
    /// Raw YOLOv5 export: `[batch, boxes, 5 + classes]`, scores already sigmoid-ed.
    Yolov5,
    /// Raw YOLOv8 export: `[batch, 4 + classes, boxes]`, no objectness.
    Yolov8,
}

fn zero3() -> [f32; 3] {
    [0.0; 3]
}
fn one3() -> [f32; 3] {
    [1.0; 3]
}

impl ModelManifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Self, DetectorError> {
        let err = |source: ManifestError| DetectorError::Manifest { path: path.to_path_buf(), source };
        let text = std::fs::read_to_string(path).map_err(|e| err(ManifestError::Read(e)))?;
        let manifest: ModelManifest = toml::from_str(&text).map_err(|e| err(ManifestError::Parse(e)))?;
        manifest.check().map_err(err)?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), ManifestError> {
        let mut problems = Vec::new();
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            problems.push("sha256: must be 64 lower-case hex digits");
        }
        if self.input.width == 0 || self.input.height == 0 {
            problems.push("input: width and height must be positive");
        }
        if self.input.std.contains(&0.0) {
            problems.push("input.std: must not contain 0");
        }
        if self.classes.is_empty() {
            problems.push("classes: must not be empty");
        }
        if self.file.contains('/') || self.file.contains("..") {
            problems.push("file: must be a plain file name inside the model cache");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::Invalid(problems))
        }
    }

    /// Where the ONNX file lives for a given model cache directory.
    pub fn model_path(&self, model_dir: &Path) -> PathBuf {
        model_dir.join(&self.file)
    }

    /// Index of a class name, if the model has it.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    const GOOD: &str = r#"
name = "m"
version = "1"
file = "m.onnx"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
license = "test"
classes = ["person", "car"]
[input]
name = "images"
width = 416
height = 416
color_order = "rgb"
scale = 0.003921569
pad_value = 127
[output]
name = "detections"
decoder = "yolo_decoded"
"#;

    #[test]
    fn good_manifest_loads() {
        let m = ModelManifest::load(write(GOOD).path()).unwrap();
        assert_eq!(m.class_index("car"), Some(1));
        assert_eq!(m.input.std, [1.0; 3]);
        assert_eq!(m.output.decoder, OutputDecoder::YoloDecoded);
    }

    #[test]
    fn bad_manifest_names_file_and_problem() {
        let f = write(&GOOD.replace("0000000000000000000000000000000000000000000000000000000000000000", "abc"));
        let e = ModelManifest::load(f.path()).unwrap_err();
        assert!(e.to_string().contains(&f.path().display().to_string()), "{e}");
        let DetectorError::Manifest { source: ManifestError::Invalid(problems), .. } = &e else { panic!("{e:?}") };
        assert!(problems.iter().any(|p| p.contains("sha256: must be 64")), "{problems:?}");
        let f = write(&GOOD.replace("decoder = \"yolo_decoded\"", "decoder = \"ssd\""));
        let e = ModelManifest::load(f.path()).unwrap_err();
        let DetectorError::Manifest { source: ManifestError::Parse(why), .. } = &e else { panic!("{e:?}") };
        assert!(why.to_string().contains("unknown variant `ssd`"), "{why}");
    }
}
