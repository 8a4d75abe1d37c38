//! Evidence clips: encoded access units (a camera's pre-roll and what followed) muxed
//! into MP4 as they are, never re-encoded. The first unit is a keyframe (the pre-roll
//! always starts at one), so the clip plays from its first frame.

use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::MediaError;
use crate::nal::{self, Codec};
use crate::pipeline_parts::element;
use crate::preroll::EncodedUnit;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipInfo {
    pub units: usize,
    /// From the first unit's time to the end of the last.
    pub span: Duration,
    pub bytes: u64,
}

/// The units of a clip: the pre-roll taken when the incident started (`before`),
/// then the units that arrived after it (`later`, a second look at the ring once the
/// post-roll has passed). A pipeline restart in between starts a new timeline: only
/// `before` is used then.
pub fn join_units(before: Vec<EncodedUnit>, later: Vec<EncodedUnit>) -> Vec<EncodedUnit> {
    let last = before.iter().filter_map(|u| u.pts).max();
    let mut out = before;
    let continues = match (last, later.iter().filter_map(|u| u.pts).max()) {
        (Some(l), Some(n)) => n > l,
        _ => false,
    };
    if continues {
        let first_later = later.iter().filter_map(|u| u.pts).min();
        let overlaps = first_later.zip(last).is_some_and(|(f, l)| f <= l);
        let newer = later.into_iter().filter(|u| u.pts.zip(last).is_some_and(|(p, l)| p > l));
        if overlaps {
            out.extend(newer);
        } else {
            // A gap (the ring moved on further than it keeps): go on from the next
            // keyframe, so no frame is decoded without its references.
            out.extend(newer.skip_while(|u| !u.keyframe));
        }
    }
    out
}

fn codec_of(units: &[EncodedUnit]) -> Option<Codec> {
    let first = units.iter().find(|u| u.keyframe)?;
    if nal::is_keyframe(Codec::H264, &first.data) == Some(true) {
        Some(Codec::H264)
    } else if nal::is_keyframe(Codec::H265, &first.data) == Some(true) {
        Some(Codec::H265)
    } else {
        None
    }
}

/// Writes `units` (starting at a keyframe) to `path` as MP4, aside then renamed.
pub fn write_mp4(units: &[EncodedUnit], path: &Path) -> Result<ClipInfo, MediaError> {
    const WHAT: &str = "clip muxer";
    let start = units
        .iter()
        .position(|u| u.keyframe && u.pts.is_some())
        .ok_or_else(|| MediaError::Invalid("no keyframe to start the clip at".into()))?;
    let units: Vec<&EncodedUnit> = units[start..].iter().filter(|u| u.pts.is_some()).collect();
    let owned: Vec<EncodedUnit> = units.iter().map(|u| (*u).clone()).collect();
    let codec = codec_of(&owned)
        .ok_or_else(|| MediaError::Invalid("the clip's first unit is neither an H.264 nor an H.265 keyframe".into()))?;
    let (media, parser) = match codec {
        Codec::H264 => ("video/x-h264", "h264parse"),
        Codec::H265 => ("video/x-h265", "h265parse"),
    };
    let tmp = path.with_extension("mp4.tmp");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(MediaError::io(dir))?;
    }
    let caps = gst::Caps::builder(media).field("stream-format", "byte-stream").field("alignment", "au").build();
    let src = gst_app::AppSrc::builder().caps(&caps).format(gst::Format::Time).build();
    let parse = element(parser)?;
    let mux = element("mp4mux")?;
    let sink = element("filesink")?;
    sink.set_property("location", tmp.to_str().ok_or_else(|| MediaError::Invalid("clip path is not UTF-8".into()))?);
    let pipeline = gst::Pipeline::new();
    let assemble = |source| MediaError::Assemble { what: WHAT, source };
    pipeline.add_many([src.upcast_ref(), &parse, &mux, &sink]).map_err(assemble)?;
    gst::Element::link_many([src.upcast_ref(), &parse, &mux, &sink]).map_err(assemble)?;
    pipeline.set_state(gst::State::Playing).map_err(|source| MediaError::Start { what: WHAT, source })?;

    let first_pts = units[0].pts.unwrap_or_default();
    let mut bytes = 0u64;
    let mut end = first_pts;
    for u in &units {
        let mut buffer = gst::Buffer::from_slice(u.data.to_vec());
        {
            let b = buffer.get_mut().ok_or(MediaError::Missing { what: WHAT, part: "writable buffer" })?;
            let pts = u.pts.unwrap_or_default().saturating_sub(first_pts);
            b.set_pts(gst::ClockTime::from_nseconds(pts.as_nanos() as u64));
            if let Some(d) = u.duration {
                b.set_duration(gst::ClockTime::from_nseconds(d.as_nanos() as u64));
            }
            if !u.keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        bytes += u.data.len() as u64;
        end = end.max(u.pts.unwrap_or_default() + u.duration.unwrap_or_default());
        src.push_buffer(buffer).map_err(|source| MediaError::Refused { what: WHAT, source })?;
    }
    let _ = src.end_of_stream();
    let bus = pipeline.bus().ok_or(MediaError::Missing { what: WHAT, part: "bus" })?;
    let msg =
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos, gst::MessageType::Error]);
    let _ = pipeline.set_state(gst::State::Null);
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => {}
        Some(gst::MessageView::Error(e)) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(MediaError::Failed { what: WHAT, source: e.error() });
        }
        _ => {
            let _ = std::fs::remove_file(&tmp);
            return Err(MediaError::Timeout { what: WHAT, timeout: Duration::from_secs(30) });
        }
    }
    std::fs::rename(&tmp, path).map_err(MediaError::io(path))?;
    Ok(ClipInfo { units: units.len(), span: end.saturating_sub(first_pts), bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(ms: u64) -> EncodedUnit {
        EncodedUnit {
            pts: Some(Duration::from_millis(ms)),
            dts: None,
            duration: None,
            keyframe: ms.is_multiple_of(1000),
            data: vec![0u8; 4].into(),
        }
    }

    #[test]
    fn later_units_join_after_the_pre_roll_unless_the_timeline_restarted() {
        let before: Vec<_> = (0..10).map(|i| unit(i * 100)).collect();
        let later: Vec<_> = (5..20).map(|i| unit(i * 100)).collect();
        let joined = join_units(before.clone(), later);
        let pts: Vec<u64> = joined.iter().map(|u| u.pts.unwrap().as_millis() as u64).collect();
        assert_eq!(pts, (0..20).map(|i| i * 100).collect::<Vec<_>>());
        let with_gap: Vec<_> = (15..35).map(|i| unit(i * 100)).collect();
        let joined = join_units(before.clone(), with_gap);
        assert_eq!(joined[10].pts, Some(Duration::from_millis(2000)), "resumes at the next keyframe");
        let restarted: Vec<_> = (0..3).map(|i| unit(i * 100)).collect();
        assert_eq!(join_units(before.clone(), restarted).len(), before.len());
    }
}
