//! The thread a consumer-group member polls on, and how it is stopped: a flag the
//! loop checks between polls, then a join. Dropping it stops it too, so a member
//! leaves its group even on an early return.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::RouterError;

pub(crate) struct MemberThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MemberThread {
    /// Runs `body` on a thread named `name`; `body` returns once the flag it is given is set.
    pub(crate) fn spawn(name: &str, body: impl FnOnce(&AtomicBool) + Send + 'static) -> Result<Self, RouterError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&flag))
            .map_err(|source| RouterError::Thread { name: name.to_string(), source })?;
        Ok(Self { stop, thread: Some(thread) })
    }

    /// Sets the flag and waits for the thread to end.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MemberThread {
    fn drop(&mut self) {
        self.stop();
    }
}
