//! What ingest needs to know about one camera. The binary builds these from the
//! config file; the enums deserialize directly so the config uses the same names.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::{CameraUrl, ChangeGateSettings};

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DecodeMode {
    /// Only keyframes reach the decoder; delta units are dropped before it.
    #[default]
    Keyframes,
    /// Everything is decoded; at most `sample_fps` frames are delivered.
    Sampled,
    /// Everything is decoded and delivered.
    All,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    #[default]
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pacing {
    /// Play files at recorded speed.
    #[default]
    Realtime,
    /// As fast as the machine allows.
    Fast,
}

/// When and how fast a failed camera is tried again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Random spread added to each wait, as a fraction of it, so a fleet of cameras
    /// that failed together does not reconnect in lockstep.
    pub jitter: f64,
    /// A pipeline that ran this long resets the backoff.
    pub stable_after: Duration,
    /// Wrong credentials will not fix themselves quickly: retry slowly.
    pub auth_retry: Duration,
    /// Time allowed from start to the first encoded frame.
    pub connect_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            jitter: 0.2,
            stable_after: Duration::from_secs(60),
            auth_retry: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CameraSettings {
    pub id: Arc<str>,
    /// Where the camera is (the config's `site`), for log context only.
    pub site: Option<Arc<str>>,
    pub url: CameraUrl,
    pub decode: DecodeMode,
    pub sample_fps: f64,
    pub max_keyframe_interval: Duration,
    /// Keyframes mode: which keyframes are decoded at all (`change_gate.rs`).
    pub change_gate: ChangeGateSettings,
    pub transport: RtspTransport,
    pub latency_ms: u32,
    pub stall_timeout: Duration,
    pub preroll: Duration,
    pub loop_file: bool,
    pub pacing: Pacing,
    pub retry: RetryPolicy,
}

impl CameraSettings {
    /// Settings with the documented defaults, for a camera id and URL.
    pub fn new(id: impl Into<Arc<str>>, url: CameraUrl) -> Self {
        Self {
            id: id.into(),
            site: None,
            url,
            decode: DecodeMode::default(),
            sample_fps: 2.0,
            max_keyframe_interval: Duration::from_secs(4),
            change_gate: ChangeGateSettings::default(),
            transport: RtspTransport::default(),
            latency_ms: 200,
            stall_timeout: Duration::from_secs(10),
            preroll: Duration::from_secs(10),
            loop_file: false,
            pacing: Pacing::default(),
            retry: RetryPolicy::default(),
        }
    }
}
