//! `streetwatch-bench bench-console`: the console with many stored incidents, measured over
//! real HTTP on loopback as a browser uses it: feed pages (first, deep, filtered),
//! incident detail, live-feed latency (an event stored → the browser's stream has it)
//! and the catch-up of a reconnecting browser.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use console::health::NoCameras;
use console::users::{upsert_user, Role};
use console::{Console, ConsoleSettings, ReviewPublisher};
use proto::v1 as pb;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::cli::BenchConsoleArgs;
use streetwatch::exit_code;

const CAMERAS: usize = 20;
const PASSWORD: &str = "bench-console-password";

/// The bench measures the console alone: no cameras, and decisions go nowhere.
pub(super) struct NoRouter;
impl ReviewPublisher for NoRouter {
    fn publish(&self, _: &pb::Incident) -> Result<(), console::error::BoxError> {
        Ok(())
    }
}

fn incident(n: usize, phase: pb::Phase, revision: u64, base_ms: i64) -> pb::Incident {
    let kind =
        [pb::IncidentKind::SidewalkParking, pb::IncidentKind::StreetVending, pb::IncidentKind::BikeCluster][n % 3];
    let started = base_ms + n as i64 * 30_000;
    pb::Incident {
        id: format!("0190{n:08x}-0000-7000-8000-000000000000"),
        kind: kind as i32,
        phase: phase as i32,
        revision,
        camera: Some(pb::CameraRef { camera_id: format!("cam-{:02}", n % CAMERAS), ..Default::default() }),
        zone: Some(pb::ZoneRef {
            zone_id: format!("zone-{:02}", n % (CAMERAS * 2)),
            name: format!("Zone {}", n % (CAMERAS * 2)),
            kind: pb::ZoneKind::Sidewalk as i32,
        }),
        started_at_ms: started,
        updated_at_ms: started + revision as i64 * 60_000,
        ended_at_ms: (phase == pb::Phase::Ended).then_some(started + 600_000),
        dwell_secs: 120.0 + revision as f64 * 60.0,
        object_count: 1,
        objects: vec![pb::DetectedObject {
            class_name: "car".into(),
            score: 0.8,
            r#box: Some(pb::NormalizedBox { x: 0.5, y: 0.1, width: 0.1, height: 0.08 }),
            track_id: 7,
        }],
        severity: pb::Severity::Medium as i32,
        evidence: Some(pb::Evidence {
            snapshot_uri: format!("evidence/2026-11-25/cam/{n}-r{revision}.jpg"),
            clip_uri: format!("evidence/2026-11-25/cam/{n}.mp4"),
            ..Default::default()
        }),
        summary: format!("car stationary {} s in 'Zone {}'", 120 + revision * 60, n % 40),
        cause: "dwell_reached".into(),
        ..Default::default()
    }
}

pub(super) async fn request(addr: SocketAddr, head: &str, body: &str) -> anyhow::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(
        format!("{head}Host: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow!("no HTTP header end"))?;
    let headers = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = headers.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, headers, buf[split + 4..].to_vec()))
}

pub(super) async fn get(addr: SocketAddr, path: &str, cookie: &str) -> anyhow::Result<Vec<u8>> {
    let (status, _, body) = request(addr, &format!("GET {path} HTTP/1.1\r\nCookie: {cookie}\r\n"), "").await?;
    if status != 200 {
        bail!("GET {path}: HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(body)
}

async fn login(addr: SocketAddr) -> anyhow::Result<String> {
    login_as(addr, "bench", PASSWORD).await
}

/// Logs in over HTTP as a browser does; the session cookie (`name=value`).
pub(super) async fn login_as(addr: SocketAddr, name: &str, password: &str) -> anyhow::Result<String> {
    let form = format!("username={name}&password={password}");
    let head = "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n";
    let (_, headers, _) = request(addr, head, &form).await?;
    let cookie = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow!("login refused"))?;
    Ok(cookie.to_string())
}

#[derive(serde::Serialize)]
struct Measured {
    name: String,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    samples: usize,
}

fn summarise(name: &str, mut ms: Vec<f64>) -> Measured {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Measured { name: name.into(), p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1.0), samples: ms.len() }
}

async fn time_gets(addr: SocketAddr, cookie: &str, paths: &[String]) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let t = Instant::now();
        get(addr, p, cookie).await?;
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(out)
}

/// Opens the live feed; returns a reader positioned after the response header.
async fn open_feed(addr: SocketAddr, cookie: &str, since: i64) -> anyhow::Result<BufReader<TcpStream>> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!("GET /api/feed?since={since} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n").as_bytes())
        .await?;
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            bail!("the feed closed");
        }
        if line == "\r\n" {
            return Ok(reader);
        }
    }
}

/// Reads the feed until an event whose data contains `needle` (chunk framing lines
/// and other events are skipped).
async fn read_until(reader: &mut BufReader<TcpStream>, needle: &str) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            bail!("the feed closed");
        }
        if line.starts_with("data:") && line.contains(needle) {
            return Ok(());
        }
    }
}

/// A console of its own in `dir` (database, users file with one operator), on a free
/// loopback port once served.
pub(super) fn open_console(dir: &Path, user: &str, password: &str) -> anyhow::Result<Arc<Console>> {
    let users = dir.join("users.toml");
    upsert_user(&users, user, Role::Operator, password)?;
    Ok(Console::open(ConsoleSettings {
        listen: "127.0.0.1:0".parse()?,
        database: dir.join("console.db"),
        users_file: users,
        data_dir: dir.to_path_buf(),
        secure_cookies: false,
        session_ttl: Duration::from_secs(24 * 3600),
    })?)
}

async fn run_bench(args: &BenchConsoleArgs) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let console = open_console(dir.path(), "bench", PASSWORD)?;
    // Seed: every incident STARTED, UPDATED, and 70 % ENDED, in delivery-sized batches.
    let base_ms = 1_764_000_000_000;
    let n = args.incidents;
    let seeding = Instant::now();
    let mut events = 0usize;
    let mut batch = Vec::new();
    for i in 0..n {
        batch.push(incident(i, pb::Phase::Started, 1, base_ms));
        batch.push(incident(i, pb::Phase::Updated, 2, base_ms));
        if i % 10 < 7 {
            batch.push(incident(i, pb::Phase::Ended, 3, base_ms));
        }
        if batch.len() >= 300 || i + 1 == n {
            events += batch.len();
            let c = Arc::clone(&console);
            let b = std::mem::take(&mut batch);
            tokio::task::spawn_blocking(move || c.apply(&b)).await?.map_err(|e| anyhow!(e))?;
        }
    }
    let seed_secs = seeding.elapsed().as_secs_f64();
    let shutdown = CancellationToken::new();
    let (addr, server) = Arc::clone(&console).serve(Arc::new(NoCameras), Arc::new(NoRouter), shutdown.clone()).await?;
    let cookie = login(addr).await?;
    let r = args.requests.max(10);

    let mut results = Vec::new();
    let first = vec!["/api/incidents?limit=50".to_string(); r];
    results.push(summarise("feed, first page (50)", time_gets(addr, &cookie, &first).await?));
    // A cursor halfway down: keyset pagination must cost the same there.
    let middle = base_ms + (n as i64 / 2) * 30_000;
    let deep = vec![format!("/api/incidents?limit=50&before={middle}_0190ffffffff"); r];
    results.push(summarise(&format!("feed, page at incident {}", n / 2), time_gets(addr, &cookie, &deep).await?));
    let by_camera: Vec<String> =
        (0..r).map(|i| format!("/api/incidents?limit=50&camera=cam-{:02}", i % CAMERAS)).collect();
    results.push(summarise("feed filtered by camera", time_gets(addr, &cookie, &by_camera).await?));
    let two = vec!["/api/incidents?limit=50&kind=bike_cluster&state=open".to_string(); r];
    results.push(summarise("feed filtered by kind and state", time_gets(addr, &cookie, &two).await?));
    let details: Vec<String> =
        (0..r).map(|i| format!("/api/incidents/0190{:08x}-0000-7000-8000-000000000000", (i * 37) % n)).collect();
    results.push(summarise("incident detail", time_gets(addr, &cookie, &details).await?));

    // Live: an event stored (as the router's delivery thread does) → on the stream.
    let page: serde_json::Value = serde_json::from_slice(&get(addr, "/api/incidents?limit=1", &cookie).await?)?;
    let seq = page["seq"].as_i64().unwrap_or(0);
    let mut feed = open_feed(addr, &cookie, seq).await?;
    let mut live = Vec::with_capacity(r);
    for i in 0..r {
        let ev = incident(n + i, pb::Phase::Started, 1, base_ms);
        let needle = ev.id.clone();
        let c = Arc::clone(&console);
        let t = Instant::now();
        tokio::task::spawn_blocking(move || c.apply(&[ev])).await?.map_err(|e| anyhow!(e))?;
        tokio::time::timeout(Duration::from_secs(5), read_until(&mut feed, &needle)).await??;
        live.push(t.elapsed().as_secs_f64() * 1e3);
    }
    results.push(summarise("live feed: stored → on the stream (includes the synced commit)", live));
    drop(feed);

    // A browser that missed the last 500 changes reconnects.
    let newest: serde_json::Value = serde_json::from_slice(&get(addr, "/api/incidents?limit=1", &cookie).await?)?;
    let last_id = newest["items"][0]["id"].as_str().unwrap_or_default().to_string();
    let since = newest["seq"].as_i64().unwrap_or(0) - 500;
    let mut catch_up = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut feed = open_feed(addr, &cookie, since).await?;
        tokio::time::timeout(Duration::from_secs(10), read_until(&mut feed, &last_id)).await??;
        catch_up.push(t.elapsed().as_secs_f64() * 1e3);
    }
    results.push(summarise("reconnect, catch up 500 missed changes", catch_up));

    if args.browser {
        let c = Arc::clone(&console);
        let start = n + r;
        let measured = tokio::task::spawn_blocking(move || in_browser(addr, &c, start, base_ms)).await??;
        results.extend(measured);
    }

    shutdown.cancel();
    let _ = server.await;
    let db_bytes = std::fs::metadata(dir.path().join("console.db")).map_or(0, |m| m.len());
    println!(
        "console with {} incidents ({events} events stored in {seed_secs:.1} s, {:.0} events/s; database {:.1} MB)",
        console.store().incident_count().map_err(|e| anyhow!(e))?,
        events as f64 / seed_secs,
        db_bytes as f64 / 1e6
    );
    println!("{:<64} {:>9} {:>9} {:>9}", "over HTTP on loopback", "p50 ms", "p99 ms", "max ms");
    for m in &results {
        println!("{:<64} {:>9.2} {:>9.2} {:>9.2}", m.name, m.p50_ms, m.p99_ms, m.max_ms);
    }
    Ok(serde_json::json!({
        "incidents": n,
        "events": events,
        "seed_events_per_sec": events as f64 / seed_secs,
        "database_bytes": db_bytes,
        "results": results,
    }))
}

/// The page in headless Chromium (`console/e2e/feed-bench.mjs`): load, older pages,
/// opening an incident, and live incidents (stored here, their appearance timed in
/// the page; both clocks are this machine's wall clock).
fn in_browser(addr: SocketAddr, console: &Console, first: usize, base_ms: i64) -> anyhow::Result<Vec<Measured>> {
    use std::io::{BufRead, Write};
    const LIVE: usize = 20;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../console/e2e");
    let mut child = std::process::Command::new("node")
        .arg("feed-bench.mjs")
        .current_dir(&dir)
        .env("CONSOLE_URL", format!("http://{addr}"))
        .env("ACCOUNT", format!("bench:{PASSWORD}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start node in {}", dir.display()))?;
    let mut to_node = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
    let mut lines = std::io::BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).lines();
    let mut next_line = || -> anyhow::Result<String> {
        lines.next().ok_or_else(|| anyhow!("the browser bench ended early (see above)"))?.map_err(Into::into)
    };
    while next_line()? != "ready" {}
    let mut stored = Vec::new();
    for i in 0..LIVE {
        let ev = incident(first + i, pb::Phase::Started, 1, base_ms);
        let id = ev.id.clone();
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
        console.apply(&[ev]).map_err(|e| anyhow!(e))?;
        stored.push((id, at));
        std::thread::sleep(Duration::from_millis(250));
    }
    writeln!(to_node, "done")?;
    let report: serde_json::Value = serde_json::from_str(&next_line()?)?;
    let _ = child.wait();
    let list = |key: &str| -> Vec<f64> {
        report[key].as_array().map(|a| a.iter().filter_map(|v| v.as_f64()).collect()).unwrap_or_default()
    };
    let mut live = Vec::new();
    for (id, at) in &stored {
        let appeared =
            report["appeared"][id].as_i64().ok_or_else(|| anyhow!("incident {id} never appeared in the page"))?;
        live.push((appeared - at) as f64);
    }
    Ok(vec![
        summarise("browser: page load to 50 incidents shown, feed live", list("load_ms")),
        summarise("browser: \"Older incidents\" (+50)", list("older_ms")),
        summarise("browser: open an incident from the feed", list("open_ms")),
        summarise("browser: live incident stored → shown in the feed", live),
    ])
}

pub async fn bench_console(args: &BenchConsoleArgs) -> i32 {
    match run_bench(args).await {
        Ok(json) => {
            if let Some(path) = &args.json {
                if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&json).unwrap_or_default()) {
                    eprintln!("error: {}: {e}", path.display());
                    return exit_code::RUNTIME_FAILURE;
                }
            }
            exit_code::OK
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_code::RUNTIME_FAILURE
        }
    }
}
