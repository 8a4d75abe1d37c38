//! `streetwatch-bench bench-ingest`: CPU and memory per camera, keyframes vs all.
//!
//! N RTSP test cameras (a 1080p25 loop of real footage, never re-encoded) are served
//! by a *child* process, so the measurement counts only what ingest costs. For each
//! decode mode the same N cameras run in this process for a fixed time; CPU is the
//! process's user+system time over that window (from /proc), memory the growth of
//! resident memory per camera once the pre-roll is full. Both modes run in one
//! invocation, so their ratio is fair on a noisy machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::{CameraSettings, CameraState, CameraUrl, CameraWorker, DecodeMode, Doorbell};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::bench_support::{cpu_seconds, rss_bytes, TestCameraProcess};
use crate::cli::BenchIngestArgs;
use streetwatch::exit_code;
use streetwatch::wiring::frame_drain::FrameDrain;

#[derive(Debug, Serialize)]
pub struct ModeResult {
    pub mode: String,
    pub cameras: usize,
    pub seconds: f64,
    pub cpu_seconds: f64,
    /// Percent of one core per camera.
    pub cpu_percent_per_camera: f64,
    pub frames_per_camera_per_second: f64,
    pub rss_growth_per_camera_mb: f64,
    pub server_cpu_percent_per_camera: f64,
}

async fn run_mode(args: &BenchIngestArgs, server: &TestCameraProcess, mode: DecodeMode) -> Result<ModeResult, String> {
    let shutdown = CancellationToken::new();
    let doorbell = Arc::new(Doorbell::default());
    let (events, _) = broadcast::channel(64);
    let rss_before = rss_bytes("self").unwrap_or(0);
    let mut handles = Vec::new();
    let mut tasks = Vec::new();
    for (i, url) in server.urls.iter().enumerate() {
        let mut s = CameraSettings::new(format!("bench-{i}"), CameraUrl::parse(url).map_err(|e| e.to_string())?);
        s.decode = mode;
        s.preroll = Duration::from_secs(10);
        let (worker, handle) = CameraWorker::new(s, Arc::clone(&doorbell), events.clone());
        tasks.push(tokio::spawn(worker.run(shutdown.clone())));
        handles.push(handle);
    }
    let drain = FrameDrain::start(handles.clone(), Arc::clone(&doorbell)).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    for h in &handles {
        let mut rx = h.status.clone();
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, rx.wait_for(|s| s.state == CameraState::Streaming)).await.is_err() {
            return Err(format!("camera {} did not start streaming", h.id));
        }
    }
    // Warm-up fills the pre-roll (10 s) before memory is read.
    tokio::time::sleep(Duration::from_secs(args.warmup_secs)).await;
    let server_pid = server.child.id().to_string();
    let (cpu0, srv0, t0) =
        (cpu_seconds("self").unwrap_or(0.0), cpu_seconds(&server_pid).unwrap_or(0.0), Instant::now());
    let frames0: u64 = handles.iter().map(|h| h.slot.doorbell().count()).max().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    let (cpu1, srv1, elapsed) =
        (cpu_seconds("self").unwrap_or(0.0), cpu_seconds(&server_pid).unwrap_or(0.0), t0.elapsed());
    let frames1: u64 = handles.iter().map(|h| h.slot.doorbell().count()).max().unwrap_or(0);
    let rss_after = rss_bytes("self").unwrap_or(0);
    shutdown.cancel();
    for t in tasks {
        let _ = t.await;
    }
    drop(drain);
    let n = handles.len() as f64;
    let secs = elapsed.as_secs_f64();
    Ok(ModeResult {
        mode: format!("{mode:?}").to_lowercase(),
        cameras: handles.len(),
        seconds: secs,
        cpu_seconds: cpu1 - cpu0,
        cpu_percent_per_camera: 100.0 * (cpu1 - cpu0) / secs / n,
        // The doorbell is shared: it rings once per frame of any camera.
        frames_per_camera_per_second: (frames1 - frames0) as f64 / secs / n,
        rss_growth_per_camera_mb: rss_after.saturating_sub(rss_before) as f64 / n / 1e6,
        server_cpu_percent_per_camera: 100.0 * (srv1 - srv0) / secs / n,
    })
}

pub async fn bench_ingest(args: &BenchIngestArgs) -> i32 {
    if let Err(e) = ingest::init() {
        eprintln!("bench-ingest: {:#}", anyhow::Error::new(e));
        return exit_code::RUNTIME_FAILURE;
    }
    if !args.footage.is_file() {
        eprintln!("bench-ingest: footage {} not found (run deploy/setup.sh)", args.footage.display());
        return exit_code::USAGE;
    }
    let server = match TestCameraProcess::start(args.cameras, &args.footage, args.fps) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench-ingest: {e:#}");
            return exit_code::RUNTIME_FAILURE;
        }
    };
    let mut modes = Vec::new();
    for m in &args.modes {
        match m.as_str() {
            "keyframes" => modes.push(DecodeMode::Keyframes),
            "sampled" => modes.push(DecodeMode::Sampled),
            "all" => modes.push(DecodeMode::All),
            other => {
                eprintln!("bench-ingest: --modes: unknown mode `{other}` (keyframes, sampled, all)");
                return exit_code::USAGE;
            }
        }
    }
    let mut results = Vec::new();
    for mode in modes {
        eprintln!("bench-ingest: {} cameras, {mode:?} mode, {} s ...", args.cameras, args.secs);
        match run_mode(args, &server, mode).await {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("bench-ingest: {e}");
                return exit_code::RUNTIME_FAILURE;
            }
        }
    }
    println!("| mode | cameras | CPU % of one core per camera | frames/s per camera | RSS growth per camera (MB) | test server CPU % per camera |");
    println!("|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.1} | {:.2} |",
            r.mode,
            r.cameras,
            r.cpu_percent_per_camera,
            r.frames_per_camera_per_second,
            r.rss_growth_per_camera_mb,
            r.server_cpu_percent_per_camera
        );
    }
    let cpu_of = |mode: &str| results.iter().find(|r| r.mode == mode).map(|r| r.cpu_percent_per_camera);
    let ratio = match (cpu_of("keyframes"), cpu_of("all")) {
        (Some(k), Some(a)) => {
            let ratio = k / a.max(1e-9);
            println!("\nkeyframes / all CPU ratio: {ratio:.3} (target <= 0.2)");
            Some(ratio)
        }
        _ => None,
    };
    if let Some(path) = &args.json {
        let doc = serde_json::json!({ "footage": args.footage, "fps": args.fps, "results": results, "keyframes_over_all_cpu": ratio });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default()) {
            eprintln!("bench-ingest: cannot write {}: {e}", path.display());
            return exit_code::RUNTIME_FAILURE;
        }
    }
    exit_code::OK
}
