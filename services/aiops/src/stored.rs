//! The stored series a Forecast may name instead of sending points: a
//! per-minute RED series, as continuous detection watches it, or a metric
//! aggregated into one series, as QueryMetrics computes it.

use std::collections::BTreeMap;

use airis_analytics::Limits;
use airis_analytics::metrics::query_metrics;
use airis_analytics::query::{Store, Window};
use airis_analytics::red::{MinuteRed, minute_red};
use airis_proto::airis::aiops::v1 as pb;
use airis_proto::airis::analytics::v1::{Aggregation, MatchOperator, QueryMetricsRequest};
use airis_proto::airis::common::v1::TimeRange;
use airis_runtime::tenant::Tenant;

use crate::FORECAST_MAX_POINTS;
use crate::watch::MINUTE_SECS;
use crate::watch::series::Signal;

/// Longest history a Forecast of a stored series reads, in minutes.
const MAX_HISTORY_MINUTES: u32 = 20_160;
/// History a Forecast of a stored series reads by default: a week.
const DEFAULT_HISTORY_MINUTES: u32 = 10_080;
/// Fewest points a forecast needs.
const MIN_FORECAST_POINTS: usize = 10;
/// A metric series' step when the selector leaves it 0.
const DEFAULT_METRIC_STEP_SECS: u32 = 60;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Checks a metric series as alert rules and anomaly filters name it:
/// a metric name, an aggregation (with its quantile), filters with a key
/// and an operator, and whole minutes (`step_seconds` and
/// `history_minutes` 0). `field` names it in errors.
pub(crate) fn check_metric_selector(
    field: &str,
    metric: &pb::MetricSeriesSelector,
) -> Result<(), crate::Error> {
    let invalid = |message: String| Err(crate::Error::InvalidArgument(message));
    if metric.metric_name.is_empty() {
        return invalid(format!("{field}.metric_name: required"));
    }
    match Aggregation::try_from(metric.aggregation) {
        Ok(Aggregation::Unspecified) | Err(_) => {
            return invalid(format!(
                "{field}.aggregation: {} is not an aggregation",
                metric.aggregation
            ));
        }
        Ok(Aggregation::Quantile) if !(metric.quantile > 0.0 && metric.quantile <= 1.0) => {
            return invalid(format!(
                "{field}.quantile: required for AGGREGATION_QUANTILE, a number in (0, 1]"
            ));
        }
        Ok(_) => {}
    }
    for (i, filter) in metric.filters.iter().enumerate() {
        if filter.key.is_empty() {
            return invalid(format!("{field}.filters[{i}].key: required"));
        }
        if !matches!(
            MatchOperator::try_from(filter.operator),
            Ok(op) if op != MatchOperator::Unspecified
        ) {
            return invalid(format!(
                "{field}.filters[{i}].operator: {} is not an operator",
                filter.operator
            ));
        }
    }
    for (name, value) in [
        ("step_seconds", metric.step_seconds),
        ("history_minutes", metric.history_minutes),
    ] {
        if value != 0 {
            return invalid(format!(
                "{field}.{name}: series are judged a whole minute at a time; leave it 0"
            ));
        }
    }
    Ok(())
}

/// A selector's history in minutes: 0 for the default, refused above the
/// maximum (`field.history_minutes`).
fn history_minutes(field: &str, requested: u32) -> Result<u32, crate::Error> {
    match requested {
        0 => Ok(DEFAULT_HISTORY_MINUTES),
        n if n > MAX_HISTORY_MINUTES => Err(crate::Error::InvalidArgument(format!(
            "{field}.history_minutes: {n} is more than {MAX_HISTORY_MINUTES} (two weeks)"
        ))),
        n => Ok(n),
    }
}

/// `points` when there are enough of them for a forecast.
fn enough(
    field: &str,
    unit: &str,
    minutes: u32,
    points: Vec<pb::Point>,
) -> Result<Vec<pb::Point>, crate::Error> {
    if points.len() < MIN_FORECAST_POINTS {
        return Err(crate::Error::InvalidArgument(format!(
            "{field}: {} {unit} with a value in the last {minutes} minutes; a forecast needs at \
             least {MIN_FORECAST_POINTS}",
            points.len()
        )));
    }
    Ok(points)
}

/// The points of the stored RED series `selector` names, up to the last
/// whole minute before `now` (Unix s): what Forecast's `red_series` reads.
pub(crate) async fn red_series_points(
    store: &Store,
    tenant: &Tenant,
    selector: &pb::RedSeriesSelector,
    now: u32,
) -> Result<Vec<pb::Point>, crate::Error> {
    let invalid = |message: String| crate::Error::InvalidArgument(message);
    if selector.service_name.is_empty() {
        return Err(invalid("red_series.service_name: required".to_owned()));
    }
    let signal = pb::Signal::try_from(selector.signal)
        .ok()
        .and_then(Signal::red_from_proto)
        .ok_or_else(|| {
            invalid(format!(
                "red_series.signal: {} is not a signal of entry spans",
                selector.signal
            ))
        })?;
    let minutes = history_minutes("red_series", selector.history_minutes)?;
    let end = now / MINUTE_SECS * MINUTE_SECS;
    let start = end.saturating_sub(minutes * MINUTE_SECS);
    let rows = minute_red(
        store,
        tenant,
        Window {
            start: u64::from(start) * 1_000_000_000,
            end: u64::from(end) * 1_000_000_000,
        },
        Some(&selector.service_name),
    )
    .await?;
    let by_minute: BTreeMap<u32, &MinuteRed> = rows
        .iter()
        .filter(|row| {
            row.operation == selector.operation && (row.whole == 1) == selector.operation.is_empty()
        })
        .map(|row| (row.minute, row))
        .collect();
    let Some(&first) = by_minute.keys().next() else {
        return Err(airis_analytics::Error::NotFound(format!(
            "red_series: {} {}has no entry spans in the last {minutes} minutes",
            selector.service_name,
            if selector.operation.is_empty() {
                String::new()
            } else {
                format!("operation {:?} ", selector.operation)
            }
        ))
        .into());
    };
    // From the series' first minute on: a minute without requests is a
    // request rate of 0, and no value of the other signals.
    let points: Vec<pb::Point> = (first..end)
        .step_by(MINUTE_SECS as usize)
        .filter_map(|minute| {
            let value = match by_minute.get(&minute) {
                Some(row) => signal.value(row),
                None => (signal == Signal::RequestRate).then_some(0.0),
            }?;
            Some(pb::Point {
                time_unix_nano: u64::from(minute) * 1_000_000_000,
                value,
            })
        })
        .collect();
    enough("red_series", "minutes", minutes, points)
}

/// The points of the metric series `selector` names, one per step up to
/// the last whole step before `now` (Unix s): what Forecast's
/// `metric_series` reads. QueryMetrics' refusals name the selector's field
/// (`metric_series.aggregation: ...`).
pub(crate) async fn metric_series_points(
    store: &Store,
    tenant: &Tenant,
    selector: &pb::MetricSeriesSelector,
    now: u64,
) -> Result<Vec<pb::Point>, crate::Error> {
    let minutes = history_minutes("metric_series", selector.history_minutes)?;
    let step = match selector.step_seconds {
        0 => DEFAULT_METRIC_STEP_SECS,
        n => n,
    };
    let history_secs = u64::from(minutes) * u64::from(MINUTE_SECS);
    let steps = history_secs / u64::from(step);
    if steps == 0 {
        return Err(crate::Error::InvalidArgument(format!(
            "metric_series.step_seconds: {step} s is longer than the history ({minutes} minutes)"
        )));
    }
    if steps > FORECAST_MAX_POINTS as u64 {
        return Err(crate::Error::LimitExceeded(format!(
            "metric_series.step_seconds: {step} s over {minutes} minutes gives {steps} points, \
             more than a forecast takes ({FORECAST_MAX_POINTS})"
        )));
    }
    let end = now / u64::from(step) * u64::from(step);
    let points = metric_points(
        store,
        tenant,
        "metric_series",
        selector,
        (end.saturating_sub(history_secs), end),
        step,
    )
    .await?;
    if points.is_empty() {
        return Err(airis_analytics::Error::NotFound(format!(
            "metric_series: {} has no points matching the filters in the last {minutes} minutes",
            selector.metric_name
        ))
        .into());
    }
    enough("metric_series", "steps", minutes, points)
}

/// The points of one metric series over `[start, end)` (Unix s) at `step`
/// seconds, as QueryMetrics computes them without group_by, finite values
/// only. `field` names the selector in QueryMetrics' refusals
/// (`<field>.aggregation: ...`).
pub(crate) async fn metric_points(
    store: &Store,
    tenant: &Tenant,
    field: &str,
    selector: &pb::MetricSeriesSelector,
    (start, end): (u64, u64),
    step: u32,
) -> Result<Vec<pb::Point>, crate::Error> {
    let request = QueryMetricsRequest {
        metric_name: selector.metric_name.clone(),
        time_range: Some(TimeRange {
            start_unix_nano: start * NANOS_PER_SEC,
            end_unix_nano: end * NANOS_PER_SEC,
        }),
        filters: selector.filters.clone(),
        aggregation: selector.aggregation,
        quantile: selector.quantile,
        group_by: Vec::new(),
        step_seconds: step,
    };
    // The query service's limits, but with a forecast's points and history:
    // two weeks of minutes are more points than a chart needs.
    let limits = Limits {
        max_points: FORECAST_MAX_POINTS as u32,
        max_time_range_secs: store
            .limits()
            .max_time_range_secs
            .max(u64::from(MAX_HISTORY_MINUTES) * u64::from(MINUTE_SECS)),
        ..store.limits().clone()
    };
    let store = Store::new(store.client().clone(), limits);
    let answer = query_metrics(&store, tenant, request)
        .await
        .map_err(|error| match error {
            airis_analytics::Error::InvalidArgument(message) => {
                crate::Error::InvalidArgument(format!("{field}.{message}"))
            }
            airis_analytics::Error::LimitExceeded(message) => {
                crate::Error::LimitExceeded(format!("{field}.{message}"))
            }
            airis_analytics::Error::NotFound(message) => {
                airis_analytics::Error::NotFound(format!("{field}: {message}")).into()
            }
            other => other.into(),
        })?;
    Ok(answer
        .series
        .into_iter()
        .next()
        .map(|series| series.points)
        .unwrap_or_default()
        .into_iter()
        .filter(|point| point.value.is_finite())
        .map(|point| pb::Point {
            time_unix_nano: point.time_unix_nano,
            value: point.value,
        })
        .collect())
}
