//! The change gate on real footage (deploy/setup.sh makes the still scenes from
//! vtest's first frame; docs/ingest.md, "Change gating", lists what each shows):
//! which keyframes of a file, played as fast as possible in keyframes mode, reach the
//! detector, with and without a detector answering. Each failure mode the docs name
//! has its test here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ingest::{AnalysisWanted, CameraSettings, CameraState, CameraUrl, CameraWorker, DecodeMode, Doorbell, Pacing};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

fn footage(name: &str) -> PathBuf {
    ingest::testing::cached_footage(name)
}

/// How a stand-in for the detector answers about a frame at `pts` seconds.
type Answer = fn(f64) -> AnalysisWanted;

/// Plays `name` once in keyframes mode with the gate `enabled`, answering each
/// delivered frame with `answer` when given; returns the delivered frames' times (s).
async fn delivered(name: &str, enabled: bool, answer: Option<Answer>) -> Vec<f64> {
    ingest::init().unwrap();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_test_writer()
        .try_init();
    let shutdown = CancellationToken::new();
    let mut s = CameraSettings::new("gate", CameraUrl::parse(&format!("file://{}", footage(name).display())).unwrap());
    s.decode = DecodeMode::Keyframes;
    s.pacing = Pacing::Fast;
    s.change_gate.enabled = enabled;
    let (worker, h) = CameraWorker::new(s, Arc::new(Doorbell::default()), broadcast::channel(16).0);
    if answer.is_some() {
        h.slot.feedback().expect_answers();
    }
    let task = tokio::spawn(worker.run(shutdown.clone()));
    let mut times = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let stopped = h.status.borrow().state == CameraState::Stopped;
        if let Some(f) = h.slot.take() {
            let t = f.pts.expect("file frames have times").as_secs_f64();
            times.push(t);
            if let Some(answer) = answer {
                h.slot.feedback().answer(answer(t));
            }
        } else if stopped {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name} did not finish");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task).await.expect("camera stops").unwrap();
    times
}

fn within(times: &[f64], from: f64, to: f64) -> usize {
    times.iter().filter(|&&t| t >= from && t < to).count()
}

/// Every gap between analysed keyframes of a still stretch is at most the floor
/// (8 s) plus one keyframe interval.
fn floor_kept(times: &[f64], from: f64, to: f64, keyframe_interval: f64) -> bool {
    let inside: Vec<f64> = times.iter().copied().filter(|&t| t >= from && t < to).collect();
    inside.windows(2).all(|w| w[1] - w[0] <= 8.0 + keyframe_interval + 1e-6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_stretch_is_skipped_and_people_walking_in_are_analysed() {
    // 60 s of the held frame (30 keyframes), then vtest itself (40 keyframes).
    let all = delivered("gate-still-then-vtest.mp4", false, None).await;
    assert_eq!((within(&all, 0.0, 60.0), within(&all, 60.0, 200.0)), (30, 40), "{all:?}");
    // The bitstream alone, nobody answering.
    let gated = delivered("gate-still-then-vtest.mp4", true, None).await;
    let still = within(&gated, 0.0, 60.0);
    eprintln!("signal only: still {still} of 30: {gated:?}");
    assert!(still <= 8, "the first keyframe and the floor (every 8 s) only: {gated:?}");
    assert!(floor_kept(&gated, 0.0, 60.0, 2.0), "{gated:?}");
    assert!(gated.iter().any(|&t| (60.0..62.1).contains(&t)), "the first keyframe with people walking: {gated:?}");
    // People walking are change until the level they keep has lasted relearn_after
    // (60 s) with nobody saying anything moved: then it is this camera's still level.
    assert!(within(&gated, 60.0, 123.0) >= 30, "people walking are change: {gated:?}");
    assert!(within(&gated, 124.0, 200.0) <= 4, "relearned: {gated:?}");
    // With a detector that sees the walkers move: every keyframe from the first change on.
    let answered =
        delivered("gate-still-then-vtest.mp4", true, Some(|t| AnalysisWanted { moving: t >= 60.0, due: None })).await;
    assert!(within(&answered, 0.0, 60.0) <= 8, "{answered:?}");
    assert!(within(&answered, 62.0, 200.0) == 39, "{answered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_asking_for_a_time_gets_the_keyframe_at_that_time() {
    // A still scene; the detector asks for 37 s (a dwell reached then).
    let times = delivered(
        "gate-still-night.mp4",
        true,
        Some(|_| AnalysisWanted { moving: false, due: Some(Duration::from_secs(37)) }),
    )
    .await;
    assert!(times.iter().any(|&t| (37.0..39.1).contains(&t)), "the first keyframe at or after 37 s: {times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn night_noise_is_a_still_scene() {
    // Grey, dim and four times the daytime noise: the noise is the still-scene level.
    let times = delivered("gate-still-night.mp4", true, Some(|_| AnalysisWanted::default())).await;
    eprintln!("night: {times:?}");
    assert!(times.len() <= 9, "{times:?}");
    assert!(floor_kept(&times, 0.0, 60.0, 2.0), "{times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_switched_on_is_no_change() {
    // The light steps up 40 levels over 1 s at 37 s: nothing moved, and a change of
    // brightness costs the encoder almost nothing (a DC offset per block), so the
    // scene stays still; the floor keyframe after it is analysed under the new light.
    let times = delivered("gate-still-lights.mp4", true, Some(|_| AnalysisWanted::default())).await;
    eprintln!("lights: {times:?}");
    assert!(times.len() <= 9, "{times:?}");
    assert!(floor_kept(&times, 0.0, 60.0, 2.0), "{times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_gop_camera_is_gated_the_same_way() {
    // Keyframes where x264 decides, up to 3.5 s apart: the signal is per second.
    let all = delivered("gate-vgop.mp4", false, None).await;
    let gated = delivered("gate-vgop.mp4", true, None).await;
    let (still_all, busy_all) = (within(&all, 0.0, 60.0), within(&all, 60.0, 123.0));
    let (still, busy) = (within(&gated, 0.0, 60.0), within(&gated, 60.0, 123.0));
    eprintln!("vgop: still {still} of {still_all}, busy {busy} of {busy_all}: {gated:?}");
    assert!(still <= 9, "{gated:?}");
    assert!(floor_kept(&gated, 0.0, 60.0, 3.5), "{gated:?}");
    assert!(busy * 4 >= busy_all * 3, "{gated:?} of {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_van_appearing_in_one_frame_is_below_the_signal_and_seen_at_the_floor() {
    // The sidewalk is empty until 37 s, then the van stands there: 1.2 % of the
    // picture changes in one frame, less than a still scene's own spread from one
    // group of pictures to the next. The floor sees it within 8 s (docs/ingest.md).
    let times = delivered("gate-van-arrives.mp4", true, Some(|_| AnalysisWanted::default())).await;
    eprintln!("van: {times:?}");
    let seen = times.iter().copied().find(|&t| t >= 37.0).expect("analysed after 37 s");
    assert!(seen <= 37.0 + 8.0 + 2.0, "{times:?}");
    assert!(times.len() <= 13, "a still scene: {times:?}");
}
