//! The JSON form of an incident: the local event log's lines and the `data` of
//! CloudEvents. Field names follow the protobuf schema's meaning, flattened where a
//! reader wants them at hand (`camera_id`, `snapshot`); enums are lower-case names.

pub use proto::names::{kind_name, phase_name, review_action_name, severity_name, zone_kind_name};
use proto::v1::Incident;
use serde_json::{json, Value};

fn empty_to_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::from(s)
    }
}

/// The incident as JSON. `time` is the event's time as RFC 3339 (the caller knows
/// the camera's local offset).
pub fn incident_json(i: &Incident, time: &str) -> Value {
    let camera = i.camera.clone().unwrap_or_default();
    let evidence = i.evidence.clone().unwrap_or_default();
    let objects: Vec<Value> = i
        .objects
        .iter()
        .map(|o| {
            let b = o.r#box.unwrap_or_default();
            json!({"class": o.class_name, "score": o.score, "box": [b.x, b.y, b.width, b.height], "track_id": o.track_id})
        })
        .collect();
    json!({
        "id": i.id,
        "kind": kind_name(i.kind),
        "phase": phase_name(i.phase),
        "cause": empty_to_null(&i.cause),
        "revision": i.revision,
        "camera_id": camera.camera_id,
        "camera": {
            "gbt28181_code": empty_to_null(&camera.gbt28181_code),
            "site": empty_to_null(&camera.site),
            "grid": empty_to_null(&camera.grid),
        },
        "zone": i.zone.as_ref().map(|z| json!({"id": z.zone_id, "name": empty_to_null(&z.name), "kind": zone_kind_name(z.kind)})),
        "time": time,
        "started_at_ms": i.started_at_ms,
        "at_ms": i.updated_at_ms,
        "ended_at_ms": i.ended_at_ms,
        "dwell_secs": i.dwell_secs,
        "severity": severity_name(i.severity),
        "object_count": i.object_count,
        "objects": objects,
        "summary": i.summary,
        "snapshot": empty_to_null(&evidence.snapshot_uri),
        "clip": empty_to_null(&evidence.clip_uri),
        "model": i.model.as_ref().map(|m| json!({"name": m.name, "version": m.version, "sha256": m.sha256})),
        "producer_version": i.producer_version,
        "producer_instance": i.producer_instance,
        "review": i.review.as_ref().map(|r| json!({
            "id": r.review_id,
            "action": review_action_name(r.action),
            "operator": r.operator,
            "note": empty_to_null(&r.note),
            "at_ms": r.reviewed_at_ms,
        })),
    })
}
