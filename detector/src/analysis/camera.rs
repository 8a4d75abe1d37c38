//! One camera's analysis: detections in, incident events out. Tracker, stillness per
//! track, zone presence per track and zone, the rules, the incident book. No I/O;
//! the frame's time is an input, so scenario tests drive it with a fake clock.

use std::collections::HashMap;
use std::sync::Arc;

use crate::detection::Detection;
use crate::evidence::GreyPatch;
use crate::image::ImageRef;
use crate::incidents::{IncidentBook, IncidentEvent};
use crate::rules::due::next_dwell_due;
use crate::rules::stationary::Stillness;
use crate::rules::{evaluate_all, RuleSettings, Scene, SceneObject};
use crate::timestamp::Timestamp;
use crate::tracking::tracker::{Tracker, TrackerSettings};
use crate::zones::{Presence, Zone};

/// What the analysis of a frame says about when the camera needs analysing next
/// (ingest's change gate reads it: a still scene's keyframes are skipped otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalysisHint {
    /// Something moved: an object appeared, or left the place where it stood.
    pub moving: bool,
    /// The earliest time a rule could fire or an incident move on by time alone.
    pub due: Option<Timestamp>,
}

pub struct CameraAnalysis {
    zones: Vec<Zone>,
    utc_offset_minutes: i32,
    rules: RuleSettings,
    tracker: Tracker,
    stillness: HashMap<u64, Stillness>,
    presence: HashMap<(u64, usize), Presence>,
    /// What each still object looked like when last seen in place (appearance check).
    looks: HashMap<u64, GreyPatch>,
    book: IncidentBook,
    scene: Vec<SceneObject>,
    hint: AnalysisHint,
}

impl CameraAnalysis {
    pub fn new(
        camera_id: Arc<str>,
        zones: Vec<Zone>,
        utc_offset_minutes: i32,
        rules: RuleSettings,
        tracking: TrackerSettings,
    ) -> Self {
        Self {
            book: IncidentBook::new(camera_id, rules.timing.clone()),
            zones,
            utc_offset_minutes,
            rules,
            tracker: Tracker::new(tracking),
            stillness: HashMap::new(),
            presence: HashMap::new(),
            looks: HashMap::new(),
            scene: Vec::new(),
            hint: AnalysisHint::default(),
        }
    }

    /// When the camera needs analysing next, as of the last analysed frame.
    pub fn hint(&self) -> AnalysisHint {
        self.hint
    }

    /// The objects as the rules last saw them.
    pub fn scene(&self) -> &[SceneObject] {
        &self.scene
    }

    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    pub fn open_incidents(&self) -> usize {
        self.book.open_count()
    }

    /// Track ids taking part in open incidents.
    pub fn tracks_in_incidents(&self) -> std::collections::HashSet<u64> {
        self.book.open_members().collect()
    }

    /// The open incidents in a few words each (annotated video captions).
    pub fn open_incident_summaries(&self, now: Timestamp) -> Vec<String> {
        self.book.open_summaries(now)
    }

    pub fn open_incident_ids(&self) -> Vec<String> {
        self.book.open_ids().map(str::to_string).collect()
    }

    /// Feeds one analysed frame (`width x height`, taken at `now`). With the frame's
    /// pixels (`image`), the appearance check runs when it is configured.
    pub fn analyse(
        &mut self,
        detections: &[Detection],
        image: Option<ImageRef<'_>>,
        width: u32,
        height: u32,
        now: Timestamp,
    ) -> Vec<IncidentEvent> {
        let update = self.tracker.update(detections, now);
        for id in &update.ended {
            self.stillness.remove(id);
            self.looks.remove(id);
            self.presence.retain(|(track, _), _| track != id);
        }
        let kept_by_looks = match (image, self.rules.appearance.clone()) {
            (Some(image), Some(check)) => self.check_appearance(image, &check, now),
            _ => Vec::new(),
        };
        let mut scene = Vec::with_capacity(self.tracker.tracks().len());
        for track in self.tracker.tracks() {
            let seen = track.seen_at(now);
            let still = self.stillness.entry(track.id).or_insert_with(|| Stillness::new(track.bbox, now));
            // An object kept by its looks is where it stopped, whatever box the
            // detector drew (or did not draw) this frame.
            let bbox = if kept_by_looks.contains(&track.id) {
                still.anchor()
            } else {
                if seen {
                    still.observe(&track.bbox, now, self.rules.stationary_iou);
                }
                track.bbox
            };
            let mut zones_in = Vec::new();
            let mut exempt = false;
            for (z, zone) in self.zones.iter().enumerate() {
                let presence = self.presence.entry((track.id, z)).or_default();
                // A track not seen in this frame keeps where it was (occlusion, drop-out).
                let inside = if seen {
                    presence.observe(zone.contains(&bbox, width, height), now, zone.entry_inertia_secs)
                } else {
                    presence.inside()
                };
                if inside {
                    if zone.exempt {
                        exempt = true;
                    }
                    zones_in.push((z, presence.entered_at().unwrap_or(now)));
                }
            }
            let seen_now = seen || kept_by_looks.contains(&track.id);
            scene.push(SceneObject {
                seen_now,
                track_id: track.id,
                class_id: track.class_id,
                label: Arc::clone(&track.label),
                score: track.score,
                bbox,
                still_since: still.since(),
                zones: zones_in,
                exempt,
            });
        }
        let view = Scene {
            now,
            width,
            height,
            objects: &scene,
            zones: &self.zones,
            utc_offset_minutes: self.utc_offset_minutes,
        };
        let violations = evaluate_all(&view, &self.rules);
        let dwell_due = next_dwell_due(&view, &self.rules);
        let events = self.book.step(&violations, &scene, &self.zones, now);
        let moving = !update.ended.is_empty() || scene.iter().any(|o| o.seen_now && o.still_since == now);
        let due = [dwell_due, self.book.next_due(now)].into_iter().flatten().min();
        self.hint = AnalysisHint { moving, due };
        self.scene = scene;
        events
    }

    /// The appearance check, for objects still long enough: one the detector lost, or
    /// whose box jumped, stays still (and present) when the pixels where it stopped
    /// still look like it. Returns the tracks it kept; refreshes the others' looks.
    fn check_appearance(
        &mut self,
        image: ImageRef<'_>,
        check: &crate::rules::AppearanceCheck,
        now: Timestamp,
    ) -> Vec<u64> {
        let mut kept = Vec::new();
        let mut confirm = Vec::new();
        for track in self.tracker.tracks() {
            let Some(still) = self.stillness.get(&track.id) else { continue };
            if still.still_for(now) < check.min_still_secs {
                continue;
            }
            let seen = track.seen_at(now);
            let moved = seen && still.is_move(&track.bbox, self.rules.stationary_iou);
            if seen && !moved {
                // In place: remember how it looks now (lighting drifts slowly).
                if let Some(patch) = GreyPatch::capture(image, &still.anchor()) {
                    self.looks.insert(track.id, patch);
                }
                continue;
            }
            let Some(reference) = self.looks.get(&track.id) else { continue };
            let same = GreyPatch::capture(image, &still.anchor())
                .is_some_and(|p| reference.correlation(&p) >= check.min_correlation);
            if same {
                kept.push(track.id);
                if !seen {
                    confirm.push(track.id);
                }
            }
        }
        for id in confirm {
            self.tracker.confirm_present(id, now);
        }
        kept
    }
}
