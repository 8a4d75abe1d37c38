//! Time as an input. The detector core never reads a clock: callers pass the frame's
//! capture time, tests pass a fake one, and replays are deterministic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs_f64(secs: f64) -> Self {
        Self((secs * 1000.0).round() as i64)
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(d.as_millis() as i64),
            Err(e) => Self(-(e.duration().as_millis() as i64)),
        }
    }

    /// Seconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1000.0
    }

    pub fn plus(self, d: Duration) -> Self {
        Self(self.0 + d.as_millis() as i64)
    }

    pub fn plus_secs(self, secs: f64) -> Self {
        Self(self.0 + (secs * 1000.0).round() as i64)
    }

    /// Calendar date and time at a fixed UTC offset: `(year, month, day, hour,
    /// minute, second, millisecond)`. Proleptic Gregorian (H. Hinnant's days-to-civil).
    pub fn civil(self, utc_offset_minutes: i32) -> (i64, u32, u32, u32, u32, u32, u32) {
        let ms = self.0 + i64::from(utc_offset_minutes) * 60_000;
        let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let secs = (ms_of_day / 1000) as u32;
        (year, month, day, secs / 3600, secs / 60 % 60, secs % 60, (ms_of_day % 1000) as u32)
    }

    /// RFC 3339 with milliseconds at a fixed offset: `2026-11-25T08:00:00.000+08:00`.
    pub fn rfc3339(self, utc_offset_minutes: i32) -> String {
        let (y, mo, d, h, mi, s, ms) = self.civil(utc_offset_minutes);
        let zone = if utc_offset_minutes == 0 {
            "Z".to_string()
        } else {
            let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
            let m = utc_offset_minutes.unsigned_abs();
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        };
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}{zone}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_at_offsets() {
        // 2026-11-25T00:00:00Z
        let t = Timestamp(1_795_564_800_000);
        assert_eq!(t.rfc3339(0), "2026-11-25T00:00:00.000Z");
        assert_eq!(t.plus_secs(3661.5).rfc3339(480), "2026-11-25T09:01:01.500+08:00");
        assert_eq!(t.rfc3339(-210), "2026-11-24T20:30:00.000-03:30");
        assert_eq!(Timestamp(0).rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(951_782_400_000).civil(0).1, 2, "2000-02-29");
        assert_eq!(Timestamp(951_782_400_000).civil(0).2, 29);
    }
}
