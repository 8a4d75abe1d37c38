//! The detector's incident events in the wire schema (`proto::v1::Incident`).

use detector::incidents::{IncidentEvent, Phase, Severity};
use detector::rules::RuleKind;
use detector::zones::ZoneKind;
use proto::v1 as pb;

/// What the event itself does not know: where it happened and who produced it.
pub struct WireContext<'a> {
    pub camera: &'a pb::CameraRef,
    pub frame_width: u32,
    pub frame_height: u32,
    pub model: &'a detector::ModelManifest,
    pub instance: &'a str,
    /// The snapshot's path relative to the data directory, when one was written.
    pub snapshot_uri: Option<&'a str>,
    /// The evidence clip's path (written once its post-roll is recorded).
    pub clip_uri: Option<&'a str>,
}

fn kind(rule: RuleKind) -> pb::IncidentKind {
    match rule {
        RuleKind::SidewalkParking => pb::IncidentKind::SidewalkParking,
        RuleKind::StreetVending => pb::IncidentKind::StreetVending,
        RuleKind::BikeCluster => pb::IncidentKind::BikeCluster,
    }
}

fn phase(p: Phase) -> pb::Phase {
    match p {
        Phase::Started => pb::Phase::Started,
        Phase::Updated => pb::Phase::Updated,
        Phase::Ended => pb::Phase::Ended,
    }
}

fn severity(s: Severity) -> pb::Severity {
    match s {
        Severity::Low => pb::Severity::Low,
        Severity::Medium => pb::Severity::Medium,
        Severity::High => pb::Severity::High,
    }
}

pub fn zone_kind(k: ZoneKind) -> pb::ZoneKind {
    match k {
        ZoneKind::Sidewalk => pb::ZoneKind::Sidewalk,
        ZoneKind::TactilePaving => pb::ZoneKind::TactilePaving,
        ZoneKind::NoVending => pb::ZoneKind::NoVending,
        ZoneKind::NoBikeParking => pb::ZoneKind::NoBikeParking,
        ZoneKind::Custom => pb::ZoneKind::Custom,
    }
}

pub fn to_wire(e: &IncidentEvent, cx: &WireContext<'_>) -> pb::Incident {
    let (w, h) = (cx.frame_width.max(1) as f32, cx.frame_height.max(1) as f32);
    pb::Incident {
        id: e.id.clone(),
        kind: kind(e.rule) as i32,
        phase: phase(e.phase) as i32,
        revision: e.revision,
        camera: Some(cx.camera.clone()),
        zone: e.zone.as_ref().map(|z| pb::ZoneRef {
            zone_id: z.id.to_string(),
            name: z.name.clone().unwrap_or_default(),
            kind: zone_kind(z.kind) as i32,
        }),
        started_at_ms: e.started_at.0,
        updated_at_ms: e.at.0,
        ended_at_ms: e.ended_at.map(|t| t.0),
        dwell_secs: (e.dwell_secs * 10.0).round() / 10.0,
        object_count: e.objects.len() as u32,
        objects: e
            .objects
            .iter()
            .map(|o| pb::DetectedObject {
                class_name: o.label.to_string(),
                score: o.score,
                r#box: Some(pb::NormalizedBox {
                    x: o.bbox.x1 / w,
                    y: o.bbox.y1 / h,
                    width: o.bbox.width() / w,
                    height: o.bbox.height() / h,
                }),
                track_id: o.track_id,
            })
            .collect(),
        severity: severity(e.severity) as i32,
        evidence: Some(pb::Evidence {
            snapshot_uri: cx.snapshot_uri.unwrap_or_default().to_string(),
            clip_uri: cx.clip_uri.unwrap_or_default().to_string(),
            ..Default::default()
        }),
        model: Some(pb::ModelRef {
            name: cx.model.name.clone(),
            version: cx.model.version.clone(),
            sha256: cx.model.sha256.clone(),
        }),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        producer_instance: cx.instance.to_string(),
        summary: e.summary.clone(),
        cause: e.cause.name().to_string(),
        review: None,
    }
}
