//! The soak for five minutes (the hour is `streetwatch-bench soak`, BENCHMARKS.md): 12 RTSP
//! test cameras, a real broker, `run` with the console, two console clients, and
//! every fault in turn (a camera stalled, the camera server killed and restarted,
//! the broker stopped and restarted). Every event the pipeline wrote reaches the
//! topic, no GLib critical, `run` stops cleanly, and after the faults the process
//! holds no more descriptors or threads than before them.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::bin;

#[test]
fn five_minutes_of_faults_lose_nothing_and_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("soak.json");
    let mut cmd: Command = bin();
    cmd.args(["soak", "--minutes", "5", "--cameras", "12", "--sample-secs", "15"])
        .args(["--fault-every-secs", "40", "--fault-secs", "15"])
        .arg("--json")
        .arg(&json)
        .current_dir(support::repo_root());
    let started = Instant::now();
    let out = cmd.output().expect("spawn streetwatch-bench soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(started.elapsed() < Duration::from_secs(9 * 60), "{:?}", started.elapsed());
    // The status says how it ended (a signal has no exit code): one run of the full
    // suite saw the soak end silently at its first broker restart (issue 16's note).
    assert!(out.status.success(), "soak failed ({:?}):\n{stdout}\n{stderr}", out.status);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let s = &report["summary"];
    for fault in s["faults"].as_array().unwrap() {
        assert!(fault[1].as_u64().unwrap() >= 1, "every fault happened: {fault}");
    }
    assert!(s["incidents"].as_u64().unwrap() >= 12, "{s}");
    assert_eq!(s["events_missing"], 0, "{s}");
    assert_eq!(s["events_read"], s["events_produced"], "{s}");
    assert_eq!(s["glib_criticals"], 0, "{s}");
    assert_eq!(s["console_requests_failed"], 0, "{s}");
    assert_eq!(s["run_exit"], "0", "{s}");
    // Samples without a fault under way, once every camera streams: the last one
    // (after every fault was undone) against the first.
    let calm: Vec<&serde_json::Value> = report["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["fault"] == "-" && x["secs"].as_f64().unwrap() >= 30.0)
        .collect();
    assert!(calm.len() >= 3, "{calm:?}");
    let (first, last) = (calm[0], calm[calm.len() - 1]);
    for what in ["fds", "threads"] {
        let (a, b) = (first[what].as_u64().unwrap(), last[what].as_u64().unwrap());
        assert!(b <= a + 8, "{what}: {a} before the faults, {b} after them");
    }
}
