//! The load shape over time: a diurnal sinusoid and periodic latency incidents.

use std::time::Duration;

/// Load multiplier at `elapsed`: `1 + amplitude * sin(2π elapsed / period)`,
/// so the mean over a period is 1 and the value stays in
/// `[1 - amplitude, 1 + amplitude]` (`amplitude` is clamped to `[0, 1]`).
pub fn diurnal_factor(elapsed: Duration, period: Duration, amplitude: f64) -> f64 {
    let amplitude = amplitude.clamp(0.0, 1.0);
    if period.is_zero() {
        return 1.0;
    }
    let phase = elapsed.as_secs_f64() / period.as_secs_f64();
    1.0 + amplitude * (std::f64::consts::TAU * phase).sin()
}

/// Whether a latency incident is on: one starts every `every` (the first
/// after one full `every`) and lasts `length`.
pub fn incident_active(elapsed: Duration, every: Duration, length: Duration) -> bool {
    if every.is_zero() || length.is_zero() || elapsed < every {
        return false;
    }
    let into = elapsed.as_nanos() % every.as_nanos();
    into < length.as_nanos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_factor_stays_in_bounds_and_averages_one() {
        let period = Duration::from_secs(600);
        let mut sum = 0.0;
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for s in 0..600 {
            let f = diurnal_factor(Duration::from_secs(s), period, 0.5);
            assert!((0.5 - 1e-9..=1.5 + 1e-9).contains(&f), "{f}");
            lo = lo.min(f);
            hi = hi.max(f);
            sum += f;
        }
        assert!((sum / 600.0 - 1.0).abs() < 1e-6);
        assert!(lo < 0.51 && hi > 1.49, "{lo} {hi}");
        assert_eq!(diurnal_factor(Duration::ZERO, period, 0.5), 1.0);
        // Amplitude is clamped, so the rate never goes negative.
        for s in 0..600 {
            assert!(diurnal_factor(Duration::from_secs(s), period, 3.0) >= 0.0);
        }
        assert_eq!(
            diurnal_factor(Duration::from_secs(5), Duration::ZERO, 0.5),
            1.0
        );
    }

    #[test]
    fn incidents_repeat_with_the_configured_length() {
        let every = Duration::from_secs(180);
        let len = Duration::from_secs(30);
        let on = |s| incident_active(Duration::from_secs(s), every, len);
        assert!(!on(0) && !on(29) && !on(179));
        assert!(on(180) && on(209) && !on(210));
        assert!(on(360) && !on(400));
        let active = (0..1800).filter(|&s| on(s)).count();
        assert_eq!(active, 9 * 30);
    }
}
