//! Online, causal anomaly detection for metric series.
//!
//! One [`Detector`] per series; feed it `(unix seconds, value)` in arrival
//! order with [`Detector::update`] and get a [`Point`] back: a score in
//! [0, 1] comparable across series, the expected value, a normal band and
//! a heuristic [`Kind`]. A point's score depends only on it and the points
//! before it. Work per point and memory per series are bounded constants,
//! and the state is plain data, so it can be stored and resumed.
//!
//! One file per job: `cadence` (the usual interval, gaps), `level`
//! (expected value and band), `record` (surprise beyond a feature's
//! running range), `seasonal` (time-of-day and hour-of-week profiles from
//! the timestamps, counted only where they explain the series), `detector`
//! (features, fusion, suppression after an alarm, kinds), `codec` (the
//! state as bytes), `baseline` (the short-memory median baseline that
//! continuous RED detection adds to the detector).

mod baseline;
mod cadence;
pub(crate) mod codec;
mod config;
mod detector;
mod level;
mod record;
mod seasonal;

pub use baseline::{Baseline, Judgement};
pub use config::DetectorConfig;

/// The score from which a point is reported as an anomaly. The default
/// configuration puts a fused surprise of `score_half` at 0.5; NAB's best
/// single threshold for it lies at about 0.51 (docs/aiops.md).
pub const ANOMALY_THRESHOLD: f64 = 0.5;
pub use detector::{COMPONENTS, Detector, Kind, Point};
