//! Delivery to one Kafka topic.
//!
//! A `ThreadedProducer` (idempotent, `acks=all`) sends the destination's entries in
//! outbox order, keyed by camera; delivery reports come back through the producer
//! context and only a confirmed delivery marks an entry done. A failed delivery is
//! sent again from the first failed entry on (at-least-once: a consumer may see an
//! event twice, never zero times), after a backoff. Refusals that retrying cannot
//! fix (too large, not authorised, a topic that stays unknown) are dead-lettered. A
//! producer in a fatal state, or whose deliveries keep failing (idempotence broken by
//! a broker that lost its state leaves it stuck), is replaced, and everything
//! unconfirmed is sent again.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use crate::outbox::{Done, Entry};
use crate::shared_outbox::SharedOutbox;
use crate::{telemetry as metrics, KafkaConnection, RouterError};

#[derive(Debug, Clone)]
pub struct KafkaTuning {
    /// librdkafka's own retry window for one send before it reports a failure.
    pub message_timeout: Duration,
    /// Entries sent and not yet confirmed, at most.
    pub window: usize,
    pub compression: String,
    pub linger_ms: u32,
    /// An entry whose topic stays unknown this many deliveries in a row is dead-lettered.
    pub unknown_topic_attempts: u32,
    pub max_backoff: Duration,
    /// After this many rounds of failed deliveries in a row (each one
    /// `message_timeout` long when the broker is away), a new producer is made.
    pub rounds_before_new_producer: u32,
}

impl Default for KafkaTuning {
    fn default() -> Self {
        Self {
            message_timeout: Duration::from_secs(30),
            window: 10_000,
            compression: "lz4".into(),
            linger_ms: 5,
            unknown_topic_attempts: 20,
            max_backoff: Duration::from_secs(30),
            rounds_before_new_producer: 3,
        }
    }
}

type Report = (u64, Result<(), KafkaError>);

struct Reports(Sender<Report>);

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<u64>;
    fn delivery(&self, result: &DeliveryResult<'_>, seq: Box<u64>) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.clone()),
        };
        let _ = self.0.send((*seq, outcome));
    }
}

pub struct KafkaSink {
    name: Arc<str>,
    topic: String,
    conn: KafkaConnection,
    tuning: KafkaTuning,
}

/// Refusals that sending again cannot fix.
fn permanent(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::InvalidTopic
    )
}

fn unknown_topic(code: RDKafkaErrorCode) -> bool {
    matches!(code, RDKafkaErrorCode::UnknownTopic | RDKafkaErrorCode::UnknownTopicOrPartition)
}

impl KafkaSink {
    pub fn new(name: Arc<str>, topic: String, conn: KafkaConnection, tuning: KafkaTuning) -> Result<Self, RouterError> {
        let sink = Self { name, topic, conn, tuning };
        // Settings are checked now, so a bad one stops startup rather than a thread.
        let (tx, _rx) = channel();
        drop(sink.producer(tx)?);
        Ok(sink)
    }

    fn producer(&self, tx: Sender<Report>) -> Result<ThreadedProducer<Reports>, RouterError> {
        let mut cfg = self.conn.client_config();
        cfg.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", &self.tuning.compression)
            .set("linger.ms", self.tuning.linger_ms.to_string())
            .set("message.timeout.ms", self.tuning.message_timeout.as_millis().to_string())
            .set("queue.buffering.max.messages", (self.tuning.window * 2).max(1000).to_string());
        cfg.create_with_context(Reports(tx))
            .map_err(|source| RouterError::Kafka { what: format!("producer for `{}`", self.topic), source })
    }

    pub(crate) fn run(self, shared: &SharedOutbox) {
        let (tx, mut rx) = channel();
        let mut producer = match self.producer(tx) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(destination = %self.name, "cannot create the Kafka producer: {e}");
                return;
            }
        };
        let mut state = DeliveryState::default();
        let mut stop_deadline: Option<Instant> = None;
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
                if state.in_flight.is_empty() || Instant::now() > deadline {
                    let _ = producer.flush(Duration::from_millis(500));
                    self.collect(&rx, shared, &mut state, Duration::ZERO);
                    return;
                }
            } else {
                self.send_more(&producer, shared, &mut state);
            }
            let seen = shared.appends();
            let got = self.collect(&rx, shared, &mut state, Duration::from_millis(50));
            if !got && state.in_flight.is_empty() && state.retry_at.is_none() && !shared.stop.load(Ordering::SeqCst) {
                shared.wait_for_append(seen, Duration::from_millis(200));
            }
            let fatal = producer.client().fatal_error();
            let stuck = state.failed_rounds >= self.tuning.rounds_before_new_producer;
            if fatal.is_some() || stuck {
                match fatal {
                    Some((code, reason)) => {
                        tracing::error!(destination = %self.name, "Kafka producer failed for good ({code:?}: {reason}); starting a new one and sending every unconfirmed event again")
                    }
                    None => {
                        tracing::warn!(destination = %self.name, rounds = state.failed_rounds, "deliveries keep failing; starting a new Kafka producer (a broker that lost its state can leave an idempotent producer stuck)")
                    }
                }
                state.failed_rounds = 0;
                let (ntx, nrx) = channel();
                match self.producer(ntx) {
                    Ok(p) => {
                        producer = p;
                        rx = nrx;
                    }
                    Err(e) => tracing::error!(destination = %self.name, "{e}"),
                }
                state.in_flight.clear();
                state.entries.clear();
                state.sent_up_to = None;
            }
        }
    }

    /// Sends entries after the last one sent, up to the window.
    fn send_more(&self, producer: &ThreadedProducer<Reports>, shared: &SharedOutbox, state: &mut DeliveryState) {
        if state.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        state.retry_at = None;
        let room = self.tuning.window.saturating_sub(state.in_flight.len());
        if room == 0 {
            return;
        }
        let batch = shared.outbox().pending_after(&self.name, state.sent_up_to, room);
        for entry in batch {
            if state.in_flight.contains(&entry.seq) {
                state.sent_up_to = Some(entry.seq);
                continue;
            }
            let mut headers = OwnedHeaders::new_with_capacity(entry.new.headers.len());
            for (k, v) in &entry.new.headers {
                headers = headers.insert(Header { key: k, value: Some(v) });
            }
            let record = BaseRecord::with_opaque_to(&self.topic, Box::new(entry.seq))
                .key(&entry.new.key)
                .payload(&entry.new.body)
                .headers(headers);
            match producer.send(record) {
                Ok(()) => {
                    state.in_flight.insert(entry.seq);
                    state.entries.insert(entry.seq, Arc::clone(&entry));
                    state.sent_up_to = Some(entry.seq);
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => break,
                Err((KafkaError::MessageProduction(code), _)) if permanent(code) => {
                    shared.dead_letter(&entry, &format!("refused by the producer: {code}"));
                    state.sent_up_to = Some(entry.seq);
                }
                Err((e, _)) => {
                    tracing::warn!(destination = %self.name, "cannot send: {e}; trying again");
                    state.back_off(self.tuning.max_backoff);
                    break;
                }
            }
        }
    }

    /// Takes delivery reports for up to `wait`; returns whether any came.
    fn collect(&self, rx: &Receiver<Report>, shared: &SharedOutbox, state: &mut DeliveryState, wait: Duration) -> bool {
        let mut reports = Vec::new();
        match rx.recv_timeout(wait) {
            Ok(r) => reports.push(r),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        reports.extend(rx.try_iter());
        if reports.is_empty() {
            return false;
        }
        let mut delivered = Vec::new();
        let mut first_failed: Option<u64> = None;
        let mut failures = 0;
        for (seq, outcome) in reports {
            state.in_flight.remove(&seq);
            let Some(entry) = state.entries.remove(&seq) else { continue };
            match outcome {
                Ok(()) => {
                    state.attempts.remove(&seq);
                    delivered.push(seq);
                }
                Err(e) => {
                    let code = e.rdkafka_error_code();
                    let attempts = {
                        let a = state.attempts.entry(seq).or_insert(0);
                        *a += 1;
                        *a
                    };
                    let give_up = code.is_some_and(permanent)
                        || (code.is_some_and(unknown_topic) && attempts >= self.tuning.unknown_topic_attempts);
                    if give_up {
                        state.attempts.remove(&seq);
                        shared.dead_letter(&entry, &format!("topic `{}`: {e}", self.topic));
                    } else {
                        failures += 1;
                        first_failed = Some(first_failed.map_or(seq, |f| f.min(seq)));
                        if attempts == 1 || attempts % 10 == 0 {
                            tracing::warn!(destination = %self.name, topic = %self.topic, seq, attempts, "delivery failed, will retry: {e}");
                        }
                    }
                }
            }
        }
        if !delivered.is_empty() {
            metrics::delivered(&self.name, delivered.len());
            state.backoff = None;
            state.failed_rounds = 0;
            if let Err(e) = shared.finish(&self.name, &delivered, Done::Delivered) {
                tracing::error!("{e}");
            }
        }
        if let Some(f) = first_failed {
            metrics::retried(&self.name, failures);
            state.failed_rounds += 1;
            // Everything from the first failure on goes again (what is still in flight
            // is skipped when it comes up).
            state.sent_up_to = state.sent_up_to.map(|s| s.min(f.saturating_sub(1)));
            state.back_off(self.tuning.max_backoff);
        }
        true
    }
}

#[derive(Default)]
struct DeliveryState {
    in_flight: BTreeSet<u64>,
    entries: HashMap<u64, Arc<Entry>>,
    /// The highest sequence number handed to the producer (None: start from the oldest).
    sent_up_to: Option<u64>,
    attempts: HashMap<u64, u32>,
    backoff: Option<Duration>,
    retry_at: Option<Instant>,
    /// Report batches with failures and no delivery, in a row.
    failed_rounds: u32,
}

impl DeliveryState {
    fn back_off(&mut self, max: Duration) {
        let next = self.backoff.map_or(Duration::from_millis(500), |b| (b * 2).min(max));
        self.backoff = Some(next);
        self.retry_at = Some(Instant::now() + next);
    }
}
