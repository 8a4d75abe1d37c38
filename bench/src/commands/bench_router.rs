//! `streetwatch-bench bench-router`: how many incident events per second the router takes
//! from the pipeline to a real Kafka-protocol broker (protobuf encoding, idempotent
//! producer, acks=all), counted from the first `submit` to the last broker
//! acknowledgement; and the latency of the outbox write (append + fsync) per submit,
//! with one or several submitting threads (the inference threads of `run`).
//! Without `--bootstrap`, it starts a tansu broker from the setup cache itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proto::v1 as pb;
use router::encoding::Encoding;
use router::kafka::local_broker::LocalBroker;
use router::kafka::sink::KafkaTuning;
use router::outbox::OutboxSettings;
use router::routes::Route;
use router::{Destination, KafkaConnection, Router, RouterSettings, Submission, Target};
use serde_json::json;

use crate::cli::BenchRouterArgs;
use streetwatch::exit_code;

const TOPIC: &str = "bench.incidents";

fn incident(n: u64, cameras: u64) -> pb::Incident {
    let camera = format!("cam-{:03}", n % cameras);
    pb::Incident {
        id: format!("01a21300-0000-7000-8000-{n:012}"),
        kind: pb::IncidentKind::SidewalkParking as i32,
        phase: [pb::Phase::Started, pb::Phase::Updated, pb::Phase::Ended][(n % 3) as usize] as i32,
        revision: 1 + n % 3,
        camera: Some(pb::CameraRef {
            camera_id: camera,
            site: "bench".into(),
            grid: "grid-01".into(),
            ..Default::default()
        }),
        zone: Some(pb::ZoneRef {
            zone_id: "sidewalk".into(),
            name: "Sidewalk".into(),
            kind: pb::ZoneKind::Sidewalk as i32,
        }),
        started_at_ms: 1_795_564_800_000 + n as i64,
        updated_at_ms: 1_795_564_800_000 + n as i64,
        dwell_secs: 125.0,
        object_count: 1,
        objects: vec![pb::DetectedObject {
            class_name: "car".into(),
            score: 0.8,
            r#box: Some(pb::NormalizedBox { x: 0.5, y: 0.5, width: 0.1, height: 0.1 }),
            track_id: n,
        }],
        severity: pb::Severity::Low as i32,
        evidence: Some(pb::Evidence {
            snapshot_uri: format!("evidence/2026-11-25/cam/{n}-r1.jpg"),
            ..Default::default()
        }),
        summary: "car parked in Sidewalk for 125 s (started)".into(),
        cause: "dwell_reached".into(),
        ..Default::default()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    batch: usize,
    threads: usize,
    events_per_sec: f64,
    /// Into the outbox (durable), not yet delivered.
    submitted_per_sec: f64,
    write_p50_ms: f64,
    write_p99_ms: f64,
    secs: f64,
}

fn one_run(bootstrap: &str, events: u64, batch: usize, threads: usize) -> anyhow::Result<Run> {
    let dir = std::env::temp_dir().join(format!("streetwatch-bench-router-{}-{batch}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dest = Destination {
        name: Arc::from("bench"),
        target: Target::Kafka { topic: TOPIC.into(), key: router::MessageKey::Camera },
        encoding: Encoding::Protobuf,
    };
    let settings = RouterSettings {
        outbox_dir: dir.clone(),
        outbox: OutboxSettings::default(),
        routes: vec![Route { name: "all".into(), destinations: vec![Arc::clone(&dest.name)], ..Route::default() }],
        destinations: vec![dest],
        kafka: Some(KafkaConnection::new(bootstrap)),
        kafka_tuning: KafkaTuning::default(),
        source: "/streetwatch/bench".into(),
    };
    let (router, _) = Router::start(settings)?;
    let incidents: Vec<pb::Incident> = (0..events).map(|n| incident(n, 100)).collect();
    // Each submitting thread (an inference thread in `run`) takes its own share.
    let share = incidents.len().div_ceil(threads.max(1)).max(1);
    let start = Instant::now();
    let per_thread: Vec<anyhow::Result<Vec<f64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = incidents
            .chunks(share)
            .map(|mine| {
                let router = &router;
                scope.spawn(move || -> anyhow::Result<Vec<f64>> {
                    let mut ms = Vec::with_capacity(mine.len() / batch + 1);
                    for chunk in mine.chunks(batch) {
                        let subs: Vec<Submission<'_>> = chunk
                            .iter()
                            .map(|i| Submission {
                                incident: i,
                                camera_group: None,
                                time: "2026-11-25T08:00:00.000+08:00",
                            })
                            .collect();
                        let t = Instant::now();
                        router.submit(&subs)?;
                        ms.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    Ok(ms)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a submitting thread panicked"))))
            .collect()
    });
    let submit_secs = start.elapsed().as_secs_f64();
    let mut write_ms = Vec::new();
    for r in per_thread {
        write_ms.extend(r?);
    }
    anyhow::ensure!(router.wait_delivered(Duration::from_secs(600)), "events not delivered within 10 minutes");
    let secs = start.elapsed().as_secs_f64();
    router.stop();
    let _ = std::fs::remove_dir_all(&dir);
    write_ms.sort_by(f64::total_cmp);
    Ok(Run {
        batch,
        threads,
        events_per_sec: events as f64 / secs,
        submitted_per_sec: events as f64 / submit_secs,
        write_p50_ms: percentile(&write_ms, 0.5),
        write_p99_ms: percentile(&write_ms, 0.99),
        secs,
    })
}

pub async fn bench_router(args: &BenchRouterArgs) -> i32 {
    match run(args).await {
        Ok(()) => exit_code::OK,
        Err(e) => {
            eprintln!("bench-router: {e:#}");
            exit_code::RUNTIME_FAILURE
        }
    }
}

async fn run(args: &BenchRouterArgs) -> anyhow::Result<()> {
    let (_broker, bootstrap) = match &args.bootstrap {
        Some(b) => (None, b.clone()),
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let broker = LocalBroker::start(&args.tansu, port)?;
            let addr = broker.bootstrap();
            (Some(broker), addr)
        }
    };
    router::kafka::admin::create_topics(&KafkaConnection::new(&bootstrap), &[TOPIC], 4, Duration::from_secs(10))
        .await?;
    let mut runs = Vec::new();
    for &threads in &args.threads {
        for &batch in &args.batches {
            let (b, t, events) = (batch.max(1), threads.max(1), args.events);
            let bootstrap = bootstrap.clone();
            let r = tokio::task::spawn_blocking(move || one_run(&bootstrap, events, b, t)).await??;
            println!(
                "threads {:>2}, batch {:>4}: {:>8.0} events/s delivered, {:>8.0} events/s into the outbox  ({} events in {:.2} s; outbox write per submit p50 {:.3} ms, p99 {:.3} ms)",
                r.threads, r.batch, r.events_per_sec, r.submitted_per_sec, args.events, r.secs, r.write_p50_ms, r.write_p99_ms
            );
            runs.push(r);
        }
    }
    if let Some(path) = &args.json {
        let out: Vec<_> = runs
            .iter()
            .map(|r| {
                json!({"batch": r.batch, "threads": r.threads, "events": args.events, "events_per_sec": r.events_per_sec, "submitted_per_sec": r.submitted_per_sec,
                       "outbox_write_p50_ms": r.write_p50_ms, "outbox_write_p99_ms": r.write_p99_ms, "secs": r.secs})
            })
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    }
    Ok(())
}
