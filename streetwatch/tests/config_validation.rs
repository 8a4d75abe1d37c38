//! Config validation: good configs load; each bad one gives the expected error path(s),
//! and a config with many problems reports all of them at once.

use std::path::PathBuf;

use streetwatch::config::{load, load_str, ConfigErrors};

/// Configs are loaded as if they lived in deploy/, so `../models/...` resolves.
fn config_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/test-config.toml")
}

const BASE: &str = r#"
[detector]
model = "../models/yolov3-tiny-416.toml"

[[cameras]]
id = "cam-a"
url = "test://smpte"

[[cameras.zones]]
id = "z1"
kind = "sidewalk"
polygon = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]
"#;

fn errors_of(text: &str) -> ConfigErrors {
    match load_str(text, &config_path()) {
        Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        Err(e) => e,
    }
}

/// Asserts that exactly these paths are reported (in any order) and returns the messages.
fn assert_paths(text: &str, expected: &[&str]) -> Vec<String> {
    let e = errors_of(text);
    let mut got = e.paths();
    got.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(got, want, "full report:\n{e}");
    e.errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn an_enabled_console_needs_a_users_file_and_console_destinations_need_the_console() {
    let text = format!("{BASE}\n[console]\nenabled = true\n");
    let e = load_str(&text, &config_path()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("console.users_file") && msg.contains("no default account or password"), "{msg}");
    let text = format!("{BASE}\n[console]\nenabled = true\nusers_file = \"users.toml\"\n");
    let c = load_str(&text, &config_path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.console_users_file.unwrap().ends_with("users.toml"));
    assert!(c.console_database.ends_with("console/console.db"));
    let text = format!("{BASE}\n[[router.destinations]]\nname = \"ops\"\nkind = \"console\"\n");
    let msg = load_str(&text, &config_path()).unwrap_err().to_string();
    assert!(msg.contains("router.destinations[0].kind") && msg.contains("[console] enabled"), "{msg}");
}

#[test]
fn base_config_is_valid_with_documented_defaults() {
    let c = load_str(BASE, &config_path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.cameras.len(), 1);
    assert_eq!(c.service.shutdown_deadline_secs, 10);
    assert_eq!(c.http_listen.unwrap().to_string(), "127.0.0.1:9600");
    // The console is off unless asked for (it needs accounts; there is no default password).
    assert!(c.console_listen.is_none() && !c.console.enabled);
    assert_eq!(c.console.listen, "127.0.0.1:8080");
    // The rules in the detector's own terms, built by validation.
    let rules = &c.rule_settings;
    assert_eq!(rules.sidewalk_parking.dwell_secs, 120.0);
    assert_eq!(rules.street_vending.dwell_secs, 300.0);
    assert_eq!(rules.bike_cluster.min_count, 5);
    assert_eq!(rules.bike_cluster.dwell_secs, 180.0);
    assert_eq!(c.cameras[0].utc_offset_minutes, 480);
    assert_eq!(c.model_manifest.input.width, 416);
    assert!(c.warnings.is_empty());
}

#[test]
fn shipped_demo_config_is_valid() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/local.toml");
    // The footage is prepared by deploy/setup.sh, which the test command runs first.
    let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.cameras[0].config.id, "campus-gate");
}

#[test]
fn polygon_with_two_points() {
    let text = BASE.replace("[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]", "[[0.1, 0.1], [0.9, 0.1]]");
    let msgs = assert_paths(&text, &["cameras[0].zones[0].polygon"]);
    assert_eq!(msgs[0], "cameras[0].zones[0].polygon: needs at least 3 points, has 2");
}

#[test]
fn self_intersecting_and_out_of_range_polygons() {
    let text = BASE.replace("[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]", "[[0, 0], [1, 1], [1, 0], [0, 1]]");
    let msgs = assert_paths(&text, &["cameras[0].zones[0].polygon"]);
    assert!(msgs[0].contains("must not intersect itself"), "{msgs:?}");
    let text = BASE.replace("[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]", "[[0.1, 0.1], [1.5, 0.1], [0.9, 0.9]]");
    let msgs = assert_paths(&text, &["cameras[0].zones[0].polygon"]);
    assert!(msgs[0].contains("point 1 [1.5, 0.1] must be inside 0..1"), "{msgs:?}");
}

#[test]
fn unknown_keys_are_rejected_with_their_place() {
    let msgs =
        assert_paths(&format!("{BASE}\nfavourite_colour = \"red\"\n"), &["cameras[0].zones[0].favourite_colour"]);
    // TOML puts a bare key after [[cameras.zones]] into that zone.
    assert!(msgs[0].contains("unknown field `favourite_colour`"), "{msgs:?}");
    let text = format!("[telemetry]\nx = 1\n{BASE}");
    let msgs = assert_paths(&text, &["telemetry"]);
    assert!(msgs[0].contains("unknown section"), "{msgs:?}");
    let text = BASE.replace("url = \"test://smpte\"", "url = \"test://smpte\"\nurll = \"x\"");
    assert_paths(&text, &["cameras[0].urll"]);
}

#[test]
fn wrong_types_and_enum_values_name_the_key() {
    let text = BASE.replace("kind = \"sidewalk\"", "kind = \"motorway\"");
    let msgs = assert_paths(&text, &["cameras[0].zones[0].kind"]);
    assert!(msgs[0].contains("unknown variant `motorway`"), "{msgs:?}");
    let text = format!("[service]\nshutdown_deadline_secs = \"ten\"\n{BASE}");
    assert_paths(&text, &["service.shutdown_deadline_secs"]);
}

#[test]
fn missing_required_keys() {
    let text = BASE.replace("url = \"test://smpte\"", "");
    let msgs = assert_paths(&text, &["cameras[0]"]);
    assert!(msgs[0].contains("missing field `url`"), "{msgs:?}");
    let text = BASE.replace("[detector]\nmodel = \"../models/yolov3-tiny-416.toml\"", "");
    assert_paths(&text, &["detector"]);
}

#[test]
fn duplicate_and_malformed_ids() {
    let text = format!("{BASE}\n[[cameras]]\nid = \"cam-a\"\nurl = \"test://ball\"\n[[cameras]]\nid = \"bad id!\"\nurl = \"test://ball\"\n");
    let msgs = assert_paths(&text, &["cameras[1].id", "cameras[2].id"]);
    assert!(msgs.iter().any(|m| m.contains("already the id of cameras[0]")), "{msgs:?}");
}

#[test]
fn bad_urls_never_echo_credentials() {
    let text = BASE.replace("test://smpte", "http://admin:hunter2@127.0.0.1:9/stream");
    let msgs = assert_paths(&text, &["cameras[0].url"]);
    assert!(msgs[0].contains("unsupported scheme `http`"), "{msgs:?}");
    assert!(!msgs[0].contains("hunter2"));
    let text = BASE.replace("test://smpte", "file:///nonexistent/video.mp4");
    let msgs = assert_paths(&text, &["cameras[0].url"]);
    assert!(msgs[0].contains("/nonexistent/video.mp4 does not exist"), "{msgs:?}");
}

#[test]
fn credentials_come_from_the_environment() {
    let text = BASE.replace(
        "url = \"test://smpte\"",
        "url = \"rtsp://127.0.0.1:9/ch1\"\nusername_env = \"SW_TEST_CAM_USER_UNSET\"\npassword_env = \"SW_TEST_CAM_PASS_UNSET\"",
    );
    let msgs = assert_paths(&text, &["cameras[0].username_env", "cameras[0].password_env"]);
    assert!(msgs.iter().any(|m| m.contains("environment variable SW_TEST_CAM_PASS_UNSET is not set")), "{msgs:?}");

    // Set (a name unique to this test, so parallel tests do not race on it).
    std::env::set_var("SW_TEST_CAM_USER_SET", "operator");
    std::env::set_var("SW_TEST_CAM_PASS_SET", "s3cret-pw");
    let text = BASE.replace(
        "url = \"test://smpte\"",
        "url = \"rtsp://127.0.0.1:9/ch1\"\nusername_env = \"SW_TEST_CAM_USER_SET\"\npassword_env = \"SW_TEST_CAM_PASS_SET\"",
    );
    let c = load_str(&text, &config_path()).unwrap_or_else(|e| panic!("{e}"));
    let url = &c.cameras[0].ingest.url;
    assert_eq!(url.credentials().unwrap().expose_password(), "s3cret-pw");
    assert!(!format!("{url} {url:?} {c:?}").contains("s3cret-pw"), "password leaked through formatting");
}

#[test]
fn inline_credentials_warn_but_load() {
    let text = BASE.replace("test://smpte", "rtsp://admin:pw@127.0.0.1:9/ch1");
    let c = load_str(&text, &config_path()).unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].path, "cameras[0].url");
}

#[test]
fn rule_classes_must_exist_in_the_model() {
    let text = format!("{BASE}\n[rules.sidewalk_parking]\nclasses = [\"car\", \"lorry\", \"motorcycle\"]\n");
    let text =
        text.replacen("[[cameras]]", "[rules.street_vending]\nstall_classes = [\"dining table\"]\n\n[[cameras]]", 1);
    let msgs = assert_paths(
        &text,
        &[
            "rules.sidewalk_parking.classes[1]",
            "rules.sidewalk_parking.classes[2]",
            "rules.street_vending.stall_classes[0]",
        ],
    );
    assert!(msgs.iter().any(|m| m.contains("did you mean `diningtable`?")), "{msgs:?}");
}

#[test]
fn router_references_are_checked() {
    let text = format!(
        r#"{BASE}
[[router.destinations]]
name = "police"
kind = "kafka"

[[router.destinations]]
name = "police"
kind = "local"
topic = "x"

[[router.routes]]
destinations = ["police", "cases"]
cameras = ["cam-zzz"]
"#
    );
    assert_paths(
        &text,
        &[
            "router.destinations[0].topic",
            "router.destinations[0].kind",
            "router.destinations[1].name",
            "router.destinations[1].topic",
            "router.routes[0].destinations[1]",
            "router.routes[0].cameras[0]",
        ],
    );
}

#[test]
fn routes_come_out_of_validation_in_the_routers_terms() {
    let text = format!(
        r#"{BASE}
[router.kafka]
bootstrap_servers = "127.0.0.1:9092"

[[router.destinations]]
name = "police"
kind = "kafka"
topic = "incidents"
encoding = "cloudevents_binary"
key = "incident"

[[router.routes]]
name = "parking to the police"
kinds = ["sidewalk_parking"]
phases = ["started", "ended"]
zone_kinds = ["tactile_paving"]
min_severity = "medium"
destinations = ["police"]
"#
    );
    let c = load_str(&text, &config_path()).unwrap_or_else(|e| panic!("{e}"));
    let d = &c.router.destinations[0];
    assert_eq!(d.encoding, router::encoding::Encoding::CloudEventsBinary);
    assert_eq!(d.key, router::MessageKey::Incident);
    let route = &c.routes[0];
    assert_eq!(route.name, "parking to the police");
    assert_eq!(route.kinds, [proto::v1::IncidentKind::SidewalkParking as i32]);
    assert_eq!(route.phases, [proto::v1::Phase::Started as i32, proto::v1::Phase::Ended as i32]);
    assert_eq!(route.zone_kinds, [proto::v1::ZoneKind::TactilePaving as i32]);
    assert_eq!(route.min_severity, Some(proto::v1::Severity::Medium as i32));
    assert_eq!(&*route.destinations[0], "police");

    // The local log's encoding is not one a Kafka destination can take.
    let json_line = text.replace("cloudevents_binary", "json_line");
    assert_paths(&json_line, &["router.destinations[0].encoding"]);
}

#[test]
fn kafka_secrets_only_from_env() {
    let text = format!(
        r#"{BASE}
[router.kafka]
bootstrap_servers = "127.0.0.1:9092"
properties = {{ "sasl.password" = "inline" }}
"#
    );
    let msgs = assert_paths(&text, &["router.kafka.properties.sasl.password"]);
    assert!(!msgs[0].contains("inline"));
}

#[test]
fn a_broken_config_reports_every_error_at_once() {
    let text = r#"
[service]
shutdown_deadline_secs = 0

[http]
listen = "localhost"

[detector]
model = "../models/no-such-model.toml"
intra_op_threads = 0

[rules.bike_cluster]
min_count = 1
cluster_radius = 3.0

[[cameras]]
id = "a"
url = "test://smpte"
sample_fps = 0
utc_offset = "CST"

[[cameras.zones]]
id = "z"
kind = "no_vending"
polygon = [[0.1, 0.1], [0.2, 0.2]]
tolerated = ["18:00-25:00"]

[[cameras]]
id = "a"
url = "ftp://x/y"
gbt28181_code = "123"

[[cameras]]
id = "b"
url = "test://smpte"
decode = "sometimes"
"#;
    let e = errors_of(text);
    let report = e.to_string();
    let mut paths = e.paths();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "cameras[0].sample_fps",
            "cameras[0].utc_offset",
            "cameras[0].zones[0].polygon",
            "cameras[0].zones[0].tolerated[0]",
            "cameras[1].gbt28181_code",
            "cameras[1].id",
            "cameras[1].url",
            "cameras[2].decode",
            "detector.intra_op_threads",
            "detector.model",
            "http.listen",
            "rules.bike_cluster.cluster_radius",
            "rules.bike_cluster.min_count",
            "service.shutdown_deadline_secs",
        ],
        "{report}"
    );
    assert!(report.starts_with(&format!("config {}: 14 errors", config_path().display())), "{report}");
}

#[test]
fn toml_syntax_errors_give_line_and_column() {
    let e = errors_of("[detector\nmodel = 1");
    assert_eq!(e.errors.len(), 1);
    assert!(e.errors[0].message.contains("line 1"), "{e}");
}
