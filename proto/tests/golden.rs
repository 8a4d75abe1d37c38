//! Guards the wire format: a fully populated message must encode to the committed
//! bytes. If this fails, a field number or type changed: that breaks every consumer.
//! Regenerate only for a deliberate additive change: UPDATE_GOLDEN=1 cargo test -p streetwatch-proto

use std::path::PathBuf;

use proto::v1::*;
use proto::Message;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn sample_incident() -> Incident {
    Incident {
        id: "01936f6e-8a2b-7c3d-9e4f-0123456789ab".into(),
        kind: IncidentKind::SidewalkParking as i32,
        phase: Phase::Updated as i32,
        revision: 3,
        camera: Some(CameraRef {
            camera_id: "north-gate-01".into(),
            gbt28181_code: "34020000001320000001".into(),
            site: "Xinhua Road".into(),
            grid: "grid-17".into(),
        }),
        zone: Some(ZoneRef {
            zone_id: "sidewalk-e".into(),
            name: "East sidewalk".into(),
            kind: ZoneKind::Sidewalk as i32,
        }),
        started_at_ms: 1_764_000_000_000,
        updated_at_ms: 1_764_000_125_500,
        ended_at_ms: None,
        dwell_secs: 125.5,
        object_count: 1,
        objects: vec![DetectedObject {
            class_name: "car".into(),
            score: 0.875,
            r#box: Some(NormalizedBox { x: 0.5, y: 0.25, width: 0.125, height: 0.0625 }),
            track_id: 42,
        }],
        severity: Severity::Medium as i32,
        evidence: Some(Evidence {
            snapshot_uri: "evidence/2025-11-24/north-gate-01/snap.jpg".into(),
            clip_uri: "evidence/2025-11-24/north-gate-01/clip.mp4".into(),
            inline_jpeg: vec![0xff, 0xd8, 0xff, 0xd9],
        }),
        model: Some(ModelRef {
            name: "yolov3-tiny".into(),
            version: "darknet-coco-416".into(),
            sha256: "ab".repeat(32),
        }),
        producer_version: "0.1.0".into(),
        producer_instance: "worker-a".into(),
        summary: "car stationary 125 s in 'East sidewalk'".into(),
        // Added after the golden bytes were written: unset, the bytes stay the same.
        cause: String::new(),
        review: None,
    }
}

fn sample_status() -> CameraStatus {
    CameraStatus {
        camera: Some(CameraRef { camera_id: "north-gate-01".into(), ..Default::default() }),
        state: CameraState::AuthFailed as i32,
        since_ms: 1_764_000_000_123,
        last_error: "401 Unauthorized from rtsp://***@10.0.0.5/ch1".into(),
        measured_fps: 0.5,
        // Added after the golden bytes were written: unset, the bytes stay the same.
        worker: String::new(),
        reported_at_ms: 0,
        heartbeat_interval_ms: 0,
        last_frame_ms: 0,
    }
}

fn check_golden(name: &str, bytes: &[u8]) {
    let path = golden_path(name);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{hex}\n")).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(hex, want.trim(), "wire bytes of {name} changed: see proto/README.md before updating");
}

#[test]
fn incident_wire_bytes_are_stable() {
    check_golden("incident_v1.hex", &sample_incident().encode_to_vec());
}

#[test]
fn camera_status_wire_bytes_are_stable() {
    check_golden("camera_status_v1.hex", &sample_status().encode_to_vec());
}

#[test]
fn golden_bytes_decode_to_the_sample() {
    let hex = std::fs::read_to_string(golden_path("incident_v1.hex")).unwrap();
    let bytes: Vec<u8> =
        (0..hex.trim().len()).step_by(2).map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).unwrap()).collect();
    assert_eq!(Incident::decode(bytes.as_slice()).unwrap(), sample_incident());
}

#[test]
fn round_trip_keeps_every_field() {
    let mut ended = sample_incident();
    ended.phase = Phase::Ended as i32;
    ended.ended_at_ms = Some(1_764_000_200_000);
    for msg in [sample_incident(), ended, Incident::default()] {
        assert_eq!(Incident::decode(msg.encode_to_vec().as_slice()).unwrap(), msg);
    }
    let s = sample_status();
    assert_eq!(CameraStatus::decode(s.encode_to_vec().as_slice()).unwrap(), s);
}

#[test]
fn unknown_fields_from_a_newer_producer_are_skipped() {
    // A v1.x producer may add field 99; an older consumer must still decode.
    let mut bytes = sample_incident().encode_to_vec();
    bytes.extend_from_slice(&[0x9a, 0x06, 0x03, b'n', b'e', b'w']); // field 99, length-delimited "new"
    assert_eq!(Incident::decode(bytes.as_slice()).unwrap(), sample_incident());
}

#[test]
fn unknown_enum_values_decode_without_error() {
    let mut i = sample_incident();
    i.kind = 57; // a kind added in a later version
    let decoded = Incident::decode(i.encode_to_vec().as_slice()).unwrap();
    assert_eq!(decoded.kind, 57);
    assert!(IncidentKind::try_from(decoded.kind).is_err());
}
