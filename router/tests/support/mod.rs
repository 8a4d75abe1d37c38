//! A real Kafka-protocol broker (tansu, from deploy/setup.sh) for the router's tests,
//! and an independent consumer that reads what reached a topic.
#![allow(dead_code)]

use std::collections::HashMap;

use std::sync::Arc;
use std::time::{Duration, Instant};

use proto::v1::{CameraRef, Incident, IncidentKind, Phase, Severity};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use router::destination::{Destination, Target};
use router::encoding::Encoding;
use router::kafka::local_broker::LocalBroker;
use router::kafka::sink::KafkaTuning;
use router::outbox::OutboxSettings;
use router::routes::Route;
use router::{KafkaConnection, RouterSettings};

pub fn tansu() -> String {
    let path = std::env::var("STREETWATCH_TANSU")
        .unwrap_or_else(|_| format!("{}/.cache/streetwatch/bin/tansu", std::env::var("HOME").unwrap_or_default()));
    assert!(std::path::Path::new(&path).is_file(), "tansu broker not found at {path}: run deploy/setup.sh");
    path
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for<T>(what: &str, deadline: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Router logs on the test's output (shown for failing tests).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
}

/// A broker with in-memory storage: a restart starts empty.
pub struct Broker(LocalBroker);

impl std::ops::Deref for Broker {
    type Target = LocalBroker;
    fn deref(&self) -> &LocalBroker {
        &self.0
    }
}

impl Broker {
    pub fn start(port: u16) -> Self {
        Self(LocalBroker::start(std::path::Path::new(&tansu()), port).expect("start tansu"))
    }

    pub fn kill(&mut self) {
        self.0.kill();
    }

    /// Freezes the broker (SIGSTOP): connections stay open and nothing answers, as
    /// with a hung broker or a network that drops everything; its log is kept.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.0.pid().expect("the broker runs").to_string();
        let status = std::process::Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Creates topics, as an operator would. "Already exists" is fine: right after a
    /// restart a producer's metadata request, or the admin client's own retry of a
    /// slow first attempt, may have created it first.
    pub fn create_topics(&self, topics: &[&str]) {
        let conn = KafkaConnection::new(self.bootstrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(router::kafka::admin::create_topics(&conn, topics, 1, Duration::from_secs(10)))
            .expect("topics created");
    }
}

/// One message as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A plain rdkafka consumer reading every partition of `topic` from the start: not the
/// router's code, so what it reads is what reached the broker.
pub struct Reader {
    consumer: BaseConsumer,
    pub seen: Vec<Received>,
    pub partitions: usize,
}

impl Reader {
    pub fn new(bootstrap: &str, topic: &str) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "test-reader")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        // Every partition: a topic that a producer's metadata request auto-created
        // (right after a broker restart) has the broker's default partition count,
        // not the single partition the tests create.
        let partitions = wait_for("the topic's metadata", Duration::from_secs(30), || {
            let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).ok()?;
            let t = md.topics().iter().find(|t| t.name() == topic)?;
            (t.error().is_none() && !t.partitions().is_empty())
                .then(|| t.partitions().iter().map(|p| p.id()).collect::<Vec<i32>>())
        });
        let mut tpl = TopicPartitionList::new();
        let count = partitions.len();
        for p in partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
        }
        consumer.assign(&tpl).unwrap();
        Self { consumer, seen: Vec::new(), partitions: count }
    }

    /// Reads until `n` messages in all were seen, or the deadline.
    pub fn read_until(&mut self, n: usize, deadline: Duration) -> &[Received] {
        let start = Instant::now();
        while self.seen.len() < n && start.elapsed() < deadline {
            if let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(100)) {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|x| {
                                (x.key.to_string(), String::from_utf8_lossy(x.value.unwrap_or_default()).to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.seen.push(Received {
                    key: String::from_utf8_lossy(m.key().unwrap_or_default()).to_string(),
                    headers,
                    body: m.payload().unwrap_or_default().to_vec(),
                });
            }
        }
        &self.seen
    }
}

pub fn incident(camera: &str, n: u64) -> Incident {
    Incident {
        id: format!("incident-{camera}-{n}"),
        kind: IncidentKind::SidewalkParking as i32,
        phase: Phase::Started as i32,
        revision: 1,
        camera: Some(CameraRef { camera_id: camera.into(), ..Default::default() }),
        started_at_ms: 1_795_564_800_000 + n as i64,
        updated_at_ms: 1_795_564_800_000 + n as i64,
        severity: Severity::Low as i32,
        summary: format!("car parked ({n})"),
        ..Default::default()
    }
}

pub fn kafka_destination(name: &str, topic: &str, encoding: Encoding) -> Destination {
    Destination {
        name: Arc::from(name),
        target: Target::Kafka { topic: topic.into(), key: router::MessageKey::Camera },
        encoding,
    }
}

pub fn settings(dir: &std::path::Path, bootstrap: &str, destinations: Vec<Destination>) -> RouterSettings {
    let names = destinations.iter().map(|d| Arc::clone(&d.name)).collect();
    RouterSettings {
        outbox_dir: dir.to_path_buf(),
        outbox: OutboxSettings::default(),
        destinations,
        routes: vec![Route { name: "all".into(), destinations: names, ..Default::default() }],
        kafka: Some(KafkaConnection::new(bootstrap)),
        // Short timeouts so an outage turns into retries within the test's time.
        kafka_tuning: KafkaTuning {
            message_timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(2),
            ..KafkaTuning::default()
        },
        source: "/streetwatch/test".into(),
    }
}
