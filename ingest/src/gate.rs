//! Which encoded units reach the decoder, and which decoded frames are delivered.
//! Pure logic: the pipeline calls it from its pad probe and appsink callback.

use std::time::Duration;

use crate::DecodeMode;

/// Why a frame did not reach the detector (the `reason` label of the drop counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Keyframes mode: a delta unit, dropped before the decoder.
    NotKeyframe,
    /// Nothing decodable before the stream's first keyframe.
    BeforeKeyframe,
    /// Sampled mode: more frames than `sample_fps`.
    Sampling,
    /// The detector had not taken the previous frame; the newer one replaced it.
    Superseded,
    /// Keyframes mode, live: the detector had not taken the previous frame yet, so
    /// this keyframe was not decoded at all (decoding it would only have replaced an
    /// undecided frame, at a decoder's cost, while the detector is the bottleneck).
    DetectorBusy,
    /// Keyframes mode: the change gate found the scene still and nothing asked for an
    /// analysis, so the keyframe was not decoded (`change_gate.rs`).
    StillScene,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotKeyframe => "not_keyframe",
            Self::BeforeKeyframe => "before_keyframe",
            Self::Sampling => "sampling",
            Self::Superseded => "superseded",
            Self::DetectorBusy => "detector_busy",
            Self::StillScene => "still_scene",
        }
    }
}

/// Decides per encoded unit, before the decoder.
#[derive(Debug)]
pub struct DecodeGate {
    configured: DecodeMode,
    /// Keyframes mode falls back to sampled while keyframes are too far apart.
    fallback: bool,
    max_keyframe_interval: Duration,
    last_keyframe_pts: Option<Duration>,
    seen_keyframe: bool,
}

/// What the gate did with a unit; `fallback_changed` reports a switch for logging.
#[derive(Debug, PartialEq, Eq)]
pub struct GateDecision {
    pub pass: Result<(), DropReason>,
    pub fallback_changed: Option<bool>,
}

impl DecodeGate {
    pub fn new(mode: DecodeMode, max_keyframe_interval: Duration) -> Self {
        Self { configured: mode, fallback: false, max_keyframe_interval, last_keyframe_pts: None, seen_keyframe: false }
    }

    /// True while decoding everything (sampled, all, or keyframes in fallback).
    pub fn decodes_all(&self) -> bool {
        self.configured != DecodeMode::Keyframes || self.fallback
    }

    /// True when delivered frames must be thinned to `sample_fps`.
    pub fn samples(&self) -> bool {
        self.configured == DecodeMode::Sampled || (self.configured == DecodeMode::Keyframes && self.fallback)
    }

    pub fn on_unit(&mut self, keyframe: bool, pts: Option<Duration>) -> GateDecision {
        let mut fallback_changed = None;
        if keyframe {
            self.seen_keyframe = true;
            if self.configured == DecodeMode::Keyframes {
                // Decide at keyframes only: switching there never leaves the decoder
                // with a delta unit whose reference it has not seen.
                if let (Some(now), Some(prev)) = (pts, self.last_keyframe_pts) {
                    let too_far = now.saturating_sub(prev) > self.max_keyframe_interval;
                    if too_far != self.fallback {
                        self.fallback = too_far;
                        fallback_changed = Some(too_far);
                    }
                }
            }
            if pts.is_some() {
                self.last_keyframe_pts = pts;
            }
            return GateDecision { pass: Ok(()), fallback_changed };
        }
        let pass = if !self.seen_keyframe {
            Err(DropReason::BeforeKeyframe)
        } else if self.decodes_all() {
            Ok(())
        } else {
            Err(DropReason::NotKeyframe)
        };
        GateDecision { pass, fallback_changed }
    }

    /// A new pipeline starts a new stream.
    pub fn reset(&mut self) {
        self.last_keyframe_pts = None;
        self.seen_keyframe = false;
    }
}

/// Thins decoded frames to at most `fps`, by presentation time.
#[derive(Debug)]
pub struct Sampler {
    min_interval: Duration,
    last: Option<Duration>,
}

impl Sampler {
    pub fn new(fps: f64) -> Self {
        // 5% tolerance so a 10 fps stream sampled at 2 fps gives 2 fps, not 1.67.
        Self { min_interval: Duration::from_secs_f64(0.95 / fps.max(0.001)), last: None }
    }

    pub fn admit(&mut self, pts: Option<Duration>) -> bool {
        let Some(pts) = pts else { return true };
        match self.last {
            Some(last) if pts >= last && pts - last < self.min_interval => false,
            _ => {
                self.last = Some(pts);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    #[test]
    fn keyframes_mode_passes_only_keyframes() {
        let mut g = DecodeGate::new(DecodeMode::Keyframes, Duration::from_secs(4));
        assert_eq!(g.on_unit(false, ms(0)).pass, Err(DropReason::BeforeKeyframe));
        assert_eq!(g.on_unit(true, ms(100)).pass, Ok(()));
        assert_eq!(g.on_unit(false, ms(200)).pass, Err(DropReason::NotKeyframe));
        assert_eq!(g.on_unit(true, ms(2100)).pass, Ok(()));
        assert!(!g.decodes_all());
    }

    #[test]
    fn keyframes_mode_falls_back_and_recovers_at_keyframes() {
        let mut g = DecodeGate::new(DecodeMode::Keyframes, Duration::from_secs(4));
        g.on_unit(true, ms(0));
        let d = g.on_unit(true, ms(10_000));
        assert_eq!(d.fallback_changed, Some(true));
        assert!(g.decodes_all() && g.samples());
        assert_eq!(g.on_unit(false, ms(10_100)).pass, Ok(()));
        let d = g.on_unit(true, ms(12_000));
        assert_eq!(d.fallback_changed, Some(false));
        assert_eq!(g.on_unit(false, ms(12_100)).pass, Err(DropReason::NotKeyframe));
    }

    #[test]
    fn all_and_sampled_decode_everything_after_the_first_keyframe() {
        for mode in [DecodeMode::All, DecodeMode::Sampled] {
            let mut g = DecodeGate::new(mode, Duration::from_secs(4));
            assert_eq!(g.on_unit(false, ms(0)).pass, Err(DropReason::BeforeKeyframe));
            g.on_unit(true, ms(100));
            assert_eq!(g.on_unit(false, ms(200)).pass, Ok(()));
            assert_eq!(g.samples(), mode == DecodeMode::Sampled);
        }
    }

    #[test]
    fn sampler_thins_to_the_target_rate() {
        let mut s = Sampler::new(2.0);
        let admitted = (0..100u64).filter(|i| s.admit(ms(i * 40))).count(); // 25 fps for 4 s
                                                                            // 25 fps for 3.96 s; every 12th frame (0.48 s) passes: t = 0, 0.48, ... 3.84 s.
        assert_eq!(admitted, 9);
        // A timeline restart (pts going back) admits at once.
        assert!(s.admit(ms(0)));
    }
}
