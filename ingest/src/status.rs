//! Camera health as it changes: the `CameraStatus` vocabulary of the event schema.

use std::sync::Arc;
use std::time::SystemTime;

pub use proto::v1::CameraState;

/// Sent whenever a camera's state changes.
#[derive(Debug, Clone)]
pub struct StatusEvent {
    pub camera_id: Arc<str>,
    pub state: CameraState,
    pub since: SystemTime,
    /// Redacted; None when the camera is healthy.
    pub last_error: Option<String>,
    /// Frames per second delivered, recently.
    pub fps: f32,
}

/// Lower-case state name, for logs and metric labels.
pub fn state_name(state: CameraState) -> &'static str {
    proto::names::camera_state_name(state as i32)
}

pub const ALL_STATES: [CameraState; 7] = [
    CameraState::Connecting,
    CameraState::Streaming,
    CameraState::Stalled,
    CameraState::Backoff,
    CameraState::AuthFailed,
    CameraState::Stopped,
    CameraState::Failed,
];
