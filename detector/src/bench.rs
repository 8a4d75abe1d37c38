//! Measurement harness for `streetwatch-bench bench-detector` and the criterion benches.
//!
//! Three measurements on one model and one frame:
//! - the per-frame breakdown of one engine (preprocess / `Session::run` / postprocess)
//!   and the pipeline's overhead around `Session::run`;
//! - ONNX Runtime's own throughput: sessions looping `Session::run` on a ready tensor,
//!   nothing else, one OS thread per session;
//! - the pipeline's throughput: the inference worker pool, fed through a memory feed
//!   whose slots are refilled as soon as a result is delivered, so workers never wait.
//!
//! Callers alternate the last two in rounds, so their ratio is fair on a noisy machine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ort::value::TensorRef;

use crate::engine::{DetectError, Engine, EngineInput, StageTimings};
use crate::image::{ImageError, ImageRef};
use crate::model::loaded::LoadedModel;
use crate::postprocess::PostprocessSettings;
use crate::preprocess::prepare::{PreprocessError, Preprocessor};
use crate::session::{open_session, SessionOptions};
use crate::workers::memory_feed::{MemoryFeed, StillFrame};
use crate::workers::pool::{AnalysedFrame, DetectionSink, InferencePool, PoolSettings};
use crate::DetectorError;

/// Medians over the measured frames, in seconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Breakdown {
    pub preprocess: f64,
    pub inference: f64,
    pub postprocess: f64,
    /// Wall time of the whole `Engine::detect` call.
    pub total: f64,
    /// `(total - inference) / inference`.
    pub overhead_ratio: f64,
    pub frames: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

/// Why a measurement could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Detector(#[from] DetectorError),
    #[error("detection")]
    Detect(#[from] DetectError),
    #[error("the still frame")]
    Image(#[from] ImageError),
    #[error("preparing the input tensor")]
    Preprocess(#[from] PreprocessError),
    #[error("ONNX Runtime")]
    Ort(#[from] ort::Error),
    #[error("a benchmark thread panicked")]
    Panicked,
    #[error("image {path}")]
    Still { path: PathBuf, source: opencv::Error },
    #[error("image {path}: cannot be read as an image")]
    Unreadable { path: PathBuf },
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the Python cross-check handles square inputs only")]
    NotSquare,
    #[error("{python}: no result; its errors: {stderr}")]
    Python { python: PathBuf, stderr: String },
}

/// Runs one engine on `frame` sequentially for `duration` (after `warmup` frames).
pub fn breakdown(
    model: &LoadedModel,
    session: &SessionOptions,
    post: &PostprocessSettings,
    frame: &StillFrame,
    duration: Duration,
) -> Result<Breakdown, BenchError> {
    let (mut engine, _) = Engine::open(model, session, post.clone(), 1)?;
    let image = still_image(frame)?;
    let input = [EngineInput { image, masks: &[] }];
    for _ in 0..3 {
        engine.detect(&input)?;
    }
    let (mut pre, mut inf, mut postp, mut total) = (vec![], vec![], vec![], vec![]);
    let end = Instant::now() + duration;
    while Instant::now() < end || total.len() < 5 {
        let started = Instant::now();
        let (_, t): (_, StageTimings) = engine.detect(&input)?;
        total.push(started.elapsed().as_secs_f64());
        pre.push(t.preprocess.as_secs_f64());
        inf.push(t.inference.as_secs_f64());
        postp.push(t.postprocess.as_secs_f64());
    }
    let frames = total.len();
    let (total, inference) = (median(total), median(inf));
    Ok(Breakdown {
        preprocess: median(pre),
        inference,
        postprocess: median(postp),
        total,
        overhead_ratio: (total - inference) / inference,
        frames,
    })
}

fn still_image(frame: &StillFrame) -> Result<ImageRef<'_>, ImageError> {
    ImageRef::bgr(frame.width, frame.height, frame.width as usize * 3, &frame.pixels)
}

/// ONNX Runtime alone: `threads` sessions (each `intra_op_threads`), each on its own
/// thread looping `Session::run` on the same prepared tensor. Frames per second.
pub fn ort_own_throughput(
    model: &LoadedModel,
    threads: usize,
    intra_op_threads: usize,
    frame: &StillFrame,
    duration: Duration,
) -> Result<f64, BenchError> {
    let manifest = &model.manifest;
    let mut pre = Preprocessor::new(&manifest.input)?;
    let mut tensor = vec![0f32; pre.tensor_len()];
    pre.prepare(still_image(frame)?, &[], &mut tensor)?;
    let tensor = Arc::new(tensor);
    let shape = [1i64, 3, i64::from(manifest.input.height), i64::from(manifest.input.width)];
    let options = SessionOptions { intra_op_threads, ..SessionOptions::default() };
    let mut sessions = Vec::new();
    for _ in 0..threads {
        sessions.push(open_session(&model.runtime, &model.path, &options)?.0.session);
    }
    let runs = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(threads + 1));
    let input_name = manifest.input.name.clone();
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|mut session| {
            let (tensor, runs, stop, start, name) =
                (Arc::clone(&tensor), Arc::clone(&runs), Arc::clone(&stop), Arc::clone(&start), input_name.clone());
            std::thread::spawn(move || -> Result<(), ort::Error> {
                let run_once = |session: &mut ort::session::Session| -> Result<(), ort::Error> {
                    let t = TensorRef::from_array_view((shape, &tensor[..]))?;
                    session.run(ort::inputs![name.as_str() => t]).map(drop)
                };
                run_once(&mut session)?; // warm-up, outside the window
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    run_once(&mut session)?;
                    runs.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    std::thread::sleep(duration);
    let counted = runs.load(Ordering::Relaxed);
    let elapsed = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().map_err(|_| BenchError::Panicked)??;
    }
    Ok(counted as f64 / elapsed)
}

/// Refills a camera's slot as soon as its result is delivered, and counts results.
struct RefillingSink {
    feed: Arc<MemoryFeed>,
    frame: StillFrame,
    delivered: AtomicU64,
}

impl DetectionSink<StillFrame> for RefillingSink {
    fn deliver(&self, analysed: AnalysedFrame<StillFrame>) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.feed.put(analysed.camera, self.frame.clone());
    }
}

/// The whole pipeline: `settings.workers` inference threads fed by `cameras` always-full
/// slots. Frames per second delivered to the sink.
pub fn pipeline_throughput(
    model: &LoadedModel,
    settings: PoolSettings,
    cameras: usize,
    frame: &StillFrame,
    duration: Duration,
) -> Result<f64, BenchError> {
    let feed = Arc::new(MemoryFeed::new(cameras));
    let sink = Arc::new(RefillingSink { feed: Arc::clone(&feed), frame: frame.clone(), delivered: AtomicU64::new(0) });
    let workers = settings.workers;
    let pool = InferencePool::start(model, Arc::clone(&feed), Arc::clone(&sink), settings)?;
    for camera in 0..cameras {
        feed.put(camera, frame.clone());
    }
    // Warm-up: every worker has delivered something before the window opens.
    let warm_deadline = Instant::now() + Duration::from_secs(30);
    while sink.delivered.load(Ordering::Relaxed) < (2 * workers) as u64 && Instant::now() < warm_deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = sink.delivered.load(Ordering::Relaxed);
    let began = Instant::now();
    std::thread::sleep(duration);
    let counted = sink.delivered.load(Ordering::Relaxed) - before;
    let elapsed = began.elapsed().as_secs_f64();
    pool.stop();
    Ok(counted as f64 / elapsed)
}

/// Loads an image file as a BGR still, resized to `width x height` (a camera's frame
/// size) when given.
pub fn load_still(path: &Path, size: Option<(u32, u32)>) -> Result<StillFrame, BenchError> {
    use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Size};
    let err = |source| BenchError::Still { path: path.to_path_buf(), source };
    let mut mat = opencv::imgcodecs::imread(path, opencv::imgcodecs::IMREAD_COLOR).map_err(err)?;
    if mat.empty() {
        return Err(BenchError::Unreadable { path: path.to_path_buf() });
    }
    if let Some((w, h)) = size {
        let mut resized = Mat::default();
        opencv::imgproc::resize(
            &mat,
            &mut resized,
            Size::new(w as i32, h as i32),
            0.0,
            0.0,
            opencv::imgproc::INTER_LINEAR,
        )
        .map_err(err)?;
        mat = resized;
    }
    let bytes = mat.data_bytes().map_err(err)?.to_vec();
    Ok(StillFrame::new(mat.cols() as u32, mat.rows() as u32, Arc::new(bytes), 0))
}

/// The same measurement as [`ort_own_throughput`], through ONNX Runtime's Python API
/// (`python` must have `onnxruntime` and `numpy`: the setup venv has them), on the
/// same prepared tensor. A cross-check that the Rust binding adds nothing.
pub fn python_ort_throughput(
    python: &Path,
    model: &LoadedModel,
    threads: usize,
    intra_op_threads: usize,
    frame: &StillFrame,
    duration: Duration,
) -> Result<f64, BenchError> {
    let manifest = &model.manifest;
    if manifest.input.width != manifest.input.height {
        return Err(BenchError::NotSquare);
    }
    let mut pre = Preprocessor::new(&manifest.input)?;
    let mut tensor = vec![0f32; pre.tensor_len()];
    pre.prepare(still_image(frame)?, &[], &mut tensor)?;
    let path = std::env::temp_dir().join(format!("streetwatch-bench-{}.f32", std::process::id()));
    let bytes: Vec<u8> = tensor.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|source| BenchError::Io { path: path.clone(), source })?;
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(include_str!("bench_ort_python.py"))
        .arg(&model.path)
        .arg(&manifest.input.name)
        .arg(&path)
        .arg(manifest.input.width.to_string())
        .arg(threads.to_string())
        .arg(intra_op_threads.to_string())
        .arg(duration.as_secs_f64().to_string())
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.map_err(|source| BenchError::Io { path: python.to_path_buf(), source })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().find_map(|l| l.strip_prefix("fps ")?.trim().parse().ok()).ok_or_else(|| BenchError::Python {
        python: python.to_path_buf(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}
