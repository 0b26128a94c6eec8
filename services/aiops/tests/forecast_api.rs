//! Contract tests for the public API: errors, band order, non-negativity,
//! widening, timestamps and gap handling.

mod forecast_support;

use airis_aiops::forecast::{
    DAY_SECS, ForecastConfig, ForecastError, MAX_HORIZON, MAX_POINTS, MIN_POINTS, WEEK_SECS,
    forecast,
};

fn cfg() -> ForecastConfig {
    ForecastConfig::default()
}

fn ramp(n: usize) -> Vec<(i64, f64)> {
    (0..n).map(|i| (1_000 + i as i64 * 60, i as f64)).collect()
}

#[test]
fn error_cases_are_typed_and_named() {
    assert_eq!(forecast(&[], 5, &cfg()), Err(ForecastError::EmptySeries));
    assert_eq!(
        forecast(&ramp(MIN_POINTS - 1), 5, &cfg()),
        Err(ForecastError::TooFewPoints {
            got: MIN_POINTS - 1,
            min: MIN_POINTS
        })
    );
    assert_eq!(
        forecast(&ramp(50), 0, &cfg()),
        Err(ForecastError::ZeroHorizon)
    );
    assert_eq!(
        forecast(&ramp(50), MAX_HORIZON + 1, &cfg()),
        Err(ForecastError::HorizonTooLarge {
            got: MAX_HORIZON + 1,
            max: MAX_HORIZON
        })
    );

    let mut nan = ramp(50);
    nan[7].1 = f64::NAN;
    assert_eq!(
        forecast(&nan, 5, &cfg()),
        Err(ForecastError::NonFiniteValue { index: 7 })
    );
    let mut inf = ramp(50);
    inf[9].1 = f64::NEG_INFINITY;
    assert_eq!(
        forecast(&inf, 5, &cfg()),
        Err(ForecastError::NonFiniteValue { index: 9 })
    );

    let mut dup = ramp(50);
    dup[20].0 = dup[19].0;
    assert_eq!(
        forecast(&dup, 5, &cfg()),
        Err(ForecastError::NonIncreasingTimestamp { index: 20 })
    );
    let mut back = ramp(50);
    back[30].0 -= 600;
    assert_eq!(
        forecast(&back, 5, &cfg()),
        Err(ForecastError::NonIncreasingTimestamp { index: 30 })
    );

    let mut far = ramp(50);
    far[49].0 = i64::MAX;
    assert_eq!(
        forecast(&far, 5, &cfg()),
        Err(ForecastError::TimestampOutOfRange { index: 49 })
    );

    let bad = ForecastConfig {
        step_secs: Some(0),
        ..cfg()
    };
    assert!(matches!(
        forecast(&ramp(50), 5, &bad),
        Err(ForecastError::InvalidConfig(_))
    ));
    let bad = ForecastConfig {
        min_seasonal_strength: 1.5,
        ..cfg()
    };
    assert!(matches!(
        forecast(&ramp(50), 5, &bad),
        Err(ForecastError::InvalidConfig(_))
    ));

    // Messages name the problem and the limit.
    let msg = ForecastError::TooFewPoints {
        got: 3,
        min: MIN_POINTS,
    }
    .to_string();
    assert!(
        msg.contains("too few points") && msg.contains(&MIN_POINTS.to_string()),
        "{msg}"
    );
}

#[test]
fn oversized_input_is_refused_before_any_work() {
    // 10^7 points: must be a clear error, fast, with no big allocation inside.
    let n = 10_000_000;
    let huge: Vec<(i64, f64)> = (0..n).map(|i| (i as i64, 0.0)).collect();
    let t = std::time::Instant::now();
    assert_eq!(
        forecast(&huge, 10, &cfg()),
        Err(ForecastError::TooManyPoints {
            got: n,
            max: MAX_POINTS
        })
    );
    assert!(t.elapsed().as_millis() < 50);
}

#[test]
fn points_start_one_step_after_last_input_and_bands_are_ordered() {
    let s = forecast_support::daily_sine(4, 11);
    let f = forecast(&s, 300, &cfg()).unwrap();
    assert_eq!(f.step_secs, 60);
    assert_eq!(f.points.len(), 300);
    let last = s[s.len() - 1].0;
    for (h, p) in f.points.iter().enumerate() {
        assert_eq!(p.ts_unix, last + 60 * (h as i64 + 1));
        assert!(
            p.lower95 <= p.lower80
                && p.lower80 <= p.value
                && p.value <= p.upper80
                && p.upper80 <= p.upper95,
            "h={h}: {p:?}"
        );
        assert!(
            p.upper95 > p.lower95,
            "noisy series must have a non-empty band"
        );
    }
}

#[test]
fn bands_widen_with_horizon() {
    // A random walk: errors genuinely grow with h.
    let mut r = forecast_support::Rng::new(5);
    let mut v = 0.0;
    let s: Vec<(i64, f64)> = (0..5_000)
        .map(|i| {
            v += r.normal();
            (i * 300, v)
        })
        .collect();
    let f = forecast(&s, 500, &cfg()).unwrap();
    let width = |i: usize| f.points[i].upper95 - f.points[i].lower95;
    for i in 1..f.points.len() {
        assert!(width(i) >= width(i - 1), "narrowed at h={}", i + 1);
        let w80 = |i: usize| f.points[i].upper80 - f.points[i].lower80;
        assert!(w80(i) >= w80(i - 1));
    }
    assert!(
        width(499) > 3.0 * width(0),
        "{} vs {}",
        width(499),
        width(0)
    );
}

#[test]
fn non_negative_history_gives_non_negative_forecasts() {
    // Sparse error counts falling towards zero, plus a counter that resets.
    let mut r = forecast_support::Rng::new(9);
    let errors: Vec<(i64, f64)> = (0..3_000)
        .map(|i| {
            let burst = if r.uniform() < 0.05 {
                20.0 * r.uniform()
            } else {
                0.0
            };
            (i * 60, (burst - i as f64 * 0.001).max(0.0))
        })
        .collect();
    for s in [errors, forecast_support::counter_with_resets(3, 2)] {
        let f = forecast(&s, 2_000, &cfg()).unwrap();
        assert!(
            f.points.iter().all(|p| p.lower95 >= 0.0 && p.value >= 0.0),
            "{:?}",
            f.method
        );
    }
    // Same decline with a negative value in history: no clamping.
    let s: Vec<(i64, f64)> = (0..500).map(|i| (i * 60, 10.0 - i as f64 * 0.05)).collect();
    let f = forecast(&s, 500, &cfg()).unwrap();
    assert!(f.points.last().unwrap().value < 0.0);
}

#[test]
fn constant_series_forecasts_the_constant_with_zero_width() {
    let f = forecast(&forecast_support::constant(3), 100, &cfg()).unwrap();
    assert!(f.seasonality.is_empty());
    for p in &f.points {
        assert!((p.value - 42.0).abs() < 1e-9 && p.lower95 == p.value && p.upper95 == p.value);
    }
}

#[test]
fn reports_seasonality_found() {
    let daily = forecast(&forecast_support::daily_sine(14, 1), 10, &cfg()).unwrap();
    let secs: Vec<i64> = daily.seasonality.iter().map(|p| p.secs).collect();
    assert_eq!(secs, vec![DAY_SECS]);
    assert_eq!(daily.method, "holt-winters");

    let weekly = forecast(&forecast_support::weekly_pattern(3, 1), 10, &cfg()).unwrap();
    let secs: Vec<i64> = weekly.seasonality.iter().map(|p| p.secs).collect();
    assert_eq!(secs, vec![DAY_SECS, WEEK_SECS]);
    assert_eq!(weekly.method, "holt-winters-double-seasonal");

    let noise = forecast(&forecast_support::noise(14, 1), 10, &cfg()).unwrap();
    assert!(noise.seasonality.is_empty(), "{:?}", noise.seasonality);
    assert_eq!(noise.method, "damped-holt");
}

#[test]
fn short_series_uses_plain_fallback() {
    let s: Vec<(i64, f64)> = (0..MIN_POINTS)
        .map(|i| (i as i64 * 3600, 5.0 + i as f64 % 3.0))
        .collect();
    let f = forecast(&s, 24, &cfg()).unwrap();
    assert_eq!(f.method, "damped-holt");
    assert_eq!(f.step_secs, 3600);
    assert!(
        f.points
            .iter()
            .all(|p| p.value.is_finite() && p.upper95 > p.lower95)
    );
}

#[test]
fn gaps_small_and_large_do_not_break_forecasting() {
    let mut s = forecast_support::daily_sine(10, 3);
    // A 5-minute gap (interpolated), a 6-hour outage (coasted through),
    // and a few late samples (jitter).
    s.drain(3_000..3_005);
    let outage = s[0].0 + 5 * 86_400..s[0].0 + 5 * 86_400 + 6 * 3_600;
    s.retain(|(ts, _)| !outage.contains(ts));
    for (i, p) in s.iter_mut().enumerate() {
        if i % 5 == 0 {
            p.0 += 3;
        }
    }
    let f = forecast(&s, 1_440, &cfg()).unwrap();
    assert_eq!(f.step_secs, 60);
    assert_eq!(f.seasonality.len(), 1);
    assert!(
        f.points
            .iter()
            .all(|p| p.value.is_finite() && p.lower95.is_finite())
    );
    // Still tracks the daily sine: peak near the same phase as in history.
    let mae: f64 = f
        .points
        .iter()
        .map(|p| {
            let phase = (p.ts_unix - s[0].0) as f64 / 86_400.0;
            (p.value - (100.0 + 20.0 * (std::f64::consts::TAU * phase).sin())).abs()
        })
        .sum::<f64>()
        / 1_440.0;
    assert!(mae < 3.0, "mae {mae}");
}

#[test]
fn history_beyond_max_history_is_ignored_not_fatal() {
    // A year-long gap between an old burst of points and the recent series.
    let mut s: Vec<(i64, f64)> = (0..100).map(|i| (i * 60, 1e6)).collect();
    let start = 366 * 86_400;
    s.extend((0..2_000).map(|i| (start + i * 60, 10.0)));
    let f = forecast(&s, 60, &cfg()).unwrap();
    assert!((f.points[0].value - 10.0).abs() < 1e-6, "{:?}", f.points[0]);
}

#[test]
fn configured_step_overrides_inference() {
    let s = ramp(200);
    let f = forecast(
        &s,
        3,
        &ForecastConfig {
            step_secs: Some(120),
            ..cfg()
        },
    )
    .unwrap();
    assert_eq!(f.step_secs, 120);
    assert_eq!(f.points[0].ts_unix, s[199].0 + 120);
}
