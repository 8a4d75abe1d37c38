//! A GPU execution provider that cannot be used: CPU with a note, or an error when the
//! config requires the provider. (No GPU here: this is the path every CPU machine takes,
//! with or without the `cuda` feature, since the setup installs the CPU build.)

mod support;

use detector::engine::Engine;
use detector::session::{ExecutionProviderKind, SessionOptions};
use detector::DetectorError;
use support::{load_model, postprocess};

#[test]
fn an_unusable_provider_falls_back_to_cpu_unless_required() {
    let model = load_model(320);
    let post = postprocess(&model.manifest, 0.3, 0.45);
    for provider in [ExecutionProviderKind::Cuda, ExecutionProviderKind::TensorRt] {
        let lenient = SessionOptions { execution_provider: provider, ..SessionOptions::default() };
        let (engine, note) = Engine::open(&model, &lenient, post.clone(), 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(engine.execution_provider(), ExecutionProviderKind::Cpu);
        let note = note.expect("a fallback must be reported").to_string();
        assert!(note.contains(&format!("{} execution provider unavailable", provider.name())), "{note}");

        let strict = SessionOptions { require_execution_provider: true, ..lenient };
        let e = Engine::open(&model, &strict, post.clone(), 1).err().expect("a required provider must not fall back");
        assert!(matches!(e, DetectorError::ExecutionProvider { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(&format!("the {} execution provider is required", provider.name())), "{text}");
        assert!(text.contains("yolov3-tiny-320.onnx"), "{text}");
    }
}
