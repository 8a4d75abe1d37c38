//! Analysed frames through each camera's analysis (tracker, zones, rules, incident
//! lifecycles), and the incident events it emits out: an annotated snapshot on disk
//! for STARTED and UPDATED, then the event in the wire schema to the router, whose
//! outbox has it on disk before `submit` returns (this is where the pipeline blocks
//! when the disk is slow: detector → router blocks, by design), a log line, metrics.
//!
//! This runs on the inference threads: a camera's frames are analysed in order under
//! its own lock, so one camera never waits for another's analysis.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use detector::analysis::CameraAnalysis;
use detector::evidence::render_snapshot;
use detector::image::ImageRef;
use detector::incidents::{IncidentEvent, Phase};
use detector::preprocess::privacy_mask::PrivacyMask;
use detector::workers::feed::AnalysableFrame;
use detector::workers::pool::{AnalysedFrame, DetectionSink};
use detector::zones::Zone;
use ingest::{CameraHandle, Pacing, SourceKind};
use metrics::{counter, describe_counter, describe_gauge, gauge};

use super::analysis::{camera_analysis, utc_offset_minutes, zones};
use detector::evidence::annotate::{annotate_frame, Annotation};
use detector::timestamp::Timestamp;
use ingest::video_writer::VideoWriter;

use super::clips::{ClipJob, ClipWriter};
use super::detection::{privacy_masks, IngestFrame};
use super::evidence_upload::EvidenceUploader;
use super::incident_proto::{to_wire, WireContext};
use super::stream_clock::{ClockSource, StreamClock};
use crate::config::schema::CameraConfig;
use crate::config::Config;

const SNAPSHOT_JPEG_QUALITY: i32 = 85;

struct CameraState {
    id: Arc<str>,
    /// The camera's encoded pre-roll, for evidence clips.
    ring: Arc<Mutex<ingest::preroll::PrerollBuffer>>,
    /// The camera as events name it, and its routing group.
    wire: proto::v1::CameraRef,
    group: Option<String>,
    masks: Vec<PrivacyMask>,
    zones: Vec<Zone>,
    utc_offset_minutes: i32,
    analysis: Mutex<(CameraAnalysis, StreamClock)>,
    /// Frames analysed, and the stream time of the latest (progress of a replay).
    frames: AtomicU64,
    last_pts_ms: AtomicU64,
    /// The annotated video being written (replay `--annotate`).
    annotated: Mutex<Option<VideoWriter>>,
    /// Wall-clock Unix ms of the newest analysed frame (0: none yet).
    last_frame_ms: AtomicI64,
    /// A recent small picture for the console: (taken at, Unix ms; JPEG).
    thumbnail: Mutex<Option<(i64, Arc<Vec<u8>>)>>,
}

/// What the console shows of a camera's picture.
pub struct CameraPicture {
    /// Wall-clock Unix ms of the newest analysed frame.
    pub last_frame_ms: Option<i64>,
    pub thumbnail: Option<Arc<Vec<u8>>>,
}

/// How often a camera's console thumbnail is renewed.
const THUMBNAIL_EVERY_MS: i64 = 5_000;
const THUMBNAIL_WIDTH: u32 = 320;

/// What `run` and `replay` set up differently.
#[derive(Default)]
pub struct SinkOptions {
    /// Time zero of fast files' clocks (a replay's fixed start); None: the wall clock
    /// at their first frame.
    pub stream_time_base: Option<detector::timestamp::Timestamp>,
    pub clips: Option<ClipWriter>,
    /// Write an annotated video per camera here (`<camera>.mp4`).
    pub annotate_dir: Option<PathBuf>,
    /// Also put evidence in object storage (`[storage.s3]`).
    pub uploader: Option<Arc<EvidenceUploader>>,
    /// Keep a recent thumbnail per camera (for the console).
    pub thumbnails: bool,
}

pub struct IncidentSink {
    /// By the detector's camera index; None once a camera is retired (a cluster
    /// pipeline's camera taken away).
    cameras: RwLock<Vec<Option<Arc<CameraState>>>>,
    /// For the stream clocks of cameras added later.
    stream_time_base: Option<detector::timestamp::Timestamp>,
    data_dir: PathBuf,
    instance: String,
    model: detector::ModelManifest,
    router: Arc<router::Router>,
    clips: Mutex<Option<(ClipWriter, Duration)>>,
    annotate_dir: Option<PathBuf>,
    uploader: Mutex<Option<Arc<EvidenceUploader>>>,
    thumbnails: bool,
}

pub fn describe_metrics() {
    describe_counter!("streetwatch_objects_detected_total", "Objects detected in analysed frames, per class.");
    describe_counter!("streetwatch_incident_events_total", "Incident events emitted, per camera, kind and phase.");
    describe_gauge!("streetwatch_incidents_open", "Incidents open now (STARTED, not yet ENDED), per camera.");
    describe_gauge!("streetwatch_tracked_objects", "Objects the camera's tracker follows now (seen or briefly lost).");
    describe_counter!(
        "streetwatch_incident_write_errors_total",
        "Incident events or snapshots that could not be written to disk (each also logged at error)."
    );
}

impl IncidentSink {
    /// One analysis per camera, in the order of `cameras` (the detector's order).
    pub fn new(config: &Config, cameras: &[CameraHandle], router: Arc<router::Router>, options: SinkOptions) -> Self {
        let SinkOptions { stream_time_base, clips, annotate_dir, uploader, thumbnails } = options;
        let states =
            cameras.iter().map(|handle| Some(Arc::new(camera_state(config, handle, stream_time_base)))).collect();
        Self {
            cameras: RwLock::new(states),
            stream_time_base,
            data_dir: config.data_dir.clone(),
            instance: config.service.instance.clone(),
            model: config.model_manifest.clone(),
            router,
            clips: Mutex::new(clips.map(|w| (w, Duration::from_secs(config.storage.clip_postroll_secs)))),
            annotate_dir,
            uploader: Mutex::new(uploader),
            thumbnails,
        }
    }

    /// Adds a camera of `config` (the detector's next index); returns its index.
    pub fn add_camera(&self, config: &Config, handle: &CameraHandle) -> usize {
        let state = Arc::new(camera_state(config, handle, self.stream_time_base));
        let mut cameras = self.cameras.write().unwrap_or_else(|p| p.into_inner());
        cameras.push(Some(state));
        cameras.len() - 1
    }

    /// Stops analysing the camera at `index`: once this returns, no frame of it is
    /// being analysed and none will be. Its open incidents end with it (no ENDED: the
    /// worker that takes the camera over starts afresh).
    pub fn retire(&self, index: usize) {
        let state = self.cameras.write().unwrap_or_else(|p| p.into_inner()).get_mut(index).and_then(Option::take);
        if let Some(state) = state {
            // Waits for a frame being analysed right now (its events go out first).
            drop(state.analysis.lock().unwrap_or_else(|p| p.into_inner()));
            gauge!("streetwatch_incidents_open", "camera" => state.id.to_string()).set(0.0);
            gauge!("streetwatch_tracked_objects", "camera" => state.id.to_string()).set(0.0);
        }
    }

    /// The cameras analysed now.
    fn live(&self) -> Vec<Arc<CameraState>> {
        self.cameras.read().unwrap_or_else(|p| p.into_inner()).iter().flatten().cloned().collect()
    }

    /// The newest analysed frame's wall-clock time (Unix ms) and a recent thumbnail
    /// of camera `id`; None for an unknown camera.
    pub fn camera_picture(&self, id: &str) -> Option<CameraPicture> {
        let cam = self.live().into_iter().find(|c| &*c.id == id)?;
        let last = cam.last_frame_ms.load(Ordering::Relaxed);
        let thumbnail = cam.thumbnail.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(_, j)| Arc::clone(j));
        Some(CameraPicture { last_frame_ms: (last > 0).then_some(last), thumbnail })
    }

    /// Renews the camera's thumbnail when it is old enough.
    fn refresh_thumbnail(&self, cam: &CameraState, image: ImageRef<'_>, now_ms: i64) {
        let due = cam
            .thumbnail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_none_or(|(taken, _)| now_ms - taken >= THUMBNAIL_EVERY_MS);
        if !due {
            return;
        }
        match detector::evidence::thumbnail::thumbnail_jpeg(image, &cam.masks, THUMBNAIL_WIDTH, 75) {
            Ok(jpeg) => *cam.thumbnail.lock().unwrap_or_else(|p| p.into_inner()) = Some((now_ms, Arc::new(jpeg))),
            Err(e) => tracing::warn!(camera = %cam.id, "thumbnail: {:#}", anyhow::Error::new(e)),
        }
    }

    fn uploader(&self) -> Option<Arc<EvidenceUploader>> {
        self.uploader.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The URI an event carries for evidence at `key`: the object's, when evidence
    /// goes to object storage, else the path under the data directory.
    fn evidence_uri(&self, key: &str) -> String {
        self.uploader().map_or_else(|| key.to_string(), |u| u.uri(key))
    }

    /// Puts what is queued in object storage, then stops the uploader.
    pub fn finish_uploads(&self) {
        let uploader = self.uploader.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(u) = uploader {
            match Arc::try_unwrap(u) {
                Ok(u) => u.finish(),
                Err(still_shared) => drop(still_shared),
            }
        }
    }

    /// Draws the frame as the analysis saw it and appends it to the camera's
    /// annotated video. A failure stops that video (logged) and nothing else.
    fn annotate(
        &self,
        cam: &CameraState,
        analysis: &CameraAnalysis,
        image: ImageRef<'_>,
        now: Timestamp,
        pts: Duration,
    ) {
        let Some(dir) = &self.annotate_dir else { return };
        let mut video = cam.annotated.lock().unwrap_or_else(|p| p.into_inner());
        let in_incident = analysis.tracks_in_incidents();
        let open = analysis.open_incident_summaries(now);
        let first = format!("{}  {}", cam.id, &now.rfc3339(cam.utc_offset_minutes)[..19]);
        let second = if open.is_empty() { "no open incident".to_string() } else { open.join("   ") };
        let a = Annotation {
            objects: analysis.scene(),
            in_incident: &in_incident,
            zones: &cam.zones,
            masks: &cam.masks,
            caption: (&first, &second),
        };
        let drawn = annotate_frame(image, &a).map_err(anyhow::Error::new);
        let pushed = drawn.and_then(|(w, h, bgr)| {
            if video.is_none() {
                *video = Some(VideoWriter::create(&dir.join(format!("{}.mp4", cam.id)), w, h)?);
            }
            match video.as_mut() {
                Some(v) => Ok(v.push(&bgr, pts)?),
                None => Ok(()),
            }
        });
        if let Err(e) = pushed {
            tracing::error!(camera = %cam.id, "annotated video: {e:#}; no more frames are added to it");
            *video = None;
        }
    }

    /// Completes the annotated videos.
    pub fn finish_annotations(&self) {
        for cam in self.live() {
            let video = cam.annotated.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(v) = video {
                match v.finish() {
                    Ok(frames) => tracing::info!(camera = %cam.id, frames, "annotated video written"),
                    Err(e) => tracing::error!(camera = %cam.id, "annotated video: {:#}", anyhow::Error::new(e)),
                }
            }
        }
    }

    /// Ids of every camera's open incidents.
    pub fn open_incident_ids(&self) -> std::collections::HashSet<String> {
        self.live()
            .iter()
            .flat_map(|c| c.analysis.lock().unwrap_or_else(|p| p.into_inner()).0.open_incident_ids())
            .collect()
    }

    /// Writes the clips still waiting for their post-roll with what there is.
    pub fn finish_clips(&self) {
        let writer = self.clips.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((writer, _)) = writer {
            writer.finish();
        }
    }

    /// Queues the clip of a STARTED incident; returns its path relative to the data dir.
    fn request_clip(&self, cam: &CameraState, event: &IncidentEvent) -> Option<String> {
        let clips = self.clips.lock().unwrap_or_else(|p| p.into_inner());
        let (writer, postroll) = clips.as_ref()?;
        let (before, hold) = ClipJob::first_look(&cam.ring)?;
        let (y, m, d, ..) = event.at.civil(cam.utc_offset_minutes);
        let relative = format!("evidence/{y:04}-{m:02}-{d:02}/{}/{}.mp4", cam.id, event.id);
        writer.request(ClipJob {
            camera: Arc::clone(&cam.id),
            incident: event.id.clone(),
            path: self.data_dir.join(&relative),
            ring: Arc::clone(&cam.ring),
            before,
            hold,
            postroll: *postroll,
            upload: self.uploader().map(|u| (u, relative.clone())),
        });
        Some(self.evidence_uri(&relative))
    }

    /// Frames analysed so far, all cameras, and the furthest stream time reached.
    pub fn progress(&self) -> (u64, Duration) {
        let cameras = self.live();
        let frames = cameras.iter().map(|c| c.frames.load(Ordering::Relaxed)).sum();
        let pts = cameras.iter().map(|c| c.last_pts_ms.load(Ordering::Relaxed)).max().unwrap_or(0);
        (frames, Duration::from_millis(pts))
    }

    /// Writes the snapshot of `event`; returns its path relative to the data dir.
    fn write_snapshot(&self, cam: &CameraState, event: &IncidentEvent, image: ImageRef<'_>) -> Option<String> {
        let local_time = event.at.rfc3339(cam.utc_offset_minutes);
        let jpeg = match render_snapshot(image, &cam.masks, &cam.zones, event, &local_time[..19], SNAPSHOT_JPEG_QUALITY)
        {
            Ok(j) => j,
            Err(e) => {
                write_error(&cam.id, "snapshot", &format!("{:#}", anyhow::Error::new(e)));
                return None;
            }
        };
        let (y, m, d, ..) = event.at.civil(cam.utc_offset_minutes);
        let relative = format!("evidence/{y:04}-{m:02}-{d:02}/{}/{}-r{}.jpg", cam.id, event.id, event.revision);
        let path = self.data_dir.join(&relative);
        match write_atomically(&path, &jpeg) {
            Ok(()) => {
                if let Some(u) = self.uploader() {
                    u.enqueue(&relative, path);
                }
                Some(self.evidence_uri(&relative))
            }
            Err(e) => {
                write_error(&cam.id, "snapshot", &format!("{relative}: {e}"));
                None
            }
        }
    }

    fn publish(&self, cam: &CameraState, event: &IncidentEvent, image: Option<ImageRef<'_>>) {
        let snapshot = match (event.phase, image) {
            (Phase::Started | Phase::Updated, Some(image)) => self.write_snapshot(cam, event, image),
            _ => None,
        };
        let clip = if event.phase == Phase::Started { self.request_clip(cam, event) } else { None };
        let (frame_width, frame_height) = image.map_or((1, 1), |i| (i.width(), i.height()));
        let wire = to_wire(
            event,
            &WireContext {
                camera: &cam.wire,
                frame_width,
                frame_height,
                model: &self.model,
                instance: &self.instance,
                snapshot_uri: snapshot.as_deref(),
                clip_uri: clip.as_deref(),
            },
        );
        let time = event.at.rfc3339(cam.utc_offset_minutes);
        let submission = router::Submission { incident: &wire, camera_group: cam.group.as_deref(), time: &time };
        match self.router.submit(&[submission]) {
            Ok(done) => {
                if done.routed.iter().all(Vec::is_empty) {
                    tracing::warn!(camera = %cam.id, incident = %event.id, "no route matched this event: it goes nowhere (see [[router.routes]])");
                }
            }
            // Never silent: the whole event goes to the log at error level.
            Err(e) => {
                write_error(&cam.id, "event to the outbox", &format!("{:#}; event: {wire:?}", anyhow::Error::new(e)))
            }
        }
        counter!(
            "streetwatch_incident_events_total",
            "camera" => cam.id.to_string(),
            "kind" => event.rule.name(),
            "phase" => phase_name(event.phase)
        )
        .increment(1);
        tracing::info!(
            camera = %cam.id,
            incident = %event.id,
            kind = event.rule.name(),
            phase = phase_name(event.phase),
            revision = event.revision,
            snapshot = snapshot.as_deref().unwrap_or(""),
            "{}",
            event.summary
        );
    }
}

/// A camera's analysis state, from its table in `config`.
fn camera_state(
    config: &Config,
    handle: &CameraHandle,
    stream_time_base: Option<detector::timestamp::Timestamp>,
) -> CameraState {
    let camera = config.cameras.iter().find(|c| *c.config.id == *handle.id);
    let fast_file = camera.is_some_and(|c| c.url.kind() == SourceKind::File && c.config.pacing == Pacing::Fast);
    let source = if fast_file { ClockSource::StreamTime } else { ClockSource::Wall };
    let clock = StreamClock::starting_at(source, stream_time_base);
    let (analysis, zones, offset) = match camera {
        Some(c) => (camera_analysis(c, &config.rules, &config.model_manifest), zones(c), utc_offset_minutes(c)),
        // Every handle comes from a configured camera; an empty analysis is a safe stand-in.
        None => (
            CameraAnalysis::new(
                Arc::clone(&handle.id),
                Vec::new(),
                0,
                super::analysis::rule_settings(&config.rules, &config.model_manifest),
                super::analysis::tracker_settings(&config.rules),
            ),
            Vec::new(),
            0,
        ),
    };
    CameraState {
        id: Arc::clone(&handle.id),
        ring: Arc::clone(&handle.preroll),
        wire: camera_ref(&handle.id, camera.map(|c| &c.config)),
        group: camera.and_then(|c| c.config.group.clone()),
        masks: privacy_masks(config, &handle.id),
        zones,
        utc_offset_minutes: offset,
        analysis: Mutex::new((analysis, clock)),
        frames: AtomicU64::new(0),
        last_pts_ms: AtomicU64::new(0),
        annotated: Mutex::new(None),
        last_frame_ms: AtomicI64::new(0),
        thumbnail: Mutex::new(None),
    }
}

fn write_error(camera: &str, what: &str, detail: &str) {
    counter!("streetwatch_incident_write_errors_total", "camera" => camera.to_string()).increment(1);
    tracing::error!(camera, "cannot write the {what}: {detail}");
}

pub fn camera_ref(id: &str, config: Option<&CameraConfig>) -> proto::v1::CameraRef {
    proto::v1::CameraRef {
        camera_id: id.to_string(),
        gbt28181_code: config.and_then(|c| c.gbt28181_code.clone()).unwrap_or_default(),
        site: config.and_then(|c| c.site.clone()).unwrap_or_default(),
        grid: config.and_then(|c| c.grid.clone()).unwrap_or_default(),
    }
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Started => "STARTED",
        Phase::Updated => "UPDATED",
        Phase::Ended => "ENDED",
    }
}

/// Readers never see half a file: write aside, then rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

impl DetectionSink<IngestFrame> for IncidentSink {
    fn deliver(&self, analysed: AnalysedFrame<IngestFrame>) {
        for d in &analysed.detections {
            counter!("streetwatch_objects_detected_total", "class" => d.label.to_string()).increment(1);
        }
        let cam = self.cameras.read().unwrap_or_else(|p| p.into_inner()).get(analysed.camera).cloned().flatten();
        // A camera retired while its frame was in the detector: the frame is dropped.
        let Some(cam) = cam else { return };
        let frame = &analysed.frame.0;
        let image = analysed.frame.image().ok();
        let cam = &*cam;
        let mut guard = cam.analysis.lock().unwrap_or_else(|p| p.into_inner());
        let (analysis, clock) = &mut *guard;
        let now = clock.time_of(frame.captured_at, frame.pts);
        cam.frames.fetch_add(1, Ordering::Relaxed);
        let wall_ms = wall_clock_ms();
        cam.last_frame_ms.store(wall_ms, Ordering::Relaxed);
        if let (true, Some(image)) = (self.thumbnails, image) {
            self.refresh_thumbnail(cam, image, wall_ms);
        }
        if let Some(pts) = frame.pts {
            cam.last_pts_ms.fetch_max(pts.as_millis() as u64, Ordering::Relaxed);
        }
        let events = analysis.analyse(&analysed.detections, image, frame.width, frame.height, now);
        if let Some(image) = image {
            self.annotate(cam, analysis, image, now, frame.pts.unwrap_or_default());
        }
        gauge!("streetwatch_incidents_open", "camera" => cam.id.to_string()).set(analysis.open_incidents() as f64);
        gauge!("streetwatch_tracked_objects", "camera" => cam.id.to_string()).set(analysis.scene().len() as f64);
        tracing::debug!(
            camera = %cam.id,
            sequence = frame.sequence,
            objects = analysed.detections.len(),
            tracked = analysis.scene().len(),
            inference_ms = analysed.timings.inference.as_secs_f64() * 1e3,
            queue_wait_ms = analysed.queue_wait.as_secs_f64() * 1e3,
            "frame analysed"
        );
        // Still under the camera's lock: its events leave in order.
        for event in &events {
            self.publish(cam, event, image);
        }
    }
}
