//! QueryMetrics: one metric as time series, filtered, aggregated per time
//! bucket and grouped by labels.
//!
//! The metric is looked up for the caller's tenant in the time range in the
//! gauge, sum, histogram, exponential histogram and summary tables (the
//! first that has points wins); NOT_FOUND when none has. Label filters and
//! `group_by` read the point attributes (`Attributes`). Buckets start at
//! multiples of the step since the Unix epoch (`toStartOfInterval`
//! alignment); a point belongs to the bucket holding its `TimeUnix`. Buckets
//! without data have no point (absent, not 0). A series' labels hold its
//! `group_by` keys, except those the points do not have (empty values).
//!
//! A *series* (for RATE and QUANTILE) is one `(ServiceName,
//! ResourceAttributes, Attributes)` combination.
//!
//! Aggregations:
//! - SUM / AVG / MIN / MAX (gauges and sums): of the raw `Value` of every
//!   point of the group in the bucket.
//! - RATE (monotonic sums only): per series, the increase of each point
//!   over the series' previous point in the time range: `v - prev`, or `v`
//!   itself after a counter reset (the value dropped, or `StartTimeUnix`
//!   moved forward); a delta-temporality point's increase is its value. The
//!   increases of all series of the group whose (later) point falls in the
//!   bucket are summed and divided by the step: the group's per-second
//!   increase in that bucket. A point's predecessor may lie up to
//!   `max(5 min, step)` before the time range; a series' first point
//!   without a predecessor is its baseline and adds nothing.
//! - QUANTILE (histograms only): per series the bucket counts observed in
//!   the bucket: delta points as they are; cumulative points as the
//!   difference to the series' previous point (a reset — `Count` or any
//!   bucket dropped, or `StartTimeUnix` moved forward — counts the new
//!   point whole; predecessors are found as for RATE, and a series' first
//!   point without one is its baseline). The counts
//!   of the group are summed bucket by bucket (`sumForEach`) among points
//!   with identical `ExplicitBounds`; when a group has several bound sets
//!   in one bucket, the one with the most observations is used. The
//!   quantile is then interpolated linearly inside the histogram bucket
//!   holding rank `q × total` (as Prometheus' `histogram_quantile`: the
//!   first bucket's lower bound is 0 when its upper bound is positive, and
//!   a rank in the overflow bucket gives the highest finite bound). Buckets
//!   without observations have no point.

use std::collections::{BTreeMap, HashMap};

use airis_proto::airis::analytics::v1::{
    Aggregation, LabelFilter, MetricPoint, MetricSeries, QueryMetricsRequest, QueryMetricsResponse,
};
use airis_runtime::tenant::Tenant;

use airis_store::tables::{
    METRICS_EXP_HISTOGRAM, METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, METRICS_SUMMARY,
};

use crate::{
    Error,
    query::{self, Bind, RequestWindow as _, Sql, Store, Window},
};

/// How far before the time range RATE and QUANTILE look for the point
/// preceding a series' first point in the range (at least one step).
const LOOKBACK_NANOS: u64 = 5 * 60 * 1_000_000_000;

/// Points per series when the request leaves the step 0.
const TARGET_POINTS: u32 = 60;

/// Metric kinds in lookup order, with their tables.
const KINDS: [(&str, &str); 5] = [
    ("gauge", METRICS_GAUGE),
    ("sum", METRICS_SUM),
    ("histogram", METRICS_HISTOGRAM),
    ("exponential_histogram", METRICS_EXP_HISTOGRAM),
    ("summary", METRICS_SUMMARY),
];

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct KindRow {
    kind: String,
    n: u64,
    unit: String,
    monotonic: u8,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct ValueRow {
    g: Vec<String>,
    bucket: i64,
    value: f64,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct HistogramRow {
    g: Vec<String>,
    bucket: i64,
    bounds: Vec<f64>,
    counts: Vec<u64>,
}

pub async fn query_metrics(
    store: &Store,
    tenant: &Tenant,
    request: QueryMetricsRequest,
) -> Result<QueryMetricsResponse, Error> {
    let limits = store.limits();
    if request.metric_name.is_empty() {
        return Err(Error::InvalidArgument("metric_name: required".to_owned()));
    }
    let window = Window::from_proto("time_range", request.time_range.as_ref(), limits)?;
    let aggregation: Aggregation = query::known_enum("aggregation", request.aggregation)?;
    if aggregation == Aggregation::Unspecified {
        return Err(Error::InvalidArgument("aggregation: required".to_owned()));
    }
    let q = request.quantile;
    if aggregation == Aggregation::Quantile && !(0.0..=1.0).contains(&q) {
        return Err(Error::InvalidArgument(format!(
            "quantile: {q} is not in [0, 1]"
        )));
    }
    for (i, key) in request.group_by.iter().enumerate() {
        if key.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "group_by[{i}]: empty label name"
            )));
        }
    }
    let step = window.step_secs("step_seconds", request.step_seconds, TARGET_POINTS, limits)?;
    // The points of the metric for this tenant in the window, filtered.
    let mut base = Sql::default();
    base.tenant(tenant)
        .push_bind(" AND MetricName = ?", request.metric_name.as_str())
        .push(" AND ");
    window.sql(&mut base, "TimeUnix");
    let mut filtered = base.clone();
    for (i, filter) in request.filters.iter().enumerate() {
        push_filter(&mut filtered, i, filter)?;
    }
    // The same, reaching back LOOKBACK (at least a step) before the window:
    // RATE and QUANTILE take each point's predecessor from there.
    let lookback = Window {
        start: window
            .start
            .saturating_sub(LOOKBACK_NANOS.max(u64::from(step) * 1_000_000_000)),
        end: window.end,
    };
    let mut with_lookback = Sql::default();
    with_lookback
        .tenant(tenant)
        .push_bind(" AND MetricName = ?", request.metric_name.as_str())
        .push(" AND ");
    lookback.sql(&mut with_lookback, "TimeUnix");
    for (i, filter) in request.filters.iter().enumerate() {
        push_filter(&mut with_lookback, i, filter)?;
    }
    let in_window = Bind::I64(window.start as i64);

    // Which kind of metric it is.
    let mut lookup = Sql::default();
    for (i, (kind, table)) in KINDS.iter().enumerate() {
        if i > 0 {
            lookup.push(" UNION ALL ");
        }
        let monotonic = if *kind == "sum" {
            "toUInt8(min(IsMonotonic))"
        } else {
            "toUInt8(0)"
        };
        lookup.push(&format!(
            "SELECT '{kind}' AS kind, count() AS n, any(MetricUnit) AS unit, {monotonic} AS monotonic \
             FROM {table} WHERE "
        ));
        lookup.extend(&base);
    }
    let found: Vec<KindRow> = store.query(&lookup).fetch_all().await?;
    let Some(found) = KINDS
        .iter()
        .find_map(|(kind, _)| found.iter().find(|r| r.kind == *kind && r.n > 0))
    else {
        return Err(Error::NotFound(format!(
            "metric_name: no data for metric {:?} in the time range",
            request.metric_name
        )));
    };
    let kind = found.kind.as_str();
    let unsupported = |why: &str| {
        Error::InvalidArgument(format!(
            "aggregation: {} not supported for {kind} metric {:?}{why}",
            aggregation.as_str_name(),
            request.metric_name
        ))
    };
    let step_nanos = i64::from(step) * 1_000_000_000;
    let group = Bind::Strs(request.group_by.clone());
    let series_binds = |sql: &mut Sql| {
        sql.push_binds(
            "arrayMap(k -> Attributes[k], CAST(? AS Array(String))) AS g, \
             intDiv(toUnixTimestamp64Nano(TimeUnix), ?) * ? AS bucket",
            [group.clone(), Bind::I64(step_nanos), Bind::I64(step_nanos)],
        );
    };
    let series_key = "ServiceName, cityHash64(ResourceAttributes), cityHash64(Attributes)";

    let series = match (kind, aggregation) {
        (
            "gauge" | "sum",
            Aggregation::Sum | Aggregation::Avg | Aggregation::Min | Aggregation::Max,
        ) => {
            let function = match aggregation {
                Aggregation::Sum => "sum",
                Aggregation::Avg => "avg",
                Aggregation::Min => "min",
                _ => "max",
            };
            let table = if kind == "gauge" {
                METRICS_GAUGE
            } else {
                METRICS_SUM
            };
            let mut sql = Sql::new("SELECT ");
            series_binds(&mut sql);
            sql.push(&format!(
                ", toFloat64({function}(Value)) AS value FROM {table} WHERE "
            ));
            sql.extend(&filtered);
            sql.push(" GROUP BY g, bucket ORDER BY g, bucket");
            value_series(store, &sql, &request.group_by).await?
        }
        ("sum", Aggregation::Rate) => {
            if found.monotonic == 0 {
                return Err(unsupported(" (RATE needs a monotonic sum)"));
            }
            let mut sql = Sql::new("SELECT g, bucket, sum(inc) / ");
            sql.push_bind("? AS value FROM (SELECT ", f64::from(step));
            series_binds(&mut sql);
            sql.push(&format!(
                ", if(AggregationTemporality = 1, Value, \
                 if(rn = 1, nan, \
                 if(Value < prev_value OR (toUnixTimestamp64Nano(StartTimeUnix) > prev_start \
                 AND prev_start > 0), \
                 Value, Value - prev_value))) AS inc \
                 FROM (SELECT *, \
                 row_number() OVER w AS rn, \
                 lagInFrame(Value) OVER w AS prev_value, \
                 lagInFrame(toUnixTimestamp64Nano(StartTimeUnix)) OVER w AS prev_start \
                 FROM {METRICS_SUM} WHERE ",
            ));
            sql.extend(&with_lookback);
            sql.push(&format!(
                " WINDOW w AS (PARTITION BY {series_key} ORDER BY TimeUnix \
                 ROWS BETWEEN 1 PRECEDING AND CURRENT ROW))"
            ));
            sql.push_bind(" WHERE TimeUnix >= fromUnixTimestamp64Nano(?))", in_window);
            sql.push(" WHERE NOT isNaN(inc) GROUP BY g, bucket ORDER BY g, bucket");
            value_series(store, &sql, &request.group_by).await?
        }
        ("histogram", Aggregation::Quantile) => {
            let mut sql =
                Sql::new("SELECT g, bucket, bounds, sumForEach(delta) AS counts FROM (SELECT ");
            series_binds(&mut sql);
            sql.push(&format!(
                ", ExplicitBounds AS bounds, \
                 if(AggregationTemporality = 1 OR (rn > 1 AND (Count < prev_count \
                 OR arrayExists((c, p) -> c < p, BucketCounts, arrayResize(prev_counts, length(BucketCounts))) \
                 OR (toUnixTimestamp64Nano(StartTimeUnix) > prev_start AND prev_start > 0))), \
                 BucketCounts, \
                 arrayMap((c, p) -> toUInt64(c - least(c, p)), BucketCounts, \
                 arrayResize(prev_counts, length(BucketCounts)))) AS delta, \
                 (AggregationTemporality = 1 OR rn > 1) AS counted \
                 FROM (SELECT *, \
                 row_number() OVER w AS rn, \
                 lagInFrame(BucketCounts) OVER w AS prev_counts, \
                 lagInFrame(Count) OVER w AS prev_count, \
                 lagInFrame(toUnixTimestamp64Nano(StartTimeUnix)) OVER w AS prev_start \
                 FROM {METRICS_HISTOGRAM} WHERE "
            ));
            sql.extend(&with_lookback);
            sql.push(&format!(
                " WINDOW w AS (PARTITION BY {series_key}, cityHash64(ExplicitBounds) \
                 ORDER BY TimeUnix ROWS BETWEEN 1 PRECEDING AND CURRENT ROW))"
            ));
            sql.push_bind(" WHERE TimeUnix >= fromUnixTimestamp64Nano(?))", in_window);
            sql.push(" WHERE counted GROUP BY g, bucket, bounds ORDER BY g, bucket, bounds");
            histogram_series(store, &sql, &request.group_by, q).await?
        }
        (_, Aggregation::Rate) => return Err(unsupported(" (RATE needs a monotonic sum)")),
        (_, Aggregation::Quantile) => return Err(unsupported(" (QUANTILE needs a histogram)")),
        _ => return Err(unsupported("")),
    };
    Ok(QueryMetricsResponse {
        series,
        unit: found.unit.clone(),
        step_seconds: step,
    })
}

fn too_many_series(limit: u32) -> Error {
    Error::LimitExceeded(format!(
        "group_by: more than analytics.limits.max_series ({limit}) series; \
         narrow the filters or group by fewer labels"
    ))
}

fn labels(keys: &[String], values: Vec<String>) -> HashMap<String, String> {
    keys.iter()
        .cloned()
        .zip(values)
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Reads `(g, bucket, value)` rows ordered by group into series, refusing
/// more than `max_series` groups.
async fn value_series(
    store: &Store,
    sql: &Sql,
    keys: &[String],
) -> Result<Vec<MetricSeries>, Error> {
    let max = store.limits().max_series;
    let mut cursor = store.query(sql).fetch::<ValueRow>()?;
    let mut out: Vec<(Vec<String>, MetricSeries)> = Vec::new();
    while let Some(row) = cursor.next().await? {
        if out.last().is_none_or(|(g, _)| *g != row.g) {
            if out.len() >= max as usize {
                return Err(too_many_series(max));
            }
            out.push((
                row.g.clone(),
                MetricSeries {
                    labels: labels(keys, row.g.clone()),
                    points: Vec::new(),
                },
            ));
        }
        if let Some((_, series)) = out.last_mut() {
            series.points.push(MetricPoint {
                time_unix_nano: row.bucket as u64,
                value: row.value,
            });
        }
    }
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

/// Observations, bounds and counts of a merged histogram.
type Merged = (u64, Vec<f64>, Vec<u64>);

/// Reads merged histogram rows into quantile series.
async fn histogram_series(
    store: &Store,
    sql: &Sql,
    keys: &[String],
    q: f64,
) -> Result<Vec<MetricSeries>, Error> {
    let max = store.limits().max_series;
    let mut cursor = store.query(sql).fetch::<HistogramRow>()?;
    // group -> bucket -> (observations, bounds, counts) of the bound set
    // with the most observations.
    let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, Merged>> = BTreeMap::new();
    while let Some(row) = cursor.next().await? {
        if !groups.contains_key(&row.g) && groups.len() >= max as usize {
            return Err(too_many_series(max));
        }
        let total: u64 = row.counts.iter().sum();
        let buckets = groups.entry(row.g).or_default();
        match buckets.get(&row.bucket) {
            Some((seen, _, _)) if *seen >= total => {}
            _ => {
                buckets.insert(row.bucket, (total, row.bounds, row.counts));
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|(g, buckets)| MetricSeries {
            labels: labels(keys, g),
            points: buckets
                .into_iter()
                .filter_map(|(bucket, (_, bounds, counts))| {
                    Some(MetricPoint {
                        time_unix_nano: bucket as u64,
                        value: histogram_quantile(q, &bounds, &counts)?,
                    })
                })
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect())
}

/// The `q` quantile of a histogram with `bounds` (upper bounds, inclusive)
/// and `counts` (one more than `bounds`: the last is the overflow bucket),
/// interpolated linearly within the bucket holding rank `q × total`.
/// `None` without observations or without finite bounds.
pub fn histogram_quantile(q: f64, bounds: &[f64], counts: &[u64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 || bounds.is_empty() {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        if (below + count) as f64 >= rank {
            if i >= bounds.len() {
                return bounds.last().copied();
            }
            let upper = bounds[i];
            let lower = if i == 0 {
                if upper <= 0.0 {
                    return Some(upper);
                }
                0.0
            } else {
                bounds[i - 1]
            };
            return Some(lower + (upper - lower) * (rank - below as f64) / count as f64);
        }
        below += count;
    }
    bounds.last().copied()
}

/// Appends ` AND ...` for one label filter on `Attributes`.
fn push_filter(sql: &mut Sql, i: usize, filter: &LabelFilter) -> Result<(), Error> {
    query::push_map_match(
        sql,
        &format!("filters[{i}]"),
        "Attributes",
        &filter.key,
        filter.operator,
        &filter.value,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        // Buckets: (-inf,1] 0, (1,2] 10, (2,4] 10, (4,inf) 0.
        let bounds = [1.0, 2.0, 4.0];
        let counts = [0, 10, 10, 0];
        assert_eq!(histogram_quantile(0.5, &bounds, &counts), Some(2.0));
        assert_eq!(histogram_quantile(0.25, &bounds, &counts), Some(1.5));
        assert_eq!(histogram_quantile(0.75, &bounds, &counts), Some(3.0));
        assert_eq!(histogram_quantile(1.0, &bounds, &counts), Some(4.0));
        assert_eq!(histogram_quantile(0.0, &bounds, &counts), Some(1.0));
        // First bucket from 0; overflow gives the last finite bound.
        assert_eq!(histogram_quantile(0.5, &[10.0], &[4, 0]), Some(5.0));
        assert_eq!(histogram_quantile(0.9, &[10.0], &[1, 9]), Some(10.0));
        assert_eq!(
            histogram_quantile(0.5, &[-1.0, 0.0], &[2, 0, 0]),
            Some(-1.0)
        );
        assert_eq!(histogram_quantile(0.5, &bounds, &[0, 0, 0, 0]), None);
        assert_eq!(histogram_quantile(0.5, &[], &[3]), None);
    }
}
