//! Reading a topic as it grows, from its end: for tools that watch what the router
//! delivered (`streetwatch-bench bench` times events from their frame to when Kafka lets
//! consumers read them, which with `acks=all` is after the broker acknowledged them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::{KafkaConnection, RouterError};

/// A message read: its key, its body and when it was read (Unix ms, this machine's
/// clock).
pub struct Read {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub read_at_ms: i64,
}

pub struct TopicTail {
    stop: Arc<AtomicBool>,
    read: Arc<Mutex<Vec<Read>>>,
    thread: Option<JoinHandle<()>>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl TopicTail {
    /// Starts reading every partition of `topic` from its current end.
    pub fn start(conn: &KafkaConnection, topic: &str, timeout: Duration) -> Result<Self, RouterError> {
        Self::start_at(conn, topic, timeout, Offset::End)
    }

    /// Starts reading every partition of `topic` from its first record (the soak
    /// reads a restarted, empty broker's topic whole).
    pub fn start_from_beginning(conn: &KafkaConnection, topic: &str, timeout: Duration) -> Result<Self, RouterError> {
        Self::start_at(conn, topic, timeout, Offset::Beginning)
    }

    fn start_at(conn: &KafkaConnection, topic: &str, timeout: Duration, from: Offset) -> Result<Self, RouterError> {
        let fail = |source| RouterError::Kafka { what: format!("tail of `{topic}`"), source };
        let consumer: BaseConsumer = conn
            .client_config()
            .set("group.id", "streetwatch-tail")
            .set("enable.auto.commit", "false")
            // Fetch as soon as anything is there: the read time is the measurement.
            .set("fetch.wait.max.ms", "5")
            .set("fetch.min.bytes", "1")
            .create()
            .map_err(fail)?;
        let metadata = consumer.fetch_metadata(Some(topic), timeout).map_err(fail)?;
        let partitions = metadata.topics().first().map_or(0, |t| t.partitions().len());
        if partitions == 0 {
            return Err(RouterError::Topic { topic: topic.to_string(), what: "has no partitions".into() });
        }
        let mut list = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            list.add_partition_offset(topic, p, from).map_err(fail)?;
        }
        consumer.assign(&list).map_err(fail)?;
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (Arc::clone(&stop), Arc::clone(&read));
        let thread = std::thread::Builder::new()
            .name("topic-tail".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
                        let entry = Read {
                            key: m.key().unwrap_or_default().to_vec(),
                            payload: m.payload().unwrap_or_default().to_vec(),
                            read_at_ms: now_ms(),
                        };
                        r.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
                    }
                }
            })
            .map_err(|source| RouterError::Thread { name: "topic-tail".into(), source })?;
        Ok(Self { stop, read, thread: Some(thread) })
    }

    /// What was read since the last call.
    pub fn take(&self) -> Vec<Read> {
        std::mem::take(&mut *self.read.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for TopicTail {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
