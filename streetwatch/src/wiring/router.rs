//! The config's `[router]` as the router's settings: destinations, routes, the
//! outbox under the data directory. With no destinations configured, everything
//! goes to the embedded event log (`<data_dir>/events/incidents.jsonl`), so a
//! deployment without Kafka still keeps every incident. With the console enabled
//! and no `console` destination configured, the console gets every event too.

use std::sync::Arc;
use std::time::Duration;

use proto::v1 as pb;
use router::encoding::Encoding as WireEncoding;
use router::kafka::sink::KafkaTuning;
use router::outbox::OutboxSettings;
use router::routes::Route;
use router::{Destination, EventHandler, MessageKey, RouterSettings, Target};

use crate::config::schema::DestinationKind;
use crate::config::Config;

pub const LOCAL_LOG: &str = "events/incidents.jsonl";
/// The destination the console gets when the config names none.
pub const IMPLICIT_CONSOLE: &str = "console";

fn destinations(config: &Config, console: Option<&Arc<dyn EventHandler>>) -> Vec<Destination> {
    let local = |name: &str, file: &str| Destination {
        name: Arc::from(name),
        target: Target::JsonLines { path: config.data_dir.join(file) },
        encoding: WireEncoding::JsonLine,
    };
    let to_console = |name: &str, handler: &Arc<dyn EventHandler>| Destination {
        name: Arc::from(name),
        target: Target::InProcess { handler: Arc::clone(handler) },
        encoding: WireEncoding::Protobuf,
    };
    let mut out = if config.router.destinations.is_empty() {
        vec![local("local", LOCAL_LOG)]
    } else {
        configured(config, console, &local, &to_console)
    };
    if let Some(handler) = console.filter(|_| !has_console_destination(config)) {
        out.push(to_console(IMPLICIT_CONSOLE, handler));
    }
    out
}

fn has_console_destination(config: &Config) -> bool {
    config.router.destinations.iter().any(|d| d.kind == DestinationKind::Console)
}

fn configured(
    config: &Config,
    console: Option<&Arc<dyn EventHandler>>,
    local: &dyn Fn(&str, &str) -> Destination,
    to_console: &dyn Fn(&str, &Arc<dyn EventHandler>) -> Destination,
) -> Vec<Destination> {
    config
        .router
        .destinations
        .iter()
        .map(|d| match d.kind {
            DestinationKind::Kafka => Destination {
                name: Arc::from(d.name.as_str()),
                // Validated: a kafka destination has a topic.
                target: Target::Kafka { topic: d.topic.clone().unwrap_or_default(), key: d.key },
                encoding: d.encoding,
            },
            DestinationKind::Local => local(&d.name, LOCAL_LOG),
            // Validated: a console destination needs the console enabled.
            DestinationKind::Console => match console {
                Some(handler) => to_console(&d.name, handler),
                None => local(&d.name, "events/console-disabled.jsonl"),
            },
        })
        .collect()
}

fn routes(config: &Config, dests: &[Destination]) -> Vec<Route> {
    let mut routes = if config.router.routes.is_empty() {
        vec![Route {
            name: "default: everything everywhere".into(),
            destinations: dests.iter().map(|d| Arc::clone(&d.name)).collect(),
            ..Route::default()
        }]
    } else {
        config.routes.clone()
    };
    if dests.iter().any(|d| &*d.name == IMPLICIT_CONSOLE) && !has_console_destination(config) {
        routes.push(Route {
            name: "console: everything".into(),
            destinations: vec![Arc::from(IMPLICIT_CONSOLE)],
            ..Route::default()
        });
    }
    routes
}

/// The router's settings; `console`: the console's handler when it is enabled.
pub fn router_settings(config: &Config, console: Option<Arc<dyn EventHandler>>) -> RouterSettings {
    let dests = destinations(config, console.as_ref());
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

/// The destination name of the shared console's decisions topic.
pub const REVIEWS: &str = "reviews";

/// The shared console's router (`streetwatch console`): operator decisions go to the
/// reviews topic (protobuf, keyed by incident id, so one incident's decisions stay in
/// order) and to the config's own Kafka destinations by its routes (a case centre's
/// CloudEvents topic, say). Its outbox is its own (`<data_dir>/console-outbox`):
/// a decision survives a broker outage or a restart like an incident does.
pub fn shared_console_router_settings(config: &Config) -> RouterSettings {
    let mut settings = router_settings(config, None);
    let reviews_topic = config.console.shared.reviews_topic.clone();
    settings.destinations.retain(|d| matches!(d.target, Target::Kafka { .. }));
    let has_reviews = settings
        .destinations
        .iter()
        .any(|d| matches!(&d.target, Target::Kafka { topic, .. } if *topic == reviews_topic));
    if !has_reviews {
        settings.destinations.push(Destination {
            name: Arc::from(REVIEWS),
            target: Target::Kafka { topic: reviews_topic, key: MessageKey::Incident },
            encoding: WireEncoding::Protobuf,
        });
        settings.routes.push(Route {
            name: "reviews: every decision".into(),
            phases: vec![pb::Phase::Reviewed as i32],
            destinations: vec![Arc::from(REVIEWS)],
            ..Route::default()
        });
    }
    settings.outbox_dir = config.data_dir.join("console-outbox");
    settings
}
