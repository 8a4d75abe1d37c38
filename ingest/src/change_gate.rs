//! Which keyframes are worth decoding and analysing, decided from the bitstream
//! before any decoding (docs/ingest.md, "Change gating").
//!
//! A back-street camera shows a still scene most of the day and all night; the rules
//! watch for situations that last minutes. Decoding and analysing an unchanged
//! keyframe every second buys nothing, and at 1080p it is most of a camera's cost.
//!
//! **The signal** is how much the picture changed since the previous keyframe, as the
//! encoder coded it: the delta frames' sizes, each weighted by its quantiser step
//! (bytes × 2^((QP − 24)/6), QP from the slice header, `slice_qp.rs`), per second of
//! stream time. Weighting by the quantiser matters: a constant-bitrate camera spends
//! its bytes whatever the scene, at a fine quantiser on a still one and a coarse one
//! on a busy one. Per second, not per group of pictures, so a variable keyframe
//! interval ("smart codec" cameras) does not change the level.
//!
//! The largest delta unit of the interval is a second signal: a van pulling in within
//! a few frames raises it far more than it raises the rate.
//!
//! **The baselines** are the camera's own still-scene levels, learned while the detector
//! saw nothing moving: the 90th percentile of the last 16 still intervals' values (a
//! still scene's values spread by tens of percent under rate control), and a lasting
//! higher level that the detector keeps finding nothing in (night noise, rain, a tree
//! in the wind) becomes the level after `relearn_after`.
//!
//! **The decision**, at each keyframe, in this order: analyse the first keyframe of a
//! stream; analyse while the detector saw something move at its last analysis; analyse
//! when the detector asked for this time (a dwell about to be reached, a reminder
//! due); analyse when the signal is above the baseline by more than `margin`; analyse
//! when `floor` has passed since the last analysed keyframe (what the signal missed is
//! seen this late at worst); otherwise skip: the keyframe is never decoded.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A camera's change-gating settings (config `[cameras.change_gate]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeGateSettings {
    pub enabled: bool,
    /// A still scene is still analysed this often.
    pub floor: Duration,
    /// A signal this fraction above the still-scene baseline is change.
    pub margin: f64,
    /// A higher level the detector keeps finding nothing in becomes the baseline
    /// after this much stream time.
    pub relearn_after: Duration,
}

impl Default for ChangeGateSettings {
    fn default() -> Self {
        Self { enabled: true, floor: Duration::from_secs(8), margin: 0.25, relearn_after: Duration::from_secs(60) }
    }
}

/// Why a keyframe was analysed (the `reason` label of the keyframe counter), or that
/// it was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The stream's first keyframe (or the first after the gate was reset).
    First,
    /// The detector saw something move at its last analysis.
    Moving,
    /// The detector asked for an analysis at about this time.
    Due,
    /// The signal is above the still-scene baseline.
    Change,
    /// `floor` passed since the last analysed keyframe.
    Floor,
    /// Skipped: a still scene, nothing asked for.
    Still,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Moving => "moving",
            Self::Due => "due",
            Self::Change => "change",
            Self::Floor => "floor",
            Self::Still => "still",
        }
    }

    pub fn analyse(self) -> bool {
        self != Self::Still
    }
}

/// What the detector said after analysing a camera's frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalysisWanted {
    /// Something moved (a new object, or one that left the place it stood).
    pub moving: bool,
    /// Analyse the first keyframe at or after this stream time (pts).
    pub due: Option<Duration>,
}

/// The detector's answers, shared between a camera's frame slot (the detector side)
/// and its gate (the ingest side). A replay waits for the answer about the previous
/// frame before deciding on the next keyframe, so its decisions do not depend on
/// how fast the machine is.
#[derive(Debug, Default)]
pub struct AnalysisFeedback {
    state: Mutex<FeedbackState>,
    answered: Condvar,
    /// Set by a consumer that answers (the detector); without one nothing waits.
    answers: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Default)]
struct FeedbackState {
    wanted: AnalysisWanted,
    /// A frame was delivered and its analysis has not answered yet.
    pending: bool,
}

impl AnalysisFeedback {
    /// Declares that the consumer of the camera's frames answers about each one.
    pub fn expect_answers(&self) {
        self.answers.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A frame went to the detector.
    pub fn delivered(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pending = true;
    }

    /// The detector analysed the camera's latest frame.
    pub fn answer(&self, wanted: AnalysisWanted) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.wanted = wanted;
        s.pending = false;
        self.answered.notify_all();
    }

    pub fn wanted(&self) -> AnalysisWanted {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).wanted
    }

    /// Forgets the answers (a new stream: its times start afresh).
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = FeedbackState::default();
        self.answered.notify_all();
    }

    /// Waits until the last delivered frame is answered; false after `timeout` (the
    /// frame's analysis failed) or when `give_up` says to stop.
    pub fn wait_answered(&self, timeout: Duration, give_up: impl Fn() -> bool) -> bool {
        if !self.answers.load(std::sync::atomic::Ordering::Relaxed) {
            return true;
        }
        let deadline = Instant::now() + timeout;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while s.pending {
            let now = Instant::now();
            if give_up() || now >= deadline {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            s = self.answered.wait_timeout(s, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }
}

/// One camera's gate over its encoded units.
#[derive(Debug)]
pub struct ChangeGate {
    settings: ChangeGateSettings,
    /// Weighted bytes of the delta units since the last keyframe, and the largest.
    since_keyframe: f64,
    peak: f64,
    last_keyframe: Option<Duration>,
    last_analysed: Option<Duration>,
    /// The still-scene levels of the two signals: weighted bytes per second (people
    /// walking raise it), and the largest delta unit (one sudden change, a van
    /// pulling in within a few frames, raises it far more than it raises the rate).
    rate: Level,
    burst: Level,
    /// The larger signal at the last keyframe over its baseline (metrics, traces).
    last_ratio: Option<f64>,
}

/// Still-scene values kept per signal (intervals of 1-2 s: about half a minute).
const WINDOW: usize = 16;

/// One signal's still-scene level: the 90th percentile of its recent values while
/// the scene read still. A percentile, not a minimum or a mean: at a camera's
/// bitrate the rate control makes a still scene's values spread by tens of percent
/// from one group of pictures to the next, and change must stand out of that spread.
#[derive(Debug, Default)]
struct Level {
    still: std::collections::VecDeque<f64>,
    /// Since when the signal has stayed above the level with the detector finding
    /// nothing moving, and the values in that time.
    unexplained: Option<(Duration, Vec<f64>)>,
}

impl Level {
    fn level(&self) -> Option<f64> {
        if self.still.len() < 3 {
            return None;
        }
        let mut v: Vec<f64> = self.still.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        Some(v[((v.len() - 1) as f64 * 0.9).round() as usize])
    }

    fn remember(&mut self, value: f64) {
        if self.still.len() == WINDOW {
            self.still.pop_front();
        }
        self.still.push_back(value);
    }

    /// Learns one interval's value; returns it over the still-scene level (None while
    /// the level is still being learned).
    fn learn(&mut self, value: f64, now: Duration, moving: bool, s: &ChangeGateSettings) -> Option<f64> {
        let Some(level) = self.level() else {
            if !moving {
                self.remember(value);
            }
            return None;
        };
        let ratio = value / level.max(f64::MIN_POSITIVE);
        if moving {
            // The detector sees motion: this value says nothing about a still scene.
            self.unexplained = None;
        } else if ratio <= 1.0 + s.margin {
            self.remember(value);
            self.unexplained = None;
        } else {
            let (since, values) = self.unexplained.get_or_insert_with(|| (now, Vec::new()));
            values.push(value);
            if now.saturating_sub(*since) >= s.relearn_after {
                // A new still-scene level (night noise, rain): what it has been since.
                self.still = values.iter().rev().take(WINDOW).rev().copied().collect();
                self.unexplained = None;
            }
        }
        Some(ratio)
    }
}

/// Quantiser step relative to QP 24 (the step doubles every 6 QP, H.264 8.6.1).
fn quantiser_weight(qp: Option<i32>) -> f64 {
    qp.map_or(1.0, |qp| 2f64.powf(f64::from(qp - 24) / 6.0))
}

impl ChangeGate {
    pub fn new(settings: ChangeGateSettings) -> Self {
        Self {
            settings,
            since_keyframe: 0.0,
            peak: 0.0,
            last_keyframe: None,
            last_analysed: None,
            rate: Level::default(),
            burst: Level::default(),
            last_ratio: None,
        }
    }

    pub fn settings(&self) -> &ChangeGateSettings {
        &self.settings
    }

    /// The last signal over its baseline (1.0 = the still-scene level).
    pub fn last_ratio(&self) -> Option<f64> {
        self.last_ratio
    }

    /// A delta unit of `bytes`, coded at `qp` (None when unknown: bytes alone count).
    pub fn on_delta(&mut self, bytes: usize, qp: Option<i32>) {
        let weighted = bytes as f64 * quantiser_weight(qp);
        self.since_keyframe += weighted;
        self.peak = self.peak.max(weighted);
    }

    /// Decides on a keyframe at `pts`, knowing what the detector last said.
    pub fn on_keyframe(&mut self, pts: Option<Duration>, wanted: AnalysisWanted) -> Verdict {
        let weighted = std::mem::take(&mut self.since_keyframe);
        let peak = std::mem::take(&mut self.peak);
        let (Some(now), true) = (pts, self.settings.enabled) else { return Verdict::First };
        let previous = self.last_keyframe.replace(now);
        let dt = previous.map(|p| now.saturating_sub(p).as_secs_f64()).filter(|&dt| dt > 0.0);
        let mut changed = false;
        if let Some(dt) = dt.filter(|_| peak > 0.0) {
            let limit = 1.0 + self.settings.margin;
            let rate = self.rate.learn(weighted / dt, now, wanted.moving, &self.settings);
            let burst = self.burst.learn(peak, now, wanted.moving, &self.settings);
            changed = rate.is_some_and(|r| r > limit) || burst.is_some_and(|r| r > limit);
            self.last_ratio = Some(rate.unwrap_or(1.0).max(burst.unwrap_or(1.0)));
        }
        let verdict = if previous.is_none() || self.last_analysed.is_none_or(|a| now < a) {
            Verdict::First
        } else if wanted.moving {
            Verdict::Moving
        } else if wanted.due.is_some_and(|due| now >= due) {
            Verdict::Due
        } else if changed {
            Verdict::Change
        } else if self.last_analysed.is_some_and(|a| now.saturating_sub(a) >= self.settings.floor) {
            Verdict::Floor
        } else {
            Verdict::Still
        };
        if verdict.analyse() {
            self.last_analysed = Some(now);
        }
        verdict
    }

    /// A new stream: times start afresh, the baselines are kept (the same camera).
    pub fn reset(&mut self) {
        self.since_keyframe = 0.0;
        self.peak = 0.0;
        self.last_keyframe = None;
        self.last_analysed = None;
        self.rate.unexplained = None;
        self.burst.unexplained = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Option<Duration> {
        Some(Duration::from_secs_f64(secs))
    }

    /// Feeds one second: 24 delta units of `bytes` at QP `qp`, then a keyframe.
    fn second(g: &mut ChangeGate, t: f64, bytes: usize, qp: i32, wanted: AnalysisWanted) -> Verdict {
        for _ in 0..24 {
            g.on_delta(bytes, Some(qp));
        }
        g.on_keyframe(s(t), wanted)
    }

    const STILL: AnalysisWanted = AnalysisWanted { moving: false, due: None };

    #[test]
    fn a_still_scene_is_skipped_between_floors() {
        let mut g = ChangeGate::new(ChangeGateSettings::default());
        assert_eq!(g.on_keyframe(s(0.0), STILL), Verdict::First);
        let verdicts: Vec<Verdict> = (1..=20).map(|t| second(&mut g, t as f64, 5000, 20, STILL)).collect();
        let analysed: Vec<usize> = (0..20).filter(|&i| verdicts[i].analyse()).map(|i| i + 1).collect();
        assert_eq!(analysed, vec![8, 16], "{verdicts:?}");
        assert!(verdicts.iter().filter(|v| v.analyse()).all(|v| *v == Verdict::Floor));
    }

    #[test]
    fn change_motion_and_requests_are_analysed() {
        let mut g = ChangeGate::new(ChangeGateSettings::default());
        g.on_keyframe(s(0.0), STILL);
        for t in 1..=3 {
            second(&mut g, t as f64, 5000, 20, STILL);
        }
        // Same bytes at a coarser quantiser: more content (a constant-bitrate camera).
        assert_eq!(second(&mut g, 4.0, 5000, 26, STILL), Verdict::Change);
        assert_eq!(second(&mut g, 5.0, 5000, 20, AnalysisWanted { moving: true, due: None }), Verdict::Moving);
        assert_eq!(second(&mut g, 6.0, 5000, 20, AnalysisWanted { moving: false, due: s(9.5) }), Verdict::Still);
        assert_eq!(second(&mut g, 10.0, 5000, 20, AnalysisWanted { moving: false, due: s(9.5) }), Verdict::Due);
    }

    #[test]
    fn the_signal_is_per_second_so_a_longer_gop_is_not_change() {
        let mut g = ChangeGate::new(ChangeGateSettings::default());
        g.on_keyframe(s(0.0), STILL);
        for t in 1..=4 {
            second(&mut g, t as f64, 5000, 20, STILL);
        }
        for _ in 0..72 {
            g.on_delta(5000, Some(20));
        }
        assert_eq!(g.on_keyframe(s(7.0), STILL), Verdict::Still, "three times the units over three times the time");
        for _ in 0..24 {
            g.on_delta(7000, Some(20));
        }
        assert_eq!(g.on_keyframe(s(8.0), STILL), Verdict::Change);
    }

    #[test]
    fn a_lasting_level_the_detector_finds_nothing_in_becomes_the_baseline() {
        let mut g = ChangeGate::new(ChangeGateSettings { floor: Duration::from_secs(1000), ..Default::default() });
        g.on_keyframe(s(0.0), STILL);
        for t in 1..=4 {
            second(&mut g, t as f64, 5000, 20, STILL);
        }
        // Night falls: three times the noise, nothing moving.
        let changed = (5..=80).filter(|&t| second(&mut g, t as f64, 15000, 20, STILL) == Verdict::Change).count();
        assert_eq!(changed, 61, "change until relearn_after (60 s) has passed");
        assert_eq!(second(&mut g, 81.0, 15000, 20, STILL), Verdict::Still);
        assert_eq!(second(&mut g, 82.0, 25000, 20, STILL), Verdict::Change, "change above the new level");
        // While the detector sees motion, nothing is learned.
        for t in 83..=200 {
            second(&mut g, t as f64, 30000, 20, AnalysisWanted { moving: true, due: None });
        }
        assert_eq!(second(&mut g, 201.0, 30000, 20, STILL), Verdict::Change);
    }

    #[test]
    fn disabled_or_untimed_analyses_everything() {
        let mut g = ChangeGate::new(ChangeGateSettings { enabled: false, ..Default::default() });
        assert!((0..10).all(|t| second(&mut g, t as f64, 100, 20, STILL).analyse()));
        let mut g = ChangeGate::new(ChangeGateSettings::default());
        assert!((0..10).all(|_| g.on_keyframe(None, STILL).analyse()));
    }

    #[test]
    fn a_timeline_going_back_starts_afresh() {
        let mut g = ChangeGate::new(ChangeGateSettings::default());
        g.on_keyframe(s(100.0), STILL);
        second(&mut g, 101.0, 5000, 20, STILL);
        assert_eq!(second(&mut g, 102.0, 5000, 20, STILL), Verdict::Still);
        assert_eq!(g.on_keyframe(s(1.0), STILL), Verdict::First);
    }

    #[test]
    fn feedback_waits_for_the_answer() {
        let f = std::sync::Arc::new(AnalysisFeedback::default());
        f.delivered();
        assert!(f.wait_answered(Duration::from_millis(10), || false), "nobody answers: nothing to wait for");
        f.expect_answers();
        f.answer(AnalysisWanted::default());
        assert!(f.wait_answered(Duration::from_millis(10), || false), "nothing pending");
        f.delivered();
        assert!(!f.wait_answered(Duration::from_millis(20), || false), "times out");
        let g = std::sync::Arc::clone(&f);
        let t = std::thread::spawn(move || g.answer(AnalysisWanted { moving: true, due: None }));
        assert!(f.wait_answered(Duration::from_secs(10), || false));
        t.join().unwrap();
        assert!(f.wanted().moving);
    }
}
