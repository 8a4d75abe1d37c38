//! The outbox on a file system that fills up: a small tmpfs mounted for the test
//! (skipped, saying why, where this process may not mount one). Appends are refused
//! with an error naming the file and "No space left"; nothing accepted before is
//! lost; no half record is left behind; once space returns appends go on, and a
//! reopen finds every accepted entry and no damage.

use std::sync::Arc;

use router::outbox::{NewEntry, Outbox, OutboxSettings, Retention};
use router::testing::{fill, SmallDisk};

fn entry(n: usize) -> NewEntry {
    NewEntry {
        destination: Arc::from("police"),
        key: "cam-01".into(),
        headers: Vec::new(),
        body: format!("event {n:05} {}", "x".repeat(200)).into_bytes(),
        retention: Retention::Keep,
        created_ms: 1_795_564_800_000,
    }
}

#[test]
fn a_full_disk_refuses_new_events_loses_none_accepted_and_recovers_by_itself() {
    let parent = tempfile::tempdir().unwrap();
    let disk = match SmallDisk::mount(parent.path(), "2m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a tmpfs here ({why}); the disk-full test needs root or CAP_SYS_ADMIN");
            return;
        }
    };
    let dir = disk.path.join("outbox");
    let settings = OutboxSettings { max_bytes: 1 << 30, segment_bytes: 64 << 10 };
    let (mut ob, _) = Outbox::open(&dir, settings.clone()).unwrap();
    let mut accepted = Vec::new();
    for n in 0..100 {
        ob.append(vec![entry(n)]).unwrap();
        accepted.push(n);
    }
    let filler = fill(&disk.path);

    // Full: every append is refused, with the reason and the file.
    let mut refused = 0;
    for n in 100..400 {
        match ob.append(vec![entry(n)]) {
            Ok(_) => accepted.push(n),
            Err(e) => {
                let text = router::error::ErrorChain(&e).to_string();
                assert!(text.contains("No space left") && text.contains("outbox"), "{text}");
                refused += 1;
            }
        }
    }
    assert!(refused > 250, "the disk was full: {refused} of 300 refused");
    let pending = |ob: &Outbox| -> Vec<String> {
        ob.pending_after("police", None, 10_000)
            .iter()
            .map(|e| String::from_utf8_lossy(&e.new.body)[..11].to_string())
            .collect()
    };
    let expected: Vec<String> = accepted.iter().map(|n| format!("event {n:05}")).collect();
    assert_eq!(pending(&ob), expected, "what was accepted is still there, in order");

    // Space again: appends go on by themselves.
    std::fs::remove_file(filler).unwrap();
    for n in 400..420 {
        ob.append(vec![entry(n)]).unwrap();
        accepted.push(n);
    }
    drop(ob);
    let (ob, report) = Outbox::open(&dir, settings).unwrap();
    assert!(report.damaged.is_empty(), "a refused append leaves no half record: {:?}", report.damaged);
    let expected: Vec<String> = accepted.iter().map(|n| format!("event {n:05}")).collect();
    assert_eq!(pending(&ob), expected, "every accepted entry after a reopen");
    println!("disk full: {} accepted before, {refused} refused while full, 20 accepted after", accepted.len() - 20);
}
