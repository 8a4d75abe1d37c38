//! An OpenCV header over a frame's bytes, without copying them.

use std::ffi::c_void;

use opencv::core::{Mat, CV_8UC3};

use crate::image::ImageRef;

/// Runs `f` on a read-only `Mat` that borrows `image`'s bytes.
pub fn with_borrowed_mat<R>(image: ImageRef<'_>, f: impl FnOnce(&Mat) -> opencv::Result<R>) -> opencv::Result<R> {
    // SAFETY: the Mat points into `image`'s bytes, which ImageRef::bgr checked to hold
    // `height` rows of `stride` bytes; it lives only inside this call (the borrow of
    // `image` outlives it) and `f` receives it by shared reference, so nothing writes.
    let mat = unsafe {
        Mat::new_rows_cols_with_data_unsafe(
            image.height() as i32,
            image.width() as i32,
            CV_8UC3,
            image.bytes().as_ptr() as *mut c_void,
            image.stride(),
        )?
    };
    f(&mat)
}
