//! Pre-roll: the last seconds of *encoded* video per camera, always starting at a
//! keyframe, so an evidence clip can be cut without re-encoding.

use std::collections::VecDeque;
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
}

impl PrerollBuffer {
    pub fn new(keep: Duration, max_bytes: usize) -> Self {
        Self { units: VecDeque::new(), keep, max_bytes, bytes: 0 }
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

    /// Drops whole GOPs from the front while what remains still covers `keep`
    /// (or while over the byte bound), so the buffer always starts at a keyframe.
    fn trim(&mut self) {
        loop {
            // The second keyframe is where the buffer would start after dropping one GOP.
            let Some(next_key) = self.units.iter().skip(1).position(|u| u.keyframe).map(|i| i + 1) else { return };
            let newest = self.units.back().and_then(|u| u.pts);
            let next_key_pts = self.units[next_key].pts;
            let still_covered = match (newest, next_key_pts) {
                (Some(n), Some(k)) => n.saturating_sub(k) >= self.keep,
                _ => false,
            };
            if !(still_covered || self.bytes > self.max_bytes) {
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
    fn byte_bound_drops_whole_gops() {
        let mut p = PrerollBuffer::new(Duration::from_secs(60), 25_000);
        for i in 0..100u64 {
            p.push(unit(i * 100, i % 10 == 0));
        }
        assert!(p.bytes() <= 25_000 || p.snapshot().iter().filter(|u| u.keyframe).count() == 1);
        assert!(p.snapshot()[0].keyframe);
    }
}
