//! Latest-state records to a compacted topic (camera status): key = the thing's id,
//! value = its state now. Unlike incidents these go straight to the producer, not
//! through the outbox: a state that failed to send is superseded by the next one
//! (a heartbeat repeats every state), so keeping old ones on disk would only delay
//! the current one. Failures are counted and logged, never retried from here.

use std::time::Duration;

use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::{telemetry as metrics, KafkaConnection, RouterError};

pub struct StatePublisher {
    topic: String,
    producer: ThreadedProducer<DefaultProducerContext>,
}

impl StatePublisher {
    /// `message_timeout`: how long one record may wait for the broker (at least 5 s;
    /// about a heartbeat is sensible: an older state is worth little once a newer exists).
    pub fn new(conn: &KafkaConnection, topic: &str, message_timeout: Duration) -> Result<Self, RouterError> {
        // Not idempotent: an idempotent producer may stop for good after timed-out
        // messages, and a lost state record costs nothing (the next heartbeat repeats
        // it). One request in flight keeps one key's records in order.
        let producer = conn
            .client_config()
            .set("acks", "all")
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1")
            .set("linger.ms", "20")
            .set("message.timeout.ms", message_timeout.as_millis().max(5000).to_string())
            .create()
            .map_err(|source| RouterError::Kafka { what: format!("state publisher for `{topic}`"), source })?;
        Ok(Self { topic: topic.to_string(), producer })
    }

    /// Queues one record; false when the producer refused it (queue full).
    pub fn send(&self, key: &str, value: &[u8]) -> bool {
        let record: BaseRecord<'_, str, [u8]> = BaseRecord::to(&self.topic).key(key).payload(value);
        match self.producer.send(record) {
            Ok(()) => {
                metrics::state_sent(&self.topic);
                true
            }
            Err((e, _)) => {
                metrics::state_refused(&self.topic);
                tracing::warn!(topic = %self.topic, key, "state record not queued: {e}");
                false
            }
        }
    }

    /// Waits up to `timeout` for what is queued to reach the broker.
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(timeout) {
            tracing::warn!(topic = %self.topic, "state records not all delivered at shutdown: {e}");
        }
    }
}
