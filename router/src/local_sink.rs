//! Delivery inside this process: to a JSON-lines file (bodies appended in order,
//! synced, then done), or to an [`EventHandler`] (the operator console's database).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{BoxError, ErrorChain};
use crate::outbox::{Done, Entry};
use crate::shared_outbox::SharedOutbox;
use crate::{telemetry as metrics, RouterError};

pub struct JsonLinesSink {
    name: Arc<str>,
    path: PathBuf,
    file: File,
}

impl JsonLinesSink {
    pub fn open(name: Arc<str>, path: &Path) -> Result<Self, RouterError> {
        let fail =
            |source: std::io::Error| RouterError::Outbox { path: path.to_path_buf(), what: "cannot open", source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
        Ok(Self { name, path: path.to_path_buf(), file })
    }

    pub(crate) fn run(mut self, shared: &SharedOutbox) {
        let name = Arc::clone(&self.name);
        deliver_in_process(&name, shared, |batch| self.append(batch).map_err(BoxError::from));
    }

    /// Appends the bodies and syncs. A failed write may leave half a line: it is cut
    /// back to where it started, so the file stays one object per line whatever happens.
    fn append(&mut self, batch: &[Arc<Entry>]) -> Result<(), RouterError> {
        let mut bytes = Vec::new();
        for e in batch {
            bytes.extend_from_slice(&e.new.body);
        }
        let start = self.file.metadata().map(|m| m.len()).ok();
        let written = self.file.write_all(&bytes).and_then(|()| self.file.sync_data());
        if written.is_err() {
            if let Some(len) = start {
                let _ = self.file.set_len(len);
            }
        }
        written.map_err(|source| RouterError::Outbox { path: self.path.clone(), what: "cannot write events", source })
    }
}

/// Receives a destination's events inside this process (the operator console).
pub trait EventHandler: Send + Sync {
    /// The bodies, in order. Ok only once they are durably stored: then they are done.
    fn deliver(&self, bodies: &[&[u8]]) -> Result<(), BoxError>;
}

pub(crate) fn run_handler(name: &Arc<str>, handler: &dyn EventHandler, shared: &SharedOutbox) {
    deliver_in_process(name, shared, |batch| {
        let bodies: Vec<&[u8]> = batch.iter().map(|e| e.new.body.as_slice()).collect();
        handler.deliver(&bodies)
    });
}

/// The delivery loop of a destination in this process: takes the destination's
/// pending entries in order, hands them to `write`, marks them done when it
/// succeeded, and otherwise keeps them and tries again with backoff.
fn deliver_in_process(
    name: &Arc<str>,
    shared: &SharedOutbox,
    mut write: impl FnMut(&[Arc<Entry>]) -> Result<(), BoxError>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let seen = shared.appends();
        let batch = shared.outbox().pending_after(name, None, 1000);
        if batch.is_empty() {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            shared.wait_for_append(seen, Duration::from_millis(200));
            continue;
        }
        match write(&batch) {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                let seqs: Vec<u64> = batch.iter().map(|e| e.seq).collect();
                metrics::delivered(name, seqs.len());
                if let Err(e) = shared.finish(name, &seqs, Done::Delivered) {
                    tracing::error!("{e}");
                }
            }
            Err(e) => {
                // A full disk, a lost mount, a locked database: the events stay in the outbox.
                tracing::error!(destination = %name, "cannot deliver events: {}", ErrorChain(e.as_ref()));
                metrics::retried(name, batch.len());
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
