use thiserror::Error;

#[derive(Debug, Error)]
pub enum RouterError {
    #[error("Kafka brokers {brokers}: not reachable within {timeout_ms} ms: {reason}")]
    BrokerUnreachable { brokers: String, timeout_ms: u128, reason: String },

    #[error("Kafka topic `{topic}` does not exist on {brokers} (create it first; streetwatch never creates topics)")]
    TopicMissing { topic: String, brokers: String },

    #[error("Kafka client settings: {reason}")]
    ClientConfig { reason: String },

    #[error("outbox {}: {reason}", path.display())]
    Outbox { path: std::path::PathBuf, reason: String },
}
