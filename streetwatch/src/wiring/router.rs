//! The config's `[router]` as the router's settings: destinations, routes, the
//! outbox under the data directory. With no destinations configured, everything
//! goes to the embedded event log (`<data_dir>/events/incidents.jsonl`), so a
//! deployment without Kafka still keeps every incident.

use std::sync::Arc;
use std::time::Duration;

use proto::v1 as pb;
use router::encoding::Encoding as WireEncoding;
use router::kafka::sink::KafkaTuning;
use router::outbox::OutboxSettings;
use router::routes::Route;
use router::{Destination, RouterSettings, Target};

use super::analysis::zone_kind as analysis_zone_kind;
use super::incident_proto::zone_kind as wire_zone_kind;
use crate::config::schema::{DestinationKind, Encoding, IncidentKindName, PhaseName, SeverityName};
use crate::config::Config;

pub const LOCAL_LOG: &str = "events/incidents.jsonl";
pub const CONSOLE_LOG: &str = "events/console.jsonl";

fn encoding(e: Encoding) -> WireEncoding {
    match e {
        Encoding::Protobuf => WireEncoding::Protobuf,
        Encoding::CloudeventsStructured => WireEncoding::CloudEventsStructured,
        Encoding::CloudeventsBinary => WireEncoding::CloudEventsBinary,
    }
}

fn destinations(config: &Config) -> Vec<Destination> {
    let local = |name: &str, file: &str| Destination {
        name: Arc::from(name),
        target: Target::JsonLines { path: config.data_dir.join(file) },
        encoding: WireEncoding::JsonLine,
    };
    if config.router.destinations.is_empty() {
        return vec![local("local", LOCAL_LOG)];
    }
    config
        .router
        .destinations
        .iter()
        .map(|d| match d.kind {
            DestinationKind::Kafka => Destination {
                name: Arc::from(d.name.as_str()),
                // Validated: a kafka destination has a topic.
                target: Target::Kafka { topic: d.topic.clone().unwrap_or_default() },
                encoding: encoding(d.encoding),
            },
            DestinationKind::Local => local(&d.name, LOCAL_LOG),
            // The console reads its own log until it has a store of its own (issue 8).
            DestinationKind::Console => local(&d.name, CONSOLE_LOG),
        })
        .collect()
}

fn routes(config: &Config, dests: &[Destination]) -> Vec<Route> {
    if config.router.routes.is_empty() {
        return vec![Route {
            name: "default: everything everywhere".into(),
            destinations: dests.iter().map(|d| Arc::clone(&d.name)).collect(),
            ..Route::default()
        }];
    }
    config
        .router
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
                })
                .collect(),
            zone_kinds: r.zone_kinds.iter().map(|z| wire_zone_kind(analysis_zone_kind(*z)) as i32).collect(),
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

pub fn router_settings(config: &Config) -> RouterSettings {
    let dests = destinations(config);
    let routes = routes(config, &dests);
    RouterSettings {
        outbox_dir: config.data_dir.join("outbox"),
        outbox: OutboxSettings { max_bytes: config.router.outbox.max_bytes, ..OutboxSettings::default() },
        destinations: dests,
        routes,
        kafka: config.kafka.clone(),
        kafka_tuning: KafkaTuning {
            message_timeout: Duration::from_secs(config.router.kafka.as_ref().map_or(30, |k| k.message_timeout_secs)),
            ..KafkaTuning::default()
        },
        source: format!("/streetwatch/{}", config.service.instance),
    }
}
