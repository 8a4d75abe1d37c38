//! Facts about a media file, read by GStreamer without decoding it.

use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

/// The playing time of a video file (container or elementary stream), or None when
/// GStreamer cannot tell within `timeout` (an elementary H.264 stream has no index).
pub fn duration(path: &Path, timeout: Duration) -> Option<Duration> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc").property("location", path.to_str()?).build().ok()?;
    let parse = gst::ElementFactory::make("parsebin").build().ok()?;
    let sink = gst::ElementFactory::make("fakesink").build().ok()?;
    pipeline.add_many([&src, &parse, &sink]).ok()?;
    src.link(&parse).ok()?;
    let sink_weak = sink.downgrade();
    parse.connect_pad_added(move |_, pad| {
        if let Some(sink) = sink_weak.upgrade() {
            if let Some(sink_pad) = sink.static_pad("sink") {
                if !sink_pad.is_linked() {
                    let _ = pad.link(&sink_pad);
                }
            }
        }
    });
    let result = (|| {
        pipeline.set_state(gst::State::Paused).ok()?;
        let bus = pipeline.bus()?;
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::AsyncDone, gst::MessageType::Error],
        )?;
        if matches!(msg.view(), gst::MessageView::Error(_)) {
            return None;
        }
        pipeline.query_duration::<gst::ClockTime>().map(|d| Duration::from_nanos(d.nseconds()))
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}
