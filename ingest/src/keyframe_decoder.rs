//! A small pool of keyframe decoders shared by every H.264 camera in keyframes mode.
//!
//! In keyframes mode a camera's decoder works about 2 % of the time, yet a 1080p
//! decoder with its picture and BGR buffers holds about 20 MB. Every keyframe that
//! passes the gate is a self-contained IDR with its SPS/PPS (the parser inserts them),
//! so any decoder can decode any camera's keyframe: a few decoders serve all cameras
//! and memory no longer grows with a decoder per camera.
//!
//! Each worker is an OS thread holding `appsrc ! parse ! avdec ! videoconvert !
//! appsink` pipelines, one per stream format (a fingerprint of the parameter sets the
//! keyframe carries), at most `DECODERS_PER_WORKER`, least recently used evicted:
//! cameras of one model share a decoder and never make it renegotiate. A job's output
//! is matched back to its camera through the timestamp given to its input, so a
//! decoder that holds a picture back still delivers it to the right camera, later.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::error::{with_causes, MediaError};
use crate::frame::{Frame, FrameSlot, Pixels};
use crate::gate::DropReason;
use crate::metrics;
use crate::nal::Codec;
use crate::pipeline_parts::{launch, named};

/// One keyframe to decode for one camera.
pub struct DecodeJob {
    pub camera_id: Arc<str>,
    pub slot: Arc<FrameSlot>,
    pub codec: Codec,
    pub pts: Option<Duration>,
    pub data: Arc<[u8]>,
    /// Counts delivered frames for the camera's fps.
    pub delivered: Arc<std::sync::atomic::AtomicU64>,
}

struct Queue {
    jobs: VecDeque<DecodeJob>,
    /// Jobs queued or being decoded, per camera.
    in_flight: HashMap<Arc<str>, usize>,
    stopped: bool,
}

pub struct KeyframeDecoderPool {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// Jobs not answered by the decoder within this time are given up.
const JOB_TIMEOUT: Duration = Duration::from_secs(5);
/// Decoders (stream formats) kept per worker thread.
const DECODERS_PER_WORKER: usize = 4;
/// How long to wait for a picture after pushing a keyframe (decoding one 1080p
/// keyframe takes about 10 ms here).
const PICTURE_WAIT: Duration = Duration::from_millis(100);
/// A decoder whose stream declares reordering (B-frames) may hold pictures back. An
/// IDR pushes every earlier picture out, so the same keyframe is pushed again (its
/// picture discarded) at most this many times. (Not yet exercised by a test stream
/// with B-frames.)
const MAX_FLUSH_PUSHES: usize = 3;

impl KeyframeDecoderPool {
    /// The process-wide pool: one worker per core, at most 4.
    pub fn global() -> &'static Arc<KeyframeDecoderPool> {
        static POOL: OnceLock<Arc<KeyframeDecoderPool>> = OnceLock::new();
        POOL.get_or_init(|| {
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
            KeyframeDecoderPool::start(workers)
        })
    }

    pub fn start(workers: usize) -> Arc<Self> {
        let queue = Queue { jobs: VecDeque::new(), in_flight: HashMap::new(), stopped: false };
        let pool = Arc::new(Self { queue: Mutex::new(queue), ready: Condvar::new() });
        for i in 0..workers {
            let p = Arc::clone(&pool);
            // A pool without workers would only drop frames; failing to spawn is fatal anyway.
            let _ = std::thread::Builder::new().name(format!("keyframe-decoder-{i}")).spawn(move || p.work());
        }
        pool
    }

    /// Queues a keyframe. A live camera never waits: a job of the same camera still
    /// queued is replaced by the newer one (counted as superseded). With `wait` (a
    /// file played as fast as possible) the caller waits instead, so every keyframe
    /// is decoded.
    pub fn submit(&self, job: DecodeJob, wait: bool) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if wait {
            q = self
                .ready
                .wait_while(q, |q| q.jobs.iter().any(|j| j.camera_id == job.camera_id) && !q.stopped)
                .unwrap_or_else(|p| p.into_inner());
        }
        if let Some(old) = q.jobs.iter_mut().find(|j| j.camera_id == job.camera_id) {
            metrics::frame_dropped(&old.camera_id, DropReason::Superseded);
            *old = job;
        } else {
            *q.in_flight.entry(Arc::clone(&job.camera_id)).or_default() += 1;
            q.jobs.push_back(job);
        }
        drop(q);
        self.ready.notify_all();
    }

    /// Waits until none of the camera's keyframes is queued or being decoded.
    pub fn wait_idle(&self, camera_id: &str, timeout: Duration) -> bool {
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let (_guard, result) = self
            .ready
            .wait_timeout_while(q, timeout, |q| q.in_flight.get(camera_id).copied().unwrap_or(0) > 0)
            .unwrap_or_else(|p| p.into_inner());
        !result.timed_out()
    }

    fn finished(&self, camera_id: &Arc<str>) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = q.in_flight.get_mut(camera_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                q.in_flight.remove(camera_id);
            }
        }
        drop(q);
        self.ready.notify_all();
    }

    fn next_job(&self, timeout: Duration) -> Option<DecodeJob> {
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let (mut q, _) = self
            .ready
            .wait_timeout_while(q, timeout, |q| q.jobs.is_empty() && !q.stopped)
            .unwrap_or_else(|p| p.into_inner());
        let job = q.jobs.pop_front();
        drop(q);
        if job.is_some() {
            // A waiting submitter may now queue its next keyframe.
            self.ready.notify_all();
        }
        job
    }

    fn work(&self) {
        // (codec, format fingerprint) -> decoder, with the time it was last used.
        let mut decoders: HashMap<(Codec, u64), (Decoder, Instant)> = HashMap::new();
        let mut pending: HashMap<u64, (DecodeJob, Instant)> = HashMap::new();
        let mut tag = 0u64;
        loop {
            if let Some(job) = self.next_job(Duration::from_millis(200)) {
                tag += 1;
                let key = (job.codec, crate::nal::parameter_set_fingerprint(job.codec, &job.data).unwrap_or(0));
                if !decoders.contains_key(&key) {
                    if decoders.len() >= DECODERS_PER_WORKER {
                        if let Some(oldest) = decoders.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k) {
                            decoders.remove(&oldest);
                        }
                    }
                    match Decoder::new(job.codec) {
                        Ok(d) => {
                            decoders.insert(key, (d, Instant::now()));
                        }
                        Err(e) => {
                            tracing::error!(camera = %job.camera_id, "keyframe decoder: {}", with_causes(&e));
                            self.finished(&job.camera_id);
                            continue;
                        }
                    }
                }
                let Some((decoder, used)) = decoders.get_mut(&key) else { continue };
                *used = Instant::now();
                if let Err(e) = decoder.push(&job.data, tag) {
                    tracing::warn!(camera = %job.camera_id, "keyframe decoder: {}; restarting it", with_causes(&e));
                    decoders.remove(&key);
                    self.finished(&job.camera_id);
                    continue;
                }
                let job_tag = tag;
                let data = Arc::clone(&job.data);
                pending.insert(job_tag, (job, Instant::now()));
                let mut flushes = 0;
                while pending.contains_key(&job_tag) {
                    match decoder.pull(PICTURE_WAIT) {
                        Some((out_tag, sample)) => {
                            if let Some((job, _)) = pending.remove(&out_tag) {
                                let camera = Arc::clone(&job.camera_id);
                                deliver(job, &sample);
                                self.finished(&camera);
                            }
                        }
                        None if flushes < MAX_FLUSH_PUSHES => {
                            // Held back: push the keyframe again to bump it out. Its own
                            // picture has an unknown tag and is dropped when it appears.
                            flushes += 1;
                            tag += 1;
                            if decoder.push(&data, tag).is_err() {
                                break;
                            }
                        }
                        None => break,
                    }
                }
            }
            let expired: Vec<u64> =
                pending.iter().filter(|(_, (_, at))| at.elapsed() >= JOB_TIMEOUT).map(|(t, _)| *t).collect();
            for t in expired {
                if let Some((job, _)) = pending.remove(&t) {
                    tracing::debug!(camera = %job.camera_id, "keyframe decoder gave no picture in time");
                    self.finished(&job.camera_id);
                }
            }
            if self.queue.lock().unwrap_or_else(|p| p.into_inner()).stopped {
                return;
            }
        }
    }
}

fn deliver(job: DecodeJob, sample: &gst::Sample) {
    let (Some(caps), Some(buffer)) = (sample.caps(), sample.buffer_owned()) else { return };
    let Ok(info) = gst_video::VideoInfo::from_caps(caps) else { return };
    let Ok(mapped) = buffer.into_mapped_buffer_readable() else { return };
    let stride = info.stride()[0] as usize;
    if mapped.len() < stride * info.height() as usize {
        return;
    }
    let frame = Frame {
        camera_id: Arc::clone(&job.camera_id),
        sequence: job.slot.next_sequence(),
        pts: job.pts,
        captured_at: SystemTime::now(),
        width: info.width(),
        height: info.height(),
        stride,
        pixels: Pixels::mapped(mapped),
    };
    job.delivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    metrics::frame_delivered(&job.camera_id);
    if job.slot.put(frame).is_some() {
        metrics::frame_dropped(&job.camera_id, DropReason::Superseded);
    }
}

struct Decoder {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    sink: gst_app::AppSink,
}

impl Decoder {
    fn new(codec: Codec) -> Result<Self, MediaError> {
        const WHAT: &str = "keyframe decoder";
        let (caps, parse, dec) = match codec {
            Codec::H264 => ("video/x-h264", "h264parse", "avdec_h264"),
            Codec::H265 => ("video/x-h265", "h265parse", "avdec_h265"),
        };
        let desc = format!(
            "appsrc name=src format=time caps={caps},stream-format=byte-stream,alignment=au \
             ! {parse} ! {dec} max-threads=1 ! videoconvert ! video/x-raw,format=BGR \
             ! appsink name=sink sync=false max-buffers=4"
        );
        let pipeline = launch(WHAT, &desc)?;
        let src: gst_app::AppSrc = named(&pipeline, WHAT, "src")?;
        let sink: gst_app::AppSink = named(&pipeline, WHAT, "sink")?;
        pipeline.set_state(gst::State::Playing).map_err(|source| MediaError::Start { what: WHAT, source })?;
        Ok(Self { pipeline, src, sink })
    }

    /// The tag rides in the timestamp (1 ms apart, always increasing).
    fn push(&self, data: &Arc<[u8]>, tag: u64) -> Result<(), MediaError> {
        let mut buffer = gst::Buffer::from_slice(Arc::clone(data));
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_mseconds(tag));
            b.set_dts(gst::ClockTime::from_mseconds(tag));
            b.set_duration(gst::ClockTime::from_mseconds(1));
        }
        self.src
            .push_buffer(buffer)
            .map(|_| ())
            .map_err(|source| MediaError::Refused { what: "keyframe decoder", source })
    }

    fn pull(&self, timeout: Duration) -> Option<(u64, gst::Sample)> {
        let sample = self.sink.try_pull_sample(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64))?;
        let tag = sample.buffer()?.pts()?.mseconds();
        Some((tag, sample))
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
