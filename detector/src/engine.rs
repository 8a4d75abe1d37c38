//! One inference engine: a session of its own, a preprocessing canvas and tensor
//! buffer, and the postprocessing. An inference worker owns one; benchmarks and
//! golden tests drive one directly.

use std::time::{Duration, Instant};

use ort::session::Session;
use ort::value::TensorRef;

use crate::detection::Detection;
use crate::error::ProviderFallback;
use crate::image::ImageRef;
use crate::model::loaded::LoadedModel;
use crate::postprocess::decode::DecodeError;
use crate::postprocess::{PostprocessSettings, Postprocessor};
use crate::preprocess::prepare::{PreprocessError, Preprocessor};
use crate::preprocess::privacy_mask::PrivacyMask;
use crate::session::{open_session, ExecutionProviderKind, SessionOptions};
use crate::DetectorError;

/// One image to analyse, with the masks of its camera.
#[derive(Clone, Copy)]
pub struct EngineInput<'a> {
    pub image: ImageRef<'a>,
    pub masks: &'a [PrivacyMask],
}

/// Where the time of one `detect` call went (for the whole batch).
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimings {
    pub preprocess: Duration,
    /// Inside `Session::run` only.
    pub inference: Duration,
    /// Reading the output tensor, NMS, mapping back.
    pub postprocess: Duration,
}

impl StageTimings {
    pub fn total(&self) -> Duration {
        self.preprocess + self.inference + self.postprocess
    }
}

/// Why one `detect` call failed. Nothing here is a panic: the worker logs it with the
/// camera's id and goes on with the next frame.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("preprocessing failed: a batch of {images} images, this engine takes 1 to {max}")]
    BatchSize { images: usize, max: usize },
    #[error("preprocessing failed")]
    Preprocess(#[from] PreprocessError),
    #[error("preprocessing failed: the input tensor")]
    Tensor(#[source] ort::Error),
    #[error("inference failed")]
    Inference(#[source] ort::Error),
    #[error("model output unreadable: no output named `{0}`")]
    NoOutput(String),
    #[error("model output unreadable")]
    OutputTensor(#[source] ort::Error),
    #[error("model output unreadable")]
    Decode(#[from] DecodeError),
}

impl DetectError {
    /// The stage that failed, as the error metric labels it.
    pub fn stage(&self) -> &'static str {
        match self {
            Self::BatchSize { .. } | Self::Preprocess(_) | Self::Tensor(_) => "preprocess",
            Self::Inference(_) => "inference",
            Self::NoOutput(_) | Self::OutputTensor(_) | Self::Decode(_) => "output",
        }
    }
}

pub struct Engine {
    session: Session,
    input_name: String,
    output_name: String,
    preprocessor: Preprocessor,
    postprocessor: Postprocessor,
    max_batch: usize,
    tensor: Vec<f32>,
    execution_provider: ExecutionProviderKind,
}

impl Engine {
    /// Opens a session of its own on an already verified model. `max_batch` above 1
    /// needs a model with a dynamic batch dimension; it is cut to 1 otherwise.
    /// The second value says why a requested execution provider is not in use.
    pub fn open(
        model: &LoadedModel,
        options: &SessionOptions,
        post: PostprocessSettings,
        max_batch: usize,
    ) -> Result<(Self, Option<ProviderFallback>), DetectorError> {
        let (opened, fallback) = open_session(&model.runtime, &model.path, options)?;
        let manifest = &model.manifest;
        let preprocessor = Preprocessor::new(&manifest.input)
            .map_err(|source| DetectorError::Preprocess { path: model.path.clone(), source })?;
        let max_batch = if manifest.input.dynamic_batch { max_batch.max(1) } else { 1 };
        let engine = Self {
            session: opened.session,
            input_name: manifest.input.name.clone(),
            output_name: manifest.output.name.clone(),
            postprocessor: Postprocessor::new(manifest.output.decoder, &manifest.classes, post),
            tensor: vec![0.0; preprocessor.tensor_len() * max_batch],
            preprocessor,
            max_batch,
            execution_provider: opened.execution_provider,
        };
        Ok((engine, fallback))
    }

    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    pub fn execution_provider(&self) -> ExecutionProviderKind {
        self.execution_provider
    }

    /// Detects objects in up to `max_batch()` images with one `Session::run`.
    pub fn detect(&mut self, inputs: &[EngineInput<'_>]) -> Result<(Vec<Vec<Detection>>, StageTimings), DetectError> {
        let n = inputs.len();
        if n == 0 || n > self.max_batch {
            return Err(DetectError::BatchSize { images: n, max: self.max_batch });
        }
        let mut timings = StageTimings::default();
        let started = Instant::now();
        let per_image = self.preprocessor.tensor_len();
        let mut letterboxes = Vec::with_capacity(n);
        for (input, slot) in inputs.iter().zip(self.tensor.chunks_exact_mut(per_image)) {
            letterboxes.push(self.preprocessor.prepare(input.image, input.masks, slot)?);
        }
        let shape = [n as i64, 3, i64::from(self.preprocessor_height()), i64::from(self.preprocessor_width())];
        let tensor = TensorRef::from_array_view((shape, &self.tensor[..per_image * n])).map_err(DetectError::Tensor)?;
        let before_run = Instant::now();
        timings.preprocess = before_run - started;
        let outputs =
            self.session.run(ort::inputs![self.input_name.as_str() => tensor]).map_err(DetectError::Inference)?;
        let after_run = Instant::now();
        timings.inference = after_run - before_run;
        let output = outputs.get(&self.output_name).ok_or_else(|| DetectError::NoOutput(self.output_name.clone()))?;
        let (shape, data) = output.try_extract_tensor::<f32>().map_err(DetectError::OutputTensor)?;
        let mut results = Vec::with_capacity(n);
        for (i, lb) in letterboxes.iter().enumerate() {
            results.push(self.postprocessor.detections(shape, data, i, lb)?);
        }
        timings.postprocess = after_run.elapsed();
        Ok((results, timings))
    }

    fn preprocessor_width(&self) -> u32 {
        self.preprocessor.input_width()
    }

    fn preprocessor_height(&self) -> u32 {
        self.preprocessor.input_height()
    }

    /// The preprocessing canvas of the last image (tests, debugging).
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }
}
