//! Class-aware non-maximum suppression: of several boxes of one class that overlap
//! more than a threshold, only the highest-scoring one stays. Boxes of different
//! classes never suppress each other (a person beside a bicycle is two objects).

use super::candidate::Candidate;

/// Keeps the best of each group of same-class boxes overlapping by more than `iou_threshold`,
/// at most `max_kept` in all. Returns the kept candidates, highest score first.
pub fn class_aware_nms(mut candidates: Vec<Candidate>, iou_threshold: f32, max_kept: usize) -> Vec<Candidate> {
    // Highest score first; ties broken by position so the result does not depend on input order.
    candidates.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.class_id.cmp(&b.class_id)).then(a.bbox.x1.total_cmp(&b.bbox.x1))
    });
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        if kept.len() >= max_kept {
            break;
        }
        let suppressed = kept.iter().any(|k| k.class_id == c.class_id && k.bbox.iou(&c.bbox) > iou_threshold);
        if !suppressed {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::boxes::BoxXyxy;
    use proptest::prelude::*;

    fn candidate(class_id: usize, score: f32, x: f32, y: f32, w: f32, h: f32) -> Candidate {
        Candidate { class_id, score, bbox: BoxXyxy { x1: x, y1: y, x2: x + w, y2: y + h } }
    }

    #[test]
    fn overlapping_boxes_of_one_class_collapse_to_the_best() {
        let kept = class_aware_nms(
            vec![
                candidate(0, 0.6, 0.0, 0.0, 10.0, 10.0),
                candidate(0, 0.9, 1.0, 0.0, 10.0, 10.0),
                candidate(1, 0.5, 0.0, 0.0, 10.0, 10.0),
            ],
            0.45,
            100,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!((kept[0].class_id, kept[0].score), (0, 0.9));
        assert_eq!(kept[1].class_id, 1);
    }

    fn arbitrary_candidates() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::vec(
            (0usize..3, 0.01f32..1.0, 0.0f32..100.0, 0.0f32..100.0, 1.0f32..40.0, 1.0f32..40.0)
                .prop_map(|(c, s, x, y, w, h)| candidate(c, s, x, y, w, h)),
            0..60,
        )
    }

    proptest! {
        #[test]
        fn kept_boxes_of_one_class_do_not_overlap_beyond_the_threshold(cands in arbitrary_candidates(), thr in 0.1f32..0.9) {
            let kept = class_aware_nms(cands, thr, usize::MAX);
            for (i, a) in kept.iter().enumerate() {
                for b in &kept[i + 1..] {
                    prop_assert!(a.class_id != b.class_id || a.bbox.iou(&b.bbox) <= thr);
                }
            }
        }

        // Every dropped box is explained by a kept box of its class that scores at least
        // as high and overlaps it beyond the threshold; nothing is invented.
        #[test]
        fn every_dropped_box_has_a_better_kept_neighbour(cands in arbitrary_candidates(), thr in 0.1f32..0.9) {
            let kept = class_aware_nms(cands.clone(), thr, usize::MAX);
            for k in &kept {
                prop_assert!(cands.contains(k));
            }
            for c in &cands {
                if !kept.contains(c) {
                    prop_assert!(kept.iter().any(|k| k.class_id == c.class_id && k.score >= c.score && k.bbox.iou(&c.bbox) > thr));
                }
            }
            for w in kept.windows(2) {
                prop_assert!(w[0].score >= w[1].score);
            }
        }

        // Classes are independent: NMS over all equals NMS over each class alone.
        #[test]
        fn classes_do_not_suppress_each_other(cands in arbitrary_candidates(), thr in 0.1f32..0.9) {
            let all = class_aware_nms(cands.clone(), thr, usize::MAX);
            for class in 0..3 {
                let alone = class_aware_nms(cands.iter().filter(|c| c.class_id == class).copied().collect(), thr, usize::MAX);
                let from_all: Vec<_> = all.iter().filter(|c| c.class_id == class).copied().collect();
                prop_assert_eq!(alone, from_all);
            }
        }

        #[test]
        fn nms_is_idempotent_and_respects_the_cap(cands in arbitrary_candidates(), thr in 0.1f32..0.9, cap in 0usize..10) {
            let once = class_aware_nms(cands, thr, usize::MAX);
            prop_assert_eq!(class_aware_nms(once.clone(), thr, usize::MAX), once.clone());
            let capped = class_aware_nms(once.clone(), thr, cap);
            prop_assert_eq!(&capped[..], &once[..cap.min(once.len())]);
        }
    }
}
