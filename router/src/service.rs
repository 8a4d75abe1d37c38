//! The router: events in (routed, encoded per destination, durably in the outbox
//! before `submit` returns), deliveries out (one thread per destination, each taking
//! its own entries from the outbox in order and marking them done only when the
//! destination confirmed them).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use proto::v1::{Incident, Phase};

use crate::dead_letter::DeadLetters;
use crate::destination::{Destination, MessageKey, Target};
use crate::encoding::{encode, Outgoing};
use crate::kafka::sink::{KafkaSink, KafkaTuning};
use crate::local_sink::JsonLinesSink;
use crate::outbox::{NewEntry, OpenReport, Outbox, OutboxSettings, Retention};
use crate::routes::{destinations_for, Route};
use crate::shared_outbox::{now_ms, report_depth, SharedOutbox};
use crate::{telemetry as metrics, KafkaConnection, RouterError};

pub struct RouterSettings {
    pub outbox_dir: PathBuf,
    pub outbox: OutboxSettings,
    pub destinations: Vec<Destination>,
    pub routes: Vec<Route>,
    pub kafka: Option<KafkaConnection>,
    pub kafka_tuning: KafkaTuning,
    /// CloudEvents `source` of every event (`/streetwatch/<instance>`).
    pub source: String,
}

/// One event to route.
pub struct Submission<'a> {
    pub incident: &'a Incident,
    pub camera_group: Option<&'a str>,
    /// The event's time, RFC 3339 (camera local offset).
    pub time: &'a str,
}

/// What a submit did, for the caller's log. (Shedding, when the outbox is full, is
/// logged and counted by the router itself.)
#[derive(Debug, Default)]
pub struct Submitted {
    /// Per event, the destinations it was routed to.
    pub routed: Vec<Vec<Arc<str>>>,
}

pub struct Router {
    shared: Arc<SharedOutbox>,
    destinations: Vec<Destination>,
    routes: Vec<Route>,
    source: String,
    outbox_dir: PathBuf,
    workers: Vec<JoinHandle<()>>,
}

impl Router {
    /// Opens the outbox (recovering what it holds) and starts one delivery thread per
    /// destination. Undelivered events from before are sent first, in order.
    pub fn start(settings: RouterSettings) -> Result<(Self, OpenReport), RouterError> {
        metrics::describe();
        let (outbox, report) = Outbox::open(&settings.outbox_dir, settings.outbox.clone())?;
        let dead_letters = DeadLetters::open(&settings.outbox_dir.join("dead-letter.jsonl"))?;
        let shared = Arc::new(SharedOutbox::new(outbox, dead_letters));
        {
            let ob = shared.outbox();
            for d in &settings.destinations {
                report_depth(&ob, &d.name);
            }
        }
        let mut workers = Vec::new();
        for d in &settings.destinations {
            let name = format!("deliver-{}", d.name);
            let spawned = match &d.target {
                Target::JsonLines { path } => {
                    let sink = JsonLinesSink::open(Arc::clone(&d.name), path)?;
                    let shared = Arc::clone(&shared);
                    std::thread::Builder::new().name(name).spawn(move || sink.run(&shared))
                }
                Target::InProcess { handler } => {
                    let (shared, handler, dest) = (Arc::clone(&shared), Arc::clone(handler), Arc::clone(&d.name));
                    std::thread::Builder::new()
                        .name(name)
                        .spawn(move || crate::local_sink::run_handler(&dest, handler.as_ref(), &shared))
                }
                Target::Kafka { topic, .. } => {
                    let conn = settings.kafka.clone().ok_or_else(|| RouterError::ClientConfig {
                        reason: format!("destination `{}` needs a Kafka connection", d.name),
                    })?;
                    let sink = KafkaSink::new(Arc::clone(&d.name), topic.clone(), conn, settings.kafka_tuning.clone())?;
                    let shared = Arc::clone(&shared);
                    std::thread::Builder::new().name(name).spawn(move || sink.run(&shared))
                }
            };
            workers.push(
                spawned.map_err(|source| RouterError::Thread { name: format!("delivery for `{}`", d.name), source })?,
            );
        }
        let router = Self {
            shared,
            destinations: settings.destinations,
            routes: settings.routes,
            source: settings.source,
            outbox_dir: settings.outbox_dir.clone(),
            workers,
        };
        Ok((router, report))
    }

    /// Routes, encodes and appends the events to the outbox, synced to disk before it
    /// returns (the pipeline's backpressure: this blocks on the disk, never on Kafka).
    /// Concurrent callers share fsyncs (group commit, `group_commit.rs`).
    pub fn submit(&self, events: &[Submission<'_>]) -> Result<Submitted, RouterError> {
        let mut out = Submitted::default();
        let mut batch = Vec::new();
        let created_ms = now_ms();
        for ev in events {
            let dests = destinations_for(&self.routes, ev.incident, ev.camera_group);
            let retention =
                if ev.incident.phase == Phase::Updated as i32 { Retention::Sheddable } else { Retention::Keep };
            for name in &dests {
                let Some(d) = self.destinations.iter().find(|d| &d.name == name) else { continue };
                let outgoing = Outgoing { incident: ev.incident, time: ev.time, source: &self.source };
                let (headers, body) = encode(&outgoing, d.encoding);
                let key = match &d.target {
                    Target::Kafka { key, .. } => key.of(ev.incident),
                    _ => MessageKey::Camera.of(ev.incident),
                };
                batch.push(NewEntry { destination: Arc::clone(&d.name), key, headers, body, retention, created_ms });
            }
            out.routed.push(dests);
        }
        if batch.is_empty() {
            return Ok(out);
        }
        let per_destination: Vec<Arc<str>> = batch.iter().map(|e| Arc::clone(&e.destination)).collect();
        let started = Instant::now();
        let shared = &self.shared;
        let destinations = &self.destinations;
        let committed = shared.commit(batch, |group| {
            let mut ob = shared.outbox();
            let appended = ob.append(group)?;
            // Under the same lock: a second lock per submit would queue every
            // submitter behind the next group's fsync.
            for d in destinations {
                report_depth(&ob, &d.name);
            }
            for e in &appended.shed {
                metrics::shed(&e.new.destination);
                tracing::error!(destination = %e.new.destination, camera = %e.new.key, seq = e.seq, "outbox full: an UPDATED event was shed (STARTED and ENDED are always kept)");
            }
            if appended.over_bound {
                tracing::error!("outbox over its bound (router.outbox.max_bytes): STARTED/ENDED events are kept anyway; is a destination down?");
            }
            Ok(())
        });
        if let Err(source) = committed {
            metrics::outbox_refused(events.len());
            return Err(RouterError::Refused { path: self.outbox_dir.clone(), source });
        }
        metrics::write_seconds(started.elapsed().as_secs_f64());
        for d in &per_destination {
            metrics::routed(d, 1);
        }
        self.shared.ring();
        Ok(out)
    }

    /// Undelivered events, all destinations together.
    pub fn undelivered(&self) -> usize {
        self.shared.outbox().depth().values().sum()
    }

    /// Waits until every event is delivered (or dead-lettered), up to `timeout`.
    pub fn wait_delivered(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        while self.undelivered() > 0 {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Stops the delivery threads (each finishes what it has in flight, briefly);
    /// what is undelivered stays in the outbox for the next start. Returns its count.
    pub fn stop(mut self) -> usize {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ring();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.undelivered()
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ring();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
