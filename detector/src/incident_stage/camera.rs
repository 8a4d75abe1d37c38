//! One camera's state in the incident stage: its analysis under a lock (its frames
//! are analysed in order, and one camera never waits for another's), what evidence
//! rendering needs of it, and its progress for the console and replays.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};

use super::output::CameraSetup;
use super::stream_clock::StreamClock;
use crate::analysis::CameraAnalysis;
use crate::preprocess::privacy_mask::PrivacyMask;
use crate::zones::Zone;

pub(crate) struct StageCamera<C> {
    pub id: Arc<str>,
    /// `camera{id, site}`, entered around its analysis and its evidence.
    pub span: tracing::Span,
    pub analysis: Mutex<(CameraAnalysis, StreamClock)>,
    /// Copies for the evidence worker, which must not wait for the analysis lock.
    pub masks: Vec<PrivacyMask>,
    pub zones: Vec<Zone>,
    pub utc_offset_minutes: i32,
    pub output: C,
    /// Frames analysed, and the stream time (ms) of the latest: progress of a replay.
    pub frames: AtomicU64,
    pub last_pts_ms: AtomicU64,
    /// Wall-clock Unix ms of the newest analysed frame (0: none yet).
    pub last_frame_ms: AtomicI64,
    /// When a thumbnail was last asked of the evidence worker (Unix ms).
    pub thumbnail_asked_ms: AtomicI64,
    /// A recent small picture for the console: (taken at, Unix ms; JPEG).
    pub thumbnail: Mutex<Option<(i64, Arc<Vec<u8>>)>>,
}

impl<C> StageCamera<C> {
    pub fn new(setup: CameraSetup<C>) -> Self {
        let CameraSetup { id, site, analysis, clock, masks, utc_offset_minutes, output } = setup;
        Self {
            span: tracing::info_span!("camera", id = %id, site = site.as_deref().unwrap_or("")),
            id,
            zones: analysis.zones().to_vec(),
            analysis: Mutex::new((analysis, clock)),
            masks,
            utc_offset_minutes,
            output,
            frames: AtomicU64::new(0),
            last_pts_ms: AtomicU64::new(0),
            last_frame_ms: AtomicI64::new(0),
            thumbnail_asked_ms: AtomicI64::new(i64::MIN / 2),
            thumbnail: Mutex::new(None),
        }
    }
}
