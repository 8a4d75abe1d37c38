//! When the rules next need to look: the earliest time a still object reaches a
//! dwell. With change gating (ingest's `change_gate.rs`) a still scene is analysed
//! only now and then; asking for an analysis at that time measures every dwell to
//! within one keyframe interval instead of one floor interval.

use super::scene::Scene;
use super::settings::RuleSettings;
use crate::timestamp::Timestamp;
use crate::zones::ZoneKind;

/// The shortest dwell of an enabled rule that applies to a zone of this kind.
fn zone_dwell(kind: ZoneKind, s: &RuleSettings) -> Option<f64> {
    let parking = s.sidewalk_parking.enabled.then_some(s.sidewalk_parking.dwell_secs);
    let vending =
        (s.street_vending.enabled && s.street_vending.person_class.is_some()).then_some(s.street_vending.dwell_secs);
    let bikes = s.bike_cluster.enabled.then_some(s.bike_cluster.dwell_secs);
    match kind {
        ZoneKind::Sidewalk | ZoneKind::TactilePaving => parking,
        ZoneKind::NoVending => vending,
        ZoneKind::NoBikeParking => bikes,
        ZoneKind::Custom => [parking, vending, bikes].into_iter().flatten().reduce(f64::min),
    }
}

/// The earliest time after `scene.now` when a still object in an enforced zone (or,
/// for bike clusters flagged anywhere, any still object) reaches its dwell.
pub fn next_dwell_due(scene: &Scene<'_>, settings: &RuleSettings) -> Option<Timestamp> {
    let mut due: Vec<Timestamp> = Vec::new();
    for o in scene.objects.iter().filter(|o| o.seen_now && !o.exempt) {
        for &(z, _) in &o.zones {
            if !scene.enforced(z) {
                continue;
            }
            let zone = &scene.zones[z];
            let Some(dwell) = zone.dwell_secs.map(|d| d as f64).or_else(|| zone_dwell(zone.kind, settings)) else {
                continue;
            };
            if let Some(since) = o.still_in_zone_since(z) {
                due.push(scene.counted_since(z, since).plus_secs(dwell));
            }
        }
        if settings.bike_cluster.enabled && settings.bike_cluster.anywhere {
            due.push(o.still_since.plus_secs(settings.bike_cluster.dwell_secs));
        }
    }
    due.into_iter().filter(|&t| t > scene.now).min()
}
