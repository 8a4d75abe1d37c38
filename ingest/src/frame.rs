//! Frames handed from ingest to the detector.
//!
//! Pixels live in buffers recycled through a small per-camera pool, so steady-state
//! ingest allocates nothing per frame. Handover is a per-camera slot where the newest
//! frame wins: a detector that falls behind sees fresh frames, never a backlog.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

/// A decoded frame, BGR, 8 bits per channel, rows packed (`stride == width * 3`).
pub struct Frame {
    pub camera_id: Arc<str>,
    /// Per camera, increasing by one for every frame delivered (drops leave gaps).
    pub sequence: u64,
    /// Stream presentation time (restarts when the pipeline restarts or a file loops).
    pub pts: Option<Duration>,
    /// Wall-clock time the frame left the decoder.
    pub captured_at: SystemTime,
    pub width: u32,
    pub height: u32,
    pub pixels: PooledPixels,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("camera_id", &self.camera_id)
            .field("sequence", &self.sequence)
            .field("pts", &self.pts)
            .field("size", &(self.width, self.height))
            .finish()
    }
}

/// Recycles pixel buffers; at most `capacity` idle buffers are kept.
#[derive(Clone)]
pub struct FramePool {
    idle: Arc<Mutex<Vec<Vec<u8>>>>,
    capacity: usize,
}

impl FramePool {
    pub fn new(capacity: usize) -> Self {
        Self { idle: Arc::new(Mutex::new(Vec::new())), capacity }
    }

    /// A buffer of exactly `len` bytes (contents unspecified).
    pub fn take(&self, len: usize) -> PooledPixels {
        let mut buf = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
        buf.resize(len, 0);
        PooledPixels { buf, pool: Some(self.clone()) }
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.capacity {
            buf.clear();
            idle.push(buf);
        }
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

/// Pixel bytes that go back to their pool when dropped.
pub struct PooledPixels {
    buf: Vec<u8>,
    pool: Option<FramePool>,
}

impl PooledPixels {
    /// Pixels not from a pool (tests, stills).
    pub fn unpooled(buf: Vec<u8>) -> Self {
        Self { buf, pool: None }
    }
}

impl Deref for PooledPixels {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf
    }
}

impl DerefMut for PooledPixels {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

impl Drop for PooledPixels {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.buf));
        }
    }
}

/// Wakes a consumer when any camera's slot receives a frame.
#[derive(Default)]
pub struct Doorbell {
    rung: Mutex<u64>,
    cv: Condvar,
}

impl Doorbell {
    pub fn ring(&self) {
        *self.rung.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.cv.notify_all();
    }

    /// Waits until rung after `seen` (or the timeout); returns the new count.
    pub fn wait_after(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.rung.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self.cv.wait_timeout_while(guard, timeout, |n| *n == seen).unwrap_or_else(|p| p.into_inner());
        *guard
    }

    pub fn count(&self) -> u64 {
        *self.rung.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One camera's handover slot: holds at most one frame, the newest.
pub struct FrameSlot {
    frame: Mutex<Option<Frame>>,
    doorbell: Arc<Doorbell>,
}

impl FrameSlot {
    pub fn new(doorbell: Arc<Doorbell>) -> Self {
        Self { frame: Mutex::new(None), doorbell }
    }

    /// Puts a frame in; returns the one it replaced, which the caller counts as dropped.
    pub fn put(&self, frame: Frame) -> Option<Frame> {
        let old = self.frame.lock().unwrap_or_else(|p| p.into_inner()).replace(frame);
        self.doorbell.ring();
        old
    }

    pub fn take(&self) -> Option<Frame> {
        self.frame.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn doorbell(&self) -> &Arc<Doorbell> {
        &self.doorbell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pool: &FramePool, seq: u64) -> Frame {
        Frame {
            camera_id: "c".into(),
            sequence: seq,
            pts: None,
            captured_at: SystemTime::now(),
            width: 2,
            height: 2,
            pixels: pool.take(12),
        }
    }

    #[test]
    fn pool_recycles_buffers() {
        let pool = FramePool::new(2);
        let a = pool.take(100);
        let ptr = a.as_ptr();
        drop(a);
        assert_eq!(pool.idle_count(), 1);
        let b = pool.take(100);
        assert_eq!(b.as_ptr(), ptr, "buffer was not reused");
        assert_eq!(b.len(), 100);
    }

    #[test]
    fn slot_keeps_only_the_newest_and_rings() {
        let bell = Arc::new(Doorbell::default());
        let slot = FrameSlot::new(bell.clone());
        let pool = FramePool::new(4);
        assert!(slot.put(frame(&pool, 1)).is_none());
        let replaced = slot.put(frame(&pool, 2)).expect("first frame is superseded");
        assert_eq!(replaced.sequence, 1);
        assert_eq!(bell.count(), 2);
        assert_eq!(slot.take().unwrap().sequence, 2);
        assert!(slot.take().is_none());
    }

    #[test]
    fn doorbell_wakes_a_waiter() {
        let bell = Arc::new(Doorbell::default());
        let b2 = bell.clone();
        let t = std::thread::spawn(move || b2.wait_after(0, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        bell.ring();
        assert_eq!(t.join().unwrap(), 1);
    }
}
