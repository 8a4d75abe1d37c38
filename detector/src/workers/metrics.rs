//! The detector's metrics. Names start with `streetwatch_detector_`.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};

use crate::engine::StageTimings;

pub fn describe() {
    describe_histogram!(
        "streetwatch_detector_inference_seconds",
        Unit::Seconds,
        "Time inside ONNX Runtime's Session::run, per batch."
    );
    describe_histogram!(
        "streetwatch_detector_preprocess_seconds",
        Unit::Seconds,
        "Letterbox, privacy masks and tensor conversion, per batch."
    );
    describe_histogram!(
        "streetwatch_detector_postprocess_seconds",
        Unit::Seconds,
        "Decoding, NMS and mapping boxes back, per batch."
    );
    describe_histogram!(
        "streetwatch_detector_queue_wait_seconds",
        Unit::Seconds,
        "From a frame leaving the decoder to an inference worker taking it."
    );
    describe_histogram!("streetwatch_detector_batch_size", "Frames analysed together in one Session::run.");
    describe_counter!("streetwatch_detector_frames_analysed_total", "Frames analysed, per camera.");
    describe_counter!("streetwatch_detector_detections_total", "Objects reported after NMS and filters, per camera.");
    describe_counter!(
        "streetwatch_detector_errors_total",
        "Frames that could not be analysed, per camera and stage (image, preprocess, inference, output)."
    );
    describe_gauge!("streetwatch_detector_workers", "Inference worker threads running.");
}

pub(crate) fn record_batch(timings: &StageTimings, batch: usize) {
    histogram!("streetwatch_detector_inference_seconds").record(timings.inference.as_secs_f64());
    histogram!("streetwatch_detector_preprocess_seconds").record(timings.preprocess.as_secs_f64());
    histogram!("streetwatch_detector_postprocess_seconds").record(timings.postprocess.as_secs_f64());
    histogram!("streetwatch_detector_batch_size").record(batch as f64);
}

pub(crate) fn record_frame(camera: &str, queue_wait: Duration, detections: usize) {
    histogram!("streetwatch_detector_queue_wait_seconds").record(queue_wait.as_secs_f64());
    counter!("streetwatch_detector_frames_analysed_total", "camera" => camera.to_string()).increment(1);
    counter!("streetwatch_detector_detections_total", "camera" => camera.to_string()).increment(detections as u64);
}

pub(crate) fn record_error(camera: &str, stage: &'static str) {
    counter!("streetwatch_detector_errors_total", "camera" => camera.to_string(), "stage" => stage).increment(1);
}

pub(crate) fn set_workers(n: usize) {
    gauge!("streetwatch_detector_workers").set(n as f64);
}
