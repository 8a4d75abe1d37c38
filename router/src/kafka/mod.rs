//! Everything that speaks the Kafka protocol.

pub mod admin;
pub mod assignments;
pub mod connection;
pub mod local_broker;
pub mod probe;
pub mod sink;
pub mod tail;
