//! A short-memory baseline for operational series (per-minute request
//! rate, error rate, latency): the median and spread of the last few
//! points.
//!
//! The record-based [`Detector`](super::Detector) reports the first
//! departure of a kind and then treats its like as known, which is what NAB
//! rewards; an on-call engineer wants every recurrence of an incident, and
//! wants it from the first minutes of a new series. The baseline gives
//! both: a point is judged against the median of the previous
//! [`WINDOW`] points, with the spread measured by their median absolute
//! deviation. Its user decides what it learns: continuous detection leaves
//! out the points it reported, so incidents every few minutes never become
//! normal, and starts afresh when reports go on long enough to be a new
//! level ([`crate::watch::series`]).

use super::codec::{Codec, codec_fields};

/// Points the baseline remembers.
pub(super) const WINDOW: usize = 15;
/// Points needed before the baseline scores.
pub(super) const MIN_POINTS: usize = 3;
/// Deviation, in spreads, that scores 0.5.
const HALF_SCORE_SPREADS: f64 = 6.0;
/// MAD to standard deviation of a normal distribution.
const MAD_TO_SIGMA: f64 = 1.4826;

/// The last [`WINDOW`] values of a series; O(1) memory and work per point.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    values: [f64; WINDOW],
    len: usize,
    head: usize,
}

codec_fields!([] Baseline { values, len, head });

/// How a point compares with the baseline before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// In [0, 1]; 0.5 at [`HALF_SCORE_SPREADS`] spreads from the median.
    pub score: f64,
    /// The median of the previous points.
    pub expected: f64,
    /// Where the score is below 0.5.
    pub lower: f64,
    pub upper: f64,
}

impl Default for Baseline {
    fn default() -> Self {
        Self {
            values: [0.0; WINDOW],
            len: 0,
            head: 0,
        }
    }
}

impl Baseline {
    /// Judges `x` against the remembered points. `floor(expected)` is the
    /// smallest spread that counts (a perfectly flat series would
    /// otherwise make any change infinitely surprising), given the median
    /// it is judged against. `None` for a non-finite `x` and until
    /// [`MIN_POINTS`] points are remembered.
    pub fn judge(&self, x: f64, floor: impl FnOnce(f64) -> f64) -> Option<Judgement> {
        if !x.is_finite() || self.len < MIN_POINTS {
            return None;
        }
        let mut window = [0.0; WINDOW];
        let window = &mut window[..self.len];
        window.copy_from_slice(&self.values[..self.len]);
        let expected = median(window);
        for v in window.iter_mut() {
            *v = (*v - expected).abs();
        }
        let spread = (MAD_TO_SIGMA * median(window))
            .max(floor(expected))
            .max(f64::MIN_POSITIVE);
        let z = (x - expected).abs() / spread;
        let half = HALF_SCORE_SPREADS * spread;
        Some(Judgement {
            score: z / (z + HALF_SCORE_SPREADS),
            expected,
            lower: expected - half,
            upper: expected + half,
        })
    }

    /// Remembers `x` (a non-finite one is ignored), forgetting the oldest
    /// point once [`WINDOW`] are remembered.
    pub fn learn(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.values[self.head] = x;
        self.head = (self.head + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
    }

    /// Forgets every point: the series starts a new normal.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// [`judge`](Self::judge), then [`learn`](Self::learn).
    pub fn update(&mut self, x: f64, floor: impl FnOnce(f64) -> f64) -> Option<Judgement> {
        let judgement = self.judge(x, floor);
        self.learn(x);
        judgement
    }

    /// Points remembered, at most [`WINDOW`].
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn put_state(&self, out: &mut Vec<u8>) {
        self.put(out);
    }

    pub(crate) fn get_state(input: &mut &[u8]) -> Option<Self> {
        let baseline = Self::get(input)?;
        (baseline.len <= WINDOW && baseline.head < WINDOW).then_some(baseline)
    }
}

/// The median of `values` (reordered), the mean of the middle two for an
/// even count.
fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(i: usize) -> f64 {
        // A deterministic wiggle of ±5 around 100.
        100.0 + 5.0 * ((i * 7919 % 13) as f64 / 6.0 - 1.0)
    }

    #[test]
    fn silent_until_it_has_seen_enough_points() {
        let mut b = Baseline::default();
        for i in 0..MIN_POINTS {
            assert_eq!(b.update(noisy(i), |_| 1.0), None);
        }
        assert!(b.update(noisy(MIN_POINTS), |_| 1.0).is_some());
    }

    #[test]
    fn every_recurrence_of_an_incident_scores_high_and_normal_points_low() {
        let mut b = Baseline::default();
        let mut high = Vec::new();
        for i in 0..120 {
            let incident = i >= 10 && i % 9 == 0;
            let x = if incident { 10.0 * noisy(i) } else { noisy(i) };
            if let Some(j) = b.update(x, |_| 1.0) {
                if incident {
                    high.push(j.score);
                } else {
                    assert!(j.score < 0.5, "point {i}: {j:?}");
                    assert!((j.expected - 100.0).abs() < 6.0);
                }
            }
        }
        assert_eq!(high.len(), 12);
        assert!(high.iter().all(|&s| s > 0.9), "{high:?}");
    }

    #[test]
    fn a_lasting_shift_becomes_normal() {
        let mut b = Baseline::default();
        for i in 0..30 {
            b.update(noisy(i), |_| 1.0);
        }
        let scores: Vec<f64> = (30..60)
            .filter_map(|i| b.update(3.0 * noisy(i), |_| 1.0))
            .map(|j| j.score)
            .collect();
        assert!(scores[0] > 0.9);
        assert!(scores[20..].iter().all(|&s| s < 0.5), "{scores:?}");
    }

    #[test]
    fn flat_series_use_the_floor_and_bad_values_are_skipped() {
        let mut b = Baseline::default();
        for _ in 0..10 {
            b.update(5.0, |_| 0.5);
        }
        let j = b.update(5.5, |_| 0.5).unwrap();
        assert!(j.score > 0.0 && j.score < 0.5, "{j:?}");
        assert_eq!(b.update(f64::NAN, |_| 0.5), None);
        assert_eq!(b.len(), WINDOW.min(11));
    }

    #[test]
    fn state_round_trips() {
        let mut b = Baseline::default();
        for i in 0..20 {
            b.update(noisy(i), |_| 1.0);
        }
        let mut out = Vec::new();
        b.put_state(&mut out);
        let back = Baseline::get_state(&mut out.as_slice()).unwrap();
        assert_eq!(back, b);
    }
}
