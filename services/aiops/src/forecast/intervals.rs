//! Prediction intervals from empirical h-step forecast errors.
//!
//! The fitted model is replayed from many origins in its own history and the
//! signed errors at each horizon are collected. Their quantiles give bands
//! that widen with h as the model's real errors do, stay asymmetric where the
//! errors are (spiky CPU, bursts), and need no Gaussian assumption. Horizons
//! are pooled in geometric bins so every band rests on enough errors.

use super::holt_winters::Fitted;
use super::stats::quantile_sorted;

/// Offsets to add to the point forecast; index `h - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Bands {
    pub lower95: Vec<f64>,
    pub lower80: Vec<f64>,
    pub upper80: Vec<f64>,
    pub upper95: Vec<f64>,
}

/// Evenly spaced forecast origins replayed per horizon bin.
const MAX_ORIGINS: usize = 1_000;
/// Horizons sampled within one bin.
const HORIZONS_PER_BIN: usize = 8;
/// Bins with fewer errors are not trusted; bands are extrapolated instead.
const MIN_BIN_ERRORS: usize = 40;
/// Each bin is about this much wider than the previous one.
const BIN_GROWTH: f64 = 1.15;
/// Standard-normal quantiles for the small-sample fallback.
const Z80: f64 = 1.281_551_565_545;
const Z95: f64 = 1.959_963_984_540;
const QUANTILES: [f64; 4] = [0.025, 0.10, 0.90, 0.975];
/// Cap on the profile-noise share used for the correction below.
const MAX_PROFILE_SHARE: f64 = 0.5;

/// Bands for horizons `1..=horizon`: ordered (lower95 <= lower80 <= 0 <=
/// upper80 <= upper95) and widening with h.
pub(crate) fn empirical_bands(fitted: &Fitted<'_>, horizon: usize) -> Bands {
    let n = fitted.y.len();
    // Skip the first cycle: the initial seasonal state is still settling.
    let warmup = fitted.periods.last().copied().unwrap_or(10).min(n / 2);
    let origins: Vec<usize> = if n >= warmup + 2 {
        let span = n - 1 - warmup;
        let count = span.min(MAX_ORIGINS);
        (0..count).map(|i| warmup + i * span / count).collect()
    } else {
        Vec::new()
    };

    // (representative h, quantiles) for bins with enough errors.
    let mut anchors: Vec<(f64, [f64; 4])> = Vec::new();
    let mut start = 1usize;
    while start <= horizon {
        let end = ((start as f64 * BIN_GROWTH).ceil() as usize)
            .max(start + 1)
            .min(horizon + 1);
        let width = end - start;
        let step = width.div_ceil(HORIZONS_PER_BIN);
        let mut errors = Vec::new();
        for h in (start..end).step_by(step) {
            for &o in &origins {
                match fitted.y.get(o + h) {
                    Some(&y) if y.is_finite() => errors.push(y - fitted.predict(o, h)),
                    _ => {}
                }
            }
        }
        if errors.len() < MIN_BIN_ERRORS {
            // Later bins only have fewer usable origins.
            break;
        }
        errors.sort_unstable_by(f64::total_cmp);
        let q = QUANTILES.map(|p| quantile_sorted(&errors, p));
        anchors.push(((start + end - 1) as f64 / 2.0, q));
        start = end;
    }

    let mut bands = Bands {
        lower95: Vec::with_capacity(horizon),
        lower80: Vec::with_capacity(horizon),
        upper80: Vec::with_capacity(horizon),
        upper95: Vec::with_capacity(horizon),
    };
    // Replayed errors are in-sample with respect to the initial seasonal
    // profiles: they lack the share p of noise the profiles absorbed, while
    // true forecasts carry p extra. Scale by sqrt((1+p)/(1-p)).
    let p = fitted.profile_noise_share().min(MAX_PROFILE_SHARE);
    let inflation = ((1.0 + p) / (1.0 - p)).sqrt();
    let fallback_sd = residual_sd(&fitted.residuals);
    for h in 1..=horizon {
        let q = match anchors.as_slice() {
            [] => {
                let s = fallback_sd * (h as f64).sqrt();
                [-Z95 * s, -Z80 * s, Z80 * s, Z95 * s]
            }
            a => interpolate(a, h as f64),
        }
        .map(|v| v * inflation);
        push_ordered(&mut bands, q);
    }
    bands
}

/// Linear interpolation between anchors; flat before the first, and growing
/// like sqrt(h) after the last (random-walk-like growth, on the safe side for
/// horizons longer than the history can check).
fn interpolate(anchors: &[(f64, [f64; 4])], h: f64) -> [f64; 4] {
    let (first_h, first_q) = anchors[0];
    let (last_h, last_q) = anchors[anchors.len() - 1];
    if h <= first_h {
        return first_q;
    }
    if h >= last_h {
        let grow = (h / last_h).sqrt();
        return last_q.map(|v| v * grow);
    }
    let i = anchors.partition_point(|a| a.0 <= h);
    let ((h0, q0), (h1, q1)) = (anchors[i - 1], anchors[i]);
    let frac = (h - h0) / (h1 - h0);
    std::array::from_fn(|j| q0[j] + (q1[j] - q0[j]) * frac)
}

/// Appends one horizon, forcing the band order and never narrowing with h.
fn push_ordered(b: &mut Bands, q: [f64; 4]) {
    let prev = |v: &Vec<f64>| v.last().copied().unwrap_or(0.0);
    let lower80 = q[1].min(0.0).min(prev(&b.lower80));
    let upper80 = q[2].max(0.0).max(prev(&b.upper80));
    let lower95 = q[0].min(lower80).min(prev(&b.lower95));
    let upper95 = q[3].max(upper80).max(prev(&b.upper95));
    b.lower80.push(lower80);
    b.upper80.push(upper80);
    b.lower95.push(lower95);
    b.upper95.push(upper95);
}

fn residual_sd(residuals: &[f64]) -> f64 {
    if residuals.is_empty() {
        return 0.0;
    }
    (residuals.iter().map(|e| e * e).sum::<f64>() / residuals.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_flat_then_linear_then_sqrt() {
        let a = [(1.0, [-2.0, -1.0, 1.0, 2.0]), (3.0, [-4.0, -3.0, 3.0, 4.0])];
        assert_eq!(interpolate(&a, 0.5), [-2.0, -1.0, 1.0, 2.0]);
        assert_eq!(interpolate(&a, 2.0), [-3.0, -2.0, 2.0, 3.0]);
        assert_eq!(interpolate(&a, 12.0), [-8.0, -6.0, 6.0, 8.0]);
    }

    #[test]
    fn pushed_bands_are_ordered_and_never_narrow() {
        let mut b = Bands {
            lower95: vec![],
            lower80: vec![],
            upper80: vec![],
            upper95: vec![],
        };
        push_ordered(&mut b, [-5.0, -2.0, 2.0, 5.0]);
        push_ordered(&mut b, [-1.0, 0.5, 1.0, 0.5]); // narrower and disordered
        assert_eq!(b.lower95, vec![-5.0, -5.0]);
        assert_eq!(b.lower80, vec![-2.0, -2.0]);
        assert_eq!(b.upper80, vec![2.0, 2.0]);
        assert_eq!(b.upper95, vec![5.0, 5.0]);
    }
}
