//! S3-compatible object storage for evidence (cargo feature `s3`): requests are
//! signed with rusty-s3 (no I/O of its own) and sent with ureq, blocking, from the
//! uploader's thread. The console reads it back (`console::evidence_store`): a
//! cluster's shared console serves every worker's evidence from here.

use std::time::Duration;

use console::evidence_store::{ObjectRequest, StoredObject};

use rusty_s3::actions::{CreateBucket, DeleteObject, GetObject, PutObject};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::config::S3Settings;

const SIGNED_FOR: Duration = Duration::from_secs(300);

pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    agent: ureq::Agent,
}

impl S3Store {
    pub fn new(s: &S3Settings) -> Result<Self, String> {
        let endpoint: url::Url = s.endpoint.parse().map_err(|e| format!("storage.s3.endpoint: {e}"))?;
        let style = if s.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket =
            Bucket::new(endpoint, style, s.bucket.clone(), s.region.clone()).map_err(|e| format!("storage.s3: {e}"))?;
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(60))).build().into();
        Ok(Self {
            bucket,
            credentials: Credentials::new(&s.access_key, &s.secret_key),
            prefix: s.prefix.clone(),
            agent,
        })
    }

    fn object(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// `s3://bucket/prefix`: what events carry before a key.
    pub fn uri_prefix(&self) -> String {
        format!("s3://{}/{}", self.bucket.name(), self.prefix)
    }

    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let object = self.object(key);
        let url = PutObject::new(&self.bucket, Some(&self.credentials), &object).sign(SIGNED_FOR);
        let content_type = if key.ends_with(".mp4") { "video/mp4" } else { "image/jpeg" };
        self.agent
            .put(url.as_str())
            .header("Content-Type", content_type)
            .send(bytes)
            .map(|_| ())
            .map_err(|e| format!("PUT {object}: {e}"))
    }

    pub fn get(&self, key: &str) -> Result<Vec<u8>, String> {
        let object = self.object(key);
        let url = GetObject::new(&self.bucket, Some(&self.credentials), &object).sign(SIGNED_FOR);
        let mut response = self.agent.get(url.as_str()).call().map_err(|e| format!("GET {object}: {e}"))?;
        response.body_mut().with_config().limit(1 << 30).read_to_vec().map_err(|e| format!("GET {object}: {e}"))
    }

    /// A GET of `key` with the browser's range and conditions passed on, answered as
    /// it comes (304, 404, 412 and 416 are answers, not errors); the body is read as
    /// it arrives.
    pub fn get_ranged(&self, key: &str, request: &ObjectRequest) -> Result<StoredObject, String> {
        let object = self.object(key);
        let url = GetObject::new(&self.bucket, Some(&self.credentials), &object).sign(SIGNED_FOR);
        let mut get = self.agent.get(url.as_str()).config().http_status_as_error(false).build();
        for (name, value) in [
            ("Range", &request.range),
            ("If-None-Match", &request.if_none_match),
            ("If-Modified-Since", &request.if_modified_since),
            ("If-Match", &request.if_match),
            ("If-Unmodified-Since", &request.if_unmodified_since),
        ] {
            if let Some(v) = value {
                get = get.header(name, v);
            }
        }
        let response = get.call().map_err(|e| format!("GET {object}: {e}"))?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(StoredObject {
            status: response.status().as_u16(),
            content_range: header("content-range"),
            content_length: header("content-length").and_then(|v| v.parse().ok()),
            etag: header("etag"),
            last_modified: header("last-modified"),
            body: Box::new(response.into_body().into_reader()),
        })
    }

    /// The key of an evidence URI this store's uploads produced (`s3://bucket/prefix`
    /// + `evidence/...`, no climbing out); None for anything else.
    pub fn key_of<'a>(&self, uri: &'a str) -> Option<&'a str> {
        let key = uri.strip_prefix(&self.uri_prefix())?;
        let clean = std::path::Path::new(key).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        (clean && key.starts_with("evidence/")).then_some(key)
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        let object = self.object(key);
        let url = DeleteObject::new(&self.bucket, Some(&self.credentials), &object).sign(SIGNED_FOR);
        self.agent.delete(url.as_str()).call().map(|_| ()).map_err(|e| format!("DELETE {object}: {e}"))
    }

    /// For tests and first-time setup; production buckets are made by their operators.
    pub fn create_bucket(&self) -> Result<(), String> {
        let url = CreateBucket::new(&self.bucket, &self.credentials).sign(SIGNED_FOR);
        self.agent.put(url.as_str()).send_empty().map(|_| ()).map_err(|e| format!("create bucket: {e}"))
    }
}

/// The console's evidence store over S3.
pub struct S3Evidence(pub S3Store);

impl console::evidence_store::EvidenceStore for S3Evidence {
    fn holds(&self, uri: &str) -> bool {
        self.0.key_of(uri).is_some()
    }

    fn get(&self, uri: &str, request: &ObjectRequest) -> Result<StoredObject, console::error::BoxError> {
        let key = self.0.key_of(uri).ok_or_else(|| format!("{uri} is not in this bucket"))?;
        Ok(self.0.get_ranged(key, request)?)
    }
}
