//! `bike_cluster`: at least `min_count` bicycles standing still within
//! `cluster_radius` of each other (density clustering), none with a rider, inside a
//! no-bike-parking zone (or anywhere when configured), for at least the dwell time.

use super::scene::{kth_earliest, proximity_groups, RuleKind, Scene, SceneObject, Violation};
use super::settings::BikeClusterSettings;
use crate::geometry::boxes::BoxXyxy;
use crate::timestamp::Timestamp;
use crate::zones::ZoneKind;

/// A person overlapping a bicycle is riding or wheeling it: that bicycle is not parked.
fn has_rider(bike: &SceneObject, scene: &Scene<'_>, person: Option<usize>) -> bool {
    let Some(person) = person else { return false };
    scene
        .objects
        .iter()
        .any(|p| p.class_id == person && intersection_area(&p.bbox, &bike.bbox) > 0.3 * bike.bbox.area())
}

fn intersection_area(a: &BoxXyxy, b: &BoxXyxy) -> f32 {
    let w = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let h = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    w * h
}

pub fn evaluate(scene: &Scene<'_>, s: &BikeClusterSettings) -> Vec<Violation> {
    if !s.enabled {
        return Vec::new();
    }
    let radius = s.cluster_radius * scene.diagonal();
    let parked: Vec<&SceneObject> = scene
        .objects
        .iter()
        .filter(|o| !o.exempt && s.classes.contains(&o.class_id) && !has_rider(o, scene, s.person_class))
        .collect();
    let mut out = Vec::new();
    let mut areas: Vec<(Option<usize>, f64)> = scene
        .zones
        .iter()
        .enumerate()
        .filter(|(z, zone)| zone.kind == ZoneKind::NoBikeParking && scene.enforced(*z))
        .map(|(z, zone)| (Some(z), zone.dwell_secs.map_or(s.dwell_secs, |d| d as f64)))
        .collect();
    if s.anywhere {
        areas.push((None, s.dwell_secs));
    }
    for (zone, dwell) in areas {
        // Bikes in the area, with since when each has stood still there.
        let members: Vec<(&SceneObject, Timestamp)> = parked
            .iter()
            .filter_map(|o| match zone {
                Some(z) => o.still_in_zone_since(z).map(|t| (*o, scene.counted_since(z, t))),
                // Anywhere: bikes already counted in a no-bike-parking zone are left to it.
                None => o
                    .zones
                    .iter()
                    .all(|(z, _)| scene.zones[*z].kind != ZoneKind::NoBikeParking)
                    .then_some((*o, o.still_since)),
            })
            .collect();
        let centres: Vec<_> = members.iter().map(|(o, _)| o.center()).collect();
        for group in proximity_groups(&centres, radius) {
            if group.len() < s.min_count.max(2) {
                continue;
            }
            let since = kth_earliest(group.iter().map(|&i| members[i].1).collect(), s.min_count.max(2));
            if let Some(since) = since.filter(|&t| scene.now.secs_since(t) >= dwell) {
                out.push(Violation {
                    rule: RuleKind::BikeCluster,
                    zone,
                    members: group.iter().map(|&i| members[i].0.track_id).collect(),
                    since,
                });
            }
        }
    }
    out
}
