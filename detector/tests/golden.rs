//! Golden tests: the real model through the whole Rust pipeline (OpenCV letterbox,
//! ONNX Runtime, decoding, NMS, mapping back) on real images nobody here made, against
//! reference detections computed independently with ONNX Runtime's Python API
//! (detector/tests/golden/make_reference.py; the JSON is committed, the images and
//! models come from deploy/setup.sh into the cache).

mod support;

use std::collections::BTreeSet;

use detector::engine::{Engine, EngineInput};
use detector::geometry::boxes::BoxXyxy;
use detector::Detection;
use serde::Deserialize;
use support::{engine_for, engine_for_named, load_bgr, test_image_dir};

/// Detections at least this confident must be found on both sides.
const CONFIDENT: f32 = 0.35;
/// Two candidates for one object whose scores differ by less than this are a tie that
/// NMS may break either way: a pixel's rounding in the resize decides it. Such a tie
/// is reported, and allowed at most `MAX_TIES` times per model.
const TIE_SCORE: f32 = 0.01;
const MAX_TIES: usize = 2;
/// The acceptance bar: a matched box overlaps its reference this much.
const MIN_IOU: f32 = 0.9;

#[derive(Deserialize)]
struct Reference {
    model_sha256: String,
    score_threshold: f32,
    nms_iou: f32,
    images: Vec<ReferenceImage>,
}

#[derive(Deserialize)]
struct ReferenceImage {
    image: String,
    image_sha256: String,
    detections: Vec<ReferenceDetection>,
}

#[derive(Deserialize, Debug)]
struct ReferenceDetection {
    class: String,
    score: f32,
    #[serde(rename = "box")]
    bbox: [f32; 4],
}

impl ReferenceDetection {
    fn bbox(&self) -> BoxXyxy {
        let [x1, y1, x2, y2] = self.bbox;
        BoxXyxy { x1, y1, x2, y2 }
    }
}

fn reference(size: u32) -> Reference {
    let path = format!("{}/tests/golden/yolov3-tiny-{size}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Runs every reference image through the engine and checks both directions.
/// Returns the classes found per image, for the expected-class checks.
fn check_against_reference(size: u32) -> Vec<(String, BTreeSet<String>)> {
    let reference = reference(size);
    let (mut engine, manifest) = engine_for(size, reference.score_threshold, reference.nms_iou);
    assert_eq!(manifest.sha256, reference.model_sha256, "the reference was computed on another model");
    let mut found = Vec::new();
    let mut failures = Vec::new();
    let mut ties = Vec::new();
    for image in &reference.images {
        let path = test_image_dir().join(&image.image);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run deploy/setup.sh)", path.display()));
        assert_eq!(sha256_hex(&bytes), image.image_sha256, "{}: not the image the reference was made on", image.image);
        let detections = detect(&mut engine, &image.image);
        for r in image.detections.iter().filter(|r| r.score >= CONFIDENT) {
            let best = best_match(&detections, &r.class, &r.bbox());
            let tie = detections.iter().find(|d| {
                *d.label == r.class
                    && d.bbox.iou(&r.bbox()) > reference.nms_iou
                    && (d.score - r.score).abs() < TIE_SCORE
            });
            if let (true, Some(tie)) = (best < MIN_IOU, tie) {
                ties.push(format!("{size} {}: {} {:.4} vs {:.4}", image.image, r.class, r.score, tie.score));
            } else if best < MIN_IOU {
                failures.push(format!(
                    "{size} {}: reference {} {:.2} {:?}: best IoU {best:.3}",
                    image.image, r.class, r.score, r.bbox
                ));
            }
        }
        for d in detections.iter().filter(|d| d.score >= CONFIDENT) {
            let best = best_reference_match(image, d);
            let tie = image.detections.iter().any(|r| {
                r.class == *d.label
                    && r.bbox().iou(&d.bbox) > reference.nms_iou
                    && (d.score - r.score).abs() < TIE_SCORE
            });
            if best < MIN_IOU && !tie {
                failures.push(format!(
                    "{size} {}: ours {} {:.2} {:?}: best IoU {best:.3}",
                    image.image, d.label, d.score, d.bbox
                ));
            }
        }
        found.push((image.image.clone(), detections.iter().map(|d| d.label.to_string()).collect()));
    }
    assert!(failures.is_empty(), "detections differ from the reference:\n{}", failures.join("\n"));
    assert!(ties.len() <= MAX_TIES, "too many NMS ties to be chance:\n{}", ties.join("\n"));
    if !ties.is_empty() {
        eprintln!("NMS ties broken the other way (allowed): {}", ties.join("; "));
    }
    found
}

fn detect(engine: &mut Engine, name: &str) -> Vec<Detection> {
    let (w, h, pixels) = load_bgr(&test_image_dir().join(name));
    let image = detector::image::ImageRef::bgr(w, h, w as usize * 3, &pixels).unwrap();
    let (mut results, _) = engine.detect(&[EngineInput { image, masks: &[] }]).unwrap();
    results.remove(0)
}

fn best_match(detections: &[Detection], class: &str, bbox: &BoxXyxy) -> f32 {
    detections.iter().filter(|d| &*d.label == class).map(|d| d.bbox.iou(bbox)).fold(0.0, f32::max)
}

/// The best overlap of one of ours with a reference detection of its class.
fn best_reference_match(image: &ReferenceImage, d: &Detection) -> f32 {
    image.detections.iter().filter(|r| r.class == *d.label).map(|r| r.bbox().iou(&d.bbox)).fold(0.0, f32::max)
}

fn classes_of<'a>(found: &'a [(String, BTreeSet<String>)], image: &str) -> &'a BTreeSet<String> {
    &found.iter().find(|(name, _)| name == image).unwrap().1
}

#[test]
fn yolov3_tiny_416_matches_the_reference_and_finds_the_expected_classes() {
    let found = check_against_reference(416);
    // What is in the pictures, as a person sees them.
    let bus = classes_of(&found, "bus.jpg");
    assert!(bus.contains("bus") && bus.contains("person"), "bus.jpg: {bus:?}");
    let dog = classes_of(&found, "dog.jpg");
    assert!(dog.contains("dog") && dog.contains("bicycle"), "dog.jpg: {dog:?}");
    assert!(dog.contains("car") || dog.contains("truck"), "dog.jpg: {dog:?}");
    for (name, classes) in found.iter().filter(|(n, _)| n.starts_with("vtest")) {
        assert!(classes.contains("person"), "{name}: the campus walkers are missing: {classes:?}");
    }
}

#[test]
fn yolov3_tiny_320_matches_the_reference() {
    let found = check_against_reference(320);
    assert!(classes_of(&found, "bus.jpg").contains("person"));
    assert!(classes_of(&found, "dog.jpg").contains("bicycle"));
}

#[test]
fn yolov3_tiny_640_matches_the_reference() {
    let found = check_against_reference(640);
    assert!(classes_of(&found, "bus.jpg").contains("person"));
    assert!(classes_of(&found, "dog.jpg").contains("dog"));
}

/// The int8 model (models/quantize_int8.py) against the fp32 model's reference: it may
/// move boxes a little and shift scores, but confident objects must stay found with
/// their class, and it must not invent confident ones.
#[test]
fn yolov3_tiny_416_int8_keeps_the_fp32_detections() {
    const KEPT_IOU: f32 = 0.7;
    let reference = reference(416);
    let (mut engine, manifest) = engine_for_named("yolov3-tiny-416-int8", reference.score_threshold, reference.nms_iou);
    assert_ne!(manifest.sha256, reference.model_sha256, "the int8 manifest names the fp32 file");
    let (mut confident, mut kept, mut ours, mut invented) = (0, 0, 0, Vec::new());
    let mut lost = Vec::new();
    let mut found = Vec::new();
    for image in &reference.images {
        let detections = detect(&mut engine, &image.image);
        for r in image.detections.iter().filter(|r| r.score >= 0.5) {
            confident += 1;
            if best_match(&detections, &r.class, &r.bbox()) >= KEPT_IOU {
                kept += 1;
            } else {
                lost.push(format!("{}: {} {:.2}", image.image, r.class, r.score));
            }
        }
        // Ours at 0.5 must match a reference box of any score above the threshold.
        for d in detections.iter().filter(|d| d.score >= 0.5) {
            ours += 1;
            let best = best_reference_match(image, d);
            if best < KEPT_IOU {
                invented.push(format!("{}: {} {:.2}", image.image, d.label, d.score));
            }
        }
        found.push((image.image.clone(), detections.iter().map(|d| d.label.to_string()).collect()));
    }
    eprintln!("int8: {kept} of {confident} confident fp32 detections kept; lost {lost:?}; {ours} of ours, invented {invented:?}");
    assert!(confident >= 20, "too few reference detections to judge ({confident})");
    assert!(kept as f64 >= 0.9 * confident as f64, "int8 lost too many detections: {lost:?}");
    assert!(invented.len() as f64 <= 0.1 * ours as f64, "int8 invents detections: {invented:?}");
    let bus = classes_of(&found, "bus.jpg");
    assert!(bus.contains("bus") && bus.contains("person"), "bus.jpg: {bus:?}");
    let dog = classes_of(&found, "dog.jpg");
    assert!(dog.contains("dog") && dog.contains("bicycle"), "dog.jpg: {dog:?}");
}
