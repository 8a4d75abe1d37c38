//! Pixels for people and for the stillness check: annotated incident snapshots, camera
//! thumbnails and small grey appearance patches, both with OpenCV (and the borrowed-Mat helper that
//! preprocessing shares).

pub mod annotate;
pub mod appearance;
pub(crate) mod borrowed_mat;
pub mod canvas;
pub mod error;
pub mod snapshot;
pub mod thumbnail;

pub use appearance::GreyPatch;
pub use error::EvidenceError;
pub use snapshot::{decode_jpeg, render_snapshot};
