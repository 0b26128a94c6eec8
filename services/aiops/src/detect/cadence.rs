//! Sampling-interval tracking and gap (missing data) detection.
//!
//! The typical interval is the median of the last few positive intervals, so
//! occasional jitter or a single gap does not move it. Timestamps that do not
//! advance (duplicates, clock steps backwards) are tolerated: they neither
//! update the interval estimate nor count as gaps.

const HISTORY: usize = 15;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cadence {
    last_ts: Option<i64>,
    intervals: [i64; HISTORY],
    count: usize,
    head: usize,
}

super::codec::codec_fields!([] Cadence { last_ts, intervals, count, head });

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            last_ts: None,
            intervals: [0; HISTORY],
            count: 0,
            head: 0,
        }
    }
}

impl Cadence {
    /// Registers a timestamp; returns the gap length in typical intervals
    /// (1.0 for an on-time point, 0.0 when unknown or not advancing).
    pub(super) fn observe(&mut self, ts: i64) -> f64 {
        let Some(last) = self.last_ts else {
            self.last_ts = Some(ts);
            return 0.0;
        };
        if ts <= last {
            return 0.0;
        }
        self.last_ts = Some(ts);
        let dt = ts.saturating_sub(last);
        let ratio = match self.typical() {
            Some(typ) => dt as f64 / typ as f64,
            None => 1.0,
        };
        self.intervals[self.head] = dt;
        self.head = (self.head + 1) % HISTORY;
        self.count = (self.count + 1).min(HISTORY);
        ratio
    }

    /// Median of the recent positive intervals, in seconds.
    pub(super) fn typical(&self) -> Option<i64> {
        if self.count < 3 {
            return None;
        }
        let mut v = self.intervals;
        let s = &mut v[..self.count];
        s.sort_unstable();
        Some(s[self.count / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_ratio_and_non_advancing_stamps() {
        let mut c = Cadence::default();
        let mut t = 0;
        for _ in 0..10 {
            c.observe(t);
            t += 60;
        }
        assert_eq!(c.typical(), Some(60));
        assert_eq!(c.observe(t - 60), 0.0); // duplicate of the last stamp
        assert_eq!(c.observe(t + 600), 11.0);
        assert_eq!(c.typical(), Some(60));
    }
}
