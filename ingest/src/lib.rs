//! Camera ingest for streetwatch.
//!
//! This crate is the only one that talks to GStreamer. It turns camera URLs into
//! frames for the detector, supervises each camera so that a bad one is retried and
//! never disturbs the others, and keeps a short pre-roll of encoded video per camera
//! for evidence clips. `testing` holds the RTSP test cameras used by tests and
//! benchmarks.

pub mod camera_url;
pub mod change_gate;
pub mod clip;
mod error;
pub mod failure;
pub mod frame;
pub mod gate;
pub mod keyframe_decoder;
pub mod media;
pub mod metrics;
pub mod nal;
pub mod pipeline;
mod pipeline_parts;
pub mod preroll;
mod rbsp;
pub mod settings;
pub mod slice_qp;
pub mod status;
pub mod supervisor;
#[cfg(feature = "testing")]
pub mod testing;
pub mod video_writer;

pub use camera_url::{redact_credentials, CameraUrl, CameraUrlError, Credentials, SourceKind};
pub use change_gate::{AnalysisWanted, ChangeGateSettings};
pub use error::MediaError;
pub use failure::{FailureKind, SourceFailure};
pub use frame::{Doorbell, Frame, FrameSlot, Pixels};
pub use settings::{CameraSettings, DecodeMode, Pacing, RetryPolicy, RtspTransport};
pub use status::{CameraState, StatusEvent};
pub use supervisor::{CameraHandle, CameraWorker};

/// Initialises GStreamer once per process; later calls are cheap.
pub fn init() -> Result<(), MediaError> {
    gstreamer::init().map_err(MediaError::Init)
}
