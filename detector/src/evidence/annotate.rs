//! One frame of an annotated replay video: every tracked object seen in it boxed with its class
//! and track id (red when it is part of an open incident, green otherwise), the zones
//! outlined, and a caption with the camera, the time and the open incidents.

use std::collections::HashSet;

use super::canvas::{Canvas, GREEN, RED};
use super::error::EvidenceError;
use crate::image::ImageRef;
use crate::preprocess::privacy_mask::PrivacyMask;
use crate::rules::SceneObject;
use crate::zones::Zone;

pub struct Annotation<'a> {
    pub objects: &'a [SceneObject],
    /// Track ids that are part of an open incident.
    pub in_incident: &'a HashSet<u64>,
    pub zones: &'a [Zone],
    pub masks: &'a [PrivacyMask],
    /// First caption line (camera and time), second (open incidents).
    pub caption: (&'a str, &'a str),
}

/// The annotated frame as packed BGR: `(width, height, bytes)` (the caption strip
/// makes it taller than the frame).
pub fn annotate_frame(image: ImageRef<'_>, a: &Annotation<'_>) -> Result<(u32, u32, Vec<u8>), EvidenceError> {
    let mut canvas = Canvas::new(image, a.masks)?;
    canvas.zones(a.zones, None)?;
    // Objects the tracker only remembers (a drop-out) are not drawn where they were.
    for o in a.objects.iter().filter(|o| o.seen_now) {
        let colour = if a.in_incident.contains(&o.track_id) { RED } else { GREEN };
        canvas.labelled_box(&o.bbox, &format!("{} #{}", o.label, o.track_id), colour)?;
    }
    canvas.caption(a.caption.0, a.caption.1)?;
    canvas.into_bgr()
}
