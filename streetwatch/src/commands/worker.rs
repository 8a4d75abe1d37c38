//! `streetwatch worker`: one of several processes sharing the cameras through Kafka.
//! It joins the consumer group of the assignment topic (`[cluster]`) and runs the
//! cameras of the partitions it owns in a pipeline: `streetwatch run` as a child
//! process, with the same config and the owned cameras (`--cameras-file`). When the
//! owned set changes (a worker joined, left or died; `streetwatch assign` changed a
//! camera), the worker rewrites the file and tells the running pipeline to reload it
//! (`wiring::camera_control`): only the cameras that come, go or change stop and
//! start; the others keep analysing. Cameras taken away are stopped before the group
//! hands them on (`router::kafka::assignments`), so two live workers never run one
//! camera. A pipeline that cannot apply a change is replaced by a fresh one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use router::kafka::assignments::{AssignmentFollower, AssignmentListener, FollowerSettings};
use tokio_util::sync::CancellationToken;

use super::worker_http::{self, WorkerStatus};
use crate::config::Config;
use crate::exit_code;
use crate::shutdown::watch_signals;

/// The running pipeline, the cameras it runs, and its control pipe.
struct Pipeline {
    child: Child,
    cameras: BTreeMap<String, Vec<u8>>,
    started: Instant,
    control: ChildStdin,
    /// The pipeline's answers (its stdout, a line each).
    answers: Receiver<String>,
}

struct Runner {
    status: Arc<WorkerStatus>,
    exe: PathBuf,
    config: PathBuf,
    dir: PathBuf,
    /// How long a pipeline gets to stop gracefully before it is killed.
    stop_deadline: Duration,
    current: Mutex<Option<Pipeline>>,
    /// The set last asked for (to restart a pipeline that died).
    wanted: Mutex<BTreeMap<String, Vec<u8>>>,
}

/// The `[[cameras]]` document of the assignment records a worker owns (each record's
/// body is one camera's table, as `streetwatch assign` published it). Outside input:
/// fuzzed (`streetwatch-bench fuzz assignment`).
pub fn cameras_document(cameras: &BTreeMap<String, Vec<u8>>) -> Result<String, String> {
    let mut list = Vec::new();
    for (id, body) in cameras {
        let text = String::from_utf8_lossy(body);
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| format!("camera `{id}` in the assignment topic: {e}"))?;
        list.push(toml::Value::Table(table));
    }
    let mut doc = toml::Table::new();
    doc.insert("cameras".into(), toml::Value::Array(list));
    toml::to_string(&doc).map_err(|e| e.to_string())
}

fn ids(cameras: &BTreeMap<String, Vec<u8>>) -> String {
    if cameras.is_empty() {
        "(none)".into()
    } else {
        cameras.keys().cloned().collect::<Vec<_>>().join(",")
    }
}

impl Runner {
    fn stop(&self, pipeline: Pipeline) {
        let Pipeline { mut child, cameras, control, .. } = pipeline;
        drop(control);
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + self.stop_deadline;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    tracing::info!(cameras = %ids(&cameras), %status, "worker: pipeline stopped");
                    return;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    tracing::error!(cameras = %ids(&cameras), "worker: pipeline did not stop in time; killed");
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }

    /// The cameras file for the pipeline: `[[cameras]]` tables as published.
    fn write_cameras(&self, cameras: &BTreeMap<String, Vec<u8>>) -> Result<PathBuf, String> {
        let text = cameras_document(cameras)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let path = self.dir.join("cameras.toml");
        let tmp = self.dir.join("cameras.toml.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    fn start(&self, cameras: &BTreeMap<String, Vec<u8>>) -> Option<Pipeline> {
        let file = match self.write_cameras(cameras) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("worker: {e}");
                return None;
            }
        };
        // The pipeline's endpoint on a free loopback port; the worker's own endpoint
        // (http.listen) stays up across pipelines and relays its metrics.
        let listen = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok();
        let mut cmd = Command::new(&self.exe);
        cmd.args(["run", "--exit-with-parent", "--cameras-control", "--config"])
            .arg(&self.config)
            .arg("--cameras-file")
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(addr) = listen {
            cmd.arg("--http-listen").arg(addr.to_string());
        }
        *self.status.pipeline_addr.lock().unwrap_or_else(|p| p.into_inner()) = listen;
        match cmd.spawn() {
            Ok(mut child) => {
                self.status.pipeline_starts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(pid = child.id(), "worker: pipeline started");
                let (Some(control), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    tracing::error!("worker: the pipeline's pipes are missing");
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                };
                let (tx, answers) = std::sync::mpsc::channel();
                let reader = std::thread::Builder::new().name("pipeline-answers".into()).spawn(move || {
                    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                });
                if let Err(e) = reader {
                    tracing::error!("worker: cannot read the pipeline's answers: {e}");
                }
                Some(Pipeline { child, cameras: cameras.clone(), started: Instant::now(), control, answers })
            }
            Err(e) => {
                tracing::error!("worker: cannot start the pipeline: {e}");
                None
            }
        }
    }

    /// Tells the running pipeline to run `cameras` (the file rewritten, then
    /// `reload`), and waits for its answer: Ok once the cameras that went are stopped
    /// and the new ones started.
    fn reload(&self, pipeline: &mut Pipeline, cameras: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
        if let Ok(Some(status)) = pipeline.child.try_wait() {
            return Err(format!("the pipeline had exited ({status})"));
        }
        self.write_cameras(cameras)?;
        while pipeline.answers.try_recv().is_ok() {}
        pipeline
            .control
            .write_all(b"reload\n")
            .and_then(|()| pipeline.control.flush())
            .map_err(|e| format!("cannot reach the pipeline: {e}"))?;
        match pipeline.answers.recv_timeout(self.stop_deadline) {
            Ok(answer) if answer.starts_with("applied") => {
                pipeline.cameras = cameras.clone();
                Ok(())
            }
            Ok(answer) => Err(format!("the pipeline answered `{answer}`")),
            Err(RecvTimeoutError::Timeout) => Err(format!("no answer within {:?}", self.stop_deadline)),
            Err(RecvTimeoutError::Disconnected) => Err("the pipeline exited".into()),
        }
    }

    /// Runs exactly `cameras`: the running pipeline changes only the cameras that
    /// differ; a pipeline is started when there is none (and kept, empty, when the
    /// set becomes empty: it is ready for the next cameras).
    fn apply(&self, cameras: &BTreeMap<String, Vec<u8>>) {
        *self.wanted.lock().unwrap_or_else(|p| p.into_inner()) = cameras.clone();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|p| &p.cameras == cameras) {
            return;
        }
        tracing::info!(count = cameras.len(), "worker: cameras now: {}", ids(cameras));
        self.status.cameras.store(cameras.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(mut p) = current.take() {
            let started = Instant::now();
            match self.reload(&mut p, cameras) {
                Ok(()) => {
                    self.status.reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(ms = started.elapsed().as_millis() as u64, "worker: pipeline reloaded its cameras");
                    *current = Some(p);
                    return;
                }
                Err(e) => {
                    // Stopped (killed if need be) before anything else: never two
                    // workers on one camera.
                    tracing::error!("worker: the pipeline could not change its cameras ({e}); replacing it");
                    self.stop(p);
                }
            }
        }
        if !cameras.is_empty() {
            *current = self.start(cameras);
        }
    }

    /// Stops the pipeline (the worker is leaving).
    fn stop_pipeline(&self) {
        let taken = self.current.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(p) = taken {
            self.stop(p);
        }
    }

    /// Restarts a pipeline that exited by itself (after a pause, so a pipeline that
    /// cannot start does not spin).
    fn check(&self) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let exited = current.as_mut().and_then(|p| p.child.try_wait().ok().flatten().map(|s| (s, p.started)));
        let Some((status, started)) = exited else { return };
        if started.elapsed() < Duration::from_secs(5) {
            return;
        }
        tracing::error!(%status, "worker: the pipeline exited by itself; starting it again");
        current.take();
        let wanted = self.wanted.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if !wanted.is_empty() {
            *current = self.start(&wanted);
        }
    }
}

impl AssignmentListener for Runner {
    fn owned(&self, cameras: &BTreeMap<String, Vec<u8>>) {
        self.apply(cameras);
    }
}

pub async fn worker(config_path: &Path, config: Config) -> i32 {
    if !config.cluster.enabled {
        eprintln!("worker: {}: [cluster] enabled = true is needed (or use `streetwatch run`)", config_path.display());
        return exit_code::CONFIG_INVALID;
    }
    let Some(conn) = config.kafka.clone() else {
        eprintln!("worker: {}: needs [router.kafka]", config_path.display());
        return exit_code::CONFIG_INVALID;
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("worker: cannot find its own executable: {e}");
            return exit_code::RUNTIME_FAILURE;
        }
    };
    let deadline = Duration::from_secs(config.service.shutdown_deadline_secs);
    let shutdown = CancellationToken::new();
    if let Err(e) = watch_signals(shutdown.clone(), deadline) {
        tracing::error!("worker: cannot install signal handlers: {e}");
        return exit_code::RUNTIME_FAILURE;
    }
    let status = Arc::new(WorkerStatus::default());
    if let Some(listen) = config.http_listen {
        match worker_http::serve(listen, Arc::clone(&status), shutdown.clone()).await {
            Ok((bound, _task)) => {
                tracing::info!(address = %bound, "worker endpoint: http://{bound}/metrics /healthz /readyz")
            }
            Err(e) => {
                tracing::error!("worker: {e}");
                return exit_code::RUNTIME_FAILURE;
            }
        }
    }
    let runner = Arc::new(Runner {
        status,
        exe,
        config: config_path.to_path_buf(),
        dir: config.data_dir.join("cluster"),
        stop_deadline: deadline + Duration::from_secs(5),
        current: Mutex::new(None),
        wanted: Mutex::new(BTreeMap::new()),
    });
    let settings = FollowerSettings {
        topic: config.cluster.assignments_topic.clone(),
        group_id: config.cluster.group_id.clone(),
        session_timeout: Duration::from_secs(config.cluster.session_timeout_secs),
        cooperative: config.cluster.rebalance == crate::config::schema::RebalanceProtocol::Cooperative,
    };
    let follower = {
        let runner = Arc::clone(&runner) as Arc<dyn AssignmentListener>;
        match tokio::task::spawn_blocking(move || AssignmentFollower::start(&conn, &settings, runner)).await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                tracing::error!("worker: {e}");
                return exit_code::CHECK_FAILED;
            }
            Err(e) => {
                tracing::error!("worker: crashed: {e}");
                return exit_code::RUNTIME_FAILURE;
            }
        }
    };
    tracing::info!(
        group = %config.cluster.group_id,
        topic = %config.cluster.assignments_topic,
        "worker: joined the assignment group"
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                let r = Arc::clone(&runner);
                let _ = tokio::task::spawn_blocking(move || r.check()).await;
            }
        }
    }
    tracing::info!("worker: leaving the group; its cameras go to the other workers");
    let r = Arc::clone(&runner);
    let _ = tokio::task::spawn_blocking(move || {
        follower.stop();
        r.apply(&BTreeMap::new());
        r.stop_pipeline();
    })
    .await;
    tracing::info!("worker: stopped cleanly");
    exit_code::OK
}
