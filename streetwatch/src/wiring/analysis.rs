//! The config's rules, zones and tracking settings in the detector's terms (class
//! ids instead of names), one `CameraAnalysis` per camera, and the camera as the
//! detector's incident stage takes it.

use std::sync::Arc;

use detector::analysis::CameraAnalysis;
use detector::incident_stage::stream_clock::{ClockSource, StreamClock};
use detector::incident_stage::CameraSetup;
use detector::rules::settings::{BikeClusterSettings, IncidentTiming, SidewalkParkingSettings, StreetVendingSettings};
use detector::rules::{AppearanceCheck, RuleSettings};
use detector::timestamp::Timestamp;
use detector::tracking::tracker::TrackerSettings;
use detector::zones::{Anchor, Zone, ZoneKind};
use detector::ModelManifest;
use ingest::{CameraHandle, Pacing, SourceKind};

use super::detection::privacy_masks;
use super::incident_publisher::{camera_ref, PublishedCamera};
use crate::config::schema::{self, Coordinates, RulesConfig};
use crate::config::{parse_utc_offset, parse_window, Camera, Config};

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

/// A config zone kind in the detector's terms.
pub fn zone_kind(k: schema::ZoneKind) -> ZoneKind {
    match k {
        schema::ZoneKind::Sidewalk => ZoneKind::Sidewalk,
        schema::ZoneKind::TactilePaving => ZoneKind::TactilePaving,
        schema::ZoneKind::NoVending => ZoneKind::NoVending,
        schema::ZoneKind::NoBikeParking => ZoneKind::NoBikeParking,
        schema::ZoneKind::Custom => ZoneKind::Custom,
    }
}

pub fn zones(camera: &Camera) -> Vec<Zone> {
    camera
        .config
        .zones
        .iter()
        .map(|z| Zone {
            id: Arc::from(z.id.as_str()),
            name: z.name.clone(),
            kind: zone_kind(z.kind),
            polygon: z.polygon.clone(),
            normalized: z.coordinates == Coordinates::Normalized,
            anchor: match z.anchor {
                schema::Anchor::BottomCenter => Anchor::BottomCenter,
                schema::Anchor::Center => Anchor::Center,
            },
            entry_inertia_secs: z.entry_inertia_secs,
            exempt: z.exempt,
            // Validated: every window parses.
            tolerated: z.tolerated.iter().filter_map(|w| parse_window(w)).collect(),
            dwell_secs: z.dwell_secs,
        })
        .collect()
}

/// The camera's fixed UTC offset in minutes (validated).
pub fn utc_offset_minutes(camera: &Camera) -> i32 {
    parse_utc_offset(&camera.config.utc_offset).unwrap_or(0)
}

pub fn camera_analysis(camera: &Camera, rules: &RulesConfig, manifest: &ModelManifest) -> CameraAnalysis {
    CameraAnalysis::new(
        Arc::from(camera.config.id.as_str()),
        zones(camera),
        utc_offset_minutes(camera),
        rule_settings(rules, manifest),
        tracker_settings(rules),
    )
}

/// The camera of `handle` (from its table in `config`) for the incident stage.
/// Files played fast are analysed in their own time, counted from
/// `stream_time_base` when given (a replay's fixed start).
pub fn camera_setup(
    config: &Config,
    handle: &CameraHandle,
    stream_time_base: Option<Timestamp>,
) -> CameraSetup<PublishedCamera> {
    let camera = config.cameras.iter().find(|c| *c.config.id == *handle.id);
    let fast_file = camera.is_some_and(|c| c.url.kind() == SourceKind::File && c.config.pacing == Pacing::Fast);
    let source = if fast_file { ClockSource::StreamTime } else { ClockSource::Wall };
    let (analysis, offset) = match camera {
        Some(c) => (camera_analysis(c, &config.rules, &config.model_manifest), utc_offset_minutes(c)),
        // Every handle comes from a configured camera; an empty analysis is a safe stand-in.
        None => (
            CameraAnalysis::new(
                Arc::clone(&handle.id),
                Vec::new(),
                0,
                rule_settings(&config.rules, &config.model_manifest),
                tracker_settings(&config.rules),
            ),
            0,
        ),
    };
    CameraSetup {
        id: Arc::clone(&handle.id),
        analysis,
        clock: StreamClock::starting_at(source, stream_time_base),
        masks: privacy_masks(config, &handle.id),
        utc_offset_minutes: offset,
        output: PublishedCamera {
            id: Arc::clone(&handle.id),
            ring: Arc::clone(&handle.preroll),
            wire: camera_ref(&handle.id, camera.map(|c| &c.config)),
            group: camera.and_then(|c| c.config.group.clone()),
            utc_offset_minutes: offset,
        },
    }
}
