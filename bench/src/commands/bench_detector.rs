//! `streetwatch-bench bench-detector`: where a frame's time goes, and the pipeline's
//! throughput against ONNX Runtime's own on the same model, in one run.
//!
//! For each model: the per-frame breakdown of one engine (1 intra-op thread), then
//! `--rounds` rounds alternating ONNX Runtime alone (sessions looping `Session::run`
//! on a ready tensor) and the full pipeline (inference workers, scheduler, letterbox,
//! decoding, NMS, sink), both with the same threads. Medians over rounds.

use std::time::Duration;

use detector::bench::{
    breakdown, load_still, ort_own_throughput, pipeline_throughput, python_ort_throughput, Breakdown,
};
use detector::postprocess::decode::ScoreThresholds;
use detector::postprocess::PostprocessSettings;
use detector::session::SessionOptions;
use detector::workers::pool::PoolSettings;
use detector::{LoadedModel, ModelManifest};
use serde::Serialize;

use crate::cli::BenchDetectorArgs;
use streetwatch::exit_code;

#[derive(Serialize)]
struct ThroughputRow {
    arrangement: String,
    ort_own_fps: f64,
    /// The same loop through ONNX Runtime's Python API, when a Python was given.
    ort_python_fps: Option<f64>,
    pipeline_fps: f64,
    /// Pipeline over the best of ONNX Runtime alone (Rust loop or Python).
    ratio: f64,
}

#[derive(Serialize)]
struct ModelResult {
    model: String,
    input: u32,
    breakdown: Breakdown,
    throughput: Vec<ThroughputRow>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn postprocess(manifest: &ModelManifest) -> PostprocessSettings {
    PostprocessSettings {
        thresholds: ScoreThresholds::uniform(manifest.classes.len(), 0.3),
        nms_iou: 0.45,
        max_detections: 100,
        min_box_size_px: 4.0,
        max_box_fraction: 0.95,
    }
}

pub fn bench_detector(args: BenchDetectorArgs) -> i32 {
    match run(&args) {
        Ok(()) => exit_code::OK,
        Err(e) => {
            eprintln!("bench-detector: {e}");
            exit_code::RUNTIME_FAILURE
        }
    }
}

fn run(args: &BenchDetectorArgs) -> anyhow::Result<()> {
    let frame = load_still(&args.image, Some((args.frame_width, args.frame_height)))?;
    let secs = Duration::from_secs_f64(args.secs);
    println!(
        "frame: {} scaled to {}x{}; {} s per measurement, {} rounds",
        args.image.display(),
        frame.width,
        frame.height,
        args.secs,
        args.rounds
    );
    let python_exe = args.python.clone().filter(|_| !args.no_python).filter(|p| {
        let found = p.is_file();
        if !found {
            println!("{}: not found, skipping the ONNX Runtime Python API cross-check", p.display());
        }
        found
    });
    let mut results = Vec::new();
    for manifest_path in &args.manifests {
        let model = LoadedModel::from_manifest_file(manifest_path, &args.model_dir, None)?;
        let manifest = &model.manifest;
        let post = postprocess(manifest);
        let one_thread = SessionOptions { intra_op_threads: 1, ..SessionOptions::default() };
        let b = breakdown(&model, &one_thread, &post, &frame, secs)?;
        println!(
            "{} ({}x{}), 1 thread, per frame: preprocess {:.2} ms, inference {:.2} ms, postprocess {:.2} ms, \
             total {:.2} ms; overhead around Session::run {:.2} % ({} frames)",
            manifest.file,
            manifest.input.width,
            manifest.input.height,
            b.preprocess * 1e3,
            b.inference * 1e3,
            b.postprocess * 1e3,
            b.total * 1e3,
            b.overhead_ratio * 100.0,
            b.frames
        );
        let mut rows = Vec::new();
        // The same two CPU threads, arranged the two usual ways.
        for (workers, intra) in [(args.threads, 1usize), (1usize, args.threads)] {
            let (mut ort, mut python, mut ours) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..args.rounds {
                ort.push(ort_own_throughput(&model, workers, intra, &frame, secs)?);
                if let Some(py) = &python_exe {
                    python.push(python_ort_throughput(py, &model, workers, intra, &frame, secs)?);
                }
                let settings = PoolSettings {
                    workers,
                    session: SessionOptions { intra_op_threads: intra, ..SessionOptions::default() },
                    postprocess: post.clone(),
                    max_batch: 1,
                };
                ours.push(pipeline_throughput(&model, settings, 2 * workers + 2, &frame, secs)?);
            }
            let ort_own_fps = median(ort);
            let ort_python_fps = (!python.is_empty()).then(|| median(python));
            let pipeline_fps = median(ours);
            let best_ort = ort_python_fps.map_or(ort_own_fps, |p| p.max(ort_own_fps));
            let row = ThroughputRow {
                arrangement: format!("{workers} session(s) x {intra} intra-op thread(s)"),
                ort_own_fps,
                ort_python_fps,
                pipeline_fps,
                ratio: pipeline_fps / best_ort,
            };
            println!(
                "  {}: ONNX Runtime alone {:.2} fps (Python API {}), pipeline {:.2} fps, ratio to the best {:.3}",
                row.arrangement,
                row.ort_own_fps,
                row.ort_python_fps.map_or("not measured".to_string(), |p| format!("{p:.2} fps")),
                row.pipeline_fps,
                row.ratio
            );
            rows.push(row);
        }
        results.push(ModelResult {
            model: manifest.file.clone(),
            input: manifest.input.width,
            breakdown: b,
            throughput: rows,
        });
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
        println!("results written to {}", path.display());
    }
    Ok(())
}
