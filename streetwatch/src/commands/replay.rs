//! `streetwatch replay INPUT --config FILE [--camera ID] [--out DIR]`: the same
//! pipeline over a recorded file, as fast as the machine allows, with the file's
//! timestamps as the clock, writing incidents as JSON lines under `--out`.
//!
//! The output is the same for the same file and config: the clock starts at the
//! file's modification time (not the wall clock), every frame is analysed (a fast
//! file hands frames over losslessly), incident ids are derived from camera, start
//! time and count, and nothing leaves the machine (no Kafka, no object storage: only
//! the local event log and evidence under `--out`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use detector::timestamp::Timestamp;
use ingest::{CameraUrl, Pacing};

use super::run::{run_with, RunOptions, RunReport};
use crate::cli::ReplayArgs;
use crate::config::{self, Config};
use crate::exit_code;
use crate::wiring::router::LOCAL_LOG;

pub async fn replay(args: &ReplayArgs) -> i32 {
    match prepare(args) {
        Ok((config, base, duration)) => {
            let incidents_path = config.data_dir.join(LOCAL_LOG);
            let annotate = args.annotate.then(|| config.data_dir.join("annotated"));
            let input = args.input.display().to_string();
            let (code, report, reached) = execute(config, base, duration, annotate).await;
            // A file whose index promises more than it holds (cut short, damaged):
            // analysed as far as it goes, and said.
            let short = duration.filter(|total| reached + SHORT_TOLERANCE < *total);
            if let (Some(total), Some(r)) = (short, report.as_ref()) {
                if r.all_finished && r.failed.is_empty() {
                    eprintln!(
                        "replay: {input} ends at {:.1} s of the {:.1} s its index declares (cut short or damaged); analysed up to there",
                        reached.as_secs_f64(),
                        total.as_secs_f64()
                    );
                    summarise(&incidents_path);
                    return exit_code::INPUT_FAILED;
                }
            }
            match report {
                Some(r) if !r.failed.is_empty() => {
                    for (_, why) in &r.failed {
                        eprintln!("replay: stopped: {why}");
                    }
                    summarise(&incidents_path);
                }
                Some(r) if !r.all_finished => {
                    eprintln!("replay: interrupted before the end of {input}; the output is incomplete");
                    summarise(&incidents_path);
                    return exit_code::RUNTIME_FAILURE;
                }
                _ if code == exit_code::OK => summarise(&incidents_path),
                _ => {}
            }
            code
        }
        Err((code, message)) => {
            eprintln!("replay: {message}");
            code
        }
    }
}

type Prepared = (Config, Timestamp, Option<Duration>);

/// How far before its declared end a file may stop and still count as whole (the
/// last analysed frame is up to one sampling interval or GOP before the end).
const SHORT_TOLERANCE: Duration = Duration::from_secs(3);

fn prepare(args: &ReplayArgs) -> Result<Prepared, (i32, String)> {
    let mut config = config::load(&args.config).map_err(|e| (exit_code::CONFIG_INVALID, e.to_string()))?;
    let input =
        std::fs::canonicalize(&args.input).map_err(|e| (exit_code::USAGE, format!("{}: {e}", args.input.display())))?;
    let index = match &args.camera {
        Some(id) => config.cameras.iter().position(|c| &c.config.id == id).ok_or_else(|| {
            (
                exit_code::USAGE,
                format!("no camera `{id}` in {} (its zones and masks are what replay uses)", args.config.display()),
            )
        })?,
        None if config.cameras.len() == 1 => 0,
        None => {
            let ids: Vec<&str> = config.cameras.iter().map(|c| c.config.id.as_str()).collect();
            return Err((
                exit_code::USAGE,
                format!("the config has several cameras ({}): choose one with --camera", ids.join(", ")),
            ));
        }
    };
    let mut camera = config.cameras.swap_remove(index);
    camera.ingest.url = CameraUrl::parse(&format!("file://{}", input.display()))
        .map_err(|e| (exit_code::USAGE, format!("{}: {e}", input.display())))?;
    camera.ingest.pacing = Pacing::Fast;
    camera.ingest.loop_file = false;
    camera.config.enabled = true;
    config.cameras = vec![camera];
    // Only the local event log: a replay never publishes to the live platforms.
    config.router.destinations.clear();
    config.router.routes.clear();
    config.kafka = None;
    config.evidence_s3 = None;
    config.http_listen = None;
    // Nor serves the console (its database belongs to the live deployment).
    config.console.enabled = false;
    config.console_listen = None;
    config.data_dir = prepare_out(&args.out, args.overwrite)?;
    config.service.instance = "replay".into();
    let modified = std::fs::metadata(&input)
        .and_then(|m| m.modified())
        .map_err(|e| (exit_code::USAGE, format!("{}: {e}", input.display())))?;
    let base = Timestamp(modified.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64));
    ingest::init().map_err(|e| (exit_code::RUNTIME_FAILURE, format!("{:#}", anyhow::Error::new(e))))?;
    // A file no camera pipeline could play fails here, in a second, before the
    // model is loaded: the same reason the camera would end with.
    let duration = ingest::media::probe(&input, Duration::from_secs(10)).map_err(|failure| {
        let code = match failure.kind {
            ingest::FailureKind::Setup => exit_code::RUNTIME_FAILURE,
            _ => exit_code::INPUT_FAILED,
        };
        (code, format!("stopped: {}: {}", config.cameras[0].ingest.url, failure.explained_for_file()))
    })?;
    Ok((config, base, duration))
}

/// The output directory: created, or emptied of a previous replay with --overwrite.
fn prepare_out(out: &Path, overwrite: bool) -> Result<PathBuf, (i32, String)> {
    let fail = |e: std::io::Error| (exit_code::RUNTIME_FAILURE, format!("{}: {e}", out.display()));
    let used = std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(false);
    if used {
        if !overwrite {
            return Err((
                exit_code::USAGE,
                format!(
                    "{} is not empty (a replay writes a fresh output; pass --overwrite to replace it)",
                    out.display()
                ),
            ));
        }
        for sub in ["events", "outbox", "evidence", "annotated"] {
            let p = out.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(fail)?;
            }
        }
    }
    std::fs::create_dir_all(out).map_err(fail)?;
    std::fs::canonicalize(out).map_err(fail)
}

async fn execute(
    config: Config,
    base: Timestamp,
    duration: Option<Duration>,
    annotate_dir: Option<PathBuf>,
) -> (i32, Option<RunReport>, Duration) {
    let report = Arc::new(std::sync::OnceLock::new());
    let reached = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reached_by_progress = Arc::clone(&reached);
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let progress_done = Arc::clone(&done);
    let options = RunOptions {
        stream_time_base: Some(base),
        annotate_dir,
        stop: None,
        control: None,
        report: Some(Arc::clone(&report)),
        on_started: Some(Box::new(move |sink| {
            std::thread::spawn(move || {
                // A terminal gets one line redrawn; a log file a line every 10 s.
                let terminal = std::io::stderr().is_terminal();
                let mut last_line = Instant::now();
                while !progress_done.load(Ordering::Relaxed) {
                    let (frames, at) = sink.progress();
                    if terminal {
                        eprint!("\r{}", progress_line(frames, at, duration, started.elapsed()));
                        let _ = std::io::stderr().flush();
                    } else if last_line.elapsed() >= Duration::from_secs(10) {
                        eprintln!("{}", progress_line(frames, at, duration, started.elapsed()));
                        last_line = Instant::now();
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                let (frames, at) = sink.progress();
                reached_by_progress.store(at.as_millis() as u64, Ordering::Relaxed);
                let wall = started.elapsed().as_secs_f64().max(1e-3);
                eprintln!("\r{}", progress_line(frames, at, duration, started.elapsed()));
                eprintln!(
                    "replay: {frames} frames analysed, {:.1} s of footage in {wall:.1} s: {:.1}x real time",
                    at.as_secs_f64(),
                    at.as_secs_f64() / wall
                );
            });
        })),
    };
    let code = match run_with(config, options).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            exit_code::RUNTIME_FAILURE
        }
    };
    done.store(true, Ordering::Relaxed);
    // Let the progress thread print its last line.
    tokio::time::sleep(Duration::from_millis(600)).await;
    (code, report.get().cloned(), Duration::from_millis(reached.load(Ordering::Relaxed)))
}

fn progress_line(frames: u64, at: Duration, duration: Option<Duration>, wall: Duration) -> String {
    let speed = at.as_secs_f64() / wall.as_secs_f64().max(1e-3);
    match duration.filter(|d| !d.is_zero()) {
        Some(total) => {
            let fraction = (at.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0);
            let filled = (fraction * 30.0).round() as usize;
            let eta = if speed > 0.0 {
                format!("{:.0} s", (total.as_secs_f64() - at.as_secs_f64()).max(0.0) / speed)
            } else {
                "?".to_string()
            };
            format!(
                "[{}{}] {:>3.0}%  {:.1}/{:.1} s  {frames} frames  {speed:.1}x  ETA {eta} ",
                "#".repeat(filled),
                ".".repeat(30 - filled),
                fraction * 100.0,
                at.as_secs_f64(),
                total.as_secs_f64()
            )
        }
        None => format!("{:.1} s  {frames} frames  {speed:.1}x ", at.as_secs_f64()),
    }
}

/// Incidents by kind, from the replay's event log.
fn summarise(incidents: &Path) {
    let text = std::fs::read_to_string(incidents).unwrap_or_default();
    let mut by_kind: std::collections::BTreeMap<String, usize> = Default::default();
    let mut events = 0;
    for line in text.lines() {
        events += 1;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if v["phase"] == "STARTED" {
            *by_kind.entry(v["kind"].as_str().unwrap_or("?").to_string()).or_default() += 1;
        }
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    eprintln!(
        "replay: {} incidents ({}), {events} events, written to {}",
        by_kind.values().sum::<usize>(),
        if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") },
        incidents.display()
    );
}
