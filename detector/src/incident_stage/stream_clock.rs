//! The time an analysed frame counts as taken, per camera.
//!
//! Live cameras and files played at recorded speed: the wall clock when the frame
//! left the decoder. A file played as fast as the machine allows: its own
//! timestamps, counted from when it started, so a 2-minute dwell means two minutes
//! of footage, not two minutes of processing. Time never runs backwards for the
//! analysis (a looping file or a restart starts its timestamps again).

use std::time::{Duration, SystemTime};

use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    Wall,
    StreamTime,
}

#[derive(Debug, Clone)]
pub struct StreamClock {
    source: ClockSource,
    /// Stream time zero, in wall milliseconds (stream clocks).
    base_ms: Option<i64>,
    last_pts: Option<Duration>,
    last: Option<Timestamp>,
}

impl StreamClock {
    pub fn new(source: ClockSource) -> Self {
        Self { source, base_ms: None, last_pts: None, last: None }
    }

    /// A stream clock whose time zero is `base` instead of the wall clock at the first
    /// frame: a replay of the same file then gives the same times (and incident ids).
    pub fn starting_at(source: ClockSource, base: Option<Timestamp>) -> Self {
        Self { base_ms: base.map(|b| b.0), ..Self::new(source) }
    }

    pub fn time_of(&mut self, captured_at: SystemTime, pts: Option<Duration>) -> Timestamp {
        let wall = Timestamp::from_system_time(captured_at);
        let t = match (self.source, pts) {
            (ClockSource::StreamTime, Some(pts)) => {
                let pts_ms = pts.as_millis() as i64;
                let restarted = self.last_pts.is_some_and(|last| pts < last);
                if self.base_ms.is_none() || restarted {
                    // Start counting where the analysis stands, not where the wall is.
                    let from = self.last.map_or(wall.0, |l| l.0 + 1);
                    self.base_ms = Some(from - pts_ms);
                }
                self.last_pts = Some(pts);
                Timestamp(self.base_ms.unwrap_or(wall.0) + pts_ms)
            }
            _ => wall,
        };
        let t = self.last.map_or(t, |l| t.max(l));
        self.last = Some(t);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_time_follows_the_timestamps_and_never_runs_back() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut c = StreamClock::new(ClockSource::StreamTime);
        let t0 = c.time_of(wall, Some(Duration::from_secs(0)));
        assert_eq!(t0, Timestamp(1_000_000));
        // Processed 0.1 s later, 30 s of footage on.
        let t1 = c.time_of(wall + Duration::from_millis(100), Some(Duration::from_secs(30)));
        assert_eq!(t1.secs_since(t0), 30.0);
        // The file loops: timestamps restart, time goes on.
        let t2 = c.time_of(wall + Duration::from_millis(200), Some(Duration::from_secs(0)));
        assert!(t2 > t1);
        let t3 = c.time_of(wall + Duration::from_millis(300), Some(Duration::from_secs(2)));
        assert_eq!(t3.secs_since(t2), 2.0);

        let fixed = StreamClock::starting_at(ClockSource::StreamTime, Some(Timestamp(5_000)));
        let mut f1 = fixed.clone();
        let mut f2 = fixed;
        assert_eq!(f1.time_of(wall, Some(Duration::from_secs(2))), Timestamp(7_000));
        assert_eq!(f2.time_of(wall + Duration::from_secs(9), Some(Duration::from_secs(2))), Timestamp(7_000));

        let mut w = StreamClock::new(ClockSource::Wall);
        assert_eq!(w.time_of(wall, Some(Duration::from_secs(5))), Timestamp(1_000_000));
        assert_eq!(w.time_of(wall - Duration::from_secs(1), None), Timestamp(1_000_000), "never backwards");
    }
}
