//! Output decoders: read a model's output tensor into candidate boxes.
//!
//! The manifest's `output.decoder` picks one, so a newer model is a manifest change:
//! - `yolo_decoded` (our converted Darknet models) and `yolov5` (a YOLOv5 export):
//!   `[batch, boxes, 5 + classes]`, rows of cx, cy, w, h (input pixels), objectness and
//!   class probabilities; a box's score is objectness × its best class probability.
//! - `yolov8`: `[batch, 4 + classes, boxes]` (column-major rows), no objectness; the
//!   score is the best class probability.
//!
//! Each box keeps only its best class, as the YOLO tools do by default.

use super::candidate::Candidate;
use crate::geometry::boxes::BoxXyxy;
use crate::OutputDecoder;

/// Why an output tensor cannot be read with the configured decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Per-class score thresholds, indexed by class id.
#[derive(Debug, Clone)]
pub struct ScoreThresholds {
    per_class: Vec<f32>,
    lowest: f32,
}

impl ScoreThresholds {
    pub fn new(per_class: Vec<f32>) -> Self {
        let lowest = per_class.iter().copied().fold(f32::INFINITY, f32::min);
        Self { per_class, lowest }
    }

    pub fn uniform(classes: usize, threshold: f32) -> Self {
        Self::new(vec![threshold; classes])
    }

    pub fn for_class(&self, class_id: usize) -> f32 {
        self.per_class.get(class_id).copied().unwrap_or(f32::INFINITY)
    }

    pub fn classes(&self) -> usize {
        self.per_class.len()
    }
}

/// Decodes the boxes of one image (`batch_index`) from an output tensor.
pub fn decode(
    decoder: OutputDecoder,
    shape: &[i64],
    data: &[f32],
    batch_index: usize,
    thresholds: &ScoreThresholds,
) -> Result<Vec<Candidate>, DecodeError> {
    let classes = thresholds.classes();
    if shape.len() != 3 || shape.iter().any(|&d| d < 0) {
        return Err(DecodeError(format!("output shape {shape:?} is not [batch, a, b]")));
    }
    let [batch, a, b] = [shape[0] as usize, shape[1] as usize, shape[2] as usize];
    if batch_index >= batch || data.len() != batch * a * b {
        return Err(DecodeError(format!(
            "output shape {shape:?} with {} values cannot hold image {batch_index}",
            data.len()
        )));
    }
    let image = &data[batch_index * a * b..(batch_index + 1) * a * b];
    match decoder {
        OutputDecoder::YoloDecoded | OutputDecoder::Yolov5 => {
            if b != 5 + classes {
                return Err(DecodeError(format!("rows have {b} values, expected 5 + {classes} classes")));
            }
            Ok(decode_rows_with_objectness(image, classes, thresholds))
        }
        OutputDecoder::Yolov8 => {
            if a != 4 + classes {
                return Err(DecodeError(format!("output has {a} channels, expected 4 + {classes} classes")));
            }
            Ok(decode_columns_without_objectness(image, b, classes, thresholds))
        }
    }
}

fn best_class(scores: impl Iterator<Item = f32>) -> (usize, f32) {
    scores.enumerate().fold((0, f32::NEG_INFINITY), |best, (i, s)| if s > best.1 { (i, s) } else { best })
}

fn decode_rows_with_objectness(image: &[f32], classes: usize, thresholds: &ScoreThresholds) -> Vec<Candidate> {
    let mut out = Vec::new();
    for row in image.chunks_exact(5 + classes) {
        let objectness = row[4];
        // Class probabilities are at most 1, so a box whose objectness is below every
        // threshold cannot pass: skipping it here saves most of the work. (NaN fails
        // the comparison and is skipped too.)
        if objectness.is_nan() || objectness < thresholds.lowest {
            continue;
        }
        let (class_id, probability) = best_class(row[5..].iter().copied());
        let score = objectness * probability;
        if score >= thresholds.for_class(class_id) {
            let bbox = BoxXyxy::from_center(row[0], row[1], row[2], row[3]);
            if bbox.is_finite() {
                out.push(Candidate { class_id, score, bbox });
            }
        }
    }
    out
}

fn decode_columns_without_objectness(
    image: &[f32],
    boxes: usize,
    classes: usize,
    thresholds: &ScoreThresholds,
) -> Vec<Candidate> {
    let at = |channel: usize, i: usize| image[channel * boxes + i];
    let mut out = Vec::new();
    for i in 0..boxes {
        let (class_id, score) = best_class((0..classes).map(|c| at(4 + c, i)));
        if score >= thresholds.for_class(class_id) {
            let bbox = BoxXyxy::from_center(at(0, i), at(1, i), at(2, i), at(3, i));
            if bbox.is_finite() {
                out.push(Candidate { class_id, score, bbox });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_objectness_score_is_objectness_times_best_class() {
        // Two images, two boxes each, two classes.
        #[rustfmt::skip]
        let data = [
            10.0, 10.0, 4.0, 4.0, 0.9, 0.2, 0.8,   50.0, 50.0, 2.0, 2.0, 0.1, 0.9, 0.1,
            20.0, 20.0, 8.0, 8.0, 0.5, 1.0, 0.0,   0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        let th = ScoreThresholds::uniform(2, 0.3);
        let first = decode(OutputDecoder::YoloDecoded, &[2, 2, 7], &data, 0, &th).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].class_id, 1);
        assert!((first[0].score - 0.72).abs() < 1e-6);
        assert_eq!(first[0].bbox, BoxXyxy { x1: 8.0, y1: 8.0, x2: 12.0, y2: 12.0 });
        let second = decode(OutputDecoder::Yolov5, &[2, 2, 7], &data, 1, &th).unwrap();
        assert_eq!((second[0].class_id, second[0].score), (0, 0.5));
    }

    #[test]
    fn per_class_thresholds_apply_to_the_best_class() {
        let data = [10.0, 10.0, 4.0, 4.0, 0.9, 0.2, 0.5];
        let th = ScoreThresholds::new(vec![0.1, 0.6]);
        assert!(decode(OutputDecoder::YoloDecoded, &[1, 1, 7], &data, 0, &th).unwrap().is_empty());
        let th = ScoreThresholds::new(vec![0.6, 0.4]);
        assert_eq!(decode(OutputDecoder::YoloDecoded, &[1, 1, 7], &data, 0, &th).unwrap().len(), 1);
    }

    #[test]
    fn yolov8_columns_are_read_transposed() {
        // 3 boxes, 2 classes: channels cx, cy, w, h, class0, class1.
        #[rustfmt::skip]
        let data = [
            10.0, 20.0, 30.0,
            10.0, 20.0, 30.0,
            2.0, 2.0, 2.0,
            2.0, 2.0, 2.0,
            0.1, 0.7, 0.2,
            0.2, 0.1, 0.9,
        ];
        let th = ScoreThresholds::uniform(2, 0.5);
        let c = decode(OutputDecoder::Yolov8, &[1, 6, 3], &data, 0, &th).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].class_id, c[0].score), (0, 0.7));
        assert_eq!(c[0].bbox, BoxXyxy { x1: 19.0, y1: 19.0, x2: 21.0, y2: 21.0 });
        assert_eq!((c[1].class_id, c[1].score), (1, 0.9));
    }

    #[test]
    fn a_tensor_that_does_not_fit_is_an_error_not_a_panic() {
        let th = ScoreThresholds::uniform(80, 0.3);
        assert!(decode(OutputDecoder::YoloDecoded, &[1, 10, 85], &[0.0; 10], 0, &th).is_err());
        assert!(decode(OutputDecoder::YoloDecoded, &[1, 1, 84], &[0.0; 84], 0, &th).is_err());
        assert!(decode(OutputDecoder::Yolov8, &[1, 85, 1], &[0.0; 85], 0, &th).is_err());
        assert!(decode(OutputDecoder::YoloDecoded, &[1, 1, 85], &[0.0; 85], 1, &th).is_err());
        assert!(decode(OutputDecoder::YoloDecoded, &[1, 85], &[0.0; 85], 0, &th).is_err());
    }

    #[test]
    fn not_a_number_never_becomes_a_box() {
        let data = [f32::NAN, 10.0, 4.0, 4.0, 0.9, 0.9, f32::NAN, 10.0, 10.0, 4.0, 4.0, f32::NAN, 0.9, 0.9];
        let th = ScoreThresholds::uniform(2, 0.3);
        assert!(decode(OutputDecoder::YoloDecoded, &[1, 2, 7], &data, 0, &th).unwrap().is_empty());
    }
}
