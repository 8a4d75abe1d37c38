//! A configured camera as the detector's incident stage takes it: its analysis
//! (from the settings `validate` built), its clock, and what the publisher keeps.

use std::sync::Arc;

use detector::analysis::CameraAnalysis;
use detector::incident_stage::stream_clock::{ClockSource, StreamClock};
use detector::incident_stage::CameraSetup;
use detector::timestamp::Timestamp;
use ingest::{CameraHandle, Pacing, SourceKind};

use super::incident_publisher::{camera_ref, PublishedCamera};
use crate::config::{Camera, Config};

/// The camera's analysis: its zones, offset, and the config's rules and tracking.
fn camera_analysis(camera: &Camera, config: &Config) -> CameraAnalysis {
    CameraAnalysis::new(
        Arc::from(camera.config.id.as_str()),
        camera.zones.clone(),
        camera.utc_offset_minutes,
        config.rule_settings.clone(),
        config.tracker_settings.clone(),
    )
}

/// The camera of `handle` (from its table in `config`) for the incident stage.
/// Files played fast are analysed in their own time, counted from
/// `stream_time_base` when given (a replay's fixed start).
pub fn camera_setup(
    config: &Config,
    handle: &CameraHandle,
    stream_time_base: Option<Timestamp>,
) -> CameraSetup<PublishedCamera> {
    let camera = config.cameras.iter().find(|c| *c.config.id == *handle.id);
    let fast_file = camera.is_some_and(|c| c.ingest.url.kind() == SourceKind::File && c.ingest.pacing == Pacing::Fast);
    let source = if fast_file { ClockSource::StreamTime } else { ClockSource::Wall };
    let analysis = match camera {
        Some(c) => camera_analysis(c, config),
        // Every handle comes from a configured camera; an empty analysis is a safe stand-in.
        None => CameraAnalysis::new(
            Arc::clone(&handle.id),
            Vec::new(),
            0,
            config.rule_settings.clone(),
            config.tracker_settings.clone(),
        ),
    };
    let offset = camera.map_or(0, |c| c.utc_offset_minutes);
    // The incident stage answers after each of the camera's frames (analysis_hint).
    handle.slot.feedback().expect_answers();
    CameraSetup {
        id: Arc::clone(&handle.id),
        site: camera.and_then(|c| c.config.site.as_deref()).map(Arc::from),
        analysis,
        clock: StreamClock::starting_at(source, stream_time_base),
        masks: camera.map(|c| c.privacy_masks.clone()).unwrap_or_default(),
        utc_offset_minutes: offset,
        output: PublishedCamera {
            id: Arc::clone(&handle.id),
            ring: Arc::clone(&handle.preroll),
            slot: Arc::clone(&handle.slot),
            wire: camera_ref(&handle.id, camera.map(|c| &c.config)),
            group: camera.and_then(|c| c.config.group.clone()),
            utc_offset_minutes: offset,
        },
    }
}
