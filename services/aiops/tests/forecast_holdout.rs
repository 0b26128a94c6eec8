//! Holdout calibration on synthetic series: interval coverage must be close
//! to nominal and the point forecast must beat seasonal-naive.

mod forecast_support;

use airis_aiops::forecast::{ForecastConfig, forecast};

struct Score {
    points: usize,
    in80: usize,
    in95: usize,
    abs_err: f64,
    abs_err_snaive: f64,
}

/// Cuts `s` at several points, forecasts `h` steps, scores against truth.
fn evaluate(s: &[(i64, f64)], h: usize, season: usize, cuts: &[usize]) -> Score {
    let mut sc = Score {
        points: 0,
        in80: 0,
        in95: 0,
        abs_err: 0.0,
        abs_err_snaive: 0.0,
    };
    for &cut in cuts {
        let f = forecast(&s[..cut], h, &ForecastConfig::default()).unwrap();
        for (i, (p, &(ts, y))) in f.points.iter().zip(&s[cut..cut + h]).enumerate() {
            assert_eq!(p.ts_unix, ts);
            sc.points += 1;
            sc.in80 += usize::from(p.lower80 <= y && y <= p.upper80);
            sc.in95 += usize::from(p.lower95 <= y && y <= p.upper95);
            sc.abs_err += (y - p.value).abs();
            sc.abs_err_snaive += (y - s[cut - season + i % season].1).abs();
        }
    }
    sc
}

fn assert_calibrated(name: &str, sc: &Score) {
    let c80 = sc.in80 as f64 / sc.points as f64;
    let c95 = sc.in95 as f64 / sc.points as f64;
    assert!(
        (0.72..=0.90).contains(&c80),
        "{name}: 80% coverage {c80:.3}"
    );
    assert!(
        (0.90..=0.99).contains(&c95),
        "{name}: 95% coverage {c95:.3}"
    );
}

#[test]
fn daily_sine_is_calibrated_and_beats_seasonal_naive() {
    let s = forecast_support::daily_sine(14, 21);
    let day = forecast_support::DAY;
    let cuts: Vec<usize> = (7..13).map(|d| d * day + 97 * d).collect();
    let sc = evaluate(&s, day, day, &cuts);
    assert_calibrated("daily sine", &sc);
    assert!(
        sc.abs_err < 0.85 * sc.abs_err_snaive,
        "{} vs {}",
        sc.abs_err,
        sc.abs_err_snaive
    );
}

#[test]
fn weekly_pattern_is_calibrated() {
    let s = forecast_support::weekly_pattern(4, 22);
    let day = 288;
    let cuts: Vec<usize> = (15..27).step_by(2).map(|d| d * day).collect();
    let sc = evaluate(&s, day, day, &cuts);
    assert_calibrated("weekly pattern", &sc);
    assert!(sc.abs_err < sc.abs_err_snaive);
}

#[test]
fn white_noise_is_calibrated() {
    let s = forecast_support::noise(6, 23);
    let cuts: Vec<usize> = (0..6).map(|k| 3_000 + k * 1_000).collect();
    let sc = evaluate(&s, 600, 1, &cuts);
    assert_calibrated("white noise", &sc);
}
