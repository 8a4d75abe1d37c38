//! Ingest against real GStreamer pipelines and the RTSP test-camera server on
//! loopback: frames arrive, failures are recovered and classified, and one bad
//! camera never disturbs a good one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ingest::testing::{MountSpec, TestCameraServer};
use ingest::{
    CameraHandle, CameraSettings, CameraState, CameraUrl, CameraWorker, Credentials, DecodeMode, Doorbell, Pacing,
    StatusEvent,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

struct Cameras {
    shutdown: CancellationToken,
    doorbell: Arc<Doorbell>,
    events: broadcast::Sender<StatusEvent>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Cameras {
    fn new() -> Self {
        ingest::init().unwrap();
        // Logs when a test fails (RUST_LOG=debug for more).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
            .with_test_writer()
            .try_init();
        Self {
            shutdown: CancellationToken::new(),
            doorbell: Arc::new(Doorbell::default()),
            events: broadcast::channel(256).0,
            tasks: Vec::new(),
        }
    }

    fn start(&mut self, settings: CameraSettings) -> CameraHandle {
        let (worker, handle) = CameraWorker::new(settings, Arc::clone(&self.doorbell), self.events.clone());
        self.tasks.push(tokio::spawn(worker.run(self.shutdown.clone())));
        handle
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            tokio::time::timeout(Duration::from_secs(15), t).await.expect("camera task stops").unwrap();
        }
    }
}

fn settings(id: &str, url: &str) -> CameraSettings {
    let mut s = CameraSettings::new(id, CameraUrl::parse(url).unwrap());
    s.retry.initial_backoff = Duration::from_millis(500);
    s.retry.max_backoff = Duration::from_secs(2);
    s.retry.connect_timeout = Duration::from_secs(5);
    // These tests count keyframes; the change gate has its own (tests/change_gate.rs).
    s.change_gate.enabled = false;
    s
}

async fn wait_state(h: &CameraHandle, want: CameraState, within: Duration) -> StatusEvent {
    let mut rx = h.status.clone();
    let found = match tokio::time::timeout(within, rx.wait_for(|s| s.state == want)).await {
        Ok(Ok(s)) => s.clone(),
        _ => panic!("camera {} not {want:?} within {within:?}; now {:?}", h.id, *h.status.borrow()),
    };
    found
}

/// Waits for a frame newer than `after` and returns its sequence number.
async fn wait_frame(h: &CameraHandle, after: u64, within: Duration) -> ingest::Frame {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(f) = h.slot.take() {
            if f.sequence > after {
                return f;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no frame from {} within {within:?}", h.id);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn footage() -> PathBuf {
    ingest::testing::cached_footage("vtest.mp4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_arrive_from_an_rtsp_test_camera() {
    let server = TestCameraServer::start(0, vec![MountSpec::pattern("/cam1")]).unwrap();
    let mut cams = Cameras::new();
    let h = cams.start(settings("cam1", &server.url("/cam1")));
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    let f = wait_frame(&h, 0, Duration::from_secs(10)).await;
    assert_eq!((f.width, f.height), (320, 240));
    assert!(f.stride >= 320 * 3 && f.pixels.len() >= f.stride * 240);
    assert_eq!(&*f.camera_id, "cam1");
    // The ball pattern is not a blank frame.
    assert!(f.pixels.iter().any(|&p| p > 100) && f.pixels.iter().any(|&p| p < 50));
    let g = wait_frame(&h, f.sequence, Duration::from_secs(5)).await;
    assert!(g.pts > f.pts, "timestamps advance");
    // Pre-roll holds encoded video starting at a keyframe.
    let pre = h.preroll.lock().unwrap().snapshot();
    assert!(!pre.is_empty() && pre[0].keyframe);
    cams.stop().await;
    assert_eq!(h.status.borrow().state, CameraState::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_streams_again_after_the_server_is_killed_and_restarted() {
    let mut server = TestCameraServer::start(0, vec![MountSpec::pattern("/cam")]).unwrap();
    let mut cams = Cameras::new();
    let mut s = settings("flaky", &server.url("/cam"));
    s.retry = ingest::RetryPolicy::default(); // the production backoff
    let h = cams.start(s);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    server.stop();
    let down = wait_state(&h, CameraState::Backoff, Duration::from_secs(15)).await;
    assert!(down.last_error.is_some());
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.restart().unwrap();
    let restarted = tokio::time::Instant::now();
    wait_state(&h, CameraState::Streaming, Duration::from_secs(10)).await;
    let last = h.slot.take().map_or(0, |f| f.sequence);
    wait_frame(&h, last, Duration::from_secs(5)).await;
    eprintln!("streaming again {:?} after the restart", restarted.elapsed());
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_is_detected_and_restarted() {
    let server = TestCameraServer::start(0, vec![MountSpec::pattern("/cam")]).unwrap();
    let mut cams = Cameras::new();
    let mut s = settings("stally", &server.url("/cam"));
    s.stall_timeout = Duration::from_secs(2);
    let h = cams.start(s);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    server.stall("/cam", true);
    let stalled = wait_state(&h, CameraState::Stalled, Duration::from_secs(10)).await;
    assert!(stalled.last_error.as_deref().unwrap_or_default().contains("no video for"), "{stalled:?}");
    server.stall("/cam", false);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_auth_failed_with_a_clear_message_and_no_password() {
    let server =
        TestCameraServer::start(0, vec![MountSpec::pattern("/secure").with_credentials("operator", "right-Pw-1")])
            .unwrap();
    let mut cams = Cameras::new();
    let mut wrong = CameraUrl::parse(&server.url("/secure")).unwrap();
    wrong.set_credentials(Credentials::new("operator", "wrong-Pw-987"));
    let mut s = CameraSettings::new("wrong-pw", wrong);
    s.retry.connect_timeout = Duration::from_secs(5);
    let bad = cams.start(s);
    let mut right = CameraUrl::parse(&server.url("/secure")).unwrap();
    right.set_credentials(Credentials::new("operator", "right-Pw-1"));
    let good = cams.start(CameraSettings::new("right-pw", right));

    let status = wait_state(&bad, CameraState::AuthFailed, Duration::from_secs(15)).await;
    let message = status.last_error.unwrap();
    assert!(message.contains("camera refused the credentials"), "{message}");
    assert!(!message.contains("wrong-Pw-987") && !message.contains("right-Pw-1"), "{message}");
    wait_state(&good, CameraState::Streaming, Duration::from_secs(15)).await;
    wait_frame(&good, 0, Duration::from_secs(10)).await;
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cameras_fail_clearly_while_a_healthy_one_keeps_streaming() {
    let server = TestCameraServer::start(0, vec![MountSpec::pattern("/ok")]).unwrap();
    let not_video = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    std::fs::write(not_video.path(), "this is a text file, not a video\n".repeat(200)).unwrap();
    let mut cams = Cameras::new();
    let healthy = cams.start(settings("healthy", &server.url("/ok")));
    wait_state(&healthy, CameraState::Streaming, Duration::from_secs(15)).await;
    let first = wait_frame(&healthy, 0, Duration::from_secs(10)).await.sequence;

    let unreachable = cams.start(settings("unreachable", "rtsp://127.0.0.1:1/stream"));
    let bad_path = cams.start(settings("bad-path", &server.url("/no-such-mount")));
    let text_file = cams.start(settings("text-file", &format!("file://{}", not_video.path().display())));
    // Live sources are retried (backoff); a file gives the same answer every time,
    // so it ends failed, with the reason.
    for (h, state, expected) in [
        (&unreachable, CameraState::Backoff, "camera not reachable"),
        (&bad_path, CameraState::Backoff, "no such stream or file"),
        (&text_file, CameraState::Failed, "not a video file (it is text)"),
    ] {
        let s = wait_state(h, state, Duration::from_secs(15)).await;
        let msg = s.last_error.unwrap_or_default();
        assert!(msg.contains(expected), "camera {}: expected {expected:?} in {msg:?}", h.id);
    }
    // The healthy camera never stopped.
    assert_eq!(healthy.status.borrow().state, CameraState::Streaming);
    let later = wait_frame(&healthy, first, Duration::from_secs(5)).await.sequence;
    assert!(later > first);
    cams.stop().await;
}

/// Runs the demo footage once, as fast as possible, and returns the last frame's
/// sequence number, which counts every frame delivered. A file played as fast as
/// possible hands over losslessly: every delivered frame is also taken.
async fn frames_delivered_from_footage(mode: DecodeMode) -> u64 {
    let mut cams = Cameras::new();
    let mut s = settings("file", &format!("file://{}", footage().display()));
    s.decode = mode;
    s.pacing = Pacing::Fast;
    let h = cams.start(s);
    // Take frames as they come; the sequence number of the last one counts them all.
    let mut last = 0;
    let mut taken = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(f) = h.slot.take() {
            assert_eq!((f.width, f.height), (768, 576));
            last = f.sequence;
            taken += 1;
        }
        if h.status.borrow().state == CameraState::Stopped {
            if let Some(f) = h.slot.take() {
                last = f.sequence;
                taken += 1;
            }
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "footage did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cams.stop().await;
    assert_eq!(taken, last, "{mode:?}: frames were superseded in the slot");
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyframes_mode_decodes_only_keyframes_of_a_file() {
    // vtest: 795 frames at 10 fps, a keyframe every 20 frames (deploy/setup.sh).
    assert_eq!(frames_delivered_from_footage(DecodeMode::Keyframes).await, 40);
    assert_eq!(frames_delivered_from_footage(DecodeMode::All).await, 795);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyframes_mode_over_rtsp_ignores_repeated_parameter_sets() {
    // The server repeats SPS/PPS every second (rtph264pay config-interval=1), which the
    // depayloader flags as keyframes; only the real keyframes, 2 s apart, may pass.
    let h264 = footage().with_extension("h264");
    let server = TestCameraServer::start(0, vec![MountSpec::file("/cam", &h264, 10)]).unwrap();
    let mut cams = Cameras::new();
    let h = cams.start(settings("gop", &server.url("/cam")));
    let mut frame = wait_frame(&h, 0, Duration::from_secs(15)).await;
    for _ in 0..3 {
        let next = wait_frame(&h, frame.sequence, Duration::from_secs(10)).await;
        assert_eq!(next.sequence, frame.sequence + 1, "a frame was superseded");
        let gap = next.pts.unwrap() - frame.pts.unwrap();
        assert!((1900..=2100).contains(&gap.as_millis()), "frames {gap:?} apart, expected the 2 s GOP");
        frame = next;
    }
    cams.stop().await;
}

/// Writes a short H.265 Matroska file with GStreamer: 50 frames, a keyframe every 10.
fn write_h265_mkv(path: &std::path::Path) {
    use gstreamer::prelude::*;
    ingest::init().unwrap();
    let p = gstreamer::parse::launch(&format!(
        "videotestsrc num-buffers=50 pattern=ball ! video/x-raw,width=320,height=240,framerate=10/1 \
         ! x265enc key-int-max=10 speed-preset=ultrafast ! h265parse ! matroskamux ! filesink location=\"{}\"",
        path.display()
    ))
    .unwrap();
    p.set_state(gstreamer::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("encoder finished");
    assert!(matches!(msg.view(), gstreamer::MessageView::Eos(_)), "encoding failed: {msg:?}");
    p.set_state(gstreamer::State::Null).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_in_matroska_decodes_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let mkv = dir.path().join("clip.mkv");
    write_h265_mkv(&mkv);
    for (mode, expected) in [(DecodeMode::Keyframes, 5), (DecodeMode::All, 50)] {
        let mut cams = Cameras::new();
        let mut s = settings("h265", &format!("file://{}", mkv.display()));
        s.decode = mode;
        s.pacing = Pacing::Fast;
        let h = cams.start(s);
        let mut last = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while h.status.borrow().state != CameraState::Stopped {
            if let Some(f) = h.slot.take() {
                assert_eq!((f.width, f.height), (320, 240));
                last = f.sequence;
            }
            assert!(tokio::time::Instant::now() < deadline, "H.265 file did not finish; {:?}", *h.status.borrow());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if let Some(f) = h.slot.take() {
            last = f.sequence;
        }
        assert_eq!(last, expected, "{mode:?}");
        cams.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_over_udp_delivers_frames() {
    let server = TestCameraServer::start(0, vec![MountSpec::pattern("/udp")]).unwrap();
    let mut cams = Cameras::new();
    let mut s = settings("udp", &server.url("/udp"));
    s.transport = ingest::RtspTransport::Udp;
    let h = cams.start(s);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    let f = wait_frame(&h, 0, Duration::from_secs(10)).await;
    wait_frame(&h, f.sequence, Duration::from_secs(10)).await;
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_keyframes_fall_back_to_sampled_decoding() {
    // A keyframe every 3 s, more than the 2 s allowed: after the second keyframe the
    // camera decodes everything and delivers about sample_fps (2) frames per second.
    let mut mount = MountSpec::pattern("/sparse");
    mount.source = ingest::testing::TestSource::Pattern {
        pattern: "ball".into(),
        width: 320,
        height: 240,
        fps: 10,
        keyframe_interval: 30,
    };
    let server = TestCameraServer::start(0, vec![mount]).unwrap();
    let mut cams = Cameras::new();
    let mut s = settings("sparse", &server.url("/sparse"));
    s.max_keyframe_interval = Duration::from_secs(2);
    s.sample_fps = 2.0;
    let h = cams.start(s);
    let mut frame = wait_frame(&h, 0, Duration::from_secs(15)).await;
    let mut gaps = Vec::new();
    for _ in 0..8 {
        let next = wait_frame(&h, frame.sequence, Duration::from_secs(10)).await;
        gaps.push(next.pts.unwrap().saturating_sub(frame.pts.unwrap()));
        frame = next;
    }
    // Before the fallback, frames come 3 s apart; after it, about 0.5 s apart.
    let sampled = gaps.iter().filter(|g| g.as_millis() <= 700).count();
    assert!(sampled >= 5, "expected sampled frames after the fallback, gaps {gaps:?}");
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realtime_file_plays_at_recorded_speed_in_keyframes_mode() {
    // vtest: a keyframe every 2 s of video. Played at recorded speed for about 5 s of
    // wall time, a camera can deliver at most 3 or 4 keyframes, never dozens.
    let mut cams = Cameras::new();
    let s = settings("realtime", &format!("file://{}", footage().display()));
    assert_eq!(s.pacing, Pacing::Realtime);
    let h = cams.start(s);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    let started = tokio::time::Instant::now();
    let mut last = 0;
    while started.elapsed() < Duration::from_secs(5) {
        if let Some(f) = h.slot.take() {
            last = f.sequence;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    assert!(last >= 2, "too few frames: {last} in {seconds:.1} s");
    assert!((last as f64) <= seconds / 2.0 + 2.0, "{last} keyframes in {seconds:.1} s: not paced at recorded speed");
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_realtime_file_stays_at_recorded_speed_across_loops() {
    use gstreamer::prelude::*;
    // A 2 s clip with a keyframe every 0.2 s: at recorded speed, about 5 keyframes a
    // second however often it loops (each unpaced pass would add 10 at once). Note: the
    // unpaced pass seen with the 80 s demo footage after a seek-based loop did not show
    // with this short clip; the demo check is in the session notes.
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("loop.mp4");
    ingest::init().unwrap();
    let p = gstreamer::parse::launch(&format!(
        "videotestsrc num-buffers=20 pattern=ball ! video/x-raw,width=160,height=120,framerate=10/1 \
         ! x264enc key-int-max=2 bframes=0 speed-preset=ultrafast ! h264parse ! mp4mux ! filesink location=\"{}\"",
        clip.display()
    ))
    .unwrap();
    p.set_state(gstreamer::State::Playing).unwrap();
    let done = p.bus().unwrap().timed_pop_filtered(
        gstreamer::ClockTime::from_seconds(30),
        &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
    );
    assert!(matches!(done.as_ref().map(|m| m.view()), Some(gstreamer::MessageView::Eos(_))), "{done:?}");
    p.set_state(gstreamer::State::Null).unwrap();

    let mut cams = Cameras::new();
    let mut s = settings("looping", &format!("file://{}", clip.display()));
    s.loop_file = true;
    let h = cams.start(s);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    let started = tokio::time::Instant::now();
    let first = h.slot.take().map_or(0, |f| f.sequence);
    let mut last = first;
    while started.elapsed() < Duration::from_secs(6) {
        if let Some(f) = h.slot.take() {
            last = f.sequence;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let delivered = last - first;
    assert!(delivered >= 15, "too few keyframes across loops: {delivered} in {seconds:.1} s");
    assert!((delivered as f64) <= seconds * 5.0 + 5.0, "{delivered} keyframes in {seconds:.1} s: a loop ran unpaced");
    assert_eq!(h.status.borrow().state, CameraState::Streaming);
    cams.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evidence_clip_plays_starts_at_a_keyframe_and_covers_pre_and_post_roll() {
    let server = TestCameraServer::start(0, vec![MountSpec::pattern("/clip")]).unwrap();
    let mut cams = Cameras::new();
    let mut s = settings("clip", &server.url("/clip"));
    let (preroll, postroll) = (Duration::from_secs(3), Duration::from_secs(2));
    s.preroll = preroll;
    let h = cams.start(s);
    wait_state(&h, CameraState::Streaming, Duration::from_secs(15)).await;
    let span = |h: &CameraHandle| h.preroll.lock().unwrap().span();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while span(&h) < preroll {
        assert!(tokio::time::Instant::now() < deadline, "pre-roll never covered {preroll:?}: {:?}", span(&h));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The incident starts: the pre-roll as it is now, then the ring again once the
    // post-roll has been recorded.
    let before = h.preroll.lock().unwrap().snapshot();
    let started_at = before.iter().filter_map(|u| u.pts).max().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let newest = h.preroll.lock().unwrap().snapshot().iter().filter_map(|u| u.pts).max().unwrap_or_default();
        if newest >= started_at + postroll {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no post-roll recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let later = h.preroll.lock().unwrap().snapshot();
    cams.stop().await;
    let units = ingest::clip::join_units(before, later);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("incident.mp4");
    let p = path.clone();
    let info = tokio::task::spawn_blocking(move || ingest::clip::write_mp4(&units, &p)).await.unwrap().unwrap();
    assert!(info.span >= preroll + postroll, "clip covers {:?}", info.span);

    let p = path.clone();
    let played = tokio::task::spawn_blocking(move || ingest::media::play_through(&p, Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the clip plays");
    assert!(played.starts_at_keyframe, "{played:?}");
    assert_eq!(played.decoded_frames as usize, info.units, "every unit decodes to a frame");
    let duration = ingest::media::duration(&path, Duration::from_secs(10)).expect("an MP4 knows its duration");
    assert!(duration + Duration::from_millis(150) >= preroll + postroll, "MP4 duration {duration:?}");
}
