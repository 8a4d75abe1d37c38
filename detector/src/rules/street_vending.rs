//! `street_vending`: in a no-vending zone, people standing still with stall objects
//! (umbrella, table, chairs, ...) near them, or a group of at least K people standing
//! still together, for at least the dwell time. One violation per group.

use super::scene::{kth_earliest, proximity_groups, RuleKind, Scene, Violation};
use super::settings::StreetVendingSettings;
use crate::zones::ZoneKind;

pub fn evaluate(scene: &Scene<'_>, s: &StreetVendingSettings) -> Vec<Violation> {
    let Some(person) = s.person_class.filter(|_| s.enabled) else {
        return Vec::new();
    };
    let radius = s.group_radius * scene.diagonal();
    let mut out = Vec::new();
    for (z, zone) in scene.zones.iter().enumerate() {
        if zone.kind != ZoneKind::NoVending || !scene.enforced(z) {
            continue;
        }
        let dwell = zone.dwell_secs.map_or(s.dwell_secs, |d| d as f64);
        // Still people in the zone, and still stall objects in the zone.
        let candidates: Vec<_> = scene
            .objects
            .iter()
            .filter(|o| !o.exempt && (o.class_id == person || s.stall_classes.contains(&o.class_id)))
            .filter_map(|o| o.still_in_zone_since(z).map(|since| (o, scene.counted_since(z, since))))
            .collect();
        let centres: Vec<_> = candidates.iter().map(|(o, _)| o.center()).collect();
        for group in proximity_groups(&centres, radius) {
            let people: Vec<_> = group.iter().filter(|&&i| candidates[i].0.class_id == person).collect();
            let stalls: Vec<_> = group.iter().filter(|&&i| candidates[i].0.class_id != person).collect();
            if people.is_empty() {
                continue;
            }
            let since = if !stalls.is_empty() {
                // A person and a stall object, both there: the later of the earliest of each.
                let p = people.iter().map(|&&i| candidates[i].1).min();
                let st = stalls.iter().map(|&&i| candidates[i].1).min();
                p.zip(st).map(|(a, b)| a.max(b))
            } else if people.len() >= s.min_persons_without_stall.max(1) {
                kth_earliest(people.iter().map(|&&i| candidates[i].1).collect(), s.min_persons_without_stall.max(1))
            } else {
                None
            };
            if let Some(since) = since.filter(|&t| scene.now.secs_since(t) >= dwell) {
                out.push(Violation {
                    rule: RuleKind::StreetVending,
                    zone: Some(z),
                    members: group.iter().map(|&i| candidates[i].0.track_id).collect(),
                    since,
                });
            }
        }
    }
    out
}
