//! Everything that speaks the Kafka protocol.

pub mod connection;
pub mod probe;
pub mod sink;
