//! Builds the components from the validated config and connects them. This is the
//! only place that knows about more than one of ingest, detector and router.

pub mod analysis;
pub mod camera_control;
pub mod camera_set;
pub mod camera_status_out;
pub mod cameras;
pub mod clips;
pub mod console;
pub mod console_sources;
pub mod detection;
#[cfg(feature = "s3")]
pub mod evidence_s3;
pub mod evidence_upload;
pub mod frame_drain;
pub mod incident_proto;
pub mod incident_publisher;
pub mod retention;
pub mod router;
