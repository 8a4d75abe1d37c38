//! `streetwatch-bench fuzz [TARGET...] --runs N --seed S`: every parser of outside input
//! fed mutated inputs, on stable Rust. Targets: `nal` (H.264/H.265 parameter sets and
//! keyframe flags of camera data), `outbox` (the record reader and entry decoder of
//! the outbox files), `config` (the config loader), `camera-url`, `assignment` (the
//! cluster's camera-assignment records, as a worker turns them into its config) and
//! `console` (JSON review bodies and login forms sent over HTTP to a served console).
//!
//! Why hand-written: the coverage-guided fuzzers (cargo-fuzz, afl) need a nightly
//! compiler or AFL++'s own toolchain, which this project does not install. This is a
//! mutation fuzzer instead: real inputs as seeds (the footage, shipped configs,
//! framed records), byte- and token-level mutations from a seeded RNG (a run is
//! reproducible: same seed, same inputs), and, in place of coverage, an input that
//! produces an outcome not seen before (a new error message, say) joins the corpus.
//! A finding is a panic, a broken invariant (a password in a formatted URL, a 5xx
//! from the console) or an input slower than a second; it is saved under
//! `--findings` and the exit code is 1.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use console::health::NoCameras;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::cli::FuzzArgs;
use streetwatch::exit_code;

pub const TARGETS: [&str; 6] = ["nal", "outbox", "config", "camera-url", "assignment", "console"];
const SLOW: Duration = Duration::from_secs(1);

/// Byte sequences that matter to the parsers: start codes, TOML and JSON syntax,
/// URL punctuation, lengths at their limits.
const TOKENS: &[&[u8]] = &[
    b"\x00\x00\x01",
    b"\x00\x00\x00\x01",
    b"\x67",
    b"\x68",
    b"\x65",
    b"\x40\x01",
    b"SWOB",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"[[cameras]]\n",
    b"[[cameras.zones]]\n",
    b" = ",
    b"\"",
    b"'''",
    b"\n",
    b"${",
    b"}",
    b"[",
    b"]",
    b",",
    b"{",
    b":",
    b"@",
    b"//",
    b"%",
    b"%00",
    b"\\u0000",
    b"1e999",
    b"-1",
    b"18446744073709551616",
    "视频".as_bytes(),
    b"\xed\xa0\x80",
];

struct Mutator {
    rng: StdRng,
}

impl Mutator {
    fn mutate(&mut self, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..self.rng.random_range(1..=4) {
            let len = data.len();
            let at = if len == 0 { 0 } else { self.rng.random_range(0..len) };
            match self.rng.random_range(0..9) {
                0 if len > 0 => data[at] ^= 1 << self.rng.random_range(0..8),
                1 if len > 0 => data[at] = self.rng.random(),
                2 => {
                    let token = TOKENS[self.rng.random_range(0..TOKENS.len())];
                    data.splice(at..at, token.iter().copied());
                }
                3 => {
                    let n = self.rng.random_range(1..=16);
                    let bytes: Vec<u8> = (0..n).map(|_| self.rng.random()).collect();
                    data.splice(at..at, bytes);
                }
                4 if len > 0 => {
                    let end = (at + self.rng.random_range(1..=64)).min(len);
                    data.drain(at..end);
                }
                5 if len > 0 => {
                    let end = (at + self.rng.random_range(1..=64)).min(len);
                    let copy = data[at..end].to_vec();
                    let to = self.rng.random_range(0..=len);
                    data.splice(to..to, copy);
                }
                6 if !corpus.is_empty() => {
                    let other = &corpus[self.rng.random_range(0..corpus.len())];
                    if !other.is_empty() {
                        let from = self.rng.random_range(0..other.len());
                        let end = (from + self.rng.random_range(1..=256)).min(other.len());
                        data.splice(at..at, other[from..end].iter().copied());
                    }
                }
                7 if len > 0 => data.truncate(at),
                _ => {
                    if len > 1 {
                        let (a, b) = (self.rng.random_range(0..len), self.rng.random_range(0..len));
                        data.swap(a, b);
                    }
                }
            }
        }
        data.truncate(1 << 20);
        data
    }
}

/// What an input did: an outcome class (new classes join the corpus), or a finding.
type Outcome = Result<String, String>;

trait Target {
    fn seeds(&self) -> Vec<Vec<u8>>;
    fn run(&mut self, input: &[u8]) -> Outcome;
}

fn class(r: &Result<impl Sized, impl std::fmt::Display>) -> String {
    match r {
        Ok(_) => "ok".into(),
        // The message without its numbers: a class, not one per position.
        Err(e) => e.to_string().chars().filter(|c| !c.is_ascii_digit()).take(80).collect(),
    }
}

struct Nal {
    footage: PathBuf,
}

impl Target for Nal {
    fn seeds(&self) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(&self.footage).unwrap_or_default();
        let mut seeds: Vec<Vec<u8>> =
            [64usize, 512, 4096, 32768].iter().map(|&n| bytes[..n.min(bytes.len())].to_vec()).collect();
        seeds
            .push(b"\x00\x00\x00\x01\x40\x01\x0c\x01\x00\x00\x00\x01\x42\x01\x01\x00\x00\x00\x01\x26\x01\xaf".to_vec());
        seeds
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        use ingest::nal::{is_keyframe, parameter_set_fingerprint, parameter_sets, Codec};
        let mut out = String::new();
        for codec in [Codec::H264, Codec::H265] {
            let sets = parameter_sets(codec, input);
            if sets.as_ref().is_some_and(|s| s.len() > input.len() + 64) {
                return Err(format!("{codec:?}: parameter sets longer than the input"));
            }
            let _ = parameter_set_fingerprint(codec, input);
            out.push_str(&format!("{}{:?}", sets.is_some(), is_keyframe(codec, input)));
        }
        Ok(out)
    }
}

struct Outbox;

impl Target for Outbox {
    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut file = Vec::new();
        for body in [&b"first event"[..], b"{\"id\":\"x\"}", &[0u8; 40]] {
            router::outbox::record::frame(body, &mut file);
        }
        // A real entry's payload, as the outbox writes it.
        let dir = tempfile::tempdir().ok();
        let entry = dir.as_ref().and_then(|d| {
            let (mut ob, _) = router::outbox::Outbox::open(d.path(), Default::default()).ok()?;
            ob.append(vec![router::outbox::NewEntry {
                destination: "police".into(),
                key: "cam-01".into(),
                headers: vec![("ce_type".into(), b"streetwatch.incident".to_vec())],
                body: b"protobuf body".to_vec(),
                retention: router::outbox::Retention::Keep,
                created_ms: 1_795_564_800_000,
            }])
            .ok()?;
            let segment = std::fs::read_dir(d.path())
                .ok()?
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with("entries-"))?;
            std::fs::read(segment.path()).ok()
        });
        let payload =
            entry.as_deref().and_then(|f| router::outbox::record::scan(f).payloads.first().map(|p| p.to_vec()));
        vec![file, Vec::new(), entry.unwrap_or_default(), payload.unwrap_or_default()]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let scan = router::outbox::record::scan(input);
        let total: usize = scan.payloads.iter().map(|p| p.len()).sum();
        if total > input.len() || scan.good_end > input.len() {
            return Err("the reader returned more than it was given".into());
        }
        let decoded = scan.payloads.iter().filter(|p| router::outbox::entry::decode(p).is_some()).count();
        // Mutated bytes rarely keep a record's CRC: the input framed as a good record
        // reaches the entry decoder too.
        let mut framed = Vec::new();
        if !input.is_empty() {
            // (The outbox never writes an empty record: `frame` refuses one.)
            router::outbox::record::frame(input, &mut framed);
        }
        let entry = router::outbox::record::scan(&framed).payloads.first().map(|p| router::outbox::entry::decode(p));
        Ok(format!(
            "{}/{}/{}/{}",
            scan.payloads.len().min(3),
            decoded.min(3),
            scan.damaged.len().min(3),
            entry.flatten().is_some()
        ))
    }
}

fn repo_file(name: &str) -> Vec<u8> {
    std::fs::read(super::bench_support::repo_path(Path::new(name))).unwrap_or_default()
}

struct ConfigText;

impl Target for ConfigText {
    fn seeds(&self) -> Vec<Vec<u8>> {
        ["deploy/local.toml", "deploy/vtest-once.toml"].iter().map(|f| repo_file(f)).collect()
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(input);
        Ok(class(&streetwatch::config::load_str(&text, Path::new("fuzz/streetwatch.toml"))))
    }
}

struct Url;

impl Target for Url {
    fn seeds(&self) -> Vec<Vec<u8>> {
        [
            "rtsp://admin:s3cret-pass@192.168.1.10:554/Streaming/Channels/101",
            "file:///srv/export/cam.mp4",
            "test://smpte",
            "rtsps://u:p@[::1]/x?y=1",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let text = String::from_utf8_lossy(input);
        let redacted = ingest::redact_credentials(&text);
        let parsed = ingest::CameraUrl::parse(&text);
        // Wherever the seed's password survived the mutation as the user info of a
        // URL, neither the redacted text nor a parsed URL, formatted, shows it.
        if url_password_visible(&redacted) {
            return Err(format!("redact_credentials left a URL's password in: {text:?}"));
        }
        if let Ok(u) = &parsed {
            if url_password_visible(&u.to_string()) || url_password_visible(&format!("{u:?}")) {
                return Err(format!("a formatted camera URL shows its password: {text:?}"));
            }
        }
        Ok(class(&parsed))
    }
}

const URL_PASSWORD: &str = "s3cret-pass";

/// Whether `text` has a `scheme://user:password@host` whose user info holds the
/// seed's password: the authority runs from `://` to the first `/`, white space,
/// quote, `>` or `)`, and its user info is what comes before its last `@`.
fn url_password_visible(text: &str) -> bool {
    text.match_indices("://").any(|(at, _)| {
        let tail = &text[at + 3..];
        let end = tail.find(|c: char| "/\"'>)".contains(c) || c.is_whitespace()).unwrap_or(tail.len());
        tail[..end].rfind('@').is_some_and(|user_end| tail[..user_end].contains(URL_PASSWORD))
    })
}

struct Assignment;

const ASSIGN_BASE: &str = "[detector]\nmodel = \"../models/yolov3-tiny-416.toml\"\n";

impl Target for Assignment {
    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            b"id = \"cam-07\"\nurl = \"rtsp://10.0.0.7/stream\"\nsite = \"north\"\ndecode = \"keyframes\"\n\n[[zones]]\nid = \"z\"\nkind = \"sidewalk\"\npolygon = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]\n".to_vec(),
            b"id = \"cam-08\"\nurl = \"test://smpte\"\nenabled = false\n".to_vec(),
        ]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        let records = std::collections::BTreeMap::from([("cam-07".to_string(), input.to_vec())]);
        let doc = match streetwatch::commands::worker::cameras_document(&records) {
            Ok(d) => d,
            Err(e) => return Ok(class(&Err::<(), _>(e))),
        };
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/fuzz.toml");
        Ok(class(&streetwatch::config::load_str_with_cameras(ASSIGN_BASE, &base, &doc, Path::new("cameras.toml"))))
    }
}

/// A console served on loopback (its own temporary database and users), fed review
/// bodies (logged in, with the CSRF token) and login forms.
struct ConsoleBodies {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
    runtime: tokio::runtime::Handle,
    _dir: tempfile::TempDir,
    _stop: tokio_util::sync::DropGuard,
}

const FUZZ_PASSWORD: &str = "fuzz-console-password";

impl ConsoleBodies {
    async fn start(runtime: tokio::runtime::Handle) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let console = super::bench_console::open_console(dir.path(), "fuzz", FUZZ_PASSWORD)?;
        let stop = CancellationToken::new();
        let (addr, _) =
            console.serve(Arc::new(NoCameras), Arc::new(super::bench_console::NoRouter), stop.clone()).await?;
        let cookie = super::bench_console::login_as(addr, "fuzz", FUZZ_PASSWORD).await?;
        let me: serde_json::Value =
            serde_json::from_slice(&super::bench_console::get(addr, "/api/me", &cookie).await?)?;
        let csrf = me["csrf_token"].as_str().ok_or_else(|| anyhow!("no CSRF token"))?.to_string();
        Ok(Self { addr, cookie, csrf, runtime, _dir: dir, _stop: stop.drop_guard() })
    }
}

impl Target for ConsoleBodies {
    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            b"R{\"action\":\"acknowledge\",\"note\":\"on it\"}".to_vec(),
            b"R{\"action\":\"dismiss\",\"note\":\"\\u4e0d\\u662f\"}".to_vec(),
            b"Lusername=fuzz&password=wrong-password".to_vec(),
        ]
    }
    fn run(&mut self, input: &[u8]) -> Outcome {
        // The first byte chooses the endpoint; the rest is the body.
        let (head, body) = match input.split_first() {
            Some((b'L', body)) => ("POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n".to_string(), body),
            Some((_, body)) => (
                format!(
                    "POST /api/incidents/no-such-incident/review HTTP/1.1\r\nContent-Type: application/json\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n",
                    self.cookie, self.csrf
                ),
                body,
            ),
            None => return Ok("empty".into()),
        };
        let body = String::from_utf8_lossy(body).to_string();
        let addr = self.addr;
        let answer = self.runtime.block_on(async move {
            tokio::time::timeout(Duration::from_secs(5), super::bench_console::request(addr, &head, &body)).await
        });
        match answer {
            Err(_) => Err("the console did not answer within 5 s".into()),
            Ok(Err(e)) => Err(format!("the console dropped the connection: {e}")),
            Ok(Ok((status, _, _))) if status >= 500 => Err(format!("HTTP {status} for a bad body")),
            Ok(Ok((status, _, _))) => Ok(status.to_string()),
        }
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct TargetReport {
    pub target: String,
    pub runs: u64,
    pub corpus: usize,
    pub findings: usize,
    pub seconds: f64,
}

fn fuzz_one(name: &str, target: &mut dyn Target, args: &FuzzArgs) -> anyhow::Result<TargetReport> {
    let mut mutator = Mutator { rng: StdRng::seed_from_u64(args.seed) };
    let mut corpus = target.seeds();
    let mut seen = BTreeSet::new();
    let mut findings = 0;
    let started = Instant::now();
    let mut last_report = Instant::now();
    for run in 0..args.runs {
        let input = if (run as usize) < corpus.len() {
            corpus[run as usize].clone()
        } else {
            let seed = &corpus[mutator.rng.random_range(0..corpus.len())];
            mutator.mutate(seed, &corpus)
        };
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(&input)));
        let took = t.elapsed();
        let finding = match outcome {
            Err(panic) => Some(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(Err(broken)) => Some(broken),
            Ok(Ok(_)) if took > SLOW => Some(format!("slow: {:.1} s for one input", took.as_secs_f64())),
            Ok(Ok(class)) => {
                if seen.insert(class) && corpus.len() < 4096 {
                    corpus.push(input.clone());
                }
                None
            }
        };
        if let Some(what) = finding {
            findings += 1;
            std::fs::create_dir_all(&args.findings).with_context(|| args.findings.display().to_string())?;
            let file = args.findings.join(format!("{name}-{run}.bin"));
            std::fs::write(&file, &input)?;
            eprintln!("fuzz {name}: run {run}: {what} (input saved to {})", file.display());
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("fuzz {name}: {run} of {} inputs, corpus {}, {findings} findings", args.runs, corpus.len());
            last_report = Instant::now();
        }
    }
    Ok(TargetReport {
        target: name.into(),
        runs: args.runs,
        corpus: corpus.len(),
        findings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn fuzz_inner(args: &FuzzArgs) -> anyhow::Result<Vec<TargetReport>> {
    let names: Vec<String> =
        if args.targets.is_empty() { TARGETS.iter().map(|s| s.to_string()).collect() } else { args.targets.clone() };
    let mut reports = Vec::new();
    for name in &names {
        let mut target: Box<dyn Target + Send> = match name.as_str() {
            "nal" => Box::new(Nal { footage: args.footage.clone() }),
            "outbox" => Box::new(Outbox),
            "config" => Box::new(ConfigText),
            "camera-url" => Box::new(Url),
            "assignment" => Box::new(Assignment),
            "console" => Box::new(ConsoleBodies::start(tokio::runtime::Handle::current()).await?),
            other => anyhow::bail!("no fuzz target `{other}` (targets: {})", TARGETS.join(", ")),
        };
        let a = args.clone();
        let n = name.clone();
        let report = tokio::task::spawn_blocking(move || fuzz_one(&n, target.as_mut(), &a)).await??;
        println!(
            "{}: {} inputs in {:.1} s ({:.0}/s), corpus {}, findings {}",
            report.target,
            report.runs,
            report.seconds,
            report.runs as f64 / report.seconds.max(1e-9),
            report.corpus,
            report.findings
        );
        reports.push(report);
    }
    Ok(reports)
}

pub async fn fuzz(args: &FuzzArgs) -> i32 {
    // A panic is a finding, reported once by the loop, not printed with a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let result = fuzz_inner(args).await;
    let _ = std::panic::take_hook();
    match result {
        Ok(reports) if reports.iter().all(|r| r.findings == 0) => exit_code::OK,
        Ok(_) => exit_code::RUNTIME_FAILURE,
        Err(e) => {
            eprintln!("fuzz: {e:#}");
            exit_code::RUNTIME_FAILURE
        }
    }
}
