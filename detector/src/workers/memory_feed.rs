//! An in-memory frame feed: tests and benchmarks put still images into camera slots
//! directly (the binary uses ingest's slots instead).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use super::feed::{AnalysableFrame, FrameFeed};
use crate::image::{ImageError, ImageRef};

/// A BGR still shared between frames (cloning a frame does not copy pixels).
#[derive(Clone)]
pub struct StillFrame {
    pub width: u32,
    pub height: u32,
    pub pixels: Arc<Vec<u8>>,
    pub ready_at: SystemTime,
    /// Free for the test's use (e.g. a sequence number).
    pub tag: u64,
}

impl StillFrame {
    pub fn new(width: u32, height: u32, pixels: Arc<Vec<u8>>, tag: u64) -> Self {
        Self { width, height, pixels, ready_at: SystemTime::now(), tag }
    }
}

impl AnalysableFrame for StillFrame {
    fn image(&self) -> Result<ImageRef<'_>, ImageError> {
        ImageRef::bgr(self.width, self.height, self.width as usize * 3, &self.pixels)
    }
    fn ready_at(&self) -> SystemTime {
        self.ready_at
    }
}

pub struct MemoryFeed {
    ids: Vec<Arc<str>>,
    slots: Vec<Mutex<Option<StillFrame>>>,
    arrivals: Mutex<u64>,
    rung: Condvar,
}

impl MemoryFeed {
    pub fn new(cameras: usize) -> Self {
        Self {
            ids: (0..cameras).map(|i| Arc::from(format!("cam-{i}"))).collect(),
            slots: (0..cameras).map(|_| Mutex::new(None)).collect(),
            arrivals: Mutex::new(0),
            rung: Condvar::new(),
        }
    }

    /// Puts a frame in a camera's slot, replacing a waiting one (returned).
    pub fn put(&self, camera: usize, frame: StillFrame) -> Option<StillFrame> {
        let old = self.slots[camera].lock().unwrap_or_else(|p| p.into_inner()).replace(frame);
        *self.arrivals.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.rung.notify_all();
        old
    }

    /// Puts a tiny grey frame in a camera's slot (scheduler tests).
    pub fn offer(&self, camera: usize) {
        self.put(camera, StillFrame::new(2, 2, Arc::new(vec![127; 12]), 0));
    }

    /// Whether a camera's slot still holds a frame.
    pub fn is_waiting(&self, camera: usize) -> bool {
        self.slots[camera].lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

impl FrameFeed for MemoryFeed {
    type Frame = StillFrame;

    fn camera_count(&self) -> usize {
        self.slots.len()
    }
    fn camera_id(&self, camera: usize) -> Arc<str> {
        Arc::clone(&self.ids[camera])
    }
    fn take(&self, camera: usize) -> Option<StillFrame> {
        self.slots.get(camera)?.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
    fn arrivals(&self) -> u64 {
        *self.arrivals.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn wait_for_arrival(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) =
            self.rung.wait_timeout_while(guard, timeout, |n| *n <= seen).unwrap_or_else(|p| p.into_inner());
        *guard
    }
}
