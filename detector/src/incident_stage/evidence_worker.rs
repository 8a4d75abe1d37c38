//! Evidence rendering off the inference threads: snapshots of incident events and
//! the console's thumbnails are drawn, encoded and written by one thread of their
//! own, fed through a bounded queue.
//!
//! A job owns the analysed frame (moved, not copied: the inference path is done
//! with it), so the queue's bound is also a bound on the frames held. When the
//! queue is full a live pipeline drops the job (counted and logged; the events go
//! out without a snapshot) rather than hold up inference; a replay waits instead,
//! so its output does not depend on the machine's speed.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::camera::StageCamera;
use super::events::{EvidenceDropped, SnapshotFailed};
use super::output::IncidentOutput;
use crate::evidence::render_snapshot;
use crate::evidence::thumbnail::thumbnail_jpeg;
use crate::incidents::IncidentEvent;
use crate::workers::feed::AnalysableFrame;

const SNAPSHOT_JPEG_QUALITY: i32 = 85;
const THUMBNAIL_WIDTH: u32 = 320;
const THUMBNAIL_JPEG_QUALITY: i32 = 75;

/// What to do when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Drop the job, count and log it: inference never waits (live cameras).
    #[default]
    Drop,
    /// Wait for room: the output is the same however fast the machine (replays).
    Wait,
}

/// Evidence to render from one analysed frame.
pub(crate) struct EvidenceJob<F, C> {
    pub camera: Arc<StageCamera<C>>,
    pub frame: F,
    /// Events to draw, each with its snapshot's path relative to the data directory.
    pub snapshots: Vec<(IncidentEvent, String)>,
    /// Renew the console thumbnail, taken at this wall-clock Unix ms.
    pub thumbnail_at: Option<i64>,
}

pub(crate) struct EvidenceWorker<F, C> {
    queue: Mutex<Option<SyncSender<EvidenceJob<F, C>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    when_full: WhenFull,
}

impl<F: AnalysableFrame, C: Send + Sync + 'static> EvidenceWorker<F, C> {
    pub fn start<O: IncidentOutput<Camera = C>>(
        output: Arc<O>,
        data_dir: PathBuf,
        capacity: usize,
        when_full: WhenFull,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(capacity.max(1));
        let thread =
            std::thread::Builder::new().name("evidence".into()).spawn(move || run(&rx, &*output, &data_dir))?;
        Ok(Self { queue: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), when_full })
    }

    /// Queues the job; false when it was dropped (queue full, or the worker stopped).
    pub fn submit(&self, job: EvidenceJob<F, C>) -> bool {
        let Some(queue) = self.queue.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return false };
        match self.when_full {
            WhenFull::Wait => queue.send(job).is_ok(),
            WhenFull::Drop => match queue.try_send(job) {
                Ok(()) => true,
                Err(TrySendError::Full(job)) => {
                    let _in_camera = job.camera.span.enter();
                    let thumbnail = job.thumbnail_at.is_some();
                    EvidenceDropped { camera: &job.camera.id, snapshots: &job.snapshots, thumbnail }.emit();
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            },
        }
    }

    /// Renders what is queued, then stops the thread.
    pub fn finish(&self) {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            if t.join().is_err() {
                tracing::error!("the evidence worker panicked");
            }
        }
    }
}

fn run<F: AnalysableFrame, O: IncidentOutput>(rx: &Receiver<EvidenceJob<F, O::Camera>>, output: &O, data_dir: &Path) {
    while let Ok(job) = rx.recv() {
        let cam = &*job.camera;
        let _in_camera = cam.span.enter();
        let image = match job.frame.image() {
            Ok(image) => image,
            // The inference worker read the same pixels: this cannot happen.
            Err(e) => {
                tracing::error!("evidence: the frame has no usable pixels: {e}");
                continue;
            }
        };
        for (event, relative) in &job.snapshots {
            let local_time = event.at.rfc3339(cam.utc_offset_minutes);
            let rendered =
                render_snapshot(image, &cam.masks, &cam.zones, event, &local_time[..19], SNAPSHOT_JPEG_QUALITY);
            let path = data_dir.join(relative);
            let written = match rendered {
                Ok(jpeg) => write_atomically(&path, &jpeg).map_err(|e| Box::new(e) as Box<dyn std::error::Error>),
                Err(e) => Err(Box::new(e) as Box<dyn std::error::Error>),
            };
            match written {
                Ok(()) => output.snapshot_written(&cam.output, relative, &path),
                Err(e) => SnapshotFailed { camera: &cam.id, incident: &event.id, relative, error: &*e }.emit(),
            }
        }
        if let Some(taken) = job.thumbnail_at {
            match thumbnail_jpeg(image, &cam.masks, THUMBNAIL_WIDTH, THUMBNAIL_JPEG_QUALITY) {
                Ok(jpeg) => *cam.thumbnail.lock().unwrap_or_else(|p| p.into_inner()) = Some((taken, Arc::new(jpeg))),
                Err(e) => {
                    tracing::warn!(error = &e as &dyn std::error::Error, "thumbnail not renewed")
                }
            }
        }
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
