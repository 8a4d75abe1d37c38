//! Incident delivery for streetwatch.
//!
//! This crate is the only one that talks to Kafka (through `rdkafka`). Today it holds
//! the broker probe that `streetwatch validate --check-broker` runs; the durable
//! outbox and the routes follow.

pub mod error;
pub mod kafka;
pub mod outbox;

pub use error::RouterError;
pub use kafka::connection::KafkaConnection;
pub use kafka::probe::{probe_brokers, BrokerReport};
