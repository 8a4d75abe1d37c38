//! Stage 3: the validated config in the libraries' own terms (ingest's camera
//! settings, the detector's zones, masks, rule and tracker settings), built once
//! in `validate` from values it has checked, so nothing downstream parses a string
//! or maps a name again.

use std::sync::Arc;
use std::time::Duration;

use detector::preprocess::privacy_mask::PrivacyMask;
use detector::rules::settings::{BikeClusterSettings, IncidentTiming, SidewalkParkingSettings, StreetVendingSettings};
use detector::rules::{AppearanceCheck, RuleSettings};
use detector::tracking::tracker::TrackerSettings;
use detector::zones::Zone;
use detector::ModelManifest;
use ingest::{CameraSettings, CameraUrl, RetryPolicy};
use proto::v1 as pb;
use router::routes::Route;

use super::schema::{
    CameraConfig, Coordinates, IncidentKindName, PhaseName, PrivacyMaskConfig, RouterConfig, RulesConfig, SeverityName,
    ZoneConfig,
};
use crate::wiring::incident_proto::zone_kind as wire_zone_kind;

/// Class names to ids; names were checked against the model when the config was
/// validated, so a miss here can only be a name the model lacks on purpose.
fn class_ids(manifest: &ModelManifest, names: &[String]) -> Vec<usize> {
    names.iter().filter_map(|n| manifest.class_index(n)).collect()
}

pub fn rule_settings(rules: &RulesConfig, manifest: &ModelManifest) -> RuleSettings {
    let bikes = &rules.bike_cluster;
    let mut bike_classes = class_ids(manifest, std::slice::from_ref(&bikes.bicycle_class));
    if bikes.include_motorbikes {
        bike_classes.extend(class_ids(manifest, std::slice::from_ref(&bikes.motorbike_class)));
    }
    let st = &rules.stationary;
    RuleSettings {
        sidewalk_parking: SidewalkParkingSettings {
            enabled: rules.sidewalk_parking.enabled,
            dwell_secs: rules.sidewalk_parking.dwell_secs as f64,
            classes: class_ids(manifest, &rules.sidewalk_parking.classes),
        },
        street_vending: StreetVendingSettings {
            enabled: rules.street_vending.enabled,
            dwell_secs: rules.street_vending.dwell_secs as f64,
            person_class: manifest.class_index(&rules.street_vending.person_class),
            stall_classes: class_ids(manifest, &rules.street_vending.stall_classes),
            min_persons_without_stall: rules.street_vending.min_persons_without_stall as usize,
            group_radius: rules.street_vending.group_radius,
        },
        bike_cluster: BikeClusterSettings {
            enabled: bikes.enabled,
            dwell_secs: bikes.dwell_secs as f64,
            min_count: bikes.min_count as usize,
            cluster_radius: bikes.cluster_radius,
            classes: bike_classes,
            person_class: manifest.class_index(&bikes.person_class),
            anywhere: bikes.anywhere,
        },
        timing: IncidentTiming {
            update_interval_secs: rules.incidents.update_interval_secs as f64,
            clear_secs: rules.incidents.clear_secs as f64,
            realarm_secs: rules.incidents.realarm_secs as f64,
            escalate_after_secs: rules.incidents.escalate_after_secs as f64,
        },
        stationary_iou: st.min_iou,
        appearance: st.appearance_check.then_some(AppearanceCheck {
            min_correlation: st.appearance_min_correlation,
            min_still_secs: st.appearance_min_still_secs,
        }),
    }
}

pub fn tracker_settings(rules: &RulesConfig) -> TrackerSettings {
    let t = &rules.tracking;
    TrackerSettings {
        high_score: t.high_score,
        new_track_score: t.high_score,
        match_iou: t.match_iou,
        max_lost_secs: t.max_lost_secs,
        ..TrackerSettings::default()
    }
}

/// The configured routes in the router's terms: the config's names as wire-schema values.
pub fn routes(router: &RouterConfig) -> Vec<Route> {
    router
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| Route {
            name: r.name.clone().unwrap_or_else(|| format!("routes[{i}]")),
            kinds: r
                .kinds
                .iter()
                .map(|k| match k {
                    IncidentKindName::SidewalkParking => pb::IncidentKind::SidewalkParking as i32,
                    IncidentKindName::StreetVending => pb::IncidentKind::StreetVending as i32,
                    IncidentKindName::BikeCluster => pb::IncidentKind::BikeCluster as i32,
                })
                .collect(),
            phases: r
                .phases
                .iter()
                .map(|p| match p {
                    PhaseName::Started => pb::Phase::Started as i32,
                    PhaseName::Updated => pb::Phase::Updated as i32,
                    PhaseName::Ended => pb::Phase::Ended as i32,
                    PhaseName::Reviewed => pb::Phase::Reviewed as i32,
                })
                .collect(),
            zone_kinds: r.zone_kinds.iter().map(|z| wire_zone_kind(*z) as i32).collect(),
            cameras: r.cameras.clone(),
            camera_groups: r.camera_groups.clone(),
            min_severity: r.min_severity.map(|s| match s {
                SeverityName::Low => pb::Severity::Low as i32,
                SeverityName::Medium => pb::Severity::Medium as i32,
                SeverityName::High => pb::Severity::High as i32,
            }),
            destinations: r.destinations.iter().map(|d| Arc::from(d.as_str())).collect(),
        })
        .collect()
}

/// A zone of the config in the detector's terms; `tolerated`: its windows, parsed.
pub fn zone(z: &ZoneConfig, tolerated: Vec<(u32, u32)>) -> Zone {
    Zone {
        id: Arc::from(z.id.as_str()),
        name: z.name.clone(),
        kind: z.kind,
        polygon: z.polygon.clone(),
        normalized: z.coordinates == Coordinates::Normalized,
        anchor: z.anchor,
        entry_inertia_secs: z.entry_inertia_secs,
        exempt: z.exempt,
        tolerated,
        dwell_secs: z.dwell_secs,
    }
}

pub fn privacy_mask(m: &PrivacyMaskConfig) -> PrivacyMask {
    PrivacyMask { points: m.polygon.clone(), normalized: m.coordinates == Coordinates::Normalized }
}

/// Ingest's view of one configured camera.
pub fn camera_settings(c: &CameraConfig, url: CameraUrl) -> CameraSettings {
    CameraSettings {
        id: Arc::from(c.id.as_str()),
        site: c.site.as_deref().map(Arc::from),
        url,
        decode: c.decode,
        sample_fps: c.sample_fps,
        max_keyframe_interval: Duration::from_secs_f64(c.max_keyframe_interval_secs),
        change_gate: ingest::ChangeGateSettings {
            enabled: c.change_gate.enabled,
            floor: Duration::from_secs_f64(c.change_gate.floor_secs),
            margin: c.change_gate.margin,
            relearn_after: Duration::from_secs_f64(c.change_gate.relearn_after_secs),
        },
        transport: c.transport,
        latency_ms: c.latency_ms,
        stall_timeout: Duration::from_secs(c.stall_timeout_secs),
        preroll: Duration::from_secs(c.preroll_secs),
        loop_file: c.loop_file,
        pacing: c.pacing,
        retry: RetryPolicy {
            max_backoff: Duration::from_secs(c.max_backoff_secs),
            auth_retry: Duration::from_secs(c.auth_retry_secs),
            // A camera that needs longer than its stall timeout to start is stalled too.
            connect_timeout: Duration::from_secs(c.stall_timeout_secs.max(15)),
            ..RetryPolicy::default()
        },
    }
}

/// `+08:00` → minutes east of UTC.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60 && rest.len() == 5).then_some(sign * (h * 60 + m))
}

/// `18:00-22:00` → (start, end) in minutes after midnight; end may be before start (overnight).
pub fn parse_window(s: &str) -> Option<(u32, u32)> {
    let hm = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    let (a, b) = (hm(a)?, hm(b)?);
    (a != b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_windows() {
        assert_eq!(parse_utc_offset("+08:00"), Some(480));
        assert_eq!(parse_utc_offset("-03:30"), Some(-210));
        assert_eq!(parse_utc_offset("08:00"), None);
        assert_eq!(parse_utc_offset("+8:00"), None);
        assert_eq!(parse_window("18:00-22:00"), Some((1080, 1320)));
        assert_eq!(parse_window("22:00-02:00"), Some((1320, 120)));
        assert_eq!(parse_window("25:00-02:00"), None);
        assert_eq!(parse_window("10:00-10:00"), None);
    }
}
