//! An in-memory frame feed: tests and benchmarks put still images into camera slots
//! directly (the binary uses ingest's slots instead).

use std::sync::{Arc, Condvar, Mutex, RwLock};
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

/// A camera's id and its slot (at most one waiting frame).
type MemoryCamera = (Arc<str>, Mutex<Option<StillFrame>>);

pub struct MemoryFeed {
    /// By camera index.
    cameras: RwLock<Vec<MemoryCamera>>,
    arrivals: Mutex<u64>,
    rung: Condvar,
}

impl MemoryFeed {
    pub fn new(cameras: usize) -> Self {
        let feed = Self { cameras: RwLock::default(), arrivals: Mutex::new(0), rung: Condvar::new() };
        for _ in 0..cameras {
            feed.add_camera();
        }
        feed
    }

    /// One more camera (`cam-<index>`); returns its index.
    pub fn add_camera(&self) -> usize {
        let mut cameras = self.cameras.write().unwrap_or_else(|p| p.into_inner());
        let index = cameras.len();
        cameras.push((Arc::from(format!("cam-{index}")), Mutex::new(None)));
        index
    }

    fn with_slot<R>(&self, camera: usize, f: impl FnOnce(&mut Option<StillFrame>) -> R) -> Option<R> {
        let cameras = self.cameras.read().unwrap_or_else(|p| p.into_inner());
        let (_, slot) = cameras.get(camera)?;
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut slot))
    }

    /// Puts a frame in a camera's slot, replacing a waiting one (returned).
    pub fn put(&self, camera: usize, frame: StillFrame) -> Option<StillFrame> {
        let old = self.with_slot(camera, |slot| slot.replace(frame)).flatten();
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
        self.with_slot(camera, |slot| slot.is_some()).unwrap_or(false)
    }
}

impl FrameFeed for MemoryFeed {
    type Frame = StillFrame;

    fn camera_count(&self) -> usize {
        self.cameras.read().unwrap_or_else(|p| p.into_inner()).len()
    }
    fn camera_id(&self, camera: usize) -> Arc<str> {
        let cameras = self.cameras.read().unwrap_or_else(|p| p.into_inner());
        cameras.get(camera).map_or_else(|| Arc::from("unknown"), |(id, _)| Arc::clone(id))
    }
    fn take(&self, camera: usize) -> Option<StillFrame> {
        self.with_slot(camera, Option::take).flatten()
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
