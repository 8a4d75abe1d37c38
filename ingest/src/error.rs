//! What can go wrong in ingest's own short pipelines: muxing an evidence clip,
//! writing a video, playing a file through, the keyframe decoder. (A camera's
//! failures are `SourceFailure`s: they carry the camera and a kind for its state.)
//! The cause is each variant's source, never flattened into a string.

use std::path::PathBuf;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::glib;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot initialise GStreamer")]
    Init(#[source] glib::Error),
    #[error("GStreamer element {0} is missing (is its plugin installed? deploy/setup.sh installs them)")]
    MissingElement(&'static str),
    #[error("cannot build the {what}")]
    Build {
        what: &'static str,
        #[source]
        source: glib::Error,
    },
    #[error("cannot assemble the {what}")]
    Assemble {
        what: &'static str,
        #[source]
        source: glib::BoolError,
    },
    #[error("cannot start the {what}")]
    Start {
        what: &'static str,
        #[source]
        source: gst::StateChangeError,
    },
    #[error("the {what} refused a buffer")]
    Refused {
        what: &'static str,
        #[source]
        source: gst::FlowError,
    },
    #[error("the {what} failed")]
    Failed {
        what: &'static str,
        #[source]
        source: glib::Error,
    },
    #[error("the {what} did not finish within {timeout:?}")]
    Timeout { what: &'static str, timeout: Duration },
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// What was asked is not possible: a path that is not UTF-8, an odd frame size,
    /// a clip without a keyframe, a video shorter than asked.
    #[error("{0}")]
    Invalid(String),
    /// A pipeline without a part it was built with, a sample without caps: GStreamer
    /// broke its own promise (a bug, not the input).
    #[error("the {what} has no {part}")]
    Missing { what: &'static str, part: &'static str },
    #[error("cannot start the {what} thread")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl MediaError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> MediaError {
        let path = path.into();
        move |source| MediaError::Io { path, source }
    }
}

/// `error` and its causes on one log line ("a: b: c"), where it is logged and not
/// handed on.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    std::iter::successors(Some(error), |e| e.source()).map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
