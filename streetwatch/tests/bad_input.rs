//! Damaged and wrong input files fail fast and say why: `replay` of random bytes, of
//! text named `.mp4`, of an MP4 cut short before its index, of an MP4 cut short after
//! it (analysed as far as it goes), and `run` with such a `file://` camera: a clear
//! message naming the file, exit code 6, within seconds; an interrupted replay says
//! its output is incomplete and exits 1.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{bin, repo_root, Running};

fn cache() -> PathBuf {
    std::env::var("STREETWATCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/streetwatch"))
}

fn replay(input: &Path, out: &Path) -> Running {
    let mut cmd = bin();
    cmd.arg("replay").arg(input).arg("--config").arg(repo_root().join("deploy/vtest-once.toml")).arg("--out").arg(out);
    Running::spawn(cmd)
}

/// Replays `input`; its exit code, log and how long it took.
fn replay_to_end(input: &Path) -> (i32, String, Duration) {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut proc = replay(input, out.path());
    let code = proc.wait_exit(Duration::from_secs(60));
    (code, proc.stderr(), started.elapsed())
}

#[test]
fn bad_files_fail_fast_with_the_reason_and_exit_6() {
    let dir = tempfile::tempdir().unwrap();
    let footage = std::fs::read(cache().join("footage/vtest.mp4")).expect("footage: run deploy/setup.sh");
    let random = dir.path().join("random.mp4");
    // Deterministic noise (an LCG): no container starts like this.
    let mut x: u32 = 12345;
    let noise: Vec<u8> = (0..2_000_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    std::fs::write(&random, noise).unwrap();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "minutes of the meeting, not a video\n").unwrap();
    // The footage's index (moov) is at its end: the first 3 MB have none.
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &footage[..3_000_000]).unwrap();

    for (file, says) in [
        (&random, "not a video file"),
        (&text, "not a video file"),
        (&cut, "not a playable video (an MP4 cut short loses its index"),
    ] {
        let (code, log, took) = replay_to_end(file);
        println!("{}: exit {code} after {:.1} s", file.display(), took.as_secs_f64());
        assert_eq!(code, 6, "{log}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        let line = log.lines().find(|l| l.starts_with("replay: stopped:")).unwrap_or_else(|| panic!("{log}"));
        assert!(line.contains(&file.display().to_string()) && line.contains(says), "{line}");
        assert!(!log.contains("retry_in_ms"), "a file is not retried: {log}");
    }

    // An index at the front, the data cut short: analysed up to where it ends.
    let faststart = dir.path().join("faststart.mp4");
    let remux = Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", cache().join("footage/vtest.mp4").display()))
        .args(["!", "qtdemux", "!", "h264parse", "!", "mp4mux", "faststart=true", "!", "filesink"])
        .arg(format!("location={}", faststart.display()))
        .status()
        .expect("gst-launch-1.0 (deploy/setup.sh installs it)");
    assert!(remux.success());
    let whole = std::fs::read(&faststart).unwrap();
    let short = dir.path().join("short.mp4");
    std::fs::write(&short, &whole[..whole.len() / 4]).unwrap();
    let (code, log, took) = replay_to_end(&short);
    println!("{}: exit {code} after {:.1} s", short.display(), took.as_secs_f64());
    assert_eq!(code, 6, "{log}");
    let line = log.lines().find(|l| l.contains("its index declares")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("short.mp4") && line.contains("analysed up to there"), "{line}");
    let analysed = log.lines().find(|l| l.contains("frames analysed")).unwrap();
    assert!(!analysed.starts_with("replay: 0 frames"), "the part that is there is analysed: {analysed}");
}

#[test]
fn run_with_a_file_camera_that_is_not_a_video_ends_it_failed_and_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("export.mp4");
    std::fs::write(&text, "not a video\n").unwrap();
    let shipped = std::fs::read_to_string(repo_root().join("deploy/vtest-once.toml")).unwrap();
    let models = repo_root().join("models");
    let config = shipped
        .replace("\"../models/", &format!("\"{}/", models.display()))
        .replace("file://${STREETWATCH_CACHE}/footage/vtest.mp4", &format!("file://{}", text.display()));
    assert!(config.contains("export.mp4"));
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = bin();
    cmd.args(["run", "--config"]).arg(&path).env("STREETWATCH_DATA_DIR", dir.path().join("data"));
    let started = Instant::now();
    let mut proc = Running::spawn(cmd);
    let code = proc.wait_exit(Duration::from_secs(60));
    let log = proc.stderr();
    assert_eq!(code, 6, "{log}");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(log.contains("state=\"failed\""), "the camera ends in the failed state: {log}");
    assert!(log.contains("could not be analysed") && log.contains("export.mp4"), "{log}");
}

#[test]
fn an_interrupted_replay_says_its_output_is_incomplete_and_exits_1() {
    let out = tempfile::tempdir().unwrap();
    let mut proc = replay(&cache().join("footage/vtest.mp4"), out.path());
    // The router's outbox exists once the run is up (its signal handlers too).
    support::wait_for("the replay to start", Duration::from_secs(60), || {
        out.path().join("outbox").exists().then_some(())
    });
    proc.signal("TERM");
    let code = proc.wait_exit(Duration::from_secs(60));
    let log = proc.stderr();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("interrupted before the end") && log.contains("the output is incomplete"), "{log}");
}
