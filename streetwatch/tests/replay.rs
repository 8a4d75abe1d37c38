//! `streetwatch replay` on the real footage: the same file and config give
//! byte-identical incident output, and a used output directory is refused.

mod support;

use std::time::Duration;

use support::{bin, repo_root, Running};

fn replay(out: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let footage = format!("{}/.cache/streetwatch/footage/vtest.mp4", std::env::var("HOME").unwrap_or_default());
    let footage = std::env::var("STREETWATCH_CACHE").map(|c| format!("{c}/footage/vtest.mp4")).unwrap_or(footage);
    let mut cmd = bin();
    cmd.arg("replay")
        .arg(&footage)
        .arg("--config")
        .arg(repo_root().join("deploy/vtest-once.toml"))
        .arg("--out")
        .arg(out);
    cmd.args(extra);
    let mut proc = Running::spawn(cmd);
    let code = proc.wait_exit(Duration::from_secs(240));
    (code, proc.stderr())
}

#[test]
fn replaying_the_same_footage_twice_gives_identical_incidents() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (code, log) = replay(a.path(), &[]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("replay: 1 incidents (sidewalk_parking: 1)"), "{log}");
    assert!(log.contains("x real time"), "{log}");
    let (code, log) = replay(b.path(), &[]);
    assert_eq!(code, 0, "{log}");
    let first = std::fs::read(a.path().join("events/incidents.jsonl")).unwrap();
    let second = std::fs::read(b.path().join("events/incidents.jsonl")).unwrap();
    assert!(!first.is_empty());
    assert_eq!(first, second, "byte-identical output");

    // The output directory now holds a replay: refused without --overwrite.
    let (code, log) = replay(a.path(), &[]);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("is not empty") && log.contains("--overwrite"), "{log}");
    let (code, log) = replay(a.path(), &["--overwrite"]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(std::fs::read(a.path().join("events/incidents.jsonl")).unwrap(), first);
}

#[test]
fn an_annotated_replay_shows_the_parked_van_boxed() {
    let out = tempfile::tempdir().unwrap();
    let footage = std::env::var("STREETWATCH_CACHE").map(|c| format!("{c}/footage/vtest.mp4")).unwrap_or_else(|_| {
        format!("{}/.cache/streetwatch/footage/vtest.mp4", std::env::var("HOME").unwrap_or_default())
    });
    // The demo config's camera: keyframes mode.
    let mut cmd = bin();
    cmd.arg("replay").arg(&footage).arg("--config").arg(repo_root().join("deploy/local.toml"));
    cmd.arg("--out").arg(out.path()).arg("--annotate");
    let mut proc = Running::spawn(cmd);
    assert_eq!(proc.wait_exit(Duration::from_secs(240)), 0, "{}", proc.stderr());

    let events = std::fs::read_to_string(out.path().join("events/incidents.jsonl")).unwrap();
    let started: serde_json::Value = serde_json::from_str(events.lines().next().expect("an incident")).unwrap();
    let b: Vec<f64> = started["objects"][0]["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let (x1, y1, x2, y2) = (b[0] * 768.0, b[1] * 576.0, (b[0] + b[2]) * 768.0, (b[1] + b[3]) * 576.0);

    let video = out.path().join("annotated/campus-gate.mp4");
    ingest::init().unwrap();
    let played = ingest::media::play_through(&video, Duration::from_secs(60)).expect("the annotated video plays");
    assert!(played.decoded_frames >= 39, "one frame per analysed keyframe: {played:?}");
    // The last frame: the van's incident is open, so its box is drawn in red.
    let last = played.decoded_frames as usize - 1;
    let (w, h, px) = ingest::media::decoded_frame(&video, last, Duration::from_secs(60)).unwrap();
    assert_eq!((w, h), (768, 576 + 44), "the frame and its caption strip");
    let red_in = |xa: f64, ya: f64, xb: f64, yb: f64| {
        let mut n = 0;
        for y in ya.max(0.0) as usize..(yb as usize).min(h as usize) {
            for x in xa.max(0.0) as usize..(xb as usize).min(w as usize) {
                let p = &px[(y * w as usize + x) * 3..][..3];
                if p[2] > 150 && p[1] < 110 && p[0] < 110 {
                    n += 1;
                }
            }
        }
        n
    };
    let around_van = red_in(x1 - 8.0, y1 - 8.0, x2 + 8.0, y2 + 8.0);
    assert!(around_van >= 60, "the van's box is drawn in red: {around_van} red pixels");
    assert_eq!(red_in(0.0, 300.0, 400.0, 576.0), 0, "nothing red on the lawn");
}
