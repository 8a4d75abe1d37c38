//! The command line as a user meets it: exit codes, messages, the run lifecycle.

mod support;

use std::time::Duration;

use support::*;

fn manifest_416() -> String {
    repo_root().join("models/yolov3-tiny-416.toml").display().to_string()
}

/// A valid config in a temp dir; `extra` is appended.
fn temp_config(dir: &tempfile::TempDir, extra: &str) -> std::path::PathBuf {
    let path = dir.path().join("streetwatch.toml");
    let text = format!(
        r#"
[http]
listen = "127.0.0.1:0"

[console]
enabled = false

[detector]
model = "{}"

[[cameras]]
id = "cam-1"
url = "test://smpte"
{extra}
"#,
        manifest_416()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn version_prints_and_exits_zero() {
    let out = bin().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("streetwatch {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn bad_usage_exits_2() {
    let out = bin().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "missing --config");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
}

#[test]
fn validate_shipped_demo_config_succeeds() {
    // The demo's console accounts are made by deploy/demo.sh; here, a temporary file.
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    console::users::upsert_user(&users, "demo", console::users::Role::Operator, "a demo password").unwrap();
    let out = bin()
        .args(["validate", "--config"])
        .arg(repo_root().join("deploy/local.toml"))
        .env("STREETWATCH_CONSOLE_USERS", &users)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("console accounts: ok (1 account in"), "{stdout}");
    // Without the file, validation says which file is missing.
    let missing = dir.path().join("nobody.toml");
    let out = bin()
        .args(["validate", "--config"])
        .arg(repo_root().join("deploy/local.toml"))
        .env("STREETWATCH_CONSOLE_USERS", &missing)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("console accounts: FAILED") && stdout.contains("nobody.toml"), "{stdout}");
    assert!(stdout.contains("config ") && stdout.contains(": ok (1 camera, 1 zone, 1 destination)"), "{stdout}");
    assert!(stdout.contains("model yolov3-tiny darknet-coco-416: ok"), "{stdout}");
    assert!(stdout.contains("ONNX Runtime: ok"), "{stdout}");
    assert!(stdout.contains("model inputs and outputs: ok"), "{stdout}");
}

#[test]
fn validate_broken_config_lists_every_error_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_config(
        &dir,
        r#"
[[cameras.zones]]
id = "z"
kind = "sidewalk"
polygon = [[0.1, 0.1]]

[[cameras]]
id = "cam-1"
url = "rtsp://admin:topsecret@127.0.0.1:9/x"
stall_timeout_secs = 0
"#,
    );
    let out = bin().args(["validate", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("config {}: 3 errors", path.display())), "{stderr}");
    assert!(stderr.contains("cameras[0].zones[0].polygon: needs at least 3 points, has 1"), "{stderr}");
    assert!(stderr.contains("cameras[1].id: `cam-1` is already the id of cameras[0]"), "{stderr}");
    assert!(stderr.contains("cameras[1].stall_timeout_secs: must be at least 1"), "{stderr}");
    assert!(!stderr.contains("topsecret"));
}

#[test]
fn validate_missing_config_file_exits_3_naming_it() {
    let out = bin().args(["validate", "--config", "/nonexistent/streetwatch.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/streetwatch.toml") && stderr.contains("cannot read file"), "{stderr}");
}

#[test]
fn validate_wrong_model_checksum_and_missing_runtime_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(manifest_416()).unwrap();
    let good_sha = manifest.lines().find(|l| l.starts_with("sha256")).unwrap().to_string();
    let bad = manifest.replace(&good_sha, &format!("sha256 = \"{}\"", "0".repeat(64)));
    let bad_path = dir.path().join("bad-model.toml");
    std::fs::write(&bad_path, bad).unwrap();
    let cfg = temp_config(&dir, "").display().to_string();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(&manifest_416(), &bad_path.display().to_string()).replace(
        "[detector]\n",
        "[detector]\nonnxruntime_library = \"/nonexistent/libonnxruntime.so\"\nmodel_dir = \"${STREETWATCH_CACHE}/models\"\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let out = bin().args(["validate", "--config", &cfg]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("model: FAILED") && stdout.contains("the manifest expects 0000"), "{stdout}");
    assert!(
        stdout.contains("ONNX Runtime: FAILED") && stdout.contains("/nonexistent/libonnxruntime.so (config)"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("validate: 2 checks failed"));
}

#[test]
fn validate_unreachable_broker_fails_within_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let cfg = temp_config(&dir, "\n[router.kafka]\nbootstrap_servers = \"127.0.0.1:1\"\n");
    let started = std::time::Instant::now();
    let out = bin()
        .args(["validate", "--config"])
        .arg(&cfg)
        .args(["--check-broker", "--broker-timeout-secs", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("Kafka: FAILED: Kafka brokers 127.0.0.1:1: not reachable within 2000 ms"), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(20), "probe took {:?}", started.elapsed());
}

#[test]
fn validate_real_broker_reports_a_missing_topic() {
    let tansu = std::env::var("STREETWATCH_TANSU")
        .unwrap_or_else(|_| format!("{}/.cache/streetwatch/bin/tansu", std::env::var("HOME").unwrap_or_default()));
    assert!(std::path::Path::new(&tansu).is_file(), "tansu broker not found at {tansu}: run deploy/setup.sh");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut broker = router::kafka::local_broker::LocalBroker::start(std::path::Path::new(&tansu), port).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = temp_config(
        &dir,
        &format!(
            r#"
[router.kafka]
bootstrap_servers = "127.0.0.1:{port}"

[[router.destinations]]
name = "police"
kind = "kafka"
topic = "security.incidents"

[[router.routes]]
destinations = ["police"]
"#
        ),
    );
    let out = bin().args(["validate", "--config"]).arg(&cfg).arg("--check-broker").output().unwrap();
    broker.kill();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("Kafka topic `security.incidents` does not exist"), "{stdout}");
}

#[test]
fn run_serves_health_and_metrics_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = temp_config(&dir, "");
    let mut cmd = bin();
    cmd.args(["run", "--config"]).arg(&cfg);
    let mut proc = Running::spawn(cmd);
    let addr = wait_for("http address in the log", Duration::from_secs(20), || logged_http_address(&proc.stderr()));
    let (status, body) =
        wait_for("/readyz 200", Duration::from_secs(20), || http_get(&addr, "/readyz").filter(|(s, _)| *s == 200));
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    assert_eq!(http_get(&addr, "/healthz").unwrap(), (200, "ok\n".to_string()));
    let (status, metrics) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("streetwatch_ready 1"), "{metrics}");
    assert!(metrics.contains("streetwatch_cameras_configured 1"), "{metrics}");
    assert!(metrics.contains("streetwatch_build_info{version=\""), "{metrics}");
    // The test:// camera really streams: frames are ingested and analysed by the model.
    let metrics = wait_for("ingested frames in /metrics", Duration::from_secs(20), || {
        let (_, m) = http_get(&addr, "/metrics")?;
        (m.contains("streetwatch_ingest_frames_total{camera=\"cam-1\"}")
            && m.contains("streetwatch_ingest_camera_state{camera=\"cam-1\",state=\"streaming\"} 1")
            && m.contains("streetwatch_detector_frames_analysed_total{camera=\"cam-1\"}")
            && m.contains("streetwatch_detector_inference_seconds_bucket"))
        .then_some(m)
    });
    assert!(
        metrics.contains("streetwatch_ingest_frames_dropped_total{camera=\"cam-1\",reason=\"not_keyframe\"}"),
        "{metrics}"
    );

    proc.signal("TERM");
    assert_eq!(proc.wait_exit(Duration::from_secs(15)), 0, "{}", proc.stderr());
    let log = proc.stderr();
    assert!(log.contains("shutting down gracefully") && log.contains("stopped cleanly"), "{log}");
    assert!(log.contains("state=\"stopped\""), "camera did not stop: {log}");
}

#[test]
fn run_with_a_model_that_fails_its_checksum_exits_4_before_any_camera_starts() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(manifest_416()).unwrap();
    let good_sha = manifest.lines().find(|l| l.starts_with("sha256")).unwrap().to_string();
    let bad_path = dir.path().join("bad-model.toml");
    std::fs::write(&bad_path, manifest.replace(&good_sha, &format!("sha256 = \"{}\"", "f".repeat(64)))).unwrap();
    let cfg = temp_config(&dir, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&manifest_416(), &bad_path.display().to_string())
        .replace("[detector]\n", "[detector]\nmodel_dir = \"${STREETWATCH_CACHE}/models\"\n");
    std::fs::write(&cfg, text).unwrap();
    let out = bin().args(["run", "--config"]).arg(&cfg).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{log}");
    assert!(log.contains("yolov3-tiny-416.onnx: sha256 is") && log.contains(&"f".repeat(64)), "{log}");
    assert!(!log.contains("camera state"), "a camera started despite the bad model: {log}");
}

#[test]
fn a_required_gpu_provider_that_is_missing_fails_validate_and_run_with_4() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = temp_config(&dir, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[detector]\n", "[detector]\nexecution_provider = \"cuda\"\nrequire_execution_provider = true\n");
    std::fs::write(&cfg, text).unwrap();
    let out = bin().args(["validate", "--config"]).arg(&cfg).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("execution provider cuda: FAILED") && stdout.contains("is required"), "{stdout}");
    let out = bin().args(["run", "--config"]).arg(&cfg).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{log}");
    assert!(
        log.contains("cannot start the detector") && log.contains("the cuda execution provider is required"),
        "{log}"
    );
}

#[test]
fn run_with_invalid_config_exits_3_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = temp_config(&dir, "decode = \"never\"\n");
    let out = bin().args(["run", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cameras[0].decode: unknown variant `never`"));
}

#[test]
fn credentials_never_reach_the_logs_in_either_format() {
    for format in ["human", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = temp_config(
            &dir,
            r#"
[[cameras]]
id = "cam-env"
url = "rtsp://127.0.0.1:9/ch1"
username_env = "SW_CLI_TEST_USER"
password_env = "SW_CLI_TEST_PASS"

[[cameras]]
id = "cam-inline"
url = "rtsp://admin:inline-Pa55@127.0.0.1:9/ch1"
"#,
        );
        let mut cmd = bin();
        cmd.args(["--log-format", format, "run", "--config"])
            .arg(&cfg)
            .env("SW_CLI_TEST_USER", "operator")
            .env("SW_CLI_TEST_PASS", "env-Pa55word");
        let mut proc = Running::spawn(cmd);
        wait_for("cameras logged", Duration::from_secs(20), || {
            let log = proc.stderr();
            (log.contains("cam-env") && log.contains("cam-inline") && log.contains("streetwatch running")).then_some(())
        });
        proc.signal("INT");
        assert_eq!(proc.wait_exit(Duration::from_secs(15)), 0);
        let log = proc.stderr();
        assert!(!log.contains("env-Pa55word") && !log.contains("inline-Pa55"), "password in the {format} log:\n{log}");
        assert!(log.contains("rtsp://***@127.0.0.1:9/ch1"), "{format} log:\n{log}");
        if format == "json" {
            for line in log.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                assert!(v.get("level").is_some(), "{line}");
            }
        }
    }
}
