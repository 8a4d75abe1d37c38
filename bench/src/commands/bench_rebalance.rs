//! `streetwatch-bench bench-rebalance`: what the death of a worker costs the cameras, per
//! rebalance protocol, in one run. For each protocol: a tansu broker, `--workers`
//! `streetwatch worker` processes sharing `--cameras` RTSP test cameras (the looped
//! footage, served by a child process), the cameras published with `assign`; once
//! every camera is analysed by exactly one worker, the worker with the most cameras
//! is killed (SIGKILL). Measured from the workers' own `/metrics` (each camera's
//! `streetwatch_detector_frames_analysed_total`, polled every 200 ms):
//! - **moved back**: until every camera of the dead worker is analysed again by a
//!   survivor (the session timeout is most of it);
//! - **unmoved gap**: the longest pause in the analysis of the survivors' own
//!   cameras around the rebalance, beyond their usual interval between analysed
//!   frames (0 when they are not touched).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use router::kafka::local_broker::LocalBroker;
use router::KafkaConnection;
use serde_json::json;

use super::bench_support::{stop_child, TestCameraProcess};
use crate::cli::BenchRebalanceArgs;
use streetwatch::exit_code;
use streetwatch::telemetry::http::local_get;

const ASSIGNMENTS: &str = "bench.camera-assignments";
const STATUS: &str = "bench.camera-status";
const INCIDENTS: &str = "bench.incidents";
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
struct Outcome {
    protocol: String,
    moved: usize,
    unmoved: usize,
    moved_back_secs: f64,
    usual_interval_secs: f64,
    longest_unmoved_interval_secs: f64,
    pipeline_starts_after_kill: usize,
}

impl Outcome {
    fn unmoved_gap_secs(&self) -> f64 {
        (self.longest_unmoved_interval_secs - self.usual_interval_secs).max(0.0)
    }
}

struct Setup<'a> {
    protocol: &'a str,
    bootstrap: &'a str,
    urls: &'a [String],
    model: &'a Path,
    dir: &'a Path,
}

fn config_text(args: &BenchRebalanceArgs, setup: &Setup<'_>) -> String {
    let Setup { protocol, bootstrap, urls, model, dir } = setup;
    let mut text = format!(
        r#"[service]
instance = "${{WORKER_NAME:-assign}}"
shutdown_deadline_secs = 10

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "${{STREETWATCH_DATA_DIR:-{dir}/assign}}"
clips = false

[detector]
model = "{model}"
inference_threads = 1
intra_op_threads = 1

[router.kafka]
bootstrap_servers = "{bootstrap}"

[[router.destinations]]
name = "incidents"
kind = "kafka"
topic = "{INCIDENTS}"
encoding = "protobuf"

[cluster]
enabled = true
assignments_topic = "{ASSIGNMENTS}"
camera_status_topic = "{STATUS}"
group_id = "bench-workers"
session_timeout_secs = {timeout}
rebalance = "{protocol}"
"#,
        model = model.display(),
        dir = dir.display(),
        timeout = args.session_timeout_secs,
    );
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            "\n[[cameras]]\nid = \"cam-{i:02}\"\nurl = \"{url}\"\ndecode = \"sampled\"\nsample_fps = {}\n",
            args.sample_fps
        ));
    }
    text
}

/// Each camera's analysed-frames counter in a `/metrics` text.
fn analysed_counts(metrics: &str) -> BTreeMap<String, f64> {
    let prefix = "streetwatch_detector_frames_analysed_total{camera=\"";
    metrics
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(prefix)?;
            let (camera, value) = rest.split_once("\"}")?;
            Some((camera.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

struct Worker {
    name: String,
    child: Child,
    log: PathBuf,
    endpoint: Option<String>,
}

impl Worker {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn endpoint(&mut self) -> Option<String> {
        if self.endpoint.is_none() {
            let log = self.log_text();
            let at = log.find("worker endpoint: http://")? + "worker endpoint: http://".len();
            self.endpoint = log[at..].split('/').next().map(str::to_string);
        }
        self.endpoint.clone()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(20));
    }
}

/// When each camera's analysis moved, per worker: (time, worker index).
#[derive(Default)]
struct Observations {
    last: BTreeMap<(usize, String), f64>,
    analysed: BTreeMap<String, Vec<(Instant, usize)>>,
}

impl Observations {
    fn poll(&mut self, workers: &mut [Worker], alive: &[bool]) {
        let now = Instant::now();
        for (i, w) in workers.iter_mut().enumerate() {
            if !alive[i] {
                continue;
            }
            let Some(addr) = w.endpoint().and_then(|a| a.parse().ok()) else { continue };
            let Ok((200, body)) = local_get(addr, "/metrics", Duration::from_secs(2)) else { continue };
            for (camera, value) in analysed_counts(&body) {
                let before = self.last.insert((i, camera.clone()), value);
                if before.is_some_and(|b| b != value) {
                    self.analysed.entry(camera).or_default().push((now, i));
                }
            }
        }
    }

    /// The worker that analysed each camera within `window`, if exactly one did.
    fn owners(&self, window: Duration) -> BTreeMap<String, usize> {
        let now = Instant::now();
        self.analysed
            .iter()
            .filter_map(|(camera, seen)| {
                let recent: BTreeSet<usize> =
                    seen.iter().filter(|(t, _)| now.duration_since(*t) <= window).map(|(_, w)| *w).collect();
                (recent.len() == 1).then(|| (camera.clone(), *recent.iter().next().unwrap_or(&0)))
            })
            .collect()
    }
}

fn measure(args: &BenchRebalanceArgs, protocol: &str, urls: &[String], model: &Path) -> anyhow::Result<Outcome> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let broker = LocalBroker::start(&args.tansu, port)?;
    let conn = KafkaConnection::new(broker.bootstrap());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        use router::kafka::admin::{create_compacted_topic, create_topics};
        create_compacted_topic(&conn, ASSIGNMENTS, args.partitions, Duration::from_secs(10)).await?;
        create_compacted_topic(&conn, STATUS, 3, Duration::from_secs(10)).await?;
        create_topics(&conn, &[INCIDENTS], 3, Duration::from_secs(10)).await
    })?;
    let tmp = tempfile::tempdir()?;
    let dir = match &args.keep_logs {
        Some(d) => {
            let d = d.join(protocol);
            std::fs::create_dir_all(&d)?;
            d
        }
        None => tmp.path().to_path_buf(),
    };
    let config = dir.join("cluster.toml");
    let bootstrap = broker.bootstrap();
    let setup = Setup { protocol, bootstrap: &bootstrap, urls, model, dir: &dir };
    std::fs::write(&config, config_text(args, &setup))?;
    let exe = super::bench_support::streetwatch_exe()?;
    let assigned = Command::new(&exe).args(["assign", "--config"]).arg(&config).output()?;
    if !assigned.status.success() {
        bail!("assign failed: {}", String::from_utf8_lossy(&assigned.stderr));
    }
    let mut workers = Vec::new();
    for n in 0..args.workers {
        let name = format!("w{n}");
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(&exe)
            .args(["worker", "--config"])
            .arg(&config)
            .env("WORKER_NAME", &name)
            .env("STREETWATCH_DATA_DIR", dir.join(&name))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start a worker")?;
        workers.push(Worker { name, child, log, endpoint: None });
    }
    let mut alive = vec![true; workers.len()];
    let mut seen = Observations::default();

    // Steady: every camera analysed by exactly one worker over the last 5 s, for 10 s.
    let window = Duration::from_secs(5).max(Duration::from_secs_f64(3.0 / args.sample_fps));
    let start = Instant::now();
    let mut steady_since: Option<Instant> = None;
    let owners = loop {
        seen.poll(&mut workers, &alive);
        let owners = seen.owners(window);
        if owners.len() == urls.len() && start.elapsed() > window {
            let since = *steady_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= window * 2 {
                break owners;
            }
        } else {
            steady_since = None;
        }
        if start.elapsed() > Duration::from_secs(240) {
            bail!("{protocol}: no steady state within 240 s ({} of {} cameras owned)", owners.len(), urls.len());
        }
        std::thread::sleep(POLL);
    };
    let mut per_worker = vec![0usize; workers.len()];
    for w in owners.values() {
        per_worker[*w] += 1;
    }
    let victim = (0..workers.len()).max_by_key(|i| per_worker[*i]).ok_or_else(|| anyhow!("no workers"))?;
    let moved: BTreeSet<String> = owners.iter().filter(|(_, w)| **w == victim).map(|(c, _)| c.clone()).collect();
    let unmoved: BTreeSet<String> = owners.keys().filter(|c| !moved.contains(*c)).cloned().collect();
    let starts_before: Vec<usize> =
        workers.iter().map(|w| w.log_text().matches("worker: pipeline started").count()).collect();
    println!(
        "{protocol}: steady after {:.1} s ({per_worker:?} cameras per worker); killing {} ({} cameras)",
        start.elapsed().as_secs_f64(),
        workers[victim].name,
        moved.len()
    );
    let killed_at = Instant::now();
    workers[victim].child.kill().context("cannot kill the worker")?;
    let _ = workers[victim].child.wait();
    alive[victim] = false;

    let back = |seen: &Observations, camera: &str| {
        seen.analysed.get(camera).and_then(|v| v.iter().find(|(t, w)| *t > killed_at && *w != victim).map(|(t, _)| *t))
    };
    let all_back = loop {
        seen.poll(&mut workers, &alive);
        let times: Option<Vec<Instant>> = moved.iter().map(|c| back(&seen, c)).collect();
        if let Some(times) = times {
            break times.into_iter().max().unwrap_or(killed_at);
        }
        if killed_at.elapsed() > Duration::from_secs(90) {
            bail!("{protocol}: the dead worker's cameras were not analysed again within 90 s");
        }
        std::thread::sleep(POLL);
    };
    // A little longer, so a late pause of the unmoved cameras is seen too.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        seen.poll(&mut workers, &alive);
        std::thread::sleep(POLL);
    }
    let intervals = |camera: &str, from: Instant, to: Instant| -> Vec<f64> {
        let times: Vec<Instant> = seen
            .analysed
            .get(camera)
            .map(|v| v.iter().map(|(t, _)| *t).filter(|t| *t >= from && *t <= to).collect())
            .unwrap_or_default();
        times.windows(2).map(|p| p[1].duration_since(p[0]).as_secs_f64()).collect()
    };
    // The longest pause of the same cameras in steady state (sampling, polling and
    // scheduling jitter), to tell a real pause from noise.
    let usual_interval =
        unmoved.iter().flat_map(|c| intervals(c, killed_at - window * 2, killed_at)).fold(0.0, f64::max);
    let longest = unmoved
        .iter()
        .flat_map(|c| {
            // From the last analysis before the kill to the end of the observation.
            let from = seen
                .analysed
                .get(c)
                .and_then(|v| v.iter().rev().find(|(t, _)| *t <= killed_at).map(|(t, _)| *t))
                .unwrap_or(killed_at);
            intervals(c, from, Instant::now())
        })
        .fold(0.0, f64::max);
    let starts_after: usize = workers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(i, w)| w.log_text().matches("worker: pipeline started").count() - starts_before[i])
        .sum();
    drop(workers);
    drop(broker);
    Ok(Outcome {
        protocol: protocol.to_string(),
        moved: moved.len(),
        unmoved: unmoved.len(),
        moved_back_secs: all_back.duration_since(killed_at).as_secs_f64(),
        usual_interval_secs: usual_interval,
        longest_unmoved_interval_secs: longest,
        pipeline_starts_after_kill: starts_after,
    })
}

pub async fn bench_rebalance(args: &BenchRebalanceArgs) -> i32 {
    let args = args.clone();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Outcome>> {
        let model = std::fs::canonicalize(&args.model).with_context(|| format!("{}", args.model.display()))?;
        let cameras = TestCameraProcess::start(args.cameras, &args.footage, 10)?;
        let mut outcomes = Vec::new();
        for protocol in &args.protocols {
            let o = measure(&args, protocol, &cameras.urls, &model)?;
            println!(
                "{:<12} moved {:>2} cameras: analysed again {:>5.1} s after the kill; unmoved {:>2}: longest pause {:.2} s (steady state's longest {:.2} s) = gap {:.2} s; survivors' pipeline restarts {}",
                o.protocol,
                o.moved,
                o.moved_back_secs,
                o.unmoved,
                o.longest_unmoved_interval_secs,
                o.usual_interval_secs,
                o.unmoved_gap_secs(),
                o.pipeline_starts_after_kill
            );
            outcomes.push(o);
        }
        if let Some(path) = &args.json {
            let runs: Vec<_> = outcomes
                .iter()
                .map(|o| {
                    json!({
                        "protocol": o.protocol,
                        "moved_cameras": o.moved,
                        "unmoved_cameras": o.unmoved,
                        "moved_back_secs": o.moved_back_secs,
                        "unmoved_usual_interval_secs": o.usual_interval_secs,
                        "unmoved_longest_interval_secs": o.longest_unmoved_interval_secs,
                        "unmoved_gap_secs": o.unmoved_gap_secs(),
                        "survivor_pipeline_starts": o.pipeline_starts_after_kill,
                    })
                })
                .collect();
            let doc = json!({
                "cameras": args.cameras,
                "workers": args.workers,
                "partitions": args.partitions,
                "session_timeout_secs": args.session_timeout_secs,
                "sample_fps": args.sample_fps,
                "runs": runs,
            });
            std::fs::write(path, serde_json::to_string_pretty(&doc)?)?;
        }
        Ok(outcomes)
    })
    .await;
    match result {
        Ok(Ok(_)) => exit_code::OK,
        Ok(Err(e)) => {
            eprintln!("bench-rebalance: {e:#}");
            exit_code::RUNTIME_FAILURE
        }
        Err(e) => {
            eprintln!("bench-rebalance: crashed: {e}");
            exit_code::RUNTIME_FAILURE
        }
    }
}
