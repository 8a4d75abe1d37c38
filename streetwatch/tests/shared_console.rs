//! The shared console (`streetwatch console`) against a real Kafka-protocol broker
//! (tansu): incident events and camera status published to their topics appear in
//! the console once each (duplicates and an older revision after a newer one change
//! nothing); a camera whose heartbeat stops shows stale, then streaming under the
//! worker that took it; an acknowledgement is read back from the reviews topic,
//! keyed by incident id; a restart resumes where it was (an incident published
//! while it was down appears once); a console started on an empty database rebuilds
//! the same incidents and decisions from the topics.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proto::v1 as pb;
use proto::Message;
use router::kafka::admin::{create_compacted_topic, create_topics};
use router::kafka::assignments::{publish, read_all};
use router::KafkaConnection;
use support::{bin, repo_root, wait_for, Running};

const INCIDENTS: &str = "test.incidents";
const REVIEWS: &str = "test.reviews";
const STATUS: &str = "test.camera-status";
const ASSIGNMENTS: &str = "test.camera-assignments";
const PASSWORD: &str = "correct horse battery";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The site a test camera is at: cam-1 in the north district, the others south.
fn site_of(camera: &str) -> &'static str {
    if camera == "cam-1" {
        "north"
    } else {
        "south"
    }
}

fn config(dir: &Path, bootstrap: &str) -> PathBuf {
    config_with(dir, bootstrap, "")
}

/// The console's config, with `extra` tables.
fn config_with(dir: &Path, bootstrap: &str, extra: &str) -> PathBuf {
    let users = dir.join("users.toml");
    // An operator for the whole city, a viewer for the north district only, an admin
    // (who reads the audit log).
    for args in [
        &["--name", "li.wei", "--role", "operator"][..],
        &["--name", "zhang", "--role", "viewer", "--site", "north"],
        &["--name", "root", "--role", "admin"],
    ] {
        let mut add =
            bin().args(["console-user", "--users-file"]).arg(&users).args(args).stdin(Stdio::piped()).spawn().unwrap();
        add.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
        assert!(add.wait().unwrap().success());
    }
    let text = format!(
        r#"
[service]
instance = "console-test"
shutdown_deadline_secs = 5

[http]
enabled = false

[storage]
data_dir = "{dir}/data"

{extra}
[detector]
model = "{model}"

[router.kafka]
bootstrap_servers = "{bootstrap}"

[cluster]
enabled = true
camera_status_topic = "{STATUS}"
assignments_topic = "{ASSIGNMENTS}"
session_timeout_secs = 3

[console]
enabled = true
listen = "127.0.0.1:0"
users_file = "{users}"

[console.shared]
incidents_topic = "{INCIDENTS}"
reviews_topic = "{REVIEWS}"
group_id = "test-console"
stale_after_secs = 2
"#,
        dir = dir.display(),
        model = repo_root().join("models/yolov3-tiny-320.toml").display(),
        users = users.display(),
    );
    let path = dir.join("console.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn incident(id: &str, camera: &str, phase: pb::Phase, revision: u64) -> pb::Incident {
    pb::Incident {
        id: id.into(),
        kind: pb::IncidentKind::SidewalkParking as i32,
        phase: phase as i32,
        revision,
        camera: Some(pb::CameraRef { camera_id: camera.into(), site: site_of(camera).into(), ..Default::default() }),
        zone: Some(pb::ZoneRef { zone_id: "walk".into(), name: "East sidewalk".into(), ..Default::default() }),
        started_at_ms: 1_764_000_000_000,
        updated_at_ms: 1_764_000_000_000 + revision as i64 * 1000,
        summary: format!("{id} revision {revision}"),
        ..Default::default()
    }
}

fn status(camera: &str, worker: &str, state: pb::CameraState) -> pb::CameraStatus {
    pb::CameraStatus {
        camera: Some(pb::CameraRef { camera_id: camera.into(), site: site_of(camera).into(), ..Default::default() }),
        state: state as i32,
        since_ms: now_ms(),
        measured_fps: 1.0,
        worker: worker.into(),
        reported_at_ms: now_ms(),
        heartbeat_interval_ms: 500,
        ..Default::default()
    }
}

fn send(conn: &KafkaConnection, topic: &str, records: &[(String, Vec<u8>)]) {
    let records: Vec<(String, Option<Vec<u8>>)> = records.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    publish(conn, topic, &records, Duration::from_secs(10)).unwrap();
}

fn send_incidents(conn: &KafkaConnection, events: &[pb::Incident]) {
    let records: Vec<(String, Vec<u8>)> =
        events.iter().map(|e| (e.camera.as_ref().unwrap().camera_id.clone(), e.encode_to_vec())).collect();
    send(conn, INCIDENTS, &records);
}

/// One HTTP/1.1 request: (status, lower-cased headers, body).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), body.to_string())
}

struct Session {
    addr: String,
    cookie: String,
    csrf: String,
}

impl Session {
    fn login(addr: &str) -> Session {
        Session::login_as(addr, "li.wei")
    }

    fn login_as(addr: &str, name: &str) -> Session {
        let form = format!("username={name}&password={}", PASSWORD.replace(' ', "+"));
        let (status, head, _) =
            http(addr, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form);
        assert_eq!(status, 303, "login refused: {head}");
        let cookie = head.lines().find_map(|l| l.strip_prefix("set-cookie: ")).unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let mut s = Session { addr: addr.to_string(), cookie, csrf: String::new() };
        s.csrf = s.get("/api/me")["csrf_token"].as_str().unwrap().to_string();
        s
    }

    fn get(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.status_of(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn status_of(&self, path: &str) -> (u16, String) {
        let (status, _, body) = http(&self.addr, "GET", path, &[("Cookie", &self.cookie)], "");
        (status, body)
    }

    fn review(&self, id: &str, action: &str) -> u16 {
        let body = serde_json::json!({ "action": action, "note": "" }).to_string();
        let headers =
            [("Cookie", self.cookie.as_str()), ("X-CSRF-Token", &self.csrf), ("Content-Type", "application/json")];
        http(&self.addr, "POST", &format!("/api/incidents/{id}/review"), &headers, &body).0
    }

    /// id → (revision, review state, summary) of every incident in the feed.
    fn incidents(&self) -> Vec<(String, i64, String, String)> {
        let page = self.get("/api/incidents?limit=500");
        let mut out: Vec<_> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap().to_string();
                (s("id"), i["revision"].as_i64().unwrap(), s("review"), s("summary"))
            })
            .collect();
        out.sort();
        out
    }

    fn camera(&self, id: &str) -> Option<(String, String)> {
        let cams = self.get("/api/cameras");
        cams["cameras"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| (c["state"].as_str().unwrap().to_string(), c["worker"].as_str().unwrap_or_default().to_string()))
    }
}

fn start_console(config: &Path) -> (Running, String) {
    let mut cmd = bin();
    cmd.args(["console", "--config"]).arg(config);
    // The object storage's credentials, for a config with [storage.s3].
    cmd.env("TEST_S3_ACCESS", "test-access").env("TEST_S3_SECRET", "test-secret");
    let mut console = Running::spawn(cmd);
    let started = std::time::Instant::now();
    loop {
        let log = console.stderr();
        if let Some(at) = log.find("operator console: http://") {
            let addr = log[at + "operator console: http://".len()..].split('/').next().unwrap().to_string();
            return (console, addr);
        }
        let exited = console.child.try_wait().unwrap();
        if exited.is_some() || started.elapsed() > Duration::from_secs(30) {
            // The log reader may still be behind the process.
            std::thread::sleep(Duration::from_millis(300));
            panic!("no console ({exited:?}):\n{}", console.stderr());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_shared_console_reads_the_cluster_and_rebuilds_from_the_topics() {
    let (broker, conn) = support::start_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        create_topics(&conn, &[INCIDENTS], 3, Duration::from_secs(10)).await.unwrap();
        create_topics(&conn, &[REVIEWS], 2, Duration::from_secs(10)).await.unwrap();
        create_compacted_topic(&conn, STATUS, 2, Duration::from_secs(10)).await.unwrap();
        create_compacted_topic(&conn, ASSIGNMENTS, 2, Duration::from_secs(10)).await.unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &broker.bootstrap());

    // Two workers' events, delivered at least once: duplicates, and an older revision
    // after a newer one.
    let (a, b) = ("0190aaaa-0000-7000-8000-000000000001", "0190aaaa-0000-7000-8000-000000000002");
    send_incidents(
        &conn,
        &[
            incident(a, "cam-1", pb::Phase::Started, 1),
            incident(a, "cam-1", pb::Phase::Updated, 2),
            incident(b, "cam-2", pb::Phase::Started, 1),
            incident(a, "cam-1", pb::Phase::Updated, 2),
            incident(a, "cam-1", pb::Phase::Started, 1),
        ],
    );
    // The cluster's camera list: cam-3 is listed but no worker reports on it.
    let table = |c: &str| format!("id = \"{c}\"\nurl = \"test://smpte\"\nsite = \"{}\"\n", site_of(c)).into_bytes();
    send(&conn, ASSIGNMENTS, &["cam-1", "cam-2", "cam-3"].map(|c| (c.to_string(), table(c))));

    let (mut console, addr) = start_console(&config);
    let op = Session::login(&addr);
    let shown = wait_for("both incidents in the console", Duration::from_secs(20), || {
        let list = op.incidents();
        (list.len() == 2).then_some(list)
    });
    println!("shown: {shown:?}");
    assert_eq!(shown[0], (a.to_string(), 2, "new".to_string(), format!("{a} revision 2")), "newest revision kept");
    assert_eq!(shown[1].0, b);

    // Camera health from the status topic: streaming while its worker's heartbeat
    // goes on, stale once it stops, then streaming under the worker that took it.
    let beating = Arc::new(AtomicBool::new(true));
    let heart = {
        let (conn, beating) = (conn.clone(), Arc::clone(&beating));
        std::thread::spawn(move || {
            while beating.load(Ordering::SeqCst) {
                let beat = status("cam-1", "worker-1", pb::CameraState::Streaming).encode_to_vec();
                send(&conn, STATUS, &[("cam-1".into(), beat)]);
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    wait_for("cam-1 streaming under worker-1", Duration::from_secs(10), || {
        (op.camera("cam-1") == Some(("streaming".into(), "worker-1".into()))).then_some(())
    });
    beating.store(false, Ordering::SeqCst);
    heart.join().unwrap();
    wait_for("cam-1 to show stale", Duration::from_secs(10), || {
        (op.camera("cam-1").map(|c| c.0).as_deref() == Some("stale")).then_some(())
    });
    send(&conn, STATUS, &[("cam-1".into(), status("cam-1", "worker-2", pb::CameraState::Streaming).encode_to_vec())]);
    wait_for("cam-1 streaming under worker-2", Duration::from_secs(10), || {
        (op.camera("cam-1") == Some(("streaming".into(), "worker-2".into()))).then_some(())
    });

    // A listed camera nobody reports on is stale; taken off the list, it is gone.
    wait_for("cam-3 listed as stale", Duration::from_secs(10), || {
        (op.camera("cam-3").map(|c| c.0).as_deref() == Some("stale")).then_some(())
    });
    publish(&conn, ASSIGNMENTS, &[("cam-3".to_string(), None)], Duration::from_secs(10)).unwrap();
    wait_for("cam-3 gone from camera health", Duration::from_secs(10), || op.camera("cam-3").is_none().then_some(()));

    // A district: the north viewer sees cam-1's incident and camera only; the south
    // incident's detail and evidence are answered as if it did not exist.
    send(&conn, STATUS, &[("cam-2".into(), status("cam-2", "worker-1", pb::CameraState::Streaming).encode_to_vec())]);
    wait_for("cam-2's status", Duration::from_secs(10), || op.camera("cam-2"));
    let north = Session::login_as(&addr, "zhang");
    let seen: Vec<String> = north.incidents().into_iter().map(|i| i.0).collect();
    assert_eq!(seen, [a.to_string()], "the north viewer's feed");
    assert_eq!(north.status_of(&format!("/api/incidents/{a}")).0, 200);
    for path in [
        format!("/api/incidents/{b}"),
        format!("/evidence/incidents/{b}/snapshot.jpg"),
        format!("/evidence/incidents/{b}/clip.mp4"),
        "/evidence/cameras/cam-2/thumbnail.jpg".to_string(),
    ] {
        assert_eq!(north.status_of(&path).0, 404, "{path} for the north viewer");
    }
    assert!(north.camera("cam-2").is_none() && north.camera("cam-1").is_some(), "the north viewer's cameras");
    let filters = north.get("/api/filters");
    assert_eq!(filters["cameras"], serde_json::json!(["cam-1"]), "{filters}");

    // A decision goes out on the reviews topic, keyed by the incident.
    assert_eq!(op.review(a, "acknowledge"), 200);
    let decision = wait_for("the decision on the reviews topic", Duration::from_secs(20), || {
        let all = read_all(&conn, REVIEWS, Duration::from_secs(5)).ok()?;
        all.get(a).map(|body| pb::Incident::decode(body.as_slice()).unwrap())
    });
    let review = decision.review.clone().unwrap();
    assert_eq!(decision.phase, pb::Phase::Reviewed as i32);
    assert_eq!(review.action, pb::ReviewAction::Acknowledged as i32);
    assert_eq!(review.operator, "li.wei");

    // A restart resumes: an incident published while the console was down shows once.
    console.signal("TERM");
    assert_eq!(console.wait_exit(Duration::from_secs(20)), 0, "{}", console.stderr());
    let c = "0190aaaa-0000-7000-8000-000000000003";
    send_incidents(&conn, &[incident(c, "cam-2", pb::Phase::Started, 1)]);
    let (mut console, addr) = start_console(&config);
    let op = Session::login(&addr);
    let before_rebuild = wait_for("three incidents after the restart", Duration::from_secs(20), || {
        let list = op.incidents();
        (list.len() == 3).then_some(list)
    });
    assert_eq!(before_rebuild[0].2, "acknowledged");
    console.signal("TERM");
    assert_eq!(console.wait_exit(Duration::from_secs(20)), 0, "{}", console.stderr());

    // Rebuild: the database deleted, the same incidents and decisions come back.
    let db = dir.path().join("data/console");
    std::fs::remove_dir_all(&db).unwrap();
    let (console, addr) = start_console(&config);
    let op = Session::login(&addr);
    let rebuilt = wait_for("the rebuilt feed", Duration::from_secs(30), || {
        let list = op.incidents();
        (list == before_rebuild).then_some(list)
    });
    println!("rebuilt: {rebuilt:?}");
    let timeline = op.get(&format!("/api/incidents/{a}"))["timeline"].as_array().unwrap().len();
    assert_eq!(timeline, 3, "STARTED, UPDATED and the decision, each once");
    wait_for("cam-1's status rebuilt", Duration::from_secs(10), || {
        (op.camera("cam-1").map(|c| c.1).as_deref() == Some("worker-2")).then_some(())
    });
    let log = console.stderr();
    assert!(!log.contains("panicked"), "{log}");
    drop(console);
    drop(broker);
}

/// Evidence written by other workers, in the object storage they upload to: the
/// shared console streams it with byte ranges to accounts of its district, refuses
/// it to others and to URIs outside its bucket, and audits each opening.
#[cfg(feature = "s3")]
#[test]
fn the_shared_console_serves_other_workers_evidence_from_object_storage() {
    let (broker, conn) = support::start_broker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        create_topics(&conn, &[INCIDENTS, REVIEWS], 1, Duration::from_secs(10)).await.unwrap();
        create_compacted_topic(&conn, STATUS, 1, Duration::from_secs(10)).await.unwrap();
        create_compacted_topic(&conn, ASSIGNMENTS, 1, Duration::from_secs(10)).await.unwrap();
    });
    let (_s3, store, port) = support::s3::bucket();
    // Larger than one streamed chunk (64 KiB), so the body comes in several.
    let snapshot: String = (0..5_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let clip: String = (0..300_000u32).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
    store.put("evidence/2026-12-02/cam-2/inc-s3.jpg", snapshot.as_bytes()).unwrap();
    store.put("evidence/2026-12-02/cam-2/inc-s3.mp4", clip.as_bytes()).unwrap();
    let with_evidence = |id: &str, snapshot: &str, clip: &str| {
        let mut e = incident(id, "cam-2", pb::Phase::Started, 1);
        e.evidence = Some(pb::Evidence { snapshot_uri: snapshot.into(), clip_uri: clip.into(), ..Default::default() });
        e
    };
    let uri = |name: &str| format!("s3://evidence/city/evidence/2026-12-02/cam-2/{name}");
    send_incidents(
        &conn,
        &[
            with_evidence("inc-s3", &uri("inc-s3.jpg"), &uri("inc-s3.mp4")),
            // Not uploaded (yet): the store says so.
            with_evidence("inc-later", &uri("inc-later.jpg"), &uri("inc-later.mp4")),
            // Another bucket: never fetched.
            with_evidence("inc-foreign", "s3://elsewhere/city/evidence/x.jpg", "s3://elsewhere/city/evidence/x.mp4"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), &broker.bootstrap(), &support::s3::config_table(port));
    let (console, addr) = start_console(&config);
    let operator = Session::login(&addr);
    wait_for("the incidents in the console", Duration::from_secs(20), || {
        (operator.incidents().len() == 3).then_some(())
    });
    let get = |s: &Session, path: &str, range: Option<&str>| {
        let mut headers = vec![("Cookie", s.cookie.as_str())];
        if let Some(r) = range {
            headers.push(("Range", r));
        }
        http(&addr, "GET", path, &headers, "")
    };
    let snap = "/evidence/incidents/inc-s3/snapshot.jpg";
    let video = "/evidence/incidents/inc-s3/clip.mp4";

    let (status, head, body) = get(&operator, snap, None);
    assert_eq!(status, 200, "{head}{body}");
    assert!(head.contains("content-type: image/jpeg"), "{head}");
    assert_eq!(body, snapshot);
    let (status, _, body) = get(&operator, video, None);
    assert_eq!((status, body.len()), (200, clip.len()));
    assert!(body == clip, "the whole clip, as stored");
    let (status, head, body) = get(&operator, video, Some("bytes=100000-100099"));
    assert_eq!(status, 206, "{head}");
    assert!(head.contains("content-range: bytes 100000-100099/300000"), "{head}");
    assert_eq!(body, clip[100_000..100_100]);
    let (status, _, body) = get(&operator, video, Some("bytes=-10"));
    assert_eq!((status, body.as_str()), (206, &clip[clip.len() - 10..]));
    let (status, head, _) = get(&operator, video, Some("bytes=400000-"));
    assert_eq!(status, 416, "{head}");
    // The object's validators come back; asked again with its ETag: 304.
    let (status, head, _) = get(&operator, video, None);
    let etag = head.lines().find_map(|l| l.strip_prefix("etag: ")).unwrap_or_else(|| panic!("no ETag: {head}"));
    assert!(head.contains("last-modified: "), "{head}");
    let conditional = |s: &Session, name: &str, value: &str| {
        http(&addr, "GET", video, &[("Cookie", s.cookie.as_str()), (name, value)], "")
    };
    let (status_again, head_again, body) = conditional(&operator, "If-None-Match", etag.trim());
    assert_eq!((status, status_again, body.len()), (200, 304, 0), "{head_again}");
    let (status, _, body) = conditional(&operator, "If-None-Match", "\"another-version\"");
    assert_eq!((status, body.len()), (200, clip.len()));
    let (status, _, body) = get(&operator, "/evidence/incidents/inc-later/clip.mp4", None);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("not in object storage"), "{body}");
    assert_eq!(get(&operator, "/evidence/incidents/inc-foreign/snapshot.jpg", None).0, 404);

    // The north viewer does not see the south's evidence, by any URL.
    let north = Session::login_as(&addr, "zhang");
    assert_eq!(get(&north, snap, None).0, 404);
    assert_eq!(get(&north, video, Some("bytes=0-99")).0, 404);

    // Openings are audited (not each seek), and so are refusals.
    let admin = Session::login_as(&addr, "root");
    let records = admin.get("/api/audit?limit=500")["records"].as_array().unwrap().clone();
    let evidence: Vec<(String, String, String, String)> = records
        .iter()
        .filter(|r| r["action"] == "evidence")
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("user"), s("target"), s("detail"), s("outcome"))
        })
        .collect();
    let count = |user: &str, target: &str, detail: &str, outcome: &str| {
        evidence
            .iter()
            .filter(|e| (e.0.as_str(), e.1.as_str(), e.2.as_str(), e.3.as_str()) == (user, target, detail, outcome))
            .count()
    };
    assert_eq!(count("li.wei", "inc-s3", "snapshot", "ok"), 1, "{evidence:?}");
    // The first whole GET and the three conditional ones (a 304 shows the clip too),
    // not the ranges after the start.
    assert_eq!(count("li.wei", "inc-s3", "clip", "ok"), 4, "the whole clip, not its later ranges: {evidence:?}");
    assert_eq!(count("zhang", "inc-s3", "snapshot", "refused"), 1, "{evidence:?}");
    assert_eq!(count("zhang", "inc-s3", "clip", "refused"), 1, "{evidence:?}");
    drop(console);
    drop(broker);
}
