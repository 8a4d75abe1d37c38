//! The OpenCV half of preprocessing: one reusable canvas per inference worker.

use opencv::core::{
    Mat, MatTrait, MatTraitConst, MatTraitConstManual, MatTraitManual, Point, Rect, Scalar, Size, Vector, CV_8UC3,
};
use opencv::imgproc;

use super::letterbox::Letterbox;
use super::privacy_mask::PrivacyMask;
use crate::evidence::borrowed_mat::with_borrowed_mat;
use crate::image::ImageRef;
use crate::model::manifest::{ColorOrder, ModelInput};

pub use crate::error::PreprocessError;

/// Letterboxes frames into one model input size and writes planar tensors.
pub struct Preprocessor {
    width: u32,
    height: u32,
    pad: u8,
    canvas: Mat,
    /// The geometry the canvas padding was last painted for: the padding is only
    /// repainted when the frame size changes.
    painted_for: Option<Letterbox>,
    /// For each tensor channel, which byte of a BGR pixel feeds it.
    source_byte: [usize; 3],
    /// For each tensor channel, the normalised value of every byte value.
    lookup: Box<[[f32; 256]; 3]>,
}

impl Preprocessor {
    pub fn new(input: &ModelInput) -> Result<Self, PreprocessError> {
        let canvas = Mat::new_rows_cols_with_default(
            input.height as i32,
            input.width as i32,
            CV_8UC3,
            Scalar::all(f64::from(input.pad_value)),
        )?;
        let source_byte = match input.color_order {
            ColorOrder::Rgb => [2, 1, 0],
            ColorOrder::Bgr => [0, 1, 2],
        };
        let mut lookup = Box::new([[0f32; 256]; 3]);
        for (c, table) in lookup.iter_mut().enumerate() {
            for (v, out) in table.iter_mut().enumerate() {
                *out = (v as f32 * input.scale - input.mean[c]) / input.std[c];
            }
        }
        Ok(Self {
            width: input.width,
            height: input.height,
            pad: input.pad_value,
            canvas,
            painted_for: None,
            source_byte,
            lookup,
        })
    }

    pub fn input_width(&self) -> u32 {
        self.width
    }

    pub fn input_height(&self) -> u32 {
        self.height
    }

    /// Floats one image takes in the input tensor.
    pub fn tensor_len(&self) -> usize {
        3 * self.width as usize * self.height as usize
    }

    /// Letterboxes `image` into the canvas, fills the privacy masks, and writes the
    /// planar, normalised tensor of one image into `out` (`tensor_len()` floats).
    pub fn prepare(
        &mut self,
        image: ImageRef<'_>,
        masks: &[PrivacyMask],
        out: &mut [f32],
    ) -> Result<Letterbox, PreprocessError> {
        if out.len() != self.tensor_len() {
            return Err(PreprocessError::TensorSlice { got: out.len(), need: self.tensor_len() });
        }
        let lb = Letterbox::fit(image.width(), image.height(), self.width, self.height);
        if self.painted_for.map(|p| (p.resized_width, p.resized_height)) != Some((lb.resized_width, lb.resized_height))
        {
            self.canvas.set_to_def(&Scalar::all(f64::from(self.pad)))?;
            self.painted_for = Some(lb);
        }
        self.letterbox_into_canvas(image, &lb)?;
        if !masks.is_empty() {
            self.fill_masks(masks, &lb)?;
        }
        self.write_tensor(out)?;
        Ok(lb)
    }

    fn letterbox_into_canvas(&mut self, image: ImageRef<'_>, lb: &Letterbox) -> Result<(), PreprocessError> {
        let area = Rect::new(lb.pad_left as i32, lb.pad_top as i32, lb.resized_width as i32, lb.resized_height as i32);
        let canvas = &mut self.canvas;
        with_borrowed_mat(image, |source| {
            let mut target = Mat::roi_mut(canvas, area)?;
            if (lb.resized_width, lb.resized_height) == (image.width(), image.height()) {
                source.copy_to(&mut target)
            } else {
                let size = Size::new(lb.resized_width as i32, lb.resized_height as i32);
                imgproc::resize(source, &mut target, size, 0.0, 0.0, imgproc::INTER_LINEAR)
            }
        })?;
        Ok(())
    }

    fn fill_masks(&mut self, masks: &[PrivacyMask], lb: &Letterbox) -> Result<(), PreprocessError> {
        let mut polygons: Vector<Vector<Point>> = Vector::new();
        for mask in masks {
            let points: Vector<Point> = mask
                .frame_points(lb.frame_width, lb.frame_height)
                .map(|(x, y)| {
                    let (mx, my) = lb.frame_to_model(x, y);
                    Point::new(mx.round() as i32, my.round() as i32)
                })
                .collect();
            polygons.push(points);
        }
        let colour = Scalar::all(f64::from(self.pad));
        imgproc::fill_poly(&mut self.canvas, &polygons, colour, imgproc::LINE_8, 0, Point::new(0, 0))?;
        // Resizing blends each edge pixel with its neighbours; a 2-pixel outline makes
        // sure no blended trace of the masked area stays at the edge.
        imgproc::polylines(&mut self.canvas, &polygons, true, colour, 2, imgproc::LINE_8, 0)?;
        Ok(())
    }

    fn write_tensor(&self, out: &mut [f32]) -> Result<(), PreprocessError> {
        let pixels = self.canvas.data_bytes()?;
        let plane = self.width as usize * self.height as usize;
        let (first, rest) = out.split_at_mut(plane);
        let (second, third) = rest.split_at_mut(plane);
        let [s0, s1, s2] = self.source_byte;
        let [l0, l1, l2] = &*self.lookup;
        for (i, px) in pixels.chunks_exact(3).enumerate().take(plane) {
            first[i] = l0[px[s0] as usize];
            second[i] = l1[px[s1] as usize];
            third[i] = l2[px[s2] as usize];
        }
        Ok(())
    }

    /// The letterboxed canvas of the last frame (BGR), for tests and debugging.
    pub fn canvas(&self) -> &Mat {
        &self.canvas
    }
}

/// The canvas as packed BGR bytes, for inspection.
pub fn canvas_bytes(canvas: &Mat) -> Result<Vec<u8>, PreprocessError> {
    let mut copy = Mat::default();
    canvas.copy_to(&mut copy)?;
    Ok(copy.data_bytes_mut()?.to_vec())
}
