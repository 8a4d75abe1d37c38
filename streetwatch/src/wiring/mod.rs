//! Builds the components from the validated config and connects them. This is the
//! only place that knows about more than one of ingest, detector and router.

pub mod cameras;
pub mod detection;
pub mod detections_out;
pub mod frame_drain;
