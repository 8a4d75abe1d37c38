//! The cluster end to end, in a real browser: a Kafka-protocol broker (tansu), an
//! S3-protocol server (moto), 12 RTSP test cameras serving the looped real footage,
//! 3 `streetwatch worker` processes and the shared console (`streetwatch console`),
//! with headless Chromium driven by `console/e2e/cluster.e2e.mjs`. Checked:
//! - every camera's first incident shows in the one console within 2 s of Kafka
//!   letting consumers read it;
//! - after a SIGKILL of the worker with the most cameras, the camera page shows its
//!   cameras stale, then streaming under another worker;
//! - an acknowledgement made in the page is read back from the reviews topic, keyed
//!   by the incident id;
//! - a viewer limited to one district sees only it (page, API, evidence URLs);
//! - once the workers stopped, the console holds exactly the distinct incident ids
//!   of the incidents topic (nothing lost, nothing twice).
//!
//! Screenshots land in `target/artifacts/cluster/`.
#![cfg(feature = "s3")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ingest::testing::{MountSpec, TestCameraServer};
use proto::v1 as pb;
use proto::Message;
use router::kafka::admin::{create_compacted_topic, create_topics};
use router::kafka::tail::TopicTail;
use serde_json::{json, Value};
use support::{bin, repo_root, wait_for, Running};

const CAMERAS: usize = 12;
const INCIDENTS: &str = "e2e.incidents";
const REVIEWS: &str = "e2e.reviews";
const STATUS: &str = "e2e.camera-status";
const ASSIGNMENTS: &str = "e2e.camera-assignments";
const OPERATOR: (&str, &str) = ("duty-ops", "operator-password-1");
const VIEWER: (&str, &str) = ("old-town", "viewer-password-12");

fn site_of(camera: usize) -> &'static str {
    if camera <= CAMERAS / 2 {
        "old-town"
    } else {
        "riverside"
    }
}

fn add_account(users: &Path, (name, password): (&str, &str), extra: &[&str]) {
    let mut child = bin()
        .args(["console-user", "--users-file"])
        .arg(users)
        .args(["--name", name])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// One config for the workers, `assign` and the console, as in deploy/cluster-demo.sh.
fn config(dir: &Path, bootstrap: &str, s3_port: u16, urls: &[String]) -> PathBuf {
    let users = dir.join("users.toml");
    add_account(&users, OPERATOR, &["--role", "operator"]);
    add_account(&users, VIEWER, &["--role", "viewer", "--site", "old-town"]);
    let mut text = format!(
        r#"[service]
instance = "${{WORKER_NAME:-console}}"
shutdown_deadline_secs = 10

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "${{STREETWATCH_DATA_DIR:-{dir}/console}}"
clip_postroll_secs = 2

{s3}
[detector]
model = "{model}"
inference_threads = 1
intra_op_threads = 1

[rules.sidewalk_parking]
dwell_secs = 8

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
group_id = "e2e-workers"
session_timeout_secs = 4
heartbeat_secs = 1

[console]
enabled = true
listen = "127.0.0.1:{console_port}"
users_file = "{users}"

[console.shared]
incidents_topic = "{INCIDENTS}"
reviews_topic = "{REVIEWS}"
group_id = "e2e-console"
stale_after_secs = 3
"#,
        dir = dir.display(),
        s3 = support::s3::config_table(s3_port),
        model = repo_root().join("models/yolov3-tiny-416.toml").display(),
        users = users.display(),
        console_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(),
    );
    for (i, url) in urls.iter().enumerate() {
        let n = i + 1;
        text.push_str(&format!(
            r#"
[[cameras]]
id = "cam-{n:02}"
url = "{url}"
site = "{site}"
decode = "keyframes"

[[cameras.zones]]
id = "east-sidewalk"
name = "East sidewalk"
kind = "sidewalk"
polygon = [[0.833, 0.122], [0.957, 0.108], [0.957, 0.165], [0.768, 0.212]]
"#,
            site = site_of(n),
        ));
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The looped footage served by ingest's RTSP test cameras in this process (the
/// same server as `streetwatch-bench test-cameras`); stops when dropped.
struct TestCameras {
    _server: TestCameraServer,
    urls: Vec<String>,
}

impl TestCameras {
    fn start() -> Self {
        let cache = std::env::var("STREETWATCH_CACHE")
            .unwrap_or_else(|_| format!("{}/.cache/streetwatch", std::env::var("HOME").unwrap_or_default()));
        let footage = PathBuf::from(format!("{cache}/footage/vtest.h264"));
        let mounts = (1..=CAMERAS).map(|n| MountSpec::file(&format!("/cam{n}"), footage.clone(), 10)).collect();
        let server = TestCameraServer::start(0, mounts).expect("the test cameras start");
        let urls = (1..=CAMERAS).map(|n| server.url(&format!("/cam{n}"))).collect();
        Self { _server: server, urls }
    }
}

/// The browser script: one JSON command a line, one `done <json>` answer each.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    errors: std::thread::JoinHandle<String>,
}

impl Browser {
    fn start(url: &str, artifacts: &Path) -> Self {
        let e2e = repo_root().join("console/e2e");
        assert!(
            e2e.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed in console/e2e: run `bash deploy/setup.sh`"
        );
        let mut child = Command::new("node")
            .arg("cluster.e2e.mjs")
            .current_dir(&e2e)
            .env("CONSOLE_URL", url)
            .env("ARTIFACTS", artifacts)
            .env("OPERATOR", format!("{}:{}", OPERATOR.0, OPERATOR.1))
            .env("VIEWER", format!("{}:{}", VIEWER.0, VIEWER.1))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node (Node.js) must be installed: run `bash deploy/setup.sh`");
        let stdin = child.stdin.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("browser: {line}");
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("browser: {line}");
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        Self { child, stdin, lines, errors }
    }

    /// The next `done` answer, within `deadline`.
    fn answer(&mut self, deadline: Duration) -> Value {
        let end = Instant::now() + deadline;
        loop {
            match self.lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(json) = line.strip_prefix("done ") {
                        return serde_json::from_str(json).unwrap();
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!("the browser gave no answer ({e:?})");
                }
            }
        }
    }

    fn ask(&mut self, command: Value, deadline: Duration) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        self.answer(deadline)
    }

    fn finish(mut self) {
        let _ = writeln!(self.stdin, "{}", json!({ "cmd": "quit" }));
        let status = wait_for("the browser to exit", Duration::from_secs(30), || self.child.try_wait().unwrap());
        let errors = self.errors.join().unwrap();
        assert!(status.success(), "the browser script failed:\n{errors}");
    }
}

/// Pipeline events read from the incidents topic: (incident, when readable).
fn incidents(tail: &TopicTail, seen: &mut Vec<(pb::Incident, i64)>) {
    for r in tail.take() {
        seen.push((pb::Incident::decode(r.payload.as_slice()).expect("a protobuf incident"), r.read_at_ms));
    }
}

/// The cameras a worker says it runs now, from its log.
fn claimed(log: &str) -> BTreeSet<String> {
    let Some(at) = log.rfind("worker: cameras now: ") else { return BTreeSet::new() };
    let list = log[at + "worker: cameras now: ".len()..].split_whitespace().next().unwrap_or_default();
    if list == "(none)" {
        BTreeSet::new()
    } else {
        list.split(',').map(String::from).collect()
    }
}

fn camera_of(e: &pb::Incident) -> String {
    e.camera.as_ref().map(|c| c.camera_id.clone()).unwrap_or_default()
}

#[test]
fn a_cluster_of_three_workers_in_one_console_in_headless_chromium() {
    let (broker, conn) = support::start_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        create_compacted_topic(&conn, ASSIGNMENTS, 6, Duration::from_secs(10)).await.unwrap();
        create_compacted_topic(&conn, STATUS, 3, Duration::from_secs(10)).await.unwrap();
        create_topics(&conn, &[INCIDENTS], 3, Duration::from_secs(10)).await.unwrap();
        create_topics(&conn, &[REVIEWS], 1, Duration::from_secs(10)).await.unwrap();
    });
    let (_s3, _store, s3_port) = support::s3::bucket();
    let cameras = TestCameras::start();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &broker.bootstrap(), s3_port, &cameras.urls);
    let with_env = |cmd: &mut Command| {
        cmd.env("TEST_S3_ACCESS", "test-access").env("TEST_S3_SECRET", "test-secret");
    };

    // The console and the browser first, so every incident is seen arriving.
    let mut cmd = bin();
    cmd.args(["console", "--config"]).arg(&config);
    with_env(&mut cmd);
    let mut console = Running::spawn(cmd);
    let addr = wait_for("the shared console", Duration::from_secs(60), || {
        let log = console.stderr();
        if let Some(status) = console.child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(300));
            panic!("the console exited ({status}):\n{}", console.stderr());
        }
        let at = log.find("operator console: http://")? + "operator console: http://".len();
        log[at..].split('/').next().map(str::to_string)
    });
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/cluster");
    let mut browser = Browser::start(&format!("http://{addr}"), &artifacts);
    browser.answer(Duration::from_secs(60));
    let incidents_tail = TopicTail::start(&conn, INCIDENTS, Duration::from_secs(10)).unwrap();
    let reviews_tail = TopicTail::start(&conn, REVIEWS, Duration::from_secs(10)).unwrap();

    let mut cmd = bin();
    cmd.args(["assign", "--config"]).arg(&config);
    with_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let workers: Vec<Running> = (0..3)
        .map(|n| {
            let mut cmd = bin();
            cmd.args(["worker", "--config"])
                .arg(&config)
                .env("WORKER_NAME", format!("worker-{n}"))
                .env("STREETWATCH_DATA_DIR", dir.path().join(format!("worker-{n}")));
            with_env(&mut cmd);
            Running::spawn(cmd)
        })
        .collect();

    // Every camera raises the parked van: its first STARTED, and when Kafka had it.
    let mut seen: Vec<(pb::Incident, i64)> = Vec::new();
    let firsts: BTreeMap<String, (String, i64)> =
        wait_for("an incident from every camera", Duration::from_secs(300), || {
            incidents(&incidents_tail, &mut seen);
            let mut firsts = BTreeMap::new();
            for (e, at) in &seen {
                if e.phase == pb::Phase::Started as i32 {
                    firsts.entry(camera_of(e)).or_insert((e.id.clone(), *at));
                }
            }
            (firsts.len() == CAMERAS).then_some(firsts)
        });
    let ids: Vec<&String> = firsts.values().map(|(id, _)| id).collect();
    let appeared = browser.ask(json!({ "cmd": "appeared", "ids": ids }), Duration::from_secs(30));
    let mut slowest = 0i64;
    for (camera, (id, readable_at)) in &firsts {
        let shown = appeared[id].as_i64().unwrap();
        let after = shown - readable_at;
        slowest = slowest.max(after);
        assert!(after <= 2000, "{camera}'s incident {id} shown {after} ms after it was in the topic");
    }
    println!("every camera's first incident shown in the console, the slowest {slowest} ms after Kafka had it");

    // Kill the worker with the most cameras outright.
    let owned: Vec<BTreeSet<String>> = workers.iter().map(|w| claimed(&w.stderr())).collect();
    assert_eq!(owned.iter().map(BTreeSet::len).sum::<usize>(), CAMERAS, "every camera runs once: {owned:?}");
    let victim = (0..workers.len()).max_by_key(|i| owned[*i].len()).unwrap();
    let moved: Vec<&String> = owned[victim].iter().collect();
    let killed_at = Instant::now();
    workers[victim].signal("KILL");
    let report = browser.ask(
        json!({ "cmd": "moved", "victim": format!("worker-{victim}"), "cameras": moved, "deadline_ms": 60_000 }),
        Duration::from_secs(90),
    );
    println!("after the SIGKILL ({:?}): {report}", killed_at.elapsed());
    for cam in &moved {
        let worker = report["workers"][cam.as_str()].as_str().unwrap();
        assert!(worker.starts_with("worker-") && worker != format!("worker-{victim}"), "{cam} under {worker}");
    }

    // An acknowledgement made in the page comes back from the reviews topic.
    let acked = firsts["cam-01"].0.clone();
    browser.ask(json!({ "cmd": "ack", "id": acked }), Duration::from_secs(30));
    let review = wait_for("the decision on the reviews topic", Duration::from_secs(20), || {
        reviews_tail.take().into_iter().find_map(|r| {
            let e = pb::Incident::decode(r.payload.as_slice()).ok()?;
            (e.id == acked && e.phase == pb::Phase::Reviewed as i32).then_some((r.key, e))
        })
    });
    assert_eq!(String::from_utf8_lossy(&review.0), acked, "keyed by the incident id");
    let r = review.1.review.expect("the decision");
    assert_eq!((r.operator.as_str(), r.note.as_str()), (OPERATOR.0, "patrol sent"));
    assert_eq!(r.action, pb::ReviewAction::Acknowledged as i32);

    // The old-town viewer: its district only.
    let own_cameras: Vec<String> = (1..=CAMERAS / 2).map(|n| format!("cam-{n:02}")).collect();
    let other = firsts[&format!("cam-{CAMERAS:02}")].0.clone();
    browser.ask(
        json!({ "cmd": "viewer", "own": firsts["cam-02"].0, "other": other, "own_cameras": own_cameras }),
        Duration::from_secs(60),
    );

    // Stop the workers; then the console holds exactly the topic's incidents.
    for (i, w) in workers.iter().enumerate() {
        if i != victim {
            w.signal("TERM");
        }
    }
    for (i, mut w) in workers.into_iter().enumerate() {
        if i != victim {
            assert_eq!(w.wait_exit(Duration::from_secs(60)), 0, "{}", w.stderr());
        }
    }
    let (topic_ids, shown) =
        wait_for("the console to hold every incident of the topic", Duration::from_secs(30), || {
            incidents(&incidents_tail, &mut seen);
            let topic_ids: BTreeSet<String> = seen.iter().map(|(e, _)| e.id.clone()).collect();
            let shown: Vec<String> = browser.ask(json!({ "cmd": "count" }), Duration::from_secs(20))["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            (shown.iter().cloned().collect::<BTreeSet<_>>() == topic_ids).then_some((topic_ids, shown))
        });
    assert_eq!(shown.len(), topic_ids.len(), "each incident once: {shown:?}");
    println!("{} incidents ({} events) in the topic, {} in the console", topic_ids.len(), seen.len(), shown.len());
    browser.finish();
    drop(console);
    drop(broker);
}
