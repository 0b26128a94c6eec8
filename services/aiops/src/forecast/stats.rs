//! Small numeric helpers shared by the modules.

/// Quantile of an ascending-sorted, non-empty slice, linear interpolation
/// between order statistics (Hyndman & Fan type 7).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Mean of the finite values; `None` when there are none.
pub(crate) fn finite_mean(values: &[f64]) -> Option<f64> {
    let (sum, count) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / count as f64)
}

/// Greatest common divisor.
pub(crate) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert_eq!(quantile_sorted(&v, 0.875), 4.5);
        assert_eq!(quantile_sorted(&v, 1.0), 5.0);
    }

    #[test]
    fn mean_skips_missing() {
        assert_eq!(finite_mean(&[1.0, f64::NAN, 3.0]), Some(2.0));
        assert_eq!(finite_mean(&[f64::NAN]), None);
    }
}
