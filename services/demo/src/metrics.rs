//! RED metrics aggregated from the generated requests, as OTLP data points.
//!
//! - `http.server.request.duration` (histogram, seconds, explicit buckets)
//!   per service, version, method, route and status code;
//! - `http.server.request.count` (monotonic cumulative sum) with the same
//!   attributes;
//! - `db.client.connection.count` (gauge, `used` / `idle`) of each service's
//!   postgres pool, derived from the time spent in queries (Little's law).

use std::collections::BTreeMap;

use airis_proto::kv::kv;
use airis_proto::otlp::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum,
    metric::Data, number_data_point,
};

use crate::generate::{GeneratedTrace, Origin};

pub const DURATION_METRIC: &str = "http.server.request.duration";
pub const COUNT_METRIC: &str = "http.server.request.count";
pub const POOL_METRIC: &str = "db.client.connection.count";
/// Every metric name the demo emits.
pub const METRIC_NAMES: [&str; 3] = [DURATION_METRIC, COUNT_METRIC, POOL_METRIC];

/// The semantic-conventions advice for `http.server.request.duration`.
pub const BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
pub const POOL_SIZE: f64 = 20.0;

type SeriesKey = (Origin, &'static str, &'static str, u16);

#[derive(Clone, Debug)]
struct Series {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    buckets: Vec<u64>,
}

impl Default for Series {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            buckets: vec![0; BOUNDS.len() + 1],
        }
    }
}

/// Cumulative aggregation since `start_unix_nanos`.
#[derive(Clone, Debug)]
pub struct MetricsState {
    start_unix_nanos: u64,
    series: BTreeMap<SeriesKey, Series>,
    /// Postgres time since the last export, per origin.
    db_busy: BTreeMap<Origin, u64>,
    last_export_unix_nanos: u64,
}

impl MetricsState {
    pub fn new(start_unix_nanos: u64) -> Self {
        Self {
            start_unix_nanos,
            series: BTreeMap::new(),
            db_busy: BTreeMap::new(),
            last_export_unix_nanos: start_unix_nanos,
        }
    }

    pub fn record(&mut self, trace: &GeneratedTrace) {
        for sample in &trace.requests {
            let series = self
                .series
                .entry((sample.origin, sample.method, sample.route, sample.status))
                .or_default();
            let d = sample.duration_s;
            series.count += 1;
            series.sum += d;
            series.min = series.min.min(d);
            series.max = series.max.max(d);
            let bucket = BOUNDS.iter().position(|&b| d <= b).unwrap_or(BOUNDS.len());
            series.buckets[bucket] += 1;
        }
        for &(origin, nanos) in &trace.db_busy {
            *self.db_busy.entry(origin).or_default() += nanos;
        }
    }

    /// The current data points grouped by origin, and how many points that is.
    pub fn export(&mut self, now_unix_nanos: u64) -> (BTreeMap<Origin, Vec<Metric>>, u64) {
        let mut out: BTreeMap<Origin, (Vec<HistogramDataPoint>, Vec<NumberDataPoint>)> =
            BTreeMap::new();
        for (&(origin, method, route, status), series) in &self.series {
            let attributes = vec![
                kv("http.request.method", method),
                kv("http.route", route),
                kv("http.response.status_code", i64::from(status)),
                kv("url.scheme", "http"),
            ];
            let (histograms, counts) = out.entry(origin).or_default();
            histograms.push(HistogramDataPoint {
                attributes: attributes.clone(),
                start_time_unix_nano: self.start_unix_nanos,
                time_unix_nano: now_unix_nanos,
                count: series.count,
                sum: Some(series.sum),
                bucket_counts: series.buckets.clone(),
                explicit_bounds: BOUNDS.to_vec(),
                min: Some(series.min),
                max: Some(series.max),
                ..Default::default()
            });
            counts.push(NumberDataPoint {
                attributes,
                start_time_unix_nano: self.start_unix_nanos,
                time_unix_nano: now_unix_nanos,
                value: Some(number_data_point::Value::AsInt(series.count as i64)),
                ..Default::default()
            });
        }
        let mut points = 0u64;
        let mut metrics: BTreeMap<Origin, Vec<Metric>> = BTreeMap::new();
        for (origin, (histograms, counts)) in out {
            points += (histograms.len() + counts.len()) as u64;
            let list = metrics.entry(origin).or_default();
            list.push(Metric {
                name: DURATION_METRIC.to_owned(),
                description: "Duration of HTTP server requests.".to_owned(),
                unit: "s".to_owned(),
                data: Some(Data::Histogram(Histogram {
                    data_points: histograms,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })),
                ..Default::default()
            });
            list.push(Metric {
                name: COUNT_METRIC.to_owned(),
                description: "Number of HTTP server requests handled.".to_owned(),
                unit: "{request}".to_owned(),
                data: Some(Data::Sum(Sum {
                    data_points: counts,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                })),
                ..Default::default()
            });
        }
        let window = now_unix_nanos
            .saturating_sub(self.last_export_unix_nanos)
            .max(1) as f64;
        for (origin, busy) in &mut self.db_busy {
            let used = pool_in_use(*busy as f64 / window);
            *busy = 0;
            let pool = format!("{}-postgres", origin.service.name());
            let point = |state: &str, value: f64| NumberDataPoint {
                attributes: vec![
                    kv("db.client.connection.state", state),
                    kv("db.client.connection.pool.name", &pool),
                    kv("db.system.name", "postgresql"),
                ],
                time_unix_nano: now_unix_nanos,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            };
            points += 2;
            metrics.entry(*origin).or_default().push(Metric {
                name: POOL_METRIC.to_owned(),
                description: "Connections of the postgres pool by state.".to_owned(),
                unit: "{connection}".to_owned(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![point("used", used), point("idle", POOL_SIZE - used)],
                })),
                ..Default::default()
            });
        }
        self.last_export_unix_nanos = now_unix_nanos;
        (metrics, points)
    }
}

/// Connections in use given the mean number of queries in flight: at least
/// one (the pool keeps a warm connection busy with health checks), at most
/// the pool size.
pub fn pool_in_use(concurrency: f64) -> f64 {
    (1.0 + concurrency.ceil()).clamp(1.0, POOL_SIZE)
}
