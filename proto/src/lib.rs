//! The versioned streetwatch event schema, generated from `streetwatch/v1/*.proto`.
//!
//! This crate depends on `prost` only, so a consumer (a police platform adapter, a test
//! harness) can take it without pulling in the rest of streetwatch.

/// Schema version 1. See `proto/README.md` for the evolution rules.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/streetwatch.v1.rs"));

    /// Fully-qualified message names, used as the schema header on the wire.
    pub const INCIDENT_MESSAGE_NAME: &str = "streetwatch.v1.Incident";
    pub const CAMERA_STATUS_MESSAGE_NAME: &str = "streetwatch.v1.CameraStatus";
}

pub mod names;

pub use prost::Message;
