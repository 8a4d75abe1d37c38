//! The incident stage's telemetry as events: each says what happened once, and
//! `emit` records it in the log and the metrics together (the pattern of Vector's
//! internal events), so the counters cannot drift from the log lines. They are
//! emitted inside the camera's span, which names the camera in the log.

use metrics::{counter, gauge};

use crate::incidents::IncidentEvent;

/// A frame went through the camera's analysis.
pub(crate) struct FrameAnalysed<'a> {
    pub camera: &'a str,
    pub sequence: u64,
    pub objects: usize,
    pub tracked: usize,
    pub open_incidents: usize,
    pub inference_ms: f64,
    pub queue_wait_ms: f64,
}

impl FrameAnalysed<'_> {
    pub fn emit(&self) {
        gauge!("streetwatch_incidents_open", "camera" => self.camera.to_string()).set(self.open_incidents as f64);
        gauge!("streetwatch_tracked_objects", "camera" => self.camera.to_string()).set(self.tracked as f64);
        tracing::debug!(
            sequence = self.sequence,
            objects = self.objects,
            tracked = self.tracked,
            open_incidents = self.open_incidents,
            inference_ms = self.inference_ms,
            queue_wait_ms = self.queue_wait_ms,
            "frame analysed"
        );
    }
}

/// The evidence queue was full: these snapshots (and the thumbnail) are not made.
pub(crate) struct EvidenceDropped<'a> {
    pub camera: &'a str,
    pub snapshots: &'a [(IncidentEvent, String)],
    pub thumbnail: bool,
}

impl EvidenceDropped<'_> {
    pub fn emit(&self) {
        if !self.snapshots.is_empty() {
            counter!("streetwatch_evidence_dropped_total", "camera" => self.camera.to_string(), "what" => "snapshot")
                .increment(self.snapshots.len() as u64);
            let incidents: Vec<&str> = self.snapshots.iter().map(|(e, _)| e.id.as_str()).collect();
            tracing::warn!(?incidents, "evidence queue full: these events go out without a snapshot");
        }
        if self.thumbnail {
            counter!("streetwatch_evidence_dropped_total", "camera" => self.camera.to_string(), "what" => "thumbnail")
                .increment(1);
        }
    }
}

/// A snapshot could not be drawn or written.
pub(crate) struct SnapshotFailed<'a> {
    pub camera: &'a str,
    pub incident: &'a str,
    pub relative: &'a str,
    pub error: &'a (dyn std::error::Error + 'static),
}

impl SnapshotFailed<'_> {
    pub fn emit(&self) {
        counter!("streetwatch_incident_write_errors_total", "camera" => self.camera.to_string()).increment(1);
        tracing::error!(incident = self.incident, error = self.error, "cannot write the snapshot {}", self.relative);
    }
}
