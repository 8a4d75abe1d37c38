//! In or out of a zone, with inertia: the state changes only after the anchor has
//! been on the other side for `inertia_secs`, so boxes jittering on an edge do not
//! flap, and a pedestrian crossing a corner does not count as in.

use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Presence {
    inside: bool,
    /// Since when the anchor has been on the side opposite to `inside`.
    pending_since: Option<Timestamp>,
    /// Since when the object has counted as inside.
    entered_at: Option<Timestamp>,
}

impl Presence {
    /// Records where the anchor is at `now`; returns whether the object counts as inside.
    pub fn observe(&mut self, anchor_inside: bool, now: Timestamp, inertia_secs: f64) -> bool {
        if anchor_inside == self.inside {
            self.pending_since = None;
            return self.inside;
        }
        let since = *self.pending_since.get_or_insert(now);
        if now.secs_since(since) >= inertia_secs {
            self.inside = anchor_inside;
            self.pending_since = None;
            // The entry time is when the anchor first went in, not when inertia ended.
            self.entered_at = anchor_inside.then_some(since);
        }
        self.inside
    }

    pub fn inside(&self) -> bool {
        self.inside
    }

    pub fn entered_at(&self) -> Option<Timestamp> {
        self.entered_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entering_needs_inertia_and_a_short_visit_does_not_count() {
        let mut p = Presence::default();
        let t = |s: f64| Timestamp::from_secs_f64(s);
        assert!(!p.observe(true, t(0.0), 2.0));
        assert!(!p.observe(true, t(1.0), 2.0));
        assert!(p.observe(true, t(2.0), 2.0));
        assert_eq!(p.entered_at(), Some(t(0.0)));
        // A one-second excursion outside does not count as leaving.
        assert!(p.observe(false, t(3.0), 2.0));
        assert!(p.observe(true, t(4.0), 2.0));
        assert!(p.observe(false, t(5.0), 2.0));
        assert!(!p.observe(false, t(7.0), 2.0));
        // A crossing pedestrian: inside for one second only.
        let mut q = Presence::default();
        assert!(!q.observe(true, t(0.0), 2.0));
        assert!(!q.observe(false, t(1.0), 2.0));
        assert!(!q.observe(true, t(10.0), 2.0));
    }
}
