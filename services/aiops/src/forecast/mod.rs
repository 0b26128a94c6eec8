//! Forecasting for monitoring series (request/error rates, latency
//! percentiles, gauges, counters) at per-minute to hourly resolution.
//!
//! [`forecast`] infers the series' step, regularises it onto a grid, tests
//! daily and weekly seasonality on the data, fits an additive damped-trend
//! Holt–Winters model (zero, one or two seasonal components) by minimising
//! one-step squared error, and derives 80 % / 95 % prediction intervals from
//! the model's own h-step errors replayed over its history.
//!
//! ```
//! use airis_aiops::forecast::{forecast, ForecastConfig};
//! let points: Vec<(i64, f64)> = (0..500).map(|i| (i * 60, 10.0 + (i % 7) as f64)).collect();
//! let f = forecast(&points, 30, &ForecastConfig::default()).unwrap();
//! assert_eq!(f.step_secs, 60);
//! assert_eq!(f.points.len(), 30);
//! assert_eq!(f.points[0].ts_unix, 500 * 60);
//! ```

pub mod config;
mod error;
mod grid;
mod holt_winters;
mod intervals;
mod optimize;
mod predict;
mod seasonality;
mod stats;

pub use config::{
    DAY_SECS, ForecastConfig, MAX_ABS_TIMESTAMP, MAX_HORIZON, MAX_POINTS, MIN_POINTS, WEEK_SECS,
};
pub use error::ForecastError;
pub use predict::{Forecast, ForecastPoint, forecast};
pub use seasonality::Period;
