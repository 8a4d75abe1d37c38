//! What the benchmark and soak commands share: RTSP test cameras served by a child
//! process (so their CPU is not counted as the pipeline's), `streetwatch run` as a
//! child process with its metrics, and a process's CPU time and resident memory
//! from /proc.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

use streetwatch::telemetry::http::local_get;

/// USER_HZ: the unit of utime/stime in /proc/<pid>/stat, 100 on Linux.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds of process `pid` (`"self"` for this one).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SEC)
}

/// Resident memory of process `pid` (`"self"` for this one), bytes.
pub fn rss_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Stops a child process: SIGTERM, then SIGKILL if it has not exited after `grace`.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The `streetwatch` binary the tools run: `STREETWATCH_BIN`, else the one next to
/// this tool (both are built into `target/release/`).
pub fn streetwatch_exe() -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("STREETWATCH_BIN") {
        return Ok(path.into());
    }
    let next_to_us = std::env::current_exe()?.with_file_name("streetwatch");
    if !next_to_us.is_file() {
        anyhow::bail!(
            "{} not found: build it (cargo build --release --locked -p streetwatch) or set STREETWATCH_BIN",
            next_to_us.display()
        );
    }
    Ok(next_to_us)
}

/// `streetwatch run` under measurement.
pub struct RunProcess {
    pub child: Child,
    log: Arc<Mutex<String>>,
}

impl RunProcess {
    pub fn start(config: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(streetwatch_exe()?)
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start streetwatch run")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap_or_else(|p| p.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        });
        Ok(Self { child, log })
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The metrics address `run` logged, once it is running.
    pub fn wait_running(&mut self, deadline: Duration) -> anyhow::Result<String> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("streetwatch run exited ({status}):\n{}", self.log());
            }
            let log = self.log();
            if log.contains("streetwatch running") {
                return logged_address(&log, "health endpoint").ok_or_else(|| anyhow!("no metrics address logged"));
            }
            if start.elapsed() > deadline {
                bail!("streetwatch run did not start within {deadline:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(mut self) {
        stop_child(&mut self.child, Duration::from_secs(20));
    }
}

/// The `host:port` of the first `<what>: http://host:port/...` line of `log`.
pub fn logged_address(log: &str, what: &str) -> Option<String> {
    let marker = format!("{what}: http://");
    let rest = &log[log.find(&marker)? + marker.len()..];
    Some(rest[..rest.find('/').unwrap_or(rest.len())].to_string())
}

/// A path as given when it exists, else relative to the repository (the benchmark
/// commands' defaults name `models/...` files of the checkout).
pub fn repo_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path))
}

impl Drop for RunProcess {
    /// A command that fails half-way leaves no pipeline running behind it.
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(10));
    }
}

/// A scrape of `run`'s /metrics: (name with labels, value).
pub fn scrape(addr: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let (_, text) = local_get(addr.parse()?, "/metrics", Duration::from_secs(10))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect())
}

/// Sum of a counter over the series whose labels contain every `filter`.
pub fn sum(metrics: &[(String, f64)], name: &str, filter: &[&str]) -> f64 {
    metrics
        .iter()
        .filter(|(n, _)| n.starts_with(name) && n[name.len()..].starts_with(['{', ' ']) || n == name)
        .filter(|(n, _)| filter.iter().all(|f| n.contains(f)))
        .map(|(_, v)| v)
        .sum()
}

/// `streetwatch-bench test-cameras` serving `count` cameras of `footage`, looped.
pub struct TestCameraProcess {
    pub child: Child,
    stdin: ChildStdin,
    pub urls: Vec<String>,
}

impl TestCameraProcess {
    pub fn start(count: usize, footage: &Path, fps: u32) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(["test-cameras", "--port", "0", "--count", &count.to_string(), "--fps", &fps.to_string()])
            .arg("--file")
            .arg(footage)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the test cameras")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut urls = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if line.starts_with("ready") {
                break;
            }
            urls.push(line);
        }
        // What it prints later is read too: a closed pipe would end it at its next line.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        if urls.len() != count {
            bail!("the test cameras printed {} URLs, expected {count}", urls.len());
        }
        Ok(Self { child, stdin, urls })
    }

    /// A fault command (`stall /cam2`, `resume /cam2`, `kill`, `restart`).
    pub fn command(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}").context("the test cameras are gone")
    }
}

impl Drop for TestCameraProcess {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}
