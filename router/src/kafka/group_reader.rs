//! Reading topics as a consumer group member, for a consumer that stores what it reads
//! (the shared operator console). The reader's position lives in the consumer's own
//! store, written in the same transaction as the records: on each assignment the
//! reader asks [`RecordHandler::position`] where to start, so
//! - a record is never skipped: the store moves on only with what it committed, and
//!   after a crash reading starts again after the last committed record;
//! - a consumer started on an empty store reads every topic from its beginning and
//!   rebuilds its state, whatever offsets the group committed before.
//!
//! Offsets are committed to Kafka too, after the handler stored the batch, only so
//! that the group's lag shows in the usual Kafka tools; they are never read back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::member_thread::MemberThread;
use crate::error::{BoxError, ErrorChain};
use crate::{KafkaConnection, RouterError};

/// One record as read.
#[derive(Debug, Clone)]
pub struct TopicRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    /// None for a tombstone.
    pub payload: Option<Vec<u8>>,
}

/// What a [`GroupReader`] hands its records to.
pub trait RecordHandler: Send + Sync {
    /// The next offset to read of a partition, as the handler's store has it (the
    /// offset after the last record it stored); None: from the beginning.
    fn position(&self, topic: &str, partition: i32) -> Result<Option<i64>, BoxError>;
    /// Stores a batch (each partition's records in order) with the positions after
    /// them. Ok only once durable; an error makes the reader offer the same records
    /// again after a pause.
    fn handle(&self, batch: &[TopicRecord]) -> Result<(), BoxError>;
}

#[derive(Debug, Clone)]
pub struct GroupReaderSettings {
    pub topics: Vec<String>,
    pub group_id: String,
    pub session_timeout: Duration,
    /// At most this many records per batch.
    pub batch_max: usize,
    /// A batch is handed over when this long passed since its first record.
    pub batch_wait: Duration,
}

struct ReaderContext {
    handler: Arc<dyn RecordHandler>,
}

impl ClientContext for ReaderContext {}

impl ConsumerContext for ReaderContext {
    // The assignment takes its start offsets from the handler's store: replaces
    // rdkafka's default rebalance, which would start from committed offsets.
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(consumer.rebalance_protocol(), rdkafka::consumer::RebalanceProtocol::Cooperative);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let wanted: Vec<(String, i32)> =
                    tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
                for (topic, partition) in &wanted {
                    let offset = match self.handler.position(topic, *partition) {
                        Ok(Some(o)) => Offset::Offset(o),
                        Ok(None) => Offset::Beginning,
                        Err(e) => {
                            // Without a position nothing can be read safely: from the
                            // beginning (the handler is idempotent) rather than skip.
                            tracing::error!(
                                topic,
                                partition,
                                "reader: cannot read the stored position ({}); reading from the beginning",
                                ErrorChain(e.as_ref())
                            );
                            Offset::Beginning
                        }
                    };
                    if let Err(e) = tpl.set_partition_offset(topic, *partition, offset) {
                        tracing::error!(topic, partition, "reader: {e}");
                    }
                }
                tracing::info!(partitions = wanted.len(), "reader: partitions assigned");
                if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "reader: partitions revoked");
                if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                }
            }
            other => {
                tracing::error!("reader: rebalance error: {other:?}");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!("reader: applying the assignment failed: {e}");
        }
    }
}

/// A member of a consumer group on some topics, reading on its own thread.
pub struct GroupReader {
    thread: MemberThread,
}

impl GroupReader {
    pub fn start(
        conn: &KafkaConnection,
        settings: &GroupReaderSettings,
        handler: Arc<dyn RecordHandler>,
    ) -> Result<Self, RouterError> {
        let fail = |source| RouterError::Kafka { what: format!("reader of group `{}`", settings.group_id), source };
        let session_ms = settings.session_timeout.as_millis().max(1000);
        let consumer: BaseConsumer<ReaderContext> = conn
            .client_config()
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", session_ms.to_string())
            .set("heartbeat.interval.ms", (session_ms / 3).max(100).to_string())
            .set("fetch.wait.max.ms", "50")
            .set_log_level(RDKafkaLogLevel::Warning)
            .create_with_context(ReaderContext { handler: Arc::clone(&handler) })
            .map_err(fail)?;
        let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics).map_err(fail)?;
        let (batch_max, batch_wait) = (settings.batch_max.max(1), settings.batch_wait);
        let thread = MemberThread::spawn("topic-reader", move |stop| {
            read(&consumer, handler.as_ref(), stop, batch_max, batch_wait)
        })?;
        Ok(Self { thread })
    }

    /// Leaves the group; returns when the reading thread has ended.
    pub fn stop(mut self) {
        self.thread.stop();
    }
}

fn read(
    consumer: &BaseConsumer<ReaderContext>,
    handler: &dyn RecordHandler,
    stop: &AtomicBool,
    batch_max: usize,
    batch_wait: Duration,
) {
    let mut batch: Vec<TopicRecord> = Vec::new();
    let mut first_at = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(m)) => {
                if batch.is_empty() {
                    first_at = Instant::now();
                }
                batch.push(TopicRecord {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                });
            }
            Some(Err(e)) => tracing::warn!("reader: {e}"),
            None => {}
        }
        let due = !batch.is_empty() && (batch.len() >= batch_max || first_at.elapsed() >= batch_wait);
        if !due {
            continue;
        }
        match handler.handle(&batch) {
            Ok(()) => commit_for_lag(consumer, &batch),
            Err(e) => {
                tracing::error!(
                    records = batch.len(),
                    "reader: storing failed ({}); reading them again shortly",
                    ErrorChain(e.as_ref())
                );
                rewind(consumer, &batch);
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        batch.clear();
    }
    consumer.unsubscribe();
}

/// The first offset of each partition in the batch.
fn firsts(batch: &[TopicRecord]) -> Vec<(&str, i32, i64)> {
    let mut out: Vec<(&str, i32, i64)> = Vec::new();
    for r in batch {
        if !out.iter().any(|(t, p, _)| *t == r.topic && *p == r.partition) {
            out.push((&r.topic, r.partition, r.offset));
        }
    }
    out
}

/// Seeks each partition of a batch that was not stored back to its first record.
fn rewind(consumer: &BaseConsumer<ReaderContext>, batch: &[TopicRecord]) {
    for (topic, partition, offset) in firsts(batch) {
        if let Err(e) = consumer.seek(topic, partition, Offset::Offset(offset), Duration::from_secs(5)) {
            tracing::error!(topic, partition, "reader: cannot seek back to {offset}: {e}");
        }
    }
}

fn commit_for_lag(consumer: &BaseConsumer<ReaderContext>, batch: &[TopicRecord]) {
    // Records of a partition are in order: the last one of each is where it stands.
    let mut next = std::collections::BTreeMap::new();
    for r in batch {
        next.insert((r.topic.as_str(), r.partition), r.offset + 1);
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        let _ = list.add_partition_offset(topic, partition, Offset::Offset(offset));
    }
    if let Err(e) = consumer.commit(&list, CommitMode::Async) {
        tracing::debug!("reader: committing offsets for the lag metrics: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(topic: &str, partition: i32, offset: i64) -> TopicRecord {
        TopicRecord { topic: topic.into(), partition, offset, key: None, payload: None }
    }

    #[test]
    fn a_batch_rewinds_each_partition_to_its_first_record() {
        let batch = [rec("a", 0, 5), rec("a", 1, 9), rec("a", 0, 6), rec("b", 0, 2), rec("a", 1, 10)];
        assert_eq!(firsts(&batch), vec![("a", 0, 5), ("a", 1, 9), ("b", 0, 2)]);
    }
}
