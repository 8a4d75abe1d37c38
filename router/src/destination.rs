//! Where events can go.

use std::path::PathBuf;
use std::sync::Arc;

use crate::encoding::Encoding;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Kafka topic (the cluster is the router's one `KafkaConnection`).
    Kafka { topic: String },
    /// An append-only file of JSON lines, synced per batch: the embedded default,
    /// and what the operator console reads until it has its own store.
    JsonLines { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Destination {
    pub name: Arc<str>,
    pub target: Target,
    pub encoding: Encoding,
}
