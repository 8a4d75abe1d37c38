//! Everything that speaks the Kafka protocol.

pub mod admin;
pub mod connection;
pub mod probe;
pub mod sink;
