//! Where events can go.

use std::path::PathBuf;
use std::sync::Arc;

use crate::encoding::Encoding;
use crate::local_sink::EventHandler;

/// What a Kafka message is keyed by, and so what stays in order within a partition.
/// The config names these `camera` and `incident` (a destination's `key`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKey {
    /// The camera id: one camera's events in order (incident topics).
    #[default]
    Camera,
    /// The incident id: every event of one incident in order (the reviews topic, where
    /// an incident's decisions must not overtake each other).
    Incident,
}

impl MessageKey {
    pub fn of(self, incident: &proto::v1::Incident) -> String {
        match self {
            MessageKey::Camera => incident.camera.as_ref().map(|c| c.camera_id.clone()).unwrap_or_default(),
            MessageKey::Incident => incident.id.clone(),
        }
    }
}

#[derive(Clone)]
pub enum Target {
    /// A Kafka topic (the cluster is the router's one `KafkaConnection`).
    Kafka { topic: String, key: MessageKey },
    /// An append-only file of JSON lines, synced per batch: the embedded default.
    JsonLines { path: PathBuf },
    /// A handler in this process (the operator console), given the encoded bodies.
    InProcess { handler: Arc<dyn EventHandler> },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Kafka { topic, key } => write!(f, "Kafka({topic}, key {key:?})"),
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
