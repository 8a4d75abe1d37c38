//! Scale-out through Kafka: `streetwatch assign` publishes 12 cameras to a compacted
//! topic on a real Kafka-protocol broker (tansu); three `streetwatch worker`
//! processes share them through one consumer group. In steady state every camera is
//! streaming in exactly one worker; after one worker is killed (SIGKILL), its cameras
//! are streaming in the others within 30 s; no camera is claimed by two live workers
//! for longer than one rebalance.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use router::kafka::admin::{create_compacted_topic, create_topics};
use support::{bin, repo_root, Running};

const CAMERAS: usize = 12;
const TOPIC: &str = "test.camera-assignments";
const STATUS_TOPIC: &str = "test.camera-status";

fn config(dir: &Path, bootstrap: &str) -> std::path::PathBuf {
    let mut text = format!(
        r#"
[service]
instance = "${{WORKER_NAME:-assign}}"
shutdown_deadline_secs = 5

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
topic = "test.incidents"

[cluster]
enabled = true
assignments_topic = "{TOPIC}"
group_id = "test-workers"
session_timeout_secs = 3
camera_status_topic = "{STATUS_TOPIC}"
heartbeat_secs = 1
"#,
        model = repo_root().join("models/yolov3-tiny-320.toml").display(),
        dir = dir.display(),
    );
    for i in 0..CAMERAS {
        text.push_str(&format!(
            "\n[[cameras]]\nid = \"cam-{i:02}\"\nurl = \"test://smpte\"\ndecode = \"sampled\"\nsample_fps = 0.5\n"
        ));
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The state a camera's pipeline logged last ("camera state", `state="streaming"`,
/// in the camera's span `camera{id=<camera> ...}`).
fn last_state<'a>(log: &'a str, camera: &str) -> Option<&'a str> {
    let span = format!("camera{{id={camera} ");
    let line = log.lines().rev().find(|l| l.contains(&span) && l.contains("camera state state=\""))?;
    let at = line.find("state=\"")? + "state=\"".len();
    line[at..].split('"').next()
}

/// The cameras a worker says it runs now ("worker: cameras now: a,b"), from its log,
/// and whether each of them streams (its last logged state).
fn claimed(log: &str) -> (BTreeSet<String>, bool) {
    let Some(at) = log.rfind("worker: cameras now: ") else { return (BTreeSet::new(), false) };
    let rest = &log[at + "worker: cameras now: ".len()..];
    let line = rest.lines().next().unwrap_or_default();
    let list = line.split_whitespace().next().unwrap_or_default();
    let cams: BTreeSet<String> =
        if list == "(none)" { BTreeSet::new() } else { list.split(',').map(String::from).collect() };
    let streaming = cams.iter().all(|c| last_state(log, c) == Some("streaming"));
    (cams, streaming)
}

/// Waits until the live workers' claims cover every camera exactly once, all
/// streaming; meanwhile records how long any camera was claimed by two of them.
fn wait_for_coverage(
    workers: &[&Running],
    deadline: Duration,
    overlap_since: &mut BTreeMap<String, Instant>,
    longest_overlap: &mut Duration,
) -> Result<Vec<BTreeSet<String>>, String> {
    let start = Instant::now();
    loop {
        let claims: Vec<(BTreeSet<String>, bool)> = workers.iter().map(|w| claimed(&w.stderr())).collect();
        let mut owners: BTreeMap<&String, usize> = BTreeMap::new();
        for (set, _) in &claims {
            for c in set {
                *owners.entry(c).or_default() += 1;
            }
        }
        for (cam, n) in &owners {
            if *n > 1 {
                let since = *overlap_since.entry((*cam).clone()).or_insert_with(Instant::now);
                *longest_overlap = (*longest_overlap).max(since.elapsed());
            } else {
                overlap_since.remove(*cam);
            }
        }
        let covered = owners.len() == CAMERAS && owners.values().all(|n| *n == 1);
        if covered && claims.iter().all(|(_, streaming)| *streaming) {
            return Ok(claims.into_iter().map(|(s, _)| s).collect());
        }
        if start.elapsed() > deadline {
            return Err(format!("after {deadline:?}: claims {claims:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_workers_share_twelve_cameras_and_take_over_from_a_dead_one() {
    let (broker, conn) = support::start_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        create_compacted_topic(&conn, TOPIC, 6, Duration::from_secs(10)).await.unwrap();
        create_compacted_topic(&conn, STATUS_TOPIC, 3, Duration::from_secs(10)).await.unwrap();
        create_topics(&conn, &["test.incidents"], 3, Duration::from_secs(10)).await.unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &broker.bootstrap());

    // Publish the cameras; a second run changes nothing.
    let out = bin().args(["assign", "--config"]).arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("12 added, 0 changed, 0 removed, 0 unchanged"), "{stdout}");
    let out = bin().args(["assign", "--config"]).arg(&config).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 added, 0 changed, 0 removed, 12 unchanged"));

    let start = |n: usize| {
        let mut cmd = bin();
        cmd.args(["worker", "--config"])
            .arg(&config)
            .env("STREETWATCH_DATA_DIR", dir.path().join(format!("w{n}")))
            .env("WORKER_NAME", format!("w{n}"));
        Running::spawn(cmd)
    };
    let workers: Vec<Running> = (0..3).map(start).collect();
    let mut overlap_since = BTreeMap::new();
    let mut longest_overlap = Duration::ZERO;
    let all: Vec<&Running> = workers.iter().collect();
    let steady = wait_for_coverage(&all, Duration::from_secs(120), &mut overlap_since, &mut longest_overlap)
        .unwrap_or_else(|e| {
            panic!("no steady state: {e}\n{}", workers.iter().map(|w| w.stderr()).collect::<Vec<_>>().join("\n----\n"))
        });
    println!("steady state: {steady:?}");
    assert!(steady.iter().all(|s| !s.is_empty()), "every worker runs cameras: {steady:?}");
    // Each worker's own endpoint says how many cameras it runs and relays its
    // pipeline's metrics.
    for (w, cams) in workers.iter().zip(&steady) {
        let log = w.stderr();
        let at = log.find("worker endpoint: http://").expect("the worker logs its endpoint")
            + "worker endpoint: http://".len();
        let addr = log[at..].split('/').next().unwrap().to_string();
        let (status, body) = support::http_get(&addr, "/metrics").expect("the worker answers");
        assert_eq!(status, 200);
        assert!(body.contains(&format!("streetwatch_worker_cameras {}", cams.len())), "{body}");
        assert!(body.contains("streetwatch_ingest_frames_total"), "the pipeline's metrics are relayed");
        assert_eq!(support::http_get(&addr, "/readyz").map(|r| r.0), Some(200));
    }

    // Kill the worker with the most cameras outright (no goodbye to the group).
    let victim = (0..3).max_by_key(|i| steady[*i].len()).unwrap();
    let moved = steady[victim].clone();
    let survivors: Vec<&Running> = workers.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, w)| w).collect();
    let kept: Vec<&BTreeSet<String>> =
        steady.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, s)| s).collect();
    let marks: Vec<usize> = survivors.iter().map(|w| w.stderr().len()).collect();
    let killed_at = Instant::now();
    workers[victim].signal("KILL");
    let after = wait_for_coverage(&survivors, Duration::from_secs(30), &mut overlap_since, &mut longest_overlap)
        .unwrap_or_else(|e| panic!("the cameras of the killed worker did not move within 30 s: {e}"));
    let took = killed_at.elapsed();
    println!("after the kill ({took:?}): {after:?}; moved: {moved:?}");
    for cam in &moved {
        assert!(after.iter().any(|s| s.contains(cam)), "{cam} runs again");
    }
    assert!(took <= Duration::from_secs(30), "{took:?}");
    // Incremental rebalancing: the survivors kept their own cameras running through
    // the move (not stopped, not restarted), in the same pipeline.
    for ((w, mark), own) in survivors.iter().zip(&marks).zip(&kept) {
        let since = &w.stderr()[*mark..];
        for cam in *own {
            assert!(last_state(since, cam).is_none(), "{cam} changed state during the move: {since}");
        }
        assert!(!since.contains("worker: pipeline started"), "a survivor restarted its pipeline: {since}");
        assert!(since.contains("worker: pipeline reloaded its cameras"), "{since}");
    }
    for (set, own) in after.iter().zip(&kept) {
        assert!(own.is_subset(set), "a survivor lost cameras it had: {own:?} → {set:?}");
    }
    // The killed worker's pipeline stopped with it (it must not keep its cameras).
    let log = workers[victim].stderr();
    let pid = log
        .rsplit("worker: pipeline started")
        .next()
        .and_then(|t| t.split("pid=").nth(1))
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next().map(String::from));
    if let Some(pid) = pid {
        support::wait_for("the killed worker's pipeline to stop", Duration::from_secs(10), || {
            (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
        });
    }
    assert!(longest_overlap < Duration::from_secs(3), "a camera was claimed twice for {longest_overlap:?}");

    // The camera-status topic says the same: every camera streaming, the moved ones
    // under a surviving worker.
    let names: Vec<String> = (0..3).filter(|i| *i != victim).map(|i| format!("w{i}")).collect();
    let asked = Instant::now();
    let statuses = loop {
        let latest = router::kafka::assignments::read_all(&conn, STATUS_TOPIC, Duration::from_secs(5));
        let decoded: Result<BTreeMap<String, proto::v1::CameraStatus>, String> =
            latest.map_err(|e| e.to_string()).map(|l| {
                l.into_iter()
                    .map(|(k, v)| (k, <proto::v1::CameraStatus as proto::Message>::decode(v.as_slice()).unwrap()))
                    .collect()
            });
        let ok = decoded.as_ref().is_ok_and(|d| {
            d.len() == CAMERAS
                && d.values().all(|s| s.state == proto::v1::CameraState::Streaming as i32 && names.contains(&s.worker))
        });
        if ok {
            break decoded.unwrap();
        }
        let shown: Result<Vec<(String, i32, String)>, String> =
            decoded.map(|d| d.into_iter().map(|(k, s)| (k, s.state, s.worker)).collect());
        assert!(asked.elapsed() < Duration::from_secs(20), "camera status after 20 s (survivors {names:?}): {shown:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for cam in &moved {
        let s = &statuses[cam];
        assert_ne!(s.worker, format!("w{victim}"), "{cam} still reported by the dead worker");
        assert!(s.heartbeat_interval_ms == 1000 && s.reported_at_ms > 0, "{s:?}");
    }
    drop(workers);
    drop(broker);
}
