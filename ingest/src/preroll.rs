//! Pre-roll: the last seconds of *encoded* video per camera, always starting at a
//! keyframe, so an evidence clip can be cut without re-encoding.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// One encoded access unit (a whole frame's NAL units, byte-stream format).
#[derive(Clone, Debug)]
pub struct EncodedUnit {
    pub pts: Option<Duration>,
    pub dts: Option<Duration>,
    pub duration: Option<Duration>,
    pub keyframe: bool,
    /// Shared, reference-counted bytes: keeping a unit costs no copy.
    pub data: std::sync::Arc<[u8]>,
}

/// Bounded by duration (and by bytes, as a guard against absurd bitrates).
#[derive(Debug)]
pub struct PrerollBuffer {
    units: VecDeque<EncodedUnit>,
    keep: Duration,
    max_bytes: usize,
    bytes: usize,
    /// Stream times after which nothing may be trimmed (see `hold_after`), by hold id.
    holds: BTreeMap<u64, Duration>,
    next_hold: u64,
}

/// A hold on a ring's units (see `PrerollBuffer::hold_after`); give it back with
/// `PrerollBuffer::release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldId(u64);

impl PrerollBuffer {
    pub fn new(keep: Duration, max_bytes: usize) -> Self {
        Self { units: VecDeque::new(), keep, max_bytes, bytes: 0, holds: BTreeMap::new(), next_hold: 0 }
    }

    /// Keeps every unit newer than `pts` until released, however long that takes:
    /// an evidence clip waiting for its post-roll takes the ring a second time, and
    /// by then the ring must not have moved past the end of the first look (a
    /// writer that wakes late would otherwise find a gap, and the clip would lose
    /// the frames in it). The byte bound still applies.
    pub fn hold_after(&mut self, pts: Duration) -> HoldId {
        self.next_hold += 1;
        self.holds.insert(self.next_hold, pts);
        HoldId(self.next_hold)
    }

    /// Gives a hold back (one already gone, after `clear`, is fine).
    pub fn release(&mut self, id: HoldId) {
        self.holds.remove(&id.0);
        self.trim();
    }

    pub fn release_if(&mut self, id: Option<HoldId>) {
        if let Some(id) = id {
            self.release(id);
        }
    }

    /// Appends a unit. Units before the first keyframe are useless for a clip and dropped.
    pub fn push(&mut self, unit: EncodedUnit) {
        if self.units.is_empty() && !unit.keyframe {
            return;
        }
        self.bytes += unit.data.len();
        self.units.push_back(unit);
        self.trim();
    }

    /// Drops whole GOPs from the front while what remains still covers `keep` and
    /// no hold needs them (or while over the byte bound), so the buffer always
    /// starts at a keyframe.
    fn trim(&mut self) {
        let held = self.holds.values().min().copied();
        loop {
            // The second keyframe is where the buffer would start after dropping one GOP.
            let Some(next_key) = self.units.iter().skip(1).position(|u| u.keyframe).map(|i| i + 1) else { return };
            let newest = self.units.back().and_then(|u| u.pts);
            let next_key_pts = self.units[next_key].pts;
            let still_covered = match (newest, next_key_pts) {
                (Some(n), Some(k)) => n.saturating_sub(k) >= self.keep,
                _ => false,
            };
            let needed = held.is_some_and(|h| self.units.iter().take(next_key).any(|u| u.pts.is_some_and(|p| p > h)));
            if !((still_covered && !needed) || self.bytes > self.max_bytes) {
                return;
            }
            for _ in 0..next_key {
                if let Some(u) = self.units.pop_front() {
                    self.bytes -= u.data.len();
                }
            }
        }
    }

    /// A copy of what is buffered (cheap: the bytes are shared).
    pub fn snapshot(&self) -> Vec<EncodedUnit> {
        self.units.iter().cloned().collect()
    }

    /// Stream time of the newest unit.
    pub fn newest_pts(&self) -> Option<Duration> {
        self.units.iter().rev().find_map(|u| u.pts)
    }

    /// Duration covered, first to last unit.
    pub fn span(&self) -> Duration {
        match (self.units.front().and_then(|u| u.pts), self.units.back().and_then(|u| u.pts)) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A restarted pipeline starts a new timeline: old units would not join up.
    pub fn clear(&mut self) {
        self.units.clear();
        self.bytes = 0;
        self.holds.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(ms: u64, keyframe: bool) -> EncodedUnit {
        EncodedUnit {
            pts: Some(Duration::from_millis(ms)),
            dts: None,
            duration: Some(Duration::from_millis(100)),
            keyframe,
            data: vec![0u8; 1000].into(),
        }
    }

    #[test]
    fn starts_at_keyframe_and_covers_the_window() {
        let mut p = PrerollBuffer::new(Duration::from_secs(3), usize::MAX);
        p.push(unit(0, false)); // before any keyframe: dropped
        assert!(p.snapshot().is_empty());
        // 10 fps, keyframe every 1 s, 10 s of video
        for i in 0..100u64 {
            p.push(unit(100 + i * 100, i % 10 == 0));
        }
        let s = p.snapshot();
        assert!(s[0].keyframe, "buffer must start at a keyframe");
        assert!(p.span() >= Duration::from_secs(3), "span {:?}", p.span());
        assert!(p.span() < Duration::from_secs(4) + Duration::from_millis(1), "kept too much: {:?}", p.span());
        assert_eq!(p.bytes(), s.len() * 1000);
    }

    #[test]
    fn a_hold_keeps_what_follows_it_until_released() {
        let mut p = PrerollBuffer::new(Duration::from_secs(3), usize::MAX);
        for i in 0..40u64 {
            p.push(unit(i * 100, i % 10 == 0));
        }
        let hold = p.hold_after(Duration::from_millis(3900));
        // 20 s more: without the hold the ring would start near 56 s.
        for i in 40..240u64 {
            p.push(unit(i * 100, i % 10 == 0));
        }
        let s = p.snapshot();
        assert!(s[0].keyframe);
        assert!(s[0].pts.unwrap() <= Duration::from_millis(4000), "kept from {:?}", s[0].pts);
        p.release(hold);
        let s = p.snapshot();
        assert!(s[0].keyframe && p.span() < Duration::from_secs(4) + Duration::from_millis(1), "{:?}", p.span());
        let again = p.hold_after(Duration::from_secs(1));
        p.clear();
        p.release(again);
    }

    #[test]
    fn byte_bound_drops_whole_gops() {
        let mut p = PrerollBuffer::new(Duration::from_secs(60), 25_000);
        for i in 0..100u64 {
            p.push(unit(i * 100, i % 10 == 0));
        }
        assert!(p.bytes() <= 25_000 || p.snapshot().iter().filter(|u| u.keyframe).count() == 1);
        assert!(p.snapshot()[0].keyframe);
    }
}
