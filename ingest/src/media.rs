//! Facts about a media file, read by GStreamer without decoding it.

use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::MediaError;
use crate::failure::{FailureKind, SourceFailure};
use crate::pipeline_parts::{launch, named};

/// The playing time of a video file (container or elementary stream), or None when
/// GStreamer cannot tell within `timeout` (an elementary H.264 stream has no index)
/// or the file is not a video.
pub fn duration(path: &Path, timeout: Duration) -> Option<Duration> {
    probe(path, timeout).ok().flatten()
}

/// Opens a file the way a camera pipeline would (type detection and demuxing, no
/// decoding): its playing time when known, None when GStreamer cannot tell within
/// `timeout`, or the failure a camera pipeline would meet, found in a second instead
/// of after loading the model (random bytes, text, an MP4 cut short before its index).
pub fn probe(path: &Path, timeout: Duration) -> Result<Option<Duration>, SourceFailure> {
    let setup = |what: &str| SourceFailure::new(FailureKind::Setup, format!("cannot build a file probe: {what}"));
    let location = path.to_str().ok_or_else(|| setup("the path is not UTF-8"))?;
    let pipeline = gst::Pipeline::new();
    let make = |name: &str| gst::ElementFactory::make(name).build().map_err(|e| setup(&e.to_string()));
    let src = make("filesrc")?;
    src.set_property("location", location);
    let parse = make("parsebin")?;
    let sink = make("fakesink")?;
    pipeline.add_many([&src, &parse, &sink]).map_err(|e| setup(&e.to_string()))?;
    src.link(&parse).map_err(|e| setup(&e.to_string()))?;
    let sink_weak = sink.downgrade();
    parse.connect_pad_added(move |_, pad| {
        if let Some(sink) = sink_weak.upgrade() {
            if let Some(sink_pad) = sink.static_pad("sink") {
                if !sink_pad.is_linked() {
                    let _ = pad.link(&sink_pad);
                }
            }
        }
    });
    let result = (|| {
        // A failed state change is followed by an error message on the bus: read it.
        let _ = pipeline.set_state(gst::State::Paused);
        let Some(bus) = pipeline.bus() else { return Ok(None) };
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::AsyncDone, gst::MessageType::Error],
        ) else {
            return Ok(None);
        };
        if let gst::MessageView::Error(err) = msg.view() {
            return Err(SourceFailure::from_gst_error(err));
        }
        Ok(pipeline.query_duration::<gst::ClockTime>().map(|d| Duration::from_nanos(d.nseconds())))
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// What playing a file through GStreamer's own demuxer and decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playback {
    /// Frames the decoder produced, start to end of stream.
    pub decoded_frames: u64,
    /// Whether the first unit out of the demuxer is a keyframe (no `DELTA_UNIT` flag).
    pub starts_at_keyframe: bool,
}

/// Plays `path` to its end (demux, decode, discard), as a player would: an error
/// anywhere, or no end within `timeout`, is an error.
pub fn play_through(path: &Path, timeout: Duration) -> Result<Playback, MediaError> {
    const WHAT: &str = "player";
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let location = utf8(path)?;
    let desc = format!("filesrc location=\"{location}\" ! parsebin name=p ! decodebin ! fakesink name=sink sync=false");
    let pipeline = launch(WHAT, &desc)?;
    let frames = Arc::new(AtomicU64::new(0));
    let first_key: Arc<std::sync::Mutex<Option<bool>>> = Arc::default();
    let sink = pipeline.by_name("sink").ok_or(MediaError::Missing { what: WHAT, part: "sink" })?;
    let counted = Arc::clone(&frames);
    sink.static_pad("sink").ok_or(MediaError::Missing { what: WHAT, part: "sink pad" })?.add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            counted.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    // The demuxed (still encoded) stream: is its first unit a keyframe?
    let parse = pipeline.by_name("p").ok_or(MediaError::Missing { what: WHAT, part: "parser" })?;
    let seen = Arc::new(AtomicBool::new(false));
    let fk = Arc::clone(&first_key);
    parse.connect_pad_added(move |_, pad| {
        let (seen, fk) = (Arc::clone(&seen), Arc::clone(&fk));
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                if !seen.swap(true, Ordering::SeqCst) {
                    *fk.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(!b.flags().contains(gst::BufferFlags::DELTA_UNIT));
                }
            }
            gst::PadProbeReturn::Ok
        });
    });
    pipeline.set_state(gst::State::Playing).map_err(|source| MediaError::Start { what: WHAT, source })?;
    let bus = pipeline.bus().ok_or(MediaError::Missing { what: WHAT, part: "bus" })?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let _ = pipeline.set_state(gst::State::Null);
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(Playback {
            decoded_frames: frames.load(Ordering::Relaxed),
            starts_at_keyframe: first_key.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or(false),
        }),
        Some(gst::MessageView::Error(e)) => Err(MediaError::Failed { what: WHAT, source: e.error() }),
        _ => Err(MediaError::Timeout { what: WHAT, timeout }),
    }
}

/// The `n`-th decoded frame of a video file (0-based) as packed BGR:
/// `(width, height, bytes)`. For checks of what a written video shows.
pub fn decoded_frame(path: &Path, n: usize, timeout: Duration) -> Result<(u32, u32, Vec<u8>), MediaError> {
    const WHAT: &str = "decoder";
    let location = utf8(path)?;
    let desc = format!(
        "filesrc location=\"{location}\" ! decodebin ! videoconvert ! video/x-raw,format=BGR ! appsink name=out sync=false"
    );
    let pipeline = launch(WHAT, &desc)?;
    let sink: gstreamer_app::AppSink = named(&pipeline, WHAT, "out")?;
    pipeline.set_state(gst::State::Playing).map_err(|source| MediaError::Start { what: WHAT, source })?;
    let clock = gst::ClockTime::from_nseconds(timeout.as_nanos() as u64);
    let mut result = Err(MediaError::Invalid(format!("the video has fewer than {} frames", n + 1)));
    for i in 0..=n {
        let Some(sample) = sink.try_pull_sample(clock) else { break };
        if i < n {
            continue;
        }
        let caps = sample.caps().ok_or(MediaError::Missing { what: WHAT, part: "caps" })?;
        let info = gstreamer_video::VideoInfo::from_caps(caps)
            .map_err(|source| MediaError::Assemble { what: "decoded frame's format", source })?;
        let buffer = sample.buffer().ok_or(MediaError::Missing { what: WHAT, part: "buffer" })?;
        let map = buffer.map_readable().map_err(|source| MediaError::Assemble { what: "decoded frame", source })?;
        let (w, h, stride) = (info.width(), info.height(), info.stride()[0] as usize);
        let mut packed = Vec::with_capacity((w * h * 3) as usize);
        for row in 0..h as usize {
            packed.extend_from_slice(&map[row * stride..row * stride + w as usize * 3]);
        }
        result = Ok((w, h, packed));
    }
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn utf8(path: &Path) -> Result<&str, MediaError> {
    path.to_str().ok_or_else(|| MediaError::Invalid(format!("{} is not a UTF-8 path", path.display())))
}
