//! The names streetwatch gives the schema's enum values in JSON, logs and the
//! console: kinds, zone kinds and actions in snake_case, phases in capitals. One
//! place, so every reader of the events sees the same words.

use crate::v1::{CameraState, IncidentKind, Phase, ReviewAction, Severity, ZoneKind};

pub fn kind_name(k: i32) -> &'static str {
    match IncidentKind::try_from(k) {
        Ok(IncidentKind::SidewalkParking) => "sidewalk_parking",
        Ok(IncidentKind::StreetVending) => "street_vending",
        Ok(IncidentKind::BikeCluster) => "bike_cluster",
        _ => "unspecified",
    }
}

pub fn phase_name(p: i32) -> &'static str {
    match Phase::try_from(p) {
        Ok(Phase::Started) => "STARTED",
        Ok(Phase::Updated) => "UPDATED",
        Ok(Phase::Ended) => "ENDED",
        Ok(Phase::Reviewed) => "REVIEWED",
        _ => "UNSPECIFIED",
    }
}

pub fn review_action_name(a: i32) -> &'static str {
    match ReviewAction::try_from(a) {
        Ok(ReviewAction::Acknowledged) => "acknowledged",
        Ok(ReviewAction::Dismissed) => "dismissed",
        Ok(ReviewAction::Resolved) => "resolved",
        _ => "unspecified",
    }
}

pub fn severity_name(s: i32) -> &'static str {
    match Severity::try_from(s) {
        Ok(Severity::Low) => "low",
        Ok(Severity::Medium) => "medium",
        Ok(Severity::High) => "high",
        _ => "unspecified",
    }
}

pub fn zone_kind_name(k: i32) -> &'static str {
    match ZoneKind::try_from(k) {
        Ok(ZoneKind::Sidewalk) => "sidewalk",
        Ok(ZoneKind::TactilePaving) => "tactile_paving",
        Ok(ZoneKind::NoVending) => "no_vending",
        Ok(ZoneKind::NoBikeParking) => "no_bike_parking",
        Ok(ZoneKind::Custom) => "custom",
        _ => "unspecified",
    }
}

/// A camera's state, lower case (logs, metric labels, the console).
pub fn camera_state_name(s: i32) -> &'static str {
    match CameraState::try_from(s) {
        Ok(CameraState::Connecting) => "connecting",
        Ok(CameraState::Streaming) => "streaming",
        Ok(CameraState::Stalled) => "stalled",
        Ok(CameraState::Backoff) => "backoff",
        Ok(CameraState::AuthFailed) => "auth_failed",
        Ok(CameraState::Stopped) => "stopped",
        Ok(CameraState::Failed) => "failed",
        _ => "unspecified",
    }
}
