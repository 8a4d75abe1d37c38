//! Everything that speaks the Kafka protocol.

pub mod admin;
pub mod assignments;
pub mod connection;
pub mod group_reader;
#[cfg(feature = "testing")]
pub mod local_broker;
mod member_thread;
pub mod probe;
pub mod sink;
pub mod state_publisher;
pub mod tail;
