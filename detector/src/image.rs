//! A borrowed view of a frame's pixels: what the detector reads.

use std::fmt;

/// Packed 8-bit BGR pixels, `height` rows of `stride` bytes (rows may be padded).
#[derive(Clone, Copy)]
pub struct ImageRef<'a> {
    width: u32,
    height: u32,
    stride: usize,
    bytes: &'a [u8],
}

/// Why some bytes are not a usable image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError(pub String);

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A leaf error: the message is the whole story.
impl std::error::Error for ImageError {}

impl<'a> ImageRef<'a> {
    /// Checks the sizes against the bytes, so later code can index without fear.
    pub fn bgr(width: u32, height: u32, stride: usize, bytes: &'a [u8]) -> Result<Self, ImageError> {
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(ImageError(format!("image size {width}x{height} is out of range")));
        }
        let row = width as usize * 3;
        if stride < row {
            return Err(ImageError(format!("row stride {stride} is shorter than {width} BGR pixels")));
        }
        let needed = stride * (height as usize - 1) + row;
        if bytes.len() < needed {
            return Err(ImageError(format!(
                "{} bytes cannot hold a {width}x{height} BGR image with stride {stride}",
                bytes.len()
            )));
        }
        Ok(Self { width, height, stride, bytes })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn stride(&self) -> usize {
        self.stride
    }
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_against_the_bytes() {
        let bytes = vec![0u8; 100];
        assert!(ImageRef::bgr(4, 4, 12, &bytes[..48]).is_ok());
        assert!(ImageRef::bgr(4, 4, 16, &bytes[..60]).is_ok()); // last row needs no padding
        assert!(ImageRef::bgr(4, 4, 16, &bytes[..59]).is_err());
        assert!(ImageRef::bgr(4, 4, 11, &bytes).is_err());
        assert!(ImageRef::bgr(0, 4, 12, &bytes).is_err());
    }
}
