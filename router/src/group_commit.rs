//! Group commit: submitters that arrive while the outbox is being written and synced
//! queue up; the next writer takes every queued batch and makes them durable with one
//! append and one fsync. No thread of its own: whoever finds no writer at work
//! becomes it. Each submitter still returns only once its own events are on disk.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::outbox::NewEntry;
use crate::RouterError;

#[derive(Default)]
struct State {
    queue: Vec<(u64, Vec<NewEntry>)>,
    next_ticket: u64,
    writing: bool,
    /// One failed write fails every submitter of its group: they share its error.
    results: HashMap<u64, Result<(), Arc<RouterError>>>,
}

#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `batch` durable through `write` (which appends and syncs a whole group),
    /// returning once it is; `write`'s error, shared, if the group failed.
    pub(crate) fn commit(
        &self,
        batch: Vec<NewEntry>,
        write: impl Fn(Vec<NewEntry>) -> Result<(), RouterError>,
    ) -> Result<(), Arc<RouterError>> {
        let mut st = self.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.queue.push((ticket, batch));
        loop {
            if let Some(result) = st.results.remove(&ticket) {
                return result;
            }
            if st.writing {
                st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Nobody is writing: write everything queued, ours included.
            st.writing = true;
            let group = std::mem::take(&mut st.queue);
            drop(st);
            let tickets: Vec<u64> = group.iter().map(|(t, _)| *t).collect();
            let result = write(group.into_iter().flat_map(|(_, b)| b).collect()).map_err(Arc::new);
            st = self.lock();
            for t in tickets {
                st.results.insert(t, result.clone());
            }
            st.writing = false;
            self.done.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn entry(n: u16) -> NewEntry {
        NewEntry {
            destination: Arc::from("d"),
            key: String::new(),
            headers: Vec::new(),
            body: n.to_le_bytes().to_vec(),
            retention: crate::outbox::Retention::Keep,
            created_ms: 0,
        }
    }

    #[test]
    fn concurrent_submitters_share_writes_and_every_entry_is_written_once() {
        let gc = GroupCommit::default();
        let writes = AtomicUsize::new(0);
        let written = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..8u16 {
                let (gc, writes, written) = (&gc, &writes, &written);
                s.spawn(move || {
                    for i in 0..50u16 {
                        gc.commit(vec![entry(t * 50 + i)], |all| {
                            writes.fetch_add(1, Ordering::SeqCst);
                            // A slow disk: others queue meanwhile.
                            std::thread::sleep(std::time::Duration::from_micros(300));
                            let mut w = written.lock().unwrap();
                            w.extend(all.iter().map(|e| u16::from_le_bytes([e.body[0], e.body[1]])));
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        let mut got = written.into_inner().unwrap();
        got.sort_unstable();
        assert_eq!(got, (0..400).collect::<Vec<u16>>(), "each entry written exactly once");
        let n = writes.load(Ordering::SeqCst);
        assert!(n < 300, "8 submitters should share writes, got {n} writes for 400 entries");
    }

    #[test]
    fn a_failed_write_fails_every_submitter_of_its_group() {
        let gc = GroupCommit::default();
        let full = || RouterError::Outbox {
            path: "seg".into(),
            what: "cannot append",
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        let e = gc.commit(vec![entry(1)], |_| Err(full())).unwrap_err();
        assert!(matches!(*e, RouterError::Outbox { what: "cannot append", .. }), "{e:?}");
        assert!(gc.commit(vec![entry(2)], |_| Ok(())).is_ok());
    }
}
