//! End to end on real footage: the shipped `deploy/vtest-once.toml` runs the whole
//! pipeline (GStreamer file source, the real model through ONNX Runtime, tracker,
//! zones, rules, incidents) over vtest.avi, a campus CCTV view nobody here made. The
//! white van parked on the paved strip at the top right must give exactly one
//! `sidewalk_parking` incident, and nothing else in the footage may raise one (people
//! walk through the zone); its snapshot must show the van boxed.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{bin, repo_root, Running};

fn is_red(px: &[u8]) -> bool {
    px[2] > 170 && px[1] < 110 && px[0] < 110
}

#[test]
fn vtest_gives_exactly_one_sidewalk_parking_incident_with_the_van_boxed() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(["run", "--config"])
        .arg(repo_root().join("deploy/vtest-once.toml"))
        .env("STREETWATCH_DATA_DIR", out.path());
    let mut proc = Running::spawn(cmd);
    // The run ends by itself once the file is analysed to its end.
    let code = proc.wait_exit(Duration::from_secs(240));
    let log = proc.stderr();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("every camera finished its file"), "{log}");

    let lines = std::fs::read_to_string(out.path().join("events/incidents.jsonl")).expect("incident log written");
    let events: Vec<Value> =
        lines.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let started: Vec<&Value> = events.iter().filter(|e| e["phase"] == "STARTED").collect();
    assert_eq!(started.len(), 1, "exactly one incident in the footage: {lines}");
    let e = started[0];
    assert_eq!(e["kind"], "sidewalk_parking", "{e}");
    assert_eq!(e["zone"]["id"], "east-sidewalk", "{e}");
    assert_eq!(e["camera_id"], "campus-gate");
    assert_eq!(e["revision"], 1);
    let dwell = e["dwell_secs"].as_f64().unwrap();
    assert!((20.0..30.0).contains(&dwell), "raised once the 20 s dwell was reached: {e}");
    assert!(events.iter().all(|x| x["id"] == e["id"]), "every event belongs to that one incident: {lines}");
    let objects = e["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{e}");
    let class = objects[0]["class"].as_str().unwrap();
    assert!(class == "truck" || class == "car", "a vehicle: {e}");
    let b: Vec<f64> = objects[0]["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    // The white van: about x 652-723, y 45-100 of the 768x576 frame.
    let (cx, cy) = ((b[0] + b[2] / 2.0) * 768.0, (b[1] + b[3] / 2.0) * 576.0);
    assert!((650.0..725.0).contains(&cx) && (45.0..100.0).contains(&cy), "the white van: {e}");

    // The snapshot shows the frame with the van boxed in red (frame coordinates: the
    // caption strip is below the frame).
    let rel = e["snapshot"].as_str().expect("snapshot path");
    assert!(rel.starts_with("evidence/") && rel.contains("/campus-gate/"), "{rel}");
    let jpeg = std::fs::read(out.path().join(rel)).expect("snapshot file");
    let (w, h, px) = detector::evidence::decode_jpeg(&jpeg).expect("a JPEG");
    assert_eq!((w, h), (768, 576 + 44), "the frame and the caption strip below it");
    let at = |x: f64, y: f64| {
        let i = (y.round() as usize * w as usize + x.round() as usize) * 3;
        &px[i..i + 3]
    };
    let (x1, y1, x2, y2) = (b[0] * 768.0, b[1] * 576.0, (b[0] + b[2]) * 768.0, (b[1] + b[3]) * 576.0);
    let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    // The box line is 2 px wide and JPEG smears it a little: one of the three pixels
    // across the edge must be clearly red.
    for (x, y, dx, dy, edge) in [(x1, my, 1.0, 0.0, "left"), (x2, my, 1.0, 0.0, "right"), (mx, y2, 0.0, 1.0, "bottom")]
    {
        let across: Vec<&[u8]> = (-1..=1).map(|k| at(x + dx * f64::from(k), y + dy * f64::from(k))).collect();
        assert!(across.iter().any(|p| is_red(p)), "{edge} edge of the van's box is not red: {across:?}");
    }
    // Inside the box the van itself shows (white-ish), not paint.
    let inside = at(mx, my);
    assert!(!is_red(inside), "{inside:?}");

    // The evidence clip: the camera's 10 s pre-roll and 10 s post-roll, as recorded
    // (no re-encoding), playable from a keyframe.
    let clip = out.path().join(e["clip"].as_str().expect("clip path in the event"));
    assert!(log.contains("evidence clip written"), "{log}");
    ingest::init().unwrap();
    let played = ingest::media::play_through(&clip, Duration::from_secs(60)).expect("the clip plays");
    assert!(played.starts_at_keyframe);
    let secs = ingest::media::duration(&clip, Duration::from_secs(10)).unwrap().as_secs_f64();
    assert!(secs >= 19.9, "clip covers pre-roll + post-roll: {secs} s");
    assert!(played.decoded_frames as f64 >= secs * 10.0 - 2.0, "every frame of 10 fps footage: {played:?} in {secs} s");
}
