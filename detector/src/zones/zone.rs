//! A zone of one camera: where a rule applies, when, and for which anchor point.

use std::sync::Arc;

use crate::geometry::boxes::BoxXyxy;
use crate::geometry::contains_point;
use crate::timestamp::Timestamp;

/// What a zone is. The config names these in snake_case (`no_vending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    Sidewalk,
    TactilePaving,
    NoVending,
    NoBikeParking,
    Custom,
}

/// Which point of an object's box decides whether it is in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Where a vehicle or person touches the ground: right for sidewalks.
    #[default]
    BottomCenter,
    Center,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub id: Arc<str>,
    pub name: Option<String>,
    pub kind: ZoneKind,
    /// Polygon vertices, normalised (0..1 of width and height) or in pixels.
    pub polygon: Vec<[f64; 2]>,
    pub normalized: bool,
    pub anchor: Anchor,
    /// An object counts as in (or out of) the zone after its anchor has been inside
    /// (or outside) this long: a box jittering on the edge does not flap.
    pub entry_inertia_secs: f64,
    /// Objects anchored in an exemption zone never raise incidents.
    pub exempt: bool,
    /// Local-time windows, minutes after midnight `(start, end)`, end before start
    /// meaning overnight, when the zone's rules are not enforced.
    pub tolerated: Vec<(u32, u32)>,
    /// Per-zone override of the rule's dwell time.
    pub dwell_secs: Option<u64>,
}

impl Zone {
    pub fn anchor_point(&self, b: &BoxXyxy) -> (f64, f64) {
        let cx = f64::from(b.x1 + b.x2) / 2.0;
        match self.anchor {
            Anchor::BottomCenter => (cx, f64::from(b.y2)),
            Anchor::Center => (cx, f64::from(b.y1 + b.y2) / 2.0),
        }
    }

    /// Whether the box's anchor is inside the zone, in a `width x height` frame.
    pub fn contains(&self, b: &BoxXyxy, width: u32, height: u32) -> bool {
        let (x, y) = self.anchor_point(b);
        if self.normalized {
            contains_point(&self.polygon, x / f64::from(width.max(1)), y / f64::from(height.max(1)))
        } else {
            contains_point(&self.polygon, x, y)
        }
    }

    /// Whether `t` falls in a tolerated window, in the camera's local time.
    pub fn tolerated_at(&self, t: Timestamp, utc_offset_minutes: i32) -> bool {
        if self.tolerated.is_empty() {
            return false;
        }
        let local_minutes = (t.0.div_euclid(60_000) + i64::from(utc_offset_minutes)).rem_euclid(24 * 60) as u32;
        self.tolerated.iter().any(|&(start, end)| {
            if start < end {
                (start..end).contains(&local_minutes)
            } else {
                local_minutes >= start || local_minutes < end
            }
        })
    }
}

impl Zone {
    /// When the current enforced period began, for a zone with tolerated windows that
    /// is enforced at `t`: the end of the latest window. A stall that stood through
    /// the tolerated evening gets its full dwell time to pack up after it.
    pub fn enforced_since(&self, t: Timestamp, utc_offset_minutes: i32) -> Option<Timestamp> {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        let local_ms = (t.0 + i64::from(utc_offset_minutes) * 60_000).rem_euclid(DAY_MS);
        self.tolerated
            .iter()
            .map(|&(_, end)| (local_ms - i64::from(end) * 60_000).rem_euclid(DAY_MS))
            .min()
            .map(|since_end| Timestamp(t.0 - since_end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Zone {
        Zone {
            id: Arc::from("z"),
            name: None,
            kind: ZoneKind::Sidewalk,
            polygon: vec![[0.5, 0.0], [1.0, 0.0], [1.0, 0.5], [0.5, 0.5]],
            normalized: true,
            anchor: Anchor::BottomCenter,
            entry_inertia_secs: 2.0,
            exempt: false,
            tolerated: vec![(18 * 60, 22 * 60), (23 * 60, 60)],
            dwell_secs: None,
        }
    }

    #[test]
    fn the_anchor_decides_membership() {
        let z = zone();
        // A box in the top-right quarter whose bottom edge is below the zone.
        let tall = BoxXyxy { x1: 600.0, y1: 100.0, x2: 700.0, y2: 400.0 };
        assert!(!z.contains(&tall, 800, 600));
        assert!(Zone { anchor: Anchor::Center, ..z.clone() }.contains(&tall, 800, 600));
        let short = BoxXyxy { x1: 600.0, y1: 100.0, x2: 700.0, y2: 250.0 };
        assert!(z.contains(&short, 800, 600));
    }

    #[test]
    fn tolerated_windows_follow_local_time_and_wrap_midnight() {
        let z = zone();
        let utc = |h: i64, m: i64| Timestamp((h * 60 + m) * 60_000 + 20_000 * 86_400_000);
        // +08:00: 10:30 UTC is 18:30 local (tolerated), 09:59 UTC is 17:59 (not).
        assert!(z.tolerated_at(utc(10, 30), 480));
        assert!(!z.tolerated_at(utc(9, 59), 480));
        assert!(!z.tolerated_at(utc(14, 0), 480)); // 22:00 local: window ended
        assert!(z.tolerated_at(utc(15, 30), 480)); // 23:30 local, overnight window
        assert!(z.tolerated_at(utc(16, 59), 480)); // 00:59 local
        assert!(!z.tolerated_at(utc(17, 0), 480)); // 01:00 local
                                                   // Enforcement started again at 01:00 local (17:00 UTC) and at 22:00 local.
        assert_eq!(z.enforced_since(utc(17, 30), 480), Some(utc(17, 0)));
        assert_eq!(z.enforced_since(utc(14, 10), 480), Some(utc(14, 0)));
        assert_eq!(Zone { tolerated: vec![], ..z }.enforced_since(utc(14, 10), 480), None);
    }
}
