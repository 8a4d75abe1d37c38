//! One camera's GStreamer pipeline:
//!
//! ```text
//! source head (rtspsrc ! depay | filesrc ! parsebin | videotestsrc ! x264enc)
//!   ! h26xparse ! byte-stream/au ! identity (clock pacing for realtime files)
//!   ──probe: pre-roll + decode gate + change gate──► H.264 keyframes to the shared decoders
//!   ! avdec_h26x ──probe: sampling (dropped frames are never converted)──
//!   ! videoconvert ! BGR ! appsink (1 buffer, drop old)
//! ```
//!
//! The codec tail is built when the source's caps are known, so H.264 and H.265
//! take the same path. The probe sits *before* the decoder: in keyframes mode
//! delta units never reach it, which is where the CPU saving comes from.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::change_gate::ChangeGate;
use crate::failure::{FailureKind, SourceFailure};
use crate::frame::{Frame, FrameSlot, Pixels};
use crate::gate::{DecodeGate, DropReason, Sampler};
use crate::keyframe_decoder::{DecodeJob, KeyframeDecoderPool};
use crate::nal::{self, Codec};
use crate::preroll::{EncodedUnit, PrerollBuffer};
use crate::slice_qp::H264Syntax;
use crate::{metrics, CameraSettings, DecodeMode, Pacing, SourceKind};

/// State shared between the pipeline's streaming threads and its supervisor.
pub struct PipelineShared {
    pub camera_id: Arc<str>,
    started: Instant,
    /// Milliseconds after `started` when the last encoded unit arrived; 0 = none yet.
    last_unit_ms: AtomicU64,
    /// Shared with the keyframe decoders, which deliver on the camera's behalf.
    pub frames_delivered: Arc<AtomicU64>,
    pub gate: Mutex<DecodeGate>,
    /// The camera's change gate (kept across pipelines: its baseline is the camera's).
    change_gate: Arc<Mutex<ChangeGate>>,
    /// This stream's parameter sets, for the quantiser of each unit (change gating).
    syntax: Mutex<H264Syntax>,
    sampler: Mutex<Sampler>,
    pub preroll: Arc<Mutex<PrerollBuffer>>,
    /// Set by the source when the stream has no usable video.
    pub no_video: AtomicBool,
    /// Set before the pipeline is stopped: a streaming thread waiting for the
    /// detector (lossless hand-over) stops waiting.
    pub stopping: AtomicBool,
    /// The stream's last parameter sets (SPS/PPS...), put in front of keyframes that
    /// come without them (an H.265 CRA, for one) before they go to a shared decoder.
    pub parameter_sets: Mutex<Option<Arc<[u8]>>>,
}

impl PipelineShared {
    /// Time since the last encoded unit, or None before the first.
    pub fn since_last_unit(&self) -> Option<Duration> {
        match self.last_unit_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.started.elapsed().saturating_sub(Duration::from_millis(ms))),
        }
    }
}

pub struct CameraPipeline {
    pub pipeline: gst::Pipeline,
    pub shared: Arc<PipelineShared>,
}

fn make(factory: &str, name: Option<&str>) -> Result<gst::Element, SourceFailure> {
    let b = gst::ElementFactory::make(factory);
    let b = match name {
        Some(n) => b.name(n),
        None => b,
    };
    b.build().map_err(|_| {
        SourceFailure::new(
            FailureKind::Setup,
            format!("GStreamer element `{factory}` is missing (run deploy/setup.sh)"),
        )
    })
}

/// `test://pattern?width=W&height=H&fps=F&keyint=K`
fn test_source(settings: &CameraSettings) -> Result<Vec<gst::Element>, SourceFailure> {
    let url = settings.url.address();
    let q = |k: &str| url.query_pairs().find(|(key, _)| key == k).and_then(|(_, v)| v.parse::<i32>().ok());
    let (w, h, fps, keyint) =
        (q("width").unwrap_or(640), q("height").unwrap_or(360), q("fps").unwrap_or(10), q("keyint"));
    let pattern = url.host_str().unwrap_or("smpte").to_string();
    let src = make("videotestsrc", None)?;
    src.set_property("is-live", true);
    src.set_property_from_str("pattern", &pattern);
    let caps = make("capsfilter", None)?;
    caps.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("width", w)
            .field("height", h)
            .field("framerate", gst::Fraction::new(fps, 1))
            .build(),
    );
    let enc = make("x264enc", None)?;
    enc.set_property_from_str("tune", "zerolatency");
    enc.set_property_from_str("speed-preset", "ultrafast");
    enc.set_property("key-int-max", keyint.unwrap_or(fps) as u32);
    enc.set_property("bframes", 0u32);
    Ok(vec![src, caps, enc])
}

/// Elements from the parser to the appsink for one codec.
fn codec_tail(
    codec: &str,
    shared: &Arc<PipelineShared>,
    settings: &CameraSettings,
    slot: Arc<FrameSlot>,
) -> Result<Vec<gst::Element>, SourceFailure> {
    let (parser, decoder, caps_name) = match codec {
        "h264" => ("h264parse", "avdec_h264", "video/x-h264"),
        "h265" => ("h265parse", "avdec_h265", "video/x-h265"),
        other => return Err(SourceFailure::new(FailureKind::NotVideo, format!("unsupported codec {other}"))),
    };
    let parse = make(parser, None)?;
    // SPS/PPS with every keyframe, so any clip cut at a keyframe is self-contained.
    parse.set_property("config-interval", -1i32);
    let au = make("capsfilter", None)?;
    au.set_property(
        "caps",
        gst::Caps::builder(caps_name).field("stream-format", "byte-stream").field("alignment", "au").build(),
    );
    let dec = make(decoder, None)?;
    // One thread per decoder: no frame-threading delay, and many cameras share the cores.
    if dec.has_property("max-threads") {
        dec.set_property("max-threads", 1i32);
    }
    let convert = make("videoconvert", None)?;
    let sink = gst_app::AppSink::builder()
        .caps(&gst::Caps::builder("video/x-raw").field("format", "BGR").build())
        .max_buffers(1)
        .drop(true)
        .build();
    // Files at recorded speed follow the clock. The pacing happens on the encoded
    // stream, before the gate: in keyframes mode nothing may reach the appsink at all
    // (keyframes go to the shared decoders), so the sink cannot be what paces.
    // Live sources and `fast` files do not wait.
    let realtime_file = settings.url.kind() == SourceKind::File && settings.pacing == Pacing::Realtime;
    sink.set_property("sync", false);
    let pace = make("identity", None)?;
    pace.set_property("sync", realtime_file);
    let nal_codec = if codec == "h264" { Codec::H264 } else { Codec::H265 };
    // A file played as fast as possible waits for the decoders instead of dropping.
    let backpressure = settings.url.kind() == SourceKind::File && settings.pacing == Pacing::Fast;
    // Change gating applies to keyframes-only decoding (and not to its fallback). Not
    // to H.265 files played fast: their keyframes go through the camera's own decoder,
    // downstream of the gate, so a replay could not wait for the detector's answer
    // about the previous one without risking the decoder holding it back.
    let gating = settings.change_gate.enabled
        && settings.decode == DecodeMode::Keyframes
        && !(backpressure && nal_codec == Codec::H265);
    install_gate_probe(&pace, nal_codec, gating, Arc::clone(shared), Arc::clone(&slot), backpressure);
    install_sampling_probe(&convert, Arc::clone(shared));
    install_frame_callback(&sink, Arc::clone(shared), Arc::clone(&slot), backpressure);
    Ok(vec![parse, au, pace, dec, convert, sink.upcast()])
}

/// Feeds the pre-roll and drops what the decode mode says should not be decoded.
/// In keyframes mode, H.264 keyframes go to the shared decoder pool and nothing goes
/// downstream; while decoding everything (sampled, all, or the keyframes fallback),
/// and for H.265, units go downstream to the camera's own decoder.
fn install_gate_probe(
    au: &gst::Element,
    codec: Codec,
    gating: bool,
    shared: Arc<PipelineShared>,
    slot: Arc<FrameSlot>,
    backpressure: bool,
) {
    let pool = Arc::clone(KeyframeDecoderPool::global());
    let Some(pad) = au.static_pad("src") else { return };
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(buffer) = info.buffer() else { return gst::PadProbeReturn::Ok };
        let flagged_key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let pts = buffer.pts().map(|t| Duration::from_nanos(t.nseconds()));
        let now_ms = (shared.started.elapsed().as_millis() as u64).max(1);
        shared.last_unit_ms.store(now_ms, Ordering::Relaxed);
        if let Some(pts) = pts {
            slot.advance_position(pts);
        }
        let Ok(map) = buffer.map_readable() else { return gst::PadProbeReturn::Drop };
        // The bitstream decides (see nal.rs); the flags only when it holds no slice.
        let keyframe = nal::is_keyframe(codec, map.as_slice()).unwrap_or(flagged_key);
        metrics::encoded_bytes(&shared.camera_id, map.len());
        let data: Arc<[u8]> = Arc::from(map.as_slice());
        {
            let unit = EncodedUnit {
                pts,
                dts: buffer.dts().map(|t| Duration::from_nanos(t.nseconds())),
                duration: buffer.duration().map(|t| Duration::from_nanos(t.nseconds())),
                keyframe,
                data: Arc::clone(&data),
            };
            let mut preroll = shared.preroll.lock().unwrap_or_else(|p| p.into_inner());
            preroll.push(unit);
            metrics::preroll_bytes(&shared.camera_id, preroll.bytes());
        }
        let (decision, decodes_all) = {
            let mut gate = shared.gate.lock().unwrap_or_else(|p| p.into_inner());
            let d = gate.on_unit(keyframe, pts);
            (d, gate.decodes_all())
        };
        let gated = gating && !decodes_all;
        if gating && decodes_all {
            // Decoding everything (the keyframes fallback): the gate starts afresh after.
            shared.change_gate.lock().unwrap_or_else(|p| p.into_inner()).reset();
        } else if gated {
            // Keyframes carry the parameter sets the quantiser of later units needs.
            let qp = match codec {
                Codec::H264 => shared.syntax.lock().unwrap_or_else(|p| p.into_inner()).access_unit_qp(&data),
                Codec::H265 => None,
            };
            if !keyframe {
                shared.change_gate.lock().unwrap_or_else(|p| p.into_inner()).on_delta(data.len(), qp);
            }
        }
        if let Some(fallback) = decision.fallback_changed {
            if fallback {
                tracing::warn!(camera = %shared.camera_id, "keyframes are further apart than max_keyframe_interval_secs: decoding all frames (sampled) until they are not");
            } else {
                tracing::info!(camera = %shared.camera_id, "keyframe interval back within limits: keyframes-only decoding");
            }
        }
        if gated && keyframe && decision.pass.is_ok() {
            if backpressure {
                // The previous keyframe decoded and handed over first, so that the
                // detector's answer about it can be waited for.
                let stopping = || shared.stopping.load(Ordering::Relaxed);
                while !pool.wait_idle(&shared.camera_id, Duration::from_millis(100)) && !stopping() {}
            }
            if !analyse_keyframe(&shared, &slot, pts, backpressure) {
                return gst::PadProbeReturn::Drop;
            }
        }
        match decision.pass {
            // H.265 keyframes stay with the camera's own decoder: libav's HEVC decoder,
            // shared, gave no picture for CRA keyframes of another stream position.
            Ok(()) if keyframe && !decodes_all && codec == Codec::H264 => {
                if backpressure {
                    // Lossless: the previous keyframe decoded and taken by the detector
                    // before this one goes (waiting here holds only this file's thread).
                    let stopping = || shared.stopping.load(Ordering::Relaxed);
                    while !pool.wait_idle(&shared.camera_id, Duration::from_millis(100)) && !stopping() {}
                    slot.wait_until_empty(stopping);
                }
                if !backpressure && !slot.is_empty() {
                    // The detector is behind: keep its current frame rather than spend a
                    // decode on a newer one it cannot take yet (the pre-roll has the unit).
                    metrics::frame_dropped(&shared.camera_id, DropReason::DetectorBusy);
                    return gst::PadProbeReturn::Drop;
                }
                let data = with_parameter_sets(&shared, codec, data);
                pool.submit(DecodeJob {
                    camera_id: Arc::clone(&shared.camera_id),
                    slot: Arc::clone(&slot),
                    codec,
                    pts,
                    data,
                    delivered: Arc::clone(&shared.frames_delivered),
                }, backpressure);
                gst::PadProbeReturn::Drop
            }
            Ok(()) => gst::PadProbeReturn::Ok,
            Err(reason) => {
                metrics::frame_dropped(&shared.camera_id, reason);
                gst::PadProbeReturn::Drop
            }
        }
    });
}

/// The change gate's decision on a keyframe (keyframes mode); a skipped one is
/// counted and never decoded. A file played as fast as possible first waits for the
/// detector's answer about the previous frame, so the decisions are the same on any
/// machine.
fn analyse_keyframe(shared: &PipelineShared, slot: &FrameSlot, pts: Option<Duration>, backpressure: bool) -> bool {
    let feedback = slot.feedback();
    if backpressure
        && !feedback.wait_answered(ANSWER_TIMEOUT, || shared.stopping.load(Ordering::Relaxed))
        && !shared.stopping.load(Ordering::Relaxed)
    {
        tracing::warn!(camera = %shared.camera_id, "the detector did not answer about the previous frame in {} s: deciding without it", ANSWER_TIMEOUT.as_secs());
    }
    let mut change = shared.change_gate.lock().unwrap_or_else(|p| p.into_inner());
    let verdict = change.on_keyframe(pts, feedback.wanted());
    metrics::keyframe_gated(&shared.camera_id, verdict, change.last_ratio());
    tracing::debug!(camera = %shared.camera_id, pts = ?pts, verdict = verdict.as_str(), ratio = ?change.last_ratio(), "change gate");
    if !verdict.analyse() {
        metrics::frame_dropped(&shared.camera_id, DropReason::StillScene);
    }
    verdict.analyse()
}

/// How long a replay waits for the detector's answer about a frame before deciding
/// without it (only an analysis that failed gives no answer).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Thins decoded frames to the sampling rate before the colour conversion, so the
/// frames sampling drops (most of them: 23 of 25 a second at 2 fps) are never
/// converted to BGR.
fn install_sampling_probe(convert: &gst::Element, shared: Arc<PipelineShared>) {
    let Some(pad) = convert.static_pad("sink") else { return };
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(buffer) = info.buffer() else { return gst::PadProbeReturn::Ok };
        if !shared.gate.lock().unwrap_or_else(|p| p.into_inner()).samples() {
            return gst::PadProbeReturn::Ok;
        }
        let pts = buffer.pts().map(|t| Duration::from_nanos(t.nseconds()));
        if shared.sampler.lock().unwrap_or_else(|p| p.into_inner()).admit(pts) {
            gst::PadProbeReturn::Ok
        } else {
            metrics::frame_dropped(&shared.camera_id, DropReason::Sampling);
            // Taken and released here, then Handled: returning Drop for the decoder's
            // buffers gave `gst_mini_object_unref: assertion 'mini_object != NULL'`
            // criticals (636 in one replay of the footage), with Handled none.
            drop(info.take_buffer());
            gst::PadProbeReturn::Handled
        }
    });
}

/// A keyframe that a decoder can start from on its own: the camera's last parameter
/// sets are put in front when it carries none.
fn with_parameter_sets(shared: &PipelineShared, codec: Codec, keyframe: Arc<[u8]>) -> Arc<[u8]> {
    let mut cached = shared.parameter_sets.lock().unwrap_or_else(|p| p.into_inner());
    match nal::parameter_sets(codec, &keyframe) {
        Some(ps) => {
            *cached = Some(Arc::from(ps));
            keyframe
        }
        None => match cached.as_ref() {
            Some(ps) => {
                let mut joined = Vec::with_capacity(ps.len() + keyframe.len());
                joined.extend_from_slice(ps);
                joined.extend_from_slice(&keyframe);
                Arc::from(joined)
            }
            None => keyframe,
        },
    }
}

/// Hands each decoded frame, without a copy, to the camera's slot.
fn install_frame_callback(
    sink: &gst_app::AppSink,
    shared: Arc<PipelineShared>,
    slot: Arc<FrameSlot>,
    backpressure: bool,
) {
    let mut info_cache: Option<(gst::Caps, gst_video::VideoInfo)> = None;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let (Some(pts), Some(caps)) = (sample.buffer().map(|b| b.pts()), sample.caps()) else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let pts = pts.map(|t| Duration::from_nanos(t.nseconds()));
                if info_cache.as_ref().is_none_or(|(c, _)| c != caps) {
                    let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::FlowError::NotNegotiated)?;
                    info_cache = Some((caps.to_owned(), info));
                }
                let Some((_, info)) = info_cache.as_ref() else { return Err(gst::FlowError::NotNegotiated) };
                let (width, height, stride) = (info.width(), info.height(), info.stride()[0] as usize);
                // BGR is one plane at offset 0; the mapping covers every row.
                let Some(buffer) = sample.buffer_owned() else { return Ok(gst::FlowSuccess::Ok) };
                let mapped = buffer.into_mapped_buffer_readable().map_err(|_| gst::FlowError::Error)?;
                if mapped.len() < stride * height as usize {
                    return Err(gst::FlowError::Error);
                }
                let frame = Frame {
                    camera_id: Arc::clone(&shared.camera_id),
                    sequence: slot.next_sequence(),
                    pts,
                    captured_at: SystemTime::now(),
                    width,
                    height,
                    stride,
                    pixels: Pixels::mapped(mapped),
                };
                if backpressure {
                    slot.wait_until_empty(|| shared.stopping.load(Ordering::Relaxed));
                }
                shared.frames_delivered.fetch_add(1, Ordering::Relaxed);
                metrics::frame_delivered(&shared.camera_id);
                if slot.put(frame).is_some() {
                    metrics::frame_dropped(&shared.camera_id, DropReason::Superseded);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// Adds elements to the pipeline, links them in order and starts them.
fn add_and_link(pipeline: &gst::Pipeline, elements: &[gst::Element], sync: bool) -> Result<(), SourceFailure> {
    let fail = |what: &str| SourceFailure::new(FailureKind::Setup, what);
    pipeline.add_many(elements).map_err(|_| fail("cannot add elements to the pipeline"))?;
    gst::Element::link_many(elements).map_err(|_| fail("cannot link the pipeline"))?;
    if sync {
        for e in elements {
            e.sync_state_with_parent().map_err(|_| fail("cannot start a pipeline element"))?;
        }
    }
    Ok(())
}

/// Codec named by caps: `video/x-h264`, or RTP caps with `encoding-name=H264`.
fn codec_of(caps: &gst::CapsRef) -> Option<&'static str> {
    let s = caps.structure(0)?;
    let name = match s.name().as_str() {
        "application/x-rtp" => s.get::<&str>("encoding-name").ok()?.to_ascii_uppercase(),
        other => other.to_string(),
    };
    match name.as_str() {
        "video/x-h264" | "H264" => Some("h264"),
        "video/x-h265" | "H265" => Some("h265"),
        _ => None,
    }
}

/// Builds (but does not start) the pipeline for a camera.
pub fn build(
    settings: &CameraSettings,
    slot: Arc<FrameSlot>,
    preroll: Arc<Mutex<PrerollBuffer>>,
    change_gate: Arc<Mutex<ChangeGate>>,
) -> Result<CameraPipeline, SourceFailure> {
    // A new stream: its times start afresh, and so do the detector's answers.
    change_gate.lock().unwrap_or_else(|p| p.into_inner()).reset();
    slot.feedback().reset();
    let shared = Arc::new(PipelineShared {
        camera_id: Arc::clone(&settings.id),
        started: Instant::now(),
        last_unit_ms: AtomicU64::new(0),
        frames_delivered: Arc::new(AtomicU64::new(0)),
        gate: Mutex::new(DecodeGate::new(settings.decode, settings.max_keyframe_interval)),
        change_gate,
        syntax: Mutex::new(H264Syntax::default()),
        sampler: Mutex::new(Sampler::new(settings.sample_fps)),
        preroll,
        no_video: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        parameter_sets: Mutex::new(None),
    });
    shared.preroll.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let pipeline = gst::Pipeline::with_name(&format!("camera-{}", settings.id));

    match settings.url.kind() {
        SourceKind::Test => {
            let mut elements = test_source(settings)?;
            elements.extend(codec_tail("h264", &shared, settings, slot)?);
            add_and_link(&pipeline, &elements, false)?;
        }
        SourceKind::File => {
            let path = settings
                .url
                .file_path()
                .ok_or_else(|| SourceFailure::new(FailureKind::NotFound, "file URL has no local path"))?;
            if !path.is_file() {
                return Err(SourceFailure::new(
                    FailureKind::NotFound,
                    format!("file {} does not exist", path.display()),
                ));
            }
            let src = make("filesrc", None)?;
            src.set_property("location", path.to_string_lossy().as_ref());
            let parsebin = make("parsebin", None)?;
            add_and_link(&pipeline, &[src, parsebin.clone()], false)?;
            dynamic_tail(&pipeline, &parsebin, &shared, settings, slot, false);
        }
        SourceKind::Rtsp => {
            let src = make("rtspsrc", None)?;
            // The address without user info; credentials go in their own properties so
            // they never appear in a URL that GStreamer might log.
            src.set_property("location", settings.url.address().as_str());
            if let Some(c) = settings.url.credentials() {
                src.set_property("user-id", c.username.as_str());
                src.set_property("user-pw", c.expose_password());
            }
            src.set_property_from_str(
                "protocols",
                match settings.transport {
                    crate::RtspTransport::Tcp => "tcp",
                    crate::RtspTransport::Udp => "udp",
                },
            );
            src.set_property("latency", settings.latency_ms);
            // Give up on a dead TCP connection in about the stall timeout, not minutes.
            src.set_property("tcp-timeout", settings.stall_timeout.as_micros() as u64);
            pipeline.add(&src).map_err(|_| SourceFailure::new(FailureKind::Setup, "cannot add rtspsrc"))?;
            dynamic_tail(&pipeline, &src, &shared, settings, slot, true);
        }
    }
    Ok(CameraPipeline { pipeline, shared })
}

/// Links the codec tail when the source exposes a video pad (rtspsrc, parsebin).
fn dynamic_tail(
    pipeline: &gst::Pipeline,
    source: &gst::Element,
    shared: &Arc<PipelineShared>,
    settings: &CameraSettings,
    slot: Arc<FrameSlot>,
    rtp: bool,
) {
    let weak_pipeline = pipeline.downgrade();
    let shared_pad = Arc::clone(shared);
    let settings = settings.clone();
    let linked = Arc::new(AtomicBool::new(false));
    let linked_pad = Arc::clone(&linked);
    source.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak_pipeline.upgrade() else { return };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let Some(codec) = codec_of(&caps) else {
            tracing::debug!(camera = %shared_pad.camera_id, caps = %caps, "ignoring a non-video pad");
            return;
        };
        if linked_pad.swap(true, Ordering::SeqCst) {
            return; // one video stream per camera
        }
        let result = (|| {
            let mut elements = Vec::new();
            if rtp {
                elements.push(make(if codec == "h264" { "rtph264depay" } else { "rtph265depay" }, None)?);
            }
            elements.extend(codec_tail(codec, &shared_pad, &settings, slot.clone())?);
            add_and_link(&pipeline, &elements, true)?;
            let sink_pad =
                elements[0].static_pad("sink").ok_or_else(|| SourceFailure::new(FailureKind::Setup, "no sink pad"))?;
            pad.link(&sink_pad)
                .map_err(|e| SourceFailure::new(FailureKind::Setup, format!("cannot link the video pad: {e:?}")))?;
            Ok::<(), SourceFailure>(())
        })();
        if let Err(failure) = result {
            tracing::error!(camera = %shared_pad.camera_id, "{failure}");
            let _ = pipeline
                .post_message(gst::message::Error::builder(gst::CoreError::Negotiation, &failure.message).build());
        }
    });
    let weak_pipeline = pipeline.downgrade();
    let shared_nmp = Arc::clone(shared);
    source.connect_no_more_pads(move |_| {
        if !linked.load(Ordering::SeqCst) {
            shared_nmp.no_video.store(true, Ordering::SeqCst);
            if let Some(p) = weak_pipeline.upgrade() {
                let _ = p.post_message(
                    gst::message::Error::builder(
                        gst::StreamError::WrongType,
                        "the input has no H.264 or H.265 video stream",
                    )
                    .build(),
                );
            }
        }
    });
}
