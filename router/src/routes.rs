//! Which destinations an incident event goes to. A route matches on the event's kind,
//! phase, zone kind, camera, camera group and severity (an empty list matches
//! everything); every matching route adds its destinations, each destination once.

use std::sync::Arc;

use proto::v1::Incident;

#[derive(Debug, Clone, Default)]
pub struct Route {
    pub name: String,
    /// `proto::v1::IncidentKind` values.
    pub kinds: Vec<i32>,
    /// `proto::v1::Phase` values.
    pub phases: Vec<i32>,
    /// `proto::v1::ZoneKind` values.
    pub zone_kinds: Vec<i32>,
    pub cameras: Vec<String>,
    pub camera_groups: Vec<String>,
    /// `proto::v1::Severity` value; events below it do not match.
    pub min_severity: Option<i32>,
    pub destinations: Vec<Arc<str>>,
}

fn any_or<T: PartialEq>(list: &[T], value: &T) -> bool {
    list.is_empty() || list.contains(value)
}

impl Route {
    pub fn matches(&self, i: &Incident, camera_group: Option<&str>) -> bool {
        let camera = i.camera.as_ref().map(|c| c.camera_id.as_str()).unwrap_or("");
        let zone_kind = i.zone.as_ref().map_or(0, |z| z.kind);
        any_or(&self.kinds, &i.kind)
            && any_or(&self.phases, &i.phase)
            && (self.zone_kinds.is_empty() || self.zone_kinds.contains(&zone_kind))
            && (self.cameras.is_empty() || self.cameras.iter().any(|c| c == camera))
            && (self.camera_groups.is_empty()
                || camera_group.is_some_and(|g| self.camera_groups.iter().any(|x| x == g)))
            && self.min_severity.is_none_or(|m| i.severity >= m)
    }
}

/// The destinations of `i`, in route order, each once.
pub fn destinations_for(routes: &[Route], i: &Incident, camera_group: Option<&str>) -> Vec<Arc<str>> {
    let mut out: Vec<Arc<str>> = Vec::new();
    for r in routes.iter().filter(|r| r.matches(i, camera_group)) {
        for d in &r.destinations {
            if !out.contains(d) {
                out.push(Arc::clone(d));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::v1::{CameraRef, IncidentKind, Phase, Severity, ZoneKind, ZoneRef};

    fn incident(kind: IncidentKind, phase: Phase, severity: Severity) -> Incident {
        Incident {
            kind: kind as i32,
            phase: phase as i32,
            severity: severity as i32,
            camera: Some(CameraRef { camera_id: "cam-1".into(), ..Default::default() }),
            zone: Some(ZoneRef { zone_id: "z".into(), kind: ZoneKind::Sidewalk as i32, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn routes_select_by_every_attribute_and_destinations_are_deduplicated() {
        let police = Route {
            name: "police".into(),
            kinds: vec![IncidentKind::SidewalkParking as i32],
            min_severity: Some(Severity::Medium as i32),
            destinations: vec![Arc::from("security"), Arc::from("local")],
            ..Default::default()
        };
        let cases = Route {
            name: "cases".into(),
            phases: vec![Phase::Started as i32, Phase::Ended as i32],
            camera_groups: vec!["old-town".into()],
            destinations: vec![Arc::from("cases"), Arc::from("local")],
            ..Default::default()
        };
        let routes = [police, cases];
        let names = |i: &Incident, g: Option<&str>| -> Vec<String> {
            destinations_for(&routes, i, g).iter().map(|d| d.to_string()).collect()
        };
        let parked = incident(IncidentKind::SidewalkParking, Phase::Started, Severity::High);
        assert_eq!(names(&parked, Some("old-town")), ["security", "local", "cases"]);
        assert_eq!(names(&parked, Some("new-town")), ["security", "local"]);
        let low = incident(IncidentKind::SidewalkParking, Phase::Updated, Severity::Low);
        assert!(names(&low, Some("old-town")).is_empty());
        let bikes = incident(IncidentKind::BikeCluster, Phase::Ended, Severity::Low);
        assert_eq!(names(&bikes, Some("old-town")), ["cases", "local"]);
        let zoned = Route { zone_kinds: vec![ZoneKind::NoVending as i32], ..routes[1].clone() };
        assert!(!zoned.matches(&bikes, Some("old-town")));
        let by_camera = Route { cameras: vec!["cam-2".into()], ..Default::default() };
        assert!(!by_camera.matches(&bikes, None));
    }
}
