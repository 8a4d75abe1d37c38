//! From an output tensor to detections in frame pixels: decode, per-class thresholds,
//! class-aware NMS, size filters, mapping back through the letterbox.

pub mod candidate;
pub mod decode;
pub mod nms;

use std::sync::Arc;

use crate::detection::Detection;
use crate::preprocess::letterbox::Letterbox;
use crate::OutputDecoder;
use decode::{DecodeError, ScoreThresholds};

/// Settings of the postprocessing, in model terms (class ids, not names).
#[derive(Debug, Clone)]
pub struct PostprocessSettings {
    pub thresholds: ScoreThresholds,
    pub nms_iou: f32,
    /// At most this many detections per frame, best first.
    pub max_detections: usize,
    /// Boxes narrower or lower than this (frame pixels) are dropped.
    pub min_box_size_px: f32,
    /// Boxes wider or taller than this fraction of the frame are dropped.
    pub max_box_fraction: f32,
}

pub struct Postprocessor {
    decoder: OutputDecoder,
    labels: Vec<Arc<str>>,
    settings: PostprocessSettings,
}

impl Postprocessor {
    pub fn new(decoder: OutputDecoder, classes: &[String], settings: PostprocessSettings) -> Self {
        Self { decoder, labels: classes.iter().map(|c| Arc::from(c.as_str())).collect(), settings }
    }

    fn label(&self, class_id: usize) -> Arc<str> {
        // Decoding checks the tensor against the class count, so this is always found;
        // a made-up name is still better than a panic.
        self.labels.get(class_id).cloned().unwrap_or_else(|| Arc::from(format!("class-{class_id}")))
    }

    /// Detections of image `batch_index` of an output tensor, in frame pixels.
    pub fn detections(
        &self,
        shape: &[i64],
        data: &[f32],
        batch_index: usize,
        letterbox: &Letterbox,
    ) -> Result<Vec<Detection>, DecodeError> {
        let s = &self.settings;
        let candidates = decode::decode(self.decoder, shape, data, batch_index, &s.thresholds)?;
        let kept = nms::class_aware_nms(candidates, s.nms_iou, usize::MAX);
        let (fw, fh) = (letterbox.frame_width as f32, letterbox.frame_height as f32);
        Ok(kept
            .into_iter()
            .map(|c| (c, letterbox.box_to_frame(&c.bbox)))
            .filter(|(_, b)| {
                b.width() >= s.min_box_size_px
                    && b.height() >= s.min_box_size_px
                    && b.width() <= s.max_box_fraction * fw
                    && b.height() <= s.max_box_fraction * fh
            })
            .take(s.max_detections)
            .map(|(c, bbox)| Detection { class_id: c.class_id, label: self.label(c.class_id), score: c.score, bbox })
            .collect())
    }
}
