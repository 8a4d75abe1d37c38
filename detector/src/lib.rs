//! Detection for streetwatch.
//!
//! This crate is the only one that talks to ONNX Runtime (through `ort`) and OpenCV.
//! Frames come in through the [`workers::feed::FrameFeed`] trait (the binary wires
//! ingest's slots to it), go through letterbox and privacy masks ([`preprocess`]),
//! one `Session::run` per batch ([`engine`]), decoding and NMS ([`postprocess`]), and
//! leave as [`Detection`]s through a [`workers::pool::DetectionSink`]. The
//! [`incident_stage`] is that sink in the pipeline: each camera's analysis, evidence
//! rendered on a worker of its own, incident events out through an
//! [`incident_stage::IncidentOutput`].

pub mod analysis;
pub mod bench;
pub mod detection;
pub mod engine;
pub mod error;
pub mod evidence;
pub mod geometry;
pub mod image;
pub mod incident_stage;
pub mod incidents;
pub mod model;
pub mod postprocess;
pub mod preprocess;
pub mod rules;
pub mod runtime;
pub mod session;
pub mod timestamp;
pub mod tracking;
pub mod workers;
pub mod zones;

pub use detection::Detection;
pub use error::DetectorError;
pub use model::loaded::LoadedModel;
pub use model::manifest::{ColorOrder, ModelManifest, OutputDecoder};
pub use model::verify::{check_model_io, verify_model_file, VerifiedModel};
pub use runtime::{onnxruntime, resolve_library_path, OnnxRuntime};
