//! Frames handed from ingest to the detector.
//!
//! A frame's pixels are the converter's own output buffer, handed over without a
//! copy (GStreamer's buffer pool recycles it once the frame is dropped); the type is
//! opaque, so consumers see bytes, never GStreamer. Handover is a per-camera slot
//! where the newest frame wins: a detector that falls behind sees fresh frames,
//! never a backlog.

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use gstreamer as gst;

use crate::change_gate::AnalysisFeedback;

/// A decoded frame, BGR, 8 bits per channel. Row `y` starts at `y * stride`.
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
    /// Bytes per row, at least `width * 3` (rows may be padded).
    pub stride: usize,
    pub pixels: Pixels,
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

/// Pixel bytes: a decoded buffer from the pipeline (zero-copy), or owned bytes
/// (tests, stills).
pub struct Pixels(PixelStore);

enum PixelStore {
    Owned(Vec<u8>),
    Mapped(gst::MappedBuffer<gst::buffer::Readable>),
}

impl Pixels {
    pub fn owned(bytes: Vec<u8>) -> Self {
        Self(PixelStore::Owned(bytes))
    }

    pub(crate) fn mapped(buffer: gst::MappedBuffer<gst::buffer::Readable>) -> Self {
        Self(PixelStore::Mapped(buffer))
    }
}

impl Deref for Pixels {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            PixelStore::Owned(v) => v,
            PixelStore::Mapped(m) => m.as_slice(),
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

/// One camera's handover slot: holds at most one frame, the newest. It also numbers
/// the camera's frames, so sequence numbers keep increasing across pipeline restarts.
pub struct FrameSlot {
    frame: Mutex<Option<Frame>>,
    /// Signalled when the consumer takes the frame (for lossless hand-over).
    emptied: Condvar,
    doorbell: Arc<Doorbell>,
    sequence: std::sync::atomic::AtomicU64,
    /// What the detector said about the camera's last analysed frame (change gating).
    feedback: AnalysisFeedback,
    /// How far the camera's stream has come (ms of its newest encoded unit), delivered
    /// or not: with change gating the last analysed frame can be seconds behind.
    position_ms: std::sync::atomic::AtomicU64,
}

impl FrameSlot {
    pub fn new(doorbell: Arc<Doorbell>) -> Self {
        Self {
            frame: Mutex::new(None),
            emptied: Condvar::new(),
            doorbell,
            sequence: std::sync::atomic::AtomicU64::new(0),
            feedback: AnalysisFeedback::default(),
            position_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The sequence number for the next frame of this camera (1, 2, ...).
    pub fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// Puts a frame in; returns the one it replaced, which the caller counts as dropped.
    pub fn put(&self, frame: Frame) -> Option<Frame> {
        self.feedback.delivered();
        let old = self.frame.lock().unwrap_or_else(|p| p.into_inner()).replace(frame);
        self.doorbell.ring();
        old
    }

    /// The detector's side of change gating: it answers here after analysing the
    /// camera's frame; the camera's gate reads the answer.
    pub fn feedback(&self) -> &AnalysisFeedback {
        &self.feedback
    }

    /// The stream reached `pts` (every encoded unit, before any gate).
    pub fn advance_position(&self, pts: Duration) {
        self.position_ms.fetch_max(pts.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The furthest stream time the camera's source has reached.
    pub fn position(&self) -> Duration {
        Duration::from_millis(self.position_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn take(&self) -> Option<Frame> {
        let frame = self.frame.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.emptied.notify_all();
        frame
    }

    pub fn is_empty(&self) -> bool {
        self.frame.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Waits until the consumer has taken the frame in the slot, so the next one
    /// replaces nothing: the lossless hand-over of a file played as fast as possible.
    /// Returns false when `give_up` says to stop waiting (the pipeline is stopping).
    pub fn wait_until_empty(&self, give_up: impl Fn() -> bool) -> bool {
        let mut frame = self.frame.lock().unwrap_or_else(|p| p.into_inner());
        while frame.is_some() {
            if give_up() {
                return false;
            }
            frame = self.emptied.wait_timeout(frame, Duration::from_millis(50)).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }

    pub fn doorbell(&self) -> &Arc<Doorbell> {
        &self.doorbell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64) -> Frame {
        Frame {
            camera_id: "c".into(),
            sequence: seq,
            pts: None,
            captured_at: SystemTime::now(),
            width: 2,
            height: 2,
            stride: 6,
            pixels: Pixels::owned(vec![0; 12]),
        }
    }

    #[test]
    fn slot_keeps_only_the_newest_and_rings() {
        let bell = Arc::new(Doorbell::default());
        let slot = FrameSlot::new(bell.clone());
        assert!(slot.put(frame(1)).is_none());
        let replaced = slot.put(frame(2)).expect("first frame is superseded");
        assert_eq!(replaced.sequence, 1);
        assert_eq!(bell.count(), 2);
        assert_eq!(slot.take().unwrap().sequence, 2);
        assert!(slot.take().is_none());
    }

    #[test]
    fn a_waiting_producer_resumes_when_the_frame_is_taken() {
        let slot = Arc::new(FrameSlot::new(Arc::new(Doorbell::default())));
        assert!(slot.wait_until_empty(|| false), "empty at once");
        slot.put(frame(1));
        assert!(!slot.wait_until_empty(|| true), "gives up when told");
        let consumer = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || {
                while slot.take().is_none() {
                    std::thread::yield_now();
                }
            })
        };
        assert!(slot.wait_until_empty(|| false));
        consumer.join().unwrap();
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
