//! Evidence that is not on this machine's disk. In a cluster the snapshots and clips
//! are written by whichever worker ran the camera; the shared console reads them from
//! the object storage the workers upload to (`[storage.s3]`), never from the workers
//! themselves: a worker that died or moved away takes its disk with it, the object
//! store does not (docs/console.md, "Evidence in a cluster").
//!
//! The console knows no S3: the binary implements this over its S3 client.

use std::io::Read;

/// An object as the store answered a (possibly ranged) GET.
pub struct StoredObject {
    /// 200 (whole), 206 (the range), 404 (no such object), 416 (range not satisfiable).
    pub status: u16,
    /// `bytes a-b/total` for 206; `bytes */total` for 416.
    pub content_range: Option<String>,
    pub content_length: Option<u64>,
    /// The body, read as the browser takes it (not buffered whole).
    pub body: Box<dyn Read + Send>,
}

pub trait EvidenceStore: Send + Sync {
    /// Whether `uri` (as events carry it, `s3://bucket/prefix/evidence/...`) names an
    /// object of this store: its bucket and prefix. Nothing else is ever fetched.
    fn holds(&self, uri: &str) -> bool;
    /// GETs the object of `uri`, passing on one `bytes=` range (already checked to be
    /// a single range). Blocking: called off the async runtime.
    fn get(&self, uri: &str, range: Option<&str>) -> Result<StoredObject, String>;
}
