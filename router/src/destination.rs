//! Where events can go.

use std::path::PathBuf;
use std::sync::Arc;

use crate::encoding::Encoding;
use crate::local_sink::EventHandler;

#[derive(Clone)]
pub enum Target {
    /// A Kafka topic (the cluster is the router's one `KafkaConnection`).
    Kafka { topic: String },
    /// An append-only file of JSON lines, synced per batch: the embedded default.
    JsonLines { path: PathBuf },
    /// A handler in this process (the operator console), given the encoded bodies.
    InProcess { handler: Arc<dyn EventHandler> },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Kafka { topic } => write!(f, "Kafka({topic})"),
            Target::JsonLines { path } => write!(f, "JsonLines({})", path.display()),
            Target::InProcess { .. } => write!(f, "InProcess"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Destination {
    pub name: Arc<str>,
    pub target: Target,
    pub encoding: Encoding,
}
