//! The public entry point: validation → grid → seasonality → model → bands.

use super::config::{ForecastConfig, MIN_POINTS};
use super::error::ForecastError;
use super::grid;
use super::holt_winters::HoltWinters;
use super::intervals::empirical_bands;
use super::seasonality::{Period, detect};

/// One predicted step with its 80 % and 95 % prediction intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPoint {
    pub ts_unix: i64,
    pub value: f64,
    pub lower80: f64,
    pub upper80: f64,
    pub lower95: f64,
    pub upper95: f64,
}

/// The result of [`forecast`].
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Grid step used (inferred or configured), seconds.
    pub step_secs: i64,
    /// Seasonal periods found in the data and used by the model, shortest first.
    pub seasonality: Vec<Period>,
    /// `horizon` points, the first one step after the last input timestamp.
    pub points: Vec<ForecastPoint>,
    /// Model used: `"damped-holt"`, `"holt-winters"` or `"holt-winters-double-seasonal"`.
    pub method: &'static str,
}

/// Forecasts `horizon` steps after the last point.
///
/// `points` are `(unix seconds, value)` with strictly increasing timestamps.
/// The step is the median interval unless configured; points are averaged
/// onto that grid, short gaps interpolated, long gaps left missing.
/// See [`ForecastError`] and the limits in [`super::config`] for rejections.
pub fn forecast(
    points: &[(i64, f64)],
    horizon: usize,
    cfg: &ForecastConfig,
) -> Result<Forecast, ForecastError> {
    grid::validate(points, horizon)?;
    cfg.validate()?;
    let step = cfg.step_secs.unwrap_or_else(|| grid::infer_step(points));
    let grid = grid::build(points, step, cfg.max_history, cfg.max_interpolated_gap);
    let present = grid.present();
    if present < MIN_POINTS {
        return Err(ForecastError::TooFewPoints {
            got: present,
            min: MIN_POINTS,
        });
    }

    let seasonality = detect(
        &grid.values,
        step,
        &cfg.candidate_periods_secs,
        cfg.min_seasonal_strength,
    );
    let periods: Vec<usize> = seasonality.iter().map(|p| p.steps).collect();
    let fitted = HoltWinters::new(&grid.values, &periods).fit();
    let bands = empirical_bands(&fitted, horizon);

    let non_negative = cfg
        .non_negative
        .unwrap_or_else(|| points.iter().all(|&(_, v)| v >= 0.0));
    let floor = if non_negative { 0.0 } else { f64::NEG_INFINITY };
    let origin = fitted.last();
    let points = (1..=horizon)
        .map(|h| {
            let value = fitted.predict(origin, h);
            let i = h - 1;
            // max() is monotone, so clamping keeps the band order.
            ForecastPoint {
                ts_unix: grid.last_ts + h as i64 * step,
                value: value.max(floor),
                lower80: (value + bands.lower80[i]).max(floor),
                upper80: (value + bands.upper80[i]).max(floor),
                lower95: (value + bands.lower95[i]).max(floor),
                upper95: (value + bands.upper95[i]).max(floor),
            }
        })
        .collect();

    let method = match periods.len() {
        0 => "damped-holt",
        1 => "holt-winters",
        _ => "holt-winters-double-seasonal",
    };
    Ok(Forecast {
        step_secs: step,
        seasonality,
        points,
        method,
    })
}
