//! Evidence (snapshots, clips) copied to object storage, off the analysis path: the
//! local file is written first (the console and retention use it), then a thread puts
//! it in the store, trying again with a backoff when the store is away. The store is
//! a function, so this file knows nothing of S3 (see `evidence_s3.rs`).

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use metrics::{counter, describe_counter};

/// Puts `bytes` under `key` (the evidence path relative to the data directory).
pub type PutObject = Box<dyn Fn(&str, &[u8]) -> Result<(), String> + Send>;

const QUEUE_LIMIT: usize = 256;
const ATTEMPTS: u32 = 6;

pub struct EvidenceUploader {
    tx: Option<SyncSender<(String, PathBuf)>>,
    thread: Option<JoinHandle<()>>,
    /// How events name an uploaded file (`s3://bucket/prefix/<key>`).
    uri_prefix: String,
}

pub fn describe_metrics() {
    describe_counter!("streetwatch_evidence_uploads_total", "Evidence files put in object storage.");
    describe_counter!(
        "streetwatch_evidence_upload_failures_total",
        "Evidence files that could not be put in object storage."
    );
}

impl EvidenceUploader {
    pub fn start(put: PutObject, uri_prefix: String) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_LIMIT);
        let thread = std::thread::Builder::new().name("evidence-upload".into()).spawn(move || work(&rx, &put))?;
        Ok(Self { tx: Some(tx), thread: Some(thread), uri_prefix })
    }

    /// The URI events carry for the evidence at `key`.
    pub fn uri(&self, key: &str) -> String {
        format!("{}{key}", self.uri_prefix)
    }

    /// Queues the file at `path` for upload under `key`; never blocks.
    pub fn enqueue(&self, key: &str, path: PathBuf) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send((key.to_string(), path)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                counter!("streetwatch_evidence_upload_failures_total").increment(1);
                tracing::error!(key, "evidence upload queue full: kept locally only");
            }
        }
    }

    /// Uploads what is queued, then stops.
    pub fn finish(mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EvidenceUploader {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn work(rx: &Receiver<(String, PathBuf)>, put: &PutObject) {
    for (key, path) in rx.iter() {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                counter!("streetwatch_evidence_upload_failures_total").increment(1);
                tracing::error!(key, path = %path.display(), "cannot read evidence to upload: {e}");
                continue;
            }
        };
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            match put(&key, &bytes) {
                Ok(()) => {
                    counter!("streetwatch_evidence_uploads_total").increment(1);
                    break;
                }
                Err(e) if attempt == ATTEMPTS => {
                    counter!("streetwatch_evidence_upload_failures_total").increment(1);
                    tracing::error!(key, "evidence not uploaded after {ATTEMPTS} attempts (kept locally): {e}");
                }
                Err(e) => {
                    tracing::warn!(key, attempt, "evidence upload failed, trying again: {e}");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
