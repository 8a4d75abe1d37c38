//! Delivery to a JSON-lines file: bodies appended in order, synced, then done.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::outbox::Done;
use crate::service::Shared;
use crate::{telemetry as metrics, RouterError};

pub struct JsonLinesSink {
    name: Arc<str>,
    path: PathBuf,
    file: File,
}

impl JsonLinesSink {
    pub fn open(name: Arc<str>, path: &Path) -> Result<Self, RouterError> {
        let fail =
            |e: std::io::Error| RouterError::Outbox { path: path.to_path_buf(), reason: format!("cannot open: {e}") };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
        Ok(Self { name, path: path.to_path_buf(), file })
    }

    pub(crate) fn run(mut self, shared: &Shared) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let seen = shared.appends();
            let batch = shared.outbox().pending_after(&self.name, None, 1000);
            if batch.is_empty() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                shared.wait_for_append(seen, Duration::from_millis(200));
                continue;
            }
            let mut bytes = Vec::new();
            for e in &batch {
                bytes.extend_from_slice(&e.new.body);
            }
            // A failed write may leave half a line: cut back to where it started, so the
            // file stays one object per line whatever happens.
            let start = self.file.metadata().map(|m| m.len()).ok();
            let written = self.file.write_all(&bytes).and_then(|()| self.file.sync_data());
            if written.is_err() {
                if let Some(len) = start {
                    let _ = self.file.set_len(len);
                }
            }
            match written {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    let seqs: Vec<u64> = batch.iter().map(|e| e.seq).collect();
                    metrics::delivered(&self.name, seqs.len());
                    if let Err(e) = shared.finish(&self.name, &seqs, Done::Delivered) {
                        tracing::error!("{e}");
                    }
                }
                Err(e) => {
                    // A full disk, a lost mount: the events stay in the outbox.
                    tracing::error!(destination = %self.name, path = %self.path.display(), "cannot write events: {e}");
                    metrics::retried(&self.name, batch.len());
                    if shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}
