//! After inference: each camera's analysis (tracker, zones, rules, incident
//! lifecycles) and the incident events it emits, out through an [`IncidentOutput`].
//!
//! The stage is the inference pool's [`DetectionSink`]: it runs on the inference
//! threads, a camera's frames in order under its own lock, so one camera never waits
//! for another's analysis. Evidence (snapshots, console thumbnails) is rendered by
//! the [`evidence_worker`], never here; only the annotated video of a replay
//! (`annotate`, an analyst's tool that must hold every frame in order) is drawn on
//! the inference thread.

mod camera;
mod events;
pub mod evidence_paths;
pub mod evidence_worker;
pub mod output;
pub mod stream_clock;

use std::collections::HashSet;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge};

use events::FrameAnalysed;

use camera::StageCamera;
use evidence_worker::{EvidenceJob, EvidenceWorker, WhenFull};
pub use output::{AnnotatedFrame, CameraPicture, CameraSetup, EventEvidence, IncidentOutput, StreamHint};

use crate::analysis::{AnalysisHint, CameraAnalysis};
use crate::evidence::annotate::{annotate_frame, Annotation};
use crate::image::ImageRef;
use crate::incidents::{IncidentEvent, Phase};
use crate::timestamp::Timestamp;
use crate::workers::feed::AnalysableFrame;
use crate::workers::pool::{AnalysedFrame, DetectionSink};
use crate::DetectorError;

/// How often a camera's console thumbnail is renewed.
const THUMBNAIL_EVERY_MS: i64 = 5_000;

#[derive(Debug, Clone)]
pub struct StageSettings {
    /// Evidence paths are relative to this folder.
    pub data_dir: PathBuf,
    /// Keep a recent thumbnail per camera (for the console).
    pub thumbnails: bool,
    /// Draw every analysed frame for [`IncidentOutput::annotated_frame`].
    pub annotate: bool,
    /// Evidence jobs (each holding one frame) waiting for the evidence worker.
    pub evidence_queue: usize,
    pub evidence_when_full: WhenFull,
}

impl Default for StageSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("."),
            thumbnails: false,
            annotate: false,
            evidence_queue: 16,
            evidence_when_full: WhenFull::Drop,
        }
    }
}

pub fn describe_metrics() {
    describe_counter!("streetwatch_objects_detected_total", "Objects detected in analysed frames, per class.");
    describe_gauge!("streetwatch_incidents_open", "Incidents open now (STARTED, not yet ENDED), per camera.");
    describe_gauge!("streetwatch_tracked_objects", "Objects the camera's tracker follows now (seen or briefly lost).");
    describe_counter!(
        "streetwatch_incident_write_errors_total",
        "Incident events or snapshots that could not be written to disk (each also logged at error)."
    );
    describe_counter!(
        "streetwatch_evidence_dropped_total",
        "Snapshots and thumbnails not rendered because the evidence queue was full, per camera and what."
    );
}

/// By the detector's camera index; None once a camera is retired (a cluster
/// pipeline's camera taken away). An index is never reused.
type CameraTable<C> = RwLock<Vec<Option<Arc<StageCamera<C>>>>>;

pub struct IncidentStage<F, O: IncidentOutput> {
    cameras: CameraTable<O::Camera>,
    output: Arc<O>,
    evidence: EvidenceWorker<F, O::Camera>,
    settings: StageSettings,
    frames: PhantomData<fn(F)>,
}

impl<F: AnalysableFrame, O: IncidentOutput> IncidentStage<F, O> {
    pub fn new(output: Arc<O>, settings: StageSettings) -> Result<Self, DetectorError> {
        let evidence = EvidenceWorker::start(
            Arc::clone(&output),
            settings.data_dir.clone(),
            settings.evidence_queue,
            settings.evidence_when_full,
        )
        .map_err(|source| DetectorError::EvidenceWorker { source })?;
        Ok(Self { cameras: RwLock::default(), output, evidence, settings, frames: PhantomData })
    }

    pub fn output(&self) -> &Arc<O> {
        &self.output
    }

    /// Adds a camera (the detector's next index); returns its index.
    pub fn add_camera(&self, setup: CameraSetup<O::Camera>) -> usize {
        let camera = Arc::new(StageCamera::new(setup));
        let mut cameras = self.cameras.write().unwrap_or_else(|p| p.into_inner());
        cameras.push(Some(camera));
        cameras.len() - 1
    }

    /// Stops analysing the camera at `index`: once this returns, no frame of it is
    /// being analysed and none will be. Its open incidents end with it (no ENDED: the
    /// worker that takes the camera over starts afresh).
    pub fn retire(&self, index: usize) {
        let camera = self.cameras.write().unwrap_or_else(|p| p.into_inner()).get_mut(index).and_then(Option::take);
        if let Some(camera) = camera {
            // Waits for a frame being analysed right now (its events go out first).
            drop(camera.analysis.lock().unwrap_or_else(|p| p.into_inner()));
            gauge!("streetwatch_incidents_open", "camera" => camera.id.to_string()).set(0.0);
            gauge!("streetwatch_tracked_objects", "camera" => camera.id.to_string()).set(0.0);
        }
    }

    /// The cameras analysed now.
    fn live(&self) -> Vec<Arc<StageCamera<O::Camera>>> {
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

    /// Ids of every camera's open incidents.
    pub fn open_incident_ids(&self) -> HashSet<String> {
        self.live()
            .iter()
            .flat_map(|c| c.analysis.lock().unwrap_or_else(|p| p.into_inner()).0.open_incident_ids())
            .collect()
    }

    /// Frames analysed so far, all cameras, and the furthest stream time reached (by
    /// a source, analysed or not).
    pub fn progress(&self) -> (u64, Duration) {
        let cameras = self.live();
        let frames = cameras.iter().map(|c| c.frames.load(Ordering::Relaxed)).sum();
        let pts = cameras
            .iter()
            .map(|c| {
                let analysed = Duration::from_millis(c.last_pts_ms.load(Ordering::Relaxed));
                self.output.stream_position(&c.output).map_or(analysed, |p| p.max(analysed))
            })
            .max()
            .unwrap_or_default();
        (frames, pts)
    }

    /// Renders the evidence still queued, then stops the evidence worker (after the
    /// inference pool has stopped).
    pub fn finish_evidence(&self) {
        self.evidence.finish();
    }

    /// Draws the frame as the analysis saw it for the output's annotated video.
    fn annotate(
        &self,
        cam: &StageCamera<O::Camera>,
        analysis: &CameraAnalysis,
        image: ImageRef<'_>,
        now: Timestamp,
        pts: Duration,
    ) {
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
        match annotate_frame(image, &a) {
            Ok((width, height, bgr)) => {
                self.output.annotated_frame(&cam.output, &AnnotatedFrame { width, height, bgr: &bgr, pts });
            }
            Err(e) => tracing::error!(error = &e as &dyn std::error::Error, "annotated frame not drawn"),
        }
    }

    /// Whether the camera's thumbnail is due now (and, if so, marks it asked for).
    fn thumbnail_due(&self, cam: &StageCamera<O::Camera>, now_ms: i64) -> bool {
        let asked = cam.thumbnail_asked_ms.load(Ordering::Relaxed);
        let due = self.settings.thumbnails && now_ms - asked >= THUMBNAIL_EVERY_MS;
        if due {
            cam.thumbnail_asked_ms.store(now_ms, Ordering::Relaxed);
        }
        due
    }
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The analysis's hint in stream time: a due time `d` after the frame's time is `d`
/// after the frame's presentation time.
fn stream_hint(hint: AnalysisHint, now: Timestamp, pts: Option<Duration>) -> StreamHint {
    let due_pts =
        hint.due.zip(pts).map(|(due, pts)| pts + Duration::from_millis(due.0.saturating_sub(now.0).max(0) as u64));
    StreamHint { moving: hint.moving, due_pts }
}

fn wants_snapshot(event: &IncidentEvent) -> bool {
    matches!(event.phase, Phase::Started | Phase::Updated)
}

impl<F: AnalysableFrame, O: IncidentOutput> DetectionSink<F> for IncidentStage<F, O> {
    fn deliver(&self, analysed: AnalysedFrame<F>) {
        for d in &analysed.detections {
            counter!("streetwatch_objects_detected_total", "class" => d.label.to_string()).increment(1);
        }
        let cam = self.cameras.read().unwrap_or_else(|p| p.into_inner()).get(analysed.camera).cloned().flatten();
        // A camera retired while its frame was in the detector: the frame is dropped.
        let Some(cam) = cam else { return };
        // The analysis and the output's log lines name the camera through its span.
        let _in_camera = cam.span.enter();
        let AnalysedFrame { frame, detections, timings, queue_wait, .. } = analysed;
        let mut guard = cam.analysis.lock().unwrap_or_else(|p| p.into_inner());
        let (analysis, clock) = &mut *guard;
        let pts = frame.pts();
        let now = clock.time_of(frame.ready_at(), pts);
        cam.frames.fetch_add(1, Ordering::Relaxed);
        let wall_ms = wall_clock_ms();
        cam.last_frame_ms.store(wall_ms, Ordering::Relaxed);
        if let Some(pts) = pts {
            cam.last_pts_ms.fetch_max(pts.as_millis() as u64, Ordering::Relaxed);
        }
        let image = frame.image().ok();
        let (frame_width, frame_height) = image.map_or((1, 1), |i| (i.width(), i.height()));
        let events = analysis.analyse(&detections, image, frame_width, frame_height, now);
        if let (true, Some(image)) = (self.settings.annotate, image) {
            self.annotate(&cam, analysis, image, now, pts.unwrap_or_default());
        }
        FrameAnalysed {
            camera: &cam.id,
            sequence: frame.sequence(),
            objects: detections.len(),
            tracked: analysis.scene().len(),
            open_incidents: analysis.open_incidents(),
            inference_ms: timings.inference.as_secs_f64() * 1e3,
            queue_wait_ms: queue_wait.as_secs_f64() * 1e3,
        }
        .emit();
        // Evidence first (its paths go into the events), rendered by the worker.
        let has_pixels = image.is_some();
        let paths: Vec<Option<String>> = events
            .iter()
            .map(|e| {
                (has_pixels && wants_snapshot(e))
                    .then(|| evidence_paths::snapshot_path(&cam.id, e, cam.utc_offset_minutes))
            })
            .collect();
        let snapshots: Vec<(IncidentEvent, String)> =
            events.iter().zip(&paths).filter_map(|(e, path)| Some((e.clone(), path.clone()?))).collect();
        let thumbnail_at = (has_pixels && self.thumbnail_due(&cam, wall_ms)).then_some(wall_ms);
        let queued = (!snapshots.is_empty() || thumbnail_at.is_some())
            && self.evidence.submit(EvidenceJob { camera: Arc::clone(&cam), frame, snapshots, thumbnail_at });
        // Still under the camera's lock: its events leave in order.
        for (event, path) in events.iter().zip(&paths) {
            // A dropped job: the event goes out without a snapshot.
            let snapshot = path.as_deref().filter(|_| queued);
            let evidence = EventEvidence { snapshot, frame_width, frame_height };
            self.output.publish(&cam.output, event, &evidence);
        }
        self.output.analysis_hint(&cam.output, &stream_hint(analysis.hint(), now, pts));
    }
}
