//! Per-camera multi-object tracker, ByteTrack-style.
//!
//! Each frame: every track's Kalman filter is moved to the frame's time; confident
//! detections (score ≥ `high_score`) are matched to all live tracks (seen or lost);
//! the remaining weak detections are matched, with a stricter IoU, to the tracks that
//! were seen last frame, which keeps an object tracked through a dip in confidence
//! (partial occlusion, dusk); unmatched confident detections (≥ `new_track_score`)
//! start tracks; a track not seen for `max_lost_secs`, and missing from at least
//! [`MIN_MISSES`] analysed frames, ends (a gap between analysed frames, as in a still
//! scene the change gate skips, is no evidence of absence). Ids are never reused.
//! Time is an input: no clock is read here.

use std::sync::Arc;

use super::association::{greedy_match, Matchable};
use super::kalman::BoxFilter;
use crate::detection::Detection;
use crate::geometry::boxes::BoxXyxy;
use crate::timestamp::Timestamp;

/// Analysed frames a track must be missing from before it can end, however long
/// since it was seen: with the change gate, frames of a still scene can be many
/// seconds apart, and one missed detection after such a gap is not a departure.
pub const MIN_MISSES: u32 = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackerSettings {
    /// Detections at least this confident take part in the first association and may
    /// start tracks; weaker ones only keep existing tracks alive.
    pub high_score: f32,
    /// A new track needs a detection at least this confident.
    pub new_track_score: f32,
    /// Minimum IoU between a track's predicted box and a confident detection.
    pub match_iou: f32,
    /// Minimum IoU for weak detections (stricter: they are less certain).
    pub weak_match_iou: f32,
    /// A track not seen for this long ends (tolerance for detector drop-outs).
    pub max_lost_secs: f64,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        Self { high_score: 0.5, new_track_score: 0.5, match_iou: 0.2, weak_match_iou: 0.5, max_lost_secs: 10.0 }
    }
}

/// One tracked object.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: u64,
    pub class_id: usize,
    pub label: Arc<str>,
    /// The last observed box (frame pixels).
    pub bbox: BoxXyxy,
    pub score: f32,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Frames in which it was observed.
    pub hits: u32,
    /// Analysed frames since it was last observed.
    misses: u32,
    filter: BoxFilter,
}

impl Track {
    /// Whether it was observed in the latest frame.
    pub fn seen_at(&self, now: Timestamp) -> bool {
        self.last_seen == now
    }

    /// Where the filter expects it now.
    pub fn predicted(&self) -> BoxXyxy {
        self.filter.bbox()
    }
}

pub struct Tracker {
    settings: TrackerSettings,
    tracks: Vec<Track>,
    next_id: u64,
    last_update: Option<Timestamp>,
}

/// What one update did, by detection index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackerUpdate {
    /// For each input detection, the track it was assigned to (new or existing).
    pub assigned: Vec<Option<u64>>,
    pub started: Vec<u64>,
    pub ended: Vec<u64>,
}

impl Tracker {
    pub fn new(settings: TrackerSettings) -> Self {
        Self { settings, tracks: Vec::new(), next_id: 1, last_update: None }
    }

    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    pub fn track(&self, id: u64) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// Feeds one frame's detections, observed at `now`.
    pub fn update(&mut self, detections: &[Detection], now: Timestamp) -> TrackerUpdate {
        // Time never runs backwards for the filters (a camera restart may repeat a time).
        let previous = self.last_update;
        let dt = previous.map_or(0.0, |t| now.secs_since(t).max(0.0));
        let now = previous.map_or(now, |t| now.max(t));
        self.last_update = Some(now);
        for t in &mut self.tracks {
            t.filter.predict(dt);
        }
        let mut update = TrackerUpdate { assigned: vec![None; detections.len()], ..Default::default() };
        let s = self.settings.clone();

        // 1. Confident detections against every live track.
        let strong: Vec<usize> = (0..detections.len()).filter(|&i| detections[i].score >= s.high_score).collect();
        let all_tracks: Vec<usize> = (0..self.tracks.len()).collect();
        let pairs = self.associate(&all_tracks, &strong, detections, s.match_iou);
        let mut track_done = vec![false; self.tracks.len()];
        for &(t, d) in &pairs {
            self.observe(t, &detections[d], now);
            track_done[t] = true;
            update.assigned[d] = Some(self.tracks[t].id);
        }

        // 2. Weak detections against the tracks seen in the previous frame, still unmatched.
        let weak: Vec<usize> = (0..detections.len()).filter(|&i| detections[i].score < s.high_score).collect();
        let recent: Vec<usize> =
            (0..self.tracks.len()).filter(|&t| !track_done[t] && Some(self.tracks[t].last_seen) == previous).collect();
        let pairs = self.associate(&recent, &weak, detections, s.weak_match_iou);
        for &(t, d) in &pairs {
            self.observe(t, &detections[d], now);
            update.assigned[d] = Some(self.tracks[t].id);
        }

        // 3. New tracks from confident detections nobody claimed.
        for &d in &strong {
            if update.assigned[d].is_none() && detections[d].score >= s.new_track_score {
                let det = &detections[d];
                let id = self.next_id;
                self.next_id += 1;
                self.tracks.push(Track {
                    id,
                    class_id: det.class_id,
                    label: Arc::clone(&det.label),
                    bbox: det.bbox,
                    score: det.score,
                    first_seen: now,
                    last_seen: now,
                    hits: 1,
                    misses: 0,
                    filter: BoxFilter::new(&det.bbox),
                });
                update.assigned[d] = Some(id);
                update.started.push(id);
            }
        }

        // 4. Tracks lost for too long, and in enough frames, end.
        let max_lost = s.max_lost_secs;
        for t in &mut self.tracks {
            t.misses = if t.last_seen == now { 0 } else { t.misses + 1 };
        }
        self.tracks.retain(|t| {
            let keep = now.secs_since(t.last_seen) <= max_lost || t.misses < MIN_MISSES;
            if !keep {
                update.ended.push(t.id);
            }
            keep
        });
        update
    }

    /// Marks a track as present at `now` without a detection (its appearance showed it
    /// still there): it is not lost, and its box and filter stay as they are.
    pub fn confirm_present(&mut self, id: u64, now: Timestamp) {
        if let Some(t) = self.tracks.iter_mut().find(|t| t.id == id) {
            t.last_seen = t.last_seen.max(now);
            t.misses = 0;
        }
    }

    fn associate(
        &self,
        tracks: &[usize],
        dets: &[usize],
        detections: &[Detection],
        min_iou: f32,
    ) -> Vec<(usize, usize)> {
        let t_boxes: Vec<Matchable> = tracks
            .iter()
            .map(|&t| Matchable { bbox: self.tracks[t].filter.bbox(), class_id: self.tracks[t].class_id })
            .collect();
        let d_boxes: Vec<Matchable> =
            dets.iter().map(|&d| Matchable { bbox: detections[d].bbox, class_id: detections[d].class_id }).collect();
        greedy_match(&t_boxes, &d_boxes, min_iou).into_iter().map(|(t, d)| (tracks[t], dets[d])).collect()
    }

    fn observe(&mut self, t: usize, det: &Detection, now: Timestamp) {
        let track = &mut self.tracks[t];
        track.filter.update(&det.bbox);
        track.bbox = det.bbox;
        track.score = det.score;
        track.last_seen = now;
        track.hits += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn det(class_id: usize, score: f32, x: f32, y: f32, w: f32, h: f32) -> Detection {
        Detection {
            class_id,
            label: Arc::from(["person", "car"][class_id % 2]),
            score,
            bbox: BoxXyxy { x1: x, y1: y, x2: x + w, y2: y + h },
        }
    }

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_secs_f64(1_000_000.0 + secs)
    }

    #[test]
    fn a_parked_car_keeps_one_id_through_a_five_second_drop_out() {
        let mut tracker = Tracker::new(TrackerSettings::default());
        let car = det(1, 0.8, 600.0, 60.0, 120.0, 60.0);
        let first = tracker.update(std::slice::from_ref(&car), at(0.0));
        let id = first.assigned[0].unwrap();
        for i in 1..=10 {
            assert_eq!(tracker.update(std::slice::from_ref(&car), at(i as f64)).assigned[0], Some(id));
        }
        for i in 11..=15 {
            assert!(tracker.update(&[], at(i as f64)).ended.is_empty(), "ended during the drop-out");
        }
        assert_eq!(tracker.update(std::slice::from_ref(&car), at(16.0)).assigned[0], Some(id));
        assert_eq!(tracker.tracks().len(), 1);
    }

    #[test]
    fn a_track_ends_after_max_lost_and_ids_are_not_reused() {
        let mut tracker = Tracker::new(TrackerSettings { max_lost_secs: 3.0, ..Default::default() });
        let car = det(1, 0.8, 100.0, 100.0, 50.0, 50.0);
        let id = tracker.update(std::slice::from_ref(&car), at(0.0)).assigned[0].unwrap();
        assert!(tracker.update(&[], at(2.0)).ended.is_empty());
        assert_eq!(tracker.update(&[], at(4.0)).ended, [id]);
        let again = tracker.update(std::slice::from_ref(&car), at(5.0)).assigned[0].unwrap();
        assert_ne!(again, id);
    }

    #[test]
    fn a_long_gap_then_one_miss_does_not_end_a_track() {
        // A still scene analysed every 8 s: the car is missed once after a gap longer
        // than max_lost_secs; only a second miss ends it.
        let mut tracker = Tracker::new(TrackerSettings { max_lost_secs: 10.0, ..Default::default() });
        let car = det(1, 0.8, 100.0, 100.0, 50.0, 50.0);
        let id = tracker.update(std::slice::from_ref(&car), at(0.0)).assigned[0].unwrap();
        assert!(tracker.update(&[], at(16.0)).ended.is_empty(), "one miss after a 16 s gap");
        assert_eq!(tracker.update(std::slice::from_ref(&car), at(24.0)).assigned[0], Some(id));
        assert!(tracker.update(&[], at(40.0)).ended.is_empty());
        assert_eq!(tracker.update(&[], at(48.0)).ended, [id]);
    }

    #[test]
    fn a_weak_detection_keeps_a_seen_track_but_starts_nothing() {
        let mut tracker = Tracker::new(TrackerSettings::default());
        let strong = det(0, 0.9, 100.0, 100.0, 30.0, 80.0);
        let id = tracker.update(std::slice::from_ref(&strong), at(0.0)).assigned[0].unwrap();
        let weak = det(0, 0.35, 102.0, 100.0, 30.0, 80.0);
        assert_eq!(tracker.update(std::slice::from_ref(&weak), at(0.5)).assigned[0], Some(id));
        let elsewhere = det(0, 0.35, 400.0, 100.0, 30.0, 80.0);
        assert_eq!(tracker.update(std::slice::from_ref(&elsewhere), at(1.0)).assigned[0], None);
        assert_eq!(tracker.tracks().len(), 1);
    }

    #[test]
    fn a_walker_is_followed_by_the_filter_when_boxes_stop_overlapping_enough() {
        let mut tracker = Tracker::new(TrackerSettings::default());
        // 12 px per 0.5 s while the filter learns the speed, then 24 px: consecutive
        // 30 px boxes then overlap by IoU 0.11, below `match_iou`: only the
        // prediction keeps the identity.
        let mut x = 0.0f32;
        let mut id = None;
        for i in 0..24 {
            x += if i < 4 { 12.0 } else { 24.0 };
            let u = tracker.update(&[det(0, 0.9, x, 200.0, 30.0, 80.0)], at(0.5 * i as f64));
            if i > 0 {
                assert_eq!(u.assigned[0], id, "lost the walker at step {i}");
            }
            id = u.assigned[0];
        }
        let a = BoxXyxy { x1: 0.0, y1: 0.0, x2: 30.0, y2: 80.0 };
        let b = BoxXyxy { x1: 24.0, y1: 0.0, x2: 54.0, y2: 80.0 };
        assert!(a.iou(&b) < TrackerSettings::default().match_iou);
    }

    proptest! {
        // However detections fall, no detection is given to two tracks and no track
        // takes two detections in one frame.
        #[test]
        fn one_detection_never_feeds_two_tracks(frames in prop::collection::vec(
            prop::collection::vec((0usize..2, 0.1f32..1.0, 0.0f32..300.0, 0.0f32..300.0, 10.0f32..80.0, 10.0f32..80.0), 0..12), 1..15)) {
            let mut tracker = Tracker::new(TrackerSettings::default());
            for (i, frame) in frames.iter().enumerate() {
                let dets: Vec<Detection> = frame.iter().map(|&(c, s, x, y, w, h)| det(c, s, x, y, w, h)).collect();
                let u = tracker.update(&dets, at(i as f64 * 0.5));
                let ids: Vec<u64> = u.assigned.iter().flatten().copied().collect();
                let unique: std::collections::HashSet<u64> = ids.iter().copied().collect();
                prop_assert_eq!(ids.len(), unique.len(), "a track took two detections: {:?}", u.assigned);
                for (d, a) in u.assigned.iter().enumerate() {
                    if let Some(id) = a {
                        let t = tracker.track(*id).expect("assigned to a live track");
                        prop_assert_eq!(t.class_id, dets[d].class_id);
                        prop_assert_eq!(t.bbox, dets[d].bbox);
                    }
                }
                let live: std::collections::HashSet<u64> = tracker.tracks().iter().map(|t| t.id).collect();
                prop_assert_eq!(live.len(), tracker.tracks().len(), "duplicate track ids");
            }
        }
    }
}
