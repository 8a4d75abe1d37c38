//! Privacy masks hide what is behind them from the model, and only that.

mod support;

use detector::engine::EngineInput;
use detector::image::ImageRef;
use detector::preprocess::privacy_mask::PrivacyMask;
use support::{engine_for, load_bgr, test_image_dir};

#[test]
fn a_masked_bus_is_not_detected_while_people_outside_the_mask_still_are() {
    let (mut engine, _) = engine_for(416, 0.3, 0.45);
    let (w, h, pixels) = load_bgr(&test_image_dir().join("bus.jpg"));
    let image = ImageRef::bgr(w, h, w as usize * 3, &pixels).unwrap();

    let (open, _) = engine.detect(&[EngineInput { image, masks: &[] }]).unwrap();
    let bus = open[0].iter().find(|d| &*d.label == "bus").expect("the bus is found unmasked").bbox;

    // Mask exactly the bus's box (in pixels), a little larger.
    let mask = PrivacyMask {
        points: vec![
            [f64::from(bus.x1) - 8.0, f64::from(bus.y1) - 8.0],
            [f64::from(bus.x2) + 8.0, f64::from(bus.y1) - 8.0],
            [f64::from(bus.x2) + 8.0, f64::from(bus.y2) + 8.0],
            [f64::from(bus.x1) - 8.0, f64::from(bus.y2) + 8.0],
        ],
        normalized: false,
    };
    let (masked, _) = engine.detect(&[EngineInput { image, masks: std::slice::from_ref(&mask) }]).unwrap();
    assert!(masked[0].iter().all(|d| &*d.label != "bus"), "bus still detected behind the mask: {:?}", masked[0]);
    // People standing outside the mask are still found.
    let outside =
        |b: &detector::geometry::boxes::BoxXyxy| b.y2 < bus.y1 || b.y1 > bus.y2 || b.x2 < bus.x1 || b.x1 > bus.x2;
    let people_before = open[0].iter().filter(|d| &*d.label == "person" && d.score > 0.5).count();
    let people_after = masked[0].iter().filter(|d| &*d.label == "person" && d.score > 0.5).count();
    assert!(people_before > 0 && people_after > 0, "before {people_before}, after {people_after}");
    assert!(masked[0].iter().filter(|d| &*d.label == "person").all(|d| outside(&d.bbox) || d.bbox.iou(&bus) < 0.5));
}

#[test]
fn normalised_masks_cover_the_canvas_where_they_should() {
    let (mut engine, manifest) = engine_for(416, 0.3, 0.45);
    // A white 800x400 frame; mask its left half (normalised coordinates).
    let (w, h) = (800u32, 400u32);
    let pixels = vec![255u8; (w * h * 3) as usize];
    let image = ImageRef::bgr(w, h, w as usize * 3, &pixels).unwrap();
    let mask = PrivacyMask { points: vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]], normalized: true };
    engine.detect(&[EngineInput { image, masks: std::slice::from_ref(&mask) }]).unwrap();
    let canvas = detector::preprocess::prepare::canvas_bytes(engine.preprocessor().canvas()).unwrap();
    let px = |x: usize, y: usize| canvas[(y * 416 + x) * 3];
    let pad = manifest.input.pad_value;
    // 800x400 -> 416x208, padded 104 rows above. Left half masked, right half white.
    assert_eq!(px(100, 208), pad, "inside the mask");
    assert_eq!(px(300, 208), 255, "outside the mask");
    assert_eq!(px(300, 50), pad, "letterbox padding");
    assert_eq!(px(300, 370), pad, "letterbox padding");
}
