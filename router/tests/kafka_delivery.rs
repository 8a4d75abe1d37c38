//! Delivery to a real Kafka-protocol broker (tansu): encodings read back by an
//! independent consumer, a broker outage, and a process killed with events still in
//! its outbox.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use proto::v1::Incident;
use proto::Message;
use router::encoding::Encoding;
use router::{Router, Submission};
use support::*;

fn submit(router: &Router, incidents: &[Incident]) {
    let subs: Vec<Submission<'_>> = incidents
        .iter()
        .map(|i| Submission { incident: i, camera_group: None, time: "2026-11-25T08:00:00.000+08:00" })
        .collect();
    router.submit(&subs).expect("submit");
}

#[test]
fn protobuf_and_cloudevents_round_trip_through_the_broker() {
    let broker = Broker::start(free_port());
    broker.create_topics(&["security.incidents", "city.cases", "city.cases.binary"]);
    let dir = tempfile::tempdir().unwrap();
    let (router, report) = Router::start(settings(
        dir.path(),
        &broker.bootstrap(),
        vec![
            kafka_destination("police", "security.incidents", Encoding::Protobuf),
            kafka_destination("cases", "city.cases", Encoding::CloudEventsStructured),
            kafka_destination("cases-binary", "city.cases.binary", Encoding::CloudEventsBinary),
        ],
    ))
    .unwrap();
    assert_eq!(report.pending, 0);
    let sent: Vec<Incident> = (0..50).map(|n| incident(["cam-a", "cam-b"][n as usize % 2], n)).collect();
    submit(&router, &sent);
    assert!(router.wait_delivered(Duration::from_secs(60)), "not delivered");

    let mut police = Reader::new(&broker.bootstrap(), "security.incidents");
    let got = police.read_until(50, Duration::from_secs(30)).to_vec();
    assert_eq!(got.len(), 50);
    for (m, want) in got.iter().zip(&sent) {
        let decoded = Incident::decode(m.body.as_slice()).expect("protobuf body");
        assert_eq!(&decoded, want, "in order, byte for byte");
        assert_eq!(m.key, want.camera.as_ref().unwrap().camera_id, "keyed by camera");
        assert_eq!(m.headers.get("content-type").map(String::as_str), Some("application/x-protobuf"));
        assert_eq!(m.headers.get("streetwatch-schema").map(String::as_str), Some("streetwatch.v1.Incident"));
    }

    let mut cases = Reader::new(&broker.bootstrap(), "city.cases");
    let got = cases.read_until(50, Duration::from_secs(30)).to_vec();
    assert_eq!(got.len(), 50);
    for (m, want) in got.iter().zip(&sent) {
        let ce: serde_json::Value = serde_json::from_slice(&m.body).expect("CloudEvents JSON");
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["type"], "org.streetwatch.incident.started");
        assert_eq!(ce["id"], format!("{}/1", want.id));
        assert_eq!(ce["source"], "/streetwatch/test");
        assert_eq!(ce["data"]["id"], want.id);
        assert_eq!(ce["data"]["kind"], "sidewalk_parking");
        assert!(m.headers["content-type"].starts_with("application/cloudevents+json"));
    }

    let mut binary = Reader::new(&broker.bootstrap(), "city.cases.binary");
    let got = binary.read_until(50, Duration::from_secs(30)).to_vec();
    assert_eq!(got.len(), 50);
    let first: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(first["id"], sent[0].id);
    assert_eq!(got[0].headers.get("ce_specversion").map(String::as_str), Some("1.0"));
    assert_eq!(got[0].headers.get("ce_type").map(String::as_str), Some("org.streetwatch.incident.started"));
    assert_eq!(router.stop(), 0);
}

/// How the broker goes away for 30 s.
enum Outage {
    /// Killed, and started again with empty storage (tansu keeps it in memory):
    /// the producer meets a broker that never heard of it.
    RestartEmpty,
    /// Frozen with SIGSTOP, then let go: connections hang, the log is kept, and
    /// requests sent during the outage are answered late.
    Hang,
}

#[test]
fn a_broker_outage_of_30_seconds_loses_nothing() {
    delivers_everything_across(Outage::RestartEmpty);
}

#[test]
fn a_broker_that_hangs_for_30_seconds_loses_nothing() {
    delivers_everything_across(Outage::Hang);
}

fn delivers_everything_across(outage_kind: Outage) {
    init_logs();
    let port = free_port();
    let mut broker = Broker::start(port);
    broker.create_topics(&["security.incidents"]);
    let dir = tempfile::tempdir().unwrap();
    let (router, _) = Router::start(settings(
        dir.path(),
        &broker.bootstrap(),
        vec![kafka_destination("police", "security.incidents", Encoding::Protobuf)],
    ))
    .unwrap();
    let mut all = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut n = 0u64;
    let mut next = |count: u64| -> Vec<Incident> {
        let batch: Vec<Incident> =
            (n..n + count).map(|i| incident(["cam-a", "cam-b", "cam-c"][i as usize % 3], i)).collect();
        n += count;
        batch
    };

    // Before: events flow and are read.
    for _ in 0..10 {
        let b = next(5);
        submit(&router, &b);
        all.extend(b);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(router.wait_delivered(Duration::from_secs(30)));
    let mut reader = Reader::new(&broker.bootstrap(), "security.incidents");
    for m in reader.read_until(all.len(), Duration::from_secs(30)) {
        seen.insert(Incident::decode(m.body.as_slice()).unwrap().id);
    }
    assert_eq!(seen.len(), all.len(), "delivered before the outage");
    drop(reader);

    // The broker goes away for 30 s; events keep coming.
    match outage_kind {
        Outage::RestartEmpty => broker.kill(),
        Outage::Hang => broker.freeze(),
    }
    let outage = std::time::Instant::now();
    while outage.elapsed() < Duration::from_secs(30) {
        let b = next(3);
        submit(&router, &b);
        all.extend(b);
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(router.undelivered() > 0, "nothing can be delivered while the broker is down");

    match outage_kind {
        // Back with empty storage: the topic is created again, as an operator would.
        Outage::RestartEmpty => {
            broker = Broker::start(port);
            broker.create_topics(&["security.incidents"]);
        }
        Outage::Hang => broker.thaw(),
    }
    for _ in 0..10 {
        let b = next(3);
        submit(&router, &b);
        all.extend(b);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(router.wait_delivered(Duration::from_secs(90)), "{} still undelivered", router.undelivered());
    let mut reader = Reader::new(&broker.bootstrap(), "security.incidents");
    // Delivery is at-least-once: a resend after the outage may put an event in the log
    // twice, so read until every event is there, not until as many records are.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut want = all.len() - seen.len();
    let mut records: usize;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let got = reader.read_until(want, left);
        records = got.len();
        for m in got {
            seen.insert(Incident::decode(m.body.as_slice()).unwrap().id);
        }
        if all.iter().all(|i| seen.contains(&i.id)) || left.is_zero() {
            break;
        }
        want = got.len() + 1;
    }
    println!("after the outage: {records} records read for {} events in all", all.len());
    let missing: Vec<&String> = all.iter().map(|i| &i.id).filter(|id| !seen.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} events never arrived ({records} records read after the outage): {:?}",
        missing.len(),
        all.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(router.stop(), 0);
}

/// Runs in a child process (see below): submits events to a broker that cannot take
/// them, says so, and waits to be killed.
#[test]
fn child_writes_undelivered_events() {
    let Ok(dir) = std::env::var("ROUTER_TEST_CHILD_OUTBOX") else { return };
    let bootstrap = std::env::var("ROUTER_TEST_CHILD_BROKER").unwrap();
    let (router, _) = Router::start(settings(
        std::path::Path::new(&dir),
        &bootstrap,
        vec![kafka_destination("police", "security.incidents", Encoding::Protobuf)],
    ))
    .unwrap();
    let sent: Vec<Incident> = (0..200).map(|n| incident(["cam-a", "cam-b"][n as usize % 2], n)).collect();
    submit(&router, &sent);
    println!("CHILD-SUBMITTED {}", router.undelivered());
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn events_in_the_outbox_of_a_killed_process_are_delivered_after_restart() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    // The child's broker address has nothing behind it: every event stays in the outbox.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writes_undelivered_events", "--nocapture", "--test-threads", "1"])
        .env("ROUTER_TEST_CHILD_OUTBOX", dir.path())
        .env("ROUTER_TEST_CHILD_BROKER", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let line = wait_for("the child to submit", Duration::from_secs(60), || {
        let mut l = String::new();
        std::io::BufRead::read_line(&mut out, &mut l).ok()?;
        l.contains("CHILD-SUBMITTED").then_some(l)
    });
    assert!(line.trim().ends_with("200"), "{line}");
    // SIGKILL: no shutdown, no flush.
    child.kill().unwrap();
    child.wait().unwrap();

    let broker = Broker::start(port);
    broker.create_topics(&["security.incidents"]);
    let (router, report) = Router::start(settings(
        dir.path(),
        &broker.bootstrap(),
        vec![kafka_destination("police", "security.incidents", Encoding::Protobuf)],
    ))
    .unwrap();
    assert_eq!(report.pending, 200, "recovered from the outbox");
    assert!(router.wait_delivered(Duration::from_secs(60)), "{} undelivered", router.undelivered());
    let mut reader = Reader::new(&broker.bootstrap(), "security.incidents");
    let got: Vec<Incident> = reader
        .read_until(200, Duration::from_secs(30))
        .iter()
        .map(|m| Incident::decode(m.body.as_slice()).unwrap())
        .collect();
    let ids: HashSet<&str> = got.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), 200, "every event, at least once");
    // Per camera, in the order they were written.
    for cam in ["cam-a", "cam-b"] {
        let order: Vec<i64> =
            got.iter().filter(|i| i.camera.as_ref().unwrap().camera_id == cam).map(|i| i.started_at_ms).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{cam} out of order");
    }
    assert_eq!(router.stop(), 0);
}

#[test]
fn an_event_the_producer_refuses_is_dead_lettered_with_its_reason_and_blocks_nothing() {
    let broker = Broker::start(free_port());
    broker.create_topics(&["security.incidents"]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(
        dir.path(),
        &broker.bootstrap(),
        vec![kafka_destination("police", "security.incidents", Encoding::Protobuf)],
    );
    // A cluster that takes messages of at most 2 kB.
    if let Some(k) = s.kafka.as_mut() {
        k.properties.push(("message.max.bytes".into(), "2000".into()));
    }
    let (router, _) = Router::start(s).unwrap();
    let mut too_big = incident("cam-a", 1);
    too_big.summary = "x".repeat(5000);
    let sent = vec![incident("cam-a", 0), too_big.clone(), incident("cam-a", 2)];
    submit(&router, &sent);
    assert!(router.wait_delivered(Duration::from_secs(60)), "{} undelivered", router.undelivered());

    let mut reader = Reader::new(&broker.bootstrap(), "security.incidents");
    let got: Vec<String> = reader
        .read_until(2, Duration::from_secs(30))
        .iter()
        .map(|m| Incident::decode(m.body.as_slice()).unwrap().id)
        .collect();
    assert_eq!(got, [sent[0].id.clone(), sent[2].id.clone()], "the others went through, in order");

    let dead = std::fs::read_to_string(dir.path().join("dead-letter.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = dead.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{dead}");
    assert_eq!(lines[0]["destination"], "police");
    assert_eq!(lines[0]["key"], "cam-a");
    assert!(lines[0]["reason"].as_str().unwrap().contains("MessageSizeTooLarge"), "{dead}");
    let body = hex::decode(lines[0]["body_hex"].as_str().unwrap()).unwrap();
    assert_eq!(Incident::decode(body.as_slice()).unwrap(), too_big, "the event is kept whole");
    assert_eq!(router.stop(), 0);
}
