//! Seasonality detection on real NAB series (testdata/nab, MIT licence).

mod forecast_support;

use airis_aiops::forecast::{DAY_SECS, ForecastConfig, WEEK_SECS, forecast};
use std::path::PathBuf;

fn load(rel: &str) -> Vec<(i64, f64)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/nab")
        .join(rel);
    forecast_support::read_nab(&path)
}

fn periods(rel: &str) -> Vec<i64> {
    let s = load(rel);
    let f = forecast(&s, 48, &ForecastConfig::default()).unwrap();
    f.seasonality.iter().map(|p| p.secs).collect()
}

#[test]
fn nyc_taxi_is_daily_and_weekly() {
    assert_eq!(
        periods("realKnownCause/nyc_taxi.csv"),
        vec![DAY_SECS, WEEK_SECS]
    );
}

#[test]
fn artificial_noise_and_flatline_have_none() {
    for rel in [
        "artificialNoAnomaly/art_noisy.csv",
        "artificialNoAnomaly/art_flatline.csv",
    ] {
        let p = periods(rel);
        assert!(p.is_empty(), "{rel}: {p:?}");
    }
}

#[test]
fn artificial_daily_is_daily_only() {
    assert_eq!(
        periods("artificialNoAnomaly/art_daily_small_noise.csv"),
        vec![DAY_SECS]
    );
}
