//! Evidence to logged-in browsers only: an incident's snapshot and clip (with byte
//! ranges, so the video player can seek, and conditional requests), and camera
//! thumbnails. Local files are served by tower-http's `ServeFile` (ranges,
//! `Last-Modified`, `If-Modified-Since`, `If-Unmodified-Since`); objects from the
//! object store get the browser's range and conditions passed on, and their `ETag`
//! and `Last-Modified` passed back. Files are looked up
//! by incident id in the database, never by a path from the request; an account sees
//! only its district's. Evidence not on this disk (another worker's, in a cluster)
//! comes from the object store the workers upload to. Bodies are streamed in chunks,
//! never read whole. Each opening of a piece of evidence (not each seek within it)
//! is audited, and so is a refusal.

use std::io::Read;
use std::path::{Component, Path as FsPath, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::auth::Authed;
use super::{ApiError, Shared};
use crate::evidence_store::{EvidenceStore, ObjectRequest};

/// The local file of an evidence URI: `evidence/...` relative to the data folder,
/// or an `s3://bucket/prefix/evidence/...` object's local copy. Anything else (or a
/// path that climbs out) is refused.
pub fn local_path(data_dir: &FsPath, uri: &str) -> Option<PathBuf> {
    let relative = match uri.strip_prefix("s3://") {
        Some(rest) => &rest[rest.find("/evidence/")? + 1..],
        None => uri,
    };
    let rel = FsPath::new(relative);
    let clean = rel.components().all(|c| matches!(c, Component::Normal(_)));
    (clean && relative.starts_with("evidence/")).then(|| data_dir.join(rel))
}

/// A single `bytes=` range of a file of `len` bytes: (start, end inclusive).
pub fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (s, "") => (s.parse().ok()?, len - 1),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

/// How much of a body is read at a time.
const CHUNK: usize = 64 * 1024;

/// A body read from `reader` on a blocking thread, `CHUNK` bytes at a time, as the
/// client takes it.
fn streamed(reader: Box<dyn Read + Send>, limit: u64) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut reader = reader.take(limit);
        loop {
            let mut chunk = vec![0u8; CHUNK];
            match reader.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    chunk.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                        return; // the browser went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }))
}

/// Evidence is never kept by the browser (`no-store`): a copy in a workstation's
/// cache would outlive retention and a revoked account. Conditional requests serve
/// the clients that revalidate anyway (download managers, integrations).
fn evidence_headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
}

/// The request's checked range and conditions.
fn object_request(headers: &HeaderMap) -> ObjectRequest {
    let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    ObjectRequest {
        // One bytes= range, checked here; anything else is answered as the whole file.
        range: text(header::RANGE).filter(|r| parse_range(r, u64::MAX).is_some()),
        if_none_match: text(header::IF_NONE_MATCH),
        if_modified_since: text(header::IF_MODIFIED_SINCE),
        if_match: text(header::IF_MATCH),
        if_unmodified_since: text(header::IF_UNMODIFIED_SINCE),
    }
}

/// A local evidence file through tower-http's file service.
async fn serve_file(path: PathBuf, mime: &'static str, request: &ObjectRequest) -> Response {
    let mut get = Request::get("/");
    for (name, value) in [
        (header::RANGE, &request.range),
        (header::IF_MODIFIED_SINCE, &request.if_modified_since),
        (header::IF_UNMODIFIED_SINCE, &request.if_unmodified_since),
    ] {
        if let Some(v) = value {
            get = get.header(name, v);
        }
    }
    let Ok(get) = get.body(Body::empty()) else {
        return ApiError::new(StatusCode::BAD_REQUEST, "malformed conditional headers").into_response();
    };
    let service = ServeFile::new(&path).with_buf_chunk_size(CHUNK);
    let response = match service.oneshot(get).await {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return not_on_disk();
    }
    let mut response = response.into_response();
    // What the incident says it is, not a guess from the file name.
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(mime));
    evidence_headers(&mut response);
    response
}

fn not_on_disk() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "evidence not on disk (a clip is written once its post-roll is recorded; retention removes old evidence)",
    )
    .into_response()
}

/// The object of `uri` from the object store, the store's answer passed on.
fn serve_object(store: &dyn EvidenceStore, uri: &str, mime: &'static str, request: &ObjectRequest) -> Response {
    let object = match store.get(uri, request) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("console: evidence from object storage: {}", crate::error::chain(e.as_ref()));
            return ApiError::new(StatusCode::BAD_GATEWAY, "the evidence store did not answer; try again")
                .into_response();
        }
    };
    let mut response = match object.status {
        200 | 206 => {
            let status = if object.status == 206 { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
            let limit = object.content_length.unwrap_or(u64::MAX);
            let mut r = (status, streamed(object.body, limit)).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(mime));
            h.insert(header::ACCEPT_RANGES, header::HeaderValue::from_static("bytes"));
            if let Some(len) = object.content_length {
                h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
            }
            r
        }
        304 => StatusCode::NOT_MODIFIED.into_response(),
        412 => StatusCode::PRECONDITION_FAILED.into_response(),
        404 => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "evidence not in object storage (not uploaded yet, or expired)",
            )
            .into_response()
        }
        416 => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        other => {
            tracing::error!(status = other, "console: evidence from object storage: unexpected status");
            return ApiError::new(StatusCode::BAD_GATEWAY, "the evidence store refused the request").into_response();
        }
    };
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_RANGE, object.content_range),
        (header::ETAG, object.etag),
        (header::LAST_MODIFIED, object.last_modified),
    ] {
        if let Some(v) = value.and_then(|v| header::HeaderValue::from_str(&v).ok()) {
            h.insert(name, v);
        }
    }
    evidence_headers(&mut response);
    response
}

enum Which {
    Snapshot,
    Clip,
}

fn audit(state: &Shared, entry: &crate::store::AuditEntry) {
    if let Err(e) = state.console.store.audit(entry, crate::store::now_ms()) {
        tracing::error!("console: audit log: {}", crate::error::chain(&e));
    }
}

async fn incident_file(state: Shared, authed: Authed, id: String, which: Which, headers: HeaderMap) -> Response {
    let what = match which {
        Which::Snapshot => "snapshot",
        Which::Clip => "clip",
    };
    if let Err(e) = authed.visible_incident(&state, &id) {
        let mut entry = authed.audit("evidence", &id, what);
        entry.outcome = "refused".into();
        audit(&state, &entry);
        return e.into_response();
    }
    let evidence = match state.console.store.evidence(&id) {
        Ok(Some(e)) => e,
        Ok(None) => return ApiError::new(StatusCode::NOT_FOUND, format!("no incident `{id}`")).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let (uri, mime) = match which {
        Which::Snapshot => (evidence.0, "image/jpeg"),
        Which::Clip => (evidence.1, "video/mp4"),
    };
    let Some(path) = local_path(&state.console.settings.data_dir, &uri) else {
        return ApiError::new(StatusCode::NOT_FOUND, "this incident has no such evidence").into_response();
    };
    let request = object_request(&headers);
    // An opening, not a seek within what is already open (a player asks many ranges).
    if request.range.as_deref().is_none_or(|r| r.starts_with("bytes=0-")) {
        audit(&state, &authed.audit("evidence", &id, what));
    }
    let remote = state.console.evidence_store().filter(|s| s.holds(&uri)).cloned();
    match remote {
        // Not on this disk (another worker's, or swept here): from object storage.
        Some(store) if !path.exists() => {
            tokio::task::spawn_blocking(move || serve_object(store.as_ref(), &uri, mime, &request))
                .await
                .unwrap_or_else(|e| ApiError::internal(e).into_response())
        }
        _ => serve_file(path, mime, &request).await,
    }
}

pub async fn snapshot(
    State(state): State<Shared>,
    authed: Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    incident_file(state, authed, id, Which::Snapshot, headers).await
}

pub async fn clip(State(state): State<Shared>, authed: Authed, Path(id): Path<String>, headers: HeaderMap) -> Response {
    incident_file(state, authed, id, Which::Clip, headers).await
}

pub async fn thumbnail(State(state): State<Shared>, authed: Authed, Path(id): Path<String>) -> Response {
    let visible = state.cameras.cameras().iter().any(|c| c.id == id && authed.sees_camera(c));
    match state.cameras.thumbnail(&id).filter(|_| visible) {
        Some(jpeg) => {
            ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, no-store")], jpeg).into_response()
        }
        None => ApiError::new(StatusCode::NOT_FOUND, format!("no picture from camera `{id}` yet")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }

    #[test]
    fn evidence_uris_map_inside_the_data_folder_only() {
        let d = FsPath::new("/data");
        assert_eq!(
            local_path(d, "evidence/2026-11-25/cam/x.jpg"),
            Some(PathBuf::from("/data/evidence/2026-11-25/cam/x.jpg"))
        );
        assert_eq!(
            local_path(d, "s3://bucket/site-a/evidence/2026-11-25/cam/x.mp4"),
            Some(PathBuf::from("/data/evidence/2026-11-25/cam/x.mp4"))
        );
        assert_eq!(local_path(d, "evidence/../../etc/passwd"), None);
        assert_eq!(local_path(d, "/etc/passwd"), None);
        assert_eq!(local_path(d, ""), None);
        assert_eq!(local_path(d, "outbox/acks.log"), None);
    }
}
