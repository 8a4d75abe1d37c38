//! Is an object standing still? Its box must stay within IoU ≥ a threshold of the box
//! it had when it stopped (its anchor box). Comparing with the anchor, not with the
//! previous frame, catches slow creeping; frames without the object (occlusion,
//! detector drop-outs) change nothing, so the dwell survives them.

use crate::geometry::boxes::BoxXyxy;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stillness {
    anchor: BoxXyxy,
    since: Timestamp,
}

impl Stillness {
    pub fn new(b: BoxXyxy, now: Timestamp) -> Self {
        Self { anchor: b, since: now }
    }

    /// Whether `b` is a move away from where the object stopped.
    pub fn is_move(&self, b: &BoxXyxy, min_iou: f32) -> bool {
        self.anchor.iou(b) < min_iou
    }

    /// Records the object's box at `now`; a move restarts the clock from here.
    pub fn observe(&mut self, b: &BoxXyxy, now: Timestamp, min_iou: f32) {
        if self.is_move(b, min_iou) {
            self.anchor = *b;
            self.since = now;
        }
    }

    /// Where the object stopped.
    pub fn anchor(&self) -> BoxXyxy {
        self.anchor
    }

    /// Since when it has stood still.
    pub fn since(&self) -> Timestamp {
        self.since
    }

    pub fn still_for(&self, now: Timestamp) -> f64 {
        now.secs_since(self.since).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_keeps_the_clock_and_a_move_restarts_it() {
        let t = Timestamp::from_secs_f64;
        let b = |x: f32| BoxXyxy { x1: x, y1: 0.0, x2: x + 100.0, y2: 50.0 };
        let mut s = Stillness::new(b(0.0), t(0.0));
        s.observe(&b(3.0), t(10.0), 0.7);
        s.observe(&b(-2.0), t(20.0), 0.7);
        assert_eq!(s.still_for(t(30.0)), 30.0);
        // Creeping 10 px at a time: each step is small, but the anchor catches it.
        for i in 1..=5 {
            s.observe(&b(10.0 * i as f32), t(30.0 + i as f64), 0.7);
        }
        assert!(s.still_for(t(35.0)) < 5.0);
    }
}
