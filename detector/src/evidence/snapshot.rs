//! The annotated snapshot of an incident: the frame with privacy masks blacked out,
//! the zones outlined (the incident's own zone bold), the objects involved boxed and
//! labelled, and, in a strip added below the frame (so it hides nothing of the
//! scene, and frame coordinates stay as they are), the camera, the time and what
//! happened. JPEG.
//!
//! Masks are filled first, on a copy of the frame: no stored image ever shows what a
//! mask covers, whatever is drawn after.

use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Vector};
use opencv::imgcodecs;

use super::canvas::{Canvas, RED};
use super::error::EvidenceError;
use crate::image::ImageRef;
use crate::incidents::IncidentEvent;
use crate::preprocess::privacy_mask::PrivacyMask;
use crate::zones::Zone;

/// Renders the snapshot of `event` on `image` and encodes it as JPEG.
/// `local_time` is the caption's time text (the caller knows the camera's offset).
pub fn render_snapshot(
    image: ImageRef<'_>,
    masks: &[PrivacyMask],
    zones: &[Zone],
    event: &IncidentEvent,
    local_time: &str,
    jpeg_quality: i32,
) -> Result<Vec<u8>, EvidenceError> {
    let mut canvas = Canvas::new(image, masks)?;
    canvas.zones(zones, event.zone.as_ref().map(|z| &*z.id))?;
    for o in &event.objects {
        canvas.labelled_box(&o.bbox, &format!("{} #{}", o.label, o.track_id), RED)?;
    }
    canvas.caption(&format!("{}  {}  {}", event.camera_id, local_time, event.rule.name()), &event.summary)?;
    canvas.jpeg(jpeg_quality)
}

/// Decodes a JPEG (a stored snapshot) into packed BGR: `(width, height, pixels)`.
/// For tools and tests that check what a snapshot shows.
pub fn decode_jpeg(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), EvidenceError> {
    let mat = imgcodecs::imdecode(&Vector::<u8>::from_slice(bytes), imgcodecs::IMREAD_COLOR)?;
    if mat.empty() {
        return Err(EvidenceError::NotAnImage);
    }
    let mut packed = Mat::default();
    mat.copy_to(&mut packed)?;
    let pixels = packed.data_bytes()?.to_vec();
    Ok((mat.cols() as u32, mat.rows() as u32, pixels))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opencv::core::{MatTraitConst, Vec3b};

    use super::*;
    use crate::geometry::boxes::BoxXyxy;
    use crate::incidents::{Cause, IncidentObject, Phase, Severity, ZoneInfo};
    use crate::rules::RuleKind;
    use crate::timestamp::Timestamp;
    use crate::zones::{Anchor, ZoneKind};

    #[test]
    fn the_snapshot_boxes_the_objects_outlines_the_zone_and_blacks_out_masks() {
        let (w, h) = (320u32, 240u32);
        let pixels = vec![128u8; (w * h * 3) as usize];
        let image = ImageRef::bgr(w, h, (w * 3) as usize, &pixels).unwrap();
        let zone = Zone {
            id: Arc::from("walk"),
            name: None,
            kind: ZoneKind::Sidewalk,
            polygon: vec![[20.0, 150.0], [300.0, 150.0], [300.0, 230.0], [20.0, 230.0]],
            normalized: false,
            anchor: Anchor::BottomCenter,
            entry_inertia_secs: 0.0,
            exempt: false,
            tolerated: vec![],
            dwell_secs: None,
        };
        let event = IncidentEvent {
            id: "x".into(),
            phase: Phase::Started,
            cause: Cause::DwellReached,
            rule: RuleKind::SidewalkParking,
            revision: 1,
            camera_id: Arc::from("cam"),
            zone: Some(ZoneInfo { id: Arc::from("walk"), name: None, kind: ZoneKind::Sidewalk }),
            started_at: Timestamp(0),
            at: Timestamp(0),
            ended_at: None,
            dwell_secs: 120.0,
            objects: vec![IncidentObject {
                track_id: 3,
                label: Arc::from("car"),
                score: 0.9,
                bbox: BoxXyxy { x1: 100.0, y1: 120.0, x2: 200.0, y2: 200.0 },
            }],
            severity: Severity::Low,
            summary: "car parked".into(),
        };
        let mask =
            PrivacyMask { points: vec![[0.0, 200.0], [60.0, 200.0], [60.0, 240.0], [0.0, 240.0]], normalized: false };
        let jpeg = render_snapshot(image, &[mask], &[zone], &event, "08:00:00", 95).unwrap();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8], "a JPEG");
        let decoded = imgcodecs::imdecode(&Vector::<u8>::from_slice(&jpeg), imgcodecs::IMREAD_COLOR).unwrap();
        let px = |x: i32, y: i32| *decoded.at_2d::<Vec3b>(y, x).unwrap();
        let reddish = |p: Vec3b| p[2] > 150 && p[0] < 100 && p[1] < 100;
        assert!(reddish(px(100, 160)), "left edge of the box: {:?}", px(100, 160));
        assert!(reddish(px(150, 200)), "bottom edge of the box: {:?}", px(150, 200));
        let grey = px(150, 100);
        assert!((grey[0] as i32 - 128).abs() < 10, "untouched: {grey:?}");
        let masked = px(30, 225);
        assert!(masked.iter().all(|&c| c < 20), "masked: {masked:?}");
        let zone_edge = px(300, 190);
        assert!(zone_edge[2] > 180 && zone_edge[1] > 150 && zone_edge[0] < 80, "zone outline: {zone_edge:?}");
        assert_eq!((decoded.cols(), decoded.rows()), (320, 240 + 44), "a strip below the frame");
        let strip = px(300, 250);
        assert!(strip.iter().all(|&c| c < 30), "strip: {strip:?}");
    }
}
