//! Evidence in S3-compatible object storage (cargo feature `s3`), against a real
//! S3-protocol server started by the test: moto's server, from the setup venv (no S3
//! service is reachable from here; moto implements the S3 REST API locally).
#![cfg(feature = "s3")]

mod support;

use std::time::Duration;

use support::{bin, repo_root, Running};

#[test]
fn snapshots_and_clips_are_put_in_the_bucket_and_events_name_them() {
    let (_server, store, port) = support::s3::bucket();

    let out = tempfile::tempdir().unwrap();
    let config = out.path().join("s3.toml");
    let shipped = std::fs::read_to_string(repo_root().join("deploy/vtest-once.toml")).unwrap();
    let models = repo_root().join("models");
    let text = shipped
        .replace("\"../models/", &format!("\"{}/", models.display()))
        .replace("[detector]", &format!("{}\n[detector]", support::s3::config_table(port)));
    std::fs::write(&config, text).unwrap();
    let mut cmd = bin();
    cmd.args(["run", "--config"]).arg(&config);
    cmd.env("STREETWATCH_DATA_DIR", out.path().join("data"));
    cmd.env("TEST_S3_ACCESS", "test-access").env("TEST_S3_SECRET", "test-secret");
    let mut proc = Running::spawn(cmd);
    assert_eq!(proc.wait_exit(Duration::from_secs(240)), 0, "{}", proc.stderr());
    let log = proc.stderr();
    assert!(!log.contains("pa55") && !log.contains("test-secret"), "no credential in the logs");

    let events = std::fs::read_to_string(out.path().join("data/events/incidents.jsonl")).unwrap();
    let e: serde_json::Value = serde_json::from_str(events.lines().next().expect("an incident")).unwrap();
    for field in ["snapshot", "clip"] {
        let uri = e[field].as_str().unwrap_or_default();
        let key = uri.strip_prefix("s3://evidence/city/").unwrap_or_else(|| panic!("{field} names the object: {uri}"));
        let local = std::fs::read(out.path().join("data").join(key)).unwrap();
        let remote = store.get(key).unwrap_or_else(|err| panic!("{field} not in the bucket: {err}"));
        assert_eq!(remote, local, "{field}: the object is the local file");
    }
    // And it goes away when asked.
    let key = e["snapshot"].as_str().unwrap().strip_prefix("s3://evidence/city/").unwrap().to_string();
    store.delete(&key).unwrap();
    assert!(store.get(&key).is_err());
}
