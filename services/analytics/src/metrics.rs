//! QueryMetrics: one metric as time series, filtered, aggregated per time
//! bucket and grouped by labels; ListMetrics: the metrics a tenant sends.
//!
//! QueryMetrics runs as plan → scan → series → response: the request is
//! checked into a [`Plan`]; one statement finds the metric's kind, unit and
//! monotonicity; one statement aggregates its points; the rows become at
//! most `max_series` series.
//!
//! - The metric is looked up for the caller's tenant in the time range in
//!   the gauge, sum, histogram, exponential histogram and summary tables
//!   (the first that has points wins); NOT_FOUND when none has.
//! - Labels: a key names a data point attribute (`Attributes`) or, when the
//!   point has none of that name, a resource attribute
//!   (`ResourceAttributes`, which holds `service.name`). Filters and
//!   `group_by` read both. A series' labels hold its `group_by` keys, except
//!   those the points do not have (empty values).
//! - Buckets start at multiples of the step since the Unix epoch
//!   (`toStartOfInterval` alignment); a point belongs to the bucket holding
//!   its `TimeUnix`. Buckets without data have no point (absent, not 0).
//! - A *series* is one `(ServiceName, ResourceAttributes, Attributes)`
//!   combination (plus `ExplicitBounds` for histograms).
//!
//! Aggregations:
//! - Gauges, SUM / AVG / MIN / MAX: of the raw `Value` of every point of the
//!   group in the bucket.
//! - Sums, every aggregation: what the series counted, whatever the
//!   temporality. Each point's increase is its value for delta temporality;
//!   for cumulative temporality its value minus the series' previous
//!   point's, or its value whole after a reset (`StartTimeUnix` moved
//!   forward or, for monotonic sums, the value dropped) and for a series'
//!   first point when the series started inside the time range; a first
//!   point of a series that started before the range is its baseline and
//!   adds nothing. A point's predecessor may lie up to `max(5 min, step)`
//!   before the time range. Per series the increases in the bucket are
//!   added; SUM adds the group's series, AVG / MIN / MAX take their mean /
//!   least / greatest, RATE (monotonic only) is SUM divided by the step.
//! - QUANTILE (histograms only): per series the bucket counts observed in
//!   the bucket, found as for sums (a reset — `Count` or any bucket dropped,
//!   or `StartTimeUnix` moved forward — counts the new point whole). The
//!   counts of the group are summed bucket by bucket (`sumForEach`) among
//!   points with identical `ExplicitBounds`; when a group has several bound
//!   sets in one bucket, the one with the most observations is used. The
//!   quantile is then interpolated linearly inside the histogram bucket
//!   holding rank `q × total` (as Prometheus' `histogram_quantile`: the
//!   first bucket's lower bound is 0 when its upper bound is positive, and
//!   a rank in the overflow bucket gives the highest finite bound). Buckets
//!   without observations have no point.
//!
//! ListMetrics reads every metric table in the time range, one row per
//! name and kind with the latest unit and description and the sorted
//! services, keyset-paged on `(name, kind)`.

use std::collections::{BTreeMap, HashMap};

use airis_proto::airis::analytics::v1::{
    Aggregation, LabelFilter, ListMetricsRequest, ListMetricsResponse, MetricDescriptor,
    MetricPoint, MetricSeries, MetricType, QueryMetricsRequest, QueryMetricsResponse,
};
use airis_runtime::tenant::Tenant;

use airis_store::tables::{
    METRICS_EXP_HISTOGRAM, METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, METRICS_SUMMARY,
};

use crate::{
    Error,
    page::{Fields, Page, PageKey},
    query::{self, Bind, Limits, RequestWindow as _, Sql, Store, Window},
};

/// How far before the time range sums and histograms look for the point
/// preceding a series' first point in the range (at least one step).
const LOOKBACK_NANOS: u64 = 5 * 60 * 1_000_000_000;

/// Points per series when the request leaves the step 0.
const TARGET_POINTS: u32 = 60;

/// A point's labels: its attributes over its resource's.
const LABELS: &str = "mapUpdate(ResourceAttributes, Attributes)";

/// One series of a metric.
const SERIES: &str = "ServiceName, cityHash64(ResourceAttributes), cityHash64(Attributes)";

/// `AggregationTemporality` of delta points (OTLP's enum value).
const DELTA: i64 = 1;

// === metric kinds ===

/// The kinds of metric, in lookup order, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Gauge,
        Kind::Sum,
        Kind::Histogram,
        Kind::ExponentialHistogram,
        Kind::Summary,
    ];

    fn table(self) -> &'static str {
        match self {
            Kind::Gauge => METRICS_GAUGE,
            Kind::Sum => METRICS_SUM,
            Kind::Histogram => METRICS_HISTOGRAM,
            Kind::ExponentialHistogram => METRICS_EXP_HISTOGRAM,
            Kind::Summary => METRICS_SUMMARY,
        }
    }

    /// The name in error messages.
    fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Sum => "sum",
            Kind::Histogram => "histogram",
            Kind::ExponentialHistogram => "exponential_histogram",
            Kind::Summary => "summary",
        }
    }

    fn metric_type(self) -> MetricType {
        match self {
            Kind::Gauge => MetricType::Gauge,
            Kind::Sum => MetricType::Sum,
            Kind::Histogram => MetricType::Histogram,
            Kind::ExponentialHistogram => MetricType::ExponentialHistogram,
            Kind::Summary => MetricType::Summary,
        }
    }

    fn from_metric_type(number: u8) -> Option<Self> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.metric_type() as i32 == i32::from(number))
    }

    /// `1` when every point is monotonic (sums), else `0`, as a UInt8.
    fn monotonic_sql(self) -> &'static str {
        match self {
            Kind::Sum => "toUInt8(min(IsMonotonic))",
            _ => "toUInt8(0)",
        }
    }
}

// === QueryMetrics ===

pub async fn query_metrics(
    store: &Store,
    tenant: &Tenant,
    request: QueryMetricsRequest,
) -> Result<QueryMetricsResponse, Error> {
    let plan = Plan::new(tenant, &request, store.limits())?;
    let metric = find(store, &plan).await?;
    let series = match plan.scan(&metric)? {
        Scan::Values(sql) => value_series(store, &sql, plan.group_by).await?,
        Scan::Histograms(sql) => {
            histogram_series(store, &sql, plan.group_by, plan.quantile).await?
        }
    };
    Ok(QueryMetricsResponse {
        series,
        unit: metric.unit,
        step_seconds: plan.step,
    })
}

// === plan ===

/// A validated QueryMetrics request.
struct Plan<'a> {
    tenant: &'a Tenant,
    metric_name: &'a str,
    window: Window,
    /// The window reaching `max(LOOKBACK, step)` further back, where sums
    /// and histograms find the predecessors of their first points.
    lookback: Window,
    aggregation: Aggregation,
    /// In (0, 1], for QUANTILE.
    quantile: f64,
    group_by: &'a [String],
    step: u32,
    /// ` AND ...` for every label filter.
    filters: Sql,
}

impl<'a> Plan<'a> {
    fn new(
        tenant: &'a Tenant,
        request: &'a QueryMetricsRequest,
        limits: &Limits,
    ) -> Result<Self, Error> {
        if request.metric_name.is_empty() {
            return Err(Error::InvalidArgument("metric_name: required".to_owned()));
        }
        let window = Window::from_proto("time_range", request.time_range.as_ref(), limits)?;
        let aggregation: Aggregation = query::known_enum("aggregation", request.aggregation)?;
        if aggregation == Aggregation::Unspecified {
            return Err(Error::InvalidArgument("aggregation: required".to_owned()));
        }
        let quantile = request.quantile;
        if aggregation == Aggregation::Quantile {
            // Unset reads as 0 (proto3), so 0 means missing.
            if quantile == 0.0 {
                return Err(Error::InvalidArgument(
                    "quantile: required for AGGREGATION_QUANTILE, a number in (0, 1]".to_owned(),
                ));
            }
            if !(0.0..=1.0).contains(&quantile) {
                return Err(Error::InvalidArgument(format!(
                    "quantile: {quantile} is not in (0, 1]"
                )));
            }
        }
        for (i, key) in request.group_by.iter().enumerate() {
            if key.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "group_by[{i}]: empty label name"
                )));
            }
        }
        let step = window.step_secs(
            "step_seconds",
            request.step_seconds,
            TARGET_POINTS,
            1,
            limits,
        )?;
        let mut filters = Sql::default();
        for (i, filter) in request.filters.iter().enumerate() {
            push_filter(&mut filters, i, filter)?;
        }
        let lookback = Window {
            start: window
                .start
                .saturating_sub(LOOKBACK_NANOS.max(u64::from(step) * 1_000_000_000)),
            end: window.end,
        };
        Ok(Self {
            tenant,
            metric_name: &request.metric_name,
            window,
            lookback,
            aggregation,
            quantile,
            group_by: &request.group_by,
            step,
            filters,
        })
    }

    fn step_nanos(&self) -> i64 {
        i64::from(self.step) * 1_000_000_000
    }

    /// `TenantId = ? AND MetricName = ? AND <TimeUnix in window>`.
    fn points(&self, sql: &mut Sql, window: &Window) {
        sql.tenant(self.tenant)
            .push_bind(" AND MetricName = ?", self.metric_name)
            .push(" AND ");
        window.sql(sql, "TimeUnix");
    }

    /// The group key `g` (the `group_by` labels) and the time `bucket` of
    /// a point.
    fn group_and_bucket(&self, sql: &mut Sql) {
        sql.push_binds(
            &format!(
                "arrayMap(k -> {LABELS}[k], CAST(? AS Array(String))) AS g, \
                 intDiv(toUnixTimestamp64Nano(TimeUnix), ?) * ? AS bucket"
            ),
            [
                Bind::Strs(self.group_by.to_vec()),
                Bind::I64(self.step_nanos()),
                Bind::I64(self.step_nanos()),
            ],
        );
    }

    /// Whether a series' first point counts whole: the series started
    /// inside the time range, so everything the point counts was added
    /// there.
    fn started_in_range(&self, sql: &mut Sql) {
        sql.push_bind(
            "toUnixTimestamp64Nano(StartTimeUnix) >= ?",
            Bind::I64(self.window.start as i64),
        );
    }

    /// Points from the lookback on, each with its series' previous point's
    /// `columns` (`prev_<name>`) and its place `rn` in the series.
    fn with_predecessors(&self, sql: &mut Sql, kind: Kind, columns: &[&str], partition: &str) {
        sql.push(
            "SELECT *, row_number() OVER w AS rn, \
                  lagInFrame(toUnixTimestamp64Nano(StartTimeUnix)) OVER w AS prev_start",
        );
        for column in columns {
            sql.push(&format!(", lagInFrame({column}) OVER w AS prev_{column}"));
        }
        sql.push(&format!(" FROM {} WHERE ", kind.table()));
        self.points(sql, &self.lookback);
        sql.extend(&self.filters);
        sql.push(&format!(
            " WINDOW w AS (PARTITION BY {partition} ORDER BY TimeUnix \
             ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"
        ));
    }

    // === scan ===

    /// The statement that aggregates the metric's points.
    fn scan(&self, metric: &Metric) -> Result<Scan, Error> {
        let unsupported = |why: &str| {
            Error::InvalidArgument(format!(
                "aggregation: {} not supported for {} metric {:?}{why}",
                self.aggregation.as_str_name(),
                metric.kind.name(),
                self.metric_name
            ))
        };
        let simple = |aggregation| match aggregation {
            Aggregation::Sum => Some("sum"),
            Aggregation::Avg => Some("avg"),
            Aggregation::Min => Some("min"),
            Aggregation::Max => Some("max"),
            _ => None,
        };
        match (metric.kind, self.aggregation, simple(self.aggregation)) {
            (Kind::Gauge, _, Some(function)) => Ok(Scan::Values(self.gauge_sql(function))),
            (Kind::Sum, _, Some(function)) => Ok(Scan::Values(
                self.sum_sql(Sql::new(&format!("{function}(increase)"))),
            )),
            (Kind::Sum, Aggregation::Rate, _) if metric.monotonic => {
                let mut per_second = Sql::default();
                per_second.push_bind("sum(increase) / ?", f64::from(self.step));
                Ok(Scan::Values(self.sum_sql(per_second)))
            }
            (Kind::Histogram, Aggregation::Quantile, _) => {
                Ok(Scan::Histograms(self.quantile_sql()))
            }
            (_, Aggregation::Rate, _) => Err(unsupported(" (RATE needs a monotonic sum)")),
            (_, Aggregation::Quantile, _) => Err(unsupported(" (QUANTILE needs a histogram)")),
            _ => Err(unsupported("")),
        }
    }

    /// `function(Value)` of the raw gauge points per group and bucket.
    fn gauge_sql(&self, function: &str) -> Sql {
        let mut sql = Sql::new("SELECT ");
        self.group_and_bucket(&mut sql);
        sql.push(&format!(
            ", toFloat64({function}(Value)) AS value FROM {} WHERE ",
            Kind::Gauge.table()
        ));
        self.points(&mut sql, &self.window);
        sql.extend(&self.filters);
        sql.push(" GROUP BY g, bucket ORDER BY g, bucket");
        sql
    }

    /// `across_series` (of `increase`, each series' increase in the bucket)
    /// per group and bucket.
    fn sum_sql(&self, across_series: Sql) -> Sql {
        let mut sql = Sql::new("SELECT g, bucket, toFloat64(");
        sql.extend(&across_series).push(
            ") AS value FROM (SELECT series, g, bucket, sum(inc) AS increase FROM (SELECT \
             cityHash64(",
        );
        sql.push(SERIES).push(") AS series, ");
        self.group_and_bucket(&mut sql);
        sql.push_bind(
            ", multiIf(AggregationTemporality = ?, Value, rn = 1, if(",
            DELTA,
        );
        self.started_in_range(&mut sql);
        sql.push(
            ", Value, nan), \
             toUnixTimestamp64Nano(StartTimeUnix) > prev_start AND prev_start > 0, Value, \
             IsMonotonic AND Value < prev_Value, Value, \
             Value - prev_Value) AS inc FROM (",
        );
        self.with_predecessors(&mut sql, Kind::Sum, &["Value"], SERIES);
        sql.push_bind(
            ") WHERE TimeUnix >= fromUnixTimestamp64Nano(?)",
            Bind::I64(self.window.start as i64),
        );
        sql.push(
            ") WHERE NOT isNaN(inc) GROUP BY series, g, bucket) \
             GROUP BY g, bucket ORDER BY g, bucket",
        );
        sql
    }

    /// Observed bucket counts per group, bucket and bound set.
    fn quantile_sql(&self) -> Sql {
        let mut sql =
            Sql::new("SELECT g, bucket, bounds, sumForEach(delta) AS counts FROM (SELECT ");
        self.group_and_bucket(&mut sql);
        sql.push_bind(
            ", ExplicitBounds AS bounds, \
             if(AggregationTemporality = ? OR (rn > 1 AND (Count < prev_Count \
             OR arrayExists((c, p) -> c < p, BucketCounts, arrayResize(prev_BucketCounts, length(BucketCounts))) \
             OR (toUnixTimestamp64Nano(StartTimeUnix) > prev_start AND prev_start > 0))), \
             BucketCounts, \
             arrayMap((c, p) -> toUInt64(c - least(c, p)), BucketCounts, \
             arrayResize(prev_BucketCounts, length(BucketCounts)))) AS delta, ",
            DELTA,
        );
        sql.push_bind("(AggregationTemporality = ? OR rn > 1 OR ", DELTA);
        self.started_in_range(&mut sql);
        sql.push(") AS counted FROM (");
        self.with_predecessors(
            &mut sql,
            Kind::Histogram,
            &["BucketCounts", "Count"],
            &format!("{SERIES}, cityHash64(ExplicitBounds)"),
        );
        sql.push_bind(
            ") WHERE TimeUnix >= fromUnixTimestamp64Nano(?))",
            Bind::I64(self.window.start as i64),
        );
        sql.push(" WHERE counted GROUP BY g, bucket, bounds ORDER BY g, bucket, bounds");
        sql
    }
}

/// The aggregation statement and how to read its rows.
enum Scan {
    /// `(g, bucket, value)` rows ([`ValueRow`]).
    Values(Sql),
    /// `(g, bucket, bounds, counts)` rows ([`HistogramRow`]).
    Histograms(Sql),
}

/// Appends ` AND ...` for one label filter.
fn push_filter(sql: &mut Sql, i: usize, filter: &LabelFilter) -> Result<(), Error> {
    query::push_map_match(
        sql,
        &format!("filters[{i}]"),
        LABELS,
        &filter.key,
        filter.operator,
        &filter.value,
    )
}

// === the metric ===

/// What the store holds of the metric in the time range.
struct Metric {
    kind: Kind,
    unit: String,
    /// Sums: every point is monotonic.
    monotonic: bool,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct KindRow {
    kind: u8,
    n: u64,
    unit: String,
    monotonic: u8,
}

/// The metric's kind: the first table in lookup order with points of it
/// in the window (label filters aside); NOT_FOUND without any.
async fn find(store: &Store, plan: &Plan<'_>) -> Result<Metric, Error> {
    let mut sql = Sql::default();
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push_bind(
            "SELECT toUInt8(?) AS kind",
            u64::from(kind.metric_type() as u8),
        );
        sql.push(&format!(
            ", count() AS n, any(MetricUnit) AS unit, {} AS monotonic FROM {} WHERE ",
            kind.monotonic_sql(),
            kind.table()
        ));
        plan.points(&mut sql, &plan.window);
    }
    let rows: Vec<KindRow> = store.query(&sql).fetch_all().await?;
    Kind::ALL
        .into_iter()
        .find_map(|kind| {
            let row = rows
                .iter()
                .find(|r| Kind::from_metric_type(r.kind) == Some(kind) && r.n > 0)?;
            Some(Metric {
                kind,
                unit: row.unit.clone(),
                monotonic: row.monotonic == 1,
            })
        })
        .ok_or_else(|| {
            Error::NotFound(format!(
                "metric_name: no data for metric {:?} in the time range",
                plan.metric_name
            ))
        })
}

// === series ===

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

// === ListMetrics ===

pub async fn list_metrics(
    store: &Store,
    tenant: &Tenant,
    request: ListMetricsRequest,
) -> Result<ListMetricsResponse, Error> {
    let limits = store.limits();
    let window = Window::from_proto("time_range", request.time_range.as_ref(), limits)?;
    let page = Page::<MetricKey>::new(MetricKey::TAG, request.page.as_ref(), limits)?;
    let sql = list_sql(tenant, &window, &request.service_name, &page);
    let mut rows: Vec<DescriptorRow> = store.query(&sql).fetch_all().await?;
    let info = page.finish(&mut rows, |last| MetricKey {
        name: last.name.clone(),
        kind: last.kind,
    });
    Ok(ListMetricsResponse {
        metrics: rows.into_iter().map(DescriptorRow::into_proto).collect(),
        page: Some(info),
    })
}

/// One page of `(name, kind)` entries after the cursor: each table gives
/// its first page in name order, the union is cut to the page.
fn list_sql(tenant: &Tenant, window: &Window, service: &str, page: &Page<MetricKey>) -> Sql {
    let mut sql = Sql::new("SELECT name, kind, unit, description, monotonic, services FROM (");
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push_bind(
            "(SELECT toString(MetricName) AS name, toUInt8(?) AS kind",
            u64::from(kind.metric_type() as u8),
        );
        sql.push(&format!(
            ", argMax(MetricUnit, TimeUnix) AS unit, \
             argMax(MetricDescription, TimeUnix) AS description, {} AS monotonic, \
             arraySort(groupUniqArray(toString(ServiceName))) AS services FROM {} WHERE ",
            kind.monotonic_sql(),
            kind.table()
        ));
        sql.tenant(tenant).push(" AND ");
        window.sql(&mut sql, "TimeUnix");
        if !service.is_empty() {
            sql.push_bind(" AND ServiceName = ?", service);
        }
        if let Some(after) = &page.after {
            // (name, kind) > (after.name, after.kind), with kind fixed here.
            let op = if (kind.metric_type() as u8) > after.kind {
                ">="
            } else {
                ">"
            };
            sql.push_bind(&format!(" AND MetricName {op} ?"), after.name.as_str());
        }
        sql.push_bind(" GROUP BY MetricName ORDER BY name LIMIT ?)", page.fetch());
    }
    sql.push_bind(") ORDER BY name, kind LIMIT ?", page.fetch());
    sql
}

/// Where the previous page of ListMetrics stopped.
#[derive(Debug, Clone, PartialEq)]
struct MetricKey {
    name: String,
    /// The `MetricType` number.
    kind: u8,
}

impl MetricKey {
    const TAG: &str = "metrics";
}

impl PageKey for MetricKey {
    fn write(&self, fields: &mut Vec<String>) {
        // Names are free text: hex keeps them clear of the separator.
        fields.extend([hex::encode(&self.name), self.kind.to_string()]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            name: fields.hex_text()?,
            kind: fields.number()?,
        })
    }
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct DescriptorRow {
    name: String,
    kind: u8,
    unit: String,
    description: String,
    monotonic: u8,
    services: Vec<String>,
}

impl DescriptorRow {
    fn into_proto(self) -> MetricDescriptor {
        let kind = Kind::from_metric_type(self.kind);
        MetricDescriptor {
            name: self.name,
            r#type: kind.map_or(MetricType::Unspecified, Kind::metric_type) as i32,
            unit: self.unit,
            description: self.description,
            monotonic: self.monotonic == 1,
            service_names: self.services,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::airis::analytics::v1::MatchOperator;
    use airis_proto::airis::common::v1::{PageRequest, TimeRange};

    fn tenant() -> Tenant {
        Tenant::parse("acme").unwrap()
    }

    fn request(aggregation: Aggregation) -> QueryMetricsRequest {
        QueryMetricsRequest {
            metric_name: format!("x' OR 1=1; DROP TABLE {METRICS_SUM}; --"),
            time_range: Some(TimeRange {
                start_unix_nano: 600_000_000_000,
                end_unix_nano: 720_000_000_000,
            }),
            aggregation: aggregation as i32,
            group_by: vec!["service.name".to_owned(), "' ?".to_owned()],
            filters: vec![LabelFilter {
                key: "service.name".to_owned(),
                operator: MatchOperator::Equals as i32,
                value: "check'out ?".to_owned(),
            }],
            step_seconds: 60,
            ..Default::default()
        }
    }

    fn error(request: &QueryMetricsRequest) -> String {
        match Plan::new(&tenant(), request, &Limits::default()) {
            Err(Error::InvalidArgument(message)) => message,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn scans_only_bind_user_input() {
        let tenant = tenant();
        let metric = |kind, monotonic| Metric {
            kind,
            unit: String::new(),
            monotonic,
        };
        let cases = [
            (Aggregation::Sum, metric(Kind::Gauge, false)),
            (Aggregation::Max, metric(Kind::Sum, false)),
            (Aggregation::Rate, metric(Kind::Sum, true)),
        ];
        for (aggregation, metric) in cases {
            let request = request(aggregation);
            let plan = Plan::new(&tenant, &request, &Limits::default()).unwrap();
            let Ok(Scan::Values(sql)) = plan.scan(&metric) else {
                panic!("{aggregation:?} of {:?}", metric.kind);
            };
            assert_eq!(
                sql.text.matches('?').count(),
                sql.binds.len(),
                "{}",
                sql.text
            );
            assert!(!sql.text.contains("DROP") && !sql.text.contains("check"));
            assert!(sql.text.contains(LABELS), "labels read the resource too");
        }
        let mut request = request(Aggregation::Quantile);
        request.quantile = 0.5;
        let plan = Plan::new(&tenant, &request, &Limits::default()).unwrap();
        let Ok(Scan::Histograms(sql)) = plan.scan(&metric(Kind::Histogram, false)) else {
            panic!("quantile");
        };
        assert_eq!(
            sql.text.matches('?').count(),
            sql.binds.len(),
            "{}",
            sql.text
        );
        // Aggregations a kind does not have.
        for (aggregation, kind, monotonic, why) in [
            (Aggregation::Rate, Kind::Sum, false, "monotonic"),
            (Aggregation::Rate, Kind::Gauge, false, "monotonic"),
            (Aggregation::Quantile, Kind::Sum, true, "histogram"),
            (Aggregation::Avg, Kind::Histogram, false, "histogram"),
            (Aggregation::Sum, Kind::Summary, false, "summary"),
        ] {
            let mut request = request.clone();
            request.aggregation = aggregation as i32;
            let plan = Plan::new(&tenant, &request, &Limits::default()).unwrap();
            let Err(Error::InvalidArgument(message)) = plan.scan(&metric(kind, monotonic)) else {
                panic!("{aggregation:?} of {kind:?} accepted");
            };
            assert!(message.starts_with("aggregation: "), "{message}");
            assert!(message.contains(why), "{message}");
        }
    }

    #[test]
    fn bad_requests_name_the_field() {
        let mut r = request(Aggregation::Quantile);
        assert!(error(&r).starts_with("quantile: required"), "{}", error(&r));
        for q in [1.5, -0.1, f64::NAN] {
            r.quantile = q;
            assert!(error(&r).starts_with("quantile: "), "{}", error(&r));
        }
        // Ignored by the other aggregations.
        let mut r = request(Aggregation::Sum);
        r.quantile = 7.0;
        assert!(Plan::new(&tenant(), &r, &Limits::default()).is_ok());
        let mut r = request(Aggregation::Sum);
        r.metric_name.clear();
        assert_eq!(error(&r), "metric_name: required");
        let r = request(Aggregation::Unspecified);
        assert_eq!(error(&r), "aggregation: required");
        let mut r = request(Aggregation::Sum);
        r.aggregation = 99;
        assert!(error(&r).starts_with("aggregation: unknown"));
        let mut r = request(Aggregation::Sum);
        r.group_by.push(String::new());
        assert!(error(&r).starts_with("group_by[2]"), "{}", error(&r));
        let mut r = request(Aggregation::Sum);
        r.filters[0].operator = 0;
        assert!(
            error(&r).starts_with("filters[0].operator"),
            "{}",
            error(&r)
        );
    }

    #[test]
    fn metric_pages_resume_after_name_and_kind() {
        let limits = Limits::default();
        let window = Window { start: 1, end: 2 };
        let first: Page<MetricKey> = Page::new(MetricKey::TAG, None, &limits).unwrap();
        let sql = list_sql(&tenant(), &window, "check'out", &first);
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
        assert!(!sql.text.contains("check"));
        let key = MetricKey {
            name: "http.server.request.count \u{1f} '".to_owned(),
            kind: MetricType::Sum as u8,
        };
        let token = first.token(&key);
        let request = PageRequest {
            page_size: 0,
            page_token: token,
        };
        let next: Page<MetricKey> = Page::new(MetricKey::TAG, Some(&request), &limits).unwrap();
        assert_eq!(next.after.as_ref(), Some(&key));
        let sql = list_sql(&tenant(), &window, "", &next);
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
        // Gauges and sums of the same name come before the cursor, the
        // other kinds after it.
        assert_eq!(sql.text.matches("AND MetricName > ?").count(), 2);
        assert_eq!(sql.text.matches("AND MetricName >= ?").count(), 3);
        let spans = PageRequest {
            page_size: 0,
            page_token: Page::<MetricKey>::new("spans:0", None, &limits)
                .unwrap()
                .token(&key),
        };
        assert!(Page::<MetricKey>::new(MetricKey::TAG, Some(&spans), &limits).is_err());
    }

    #[test]
    fn kinds_map_to_metric_types_and_back() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_metric_type(kind.metric_type() as u8), Some(kind));
        }
        assert_eq!(Kind::from_metric_type(0), None);
    }

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
