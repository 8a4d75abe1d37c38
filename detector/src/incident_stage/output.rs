//! What leaves the incident stage, and what it is given per camera.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::stream_clock::StreamClock;
use crate::analysis::CameraAnalysis;
use crate::incidents::IncidentEvent;
use crate::preprocess::privacy_mask::PrivacyMask;

/// Where incident events go (the binary's publisher: wire format, router, clips,
/// object storage). Calls for one camera come in the order its analysis made them.
pub trait IncidentOutput: Send + Sync + 'static {
    /// What the output keeps per camera (how events name it, its routing group, its
    /// pre-roll for clips).
    type Camera: Send + Sync + 'static;

    /// One incident event. Called on the inference thread, under the camera's lock:
    /// this is where the pipeline blocks when the outbox's disk is slow, by design.
    fn publish(&self, camera: &Self::Camera, event: &IncidentEvent, evidence: &EventEvidence<'_>);

    /// The evidence worker has written a snapshot an event named (`relative` to the
    /// data directory; `path` on disk).
    fn snapshot_written(&self, _camera: &Self::Camera, _relative: &str, _path: &Path) {}

    /// After each analysed frame of the camera (its events already published): when
    /// it needs analysing next, in its stream time (the change gate's input).
    fn analysis_hint(&self, _camera: &Self::Camera, _hint: &StreamHint) {}

    /// How far the camera's stream has come, analysed or not (a replay's progress:
    /// with change gating the last analysed frame can be seconds behind the end).
    fn stream_position(&self, _camera: &Self::Camera) -> Option<Duration> {
        None
    }

    /// A frame drawn as the analysis saw it (`StageSettings::annotate`), in order.
    fn annotated_frame(&self, _camera: &Self::Camera, _frame: &AnnotatedFrame<'_>) {}
}

/// What an event has besides itself.
pub struct EventEvidence<'a> {
    /// The snapshot's path relative to the data directory, when one is being written
    /// (STARTED and UPDATED with the frame's pixels, unless the evidence queue was full).
    pub snapshot: Option<&'a str>,
    /// The analysed frame's size (1 x 1 without pixels).
    pub frame_width: u32,
    pub frame_height: u32,
}

/// [`crate::analysis::AnalysisHint`] in the camera's stream time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamHint {
    pub moving: bool,
    /// Analyse the first keyframe at or after this presentation time.
    pub due_pts: Option<Duration>,
}

pub struct AnnotatedFrame<'a> {
    pub width: u32,
    pub height: u32,
    pub bgr: &'a [u8],
    pub pts: Duration,
}

/// A camera as the stage analyses it.
pub struct CameraSetup<C> {
    pub id: Arc<str>,
    /// Where the camera is, for its log span (`camera{id, site}`).
    pub site: Option<Arc<str>>,
    pub analysis: CameraAnalysis,
    pub clock: StreamClock,
    /// Blanked on snapshots and thumbnails as on the model's input.
    pub masks: Vec<PrivacyMask>,
    pub utc_offset_minutes: i32,
    pub output: C,
}

/// What the console shows of a camera's picture.
pub struct CameraPicture {
    /// Wall-clock Unix ms of the newest analysed frame.
    pub last_frame_ms: Option<i64>,
    pub thumbnail: Option<Arc<Vec<u8>>>,
}
