//! Typed errors: every rejection names the problem and, where useful, the limit.

use std::fmt;

/// Why a forecast could not be produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ForecastError {
    /// No points were given.
    EmptySeries,
    /// Fewer usable points than the model needs (counted after bucketing onto the grid).
    TooFewPoints { got: usize, min: usize },
    /// More input points than accepted; checked before any allocation.
    TooManyPoints { got: usize, max: usize },
    /// A horizon of zero steps was requested.
    ZeroHorizon,
    /// The horizon exceeds the supported maximum.
    HorizonTooLarge { got: usize, max: usize },
    /// A value is NaN or infinite.
    NonFiniteValue { index: usize },
    /// A timestamp is not strictly greater than its predecessor.
    NonIncreasingTimestamp { index: usize },
    /// A timestamp lies outside the supported range (years 0..=9999).
    TimestampOutOfRange { index: usize },
    /// A configuration field is invalid; the message names it.
    InvalidConfig(&'static str),
}

impl fmt::Display for ForecastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptySeries => write!(f, "series is empty"),
            Self::TooFewPoints { got, min } => {
                write!(f, "too few points: got {got}, need at least {min}")
            }
            Self::TooManyPoints { got, max } => {
                write!(f, "too many points: got {got}, maximum is {max}")
            }
            Self::ZeroHorizon => write!(f, "horizon must be at least 1 step"),
            Self::HorizonTooLarge { got, max } => {
                write!(f, "horizon too large: got {got} steps, maximum is {max}")
            }
            Self::NonFiniteValue { index } => {
                write!(f, "value at index {index} is NaN or infinite")
            }
            Self::NonIncreasingTimestamp { index } => write!(
                f,
                "timestamp at index {index} is not strictly greater than the previous one"
            ),
            Self::TimestampOutOfRange { index } => write!(
                f,
                "timestamp at index {index} is outside the supported range (years 0..=9999)"
            ),
            Self::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
        }
    }
}

impl std::error::Error for ForecastError {}
