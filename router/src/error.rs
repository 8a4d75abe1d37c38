use thiserror::Error;

#[derive(Debug, Error)]
pub enum RouterError {
    #[error("Kafka brokers {brokers}: not reachable within {timeout_ms} ms")]
    BrokerUnreachable {
        brokers: String,
        timeout_ms: u64,
        #[source]
        source: rdkafka::error::KafkaError,
    },

    #[error("Kafka brokers {brokers}: the cluster reported no brokers")]
    NoBrokers { brokers: String },

    #[error("Kafka topic `{topic}` does not exist on {brokers} (create it first; streetwatch never creates topics)")]
    TopicMissing { topic: String, brokers: String },

    /// A setting that cannot work, found before any client is made.
    #[error("Kafka client settings: {reason}")]
    ClientConfig { reason: String },

    /// A Kafka client call failed: what was being done, librdkafka's error as the source.
    #[error("Kafka: {what}")]
    Kafka {
        what: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },

    #[error("Kafka: cannot create topic `{topic}`")]
    TopicCreate {
        topic: String,
        #[source]
        source: rdkafka::types::RDKafkaErrorCode,
    },

    #[error("Kafka: `{topic}` {what}")]
    Topic { topic: String, what: String },

    #[error("cannot start the {name} thread")]
    Thread {
        name: String,
        #[source]
        source: std::io::Error,
    },

    /// A file of the outbox, the dead letters or the local log: what was being done,
    /// with the operating system's error as the source.
    #[error("outbox {}: {what}", path.display())]
    Outbox {
        path: std::path::PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A submitted batch was not stored: its group's write failed (the source), so
    /// none of it is in the outbox.
    #[error("outbox {}: the events were not stored", path.display())]
    Refused {
        path: std::path::PathBuf,
        #[source]
        source: std::sync::Arc<RouterError>,
    },
}

/// Any error handed back by code outside the router (the binary's handlers).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and its causes, outermost first, on one line ("a: b: c"), for log lines
/// where the error is not handed on.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}
