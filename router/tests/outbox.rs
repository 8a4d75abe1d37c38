//! The outbox on a real file system: what is appended survives a reopen, what is
//! delivered does not come back, damage costs only the damaged records, and the
//! bound sheds UPDATED events first and never STARTED/ENDED.

use std::sync::Arc;

use router::outbox::{Done, NewEntry, Outbox, OutboxSettings, Retention};

fn entry(dest: &str, key: &str, body: &str, retention: Retention) -> NewEntry {
    NewEntry {
        destination: Arc::from(dest),
        key: key.into(),
        headers: vec![("content-type".into(), b"text/plain".to_vec())],
        body: body.as_bytes().to_vec(),
        retention,
        created_ms: 1_795_564_800_000,
    }
}

fn bodies(outbox: &Outbox, dest: &str) -> Vec<String> {
    outbox.pending_after(dest, None, 1000).iter().map(|e| String::from_utf8(e.new.body.clone()).unwrap()).collect()
}

fn open(dir: &std::path::Path) -> (Outbox, router::outbox::OpenReport) {
    Outbox::open(dir, OutboxSettings { max_bytes: 1 << 20, segment_bytes: 4096 }).unwrap()
}

#[test]
fn undelivered_entries_come_back_in_order_after_a_reopen_and_delivered_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ob, report) = open(dir.path());
    assert_eq!(report.pending, 0);
    let batch: Vec<NewEntry> = (0..200)
        .map(|i| entry(if i % 2 == 0 { "kafka" } else { "local" }, "cam", &format!("e{i}"), Retention::Keep))
        .collect();
    let appended = ob.append(batch).unwrap();
    assert_eq!(appended.seqs.len(), 200);
    let first_kafka: Vec<u64> = ob.pending_after("kafka", None, 50).iter().map(|e| e.seq).collect();
    ob.finish(&first_kafka, Done::Delivered).unwrap();
    drop(ob);

    let (ob, report) = open(dir.path());
    assert_eq!(report.pending, 150);
    assert!(report.damaged.is_empty(), "{:?}", report.damaged);
    let kafka = bodies(&ob, "kafka");
    assert_eq!(kafka.len(), 50);
    assert_eq!(kafka[0], "e100");
    assert_eq!(kafka[49], "e198");
    assert_eq!(bodies(&ob, "local").len(), 100);
    // Sequence numbers keep rising across opens.
    let max_before = ob.pending_after("local", None, 1000).last().unwrap().seq;
    let mut ob = ob;
    let more = ob.append(vec![entry("local", "cam", "later", Retention::Keep)]).unwrap();
    assert!(more.seqs[0] > max_before);
}

#[test]
fn fully_delivered_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ob, _) = open(dir.path());
    for round in 0..20 {
        let batch = (0..20).map(|i| entry("kafka", "cam", &format!("r{round}-{i:0>100}"), Retention::Keep)).collect();
        ob.append(batch).unwrap();
        let all: Vec<u64> = ob.pending_after("kafka", None, 1000).iter().map(|e| e.seq).collect();
        ob.finish(&all, Done::Delivered).unwrap();
    }
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("entries-"))
        .count();
    assert!(segments <= 2, "delivered segments pile up: {segments}");
    assert!(ob.is_empty());
}

#[test]
fn a_truncated_or_corrupted_outbox_keeps_its_good_records_and_reports_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ob, _) = Outbox::open(dir.path(), OutboxSettings { max_bytes: 1 << 20, segment_bytes: 1 << 20 }).unwrap();
    ob.append((0..10).map(|i| entry("kafka", "cam", &format!("event-{i}"), Retention::Keep)).collect()).unwrap();
    drop(ob);
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("entries-") && std::fs::metadata(p).unwrap().len() > 0
        })
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let record = bytes.len() / 10;
    // A flipped byte in the middle of the 4th record, and a torn tail (half of the 10th).
    bytes[3 * record + record / 2] ^= 0x5a;
    bytes.truncate(bytes.len() - record / 2);
    std::fs::write(&segment, &bytes).unwrap();

    let (ob, report) = Outbox::open(dir.path(), OutboxSettings::default()).unwrap();
    let kept = bodies(&ob, "kafka");
    let expected: Vec<String> = [0, 1, 2, 4, 5, 6, 7, 8].iter().map(|i| format!("event-{i}")).collect();
    assert_eq!(kept, expected);
    assert_eq!(report.pending, 8);
    assert_eq!(report.damaged.len(), 2, "{:?}", report.damaged);
    assert!(report.damaged.iter().all(|d| d.file == segment));

    // Garbage where the acks file should be: reported, nothing lost (entries come back).
    drop(ob);
    std::fs::write(dir.path().join("acks.log"), b"\x00\x01not an ack file").unwrap();
    let (ob, report) = Outbox::open(dir.path(), OutboxSettings::default()).unwrap();
    assert_eq!(bodies(&ob, "kafka").len(), 8);
    assert!(report.damaged.iter().any(|d| d.file.ends_with("acks.log")));
}

#[test]
fn when_full_updated_events_are_shed_first_and_started_ended_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let one = entry("kafka", "cam", &"x".repeat(100), Retention::Keep);
    let weight = router::outbox::Entry { seq: 0, new: one.clone() }.weight();
    let settings = OutboxSettings { max_bytes: weight * 4, segment_bytes: 1 << 20 };
    let (mut ob, _) = Outbox::open(dir.path(), settings.clone()).unwrap();
    let mk = |tag: &str, r: Retention| entry("kafka", "cam", &format!("{tag}{}", "x".repeat(100 - tag.len())), r);
    ob.append(vec![mk("S1", Retention::Keep), mk("U1", Retention::Sheddable), mk("U2", Retention::Sheddable)]).unwrap();
    ob.append(vec![mk("E1", Retention::Keep)]).unwrap();
    // Full. A STARTED sheds the oldest UPDATED.
    let a = ob.append(vec![mk("S2", Retention::Keep)]).unwrap();
    assert_eq!(a.shed.len(), 1);
    assert!(String::from_utf8_lossy(&a.shed[0].new.body).starts_with("U1"));
    assert!(!a.over_bound);
    // Another UPDATED: the older one goes.
    let a = ob.append(vec![mk("U3", Retention::Sheddable)]).unwrap();
    assert!(String::from_utf8_lossy(&a.shed[0].new.body).starts_with("U2"));
    // Only STARTED/ENDED and the newest UPDATED left; two more ENDED: U3 is shed,
    // then the bound is exceeded rather than losing an ENDED.
    let a = ob.append(vec![mk("E2", Retention::Keep), mk("E3", Retention::Keep)]).unwrap();
    assert!(a.over_bound);
    let kept: Vec<String> = bodies(&ob, "kafka").iter().map(|b| b[..2].to_string()).collect();
    assert_eq!(kept, ["S1", "E1", "S2", "E2", "E3"]);
    // Shed entries stay shed after a reopen.
    drop(ob);
    let (ob, _) = Outbox::open(dir.path(), settings).unwrap();
    let kept: Vec<String> = bodies(&ob, "kafka").iter().map(|b| b[..2].to_string()).collect();
    assert_eq!(kept, ["S1", "E1", "S2", "E2", "E3"]);
}
