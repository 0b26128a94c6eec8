//! Configuration and hard limits.

use super::error::ForecastError;

/// Largest number of input points accepted. Checked first, so a caller sending
/// 10^7 points gets an error instead of an allocation.
pub const MAX_POINTS: usize = 1_000_000;
/// Largest forecast horizon, in steps.
pub const MAX_HORIZON: usize = 10_000;
/// Smallest number of points (raw, and again after bucketing onto the grid).
pub const MIN_POINTS: usize = 10;
/// Timestamps must lie in `[-MAX_ABS_TIMESTAMP, MAX_ABS_TIMESTAMP]`
/// (9999-12-31T23:59:59Z); this keeps all grid arithmetic far from overflow.
pub const MAX_ABS_TIMESTAMP: i64 = 253_402_300_799;

/// One day, in seconds.
pub const DAY_SECS: i64 = 86_400;
/// One week, in seconds.
pub const WEEK_SECS: i64 = 7 * DAY_SECS;

/// Tuning knobs; `Default` suits per-minute to hourly monitoring series.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastConfig {
    /// Grid step in seconds; `None` infers it as the median interval.
    pub step_secs: Option<i64>,
    /// Candidate seasonal periods in seconds, tested on the data.
    /// A period is only considered with at least two full cycles of history;
    /// an empty list disables seasonality.
    pub candidate_periods_secs: Vec<i64>,
    /// Minimum cross-validated seasonal strength (0..1) for a period to be used.
    pub min_seasonal_strength: f64,
    /// Gaps of at most this many missing steps are linearly interpolated; longer
    /// gaps stay missing and the model coasts through them without updating.
    pub max_interpolated_gap: usize,
    /// Only the most recent `max_history` grid steps are used (bounds memory and time).
    pub max_history: usize,
    /// Clamp predictions and bounds at zero. `None`: clamp iff every input value is >= 0.
    pub non_negative: Option<bool>,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            step_secs: None,
            candidate_periods_secs: vec![DAY_SECS, WEEK_SECS],
            min_seasonal_strength: 0.3,
            max_interpolated_gap: 10,
            max_history: 100_000,
            non_negative: None,
        }
    }
}

impl ForecastConfig {
    pub(crate) fn validate(&self) -> Result<(), ForecastError> {
        if matches!(self.step_secs, Some(s) if s <= 0 || s > MAX_ABS_TIMESTAMP) {
            return Err(ForecastError::InvalidConfig(
                "step_secs must be positive and at most MAX_ABS_TIMESTAMP",
            ));
        }
        if self.candidate_periods_secs.iter().any(|&p| p <= 0) {
            return Err(ForecastError::InvalidConfig(
                "candidate_periods_secs must be positive",
            ));
        }
        if !(0.0..=1.0).contains(&self.min_seasonal_strength) {
            return Err(ForecastError::InvalidConfig(
                "min_seasonal_strength must be within 0..=1",
            ));
        }
        if self.max_history < MIN_POINTS {
            return Err(ForecastError::InvalidConfig(
                "max_history must be at least MIN_POINTS",
            ));
        }
        Ok(())
    }
}
