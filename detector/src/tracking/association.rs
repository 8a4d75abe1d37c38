//! Matching predicted track boxes with detections.
//!
//! Greedy by IoU, highest first, same class only: with the short candidate lists of a
//! street camera (tens of objects) it agrees with an optimal assignment in practice,
//! and each detection and each track is used at most once by construction.

use crate::geometry::boxes::BoxXyxy;

/// Something to match: a box and a class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matchable {
    pub bbox: BoxXyxy,
    pub class_id: usize,
}

/// Pairs `(track index, detection index)` with IoU at least `min_iou`, each index at
/// most once.
pub fn greedy_match(tracks: &[Matchable], detections: &[Matchable], min_iou: f32) -> Vec<(usize, usize)> {
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for (t, track) in tracks.iter().enumerate() {
        for (d, det) in detections.iter().enumerate() {
            if track.class_id != det.class_id {
                continue;
            }
            let iou = track.bbox.iou(&det.bbox);
            if iou >= min_iou && iou > 0.0 {
                candidates.push((iou, t, d));
            }
        }
    }
    // Highest IoU first; ties by index so the result is deterministic.
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut track_used = vec![false; tracks.len()];
    let mut det_used = vec![false; detections.len()];
    let mut pairs = Vec::new();
    for (_, t, d) in candidates {
        if !track_used[t] && !det_used[d] {
            track_used[t] = true;
            det_used[d] = true;
            pairs.push((t, d));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(x: f32, y: f32, w: f32, h: f32, class_id: usize) -> Matchable {
        Matchable { bbox: BoxXyxy { x1: x, y1: y, x2: x + w, y2: y + h }, class_id }
    }

    fn boxes() -> impl Strategy<Value = Vec<Matchable>> {
        prop::collection::vec(
            (0.0f32..200.0, 0.0f32..200.0, 5.0f32..60.0, 5.0f32..60.0, 0usize..2)
                .prop_map(|(x, y, w, h, c)| m(x, y, w, h, c)),
            0..25,
        )
    }

    proptest! {
        // The tracker's core guarantee: one detection never feeds two tracks, and one
        // track never takes two detections.
        #[test]
        fn each_detection_and_each_track_is_used_at_most_once(tracks in boxes(), dets in boxes(), min_iou in 0.05f32..0.9) {
            let pairs = greedy_match(&tracks, &dets, min_iou);
            let mut t_seen = std::collections::HashSet::new();
            let mut d_seen = std::collections::HashSet::new();
            for &(t, d) in &pairs {
                prop_assert!(t_seen.insert(t), "track {} matched twice", t);
                prop_assert!(d_seen.insert(d), "detection {} matched twice", d);
                prop_assert_eq!(tracks[t].class_id, dets[d].class_id);
                prop_assert!(tracks[t].bbox.iou(&dets[d].bbox) >= min_iou);
            }
        }

        // Greedy is maximal: no unmatched track and unmatched detection are left that
        // could still have been paired.
        #[test]
        fn nothing_matchable_is_left_over(tracks in boxes(), dets in boxes(), min_iou in 0.05f32..0.9) {
            let pairs = greedy_match(&tracks, &dets, min_iou);
            for (t, tr) in tracks.iter().enumerate() {
                for (d, de) in dets.iter().enumerate() {
                    let free = !pairs.iter().any(|p| p.0 == t) && !pairs.iter().any(|p| p.1 == d);
                    let iou = tr.bbox.iou(&de.bbox);
                    prop_assert!(!(free && tr.class_id == de.class_id && iou >= min_iou && iou > 0.0));
                }
            }
        }
    }

    #[test]
    fn the_closest_pair_wins() {
        let tracks = [m(0.0, 0.0, 10.0, 10.0, 0), m(4.0, 0.0, 10.0, 10.0, 0)];
        let dets = [m(5.0, 0.0, 10.0, 10.0, 0)];
        assert_eq!(greedy_match(&tracks, &dets, 0.1), [(1, 0)]);
        let other_class = [m(4.0, 0.0, 10.0, 10.0, 1)];
        assert!(greedy_match(&tracks, &other_class, 0.1).is_empty());
    }
}
