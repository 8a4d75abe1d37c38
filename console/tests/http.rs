//! The console over real HTTP on loopback: login and roles, CSRF, decisions and their
//! conflicts, evidence access and byte ranges, the live feed's catch-up after a
//! reconnect, redelivered events, and a restart keeping everything.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use console::health::NoCameras;
use console::users::{upsert_user, Role};
use console::{Console, ConsoleSettings, ReviewPublisher};
use proto::v1 as pb;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Stands in for the router (this crate never links it): keeps what it was given,
/// or refuses it as a router whose outbox cannot write would.
#[derive(Default)]
struct Published(Mutex<Vec<pb::Incident>>, std::sync::atomic::AtomicBool);
impl ReviewPublisher for Published {
    fn publish(&self, event: &pb::Incident) -> Result<(), console::error::BoxError> {
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("outbox: no space left on device".into());
        }
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

fn event(n: u32, phase: pb::Phase, revision: u64) -> pb::Incident {
    pb::Incident {
        id: format!("01900000-0000-7000-8000-{n:012}"),
        kind: pb::IncidentKind::SidewalkParking as i32,
        phase: phase as i32,
        revision,
        camera: Some(pb::CameraRef { camera_id: format!("cam-{}", n % 2), ..Default::default() }),
        zone: Some(pb::ZoneRef { zone_id: "z1".into(), name: "Zone one".into(), kind: 1 }),
        started_at_ms: 1_764_000_000_000 + i64::from(n) * 1000,
        updated_at_ms: 1_764_000_000_000 + i64::from(n) * 1000 + revision as i64,
        ended_at_ms: (phase == pb::Phase::Ended).then_some(1_764_000_100_000),
        dwell_secs: 120.0,
        object_count: 1,
        summary: format!("car parked {n}"),
        evidence: Some(pb::Evidence {
            snapshot_uri: format!("evidence/d/cam/{n}-r{revision}.jpg"),
            clip_uri: format!("evidence/d/cam/{n}.mp4"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    console: Arc<Console>,
    published: Arc<Published>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

async fn start(dir: tempfile::TempDir) -> Fixture {
    start_with(dir, false).await
}

async fn start_with(dir: tempfile::TempDir, secure_cookies: bool) -> Fixture {
    let users = dir.path().join("users.toml");
    if !users.exists() {
        upsert_user(&users, "ops", Role::Operator, "operator-password").unwrap();
        upsert_user(&users, "eve", Role::Viewer, "viewer-password!").unwrap();
    }
    let console = Console::open(ConsoleSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: dir.path().join("console.db"),
        users_file: users,
        data_dir: dir.path().to_path_buf(),
        secure_cookies,
        session_ttl: Duration::from_secs(600),
    })
    .unwrap();
    let published = Arc::new(Published::default());
    let shutdown = CancellationToken::new();
    let (addr, server) = Arc::clone(&console)
        .serve(Arc::new(NoCameras), Arc::clone(&published) as Arc<dyn ReviewPublisher>, shutdown.clone())
        .await
        .unwrap();
    Fixture { dir, console, published, addr, shutdown, server }
}

impl Fixture {
    async fn stop(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.server).await.expect("server stops").unwrap();
        self.dir
    }
}

struct Reply {
    status: u16,
    /// Lower-cased, for `contains`; `header` gives a value as sent.
    headers: String,
    raw_headers: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.raw_headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&self.body)))
    }
}

async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let raw_headers = String::from_utf8_lossy(&buf[..split]).to_string();
    let headers = raw_headers.to_lowercase();
    let status = headers.split_whitespace().nth(1).unwrap().parse().unwrap();
    Reply { status, headers, raw_headers, body: buf[split + 4..].to_vec() }
}

/// Logs in; returns (cookie header value, CSRF token).
async fn login(addr: SocketAddr, name: &str, password: &str) -> (String, String) {
    let form = format!("username={name}&password={password}");
    let r = http(addr, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], &form).await;
    assert_eq!(r.status, 303);
    let cookie = r.headers.lines().find_map(|l| l.strip_prefix("set-cookie: ")).expect("a session cookie");
    assert!(cookie.contains("httponly") && cookie.contains("samesite=strict"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let me = http(addr, "GET", "/api/me", &[("Cookie", &cookie)], "").await.json();
    (cookie, me["csrf_token"].as_str().unwrap().to_string())
}

async fn decide(addr: SocketAddr, who: &(String, String), id: &str, action: &str, note: &str) -> Reply {
    let body = serde_json::json!({ "action": action, "note": note }).to_string();
    let headers = [("Cookie", who.0.as_str()), ("X-CSRF-Token", who.1.as_str()), ("Content-Type", "application/json")];
    http(addr, "POST", &format!("/api/incidents/{id}/review"), &headers, &body).await
}

/// Reads server-sent events until `count` incident events arrived; returns their ids.
async fn read_events(reader: &mut BufReader<TcpStream>, count: usize) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut seq = 0;
    let mut line = String::new();
    while out.len() < count {
        line.clear();
        let n =
            tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await.expect("an event").unwrap();
        assert!(n > 0, "the feed closed");
        if let Some(id) = line.strip_prefix("id: ") {
            seq = id.trim().parse().unwrap();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
            if let Some(id) = v["id"].as_str() {
                out.push((seq, id.to_string()));
            }
        }
    }
    out
}

async fn open_feed(addr: SocketAddr, cookie: &str, last_event_id: Option<i64>, since: i64) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET /api/feed?since={since} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n");
    if let Some(id) = last_event_id {
        req.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    assert!(line.contains(" 200 "), "{line}");
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_csrf_decisions_and_evidence() {
    let f = start(tempfile::tempdir().unwrap()).await;
    f.console.apply(&[event(1, pb::Phase::Started, 1), event(2, pb::Phase::Started, 1)]).unwrap();
    let id1 = event(1, pb::Phase::Started, 1).id;
    std::fs::create_dir_all(f.dir.path().join("evidence/d/cam")).unwrap();
    let clip: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(f.dir.path().join("evidence/d/cam/1.mp4"), &clip).unwrap();

    // Nothing without a login; a wrong password gives no cookie.
    for path in ["/api/incidents", &format!("/api/incidents/{id1}"), &format!("/evidence/incidents/{id1}/clip.mp4")] {
        assert_eq!(http(f.addr, "GET", path, &[], "").await.status, 401, "{path}");
    }
    let bad = http(
        f.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "username=ops&password=nope",
    )
    .await;
    assert_eq!(bad.status, 303);
    assert!(bad.headers.contains("location: /login?failed=1") && !bad.headers.contains("set-cookie"));
    let cross = http(
        f.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://elsewhere.example")],
        "username=ops&password=operator-password",
    )
    .await;
    assert_eq!(cross.status, 403, "a login form posted from another site");

    let ops = login(f.addr, "ops", "operator-password").await;
    let eve = login(f.addr, "eve", "viewer-password!").await;

    // Evidence for a logged-in browser, with byte ranges for the video player.
    let full = http(f.addr, "GET", &format!("/evidence/incidents/{id1}/clip.mp4"), &[("Cookie", &eve.0)], "").await;
    assert_eq!((full.status, full.body.as_slice()), (200, clip.as_slice()));
    let part = http(
        f.addr,
        "GET",
        &format!("/evidence/incidents/{id1}/clip.mp4"),
        &[("Cookie", &eve.0), ("Range", "bytes=100-199")],
        "",
    )
    .await;
    assert_eq!(part.status, 206);
    assert!(part.headers.contains("content-range: bytes 100-199/1000"), "{}", part.headers);
    assert_eq!(part.body, &clip[100..200]);
    // Conditional requests: the file's Last-Modified, a 304 when asked again with it,
    // and a failed precondition for a file changed since.
    let clip_url = format!("/evidence/incidents/{id1}/clip.mp4");
    let modified =
        full.header("Last-Modified").unwrap_or_else(|| panic!("no Last-Modified: {}", full.headers)).to_string();
    assert!(full.headers.contains("cache-control: private, no-store"), "{}", full.headers);
    let again = http(f.addr, "GET", &clip_url, &[("Cookie", &eve.0), ("If-Modified-Since", &modified)], "").await;
    assert_eq!((again.status, again.body.len()), (304, 0), "{}", again.headers);
    let old = "Fri, 09 Aug 1996 14:21:40 GMT";
    let newer = http(f.addr, "GET", &clip_url, &[("Cookie", &eve.0), ("If-Modified-Since", old)], "").await;
    assert_eq!((newer.status, newer.body.as_slice()), (200, clip.as_slice()));
    let changed = http(f.addr, "GET", &clip_url, &[("Cookie", &eve.0), ("If-Unmodified-Since", old)], "").await;
    assert_eq!(changed.status, 412, "{}", changed.headers);
    let stranger = http(f.addr, "GET", &clip_url, &[("If-Modified-Since", &modified)], "").await;
    assert_eq!(stranger.status, 401, "a condition is no way around the login");
    let missing =
        http(f.addr, "GET", &format!("/evidence/incidents/{id1}/snapshot.jpg"), &[("Cookie", &eve.0)], "").await;
    assert_eq!(missing.status, 404, "a snapshot not on disk");

    // The viewer cannot decide; nobody can without the CSRF token.
    assert_eq!(decide(f.addr, &eve, &id1, "acknowledge", "").await.status, 403);
    let no_csrf = (ops.0.clone(), "0".repeat(64));
    assert_eq!(decide(f.addr, &no_csrf, &id1, "acknowledge", "").await.status, 403);
    assert_eq!(decide(f.addr, &ops, &id1, "dismiss", "  ").await.status, 400, "dismissing needs a reason");
    assert_eq!(decide(f.addr, &ops, &id1, "frobnicate", "").await.status, 400);
    assert_eq!(decide(f.addr, &ops, "no-such-id", "acknowledge", "").await.status, 404);
    assert!(f.published.0.lock().unwrap().is_empty(), "refused decisions are not published");

    let ack = decide(f.addr, &ops, &id1, "acknowledge", "on it").await;
    assert_eq!(ack.status, 200, "{}", String::from_utf8_lossy(&ack.body));
    assert_eq!(ack.json()["incident"]["review"], "acknowledged");
    assert_eq!(decide(f.addr, &ops, &id1, "acknowledge", "").await.status, 409, "already acknowledged");
    assert_eq!(decide(f.addr, &ops, &id1, "resolve", "towed").await.status, 200);
    assert_eq!(decide(f.addr, &ops, &id1, "dismiss", "late").await.status, 409, "resolved is final");

    // Each decision went to the router as a REVIEWED event with the incident's state.
    let published = f.published.0.lock().unwrap().clone();
    assert_eq!(published.len(), 2);
    assert!(published
        .iter()
        .all(|e| e.phase == pb::Phase::Reviewed as i32 && e.id == id1 && e.summary == "car parked 1"));
    let actions: Vec<(i32, String, String)> =
        published.iter().map(|e| e.review.clone().unwrap()).map(|r| (r.action, r.operator, r.note)).collect();
    assert_eq!(
        actions,
        [
            (pb::ReviewAction::Acknowledged as i32, "ops".to_string(), "on it".to_string()),
            (pb::ReviewAction::Resolved as i32, "ops".to_string(), "towed".to_string())
        ]
    );
    // The router hands them back to the console (a console destination): no change.
    f.console.apply(&published).unwrap();
    let detail = http(f.addr, "GET", &format!("/api/incidents/{id1}"), &[("Cookie", &eve.0)], "").await.json();
    let phases: Vec<&str> =
        detail["timeline"].as_array().unwrap().iter().map(|t| t["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["STARTED", "REVIEWED", "REVIEWED"]);
    assert_eq!(detail["incident"]["review"], "resolved");

    // Filters and paging.
    let page = http(f.addr, "GET", "/api/incidents?state=new", &[("Cookie", &eve.0)], "").await.json();
    let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [event(2, pb::Phase::Started, 1).id]);
    let first = http(f.addr, "GET", "/api/incidents?limit=1", &[("Cookie", &eve.0)], "").await.json();
    let next = first["next"].as_str().unwrap().to_string();
    let second =
        http(f.addr, "GET", &format!("/api/incidents?limit=1&before={next}"), &[("Cookie", &eve.0)], "").await.json();
    assert_eq!(second["items"][0]["id"], id1, "newest first, then the older one");
    assert!(second["next"].is_null());
    assert_eq!(http(f.addr, "GET", "/api/incidents?state=bogus", &[("Cookie", &eve.0)], "").await.status, 400);

    // The audit log: admins only; it has the decisions and the refused login.
    assert_eq!(http(f.addr, "GET", "/api/audit", &[("Cookie", &ops.0)], "").await.status, 403);
    let audit = f.console.store().audit_page(None, 100).unwrap();
    let summary: Vec<(String, String, String)> =
        audit.iter().map(|a| (a.entry.user.clone(), a.entry.action.clone(), a.entry.outcome.clone())).collect();
    assert!(summary.contains(&("ops".into(), "incident.acknowledge".into(), "ok".into())), "{summary:?}");
    assert!(summary.contains(&("ops".into(), "incident.resolve".into(), "ok".into())), "{summary:?}");
    assert!(summary.contains(&("ops".into(), "login".into(), "refused".into())), "{summary:?}");

    // Logging out ends the session.
    let out = http(f.addr, "POST", "/logout", &[("Cookie", &eve.0), ("X-CSRF-Token", &eve.1)], "").await;
    assert_eq!(out.status, 200);
    assert_eq!(http(f.addr, "GET", "/api/me", &[("Cookie", &eve.0)], "").await.status, 401);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_catches_up_after_a_reconnect_and_a_restart_keeps_everything() {
    let f = start(tempfile::tempdir().unwrap()).await;
    let ops = login(f.addr, "ops", "operator-password").await;
    let page = http(f.addr, "GET", "/api/incidents", &[("Cookie", &ops.0)], "").await.json();
    let since = page["seq"].as_i64().unwrap();

    let mut feed = open_feed(f.addr, &ops.0, None, since).await;
    f.console.apply(&[event(1, pb::Phase::Started, 1)]).unwrap();
    let got = read_events(&mut feed, 1).await;
    assert_eq!(got[0].1, event(1, pb::Phase::Started, 1).id);
    let last_seen = got[0].0;
    drop(feed);

    // While the browser is away: two new incidents and a change to the first.
    f.console.apply(&[event(2, pb::Phase::Started, 1), event(3, pb::Phase::Started, 1)]).unwrap();
    f.console.apply(&[event(1, pb::Phase::Ended, 2)]).unwrap();
    // Redelivery of events already stored changes nothing and announces nothing.
    f.console.apply(&[event(2, pb::Phase::Started, 1)]).unwrap();

    let mut feed = open_feed(f.addr, &ops.0, Some(last_seen), 0).await;
    let missed = read_events(&mut feed, 3).await;
    let ids: Vec<String> = missed.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(
        ids,
        [event(2, pb::Phase::Started, 1).id, event(3, pb::Phase::Started, 1).id, event(1, pb::Phase::Started, 1).id]
    );
    assert!(missed.windows(2).all(|w| w[0].0 < w[1].0), "in change order: {missed:?}");
    // Then live again.
    f.console.apply(&[event(4, pb::Phase::Started, 1)]).unwrap();
    assert_eq!(read_events(&mut feed, 1).await[0].1, event(4, pb::Phase::Started, 1).id);
    drop(feed);
    assert_eq!(decide(f.addr, &ops, &event(3, pb::Phase::Started, 1).id, "acknowledge", "").await.status, 200);

    // Logging out ends the open feed of that login (checked every few seconds).
    let eve = login(f.addr, "eve", "viewer-password!").await;
    let mut feed = open_feed(f.addr, &eve.0, None, 0).await;
    let out = http(f.addr, "POST", "/logout", &[("Cookie", &eve.0), ("X-CSRF-Token", &eve.1)], "").await;
    assert_eq!(out.status, 200);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        let mut line = String::new();
        loop {
            line.clear();
            if feed.read_line(&mut line).await.unwrap_or(0) == 0 || line.trim() == "0" {
                return;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the feed of a logged-out session ends");

    // A restart: same database, same sessions, same decisions.
    let dir = f.stop().await;
    let f = start(dir).await;
    let me = http(f.addr, "GET", "/api/me", &[("Cookie", &ops.0)], "").await;
    assert_eq!(me.status, 200, "the login survives a restart");
    let page = http(f.addr, "GET", "/api/incidents", &[("Cookie", &ops.0)], "").await.json();
    let rows = page["items"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let three = rows.iter().find(|r| r["id"] == event(3, pb::Phase::Started, 1).id).unwrap();
    assert_eq!(three["review"], "acknowledged");
    let one = rows.iter().find(|r| r["id"] == event(1, pb::Phase::Started, 1).id).unwrap();
    assert_eq!((one["phase"].as_str(), one["revision"].as_i64()), (Some("ended"), Some(2)));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_viewer_gets_only_its_districts_live_events() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    upsert_user(&users, "ops", Role::Operator, "operator-password").unwrap();
    upsert_user(&users, "north", Role::Viewer, "viewer-password!").unwrap();
    console::users::set_district(&users, "north", &[], &["g-north".to_string()]).unwrap();
    let f = start(dir).await;
    let in_grid = |n: u32, grid: &str| {
        let mut e = event(n, pb::Phase::Started, 1);
        e.camera.as_mut().unwrap().grid = grid.into();
        e
    };
    // Caught up after a reconnect and live: the other grid's incidents never arrive.
    f.console.apply(&[in_grid(1, "g-south"), in_grid(2, "g-north")]).unwrap();
    let viewer = login(f.addr, "north", "viewer-password!").await;
    let mut feed = open_feed(f.addr, &viewer.0, Some(0), 0).await;
    assert_eq!(read_events(&mut feed, 1).await[0].1, in_grid(2, "g-north").id);
    f.console.apply(&[in_grid(3, "g-south")]).unwrap();
    f.console.apply(&[in_grid(4, "g-north")]).unwrap();
    assert_eq!(read_events(&mut feed, 1).await[0].1, in_grid(4, "g-north").id, "the south incident was skipped");
    let page = http(f.addr, "GET", "/api/incidents", &[("Cookie", &viewer.0)], "").await.json();
    let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [in_grid(4, "g-north").id.as_str(), in_grid(2, "g-north").id.as_str()]);
    // The whole city's operator sees all four.
    let ops = login(f.addr, "ops", "operator-password").await;
    let page = http(f.addr, "GET", "/api/incidents", &[("Cookie", &ops.0)], "").await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    drop(feed);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_the_router_refused_is_sent_once_it_takes_it_again_even_after_a_restart() {
    let f = start(tempfile::tempdir().unwrap()).await;
    f.console.apply(&[event(1, pb::Phase::Started, 1)]).unwrap();
    let id = event(1, pb::Phase::Started, 1).id;
    let ops = login(f.addr, "ops", "operator-password").await;
    f.published.1.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = decide(f.addr, &ops, &id, "acknowledge", "").await;
    assert_eq!(r.status, 200, "the decision is the operator's record: stored");
    assert_eq!(r.json()["published"], false, "but not sent on");
    assert_eq!(r.json()["incident"]["review"], "acknowledged");
    // The router stays refusing until this console stops; the next one sends it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(f.published.0.lock().unwrap().is_empty());
    let f = start(f.stop().await).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let sent = loop {
        let got: Vec<pb::Incident> = f.published.0.lock().unwrap().clone();
        if !got.is_empty() || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sent.len(), 1, "sent once after the restart: {sent:?}");
    assert_eq!((sent[0].id.as_str(), sent[0].phase), (id.as_str(), pb::Phase::Reviewed as i32));
    assert_eq!(sent[0].review.as_ref().unwrap().operator, "ops");
    // And not again: it is no longer waiting.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(f.published.0.lock().unwrap().len(), 1);
    f.stop().await;
}

/// Resident memory of this process, bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// A login form posted from `from` (any 127.x.y.z: all of 127/8 is loopback).
async fn login_from(addr: SocketAddr, from: std::net::IpAddr, name: &str, password: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let Ok(mut s) = socket.connect(addr).await else { return 0 };
    let body = format!("username={name}&password={password}");
    let req = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_bad_logins_stay_bounded_and_the_operator_still_gets_in() {
    let f = start(tempfile::tempdir().unwrap()).await;
    let before = rss_bytes();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // 500 at once from 100 addresses, wrong passwords for the operator and for
    // names that do not exist; one of them with a 100 kB name.
    let long_name = "x".repeat(100_000);
    let mut attempts = Vec::new();
    for i in 0..500u32 {
        let from = std::net::IpAddr::from([127, 0, 1, (i % 100) as u8 + 1]);
        let name = match i {
            0 => long_name.clone(),
            _ if i % 2 == 0 => "ops".to_string(),
            _ => format!("guess{i}"),
        };
        let addr = f.addr;
        attempts.push(tokio::spawn(async move { login_from(addr, from, &name, "wrong-password").await }));
    }
    let storm = std::time::Instant::now();
    let mut by_status = std::collections::BTreeMap::new();
    for a in attempts {
        *by_status.entry(a.await.unwrap()).or_insert(0u32) += 1;
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let grew = peak.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(before);
    println!("500 bad logins: {by_status:?}; resident memory grew by at most {} MiB", grew >> 20);
    assert!(by_status.keys().all(|s| [303, 400, 413, 429, 503].contains(s)), "{by_status:?}");
    // The global limit: a burst of 20, then 20 a second.
    let hashed_at_most = 20 + (20.0 * storm.elapsed().as_secs_f64()).ceil() as u32;
    assert!(by_status.get(&303).copied().unwrap_or(0) <= hashed_at_most, "{by_status:?} ({hashed_at_most})");
    assert!(by_status.get(&429).copied().unwrap_or(0) >= 400, "{by_status:?}");
    assert!(grew < 160 << 20, "memory bounded by the hashes at once, not the requests: grew {} MiB", grew >> 20);

    // The operator, from the control room's own address, still gets in (once the
    // global rate has room again).
    let control_room: std::net::IpAddr = [127, 0, 2, 1].into();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = login_from(f.addr, control_room, "ops", "operator-password").await;
        if status == 303 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the operator could not log in: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_console_names_its_cookie_with_the_host_prefix_and_takes_no_other() {
    let f = start_with(tempfile::tempdir().unwrap(), true).await;
    let form = "username=ops&password=operator-password";
    let r = http(f.addr, "POST", "/login", &[("Content-Type", "application/x-www-form-urlencoded")], form).await;
    assert_eq!(r.status, 303);
    let cookie = r.headers.lines().find_map(|l| l.strip_prefix("set-cookie: ")).expect("a session cookie");
    assert!(
        cookie.starts_with("__host-sw_session=") && cookie.contains("; secure") && cookie.contains("path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("domain="), "host-only: {cookie}");
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    let ok = http(f.addr, "GET", "/api/me", &[("Cookie", &format!("__Host-sw_session={token}"))], "").await;
    assert_eq!(ok.status, 200);
    let plain = http(f.addr, "GET", "/api/me", &[("Cookie", &format!("sw_session={token}"))], "").await;
    assert_eq!(plain.status, 401, "the unprefixed name is not accepted by a secure console");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_ends_the_accounts_sessions_and_no_others() {
    let f = start(tempfile::tempdir().unwrap()).await;
    let ops = login(f.addr, "ops", "operator-password").await;
    let eve = login(f.addr, "eve", "viewer-password!").await;
    let users = f.dir.path().join("users.toml");
    // As `streetwatch console-user` does it, then the console restarts.
    upsert_user(&users, "ops", Role::Operator, "a-new-operator-password").unwrap();
    let f = start(f.stop().await).await;
    let me = |cookie: &str| {
        let cookie = cookie.to_string();
        async move { http(f.addr, "GET", "/api/me", &[("Cookie", &cookie)], "").await.status }
    };
    assert_eq!(me(&ops.0).await, 401, "the session opened with the old password has ended");
    assert_eq!(me(&eve.0).await, 200, "another account's session is untouched");
    let old = http(
        f.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "username=ops&password=operator-password",
    )
    .await;
    assert!(old.headers.contains("location: /login?failed=1"), "{}", old.headers);
    let new = login(f.addr, "ops", "a-new-operator-password").await;
    assert_eq!(me(&new.0).await, 200);
    f.stop().await;
}
