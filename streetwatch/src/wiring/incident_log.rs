//! The embedded incident log: one JSON object per line, appended and synced to disk
//! before the pipeline moves on, under `<data_dir>/events/incidents.jsonl`. It is
//! what the demo produces without any broker; the router's durable outbox and Kafka
//! delivery (issue 6) build on it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use detector::incidents::{IncidentEvent, Phase, Severity};
use detector::zones::ZoneKind;
use serde_json::{json, Value};

pub struct IncidentLog {
    path: PathBuf,
    file: File,
}

impl IncidentLog {
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("events");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("incidents.jsonl");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and syncs it: an incident reported is an incident on disk.
    pub fn append(&mut self, record: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

pub fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Started => "STARTED",
        Phase::Updated => "UPDATED",
        Phase::Ended => "ENDED",
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
    }
}

pub fn zone_kind_name(k: ZoneKind) -> &'static str {
    match k {
        ZoneKind::Sidewalk => "sidewalk",
        ZoneKind::TactilePaving => "tactile_paving",
        ZoneKind::NoVending => "no_vending",
        ZoneKind::NoBikeParking => "no_bike_parking",
        ZoneKind::Custom => "custom",
    }
}

/// What one line holds. Boxes are normalised `[x, y, width, height]` (0..1 from the
/// top-left corner), as in the protobuf schema; times are RFC 3339 in the camera's
/// local offset, and Unix milliseconds.
pub struct RecordContext<'a> {
    pub width: u32,
    pub height: u32,
    pub utc_offset_minutes: i32,
    pub instance: &'a str,
    pub snapshot: Option<&'a str>,
}

pub fn record(e: &IncidentEvent, cx: &RecordContext<'_>) -> Value {
    let (w, h) = (f64::from(cx.width.max(1)), f64::from(cx.height.max(1)));
    // Four decimals of the frame are a tenth of a pixel at 1080p: enough, and short.
    let r4 = |v: f64| (v * 1e4).round() / 1e4;
    let objects: Vec<Value> = e
        .objects
        .iter()
        .map(|o| {
            let b = o.bbox;
            let (x, y, bw, bh) = (f64::from(b.x1), f64::from(b.y1), f64::from(b.width()), f64::from(b.height()));
            json!({
                "class": &*o.label,
                "score": (f64::from(o.score) * 1000.0).round() / 1000.0,
                "box": [r4(x / w), r4(y / h), r4(bw / w), r4(bh / h)],
                "track_id": o.track_id,
            })
        })
        .collect();
    let off = cx.utc_offset_minutes;
    json!({
        "id": e.id,
        "kind": e.rule.name(),
        "phase": phase_name(e.phase),
        "cause": e.cause.name(),
        "revision": e.revision,
        "camera_id": &*e.camera_id,
        "zone": e.zone.as_ref().map(|z| json!({"id": &*z.id, "name": z.name, "kind": zone_kind_name(z.kind)})),
        "started_at": e.started_at.rfc3339(off),
        "started_at_ms": e.started_at.0,
        "at": e.at.rfc3339(off),
        "at_ms": e.at.0,
        "ended_at_ms": e.ended_at.map(|t| t.0),
        "dwell_secs": (e.dwell_secs * 10.0).round() / 10.0,
        "severity": severity_name(e.severity),
        "object_count": e.objects.len(),
        "objects": objects,
        "summary": e.summary,
        "snapshot": cx.snapshot,
        "producer_instance": cx.instance,
    })
}
