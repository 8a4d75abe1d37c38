//! Evidence that is not on this machine's disk. In a cluster the snapshots and clips
//! are written by whichever worker ran the camera; the shared console reads them from
//! the object storage the workers upload to (`[storage.s3]`), never from the workers
//! themselves: a worker that died or moved away takes its disk with it, the object
//! store does not (docs/console.md, "Evidence in a cluster").
//!
//! The console knows no S3: the binary implements this over its S3 client.

use std::io::Read;

/// What a browser's GET of evidence asked for, passed on to the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRequest {
    /// One `bytes=` range, already checked to be a single range.
    pub range: Option<String>,
    /// Conditions, as the browser sent them (the store compares them with the
    /// object's ETag and modification time).
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub if_match: Option<String>,
    pub if_unmodified_since: Option<String>,
}

/// An object as the store answered a (possibly ranged, possibly conditional) GET.
pub struct StoredObject {
    /// 200 (whole), 206 (the range), 304 (not modified), 404 (no such object),
    /// 412 (a precondition failed), 416 (range not satisfiable).
    pub status: u16,
    /// `bytes a-b/total` for 206; `bytes */total` for 416.
    pub content_range: Option<String>,
    pub content_length: Option<u64>,
    /// The object's validators, passed on so the browser can ask again conditionally.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The body, read as the browser takes it (not buffered whole).
    pub body: Box<dyn Read + Send>,
}

pub trait EvidenceStore: Send + Sync {
    /// Whether `uri` (as events carry it, `s3://bucket/prefix/evidence/...`) names an
    /// object of this store: its bucket and prefix. Nothing else is ever fetched.
    fn holds(&self, uri: &str) -> bool;
    /// GETs the object of `uri`, passing on the request's range and conditions.
    /// Blocking: called off the async runtime.
    fn get(&self, uri: &str, request: &ObjectRequest) -> Result<StoredObject, crate::error::BoxError>;
}
