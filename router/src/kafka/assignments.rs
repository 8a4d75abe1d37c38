//! Camera assignments over Kafka, for running many workers. A compacted topic holds
//! one record per camera: key = camera id, value = the camera's config (opaque
//! bytes here), an empty value (tombstone) = removed. Workers join one consumer group
//! on that topic; Kafka's group protocol gives each worker a share of the partitions,
//! and so of the cameras, and moves them when a worker joins, leaves or dies.
//!
//! Either protocol keeps two live workers off one camera the same way: partitions
//! taken from a worker are revoked, and the listener is told (and must stop those
//! cameras) before the consumer rejoins the group; only in a later round are they
//! handed to another worker. With the cooperative protocol (`cooperative-sticky`,
//! the default) a rebalance revokes only the partitions that move, in a first round,
//! and assigns them in a second: the others stay where they are and keep running.
//! With the eager protocol (`range`) every worker gives up every partition at every
//! rebalance. Offsets are never committed: an assigned partition is always read from
//! its beginning, which for a compacted topic is each camera's latest config.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::member_thread::MemberThread;
use crate::{KafkaConnection, RouterError};

fn err(what: &str) -> impl Fn(rdkafka::error::KafkaError) -> RouterError + '_ {
    move |source| RouterError::Kafka { what: what.to_string(), source }
}

/// Every camera in the topic: the latest value per key (tombstones drop the key).
pub fn read_all(
    conn: &KafkaConnection,
    topic: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, Vec<u8>>, RouterError> {
    let consumer: BaseConsumer = conn
        .client_config()
        .set("group.id", "streetwatch-assign-reader")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(err("assignment reader"))?;
    let metadata = consumer.fetch_metadata(Some(topic), timeout).map_err(err("assignment topic metadata"))?;
    let partitions = metadata.topics().first().map_or(0, |t| t.partitions().len()) as i32;
    if partitions == 0 {
        return Err(RouterError::TopicMissing { topic: topic.to_string(), brokers: conn.bootstrap_servers.clone() });
    }
    let mut ends = HashMap::new();
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, timeout).map_err(err("assignment topic offsets"))?;
        if high > low {
            ends.insert(p, high);
            list.add_partition_offset(topic, p, Offset::Beginning).map_err(err("assignment reader"))?;
        }
    }
    let mut cameras = BTreeMap::new();
    if ends.is_empty() {
        return Ok(cameras);
    }
    consumer.assign(&list).map_err(err("assignment reader"))?;
    let deadline = Instant::now() + timeout;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(RouterError::Topic {
                topic: topic.to_string(),
                what: format!("could not be read to its end within {timeout:?}"),
            });
        }
        let Some(m) = consumer.poll(Duration::from_millis(100)) else { continue };
        let m = m.map_err(err("reading the assignment topic"))?;
        apply(&mut cameras, m.key(), m.payload());
        if ends.get(&m.partition()).is_some_and(|&end| m.offset() + 1 >= end) {
            ends.remove(&m.partition());
        }
    }
    Ok(cameras)
}

fn apply(cameras: &mut BTreeMap<String, Vec<u8>>, key: Option<&[u8]>, value: Option<&[u8]>) {
    let Some(key) = key.map(|k| String::from_utf8_lossy(k).to_string()) else { return };
    match value.filter(|v| !v.is_empty()) {
        Some(v) => {
            cameras.insert(key, v.to_vec());
        }
        None => {
            cameras.remove(&key);
        }
    }
}

/// Writes records (None: a tombstone, the camera is removed), keyed by camera id, and
/// waits until the broker acknowledged them all.
pub fn publish(
    conn: &KafkaConnection,
    topic: &str,
    records: &[(String, Option<Vec<u8>>)],
    timeout: Duration,
) -> Result<(), RouterError> {
    let producer: ThreadedProducer<DefaultProducerContext> = conn
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", timeout.as_millis().to_string())
        .create()
        .map_err(err("assignment publisher"))?;
    for (key, value) in records {
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).key(key.as_str());
        if let Some(v) = value {
            record = record.payload(v.as_slice());
        }
        producer.send(record).map_err(|(e, _)| err("publishing an assignment")(e))?;
    }
    producer.flush(timeout).map_err(err("publishing assignments"))?;
    Ok(())
}

/// Told which cameras this worker owns, whenever that changes.
pub trait AssignmentListener: Send + Sync {
    /// `cameras`: camera id → its config. Called on the consumer's thread. When
    /// partitions are taken away this is called before the group hands them to
    /// another worker: stop those cameras before returning.
    fn owned(&self, cameras: &BTreeMap<String, Vec<u8>>);
}

#[derive(Default)]
struct GroupState {
    /// Per assigned partition: its cameras, and whether it has been read to the end
    /// it had when it was assigned.
    partitions: HashMap<i32, (BTreeMap<String, Vec<u8>>, bool)>,
    /// Ends to read up to (partition → offset).
    ends: HashMap<i32, i64>,
    reported: Option<BTreeMap<String, Vec<u8>>>,
}

impl GroupState {
    fn owned(&self) -> BTreeMap<String, Vec<u8>> {
        self.partitions.values().flat_map(|(c, _)| c.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()
    }

    fn loaded(&self) -> bool {
        self.partitions.values().all(|(_, done)| *done)
    }
}

struct GroupContext {
    state: Arc<Mutex<GroupState>>,
    listener: Arc<dyn AssignmentListener>,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            for e in list.elements() {
                state.partitions.remove(&e.partition());
                state.ends.remove(&e.partition());
            }
            let owned = state.owned();
            tracing::info!(partitions = list.count(), "assignment: partitions revoked; stopping their cameras");
            // Before the consumer rejoins the group: nobody else gets them yet.
            self.listener.owned(&owned);
            state.reported = Some(owned);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            for e in list.elements() {
                let p = e.partition();
                let end = consumer.fetch_watermarks(e.topic(), p, Duration::from_secs(10)).map(|(_, h)| h).unwrap_or(0);
                state.partitions.insert(p, (BTreeMap::new(), end <= 0));
                if end > 0 {
                    state.ends.insert(p, end);
                }
            }
            tracing::info!(partitions = list.count(), "assignment: partitions assigned; reading their cameras");
        }
    }
}

/// A worker's membership in the assignment group (a thread polling the consumer).
pub struct AssignmentFollower {
    thread: MemberThread,
}

pub struct FollowerSettings {
    pub topic: String,
    pub group_id: String,
    /// How long the group waits for a silent worker before moving its cameras.
    pub session_timeout: Duration,
    /// Incremental rebalancing (only the partitions that move are revoked) rather
    /// than eager.
    pub cooperative: bool,
}

impl AssignmentFollower {
    pub fn start(
        conn: &KafkaConnection,
        settings: &FollowerSettings,
        listener: Arc<dyn AssignmentListener>,
    ) -> Result<Self, RouterError> {
        let session_ms = settings.session_timeout.as_millis().max(1000);
        let state = Arc::new(Mutex::new(GroupState::default()));
        let context = GroupContext { state: Arc::clone(&state), listener: Arc::clone(&listener) };
        let consumer: BaseConsumer<GroupContext> = conn
            .client_config()
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", if settings.cooperative { "cooperative-sticky" } else { "range" })
            .set("session.timeout.ms", session_ms.to_string())
            // At most a second: a survivor learns of a rebalance at its next heartbeat.
            .set("heartbeat.interval.ms", (session_ms / 3).clamp(100, 1000).to_string())
            .set_log_level(RDKafkaLogLevel::Warning)
            .create_with_context(context)
            .map_err(err("assignment consumer"))?;
        consumer.subscribe(&[settings.topic.as_str()]).map_err(err("assignment consumer"))?;
        let thread =
            MemberThread::spawn("assignments", move |stop| follow(&consumer, &state, listener.as_ref(), stop))?;
        Ok(Self { thread })
    }

    /// Leaves the group (the cameras go to the other workers at once).
    pub fn stop(mut self) {
        self.thread.stop();
    }
}

fn follow(
    consumer: &BaseConsumer<GroupContext>,
    state: &Mutex<GroupState>,
    listener: &dyn AssignmentListener,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let polled = consumer.poll(Duration::from_millis(100));
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        match polled {
            Some(Ok(m)) => {
                let p = m.partition();
                let end = st.ends.get(&p).copied();
                if let Some((cameras, done)) = st.partitions.get_mut(&p) {
                    apply(cameras, m.key(), m.payload());
                    if end.is_some_and(|e| m.offset() + 1 >= e) {
                        *done = true;
                    }
                }
            }
            Some(Err(e)) => tracing::warn!("assignment consumer: {e}"),
            None => {}
        }
        // Report once every assigned partition is read to its end, then on each change.
        if st.loaded() {
            let owned = st.owned();
            if st.reported.as_ref() != Some(&owned) {
                st.reported = Some(owned.clone());
                drop(st);
                listener.owned(&owned);
            }
        }
    }
    // Leaving the group revokes everything through pre_rebalance.
    consumer.unsubscribe();
    let _ = consumer.poll(Duration::from_millis(100));
}
