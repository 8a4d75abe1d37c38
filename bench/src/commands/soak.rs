//! `streetwatch-bench soak`: the whole pipeline for a long time under faults, watched from
//! outside. It starts N RTSP test cameras (real footage, looped), a Kafka-protocol
//! broker, `streetwatch run` as a child process (Kafka and the local event log as
//! destinations, the console served) and console clients polling it; then, in turn
//! every `--fault-every-secs`: a camera stalls and resumes, the camera server is
//! killed and restarted, the broker is stopped and restarted. Every `--sample-secs`
//! it samples run's resident memory, open descriptors, threads and outbox size.
//!
//! At the end every event the pipeline wrote to its local event log must have been
//! read from the topic. The test broker keeps its topics in memory, so a stopped
//! broker loses what it held: before stopping it the soak waits until everything
//! produced so far has been read, and after the restart it reads the new topic from
//! its beginning (what the outbox delivers then).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use console::users::{upsert_user, Role};
use proto::Message;
use router::kafka::local_broker::LocalBroker;
use router::kafka::tail::TopicTail;
use router::KafkaConnection;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::bench_console::{get, login_as};
use super::bench_support::{logged_address, repo_path, rss_bytes, stop_child, RunProcess, TestCameraProcess};
use crate::cli::SoakArgs;
use streetwatch::exit_code;

const TOPIC: &str = "soak-incidents";
const USER: &str = "soak";
const PASSWORD: &str = "soak-console-password";

#[derive(Debug, Clone, Serialize)]
struct Sample {
    secs: f64,
    rss_mb: f64,
    fds: usize,
    threads: usize,
    outbox_kb: f64,
    events_produced: usize,
    events_read: usize,
    fault: String,
}

#[derive(Debug, Clone, Serialize)]
struct Summary {
    minutes: f64,
    cameras: usize,
    faults: Vec<(String, usize)>,
    rss_mb_first: f64,
    rss_mb_last: f64,
    rss_mb_max: f64,
    /// Least-squares slope of RSS after the warm-up, MB per hour.
    rss_slope_mb_per_hour: f64,
    fds_first: usize,
    fds_max: usize,
    fds_last: usize,
    threads_first: usize,
    threads_max: usize,
    threads_last: usize,
    outbox_kb_max: f64,
    incidents: usize,
    events_produced: usize,
    events_read: usize,
    events_missing: usize,
    console_requests_ok: u64,
    console_requests_failed: u64,
    glib_criticals: usize,
    run_exit: String,
    holds: bool,
}

/// What a process has open and runs, from /proc.
fn fds_and_threads(pid: u32) -> Option<(usize, usize)> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let threads = status.lines().find_map(|l| l.strip_prefix("Threads:"))?.trim().parse().ok()?;
    Some((fds, threads))
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// (incident id, revision) of every event in the local event log, and the incidents.
fn produced(log: &Path) -> (BTreeSet<(String, u64)>, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut events = BTreeSet::new();
    let mut incidents = BTreeSet::new();
    // The last line may be half written while run is appending: it is read next time.
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let (Some(id), Some(rev)) = (v["id"].as_str(), v["revision"].as_u64()) else { continue };
        incidents.insert(id.to_string());
        events.insert((id.to_string(), rev));
    }
    (events, incidents.len())
}

/// Every (id, revision) read from the topic, across broker restarts.
struct Reader {
    conn: KafkaConnection,
    tail: Option<TopicTail>,
    read: BTreeSet<(String, u64)>,
}

impl Reader {
    fn start(bootstrap: &str) -> anyhow::Result<Self> {
        let conn = KafkaConnection::new(bootstrap);
        let tail = TopicTail::start_from_beginning(&conn, TOPIC, Duration::from_secs(10))?;
        Ok(Self { conn, tail: Some(tail), read: BTreeSet::new() })
    }

    fn poll(&mut self) {
        for r in self.tail.as_ref().map(TopicTail::take).unwrap_or_default() {
            if let Ok(i) = proto::v1::Incident::decode(r.payload.as_slice()) {
                self.read.insert((i.id, i.revision));
            }
        }
    }

    /// Before the broker stops: read what is there and close the consumer.
    ///
    /// A consumer that lives through the test broker coming back *empty* on the same
    /// port (offsets and partition leaders gone) can take librdkafka down with a
    /// signal while it re-reads metadata; the soak once ended that way. A real broker
    /// keeps its topics across a restart, so this reader, which only checks what was
    /// delivered, is closed instead; `run`'s producer still lives through the restart.
    fn stop(&mut self) {
        self.poll();
        self.tail = None;
    }

    /// After the broker restarted empty: read its topic from the beginning.
    fn resume(&mut self) -> anyhow::Result<()> {
        self.tail = Some(TopicTail::start_from_beginning(&self.conn, TOPIC, Duration::from_secs(10))?);
        Ok(())
    }

    /// Waits until everything in `log` so far has been read (or `deadline` passes).
    fn catch_up(&mut self, log: &Path, deadline: Duration) -> usize {
        let start = Instant::now();
        loop {
            self.poll();
            let missing = produced(log).0.difference(&self.read).count();
            if missing == 0 || start.elapsed() > deadline {
                return missing;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn write_config(dir: &Path, args: &SoakArgs, urls: &[String], bootstrap: &str) -> anyhow::Result<PathBuf> {
    let users = dir.join("users.toml");
    upsert_user(&users, USER, Role::Operator, PASSWORD)?;
    let mut text = format!(
        r#"[service]
instance = "soak"
log_format = "human"

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "{data}"

[detector]
model = "{model}"
inference_threads = 1
intra_op_threads = 2

[rules.sidewalk_parking]
dwell_secs = 10

# Reminders: a steady stream of events while the van stands.
[rules.incidents]
realarm_secs = 30
update_interval_secs = 30

[console]
enabled = true
listen = "127.0.0.1:{console_port}"
users_file = "{users}"

[router.kafka]
bootstrap_servers = "{bootstrap}"

[[router.destinations]]
name = "police"
kind = "kafka"
topic = "{TOPIC}"

[[router.destinations]]
name = "log"
kind = "local"

[[router.routes]]
name = "everything"
destinations = ["police", "log"]
"#,
        data = dir.join("data").display(),
        model = repo_path(&args.model).display(),
        users = users.display(),
        console_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(),
    );
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            r#"
[[cameras]]
id = "cam-{i:02}"
url = "{url}"
decode = "keyframes"
stall_timeout_secs = 5

[[cameras.zones]]
id = "east-sidewalk"
kind = "sidewalk"
polygon = [[0.833, 0.122], [0.957, 0.108], [0.957, 0.165], [0.768, 0.212]]
"#
        ));
    }
    let path = dir.join("soak.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The console address `run` logged.
fn console_address(log: &str) -> anyhow::Result<SocketAddr> {
    Ok(logged_address(log, "operator console").ok_or_else(|| anyhow!("run logged no console address"))?.parse()?)
}

#[derive(Default)]
struct ConsoleCounts {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// A logged-in operator's browser, polling what the console pages load.
async fn console_client(addr: SocketAddr, counts: Arc<ConsoleCounts>, stop: CancellationToken) {
    let mut cookie = None;
    while !stop.is_cancelled() {
        if cookie.is_none() {
            cookie = login_as(addr, USER, PASSWORD).await.ok();
        }
        let ok = match &cookie {
            Some(c) => {
                get(addr, "/api/incidents?limit=50", c).await.is_ok() && get(addr, "/api/cameras", c).await.is_ok()
            }
            None => false,
        };
        if ok {
            counts.ok.fetch_add(1, Ordering::Relaxed);
        } else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            cookie = None;
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    CameraStalled,
    CameraServerKilled,
    BrokerStopped,
}

impl Fault {
    const TURNS: [Fault; 3] = [Fault::CameraStalled, Fault::CameraServerKilled, Fault::BrokerStopped];

    fn name(self) -> &'static str {
        match self {
            Fault::CameraStalled => "camera stalled",
            Fault::CameraServerKilled => "camera server killed",
            Fault::BrokerStopped => "broker stopped",
        }
    }
}

struct Rig {
    cameras: TestCameraProcess,
    broker: LocalBroker,
    tansu: PathBuf,
    reader: Reader,
    log_path: PathBuf,
}

impl Rig {
    fn begin(&mut self, fault: Fault, turn: usize) -> anyhow::Result<()> {
        match fault {
            Fault::CameraStalled => self.cameras.command(&format!("stall /cam{}", 1 + turn % self.cameras.urls.len())),
            Fault::CameraServerKilled => self.cameras.command("kill"),
            Fault::BrokerStopped => {
                // Its memory goes with it: what it holds must have been read first.
                let missing = self.reader.catch_up(&self.log_path, Duration::from_secs(60));
                if missing > 0 {
                    eprintln!("soak: {missing} events not yet read when the broker stopped (they count as missing)");
                }
                self.reader.stop();
                self.broker.kill();
                Ok(())
            }
        }
    }

    async fn end(&mut self, fault: Fault, turn: usize) -> anyhow::Result<()> {
        match fault {
            Fault::CameraStalled => self.cameras.command(&format!("resume /cam{}", 1 + turn % self.cameras.urls.len())),
            Fault::CameraServerKilled => self.cameras.command("restart"),
            Fault::BrokerStopped => {
                self.broker = LocalBroker::start(&self.tansu, self.broker.port)?;
                let conn = KafkaConnection::new(self.broker.bootstrap());
                // The producer's metadata request may have created it already.
                if let Err(e) = router::kafka::admin::create_topics(&conn, &[TOPIC], 4, Duration::from_secs(10)).await {
                    eprintln!("soak: re-creating {TOPIC}: {e}");
                }
                self.reader.resume()
            }
        }
    }
}

fn slope_per_hour(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if var == 0.0 {
        0.0
    } else {
        cov / var * 3600.0
    }
}

async fn soak_inner(args: &SoakArgs) -> anyhow::Result<Summary> {
    if !repo_path(&args.model).is_file() {
        bail!("--model {}: no such model manifest (see models/*.toml)", args.model.display());
    }
    if !args.footage.is_file() {
        bail!("--footage {} not found (run deploy/setup.sh)", args.footage.display());
    }
    if args.fault_secs >= args.fault_every_secs {
        bail!("--fault-secs must be shorter than --fault-every-secs");
    }
    let temp = tempfile::tempdir()?;
    let dir = match &args.keep_logs {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("--keep-logs {}", d.display()))?;
            d.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let broker = LocalBroker::start(&args.tansu, port)?;
    let bootstrap = broker.bootstrap();
    router::kafka::admin::create_topics(&KafkaConnection::new(&bootstrap), &[TOPIC], 4, Duration::from_secs(10))
        .await?;
    let cameras = TestCameraProcess::start(args.cameras, &args.footage, 10)?;
    let config = write_config(&dir, args, &cameras.urls, &bootstrap)?;
    let mut run = RunProcess::start(&config)?;
    run.wait_running(Duration::from_secs(60))?;
    let console = console_address(&run.log())?;
    let pid = run.child.id();
    let log_path = dir.join("data").join(streetwatch::wiring::router::LOCAL_LOG);
    let reader = Reader::start(&bootstrap)?;
    let mut rig = Rig { cameras, broker, tansu: args.tansu.clone(), reader, log_path: log_path.clone() };

    let counts = Arc::new(ConsoleCounts::default());
    let stop_clients = CancellationToken::new();
    let clients: Vec<_> = (0..args.console_clients)
        .map(|_| tokio::spawn(console_client(console, Arc::clone(&counts), stop_clients.clone())))
        .collect();

    println!("| minute | RSS MB | fds | threads | outbox KB | events produced | read from the topic | fault |");
    println!("|---|---|---|---|---|---|---|---|");
    let total = Duration::from_secs(args.minutes * 60);
    let started = Instant::now();
    let (sample_every, fault_every, fault_len) = (
        Duration::from_secs(args.sample_secs.max(1)),
        Duration::from_secs(args.fault_every_secs),
        Duration::from_secs(args.fault_secs),
    );
    let mut samples: Vec<Sample> = Vec::new();
    let mut faults = [0usize; 3];
    let mut active: Option<(Fault, usize, Instant)> = None;
    let mut next_sample = Duration::ZERO;
    let mut next_fault = fault_every;
    let mut turn = 0usize;
    while started.elapsed() < total {
        if let Some(status) = run.child.try_wait()? {
            bail!("streetwatch run exited during the soak ({status}):\n{}", run.log());
        }
        let now = started.elapsed();
        if let Some((fault, t, since)) = active {
            if since.elapsed() >= fault_len {
                rig.end(fault, t).await?;
                active = None;
            }
        } else if now >= next_fault && now + fault_len < total {
            let fault = Fault::TURNS[turn % 3];
            rig.begin(fault, turn)?;
            faults[turn % 3] += 1;
            active = Some((fault, turn, Instant::now()));
            turn += 1;
            next_fault = now + fault_every;
        }
        if now >= next_sample {
            rig.reader.poll();
            let (fds, threads) = fds_and_threads(pid).ok_or_else(|| anyhow!("run is gone"))?;
            let s = Sample {
                secs: now.as_secs_f64(),
                rss_mb: rss_bytes(&pid.to_string()).unwrap_or(0) as f64 / 1e6,
                fds,
                threads,
                outbox_kb: dir_bytes(&dir.join("data/outbox")) as f64 / 1e3,
                events_produced: produced(&log_path).0.len(),
                events_read: rig.reader.read.len(),
                fault: active.map_or("-", |a| a.0.name()).to_string(),
            };
            println!(
                "| {:.1} | {:.0} | {} | {} | {:.0} | {} | {} | {} |",
                s.secs / 60.0,
                s.rss_mb,
                s.fds,
                s.threads,
                s.outbox_kb,
                s.events_produced,
                s.events_read,
                s.fault
            );
            samples.push(s);
            next_sample = now + sample_every;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Some((fault, t, _)) = active {
        rig.end(fault, t).await?;
    }
    // Everything produced reaches the topic once every fault is undone (blocking this
    // thread: the console clients run on the runtime's workers).
    let missing_before_stop = rig.reader.catch_up(&log_path, Duration::from_secs(120));
    stop_clients.cancel();
    for c in clients {
        let _ = c.await;
    }
    let log = run.log();
    stop_child(&mut run.child, Duration::from_secs(30));
    let run_exit = match run.child.try_wait()? {
        Some(s) if s.success() => "0".to_string(),
        Some(s) => s.to_string(),
        None => "did not stop".to_string(),
    };
    // Events of the last moments, written during the graceful stop.
    let missing = rig.reader.catch_up(&log_path, Duration::from_secs(30));
    let (events, incidents) = produced(&log_path);
    let criticals = log.lines().filter(|l| l.contains("-CRITICAL") || l.contains("CRITICAL **")).count();
    if missing_before_stop > 0 || missing > 0 {
        let lost: Vec<_> = events.difference(&rig.reader.read).take(10).collect();
        eprintln!("soak: {missing} events never read from the topic, for example {lost:?}");
    }
    if args.keep_logs.is_some() {
        std::fs::write(dir.join("run.log"), &log)?;
    }
    let warmup = (total.as_secs_f64() / 5.0).min(600.0);
    let steady: Vec<(f64, f64)> = samples.iter().filter(|s| s.secs >= warmup).map(|s| (s.secs, s.rss_mb)).collect();
    let first = samples.first().ok_or_else(|| anyhow!("no samples: --minutes too short"))?;
    let last = samples.last().unwrap_or(first);
    let ok = counts.ok.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let holds = missing == 0 && run_exit == "0" && criticals == 0 && failed == 0 && ok > 0 && incidents > 0;
    Ok(Summary {
        minutes: started.elapsed().as_secs_f64() / 60.0,
        cameras: args.cameras,
        faults: Fault::TURNS.iter().zip(faults).map(|(f, n)| (f.name().to_string(), n)).collect(),
        rss_mb_first: first.rss_mb,
        rss_mb_last: last.rss_mb,
        rss_mb_max: samples.iter().map(|s| s.rss_mb).fold(0.0, f64::max),
        rss_slope_mb_per_hour: slope_per_hour(&steady),
        fds_first: first.fds,
        fds_max: samples.iter().map(|s| s.fds).max().unwrap_or(0),
        fds_last: last.fds,
        threads_first: first.threads,
        threads_max: samples.iter().map(|s| s.threads).max().unwrap_or(0),
        threads_last: last.threads,
        outbox_kb_max: samples.iter().map(|s| s.outbox_kb).fold(0.0, f64::max),
        incidents,
        events_produced: events.len(),
        events_read: events.intersection(&rig.reader.read).count(),
        events_missing: missing,
        console_requests_ok: ok,
        console_requests_failed: failed,
        glib_criticals: criticals,
        run_exit,
        holds,
    })
    .and_then(|s| {
        if let Some(path) = &args.json {
            let json = serde_json::json!({ "summary": &s, "samples": &samples });
            std::fs::write(path, serde_json::to_string_pretty(&json)?).with_context(|| path.display().to_string())?;
        }
        Ok(s)
    })
}

pub async fn soak(args: &SoakArgs) -> i32 {
    match soak_inner(args).await {
        Ok(s) => {
            println!();
            println!(
                "soak: {:.1} min, {} cameras; faults: {}",
                s.minutes,
                s.cameras,
                s.faults.iter().map(|(f, n)| format!("{f} x{n}")).collect::<Vec<_>>().join(", ")
            );
            println!(
                "RSS {:.0} -> {:.0} MB (max {:.0}; slope after warm-up {:+.1} MB/h); fds {} -> {} (max {}); threads {} -> {} (max {}); outbox max {:.0} KB",
                s.rss_mb_first,
                s.rss_mb_last,
                s.rss_mb_max,
                s.rss_slope_mb_per_hour,
                s.fds_first,
                s.fds_last,
                s.fds_max,
                s.threads_first,
                s.threads_last,
                s.threads_max,
                s.outbox_kb_max
            );
            println!(
                "{} incidents, {} events produced, {} read from the topic, {} missing; console requests {} ok, {} failed; {} GLib criticals; run exit {}",
                s.incidents,
                s.events_produced,
                s.events_read,
                s.events_missing,
                s.console_requests_ok,
                s.console_requests_failed,
                s.glib_criticals,
                s.run_exit
            );
            if s.holds {
                println!("soak: holds");
                exit_code::OK
            } else {
                println!("soak: does NOT hold");
                exit_code::RUNTIME_FAILURE
            }
        }
        Err(e) => {
            eprintln!("soak: {e:#}");
            exit_code::RUNTIME_FAILURE
        }
    }
}
