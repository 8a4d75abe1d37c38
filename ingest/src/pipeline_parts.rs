//! The parts of ingest's own short pipelines (clip muxer, video encoder, player,
//! keyframe decoder, test server), each refused with a `MediaError` that names what
//! was being built and the part that is missing.

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::MediaError;

/// An element of GStreamer's registry, or which one is missing.
pub(crate) fn element(name: &'static str) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(name).build().map_err(|_| MediaError::MissingElement(name))
}

/// The pipeline of a `gst-launch` `description`, or why it cannot be built.
pub(crate) fn launch(what: &'static str, description: &str) -> Result<gst::Pipeline, MediaError> {
    gst::parse::launch(description)
        .map_err(|source| MediaError::Build { what, source })?
        .downcast::<gst::Pipeline>()
        .map_err(|_| MediaError::Missing { what, part: "pipeline" })
}

/// The element `name` of `pipeline` as a `T` (an appsrc, an appsink).
pub(crate) fn named<T: IsA<gst::Element>>(
    pipeline: &gst::Pipeline,
    what: &'static str,
    name: &'static str,
) -> Result<T, MediaError> {
    pipeline.by_name(name).and_then(|e| e.downcast::<T>().ok()).ok_or(MediaError::Missing { what, part: name })
}
