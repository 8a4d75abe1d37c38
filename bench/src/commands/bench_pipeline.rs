//! `streetwatch-bench bench`: the whole pipeline, end to end, as deployed. For each decode
//! mode and camera count it starts N RTSP test cameras (a 1080p25 loop of real
//! footage, a keyframe every second, served by a child process without
//! re-encoding), a Kafka-protocol broker (tansu), and `streetwatch run` as a child
//! process with a generated config; after a warm-up it measures for a fixed time:
//! analysis fps per camera (from `run`'s own metrics), frames dropped beyond the
//! sampling policy (delivered by ingest, never analysed), CPU and RSS of `run` per
//! camera (from /proc), and frame → Kafka latency of incident events (the event's
//! frame time to when a consumer can read it; with `acks=all` that is after the
//! broker acknowledged it). `--sweep` finds, per mode, the largest N that holds
//! ≥ `--min-fps` per camera with p99 latency ≤ `--max-p99-ms`. The model alone is
//! measured in the same run, so the pipeline's efficiency shows as a ratio.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};
use proto::Message;
use router::kafka::local_broker::LocalBroker;
use router::kafka::tail::TopicTail;
use router::KafkaConnection;
use serde::Serialize;

use super::bench_support::{cpu_seconds, repo_path, rss_bytes, scrape, sum, RunProcess, TestCameraProcess};
use crate::cli::BenchArgs;
use streetwatch::exit_code;

const TOPIC: &str = "bench-incidents";
const FPS_TOLERANCE: f64 = 0.95;

/// CPU seconds (user + system) and resident bytes of a process.
fn cpu_and_rss(pid: u32) -> Option<(f64, u64)> {
    let pid = pid.to_string();
    Some((cpu_seconds(&pid)?, rss_bytes(&pid)?))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub mode: String,
    pub cameras: usize,
    pub seconds: f64,
    /// Analysed frames per second per camera: mean, and the slowest camera.
    pub analysis_fps_mean: f64,
    pub analysis_fps_min: f64,
    /// Frames ingest delivered that were replaced before the detector took them
    /// (newest wins), per camera per second: the drops beyond the sampling policy.
    pub dropped_beyond_policy_per_camera_per_sec: f64,
    /// Percent of one core, `run` only (the test cameras are another process).
    pub cpu_percent_total: f64,
    pub cpu_percent_per_camera: f64,
    pub rss_mb: f64,
    pub rss_mb_per_camera: f64,
    /// The test cameras' server (another process on the same cores, which real
    /// cameras would not take).
    pub camera_server_cpu_percent: f64,
    pub incident_events: usize,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub holds: bool,
}

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * q).round() as usize])
}

fn write_config(dir: &Path, args: &BenchArgs, mode: &str, urls: &[String], bootstrap: &str) -> anyhow::Result<PathBuf> {
    let mut text = format!(
        r#"[service]
instance = "bench"
log_format = "human"

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "{data}"

[detector]
model = "{model}"
inference_threads = {threads}
intra_op_threads = {intra}

[rules.sidewalk_parking]
dwell_secs = {dwell}

# Reminders give a steady stream of incident events to time.
[rules.incidents]
realarm_secs = {realarm}
update_interval_secs = {realarm}

[router.kafka]
bootstrap_servers = "{bootstrap}"

[[router.destinations]]
name = "police"
kind = "kafka"
topic = "{TOPIC}"

[[router.routes]]
name = "everything"
destinations = ["police"]
"#,
        data = dir.join("data").display(),
        model = model_manifest(args).display(),
        threads = args.inference_threads,
        intra = args.intra_op_threads,
        dwell = args.dwell_secs,
        realarm = args.realarm_secs,
    );
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            r#"
[[cameras]]
id = "cam-{i:02}"
url = "{url}"
decode = "{mode}"
sample_fps = {fps}

# The demo's zone where the white van stands, in the 16:9 cut of the footage.
[[cameras.zones]]
id = "east-sidewalk"
kind = "sidewalk"
polygon = [[0.833, 0.163], [0.957, 0.144], [0.957, 0.22], [0.768, 0.283]]
"#,
            fps = args.min_fps.max(1.0),
        ));
    }
    let path = dir.join(format!("bench-{mode}-{}.toml", urls.len()));
    std::fs::write(&path, text)?;
    Ok(path)
}

fn measure(args: &BenchArgs, mode: &str, n: usize, bootstrap: &str) -> anyhow::Result<Point> {
    let dir = tempfile::tempdir()?;
    let cameras = TestCameraProcess::start(n, &args.footage, 25)?;
    let config = write_config(dir.path(), args, mode, &cameras.urls, bootstrap)?;
    let mut run = RunProcess::start(&config)?;
    let metrics_addr = run.wait_running(Duration::from_secs(60))?;
    let tail = TopicTail::start(&KafkaConnection::new(bootstrap), TOPIC, Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_secs(args.warmup_secs));
    let pid = run.child.id();
    let server = cameras.child.id().to_string();
    let m0 = scrape(&metrics_addr)?;
    let (cpu0, _) = cpu_and_rss(pid).ok_or_else(|| anyhow!("run is gone:\n{}", run.log()))?;
    let server0 = cpu_seconds(&server).unwrap_or(0.0);
    let (t0, t0_ms) = (Instant::now(), now_ms());
    let _ = tail.take();
    std::thread::sleep(Duration::from_secs(args.secs));
    let m1 = scrape(&metrics_addr)?;
    let (cpu1, rss) = cpu_and_rss(pid).ok_or_else(|| anyhow!("run is gone:\n{}", run.log()))?;
    let server1 = cpu_seconds(&server).unwrap_or(0.0);
    let secs = t0.elapsed().as_secs_f64();
    // Events still in flight when the window closes are read for a moment longer.
    std::thread::sleep(Duration::from_secs(2));
    let read = tail.take();
    let log = run.log();
    run.stop();
    if read.is_empty() {
        let last: Vec<&str> = log.lines().rev().take(15).collect();
        eprintln!("bench: no incident event reached Kafka in the window; the end of run's log:");
        for l in last.iter().rev() {
            eprintln!("  {l}");
        }
    }
    drop(cameras);

    let analysed = |m: &[(String, f64)], cam: &str| {
        sum(m, "streetwatch_detector_frames_analysed_total", &[&format!("camera=\"{cam}\"")])
    };
    let per_camera: Vec<f64> = (0..n)
        .map(|i| {
            let cam = format!("cam-{i:02}");
            (analysed(&m1, &cam) - analysed(&m0, &cam)) / secs
        })
        .collect();
    // Beyond the policy: replaced before the detector took them, or (keyframes, live)
    // not decoded because the detector still had the previous one.
    let dropped = |m: &[(String, f64)]| {
        sum(m, "streetwatch_ingest_frames_dropped_total", &["reason=\"superseded\""])
            + sum(m, "streetwatch_ingest_frames_dropped_total", &["reason=\"detector_busy\""])
    };
    let superseded = dropped(&m1) - dropped(&m0);
    let mut latencies: Vec<f64> = read
        .iter()
        .filter_map(|r| {
            let i = proto::v1::Incident::decode(r.payload.as_slice()).ok()?;
            (i.updated_at_ms >= t0_ms).then(|| (r.read_at_ms - i.updated_at_ms) as f64)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let mean = per_camera.iter().sum::<f64>() / n as f64;
    let min = per_camera.iter().copied().fold(f64::INFINITY, f64::min);
    let p99 = percentile(&latencies, 0.99);
    let cpu = 100.0 * (cpu1 - cpu0) / secs;
    // A camera sends one keyframe a second: a window counts one more or one fewer
    // depending on where it falls, so "keeps up" allows 5 %.
    let holds = min >= args.min_fps * FPS_TOLERANCE && p99.is_some_and(|p| p <= args.max_p99_ms);
    Ok(Point {
        mode: mode.to_string(),
        cameras: n,
        seconds: secs,
        analysis_fps_mean: mean,
        analysis_fps_min: min,
        dropped_beyond_policy_per_camera_per_sec: superseded / secs / n as f64,
        cpu_percent_total: cpu,
        cpu_percent_per_camera: cpu / n as f64,
        rss_mb: rss as f64 / 1e6,
        rss_mb_per_camera: rss as f64 / 1e6 / n as f64,
        camera_server_cpu_percent: 100.0 * (server1 - server0) / secs,
        incident_events: latencies.len(),
        latency_p50_ms: percentile(&latencies, 0.5),
        latency_p99_ms: p99,
        holds,
    })
}

fn print_point(p: &Point) {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    println!(
        "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} | {} | {} / {} | {} |",
        p.mode,
        p.cameras,
        p.analysis_fps_mean,
        p.analysis_fps_min,
        p.dropped_beyond_policy_per_camera_per_sec,
        p.cpu_percent_total,
        p.cpu_percent_per_camera,
        p.rss_mb,
        p.rss_mb_per_camera,
        p.camera_server_cpu_percent,
        p.incident_events,
        ms(p.latency_p50_ms),
        ms(p.latency_p99_ms),
        if p.holds { "yes" } else { "no" }
    );
}

/// The camera counts to try for one mode: the list given, or with `--sweep`,
/// doubling from the first until the target fails, then halving the gap.
fn sweep(args: &BenchArgs, mode: &str, bootstrap: &str, points: &mut Vec<Point>) -> anyhow::Result<Option<usize>> {
    let run = |n: usize, points: &mut Vec<Point>| -> anyhow::Result<bool> {
        eprintln!("bench: {mode}, {n} cameras, {} s warm-up + {} s ...", args.warmup_secs, args.secs);
        let p = measure(args, mode, n, bootstrap)?;
        print_point(&p);
        let holds = p.holds;
        points.push(p);
        Ok(holds)
    };
    if !args.sweep {
        for &n in &args.cameras {
            run(n, points)?;
        }
        return Ok(points.iter().filter(|p| p.mode == mode && p.holds).map(|p| p.cameras).max());
    }
    let (mut good, mut bad) = (0usize, None::<usize>);
    let mut n = args.cameras.first().copied().unwrap_or(4).max(1);
    while bad.is_none() && n <= args.max_cameras {
        if run(n, points)? {
            good = n;
            n = (n * 2).min(args.max_cameras.max(n + 1));
            if good == args.max_cameras {
                break;
            }
        } else {
            bad = Some(n);
        }
    }
    while let Some(b) = bad {
        if b - good <= args.sweep_resolution.max(1) {
            break;
        }
        let mid = good + (b - good) / 2;
        if run(mid, points)? {
            good = mid;
        } else {
            bad = Some(mid);
        }
    }
    Ok((good > 0).then_some(good))
}

fn model_manifest(args: &BenchArgs) -> PathBuf {
    repo_path(&args.model)
}

/// The model alone (ONNX Runtime, same threads as the pipeline), on a frame of the footage.
fn model_only_rate(args: &BenchArgs) -> anyhow::Result<f64> {
    let model = detector::model::loaded::LoadedModel::from_manifest_file(&model_manifest(args), &args.model_dir, None)?;
    // A frame of the same footage, at the cameras' size.
    let still = detector::bench::load_still(&args.image, Some((1920, 1080)))?;
    Ok(detector::bench::ort_own_throughput(
        &model,
        args.inference_threads,
        args.intra_op_threads,
        &still,
        Duration::from_secs(args.model_secs),
    )?)
}

async fn bench_inner(args: &BenchArgs) -> anyhow::Result<serde_json::Value> {
    if !model_manifest(args).is_file() {
        bail!("--model {}: no such model manifest (see models/*.toml)", args.model.display());
    }
    if !args.footage.is_file() {
        bail!("footage {} not found (run deploy/setup.sh)", args.footage.display());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let broker = LocalBroker::start(&args.tansu, port)?;
    let bootstrap = broker.bootstrap();
    router::kafka::admin::create_topics(&KafkaConnection::new(&bootstrap), &[TOPIC], 4, Duration::from_secs(10))
        .await?;
    let model_rate = {
        let a = args.clone();
        tokio::task::spawn_blocking(move || model_only_rate(&a)).await??
    };
    println!(
        "model alone: {model_rate:.1} inferences/s ({}, {} session(s) x {} thread(s))\n",
        args.model.display(),
        args.inference_threads,
        args.intra_op_threads
    );
    println!("| mode | cameras | analysis fps/camera (mean) | (slowest) | dropped beyond policy /camera/s | CPU % (run) | CPU %/camera | RSS MB | RSS MB/camera | test camera server CPU % | incident events | frame→Kafka p50 / p99 ms | holds |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut points = Vec::new();
    let mut largest = Vec::new();
    for mode in &args.modes {
        let a = args.clone();
        let (m, b) = (mode.clone(), bootstrap.clone());
        let mut pts = Vec::new();
        let (best, pts) = tokio::task::spawn_blocking(move || {
            let best = sweep(&a, &m, &b, &mut pts);
            (best, pts)
        })
        .await?;
        points.extend(pts);
        largest.push((mode.clone(), best?));
    }
    println!();
    for (mode, best) in &largest {
        let n = best.unwrap_or(0);
        let used = n as f64 * args.min_fps;
        println!(
            "{mode}: largest N holding >= {} analysis fps per camera with p99 <= {} ms: {n} ({used:.0} inferences/s = {:.2} of the model-alone rate)",
            args.min_fps,
            args.max_p99_ms,
            used / model_rate.max(1e-9)
        );
    }
    if let [(_, Some(k)), (_, Some(a))] = largest.as_slice() {
        println!("ratio {} / {}: {:.1}", args.modes[0], args.modes[1], *k as f64 / (*a).max(1) as f64);
    }
    drop(broker);
    Ok(serde_json::json!({
        "model": model_manifest(args),
        "model_alone_inferences_per_sec": model_rate,
        "criteria": { "min_fps": args.min_fps, "max_p99_ms": args.max_p99_ms },
        "largest": largest.iter().map(|(m, n)| serde_json::json!({"mode": m, "cameras": n})).collect::<Vec<_>>(),
        "points": points,
    }))
}

pub async fn bench(args: &BenchArgs) -> i32 {
    match bench_inner(args).await {
        Ok(json) => {
            if let Some(path) = &args.json {
                if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&json).unwrap_or_default()) {
                    eprintln!("bench: {}: {e}", path.display());
                    return exit_code::RUNTIME_FAILURE;
                }
            }
            exit_code::OK
        }
        Err(e) => {
            eprintln!("bench: {e:#}");
            exit_code::RUNTIME_FAILURE
        }
    }
}
