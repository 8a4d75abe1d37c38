//! What the benchmark commands share: RTSP test cameras served by a child process
//! (so their CPU is not counted as the pipeline's), and a process's CPU time and
//! resident memory from /proc.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{anyhow, bail, Context};

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
pub fn stop_child(child: &mut Child, grace: std::time::Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `streetwatch test-cameras` serving `count` cameras of `footage`, looped.
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
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ready") {
                break;
            }
            urls.push(line);
        }
        if urls.len() != count {
            bail!("the test cameras printed {} URLs, expected {count}", urls.len());
        }
        Ok(Self { child, stdin, urls })
    }
}

impl Drop for TestCameraProcess {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}
