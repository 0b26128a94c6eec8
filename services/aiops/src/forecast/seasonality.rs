//! Seasonality detection and seasonal profiles.
//!
//! Classical decomposition, one candidate period at a time (shortest first):
//! remove a moving-average trend of one period's length, remove the profiles
//! of shorter periods already accepted, then measure how much variance the
//! period's phase profile explains *out of sample*: each cycle is predicted by
//! the mean of the other cycles (leave-one-cycle-out). On noise this strength
//! is <= 0, whereas the in-sample STL measure `1 - Var(R)/Var(S+R)` is biased
//! up to about `1/cycles` (0.5 with two cycles), which would accept noise.
//! Testing weekly after removing daily means "weekly" is only reported when
//! days of the week really differ, not merely because a week contains days.

use super::stats::{finite_mean, gcd};

/// A seasonal period found in the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// Period length in seconds (one of the configured candidates).
    pub secs: i64,
    /// Period length in grid steps.
    pub steps: usize,
    /// Cross-validated share of the remaining variance explained (0..1).
    pub strength: f64,
}

/// Detection runs on block means with about this many blocks per shortest
/// cycle: per-minute noise is averaged away and the work stays small.
const DETECTION_BLOCKS_PER_CYCLE: usize = 48;

/// A longer period must also explain this share of the variance left after
/// detrending alone: on a noise-free daily series the tiny residual after
/// removing the daily profile can repeat weekly and score strength 1.0,
/// yet be irrelevant.
const MIN_SHARE_OF_DETRENDED: f64 = 0.05;

/// Tests each candidate period (seconds) on `values` (grid at `step` seconds;
/// NaN = missing) and returns the accepted ones, shortest first.
pub(crate) fn detect(
    values: &[f64],
    step: i64,
    candidates_secs: &[i64],
    min_strength: f64,
) -> Vec<Period> {
    let mut candidates: Vec<(i64, usize)> = candidates_secs
        .iter()
        .filter_map(|&secs| {
            let steps = (secs as f64 / step as f64).round();
            // At least two full cycles, and a period of at least two steps.
            (steps >= 2.0 && 2.0 * steps <= values.len() as f64).then_some((secs, steps as usize))
        })
        .collect();
    candidates.sort_unstable_by_key(|&(_, steps)| steps);
    candidates.dedup_by_key(|c| c.1);
    let Some(&(_, shortest)) = candidates.first() else {
        return Vec::new();
    };

    let g = candidates.iter().fold(0, |g, &(_, steps)| gcd(g, steps));
    let factor = (1..=g)
        .rev()
        .find(|&d| g % d == 0 && shortest / d >= DETECTION_BLOCKS_PER_CYCLE)
        .unwrap_or(1);
    let coarse = block_means(values, factor);

    let mut found = Vec::new();
    let mut profiles: Vec<Vec<f64>> = Vec::new();
    for (secs, steps) in candidates {
        let period = steps / factor;
        if coarse.len() < 2 * period {
            continue;
        }
        let detrended = deseasonalised_detrended(&coarse, period, &profiles);
        let (rss, tss) = cross_validated_sums(&detrended, period);
        let strength = if tss > 0.0 {
            (1.0 - rss / tss).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let total = if profiles.is_empty() {
            tss
        } else {
            cross_validated_sums(&deseasonalised_detrended(&coarse, period, &[]), period).1
        };
        let share = if total > 0.0 {
            (tss - rss) / total
        } else {
            0.0
        };
        if strength >= min_strength && share >= MIN_SHARE_OF_DETRENDED {
            profiles.push(phase_profile(&detrended, period));
            found.push(Period {
                secs,
                steps,
                strength,
            });
        }
    }
    found
}

/// Seasonal profiles (zero-mean, indexed by `t % period`) for `periods`
/// (shortest first) at full grid resolution; used to initialise the model.
pub(crate) fn profiles(values: &[f64], periods: &[usize]) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::new();
    for (k, &period) in periods.iter().enumerate() {
        let detrended = deseasonalised_detrended(values, period, &out);
        let profile = phase_profile(&detrended, period);
        out.push(smooth_circular(&profile, smoothing_window(periods, k)));
    }
    out
}

/// Profiles after the first describe how a longer cycle deviates from the
/// shorter one (weekend vs weekday) and rest on few cycles (two weeks of
/// history give two values per phase), so they are smoothed over 1/24 of the
/// shorter period (an hour of a day) to keep them from memorising noise. The
/// first profile is left sharp: cron-like spikes at fixed times are real.
pub(crate) fn smoothing_window(periods: &[usize], k: usize) -> usize {
    if k == 0 { 1 } else { (periods[k - 1] / 24) | 1 }
}

/// Centred moving average of odd `window` on a cyclic profile.
fn smooth_circular(profile: &[f64], window: usize) -> Vec<f64> {
    let m = profile.len();
    if window <= 1 || m < window {
        return profile.to_vec();
    }
    let half = window / 2;
    let mut sum: f64 = (0..window).map(|i| profile[(m - half + i) % m]).sum();
    let mut out = Vec::with_capacity(m);
    for t in 0..m {
        out.push(sum / window as f64);
        sum += profile[(t + half + 1) % m] - profile[(t + m - half) % m];
    }
    out
}

/// Means of consecutive blocks of `factor` values (ignoring NaN), aligned so
/// the last block ends at the newest value.
fn block_means(values: &[f64], factor: usize) -> Vec<f64> {
    let skip = values.len() % factor;
    values[skip..]
        .chunks(factor)
        .map(|c| finite_mean(c).unwrap_or(f64::NAN))
        .collect()
}

/// `x - trend - sum(profiles)`, where the trend is a moving average over one
/// period (which cancels that period's seasonality). Near the ends the window
/// is clamped inside the series rather than shrunk, so it always spans one
/// full cycle and never leaks the seasonal shape into the trend.
fn deseasonalised_detrended(x: &[f64], period: usize, profiles: &[Vec<f64>]) -> Vec<f64> {
    let n = x.len();
    // Centre first so long prefix sums of large values keep their precision.
    let centre = finite_mean(x).unwrap_or(0.0);
    let mut sum = vec![0.0; n + 1];
    let mut count = vec![0usize; n + 1];
    for (i, &v) in x.iter().enumerate() {
        let present = v.is_finite();
        sum[i + 1] = sum[i] + if present { v - centre } else { 0.0 };
        count[i + 1] = count[i] + usize::from(present);
    }
    x.iter()
        .enumerate()
        .map(|(t, &v)| {
            if !v.is_finite() {
                return f64::NAN;
            }
            // The window contains t, hence at least one present value.
            let a = t.saturating_sub(period / 2).min(n - period);
            let trend = (sum[a + period] - sum[a]) / (count[a + period] - count[a]) as f64;
            let seasonal: f64 = profiles.iter().map(|p| p[t % p.len()]).sum();
            v - centre - trend - seasonal
        })
        .collect()
}

/// Per-phase sums and counts of the present values.
fn phase_sums(d: &[f64], period: usize) -> (Vec<f64>, Vec<usize>) {
    let mut sums = vec![0.0; period];
    let mut counts = vec![0usize; period];
    for (t, &v) in d.iter().enumerate() {
        if v.is_finite() {
            sums[t % period] += v;
            counts[t % period] += 1;
        }
    }
    (sums, counts)
}

/// Zero-mean phase profile (mean per phase, 0 for never-observed phases).
fn phase_profile(d: &[f64], period: usize) -> Vec<f64> {
    let (sums, counts) = phase_sums(d, period);
    let mut profile: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(&s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect();
    let mean = profile.iter().sum::<f64>() / period as f64;
    profile.iter_mut().for_each(|p| *p -= mean);
    profile
}

/// (SS of the leave-one-cycle-out residuals, SS of `d` about its mean) over
/// the values whose phase occurs in at least two cycles; the strength is
/// `1 - first / second`.
fn cross_validated_sums(d: &[f64], period: usize) -> (f64, f64) {
    let (sums, counts) = phase_sums(d, period);
    let Some(mean) = finite_mean(d) else {
        return (0.0, 0.0);
    };
    let (mut rss, mut tss) = (0.0, 0.0);
    for (t, &v) in d.iter().enumerate() {
        let phase = t % period;
        if !v.is_finite() || counts[phase] < 2 {
            continue;
        }
        let others = (sums[phase] - v) / (counts[phase] - 1) as f64;
        rss += (v - others).powi(2);
        tss += (v - mean).powi(2);
    }
    (rss, tss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::config::{DAY_SECS, WEEK_SECS};

    /// Deterministic pseudo-noise in [-1, 1) (xorshift), enough for these tests.
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    fn daily_sine(n: usize, per_day: usize, amp: f64) -> Vec<f64> {
        let tau = std::f64::consts::TAU;
        noise(n, 7)
            .iter()
            .enumerate()
            .map(|(t, e)| 100.0 + amp * (tau * t as f64 / per_day as f64).sin() + 5.0 * e)
            .collect()
    }

    const CANDIDATES: [i64; 2] = [DAY_SECS, WEEK_SECS];

    #[test]
    fn finds_daily_on_daily_sine_but_not_weekly() {
        let y = daily_sine(14 * 1440, 1440, 20.0);
        let found = detect(&y, 60, &CANDIDATES, 0.3);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].secs, DAY_SECS);
        assert_eq!(found[0].steps, 1440);
        assert!(found[0].strength > 0.8, "{found:?}");
    }

    #[test]
    fn finds_nothing_on_noise_or_constant() {
        let y: Vec<f64> = noise(14 * 1440, 3).iter().map(|e| 50.0 + e).collect();
        assert!(detect(&y, 60, &CANDIDATES, 0.3).is_empty());
        assert!(detect(&vec![4.0; 3000], 300, &CANDIDATES, 0.3).is_empty());
    }

    #[test]
    fn finds_weekly_on_weekend_dip_with_daily_cycle() {
        // Hourly series, 6 weeks; weekends are 40 lower.
        let base = daily_sine(6 * 168, 24, 20.0);
        let y: Vec<f64> = base
            .iter()
            .enumerate()
            .map(|(t, v)| if (t / 24) % 7 >= 5 { v - 40.0 } else { *v })
            .collect();
        let found = detect(&y, 3600, &CANDIDATES, 0.3);
        let secs: Vec<i64> = found.iter().map(|p| p.secs).collect();
        assert_eq!(secs, vec![DAY_SECS, WEEK_SECS], "{found:?}");
    }

    #[test]
    fn negligible_weekly_residual_is_not_weekly() {
        // Noise-free daily cycle plus a tiny weekly wobble (1e-4 of amplitude).
        let y: Vec<f64> = (0..14 * 288)
            .map(|t| {
                let tau = std::f64::consts::TAU;
                50.0 + 20.0 * (tau * t as f64 / 288.0).sin()
                    + 1e-3 * (tau * t as f64 / 2016.0).sin()
            })
            .collect();
        let found = detect(&y, 300, &CANDIDATES, 0.3);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn needs_two_full_cycles() {
        let y = daily_sine(1440 + 1439, 1440, 20.0);
        assert!(detect(&y, 60, &CANDIDATES, 0.3).is_empty());
    }

    #[test]
    fn trend_alone_is_not_seasonal() {
        let y: Vec<f64> = (0..10 * 288).map(|t| t as f64 * 0.1).collect();
        assert!(detect(&y, 300, &CANDIDATES, 0.3).is_empty());
    }

    #[test]
    fn circular_smoothing_wraps_around() {
        let p = [3.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(smooth_circular(&p, 3), vec![1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(smooth_circular(&p, 1), p.to_vec());
    }

    #[test]
    fn profiles_are_zero_mean() {
        let y = daily_sine(3 * 48, 48, 10.0);
        let p = profiles(&y, &[48]);
        assert_eq!(p[0].len(), 48);
        assert!(p[0].iter().sum::<f64>().abs() < 1e-9);
        // The peak of the sine is at a quarter of the day.
        assert!(p[0][12] > 8.0 && p[0][36] < -8.0, "{:?}", p[0]);
    }
}
