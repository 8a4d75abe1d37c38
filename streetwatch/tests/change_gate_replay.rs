//! Change gating end to end, with the real model: `replay` in keyframes mode over the
//! real footage gives the same incidents with the gate on as with it off, and over a
//! still scene where the van appears it analyses a fraction of the keyframes and still
//! raises the incident within dwell + 10 s of the van's arrival (docs/ingest.md).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;
use support::{bin, repo_root, Running};

fn footage(name: &str) -> PathBuf {
    ingest::testing::cached_footage(name)
}

/// The shipped vtest config in keyframes mode, the gate on or off.
fn config(dir: &Path, gate: bool) -> PathBuf {
    let shipped = std::fs::read_to_string(repo_root().join("deploy/vtest-once.toml")).unwrap();
    assert!(shipped.contains("decode = \"sampled\""), "deploy/vtest-once.toml changed: update this test");
    let models = repo_root().join("models");
    let text = shipped
        .replace("decode = \"sampled\"", &format!("decode = \"keyframes\"\nchange_gate.enabled = {gate}"))
        .replace("\"../models/", &format!("\"{}/", models.display()));
    let path = dir.join(format!("gate-{gate}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

struct Replayed {
    frames: u64,
    /// STARTED events: (kind, start in stream seconds).
    started: Vec<(String, f64)>,
    jsonl: Vec<u8>,
}

fn replay(video: &Path, gate: bool) -> Replayed {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut cmd = bin();
    cmd.arg("replay").arg(video).arg("--config").arg(config(dir.path(), gate)).arg("--out").arg(&out);
    let mut proc = Running::spawn(cmd);
    let code = proc.wait_exit(Duration::from_secs(240));
    let log = proc.stderr();
    assert_eq!(code, 0, "{log}");
    let frames = log
        .lines()
        .find_map(|l| l.strip_prefix("replay: ")?.split_once(" frames analysed")?.0.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in {log}"));
    // Replay's stream time starts at the file's modification time.
    let base = std::fs::metadata(video).unwrap().modified().unwrap().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let jsonl = std::fs::read(out.join("events/incidents.jsonl")).unwrap();
    let started = String::from_utf8_lossy(&jsonl)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["phase"] == "STARTED")
        .map(|e| {
            let at = e["started_at_ms"].as_i64().unwrap() as f64;
            (e["kind"].as_str().unwrap().to_string(), (at - base as f64) / 1000.0)
        })
        .collect();
    Replayed { frames, started, jsonl }
}

#[test]
fn the_vtest_replay_is_the_same_with_the_gate_on() {
    let video = footage("vtest.mp4");
    let (on, off) = (replay(&video, true), replay(&video, false));
    assert_eq!(off.frames, 40, "vtest: 40 keyframes");
    assert!(on.frames <= off.frames);
    assert_eq!(on.started.len(), 1, "{:?}", on.started);
    assert_eq!(String::from_utf8_lossy(&on.jsonl), String::from_utf8_lossy(&off.jsonl), "byte-identical incidents");
}

#[test]
fn a_van_appearing_in_a_still_scene_is_raised_in_time_from_a_few_keyframes() {
    // 90 s still, 45 keyframes; the van stands on the sidewalk from 37 s; dwell 20 s.
    let r = replay(&footage("gate-van-arrives.mp4"), true);
    assert_eq!(r.started.len(), 1, "{:?}", r.started);
    let (kind, start) = &r.started[0];
    assert_eq!(kind, "sidewalk_parking");
    assert!(
        (37.0 + 20.0..=37.0 + 20.0 + 10.0).contains(start),
        "started at {start} s: dwell + 10 s after 37 s at most"
    );
    assert!(r.frames <= 20, "{} of 45 keyframes analysed", r.frames);
    eprintln!("gated: {} frames analysed, started at {start} s", r.frames);
}
