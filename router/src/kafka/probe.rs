//! Startup check: are the brokers reachable, and do the topics we publish to exist?

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::{KafkaConnection, RouterError};

/// What the probe found.
#[derive(Debug, Clone)]
pub struct BrokerReport {
    pub brokers: usize,
    pub topics_checked: Vec<String>,
    pub elapsed: Duration,
}

/// Asks the cluster for its metadata within `timeout` and checks that every topic in
/// `topics` exists. Blocking: call from a blocking thread.
pub fn probe_brokers(
    conn: &KafkaConnection,
    topics: &[String],
    timeout: Duration,
) -> Result<BrokerReport, RouterError> {
    let started = Instant::now();
    let mut cfg = conn.client_config();
    // librdkafka keeps retrying in the background; make sure the probe does not linger.
    cfg.set("socket.timeout.ms", timeout.as_millis().max(10).to_string());
    let consumer: BaseConsumer =
        cfg.create().map_err(|source| RouterError::Kafka { what: "probe client".into(), source })?;
    let metadata = consumer.fetch_metadata(None, timeout).map_err(|source| RouterError::BrokerUnreachable {
        brokers: conn.bootstrap_servers.clone(),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        source,
    })?;
    if metadata.brokers().is_empty() {
        return Err(RouterError::NoBrokers { brokers: conn.bootstrap_servers.clone() });
    }
    for topic in topics {
        let found = metadata.topics().iter().any(|t| t.name() == topic && t.error().is_none());
        if !found {
            return Err(RouterError::TopicMissing { topic: topic.clone(), brokers: conn.bootstrap_servers.clone() });
        }
    }
    Ok(BrokerReport { brokers: metadata.brokers().len(), topics_checked: topics.to_vec(), elapsed: started.elapsed() })
}
