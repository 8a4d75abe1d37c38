//! What the incident lifecycle emits. The binary maps it onto the wire schema
//! (`proto::streetwatch::v1::Incident`).

use std::sync::Arc;

use crate::geometry::boxes::BoxXyxy;
use crate::rules::RuleKind;
use crate::timestamp::Timestamp;
use crate::zones::ZoneKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Started,
    Updated,
    Ended,
}

/// Why an event was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The rule held for its dwell time.
    DwellReached,
    /// The number of objects involved changed.
    CountChanged,
    /// The situation lasted long enough to raise its severity.
    Escalated,
    /// Still standing after `realarm_secs`: a reminder, not a new incident.
    Realarm,
    /// The condition was false for `clear_secs`.
    Cleared,
}

impl Cause {
    pub fn name(&self) -> &'static str {
        match self {
            Self::DwellReached => "dwell_reached",
            Self::CountChanged => "count_changed",
            Self::Escalated => "escalated",
            Self::Realarm => "realarm",
            Self::Cleared => "cleared",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentObject {
    pub track_id: u64,
    pub label: Arc<str>,
    pub score: f32,
    /// Frame pixels.
    pub bbox: BoxXyxy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneInfo {
    pub id: Arc<str>,
    pub name: Option<String>,
    pub kind: ZoneKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    /// Stable for the incident's whole life; UUIDv7-shaped (sorts by start time) and
    /// derived from camera, start time and count, so a replay gives the same ids.
    pub id: String,
    pub phase: Phase,
    pub cause: Cause,
    pub rule: RuleKind,
    /// 1 at STARTED, one more for every later event of the incident.
    pub revision: u64,
    pub camera_id: Arc<str>,
    pub zone: Option<ZoneInfo>,
    /// When the incident was raised (the rule had held for its dwell time).
    pub started_at: Timestamp,
    /// The time of this event.
    pub at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// How long the situation has lasted (since the rule's condition began).
    pub dwell_secs: f64,
    pub objects: Vec<IncidentObject>,
    pub severity: Severity,
    /// One line for people: what, where, how long.
    pub summary: String,
}
