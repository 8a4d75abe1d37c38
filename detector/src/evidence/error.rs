//! Why an evidence picture (snapshot, thumbnail, annotated frame) could not be made.
//! Shared by every renderer in `evidence/`, so it lives in none of them.

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("OpenCV could not draw or encode the image")]
    OpenCv(#[from] opencv::Error),
    #[error("the JPEG encoder refused the image")]
    JpegRefused,
    #[error("not a decodable image")]
    NotAnImage,
}
