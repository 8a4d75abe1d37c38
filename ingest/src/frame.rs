//! Frames handed from ingest to the detector.
//!
//! A frame's pixels are the converter's own output buffer, handed over without a
//! copy (GStreamer's buffer pool recycles it once the frame is dropped); the type is
//! opaque, so consumers see bytes, never GStreamer. Handover is a per-camera slot
//! where the newest frame wins: a detector that falls behind sees fresh frames,
//! never a backlog.

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer_video as gst_video;

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

/// Pixel bytes: a converted buffer from the pipeline (zero-copy), a decoded picture
/// converted to BGR when first read, or owned bytes (tests, stills).
pub struct Pixels(PixelStore);

enum PixelStore {
    Owned(Vec<u8>),
    Mapped(gst::MappedBuffer<gst::buffer::Readable>),
    Deferred(Box<DeferredBgr>),
}

/// A decoded picture in the decoder's own format. A camera decoding every frame
/// delivers 25 a second and the detector takes one or two: converting to BGR when
/// the detector reads the pixels, not when the decoder hands the picture over,
/// spends the conversion only on frames that are used (a superseded frame is dropped
/// unconverted).
pub(crate) struct DeferredBgr {
    decoded: gst::Buffer,
    decoded_info: gst_video::VideoInfo,
    bgr_info: gst_video::VideoInfo,
    converter: Arc<Mutex<gst_video::VideoConverter>>,
    /// The BGR picture; None when the conversion failed (the frame then reads as
    /// empty and is refused as too small by whoever reads it, like any bad frame).
    bgr: OnceLock<Option<gst::MappedBuffer<gst::buffer::Readable>>>,
}

impl DeferredBgr {
    pub(crate) fn new(
        decoded: gst::Buffer,
        decoded_info: gst_video::VideoInfo,
        bgr_info: gst_video::VideoInfo,
        converter: Arc<Mutex<gst_video::VideoConverter>>,
    ) -> Self {
        Self { decoded, decoded_info, bgr_info, converter, bgr: OnceLock::new() }
    }

    fn convert(&self) -> Option<gst::MappedBuffer<gst::buffer::Readable>> {
        let src = gst_video::VideoFrameRef::from_buffer_ref_readable(self.decoded.as_ref(), &self.decoded_info).ok()?;
        let mut out = gst::Buffer::with_size(self.bgr_info.size()).ok()?;
        {
            let mut dest = gst_video::VideoFrameRef::from_buffer_ref_writable(out.get_mut()?, &self.bgr_info).ok()?;
            // One converter per camera: its scratch lines are not for two threads at once.
            self.converter.lock().unwrap_or_else(|p| p.into_inner()).frame_ref(&src, &mut dest);
        }
        out.into_mapped_buffer_readable().ok()
    }
}

impl Pixels {
    pub fn owned(bytes: Vec<u8>) -> Self {
        Self(PixelStore::Owned(bytes))
    }

    pub(crate) fn mapped(buffer: gst::MappedBuffer<gst::buffer::Readable>) -> Self {
        Self(PixelStore::Mapped(buffer))
    }

    pub(crate) fn deferred(picture: DeferredBgr) -> Self {
        Self(PixelStore::Deferred(Box::new(picture)))
    }
}

impl Deref for Pixels {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            PixelStore::Owned(v) => v,
            PixelStore::Mapped(m) => m.as_slice(),
            PixelStore::Deferred(d) => d.bgr.get_or_init(|| d.convert()).as_ref().map_or(&[], |m| m.as_slice()),
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
}

impl FrameSlot {
    pub fn new(doorbell: Arc<Doorbell>) -> Self {
        Self {
            frame: Mutex::new(None),
            emptied: Condvar::new(),
            doorbell,
            sequence: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The sequence number for the next frame of this camera (1, 2, ...).
    pub fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// Puts a frame in; returns the one it replaced, which the caller counts as dropped.
    pub fn put(&self, frame: Frame) -> Option<Frame> {
        let old = self.frame.lock().unwrap_or_else(|p| p.into_inner()).replace(frame);
        self.doorbell.ring();
        old
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
    use gstreamer::prelude::*;
    use gstreamer_app as gst_app;

    /// The first buffer and caps an appsink gets from `launch` (its sink named `out`).
    fn first_sample(launch: &str) -> gst::Sample {
        crate::init().unwrap();
        let pipeline = gst::parse::launch(launch).unwrap().downcast::<gst::Pipeline>().unwrap();
        let sink = pipeline.by_name("out").unwrap().downcast::<gst_app::AppSink>().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(10)).expect("a frame within 10 s");
        pipeline.set_state(gst::State::Null).unwrap();
        sample
    }

    #[test]
    fn a_deferred_picture_reads_as_what_videoconvert_makes() {
        // Colour bars with detail (the ball), 4:2:0 like a camera's H.264.
        let source = "videotestsrc pattern=smpte num-buffers=1 ! video/x-raw,format=I420,width=322,height=242";
        let decoded = first_sample(&format!("{source} ! appsink name=out"));
        let expected = first_sample(&format!("{source} ! videoconvert ! video/x-raw,format=BGR ! appsink name=out"));
        let caps = decoded.caps().unwrap();
        let decoded_info = gst_video::VideoInfo::from_caps(caps).unwrap();
        let bgr_info = gst_video::VideoInfo::from_caps(expected.caps().unwrap()).unwrap();
        let converter = gst_video::VideoConverter::new(&decoded_info, &bgr_info, None).unwrap();
        let picture = DeferredBgr::new(
            decoded.buffer_owned().unwrap(),
            decoded_info,
            bgr_info.clone(),
            Arc::new(Mutex::new(converter)),
        );
        let pixels = Pixels::deferred(picture);
        let want = expected.buffer().unwrap().map_readable().unwrap();
        assert_eq!(pixels.len(), want.len(), "a BGR picture of stride {}", bgr_info.stride()[0]);
        let differ = pixels.iter().zip(want.iter()).filter(|(a, b)| a.abs_diff(**b) > 1).count();
        assert_eq!(differ, 0, "bytes more than 1 apart from videoconvert's");
        assert!(pixels.iter().any(|&p| p > 200) && pixels.iter().any(|&p| p < 30), "colour bars, not a blank");
    }

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
