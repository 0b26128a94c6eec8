//! Days and clock times in the asker's time zone: "어제" is the asker's
//! yesterday, not the server's.

use jiff::{Span, Timestamp, Zoned, civil, tz::TimeZone};

use crate::Error;

#[derive(Clone, Debug)]
pub struct Clock {
    now: Zoned,
}

/// A time range, Unix nanoseconds, end exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Clock {
    /// `time_zone` an IANA name (empty: UTC), `now` Unix nanoseconds.
    pub fn new(time_zone: &str, now_unix_nano: u64) -> Result<Self, Error> {
        let tz = if time_zone.is_empty() {
            TimeZone::UTC
        } else {
            TimeZone::get(time_zone).map_err(|_| {
                Error::InvalidArgument(format!(
                    "time_zone: {time_zone:?} is not an IANA time zone (like \"Asia/Seoul\")"
                ))
            })?
        };
        let now = Timestamp::from_nanosecond(i128::from(now_unix_nano))
            .map_err(|e| Error::InvalidArgument(format!("now_unix_nano: {e}")))?
            .to_zoned(tz);
        Ok(Self { now })
    }

    pub fn now(&self) -> u64 {
        nanos(&self.now)
    }

    /// The range from `back` before now to now.
    pub fn last(&self, back: Span) -> Range {
        let start = self.now.checked_sub(back).map_or(0, |z| nanos(&z));
        Range {
            start,
            end: self.now(),
        }
    }

    /// The day `days` before today, from midnight to midnight.
    pub fn day(&self, days_ago: i64) -> Range {
        let date = self.today().saturating_sub(Span::new().days(days_ago));
        Range {
            start: self.midnight(date),
            end: self.midnight(date.saturating_add(Span::new().days(1))),
        }
    }

    pub fn today(&self) -> civil::Date {
        self.now.date()
    }

    /// Monday of this week.
    pub fn monday(&self) -> civil::Date {
        let today = self.today();
        let back = i64::from(today.weekday().to_monday_zero_offset());
        today.saturating_sub(Span::new().days(back))
    }

    pub fn first_of_month(&self) -> civil::Date {
        self.today().first_of_month()
    }

    /// The start of `date` in the asker's zone.
    pub fn midnight(&self, date: civil::Date) -> u64 {
        date.to_zoned(self.now.time_zone().clone())
            .ok()
            .and_then(|z| z.start_of_day().ok())
            .map_or(0, |z| nanos(&z))
    }

    /// `date` at `hour:minute` in the asker's zone.
    pub fn at(&self, date: civil::Date, hour: u8, minute: u8) -> u64 {
        date.at(hour as i8, minute as i8, 0, 0)
            .to_zoned(self.now.time_zone().clone())
            .map_or(0, |z| nanos(&z))
    }

    /// `nanos` written in the asker's zone, to the minute (seconds when
    /// they are not zero): the canonical form's times.
    pub fn format(&self, nanos: u64) -> String {
        let Ok(ts) = Timestamp::from_nanosecond(i128::from(nanos)) else {
            return nanos.to_string();
        };
        let z = ts.to_zoned(self.now.time_zone().clone());
        if z.second() == 0 && z.subsec_nanosecond() == 0 {
            z.strftime("%Y-%m-%dT%H:%M").to_string()
        } else {
            z.strftime("%Y-%m-%dT%H:%M:%S").to_string()
        }
    }

    /// `nanos` as people read it in the asker's zone: `12-02 15:00`, or
    /// `15:00` when it is today.
    pub fn readable(&self, nanos: u64) -> String {
        let Ok(ts) = Timestamp::from_nanosecond(i128::from(nanos)) else {
            return nanos.to_string();
        };
        let z = ts.to_zoned(self.now.time_zone().clone());
        if z.date() == self.today() {
            z.strftime("%H:%M").to_string()
        } else if z.year() == self.now.year() {
            z.strftime("%m-%d %H:%M").to_string()
        } else {
            z.strftime("%Y-%m-%d %H:%M").to_string()
        }
    }
}

fn nanos(z: &Zoned) -> u64 {
    u64::try_from(z.timestamp().as_nanosecond()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thursday 2026-12-03 10:30 in Seoul.
    const NOW: u64 = 1_796_261_400_000_000_000;

    #[test]
    fn days_are_the_askers() {
        let clock = Clock::new("Asia/Seoul", NOW).unwrap();
        assert_eq!(clock.format(clock.now()), "2026-12-03T10:30");
        let yesterday = clock.day(1);
        assert_eq!(clock.format(yesterday.start), "2026-12-02T00:00");
        assert_eq!(clock.format(yesterday.end), "2026-12-03T00:00");
        assert_eq!(clock.monday().to_string(), "2026-11-30");
        assert_eq!(clock.first_of_month().to_string(), "2026-12-01");
        let utc = Clock::new("", NOW).unwrap();
        assert_eq!(utc.format(utc.now()), "2026-12-03T01:30");
        assert!(matches!(
            Clock::new("Mars/Olympus", NOW),
            Err(Error::InvalidArgument(m)) if m.starts_with("time_zone:")
        ));
    }
}
