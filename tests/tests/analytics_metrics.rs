//! QueryMetrics end to end: OTLP metrics through the real pipeline into
//! ClickHouse, then aggregated through the query service. Every expected
//! number is computed by hand from the points sent.

use std::collections::HashMap;
use std::time::Duration;

use airis_proto::airis::analytics::v1::{
    Aggregation, LabelFilter, MatchOperator, QueryMetricsRequest, QueryMetricsResponse,
    query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::{
    collector::metrics::v1::{
        ExportMetricsServiceRequest, metrics_service_client::MetricsServiceClient,
    },
    common::v1::InstrumentationScope,
    metrics::v1::{
        Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
        ScopeMetrics, Sum, metric::Data, number_data_point,
    },
    resource::v1::Resource,
};
use airis_proto::tonic::{Code, transport::Channel};
use airis_store::tables::{METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM};
use airis_tests::{
    OTHER_TOKEN, Pipeline, QueryServer, Settings, TOKEN,
    otlp::{authed, now_unix_nano},
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(60);
const SEC: u64 = 1_000_000_000;

fn number(attrs: &[(&str, &str)], start: u64, time: u64, value: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs.iter().map(|(k, v)| kv(k, *v)).collect(),
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

fn histogram_point(
    attrs: &[(&str, &str)],
    start: u64,
    time: u64,
    counts: &[u64],
) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: attrs.iter().map(|(k, v)| kv(k, *v)).collect(),
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: counts.iter().sum(),
        sum: Some(1.0),
        bucket_counts: counts.to_vec(),
        explicit_bounds: vec![10.0, 50.0, 100.0],
        ..Default::default()
    }
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.to_owned(),
        unit: unit.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "airis-tests".to_owned(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Sorted labels and `(offset from base in s, value)` points.
type Series = (Vec<(String, String)>, Vec<(u64, f64)>);

struct Fixture {
    client: QueryServiceClient<Channel>,
    base: u64,
}

impl Fixture {
    fn req(&self, metric: &str, aggregation: Aggregation) -> QueryMetricsRequest {
        QueryMetricsRequest {
            metric_name: metric.to_owned(),
            time_range: Some(TimeRange {
                start_unix_nano: self.base,
                end_unix_nano: self.base + 120 * SEC,
            }),
            aggregation: aggregation as i32,
            step_seconds: 60,
            ..Default::default()
        }
    }

    async fn query(
        &mut self,
        request: QueryMetricsRequest,
    ) -> anyhow::Result<QueryMetricsResponse> {
        Ok(self
            .client
            .query_metrics(authed(request, TOKEN))
            .await?
            .into_inner())
    }

    /// Series as `labels -> [(offset from base in s, value)]`.
    async fn series(&mut self, request: QueryMetricsRequest) -> anyhow::Result<Vec<Series>> {
        let response = self.query(request).await?;
        assert_eq!(response.step_seconds, 60);
        Ok(response
            .series
            .into_iter()
            .map(|s| {
                let mut labels: Vec<(String, String)> = s.labels.into_iter().collect();
                labels.sort();
                let points = s
                    .points
                    .iter()
                    .map(|p| ((p.time_unix_nano - self.base) / SEC, p.value))
                    .collect();
                (labels, points)
            })
            .collect())
    }

    async fn error(&mut self, request: QueryMetricsRequest) -> (Code, String) {
        let status = self
            .client
            .query_metrics(authed(request, TOKEN))
            .await
            .expect_err("request should fail");
        (status.code(), status.message().to_owned())
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Asserts one series without labels with these points.
#[track_caller]
fn assert_single(got: &[Series], want: &[(u64, f64)]) {
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.is_empty(), "{got:?}");
    assert_points(&got[0].1, want);
}

#[track_caller]
fn assert_points(got: &[(u64, f64)], want: &[(u64, f64)]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.0 == w.0 && close(g.1, w.1), "{got:?} vs {want:?}");
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_metrics_aggregates_gauges_counters_and_histograms() -> anyhow::Result<()> {
    let mut settings = Settings::new("ametrics");
    // Query the store directly: cache keys do not include the database, so
    // a cached answer of another test run could stand in for this one.
    settings.analytics.cache.redis_url = None;
    let pipeline = Pipeline::start(settings.clone()).await?;
    let base = (now_unix_nano() / (60 * SEC) - 10) * 60 * SEC;
    let t = |s: u64| base + s * SEC;

    // Gauge: host a 10@0s 20@30s 30@60s; host b 40@10s 50@70s.
    let a = [("host", "a"), ("dc", "x")];
    let b = [("host", "b"), ("dc", "x")];
    let gauge = metric(
        "cpu.temp",
        "Cel",
        Data::Gauge(Gauge {
            data_points: vec![
                number(&a, 0, t(0), 10.0),
                number(&a, 0, t(30), 20.0),
                number(&a, 0, t(60), 30.0),
                number(&b, 0, t(10), 40.0),
                number(&b, 0, t(70), 50.0),
            ],
        }),
    );
    // Cumulative monotonic counter. Route /a every 15 s: 0 15 30 45 | 60,
    // reset to 5, 20, 35. Route /b every 30 s: 100 160 | 220 280.
    let ra = [("route", "/a")];
    let rb = [("route", "/b")];
    let restart = t(70);
    let mut points: Vec<NumberDataPoint> = [0.0, 15.0, 30.0, 45.0, 60.0]
        .iter()
        .enumerate()
        .map(|(i, v)| number(&ra, t(0) - 60 * SEC, t(15 * i as u64), *v))
        .collect();
    points.extend(
        [(75, 5.0), (90, 20.0), (105, 35.0)]
            .iter()
            .map(|(s, v)| number(&ra, restart, t(*s), *v)),
    );
    points.extend(
        [(0, 100.0), (30, 160.0), (60, 220.0), (90, 280.0)]
            .iter()
            .map(|(s, v)| number(&rb, t(0) - 60 * SEC, t(*s), *v)),
    );
    let counter = metric(
        "http.requests",
        "{request}",
        Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: 2,
            is_monotonic: true,
        }),
    );
    // Cumulative histogram, bounds [10, 50, 100].
    let start = t(0) - 60 * SEC;
    let histogram = metric(
        "http.latency",
        "ms",
        Data::Histogram(Histogram {
            data_points: vec![
                histogram_point(&ra, start, t(0), &[1, 1, 0, 0]),
                histogram_point(&ra, start, t(30), &[3, 5, 2, 0]),
                histogram_point(&ra, start, t(60), &[3, 9, 6, 0]),
                histogram_point(&rb, start, t(5), &[0, 0, 0, 0]),
                histogram_point(&rb, start, t(35), &[2, 0, 0, 2]),
                histogram_point(&rb, start, t(65), &[2, 0, 2, 2]),
            ],
            aggregation_temporality: 2,
        }),
    );
    // Delta counter: 30 per 30 s, so 1/s in both buckets.
    let delta_counter = metric(
        "bytes.sent",
        "By",
        Data::Sum(Sum {
            data_points: [(10, 30.0), (40, 30.0), (70, 60.0)]
                .iter()
                .map(|(s, v)| number(&ra, t(*s) - 30 * SEC, t(*s), *v))
                .collect(),
            aggregation_temporality: 1,
            is_monotonic: true,
        }),
    );
    // Up-down counter: no RATE.
    let up_down = metric(
        "queue.depth",
        "1",
        Data::Sum(Sum {
            data_points: vec![
                number(&ra, start, t(10), 3.0),
                number(&ra, start, t(20), 1.0),
            ],
            aggregation_temporality: 2,
            is_monotonic: false,
        }),
    );
    // Delta histogram: [0,2,0,0] twice in bucket 0 → [0,4,0,0].
    let delta_histogram = metric(
        "queue.wait",
        "s",
        Data::Histogram(Histogram {
            data_points: vec![
                histogram_point(&ra, t(0), t(10), &[0, 2, 0, 0]),
                histogram_point(&ra, t(10), t(20), &[0, 2, 0, 0]),
            ],
            aggregation_temporality: 1,
        }),
    );
    let mut export = MetricsServiceClient::connect(pipeline.endpoint.clone()).await?;
    export
        .export(authed(
            request(vec![
                gauge,
                counter,
                histogram,
                delta_counter,
                up_down,
                delta_histogram,
            ]),
            TOKEN,
        ))
        .await?;
    let other = metric(
        "other.only",
        "1",
        Data::Gauge(Gauge {
            data_points: vec![number(&a, 0, t(0), 1.0)],
        }),
    );
    export
        .export(authed(request(vec![other]), OTHER_TOKEN))
        .await?;
    let ch = pipeline.settings.clickhouse();
    let seen = wait_for_count(
        &ch,
        &format!(
            "SELECT count() FROM (SELECT 1 FROM {METRICS_GAUGE} UNION ALL \
         SELECT 1 FROM {METRICS_SUM} UNION ALL SELECT 1 FROM {METRICS_HISTOGRAM})"
        ),
        5 + 12 + 6 + 1 + 3 + 2 + 2,
        WAIT,
    )
    .await?;
    assert_eq!(seen, 31);

    let server = QueryServer::start(&settings).await?;
    let mut f = Fixture {
        client: server.client().await?,
        base,
    };

    // Gauge aggregations over all series, per 60 s bucket.
    let response = f.query(f.req("cpu.temp", Aggregation::Sum)).await?;
    assert_eq!(response.unit, "Cel");
    let got = f.series(f.req("cpu.temp", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, 70.0), (60, 80.0)]);
    let got = f.series(f.req("cpu.temp", Aggregation::Avg)).await?;
    assert_single(&got, &[(0, 70.0 / 3.0), (60, 40.0)]);
    let got = f.series(f.req("cpu.temp", Aggregation::Min)).await?;
    assert_single(&got, &[(0, 10.0), (60, 30.0)]);
    let got = f.series(f.req("cpu.temp", Aggregation::Max)).await?;
    assert_single(&got, &[(0, 40.0), (60, 50.0)]);

    // group_by and filters.
    let mut r = f.req("cpu.temp", Aggregation::Sum);
    r.group_by = vec!["host".to_owned(), "missing".to_owned()];
    let got = f.series(r).await?;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, labels(&[("host", "a")]));
    assert_points(&got[0].1, &[(0, 30.0), (60, 30.0)]);
    assert_eq!(got[1].0, labels(&[("host", "b")]));
    assert_points(&got[1].1, &[(0, 40.0), (60, 50.0)]);
    let filter = |key: &str, operator: MatchOperator, value: &str| LabelFilter {
        key: key.to_owned(),
        operator: operator as i32,
        value: value.to_owned(),
    };
    let mut r = f.req("cpu.temp", Aggregation::Max);
    r.filters = vec![filter("host", MatchOperator::Equals, "b")];
    assert_single(&f.series(r).await?, &[(0, 40.0), (60, 50.0)]);
    let mut r = f.req("cpu.temp", Aggregation::Max);
    r.filters = vec![
        filter("host", MatchOperator::NotEquals, "b"),
        filter("dc", MatchOperator::Exists, ""),
    ];
    assert_single(&f.series(r).await?, &[(0, 20.0), (60, 30.0)]);
    let mut r = f.req("cpu.temp", Aggregation::Max);
    r.filters = vec![filter("host", MatchOperator::Contains, "zz")];
    assert!(f.series(r).await?.is_empty());

    // RATE: increases per series (reset counts the new value), summed per
    // bucket, divided by the step. /a: 45 then 15+5+15+15 = 50; /b: 60, 120.
    let response = f.query(f.req("http.requests", Aggregation::Rate)).await?;
    assert_eq!(response.unit, "{request}");
    let got = f.series(f.req("http.requests", Aggregation::Rate)).await?;
    assert_single(&got, &[(0, 105.0 / 60.0), (60, 170.0 / 60.0)]);
    let mut r = f.req("http.requests", Aggregation::Rate);
    r.group_by = vec!["route".to_owned()];
    let got = f.series(r).await?;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, labels(&[("route", "/a")]));
    assert_points(&got[0].1, &[(0, 45.0 / 60.0), (60, 50.0 / 60.0)]);
    assert_eq!(got[1].0, labels(&[("route", "/b")]));
    assert_points(&got[1].1, &[(0, 1.0), (60, 2.0)]);
    // Raw SUM / MAX of a counter's values.
    let mut r = f.req("http.requests", Aggregation::Max);
    r.group_by = vec!["route".to_owned()];
    let got = f.series(r).await?;
    assert_points(&got[0].1, &[(0, 45.0), (60, 60.0)]);
    assert_points(&got[1].1, &[(0, 160.0), (60, 280.0)]);

    // QUANTILE of the merged per-bucket deltas. Bucket 0: /a [2,4,2,0],
    // /b [2,0,0,2] → [4,4,2,2]; bucket 60: /a [0,4,4,0], /b [0,0,2,0] →
    // [0,4,6,0].
    let template = f.req("http.latency", Aggregation::Quantile);
    let quantile = |q: f64| {
        let mut r = template.clone();
        r.quantile = q;
        r
    };
    let got = f.series(quantile(0.5)).await?;
    assert_single(&got, &[(0, 30.0), (60, 50.0 + 50.0 / 6.0)]);
    let got = f.series(quantile(0.25)).await?;
    assert_single(&got, &[(0, 7.5), (60, 10.0 + 40.0 * 2.5 / 4.0)]);
    let got = f.series(quantile(0.9)).await?;
    assert_single(&got, &[(0, 100.0), (60, 50.0 + 50.0 * 5.0 / 6.0)]);
    let mut r = quantile(0.5);
    r.group_by = vec!["route".to_owned()];
    let got = f.series(r).await?;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_points(&got[0].1, &[(0, 30.0), (60, 50.0)]);
    assert_points(&got[1].1, &[(0, 10.0), (60, 75.0)]);
    let response = f.query(quantile(0.5)).await?;
    assert_eq!(response.unit, "ms");

    // A range starting mid-way: the points before it are predecessors, so
    // the second bucket is the same as above.
    let later = TimeRange {
        start_unix_nano: base + 60 * SEC,
        end_unix_nano: base + 120 * SEC,
    };
    let mut r = f.req("http.requests", Aggregation::Rate);
    r.time_range = Some(later);
    assert_single(&f.series(r).await?, &[(60, 170.0 / 60.0)]);
    let mut r = quantile(0.5);
    r.time_range = Some(later);
    assert_single(&f.series(r).await?, &[(60, 50.0 + 50.0 / 6.0)]);

    // Delta temporality: increases and bucket counts as sent.
    let got = f.series(f.req("bytes.sent", Aggregation::Rate)).await?;
    assert_single(&got, &[(0, 1.0), (60, 1.0)]);
    let mut r = f.req("queue.wait", Aggregation::Quantile);
    r.quantile = 0.5;
    assert_single(&f.series(r).await?, &[(0, 30.0)]);
    // Up-down counters aggregate but have no rate.
    let got = f.series(f.req("queue.depth", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, 4.0)]);
    let (code, message) = f.error(f.req("queue.depth", Aggregation::Rate)).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("monotonic"), "{message}");

    // Default step: about 60 points over the 120 s range.
    let mut r = f.req("cpu.temp", Aggregation::Sum);
    r.step_seconds = 0;
    let response = f.query(r).await?;
    assert_eq!(response.step_seconds, 2);
    let total: f64 = response.series[0].points.iter().map(|p| p.value).sum();
    assert!(close(total, 150.0));

    // Errors.
    let (code, message) = f.error(f.req("no.such.metric", Aggregation::Sum)).await;
    assert_eq!(code, Code::NotFound, "{message}");
    let (code, _) = f.error(f.req("", Aggregation::Sum)).await;
    assert_eq!(code, Code::InvalidArgument);
    let (code, message) = f.error(f.req("cpu.temp", Aggregation::Unspecified)).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("aggregation"), "{message}");
    for q in [1.5, -0.1, f64::NAN] {
        let (code, message) = f.error(quantile(q)).await;
        assert_eq!(code, Code::InvalidArgument);
        assert!(message.contains("quantile"), "{message}");
    }
    let (code, message) = f.error(f.req("cpu.temp", Aggregation::Rate)).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("not supported for gauge"), "{message}");
    let (code, message) = f.error(f.req("http.requests", Aggregation::Quantile)).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("not supported for sum"), "{message}");
    let (code, _) = f.error(f.req("http.latency", Aggregation::Avg)).await;
    assert_eq!(code, Code::InvalidArgument);
    let mut r = f.req("cpu.temp", Aggregation::Sum);
    r.filters = vec![filter("host", MatchOperator::Unspecified, "a")];
    let (code, message) = f.error(r).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("filters[0].operator"), "{message}");
    let mut r = f.req("cpu.temp", Aggregation::Sum);
    r.time_range = None;
    let (code, message) = f.error(r).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("time_range"), "{message}");

    // Tenant isolation.
    let (code, _) = f.error(f.req("other.only", Aggregation::Sum)).await;
    assert_eq!(code, Code::NotFound);
    let status = f
        .client
        .query_metrics(authed(f.req("cpu.temp", Aggregation::Sum), OTHER_TOKEN))
        .await
        .expect_err("other tenant has no cpu.temp");
    assert_eq!(status.code(), Code::NotFound);
    let response = f
        .client
        .query_metrics(authed(f.req("other.only", Aggregation::Sum), OTHER_TOKEN))
        .await?
        .into_inner();
    assert_eq!(response.series.len(), 1);

    // Series limit.
    let mut limited = settings.clone();
    limited.analytics.limits.max_series = 1;
    let small = QueryServer::start(&limited).await?;
    let mut client = small.client().await?;
    let mut r = f.req("cpu.temp", Aggregation::Sum);
    r.group_by = vec!["host".to_owned()];
    let status = client
        .query_metrics(authed(r, TOKEN))
        .await
        .expect_err("two series, limit one");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("analytics.limits.max_series"),
        "{status:?}"
    );
    let labels_map: HashMap<String, String> = HashMap::new();
    let response = client
        .query_metrics(authed(f.req("cpu.temp", Aggregation::Sum), TOKEN))
        .await?
        .into_inner();
    assert_eq!(response.series[0].labels, labels_map);
    small.stop().await?;

    server.stop().await?;
    pipeline.stop().await
}
