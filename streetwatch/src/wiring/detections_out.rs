//! Where analysed frames go until the tracker and rules (issue 5) take them: a
//! per-class count and a debug log line per frame. Frames are released here.

use metrics::{counter, describe_counter};

use super::detection::IngestFrame;
use detector::workers::pool::{AnalysedFrame, DetectionSink};

pub struct DetectionLog;

pub fn describe_metrics() {
    describe_counter!("streetwatch_objects_detected_total", "Objects detected in analysed frames, per class.");
}

impl DetectionSink<IngestFrame> for DetectionLog {
    fn deliver(&self, analysed: AnalysedFrame<IngestFrame>) {
        for d in &analysed.detections {
            counter!("streetwatch_objects_detected_total", "class" => d.label.to_string()).increment(1);
        }
        tracing::debug!(
            camera = %analysed.camera_id,
            sequence = analysed.frame.0.sequence,
            objects = analysed.detections.len(),
            inference_ms = analysed.timings.inference.as_secs_f64() * 1e3,
            queue_wait_ms = analysed.queue_wait.as_secs_f64() * 1e3,
            "frame analysed"
        );
    }
}
