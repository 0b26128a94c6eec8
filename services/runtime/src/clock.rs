//! The wall clock, in the units the platform stores: nanoseconds since the
//! Unix epoch for telemetry (OTLP's `time_unix_nano`), seconds for token
//! claims (`iat`, `exp`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch; 0 for a clock set before 1970, which
/// makes every time window look old rather than failing.
pub fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Whole seconds since the Unix epoch.
pub fn now_unix_secs() -> i64 {
    (now_unix_nano() / 1_000_000_000) as i64
}

/// `2026-12-04T17:05:00Z` for Unix seconds.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_nanoseconds_agree() {
        let nanos = now_unix_nano();
        let secs = now_unix_secs();
        // After 2020, and the two readings at most a second apart.
        assert!(nanos > 1_577_836_800_000_000_000, "{nanos}");
        assert!((secs - (nanos / 1_000_000_000) as i64).abs() <= 1);
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_403_900), "2026-12-04T17:05:00Z");
        assert_eq!(rfc3339(u64::from(u32::MAX)), "2106-02-07T06:28:15Z");
    }
}
