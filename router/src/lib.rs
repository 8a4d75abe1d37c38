//! Incident delivery for streetwatch.
//!
//! This crate is the only one that talks to Kafka (through `rdkafka`). Events come in
//! through [`Router::submit`] (routed by [`routes`], encoded by [`encoding`], durably
//! in the [`outbox`] before it returns) and leave through one delivery thread per
//! destination: a Kafka topic ([`kafka::sink`]), a JSON-lines file or a handler in
//! this process such as the operator console ([`local_sink`]).
//! Refused events go to the [`dead_letter`] store.

pub mod dead_letter;
pub mod destination;
pub mod encoding;
pub mod error;
mod group_commit;
pub mod kafka;
pub mod local_sink;
pub mod outbox;
pub mod routes;
pub mod service;
mod shared_outbox;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use destination::{Destination, MessageKey, Target};
pub use error::RouterError;
pub use kafka::connection::KafkaConnection;
pub use kafka::probe::{probe_brokers, BrokerReport};
pub use local_sink::EventHandler;
pub use service::{Router, RouterSettings, Submission, Submitted};
