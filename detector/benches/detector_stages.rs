//! Criterion benchmarks of the detector's own stages on a real frame (a vtest.avi
//! frame scaled to 1080p): letterbox + tensor, postprocessing of a real output, and
//! a whole `Engine::detect` at 320. Needs deploy/setup.sh's cache.
//!
//!     cargo bench -p streetwatch-detector --bench detector_stages

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use detector::bench::load_still;
use detector::engine::{Engine, EngineInput};
use detector::image::ImageRef;
use detector::postprocess::decode::ScoreThresholds;
use detector::postprocess::{PostprocessSettings, Postprocessor};
use detector::preprocess::prepare::Preprocessor;
use detector::runtime::default_cache_dir;
use detector::session::{open_session, SessionOptions};
use detector::LoadedModel;
use ort::value::TensorRef;

fn cache() -> PathBuf {
    default_cache_dir().expect("HOME or STREETWATCH_CACHE")
}

fn model(size: u32) -> LoadedModel {
    let manifest = PathBuf::from(format!("{}/../models/yolov3-tiny-{size}.toml", env!("CARGO_MANIFEST_DIR")));
    LoadedModel::from_manifest_file(&manifest, &cache().join("models"), None).expect("run deploy/setup.sh")
}

fn settings(classes: usize) -> PostprocessSettings {
    PostprocessSettings {
        thresholds: ScoreThresholds::uniform(classes, 0.3),
        nms_iou: 0.45,
        max_detections: 100,
        min_box_size_px: 4.0,
        max_box_fraction: 0.95,
    }
}

fn stages(c: &mut Criterion) {
    let frame = load_still(&cache().join("testdata/vtest-04.png"), Some((1920, 1080))).expect("run deploy/setup.sh");
    let image = ImageRef::bgr(frame.width, frame.height, frame.width as usize * 3, &frame.pixels).unwrap();
    let m416 = model(416);
    let _ = opencv::core::set_num_threads(1);

    let mut pre = Preprocessor::new(&m416.manifest.input).unwrap();
    let mut tensor = vec![0f32; pre.tensor_len()];
    c.bench_function("preprocess 1080p -> 416 (letterbox, tensor)", |b| {
        b.iter(|| pre.prepare(image, &[], &mut tensor).unwrap())
    });

    let letterbox = pre.prepare(image, &[], &mut tensor).unwrap();
    let (opened, _) = open_session(&m416.runtime, &m416.path, &SessionOptions::default()).unwrap();
    let mut session = opened.session;
    let input = TensorRef::from_array_view(([1i64, 3, 416, 416], &tensor[..])).unwrap();
    let outputs = session.run(ort::inputs![m416.manifest.input.name.as_str() => input]).unwrap();
    let (shape, data) = outputs[m416.manifest.output.name.as_str()].try_extract_tensor::<f32>().unwrap();
    let (shape, data) = (shape.to_vec(), Arc::new(data.to_vec()));
    let post = Postprocessor::new(m416.manifest.output.decoder, &m416.manifest.classes, settings(80));
    c.bench_function("postprocess 416 (decode, NMS, map back)", |b| {
        b.iter(|| post.detections(&shape, &data, 0, &letterbox).unwrap())
    });

    let m320 = model(320);
    let (mut engine, _) = Engine::open(&m320, &SessionOptions::default(), settings(80), 1).unwrap();
    let mut group = c.benchmark_group("engine");
    group.sample_size(20);
    group.bench_function("detect 1080p frame at 320, 1 thread", |b| {
        b.iter(|| engine.detect(&[EngineInput { image, masks: &[] }]).unwrap())
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
