//! Camera ingest for streetwatch.
//!
//! This crate is the only one that talks to GStreamer. It turns camera URLs into
//! frames for the detector and keeps a short pre-roll of encoded video per camera.

pub mod camera_url;

pub use camera_url::{redact_credentials, CameraUrl, CameraUrlError, Credentials, SourceKind};
