//! The operator console end to end, in a real browser: `streetwatch run` analyses the
//! bundled footage in real time with the console enabled; headless Chromium (Debian's,
//! driven by playwright-core from `console/e2e/`) logs in, sees the incident arrive,
//! opens it, plays the clip, and an operator acknowledges it; a viewer cannot; evidence
//! is refused without a login; the process is restarted under the open page, which
//! reconnects and still shows the decision. Screenshots land in
//! `target/artifacts/console/`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{bin, repo_root, wait_for, Running};

const OPERATOR: (&str, &str) = ("duty-ops", "operator-password-1");
const VIEWER: (&str, &str) = ("watcher", "viewer-password-12");
const ADMIN: (&str, &str) = ("chief", "admin-password-123");

fn add_account(users: &Path, (name, password): (&str, &str), role: &str) {
    let mut child = bin()
        .args(["console-user", "--users-file"])
        .arg(users)
        .args(["--name", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn config(dir: &Path, port: u16) -> PathBuf {
    let text = format!(
        r#"
[service]
instance = "console-e2e"

[http]
enabled = false

[storage]
data_dir = "{data}"
clip_postroll_secs = 3

[detector]
model = "{model}"
inference_threads = 1
intra_op_threads = 2

[rules.sidewalk_parking]
dwell_secs = 20

[[cameras]]
id = "campus-gate"
url = "file://${{STREETWATCH_CACHE}}/footage/vtest.mp4"
decode = "sampled"
sample_fps = 2.0
pacing = "realtime"
loop = true

[[cameras.zones]]
id = "east-sidewalk"
name = "East sidewalk (top right)"
kind = "sidewalk"
polygon = [[0.833, 0.122], [0.957, 0.108], [0.957, 0.165], [0.768, 0.212]]

[console]
enabled = true
listen = "127.0.0.1:{port}"
users_file = "users.toml"
"#,
        data = dir.join("data").display(),
        model = repo_root().join("models/yolov3-tiny-416.toml").display(),
    );
    let path = dir.join("streetwatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(config: &Path) -> Running {
    let mut cmd = bin();
    cmd.args(["run", "--config"]).arg(config);
    let mut proc = Running::spawn(cmd);
    wait_for("the console to listen", Duration::from_secs(60), || {
        if let Some(status) = proc.child.try_wait().unwrap() {
            panic!("streetwatch exited ({status}):\n{}", proc.stderr());
        }
        proc.stderr().contains("operator console: http://").then_some(())
    });
    proc
}

#[test]
fn operator_console_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    add_account(&users, OPERATOR, "operator");
    add_account(&users, VIEWER, "viewer");
    add_account(&users, ADMIN, "admin");
    let port = free_port();
    let config = config(dir.path(), port);
    let mut proc = start(&config);
    let url = format!("http://127.0.0.1:{port}");
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/console");

    let e2e = repo_root().join("console/e2e");
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in console/e2e: run `bash deploy/setup.sh`"
    );
    let mut node = Command::new("node")
        .arg("console.e2e.mjs")
        .current_dir(&e2e)
        .env("CONSOLE_URL", &url)
        .env("EVENTS_FILE", dir.path().join("data/events/incidents.jsonl"))
        .env("ARTIFACTS", &artifacts)
        .env("OPERATOR", format!("{}:{}", OPERATOR.0, OPERATOR.1))
        .env("VIEWER", format!("{}:{}", VIEWER.0, VIEWER.1))
        .env("ADMIN", format!("{}:{}", ADMIN.0, ADMIN.1))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (Node.js) must be installed: run `bash deploy/setup.sh`");
    let mut to_node = node.stdin.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = node.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("e2e: {line}");
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let stderr = node.stderr.take().unwrap();
    let node_errors = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("e2e: {line}");
            all.push_str(&line);
            all.push('\n');
        }
        all
    });

    // The browser test asks for a restart in the middle; everything else is its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(420);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line == "restart-now" => {
                proc.signal("TERM");
                let code = proc.wait_exit(Duration::from_secs(30));
                assert_eq!(code, 0, "{}", proc.stderr());
                proc = start(&config);
                writeln!(to_node, "restarted").unwrap();
            }
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = node.kill();
                panic!("the browser test did not finish in time; streetwatch log:\n{}", proc.stderr());
            }
        }
    }
    let status = node.wait().unwrap();
    let errors = node_errors.join().unwrap();
    assert!(
        status.success(),
        "browser test failed (screenshots in {}):\n{errors}\nstreetwatch log:\n{}",
        artifacts.display(),
        proc.stderr()
    );
    for shot in ["console-feed.png", "console-incident.png", "console-cameras.png"] {
        let bytes = std::fs::read(artifacts.join(shot)).unwrap_or_default();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{shot} saved as a screenshot artifact");
    }
    println!("screenshots: {}", artifacts.display());
    proc.signal("TERM");
    assert_eq!(proc.wait_exit(Duration::from_secs(30)), 0, "{}", proc.stderr());
}
