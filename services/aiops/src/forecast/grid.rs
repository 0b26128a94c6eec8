//! Input validation, step inference and regularisation onto a fixed grid.
//!
//! The grid is anchored at the last timestamp so forecasts start exactly one
//! step after the newest point, and so truncating old history is a prefix cut.

use super::config::{MAX_ABS_TIMESTAMP, MAX_HORIZON, MAX_POINTS, MIN_POINTS};
use super::error::ForecastError;

/// A regular series: `values[i]` is at `last_ts - (len - 1 - i) * step`.
/// Missing steps (long gaps) are NaN.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub last_ts: i64,
    pub values: Vec<f64>,
}

impl Grid {
    pub(crate) fn present(&self) -> usize {
        self.values.iter().filter(|v| v.is_finite()).count()
    }
}

/// Cheap checks first (length, horizon) so oversized input is refused before
/// any scan or allocation.
pub(crate) fn validate(points: &[(i64, f64)], horizon: usize) -> Result<(), ForecastError> {
    if points.is_empty() {
        return Err(ForecastError::EmptySeries);
    }
    if points.len() > MAX_POINTS {
        return Err(ForecastError::TooManyPoints {
            got: points.len(),
            max: MAX_POINTS,
        });
    }
    if horizon == 0 {
        return Err(ForecastError::ZeroHorizon);
    }
    if horizon > MAX_HORIZON {
        return Err(ForecastError::HorizonTooLarge {
            got: horizon,
            max: MAX_HORIZON,
        });
    }
    if points.len() < MIN_POINTS {
        return Err(ForecastError::TooFewPoints {
            got: points.len(),
            min: MIN_POINTS,
        });
    }
    for (index, &(ts, value)) in points.iter().enumerate() {
        if !value.is_finite() {
            return Err(ForecastError::NonFiniteValue { index });
        }
        if !(-MAX_ABS_TIMESTAMP..=MAX_ABS_TIMESTAMP).contains(&ts) {
            return Err(ForecastError::TimestampOutOfRange { index });
        }
        if index > 0 && ts <= points[index - 1].0 {
            return Err(ForecastError::NonIncreasingTimestamp { index });
        }
    }
    Ok(())
}

/// Median interval between consecutive points. The median ignores isolated
/// gaps and jitter (e.g. CloudWatch samples drifting by a few seconds).
/// Expects validated input (>= 2 points, strictly increasing).
pub(crate) fn infer_step(points: &[(i64, f64)]) -> i64 {
    let mut diffs: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let mid = diffs.len() / 2;
    *diffs.select_nth_unstable(mid).1
}

/// Buckets points onto the grid (averaging points sharing a bucket), keeps the
/// newest `max_history` steps, and interpolates gaps of at most `max_gap` steps.
pub(crate) fn build(points: &[(i64, f64)], step: i64, max_history: usize, max_gap: usize) -> Grid {
    let last_ts = points[points.len() - 1].0;
    // Steps back from the newest point, rounded to the nearest grid slot.
    // Timestamps are range-checked, so the subtraction cannot overflow.
    let slot = |ts: i64| ((last_ts - ts + step / 2) / step) as usize;
    let kept = points.partition_point(|&(ts, _)| slot(ts) >= max_history);
    let recent = &points[kept..];
    let len = slot(recent[0].0) + 1;

    let mut sums = vec![0.0; len];
    let mut counts = vec![0u32; len];
    for &(ts, value) in recent {
        let i = len - 1 - slot(ts);
        sums[i] += value;
        counts[i] += 1;
    }
    let mut values: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(&s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    interpolate_short_gaps(&mut values, max_gap);
    Grid { last_ts, values }
}

/// Linear interpolation across runs of at most `max_gap` missing values.
/// The first and last grid values are always present, so every run is bounded.
fn interpolate_short_gaps(values: &mut [f64], max_gap: usize) {
    let mut prev_present = 0;
    for i in 1..values.len() {
        if !values[i].is_finite() {
            continue;
        }
        let gap = i - prev_present - 1;
        if gap > 0 && gap <= max_gap {
            let (a, b) = (values[prev_present], values[i]);
            let span = (i - prev_present) as f64;
            for (k, v) in values[prev_present + 1..i].iter_mut().enumerate() {
                *v = a + (b - a) * (k + 1) as f64 / span;
            }
        }
        prev_present = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_median_step_despite_jitter_and_gaps() {
        let mut ts = 1_000;
        let mut pts = Vec::new();
        for i in 0..100 {
            ts += match i % 10 {
                3 => 297,
                7 => 304,
                9 if i == 49 => 3_600,
                _ => 300,
            };
            pts.push((ts, 1.0));
        }
        assert_eq!(infer_step(&pts), 300);
    }

    #[test]
    fn buckets_average_and_interpolate_small_gaps_only() {
        // Two points in one bucket, then gaps of 1, 2 and 5 steps.
        let pts = [(0, 1.0), (20, 3.0), (120, 4.0), (300, 10.0), (660, 20.0)];
        let g = build(&pts, 60, 1_000, 2);
        assert_eq!(g.last_ts, 660);
        assert_eq!(g.values.len(), 12);
        assert_eq!(g.values[0], 2.0);
        assert_eq!(g.values[1], 3.0); // interpolated
        assert_eq!(g.values[2], 4.0);
        assert!((g.values[3] - 6.0).abs() < 1e-12); // interpolated
        assert!((g.values[4] - 8.0).abs() < 1e-12);
        assert_eq!(g.values[5], 10.0);
        assert!(g.values[6..11].iter().all(|v| v.is_nan())); // 5-step gap stays missing
        assert_eq!(g.values[11], 20.0);
    }

    #[test]
    fn keeps_only_recent_history() {
        let pts: Vec<(i64, f64)> = (0..50).map(|i| (i * 60, i as f64)).collect();
        let g = build(&pts, 60, 20, 0);
        assert_eq!(g.values.len(), 20);
        assert_eq!(g.values[0], 30.0);
        assert_eq!(g.values[19], 49.0);
    }
}
