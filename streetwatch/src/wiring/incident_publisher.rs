//! The detector's incident events out: an evidence clip queued for STARTED, the
//! event in the wire schema to the router (whose outbox has it on disk before
//! `submit` returns: where the pipeline blocks when the disk is slow, by design),
//! evidence to object storage, the annotated videos of a replay, a log line, metrics.
//!
//! The analysis itself, and the rendering of snapshots, are the detector's
//! (`detector::incident_stage`); this is its `IncidentOutput`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use detector::incident_stage::evidence_paths::clip_path;
use detector::incident_stage::{AnnotatedFrame, EventEvidence, IncidentOutput, IncidentStage, StreamHint};
use detector::incidents::{IncidentEvent, Phase};
use ingest::video_writer::VideoWriter;
use metrics::{counter, describe_counter};

use super::clips::{ClipJob, ClipWriter};
use super::detection::IngestFrame;
use super::evidence_upload::EvidenceUploader;
use super::incident_proto::{to_wire, WireContext};
use crate::config::schema::CameraConfig;
use crate::config::Config;

/// The pipeline's incident stage: the detector's analysis with this publisher.
pub type Incidents = IncidentStage<IngestFrame, IncidentPublisher>;

/// What the publisher keeps per camera.
pub struct PublishedCamera {
    pub id: Arc<str>,
    /// The camera's encoded pre-roll, for evidence clips.
    pub ring: Arc<Mutex<ingest::preroll::PrerollBuffer>>,
    /// The camera's frame slot: the analysis answers its change gate there.
    pub slot: Arc<ingest::FrameSlot>,
    /// The camera as events name it, and its routing group.
    pub wire: proto::v1::CameraRef,
    pub group: Option<String>,
    pub utc_offset_minutes: i32,
}

/// What `run` and `replay` set up differently.
#[derive(Default)]
pub struct PublisherOptions {
    pub clips: Option<ClipWriter>,
    /// Write an annotated video per camera here (`<camera>.mp4`).
    pub annotate_dir: Option<PathBuf>,
    /// Also put evidence in object storage (`[storage.s3]`).
    pub uploader: Option<Arc<EvidenceUploader>>,
}

pub struct IncidentPublisher {
    data_dir: PathBuf,
    instance: String,
    model: detector::ModelManifest,
    router: Arc<router::Router>,
    clips: Mutex<Option<(ClipWriter, Duration)>>,
    uploader: Mutex<Option<Arc<EvidenceUploader>>>,
    annotate_dir: Option<PathBuf>,
    /// Per camera, the annotated video being written (None after a failure).
    annotated: Mutex<HashMap<Arc<str>, Option<VideoWriter>>>,
}

pub fn describe_metrics() {
    describe_counter!("streetwatch_incident_events_total", "Incident events emitted, per camera, kind and phase.");
}

impl IncidentPublisher {
    pub fn new(config: &Config, router: Arc<router::Router>, options: PublisherOptions) -> Self {
        let PublisherOptions { clips, annotate_dir, uploader } = options;
        Self {
            data_dir: config.data_dir.clone(),
            instance: config.service.instance.clone(),
            model: config.model_manifest.clone(),
            router,
            clips: Mutex::new(clips.map(|w| (w, Duration::from_secs(config.storage.clip_postroll_secs)))),
            uploader: Mutex::new(uploader),
            annotate_dir,
            annotated: Mutex::default(),
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

    /// Queues the clip of a STARTED incident; returns its URI.
    fn request_clip(&self, cam: &PublishedCamera, event: &IncidentEvent) -> Option<String> {
        let clips = self.clips.lock().unwrap_or_else(|p| p.into_inner());
        let (writer, postroll) = clips.as_ref()?;
        let (before, hold) = ClipJob::first_look(&cam.ring)?;
        let relative = clip_path(&cam.id, event, cam.utc_offset_minutes);
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

    /// Writes the clips still waiting for their post-roll with what there is.
    pub fn finish_clips(&self) {
        let writer = self.clips.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((writer, _)) = writer {
            writer.finish();
        }
    }

    /// Completes the annotated videos.
    pub fn finish_annotations(&self) {
        let videos = std::mem::take(&mut *self.annotated.lock().unwrap_or_else(|p| p.into_inner()));
        for (camera, video) in videos {
            if let Some(v) = video {
                match v.finish() {
                    Ok(frames) => tracing::info!(camera = %camera, frames, "annotated video written"),
                    Err(e) => tracing::error!(camera = %camera, "annotated video: {:#}", anyhow::Error::new(e)),
                }
            }
        }
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
}

impl IncidentOutput for IncidentPublisher {
    type Camera = PublishedCamera;

    fn publish(&self, cam: &PublishedCamera, event: &IncidentEvent, evidence: &EventEvidence<'_>) {
        let snapshot = evidence.snapshot.map(|relative| self.evidence_uri(relative));
        let clip = if event.phase == Phase::Started { self.request_clip(cam, event) } else { None };
        let wire = to_wire(
            event,
            &WireContext {
                camera: &cam.wire,
                frame_width: evidence.frame_width,
                frame_height: evidence.frame_height,
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
                    tracing::warn!(incident = %event.id, "no route matched this event: it goes nowhere (see [[router.routes]])");
                }
            }
            // Never silent: the whole event goes to the log at error level.
            Err(e) => {
                counter!("streetwatch_incident_write_errors_total", "camera" => cam.id.to_string()).increment(1);
                tracing::error!("cannot write the event to the outbox: {:#}; event: {wire:?}", anyhow::Error::new(e));
            }
        }
        EventPublished { camera: &cam.id, event, snapshot: snapshot.as_deref() }.emit();
    }

    fn snapshot_written(&self, _camera: &PublishedCamera, relative: &str, path: &Path) {
        if let Some(u) = self.uploader() {
            u.enqueue(relative, path.to_path_buf());
        }
    }

    /// Ingest's change gate decides on the camera's next keyframes with this.
    fn analysis_hint(&self, cam: &PublishedCamera, hint: &StreamHint) {
        cam.slot.feedback().answer(ingest::AnalysisWanted { moving: hint.moving, due: hint.due_pts });
    }

    fn stream_position(&self, cam: &PublishedCamera) -> Option<Duration> {
        Some(cam.slot.position())
    }

    /// A failure stops that camera's video (logged) and nothing else.
    fn annotated_frame(&self, cam: &PublishedCamera, frame: &AnnotatedFrame<'_>) {
        let Some(dir) = &self.annotate_dir else { return };
        let mut videos = self.annotated.lock().unwrap_or_else(|p| p.into_inner());
        let video = videos.entry(Arc::clone(&cam.id)).or_insert_with(|| {
            VideoWriter::create(&dir.join(format!("{}.mp4", cam.id)), frame.width, frame.height)
                .map_err(|e| tracing::error!("annotated video: {:#}", anyhow::Error::new(e)))
                .ok()
        });
        let Some(v) = video.as_mut() else { return };
        if let Err(e) = v.push(frame.bgr, frame.pts) {
            tracing::error!("annotated video: {:#}; no more frames are added to it", anyhow::Error::new(e));
            *video = None;
        }
    }
}

pub fn camera_ref(id: &str, config: Option<&CameraConfig>) -> proto::v1::CameraRef {
    proto::v1::CameraRef {
        camera_id: id.to_string(),
        gbt28181_code: config.and_then(|c| c.gbt28181_code.clone()).unwrap_or_default(),
        site: config.and_then(|c| c.site.clone()).unwrap_or_default(),
        grid: config.and_then(|c| c.grid.clone()).unwrap_or_default(),
    }
}

/// An incident event went out (telemetry as one event: the log line and the counter
/// together). Emitted inside the camera's span, which names the camera in the log.
struct EventPublished<'a> {
    camera: &'a str,
    event: &'a IncidentEvent,
    snapshot: Option<&'a str>,
}

impl EventPublished<'_> {
    fn emit(&self) {
        let (event, phase) = (self.event, phase_name(self.event.phase));
        counter!(
            "streetwatch_incident_events_total",
            "camera" => self.camera.to_string(),
            "kind" => event.rule.name(),
            "phase" => phase
        )
        .increment(1);
        tracing::info!(
            incident = %event.id,
            kind = event.rule.name(),
            phase,
            revision = event.revision,
            snapshot = self.snapshot.unwrap_or(""),
            "{}",
            event.summary
        );
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Started => "STARTED",
        Phase::Updated => "UPDATED",
        Phase::Ended => "ENDED",
    }
}
