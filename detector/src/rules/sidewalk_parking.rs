//! `sidewalk_parking`: a vehicle standing still inside a sidewalk or tactile-paving
//! zone for at least the dwell time. One violation per vehicle and zone.

use super::scene::{RuleKind, Scene, Violation};
use super::settings::SidewalkParkingSettings;
use crate::zones::ZoneKind;

pub fn evaluate(scene: &Scene<'_>, s: &SidewalkParkingSettings) -> Vec<Violation> {
    if !s.enabled {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (z, zone) in scene.zones.iter().enumerate() {
        if !matches!(zone.kind, ZoneKind::Sidewalk | ZoneKind::TactilePaving) || !scene.enforced(z) {
            continue;
        }
        let dwell = zone.dwell_secs.map_or(s.dwell_secs, |d| d as f64);
        for o in scene.objects.iter().filter(|o| !o.exempt && s.classes.contains(&o.class_id)) {
            if let Some(since) = o.still_in_zone_since(z).map(|t| scene.counted_since(z, t)) {
                if scene.now.secs_since(since) >= dwell {
                    out.push(Violation {
                        rule: RuleKind::SidewalkParking,
                        zone: Some(z),
                        members: vec![o.track_id],
                        since,
                    });
                }
            }
        }
    }
    out
}
