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
