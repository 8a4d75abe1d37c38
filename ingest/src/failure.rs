//! Why a camera pipeline stopped, classified so the supervisor can react (a wrong
//! password is retried slowly) and operators get a message that says what to fix.

use std::fmt;

use gstreamer::prelude::*;

use crate::redact_credentials;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The camera refused the credentials (RTSP 401).
    Unauthorized,
    /// The camera answered but has no such stream (RTSP 404), or the file is missing.
    NotFound,
    /// Nothing answered: host down, port closed, name unknown.
    Unreachable,
    /// The input is not H.264/H.265 video.
    NotVideo,
    /// No encoded data for `stall_timeout`.
    Stalled,
    /// No first frame within the connect timeout.
    ConnectTimeout,
    /// A live stream ended.
    EndOfStream,
    /// The pipeline could not be built (a GStreamer element is missing).
    Setup,
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::Unreachable => "unreachable",
            Self::NotVideo => "not_video",
            Self::Stalled => "stalled",
            Self::ConnectTimeout => "connect_timeout",
            Self::EndOfStream => "end_of_stream",
            Self::Setup => "setup",
            Self::Other => "other",
        }
    }
}

/// A classified failure with a message safe to log (credentials redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl SourceFailure {
    pub fn new(kind: FailureKind, message: impl AsRef<str>) -> Self {
        Self { kind, message: redact_credentials(message.as_ref()) }
    }

    /// Classifies a GStreamer error message.
    pub fn from_gst_error(err: &gstreamer::message::Error) -> Self {
        use gstreamer::{ResourceError, StreamError};
        let error = err.error();
        let source = err.src().map(|s| s.name().to_string()).unwrap_or_else(|| "pipeline".into());
        let debug = err.debug().map(|d| d.to_string()).unwrap_or_default();
        let detail =
            format!("{error} ({source}{})", if debug.is_empty() { String::new() } else { format!(": {debug}") });
        let kind = if let Some(e) = error.kind::<ResourceError>() {
            match e {
                ResourceError::NotAuthorized => FailureKind::Unauthorized,
                ResourceError::NotFound => FailureKind::NotFound,
                ResourceError::OpenRead | ResourceError::OpenReadWrite | ResourceError::Read => {
                    if debug.contains("Not Found") || debug.contains("404") {
                        FailureKind::NotFound
                    } else if debug.contains("401") || debug.contains("Unauthorized") {
                        FailureKind::Unauthorized
                    } else {
                        FailureKind::Unreachable
                    }
                }
                _ => FailureKind::Other,
            }
        } else if let Some(e) = error.kind::<StreamError>() {
            match e {
                StreamError::TypeNotFound
                | StreamError::WrongType
                | StreamError::CodecNotFound
                | StreamError::Demux => FailureKind::NotVideo,
                _ => FailureKind::Other,
            }
        } else {
            FailureKind::Other
        };
        let what = match kind {
            FailureKind::Unauthorized => "camera refused the credentials (check username_env/password_env)",
            FailureKind::NotFound => "no such stream or file",
            FailureKind::Unreachable => "camera not reachable",
            FailureKind::NotVideo => "not a supported video stream (H.264/H.265)",
            _ => "pipeline error",
        };
        Self::new(kind, format!("{what}: {detail}"))
    }

    /// What this failure of a video file means, in words an analyst can act on.
    pub fn explained_for_file(&self) -> String {
        let what = match self.kind {
            FailureKind::NotVideo if self.message.contains("no playable streams") => {
                "not a playable video (an MP4 cut short loses its index: is the file complete?)"
            }
            FailureKind::NotVideo if self.message.contains("appears to be a text file") => {
                "not a video file (it is text)"
            }
            FailureKind::NotVideo if self.message.contains("Could not determine type") => {
                "not a video file (its contents are not a known container or stream)"
            }
            FailureKind::NotVideo => "no H.264/H.265 video in it (unsupported codec?)",
            FailureKind::NotFound => "no such file",
            FailureKind::Unreachable => "cannot be read",
            _ => "could not be analysed",
        };
        format!("{what}: {}", self.message)
    }
}

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
