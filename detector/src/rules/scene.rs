//! What the rules look at: each tracked object with how long it has stood still and
//! which zones it is in, at one moment.

use std::sync::Arc;

use crate::geometry::boxes::BoxXyxy;
use crate::timestamp::Timestamp;
use crate::zones::Zone;

#[derive(Debug, Clone)]
pub struct SceneObject {
    pub track_id: u64,
    pub class_id: usize,
    pub label: Arc<str>,
    pub score: f32,
    /// Last observed box, frame pixels.
    pub bbox: BoxXyxy,
    pub still_since: Timestamp,
    /// Zones (indices) the object counts as inside, with when it entered.
    pub zones: Vec<(usize, Timestamp)>,
    /// Anchored in an exemption zone: never part of an incident.
    pub exempt: bool,
    /// Observed in this frame (by the detector, or by the appearance check); false
    /// while the tracker holds it through a drop-out.
    pub seen_now: bool,
}

impl SceneObject {
    pub fn center(&self) -> (f64, f64) {
        (f64::from(self.bbox.x1 + self.bbox.x2) / 2.0, f64::from(self.bbox.y1 + self.bbox.y2) / 2.0)
    }

    /// Since when it has been still inside `zone`, if it is inside.
    pub fn still_in_zone_since(&self, zone: usize) -> Option<Timestamp> {
        self.zones.iter().find(|(z, _)| *z == zone).map(|&(_, entered)| entered.max(self.still_since))
    }
}

pub struct Scene<'a> {
    pub now: Timestamp,
    pub width: u32,
    pub height: u32,
    pub objects: &'a [SceneObject],
    pub zones: &'a [Zone],
    pub utc_offset_minutes: i32,
}

impl Scene<'_> {
    pub fn diagonal(&self) -> f64 {
        f64::from(self.width).hypot(f64::from(self.height))
    }

    /// Zones whose rules are enforced now (not tolerated at this local time).
    pub fn enforced(&self, zone: usize) -> bool {
        !self.zones[zone].exempt && !self.zones[zone].tolerated_at(self.now, self.utc_offset_minutes)
    }

    /// Since when a situation in `zone` counts, given it began at `since`: never
    /// before the zone's current enforced period began.
    pub fn counted_since(&self, zone: usize, since: Timestamp) -> Timestamp {
        self.zones[zone].enforced_since(self.now, self.utc_offset_minutes).map_or(since, |e| e.max(since))
    }
}

/// The rule that a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    SidewalkParking,
    StreetVending,
    BikeCluster,
}

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::SidewalkParking => "sidewalk_parking",
            Self::StreetVending => "street_vending",
            Self::BikeCluster => "bike_cluster",
        }
    }
}

/// A rule holding at this moment, for long enough.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub rule: RuleKind,
    /// The zone it happens in (None for a bike cluster flagged anywhere).
    pub zone: Option<usize>,
    /// Track ids of the objects involved.
    pub members: Vec<u64>,
    /// Since when the rule has held.
    pub since: Timestamp,
}

/// Groups of indices whose centres are within `radius` of some other member
/// (connected components: density clustering with a minimum of one neighbour).
pub fn proximity_groups(points: &[(f64, f64)], radius: f64) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut group = vec![usize::MAX; n];
    let mut groups = Vec::new();
    for start in 0..n {
        if group[start] != usize::MAX {
            continue;
        }
        let id = groups.len();
        let mut members = vec![start];
        group[start] = id;
        let mut i = 0;
        while i < members.len() {
            let (x, y) = points[members[i]];
            for j in 0..n {
                if group[j] == usize::MAX && (points[j].0 - x).hypot(points[j].1 - y) <= radius {
                    group[j] = id;
                    members.push(j);
                }
            }
            i += 1;
        }
        members.sort_unstable();
        groups.push(members);
    }
    groups
}

/// The k-th earliest time (1-based): since when at least k of them have held.
pub fn kth_earliest(mut times: Vec<Timestamp>, k: usize) -> Option<Timestamp> {
    times.sort();
    times.get(k.checked_sub(1)?).copied()
}
