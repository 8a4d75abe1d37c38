//! The state `submit` shares with the delivery threads: the outbox behind a lock, the
//! bell that wakes idle deliveries on append, the stop flag, the dead-letter file
//! and the group commit. It lives apart from `service.rs` (which starts the threads)
//! so that the sinks depend on it and not on the service.

use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::dead_letter::DeadLetters;
use crate::group_commit::GroupCommit;
use crate::outbox::{Done, Entry, NewEntry, Outbox};
use crate::{telemetry as metrics, RouterError};

pub(crate) struct SharedOutbox {
    outbox: Mutex<Outbox>,
    /// Bumped on every append; delivery threads wait on it when idle.
    appended: Mutex<u64>,
    wake: Condvar,
    pub(crate) stop: AtomicBool,
    dead_letters: Mutex<DeadLetters>,
    commits: GroupCommit,
}

impl SharedOutbox {
    pub(crate) fn new(outbox: Outbox, dead_letters: DeadLetters) -> Self {
        Self {
            outbox: Mutex::new(outbox),
            appended: Mutex::new(0),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            dead_letters: Mutex::new(dead_letters),
            commits: GroupCommit::default(),
        }
    }

    pub(crate) fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `batch` durable through `write` together with whatever other submitters
    /// queued meanwhile (`group_commit.rs`).
    pub(crate) fn commit(
        &self,
        batch: Vec<NewEntry>,
        write: impl Fn(Vec<NewEntry>) -> Result<(), RouterError>,
    ) -> Result<(), std::sync::Arc<RouterError>> {
        self.commits.commit(batch, write)
    }

    /// Waits until something is appended after `seen`, or `timeout`.
    pub(crate) fn wait_for_append(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.appended.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) =
            self.wake.wait_timeout_while(guard, timeout, |n| *n == seen).unwrap_or_else(|p| p.into_inner());
        *guard
    }

    pub(crate) fn appends(&self) -> u64 {
        *self.appended.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes every delivery thread (after an append, or to stop).
    pub(crate) fn ring(&self) {
        *self.appended.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.wake.notify_all();
    }

    /// Marks entries done and updates the outbox metrics of `destination`.
    pub(crate) fn finish(&self, destination: &str, seqs: &[u64], how: Done) -> Result<(), RouterError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let mut ob = self.outbox();
        ob.finish(seqs, how)?;
        report_depth(&ob, destination);
        Ok(())
    }

    /// Dead-letters an entry: stored with the reason, then done in the outbox.
    pub(crate) fn dead_letter(&self, entry: &Entry, reason: &str) {
        let stored = self.dead_letters.lock().unwrap_or_else(|p| p.into_inner()).store(entry, reason, now_ms());
        let destination = &entry.new.destination;
        match stored {
            Ok(()) => {
                tracing::error!(destination = %destination, key = %entry.new.key, seq = entry.seq, "event dead-lettered: {reason}");
                metrics::dead_lettered(destination);
                if let Err(e) = self.finish(destination, &[entry.seq], Done::DeadLettered) {
                    tracing::error!("{e}");
                }
            }
            // Kept in the outbox: it will be tried again rather than lost.
            Err(e) => {
                tracing::error!(destination = %destination, seq = entry.seq, "cannot dead-letter ({reason}): {e}")
            }
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Publishes `destination`'s depth and oldest age, and the outbox's bytes.
pub(crate) fn report_depth(ob: &Outbox, destination: &str) {
    let depth = ob.depth_of(destination);
    let age = ob.oldest_created_ms(destination).map_or(0.0, |t| ((now_ms() - t).max(0)) as f64 / 1000.0);
    metrics::outbox_state(destination, depth, age);
    metrics::outbox_bytes(ob.pending_bytes());
}
