//! Evidence to logged-in browsers only: an incident's snapshot and clip (with byte
//! ranges, so the video player can seek), and camera thumbnails. Files are looked up
//! by incident id in the database, never by a path from the request.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::Authed;
use super::{ApiError, Shared};

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

fn serve_file(path: &FsPath, mime: &'static str, headers: &HeaderMap) -> Response {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ApiError::new(
            StatusCode::NOT_FOUND,
            "evidence not on disk (a clip is written once its post-roll is recorded; retention removes old evidence)",
        )
        .into_response(),
        Err(e) => return ApiError::internal(format!("{}: {e}", path.display())).into_response(),
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return ApiError::internal(format!("{}: {e}", path.display())).into_response(),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
        Some(r) => match parse_range(r, len) {
            Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e),
            None => {
                return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))])
                    .into_response()
            }
        },
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    let mut body = Vec::with_capacity(count as usize);
    let read = file.seek(SeekFrom::Start(start)).and_then(|_| file.take(count).read_to_end(&mut body));
    if let Err(e) = read {
        return ApiError::internal(format!("{}: {e}", path.display())).into_response();
    }
    let mut response = (status, Body::from(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, header::HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-store"));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

enum Which {
    Snapshot,
    Clip,
}

async fn incident_file(state: Shared, authed: Authed, id: String, which: Which, headers: HeaderMap) -> Response {
    if let Err(e) = authed.visible_incident(&state, &id) {
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
    tokio::task::spawn_blocking(move || serve_file(&path, mime, &headers))
        .await
        .unwrap_or_else(|e| ApiError::internal(e).into_response())
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
