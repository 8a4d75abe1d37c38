//! Ingest metrics. Camera id is the only per-object label (never a track or incident).

use metrics::{counter, describe_counter, describe_gauge, gauge};

use crate::change_gate::Verdict;
use crate::gate::DropReason;
use crate::status::{state_name, CameraState, ALL_STATES};

pub fn describe() {
    describe_counter!("streetwatch_ingest_frames_total", "Frames delivered to analysis, per camera.");
    describe_counter!(
        "streetwatch_ingest_frames_dropped_total",
        "Frames not delivered, per camera and reason (not_keyframe, before_keyframe, sampling, superseded, detector_busy, still_scene)."
    );
    describe_counter!(
        "streetwatch_ingest_keyframes_gated_total",
        "Keyframes the change gate decided on, per camera and verdict (first, moving, due, change, floor: analysed; still: skipped)."
    );
    describe_gauge!(
        "streetwatch_ingest_scene_change_ratio",
        "The change gate's last signal over the camera's still-scene baseline (1 = still)."
    );
    describe_counter!("streetwatch_ingest_restarts_total", "Pipeline restarts after a failure, per camera.");
    describe_counter!(
        "streetwatch_ingest_failures_total",
        "Pipeline failures per camera and kind (unauthorized, not_found, unreachable, stalled, ...)."
    );
    describe_counter!("streetwatch_ingest_encoded_bytes_total", "Encoded video bytes received, per camera.");
    describe_gauge!("streetwatch_ingest_camera_state", "1 for the camera's current state, 0 for the others.");
    describe_gauge!("streetwatch_ingest_fps", "Frames per second delivered to analysis, recently.");
    describe_gauge!("streetwatch_ingest_preroll_bytes", "Encoded bytes held for evidence pre-roll.");
}

pub fn frame_delivered(camera: &str) {
    counter!("streetwatch_ingest_frames_total", "camera" => camera.to_string()).increment(1);
}

pub fn frame_dropped(camera: &str, reason: DropReason) {
    counter!("streetwatch_ingest_frames_dropped_total", "camera" => camera.to_string(), "reason" => reason.as_str())
        .increment(1);
}

pub fn encoded_bytes(camera: &str, bytes: usize) {
    counter!("streetwatch_ingest_encoded_bytes_total", "camera" => camera.to_string()).increment(bytes as u64);
}

pub fn restarted(camera: &str, failure_kind: &'static str) {
    counter!("streetwatch_ingest_restarts_total", "camera" => camera.to_string()).increment(1);
    counter!("streetwatch_ingest_failures_total", "camera" => camera.to_string(), "kind" => failure_kind).increment(1);
}

pub fn state(camera: &str, current: CameraState) {
    for s in ALL_STATES {
        let v = if s == current { 1.0 } else { 0.0 };
        gauge!("streetwatch_ingest_camera_state", "camera" => camera.to_string(), "state" => state_name(s)).set(v);
    }
}

pub fn fps(camera: &str, fps: f64) {
    gauge!("streetwatch_ingest_fps", "camera" => camera.to_string()).set(fps);
}

pub fn preroll_bytes(camera: &str, bytes: usize) {
    gauge!("streetwatch_ingest_preroll_bytes", "camera" => camera.to_string()).set(bytes as f64);
}

pub fn keyframe_gated(camera: &str, verdict: Verdict, ratio: Option<f64>) {
    counter!("streetwatch_ingest_keyframes_gated_total", "camera" => camera.to_string(), "verdict" => verdict.as_str())
        .increment(1);
    if let Some(ratio) = ratio {
        gauge!("streetwatch_ingest_scene_change_ratio", "camera" => camera.to_string()).set(ratio);
    }
}
