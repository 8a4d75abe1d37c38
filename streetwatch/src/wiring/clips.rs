//! Evidence clips, cut off the analysis path: when an incident starts, the camera's
//! encoded pre-roll is taken at once (shared bytes, no copy), the ring is told to
//! hold what follows, and a job is queued; a writer thread waits until the camera has
//! recorded the post-roll (stream time, so a fast replay does not wait in wall time),
//! takes the ring again, releases the hold, and muxes both to MP4 through ingest
//! without re-encoding. The hold is what makes the two looks join up however late
//! the writer wakes. A full queue drops the clip, counted and
//! logged: a clip is never worth stalling the analysis for.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ingest::preroll::{EncodedUnit, HoldId, PrerollBuffer};
use metrics::{counter, describe_counter};

use super::evidence_upload::EvidenceUploader;

const QUEUE_LIMIT: usize = 64;
/// A camera that stops sending: write what there is after this much extra time.
const GRACE: Duration = Duration::from_secs(20);

pub struct ClipJob {
    pub camera: Arc<str>,
    pub incident: String,
    pub path: PathBuf,
    pub ring: Arc<Mutex<PrerollBuffer>>,
    pub before: Vec<EncodedUnit>,
    /// The ring's hold on what follows `before` (see `ClipJob::take`).
    pub hold: Option<HoldId>,
    pub postroll: Duration,
    /// Also put in object storage once written, under this key.
    pub upload: Option<(Arc<EvidenceUploader>, String)>,
}

struct Queued {
    job: ClipJob,
    target_pts: Option<Duration>,
    wall_deadline: Instant,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Queued>,
    stopping: bool,
}

pub struct ClipWriter {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

pub fn describe_metrics() {
    describe_counter!("streetwatch_evidence_clips_total", "Evidence clips written, per camera.");
    describe_counter!(
        "streetwatch_evidence_clip_failures_total",
        "Evidence clips not written (queue full, no video, mux error)."
    );
}

fn failed(camera: &str, incident: &str, why: &str) {
    counter!("streetwatch_evidence_clip_failures_total", "camera" => camera.to_string()).increment(1);
    tracing::error!(camera, incident, "evidence clip not written: {why}");
}

fn newest_pts(ring: &Mutex<PrerollBuffer>) -> Option<Duration> {
    ring.lock().unwrap_or_else(|p| p.into_inner()).newest_pts()
}

impl ClipJob {
    /// The first look at `ring`, and a hold on what follows it, in one lock: a job
    /// without the units to start a clip with is `None`.
    pub fn first_look(ring: &Mutex<PrerollBuffer>) -> Option<(Vec<EncodedUnit>, Option<HoldId>)> {
        let mut ring = ring.lock().unwrap_or_else(|p| p.into_inner());
        let before = ring.snapshot();
        if before.is_empty() {
            return None;
        }
        let hold = before.iter().filter_map(|u| u.pts).max().map(|last| ring.hold_after(last));
        Some((before, hold))
    }

    /// The second look, giving the hold back.
    fn take_later(&self) -> Vec<EncodedUnit> {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let later = ring.snapshot();
        ring.release_if(self.hold);
        later
    }
}

impl ClipWriter {
    pub fn start() -> std::io::Result<Self> {
        let queue: Arc<(Mutex<Queue>, Condvar)> = Arc::default();
        let q = Arc::clone(&queue);
        let thread = std::thread::Builder::new().name("clip-writer".into()).spawn(move || work(&q))?;
        Ok(Self { queue, thread: Some(thread) })
    }

    /// Queues a clip; never blocks.
    pub fn request(&self, job: ClipJob) {
        let (lock, cv) = &*self.queue;
        let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
        if q.jobs.len() >= QUEUE_LIMIT {
            failed(&job.camera, &job.incident, "the clip queue is full");
            job.ring.lock().unwrap_or_else(|p| p.into_inner()).release_if(job.hold);
            return;
        }
        let target_pts = job.before.iter().filter_map(|u| u.pts).max().map(|p| p + job.postroll);
        let wall_deadline = Instant::now() + job.postroll + GRACE;
        q.jobs.push_back(Queued { job, target_pts, wall_deadline });
        cv.notify_all();
    }

    /// Writes every queued clip with what the rings hold now (at shutdown, or when
    /// the files are done, the post-roll may be shorter) and stops the writer.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let (lock, cv) = &*self.queue;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stopping = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ClipWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn work(queue: &(Mutex<Queue>, Condvar)) {
    let (lock, cv) = queue;
    loop {
        let next = {
            let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let stopping = q.stopping;
                let ready = q.jobs.front().is_some_and(|f| {
                    stopping
                        || Instant::now() >= f.wall_deadline
                        || f.target_pts.is_some_and(|t| newest_pts(&f.job.ring).is_some_and(|n| n >= t))
                });
                if ready {
                    break q.jobs.pop_front();
                }
                if stopping && q.jobs.is_empty() {
                    return;
                }
                q = cv.wait_timeout(q, Duration::from_millis(100)).unwrap_or_else(|p| p.into_inner()).0;
            }
        };
        let Some(Queued { job, .. }) = next else { continue };
        let later = job.take_later();
        let units = ingest::clip::join_units(job.before, later);
        match ingest::clip::write_mp4(&units, &job.path) {
            Ok(info) => {
                if let Some((uploader, key)) = &job.upload {
                    uploader.enqueue(key, job.path.clone());
                }
                counter!("streetwatch_evidence_clips_total", "camera" => job.camera.to_string()).increment(1);
                tracing::info!(camera = %job.camera, incident = %job.incident, path = %job.path.display(), secs = info.span.as_secs_f64(), frames = info.units, "evidence clip written");
            }
            Err(e) => failed(&job.camera, &job.incident, &format!("{:#}", anyhow::Error::new(e))),
        }
    }
}
