//! Detection for streetwatch.
//!
//! This crate is the only one that talks to ONNX Runtime (through `ort`) and OpenCV.
//! Today it holds the model manifest, the ONNX Runtime loader and the model checks
//! that `streetwatch validate` runs; inference, tracking and rules follow.

pub mod error;
pub mod geometry;
pub mod model;
pub mod runtime;

pub use error::DetectorError;
pub use model::manifest::{ColorOrder, ModelManifest, OutputDecoder};
pub use model::verify::{check_model_io, verify_model_file, VerifiedModel};
pub use runtime::{onnxruntime, resolve_library_path, OnnxRuntime};
