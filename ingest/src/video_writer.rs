//! Writing frames (packed BGR) to an H.264 MP4: the annotated video of a replay.
//! Unlike evidence clips this encodes, since the pixels are new (boxes drawn on).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::MediaError;
use crate::pipeline_parts::element;

const WHAT: &str = "video encoder";

pub struct VideoWriter {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    path: PathBuf,
    tmp: PathBuf,
    width: u32,
    height: u32,
    frames: u64,
}

impl VideoWriter {
    /// A writer of `width x height` BGR frames (both even) to `path` (written aside,
    /// renamed by `finish`).
    pub fn create(path: &Path, width: u32, height: u32) -> Result<Self, MediaError> {
        if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            return Err(MediaError::Invalid(format!("frame size {width}x{height} must be even for H.264 4:2:0")));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(MediaError::io(dir))?;
        }
        let tmp = path.with_extension("mp4.tmp");
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "BGR")
            .field("width", width as i32)
            .field("height", height as i32)
            .field("framerate", gst::Fraction::new(0, 1))
            .build();
        let src =
            gst_app::AppSrc::builder().caps(&caps).format(gst::Format::Time).block(true).max_bytes(64 << 20).build();
        let convert = element("videoconvert")?;
        let encode = element("x264enc")?;
        encode.set_property_from_str("speed-preset", "veryfast");
        let parse = element("h264parse")?;
        let mux = element("mp4mux")?;
        let sink = element("filesink")?;
        sink.set_property("location", tmp.to_str().ok_or_else(|| MediaError::Invalid("path is not UTF-8".into()))?);
        let pipeline = gst::Pipeline::new();
        let chain = [src.upcast_ref(), &convert, &encode, &parse, &mux, &sink];
        let assemble = |source| MediaError::Assemble { what: WHAT, source };
        pipeline.add_many(chain).map_err(assemble)?;
        gst::Element::link_many(chain).map_err(assemble)?;
        pipeline.set_state(gst::State::Playing).map_err(|source| MediaError::Start { what: WHAT, source })?;
        Ok(Self { pipeline, src, path: path.to_path_buf(), tmp, width, height, frames: 0 })
    }

    /// One frame, shown from `pts` on.
    pub fn push(&mut self, bgr: &[u8], pts: Duration) -> Result<(), MediaError> {
        let expected = (self.width * self.height * 3) as usize;
        if bgr.len() != expected {
            return Err(MediaError::Invalid(format!("frame of {} bytes, expected {expected}", bgr.len())));
        }
        let mut buffer = gst::Buffer::from_slice(bgr.to_vec());
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(pts.as_nanos() as u64));
        }
        self.src.push_buffer(buffer).map_err(|source| MediaError::Refused { what: WHAT, source })?;
        self.frames += 1;
        Ok(())
    }

    /// Ends the stream, waits for the file to be complete, and puts it in place.
    /// Returns the number of frames written.
    pub fn finish(self) -> Result<u64, MediaError> {
        let _ = self.src.end_of_stream();
        let bus = self.pipeline.bus().ok_or(MediaError::Missing { what: WHAT, part: "bus" })?;
        let msg = bus
            .timed_pop_filtered(gst::ClockTime::from_seconds(120), &[gst::MessageType::Eos, gst::MessageType::Error]);
        let _ = self.pipeline.set_state(gst::State::Null);
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => {
                std::fs::rename(&self.tmp, &self.path).map_err(MediaError::io(&self.path))?;
                Ok(self.frames)
            }
            Some(gst::MessageView::Error(e)) => Err(MediaError::Failed { what: WHAT, source: e.error() }),
            _ => Err(MediaError::Timeout { what: WHAT, timeout: Duration::from_secs(120) }),
        }
    }
}
