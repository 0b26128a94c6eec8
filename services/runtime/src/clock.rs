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
}
