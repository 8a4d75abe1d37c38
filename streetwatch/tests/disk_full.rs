//! `run` with its data folder (outbox, evidence) on a small tmpfs that fills up
//! (skipped, saying why, where this process may not mount one). While the disk is
//! full, new events are refused with an error that says so and a metric, snapshots
//! are not written; once space returns the pipeline goes on by itself; and every
//! event it logged is either in the topic or was refused: nothing accepted is lost.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proto::Message;
use router::kafka::tail::TopicTail;
use router::testing::{fill, SmallDisk};
use support::{bin, http_get, logged_http_address, repo_root, start_broker, wait_for, Running};

const TOPIC: &str = "disk-full.incidents";

fn config(dir: &Path, data: &Path, bootstrap: &str) -> PathBuf {
    let footage = std::env::var("STREETWATCH_CACHE").expect("source the setup's env.sh") + "/footage/vtest.mp4";
    let mut text = format!(
        r#"[service]
instance = "disk-full"

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "{data}"

[detector]
model = "{model}"
inference_threads = 1
intra_op_threads = 2

[rules.sidewalk_parking]
dwell_secs = 5

[rules.incidents]
realarm_secs = 5
update_interval_secs = 5

[router.kafka]
bootstrap_servers = "{bootstrap}"

[[router.destinations]]
name = "police"
kind = "kafka"
topic = "{TOPIC}"
"#,
        data = data.display(),
        model = repo_root().join("models/yolov3-tiny-416-int8.toml").display(),
    );
    for i in 0..2 {
        text.push_str(&format!(
            r#"
[[cameras]]
id = "cam-{i}"
url = "file://{footage}"
loop = true
decode = "sampled"
sample_fps = 2.0

[[cameras.zones]]
id = "east-sidewalk"
kind = "sidewalk"
polygon = [[0.833, 0.122], [0.957, 0.108], [0.957, 0.165], [0.768, 0.212]]
"#
        ));
    }
    let path = dir.join("disk-full.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (incident id, revision) of every event `run` logged as published.
fn logged_events(log: &str) -> BTreeSet<(String, u64)> {
    let field = |line: &str, name: &str| -> Option<String> {
        let at = line.find(&format!(" {name}="))? + name.len() + 2;
        Some(line[at..].split_whitespace().next()?.trim_matches('"').to_string())
    };
    log.lines()
        .filter(|l| l.contains(" incident=") && l.contains(" revision="))
        .filter_map(|l| Some((field(l, "incident")?, field(l, "revision")?.parse().ok()?)))
        .collect()
}

/// (id, revision) of every event the outbox refused (the whole event is in the error line).
fn refused_events(log: &str) -> BTreeSet<(String, u64)> {
    log.lines()
        .filter(|l| l.contains("cannot write the event to the outbox"))
        .filter_map(|l| {
            let id = l.split("Incident { id: \"").nth(1)?.split('"').next()?.to_string();
            let rev = l.split(", revision: ").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
            Some((id, rev))
        })
        .collect()
}

fn metric(addr: &str, name: &str) -> f64 {
    http_get(addr, "/metrics")
        .map(|(_, body)| {
            body.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok()).sum()
        })
        .unwrap_or(0.0)
}

#[test]
fn a_full_disk_refuses_new_events_and_the_pipeline_recovers_by_itself() {
    let parent = tempfile::tempdir().unwrap();
    let disk = match SmallDisk::mount(parent.path(), "24m") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a tmpfs here ({why}); the disk-full test needs root or CAP_SYS_ADMIN");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (broker, conn) = start_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(router::kafka::admin::create_topics(&conn, &[TOPIC], 1, Duration::from_secs(10))).unwrap();
    let tail = TopicTail::start_from_beginning(&conn, TOPIC, Duration::from_secs(10)).unwrap();
    let mut read = BTreeSet::new();
    let poll = |read: &mut BTreeSet<(String, u64)>| {
        for r in tail.take() {
            let i = proto::v1::Incident::decode(r.payload.as_slice()).unwrap();
            read.insert((i.id, i.revision));
        }
    };

    let mut cmd = bin();
    cmd.args(["run", "--config"]).arg(config(dir.path(), &disk.path.join("data"), &broker.bootstrap()));
    let run = Running::spawn(cmd);
    let addr = wait_for("run's metrics address", Duration::from_secs(60), || logged_http_address(&run.stderr()));
    wait_for("two events in the topic", Duration::from_secs(120), || {
        poll(&mut read);
        (read.len() >= 2).then_some(())
    });

    let filler = fill(&disk.path);
    wait_for("an event refused for want of space", Duration::from_secs(90), || {
        (metric(&addr, "streetwatch_router_outbox_refused_total") >= 2.0).then_some(())
    });
    let log = run.stderr();
    assert!(log.contains("No space left on device"), "the error says why");
    assert!(log.contains("cannot write the snapshot"), "evidence is refused too");
    assert!(metric(&addr, "streetwatch_incident_write_errors_total") >= 2.0);

    // Space again: events are accepted and delivered without a restart.
    std::fs::remove_file(filler).unwrap();
    let refused_then = metric(&addr, "streetwatch_router_outbox_refused_total");
    let before = read.len();
    wait_for("events accepted again and delivered", Duration::from_secs(90), || {
        poll(&mut read);
        (read.len() >= before + 2).then_some(())
    });
    assert_eq!(
        metric(&addr, "streetwatch_router_outbox_refused_total"),
        refused_then,
        "no refusal once there is space"
    );

    // Every event logged is in the topic or was refused.
    let log = run.stderr();
    let (logged, refused) = (logged_events(&log), refused_events(&log));
    let missing: Vec<_> = wait_for("every accepted event in the topic", Duration::from_secs(30), || {
        poll(&mut read);
        let missing: Vec<_> = logged.iter().filter(|e| !read.contains(*e) && !refused.contains(*e)).cloned().collect();
        missing.is_empty().then_some(missing)
    });
    assert!(missing.is_empty());
    assert!(!refused.is_empty() && refused.iter().all(|e| !read.contains(e)), "{refused:?}");
    println!(
        "disk full: {} events logged, {} refused while full, {} in the topic ({} after space returned)",
        logged.len(),
        refused.len(),
        read.len(),
        read.len() - before
    );
    drop(run);
}
