//! Incident lifecycles of one camera: one incident per real situation.
//!
//! Each frame's violations are matched to the open incidents of the same rule and
//! zone, by shared tracked objects or, when tracks were renewed (a long occlusion),
//! by overlapping area. A matched incident is UPDATED on a material change (object
//! count, severity), at most every `update_interval_secs`; an unmatched one ENDS once
//! its condition has been false for `clear_secs` (and in at least two evaluations); a situation still standing gets a
//! reminder UPDATED every `realarm_secs` (never a second incident: operators and the
//! case centre must see one case per situation). Unmatched violations start
//! incidents. Nothing here reads a clock.

use std::sync::Arc;

use super::event::{Cause, IncidentEvent, IncidentObject, Phase, Severity, ZoneInfo};
use super::id::incident_id;
use crate::geometry::boxes::BoxXyxy;
use crate::rules::settings::IncidentTiming;
use crate::rules::{RuleKind, SceneObject, Violation};
use crate::timestamp::Timestamp;
use crate::zones::Zone;

/// Union boxes overlapping at least this much are the same situation.
const SAME_AREA_IOU: f32 = 0.3;

#[derive(Debug, Clone)]
struct OpenIncident {
    id: String,
    rule: RuleKind,
    zone: Option<usize>,
    members: Vec<u64>,
    area: BoxXyxy,
    objects: Vec<IncidentObject>,
    condition_since: Timestamp,
    started_at: Timestamp,
    revision: u64,
    last_event_at: Timestamp,
    last_alarm_at: Timestamp,
    last_count: usize,
    severity: Severity,
    last_true: Timestamp,
    /// Evaluations in a row in which its condition did not hold.
    false_in_a_row: u32,
}

/// Evaluations in a row without the condition before an incident can end, however
/// long since it last held: frames of a still scene can be many seconds apart (the
/// change gate), and one evaluation after such a gap is not a clearance.
const MIN_FALSE_EVALUATIONS: u32 = 2;

pub struct IncidentBook {
    camera_id: Arc<str>,
    timing: IncidentTiming,
    open: Vec<OpenIncident>,
    started: u64,
}

fn union_box(objects: &[IncidentObject]) -> BoxXyxy {
    objects.iter().skip(1).fold(
        objects.first().map(|o| o.bbox).unwrap_or(BoxXyxy { x1: 0.0, y1: 0.0, x2: 0.0, y2: 0.0 }),
        |u, o| BoxXyxy {
            x1: u.x1.min(o.bbox.x1),
            y1: u.y1.min(o.bbox.y1),
            x2: u.x2.max(o.bbox.x2),
            y2: u.y2.max(o.bbox.y2),
        },
    )
}

impl IncidentBook {
    pub fn new(camera_id: Arc<str>, timing: IncidentTiming) -> Self {
        Self { camera_id, timing, open: Vec::new(), started: 0 }
    }

    /// Open incidents (for status pages and tests).
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Track ids taking part in open incidents.
    pub fn open_members(&self) -> impl Iterator<Item = u64> + '_ {
        self.open.iter().flat_map(|i| i.members.iter().copied())
    }

    /// One line per open incident, for captions: `sidewalk_parking 45 s`.
    pub fn open_summaries(&self, now: Timestamp) -> Vec<String> {
        self.open.iter().map(|i| format!("{} {:.0} s", i.rule.name(), now.secs_since(i.condition_since))).collect()
    }

    /// Ids of the open incidents (their evidence must not be cleaned away).
    pub fn open_ids(&self) -> impl Iterator<Item = &str> {
        self.open.iter().map(|i| i.id.as_str())
    }

    /// The earliest time after `now` at which an open incident's lifecycle could move
    /// on by time alone: a reminder due, or a clearance to confirm (change gating
    /// asks for an analysis then, however still the scene).
    pub fn next_due(&self, now: Timestamp) -> Option<Timestamp> {
        self.open
            .iter()
            .filter_map(|inc| {
                if inc.last_true < now {
                    Some(inc.last_true.plus_secs(self.timing.clear_secs))
                } else if self.timing.realarm_secs > 0.0 {
                    Some(inc.last_alarm_at.plus_secs(self.timing.realarm_secs))
                } else {
                    None
                }
            })
            .filter(|&t| t > now)
            .min()
    }

    fn severity(&self, dwell_secs: f64) -> Severity {
        let e = self.timing.escalate_after_secs.max(1.0);
        if dwell_secs >= 4.0 * e {
            Severity::High
        } else if dwell_secs >= e {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    /// Advances every lifecycle to `now` with the violations holding now.
    pub fn step(
        &mut self,
        violations: &[Violation],
        objects: &[SceneObject],
        zones: &[Zone],
        now: Timestamp,
    ) -> Vec<IncidentEvent> {
        let mut events = Vec::new();
        let mut matched = vec![false; self.open.len()];
        for v in violations {
            let objs: Vec<IncidentObject> = v
                .members
                .iter()
                .filter_map(|id| objects.iter().find(|o| o.track_id == *id))
                .map(|o| IncidentObject {
                    track_id: o.track_id,
                    label: Arc::clone(&o.label),
                    score: o.score,
                    bbox: o.bbox,
                })
                .collect();
            let area = union_box(&objs);
            let same = |inc: &OpenIncident| {
                inc.rule == v.rule
                    && inc.zone == v.zone
                    && (inc.members.iter().any(|m| v.members.contains(m)) || inc.area.iou(&area) >= SAME_AREA_IOU)
            };
            let found = self.open.iter().enumerate().position(|(i, inc)| !matched[i] && same(inc));
            if found.is_none() && self.open.iter().enumerate().any(|(i, inc)| matched[i] && same(inc)) {
                // A second violation over a situation already matched this frame (the
                // detector boxed one van twice, as a car and as a truck): the same case.
                continue;
            }
            match found {
                Some(i) => {
                    matched[i] = true;
                    let inc = &mut self.open[i];
                    inc.members = v.members.clone();
                    inc.objects = objs;
                    inc.area = area;
                    inc.last_true = now;
                    inc.false_in_a_row = 0;
                    inc.condition_since = inc.condition_since.min(v.since);
                }
                None => {
                    matched.push(true);
                    self.started += 1;
                    let inc = OpenIncident {
                        id: incident_id(&self.camera_id, now, self.started),
                        rule: v.rule,
                        zone: v.zone,
                        members: v.members.clone(),
                        area,
                        last_count: objs.len(),
                        objects: objs,
                        condition_since: v.since,
                        started_at: now,
                        revision: 1,
                        last_event_at: now,
                        last_alarm_at: now,
                        severity: self.severity(now.secs_since(v.since)),
                        last_true: now,
                        false_in_a_row: 0,
                    };
                    events.push(self.event(&inc, Phase::Started, Cause::DwellReached, now, zones));
                    self.open.push(inc);
                }
            }
        }

        let mut still_open = Vec::with_capacity(self.open.len());
        for (mut inc, was_matched) in std::mem::take(&mut self.open).into_iter().zip(matched) {
            if !was_matched {
                inc.false_in_a_row += 1;
                if now.secs_since(inc.last_true) >= self.timing.clear_secs
                    && inc.false_in_a_row >= MIN_FALSE_EVALUATIONS
                {
                    inc.revision += 1;
                    events.push(self.event(&inc, Phase::Ended, Cause::Cleared, now, zones));
                } else {
                    still_open.push(inc);
                }
                continue;
            }
            let severity = self.severity(now.secs_since(inc.condition_since));
            let cause = if inc.objects.len() != inc.last_count {
                Some(Cause::CountChanged)
            } else if severity != inc.severity {
                Some(Cause::Escalated)
            } else if self.timing.realarm_secs > 0.0 && now.secs_since(inc.last_alarm_at) >= self.timing.realarm_secs {
                Some(Cause::Realarm)
            } else {
                None
            };
            if let Some(cause) = cause.filter(|_| now.secs_since(inc.last_event_at) >= self.timing.update_interval_secs)
            {
                inc.revision += 1;
                inc.last_event_at = now;
                inc.last_alarm_at = now;
                inc.last_count = inc.objects.len();
                inc.severity = severity;
                events.push(self.event(&inc, Phase::Updated, cause, now, zones));
            }
            still_open.push(inc);
        }
        self.open = still_open;
        events
    }

    fn event(&self, inc: &OpenIncident, phase: Phase, cause: Cause, now: Timestamp, zones: &[Zone]) -> IncidentEvent {
        let zone = inc.zone.and_then(|z| zones.get(z)).map(|z| ZoneInfo {
            id: Arc::clone(&z.id),
            name: z.name.clone(),
            kind: z.kind,
        });
        // An ended situation lasted until its condition last held, not until the clear
        // time ran out.
        let until = if phase == Phase::Ended { inc.last_true } else { now };
        let dwell_secs = until.secs_since(inc.condition_since);
        let what = match inc.rule {
            RuleKind::SidewalkParking => {
                format!("{} parked", inc.objects.first().map_or("vehicle".to_string(), |o| o.label.to_string()))
            }
            RuleKind::StreetVending => format!("street vending ({} objects)", inc.objects.len()),
            RuleKind::BikeCluster => format!("{} bicycles clustered", inc.objects.len()),
        };
        let place = zone.as_ref().map_or(String::new(), |z| format!(" in {}", z.name.as_deref().unwrap_or(&z.id)));
        let verb = match (phase, cause) {
            (Phase::Started, _) => "started",
            (Phase::Updated, Cause::Realarm) => "still standing",
            (Phase::Updated, Cause::Escalated) => "escalated",
            (Phase::Updated, _) => "updated",
            (Phase::Ended, _) => "ended",
        };
        IncidentEvent {
            id: inc.id.clone(),
            phase,
            cause,
            rule: inc.rule,
            revision: inc.revision,
            camera_id: Arc::clone(&self.camera_id),
            zone,
            started_at: inc.started_at,
            at: now,
            ended_at: (phase == Phase::Ended).then_some(until),
            dwell_secs,
            objects: inc.objects.clone(),
            severity: inc.severity,
            summary: format!("{what}{place} for {:.0} s ({verb})", dwell_secs),
        }
    }
}
