//! QueryMetrics and ListMetrics end to end: OTLP metrics through the real
//! pipeline into ClickHouse, then aggregated through the analytics service.
//! Every expected number is computed by hand from the points sent, or, for
//! the demo's traffic, counted from its spans.

use std::collections::HashMap;
use std::time::Duration;

use airis_demo::DemoConfig;
use airis_proto::airis::analytics::v1::{
    Aggregation, LabelFilter, ListMetricsRequest, ListMetricsResponse, MatchOperator, MetricType,
    QueryMetricsRequest, QueryMetricsResponse, query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::{
    collector::metrics::v1::{
        ExportMetricsServiceRequest, metrics_service_client::MetricsServiceClient,
    },
    common::v1::InstrumentationScope,
    metrics::v1::{
        AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
        ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
    },
    resource::v1::Resource,
};
use airis_proto::tonic::{Code, transport::Channel};
use airis_runtime::Shutdown;
use airis_store::tables::{METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, TRACES};
use airis_tests::{
    OTHER_TOKEN, Pipeline, QueryServer, Settings, TENANT, TOKEN,
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
    request_from(&[("service.name", "checkout")], metrics)
}

/// One resource with these attributes sending `metrics`.
fn request_from(resource: &[(&str, &str)], metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource.iter().map(|(k, v)| kv(k, *v)).collect(),
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
    // SUM / MIN / MAX / AVG of a counter: of what each series counted in
    // the bucket (the increases above), never of its snapshots.
    let got = f.series(f.req("http.requests", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, 105.0), (60, 170.0)]);
    let got = f.series(f.req("http.requests", Aggregation::Max)).await?;
    assert_single(&got, &[(0, 60.0), (60, 120.0)]);
    let got = f.series(f.req("http.requests", Aggregation::Min)).await?;
    assert_single(&got, &[(0, 45.0), (60, 50.0)]);
    let got = f.series(f.req("http.requests", Aggregation::Avg)).await?;
    assert_single(&got, &[(0, 52.5), (60, 85.0)]);
    let mut r = f.req("http.requests", Aggregation::Max);
    r.group_by = vec!["route".to_owned()];
    let got = f.series(r).await?;
    assert_points(&got[0].1, &[(0, 45.0), (60, 50.0)]);
    assert_points(&got[1].1, &[(0, 60.0), (60, 120.0)]);

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
    // Up-down counters aggregate their net change (3 is the baseline of a
    // series started before the range, then 3 → 1) but have no rate.
    let got = f.series(f.req("queue.depth", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, -2.0)]);
    // Delta sums add up as sent.
    let got = f.series(f.req("bytes.sent", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, 60.0), (60, 60.0)]);
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
    // Left unset (reads as 0): refused, not the 0 quantile.
    let (code, message) = f.error(template.clone()).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.starts_with("quantile: required"), "{message}");
    let (code, message) = f.error(f.req("cpu.temp", Aggregation::Rate)).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("not supported for gauge"), "{message}");
    let mut r = f.req("http.requests", Aggregation::Quantile);
    r.quantile = 0.5;
    let (code, message) = f.error(r).await;
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

fn sum(
    name: &str,
    unit: &str,
    monotonic: bool,
    cumulative: bool,
    points: Vec<NumberDataPoint>,
) -> Metric {
    let temporality = if cumulative {
        AggregationTemporality::Cumulative
    } else {
        AggregationTemporality::Delta
    };
    metric(
        name,
        unit,
        Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        }),
    )
}

fn list_request(
    start: u64,
    end: u64,
    service: &str,
    page_size: u32,
    token: &str,
) -> ListMetricsRequest {
    ListMetricsRequest {
        time_range: Some(TimeRange {
            start_unix_nano: start,
            end_unix_nano: end,
        }),
        service_name: service.to_owned(),
        page: Some(PageRequest {
            page_size,
            page_token: token.to_owned(),
        }),
    }
}

/// `(name, type, unit, description, monotonic, services)` of an entry.
type Listed = (String, MetricType, String, String, bool, Vec<String>);

fn listed(response: &ListMetricsResponse) -> Vec<Listed> {
    response
        .metrics
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.r#type(),
                m.unit.clone(),
                m.description.clone(),
                m.monotonic,
                m.service_names.clone(),
            )
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sums_count_what_was_added_per_service_whatever_the_temporality() -> anyhow::Result<()> {
    let mut settings = Settings::new("ametrics_sums");
    settings.analytics.cache.redis_url = None;
    let pipeline = Pipeline::start(settings.clone()).await?;
    let base = (now_unix_nano() / (60 * SEC) - 10) * 60 * SEC;
    let t = |s: u64| base + s * SEC;

    // Each of checkout and cart adds 3 (exported at 10 s and again at 20 s
    // with nothing new), 2 more by 30 s, and after a restart at 65 s, 4
    // (exported at 75 s and again at 80 s): 5 in the first minute, 4 in the
    // second. checkout exports cumulatively, cart as deltas.
    let pay = [("route", "/pay")];
    let checkout = sum(
        "orders.placed",
        "{order}",
        true,
        true,
        vec![
            number(&pay, t(5), t(10), 3.0),
            number(&pay, t(5), t(20), 3.0),
            number(&pay, t(5), t(30), 5.0),
            number(&pay, t(65), t(75), 4.0),
            number(&pay, t(65), t(80), 4.0),
        ],
    );
    let cart = sum(
        "orders.placed",
        "{order}",
        true,
        false,
        vec![
            number(&pay, t(5), t(10), 3.0),
            number(&pay, t(10), t(20), 0.0),
            number(&pay, t(20), t(30), 2.0),
            number(&pay, t(65), t(75), 4.0),
            number(&pay, t(75), t(80), 0.0),
        ],
    );
    // payment has counted since before the range: its first point (100) is
    // the baseline, then it adds 3. Its points say "staging", overriding
    // the resource's environment.
    let staging = [("route", "/pay"), ("deployment.environment", "staging")];
    let payment = sum(
        "orders.placed",
        "{order}",
        true,
        true,
        vec![
            number(&staging, t(0) - 30 * SEC, t(10), 100.0),
            number(&staging, t(0) - 30 * SEC, t(40), 103.0),
        ],
    );
    // An up-down counter of cart, started in the range: 5, 2, 4.
    let items = sum(
        "cart.items",
        "{item}",
        false,
        true,
        vec![
            number(&[], t(5), t(10), 5.0),
            number(&[], t(5), t(20), 2.0),
            number(&[], t(5), t(70), 4.0),
        ],
    );
    // The same name as a histogram of frontend.
    let items_histogram = Metric {
        description: "Items per cart.".to_owned(),
        ..metric(
            "cart.items",
            "{item}",
            Data::Histogram(Histogram {
                data_points: vec![histogram_point(&[], t(0), t(10), &[1, 0, 0, 0])],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        )
    };
    let described = |metric: Metric| Metric {
        description: "Orders placed.".to_owned(),
        ..metric
    };
    let resource = |service: &'static str, version: &'static str| {
        [
            ("service.name", service),
            ("service.version", version),
            ("deployment.environment", "production"),
        ]
    };
    let mut export = MetricsServiceClient::connect(pipeline.endpoint.clone()).await?;
    for (resource, metrics) in [
        (resource("checkout", "v2"), vec![described(checkout)]),
        (resource("cart", "v1"), vec![described(cart), items]),
        (resource("payment", "v1"), vec![described(payment)]),
        (resource("frontend", "v1"), vec![items_histogram]),
    ] {
        export
            .export(authed(request_from(&resource, metrics), TOKEN))
            .await?;
    }
    let other = metric(
        "orders.placed",
        "1",
        Data::Gauge(Gauge {
            data_points: vec![number(&[], 0, t(10), 1.0)],
        }),
    );
    export
        .export(authed(
            request_from(&[("service.name", "globex-web")], vec![other]),
            OTHER_TOKEN,
        ))
        .await?;
    let ch = pipeline.settings.clickhouse();
    let seen = wait_for_count(
        &ch,
        &format!(
            "SELECT count() FROM (SELECT 1 FROM {METRICS_GAUGE} UNION ALL \
             SELECT 1 FROM {METRICS_SUM} UNION ALL SELECT 1 FROM {METRICS_HISTOGRAM})"
        ),
        5 + 5 + 2 + 3 + 1 + 1,
        WAIT,
    )
    .await?;
    assert_eq!(seen, 17);

    let server = QueryServer::start(&settings).await?;
    let mut f = Fixture {
        client: server.client().await?,
        base,
    };
    let filter = |key: &str, operator: MatchOperator, value: &str| LabelFilter {
        key: key.to_owned(),
        operator: operator as i32,
        value: value.to_owned(),
    };

    // One series per service (a resource attribute), each counting exactly
    // what it added.
    let mut r = f.req("orders.placed", Aggregation::Sum);
    r.group_by = vec!["service.name".to_owned()];
    let got = f.series(r).await?;
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, labels(&[("service.name", "cart")]));
    assert_points(&got[0].1, &[(0, 5.0), (60, 4.0)]);
    assert_eq!(got[1].0, labels(&[("service.name", "checkout")]));
    assert_points(&got[1].1, &[(0, 5.0), (60, 4.0)]);
    assert_eq!(got[2].0, labels(&[("service.name", "payment")]));
    assert_points(&got[2].1, &[(0, 3.0)]);
    let added: Vec<f64> = got
        .iter()
        .map(|(_, points)| points.iter().map(|(_, v)| v).sum())
        .collect();
    assert_eq!(added, [9.0, 9.0, 3.0]);

    let got = f.series(f.req("orders.placed", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, 13.0), (60, 8.0)]);
    let got = f.series(f.req("orders.placed", Aggregation::Rate)).await?;
    assert_single(&got, &[(0, 13.0 / 60.0), (60, 8.0 / 60.0)]);
    let got = f.series(f.req("orders.placed", Aggregation::Min)).await?;
    assert_single(&got, &[(0, 3.0), (60, 4.0)]);

    // Filters on resource attributes.
    let mut r = f.req("orders.placed", Aggregation::Sum);
    r.filters = vec![filter("service.name", MatchOperator::Equals, "checkout")];
    assert_single(&f.series(r).await?, &[(0, 5.0), (60, 4.0)]);
    let mut r = f.req("orders.placed", Aggregation::Sum);
    r.filters = vec![filter("service.name", MatchOperator::NotEquals, "payment")];
    assert_single(&f.series(r).await?, &[(0, 10.0), (60, 8.0)]);
    let mut r = f.req("orders.placed", Aggregation::Sum);
    r.filters = vec![filter("service.name", MatchOperator::Equals, "nobody")];
    assert!(f.series(r).await?.is_empty());
    // A point attribute wins over the resource's of the same name.
    let mut r = f.req("orders.placed", Aggregation::Sum);
    r.group_by = vec!["deployment.environment".to_owned()];
    let got = f.series(r).await?;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0].0,
        labels(&[("deployment.environment", "production")])
    );
    assert_points(&got[0].1, &[(0, 10.0), (60, 8.0)]);
    assert_eq!(got[1].0, labels(&[("deployment.environment", "staging")]));
    assert_points(&got[1].1, &[(0, 3.0)]);
    // Point and resource labels together.
    let mut r = f.req("orders.placed", Aggregation::Sum);
    r.filters = vec![filter("route", MatchOperator::Equals, "/pay")];
    r.group_by = vec!["service.version".to_owned(), "route".to_owned()];
    let got = f.series(r).await?;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0].0,
        labels(&[("route", "/pay"), ("service.version", "v1")])
    );
    assert_points(&got[0].1, &[(0, 8.0), (60, 4.0)]);
    assert_eq!(
        got[1].0,
        labels(&[("route", "/pay"), ("service.version", "v2")])
    );
    assert_points(&got[1].1, &[(0, 5.0), (60, 4.0)]);

    // An up-down counter's SUM is its net change: +5 −3, then +2.
    let got = f.series(f.req("cart.items", Aggregation::Sum)).await?;
    assert_single(&got, &[(0, 2.0), (60, 2.0)]);

    // ListMetrics: one entry per name and type, ordered, with the services.
    let (start, end) = (base, base + 120 * SEC);
    let cart_items_sum: Listed = (
        "cart.items".to_owned(),
        MetricType::Sum,
        "{item}".to_owned(),
        String::new(),
        false,
        strings(&["cart"]),
    );
    let cart_items_histogram: Listed = (
        "cart.items".to_owned(),
        MetricType::Histogram,
        "{item}".to_owned(),
        "Items per cart.".to_owned(),
        false,
        strings(&["frontend"]),
    );
    let orders: Listed = (
        "orders.placed".to_owned(),
        MetricType::Sum,
        "{order}".to_owned(),
        "Orders placed.".to_owned(),
        true,
        strings(&["cart", "checkout", "payment"]),
    );
    let all = f
        .client
        .list_metrics(authed(list_request(start, end, "", 0, ""), TOKEN))
        .await?
        .into_inner();
    assert_eq!(
        listed(&all),
        [
            cart_items_sum.clone(),
            cart_items_histogram.clone(),
            orders.clone()
        ]
    );
    assert_eq!(all.page.clone().unwrap_or_default().next_page_token, "");
    // Page by page: the same entries, once each.
    let mut paged = Vec::new();
    let mut token = String::new();
    for _ in 0..4 {
        let page = f
            .client
            .list_metrics(authed(list_request(start, end, "", 1, &token), TOKEN))
            .await?
            .into_inner();
        assert!(page.metrics.len() <= 1);
        paged.extend(listed(&page));
        token = page.page.unwrap_or_default().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, listed(&all));
    assert!(token.is_empty());
    // One service's.
    let frontend = f
        .client
        .list_metrics(authed(list_request(start, end, "frontend", 0, ""), TOKEN))
        .await?
        .into_inner();
    assert_eq!(listed(&frontend), [cart_items_histogram]);
    // Another tenant's and another time's.
    let globex = f
        .client
        .list_metrics(authed(list_request(start, end, "", 0, ""), OTHER_TOKEN))
        .await?
        .into_inner();
    assert_eq!(
        listed(&globex),
        [(
            "orders.placed".to_owned(),
            MetricType::Gauge,
            "1".to_owned(),
            String::new(),
            false,
            strings(&["globex-web"]),
        )]
    );
    let later = f
        .client
        .list_metrics(authed(
            list_request(end + 60 * SEC, end + 120 * SEC, "", 0, ""),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert!(later.metrics.is_empty());
    // Bad requests.
    for (request, code, field) in [
        (
            list_request(start, end, "", 0, "zz"),
            Code::InvalidArgument,
            "page.page_token",
        ),
        (
            list_request(end, start, "", 0, ""),
            Code::InvalidArgument,
            "time_range",
        ),
        (
            list_request(start, end, "", 100_000, ""),
            Code::ResourceExhausted,
            "page.page_size",
        ),
        (
            ListMetricsRequest::default(),
            Code::InvalidArgument,
            "time_range: required",
        ),
    ] {
        let status = f
            .client
            .list_metrics(authed(request, TOKEN))
            .await
            .expect_err("bad request");
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }
    let status = f
        .client
        .list_metrics(list_request(start, end, "", 0, ""))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    server.stop().await?;

    // A settled answer is cached like every other RPC's.
    let mut cached = settings.clone();
    cached.analytics.cache.redis_url = Some(airis_tests::redis_url());
    let server = QueryServer::start(&cached).await?;
    let mut client = server.client().await?;
    let answer = client
        .list_metrics(authed(list_request(start, end, "", 0, ""), TOKEN))
        .await?
        .into_inner();
    assert_eq!(listed(&answer), listed(&all));
    let pattern = format!(
        "airis:analytics:v1:{}:{TENANT}:ListMetrics:*",
        settings.clickhouse.database
    );
    let output = tokio::process::Command::new("redis-cli")
        .args([
            "-u",
            &airis_tests::redis_url(),
            "--scan",
            "--pattern",
            &pattern,
        ])
        .output()
        .await?;
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout)?.lines().count(), 1);

    server.stop().await?;
    pipeline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_metrics_split_by_service_and_count_its_requests() -> anyhow::Result<()> {
    let mut settings = Settings::new("ametrics_demo");
    settings.analytics.cache.redis_url = None;
    let pipeline = Pipeline::start(settings.clone()).await?;
    let start = now_unix_nano() - 60 * SEC;
    let config = DemoConfig {
        endpoint: pipeline.endpoint.clone(),
        token: TOKEN.to_owned(),
        rate: 50.0,
        duration: Some(Duration::from_secs(3)),
        seed: Some(7),
        metrics_interval: Duration::from_secs(1),
        ..DemoConfig::default()
    };
    let summary = airis_demo::run(config, Shutdown::new()).await?;
    assert_eq!((summary.errors, summary.dropped), (0, 0), "{summary:?}");
    let ch = pipeline.settings.clickhouse();
    let points = wait_for_count(
        &ch,
        &format!(
            "SELECT sum(c) FROM (SELECT count() AS c FROM {METRICS_HISTOGRAM} \
             UNION ALL SELECT count() FROM {METRICS_SUM} UNION ALL SELECT count() FROM {METRICS_GAUGE})"
        ),
        summary.points,
        WAIT,
    )
    .await?;
    assert_eq!(points, summary.points);
    let spans = wait_for_count(
        &ch,
        &format!("SELECT count() FROM {TRACES}"),
        summary.spans,
        WAIT,
    )
    .await?;
    assert_eq!(spans, summary.spans);
    // The counters were exported several times: summing their snapshots
    // would count every request several times.
    let exports: u64 = ch
        .query(&format!("SELECT uniqExact(TimeUnix) FROM {METRICS_SUM}"))
        .fetch_one()
        .await?;
    assert!(exports >= 3, "{exports} exports");
    // One request counted per server span.
    let expected: Vec<(String, u64)> = ch
        .query(&format!(
            "SELECT toString(ServiceName), count() FROM {TRACES} WHERE SpanKind = 'Server' \
             GROUP BY 1 ORDER BY 1"
        ))
        .fetch_all()
        .await?;
    let services: Vec<String> = expected.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(
        services,
        ["cart", "catalog", "checkout", "frontend", "payment"]
    );

    let server = QueryServer::start(&settings).await?;
    let mut client = server.client().await?;
    let range = TimeRange {
        start_unix_nano: start,
        end_unix_nano: now_unix_nano() + 60 * SEC,
    };
    let by_service = |metric: &str, aggregation: Aggregation, quantile: f64| QueryMetricsRequest {
        metric_name: metric.to_owned(),
        time_range: Some(range),
        aggregation: aggregation as i32,
        quantile,
        group_by: vec!["service.name".to_owned()],
        step_seconds: 60,
        ..Default::default()
    };
    let response = client
        .query_metrics(authed(
            by_service("http.server.request.count", Aggregation::Sum, 0.0),
            TOKEN,
        ))
        .await?
        .into_inner();
    let mut counted: Vec<(String, u64)> = response
        .series
        .iter()
        .map(|s| {
            let total: f64 = s.points.iter().map(|p| p.value).sum();
            (s.labels["service.name"].clone(), total.round() as u64)
        })
        .collect();
    counted.sort();
    assert_eq!(counted, expected);
    let response = client
        .query_metrics(authed(
            by_service("http.server.request.duration", Aggregation::Quantile, 0.99),
            TOKEN,
        ))
        .await?
        .into_inner();
    let mut quantiled: Vec<String> = response
        .series
        .iter()
        .map(|s| s.labels["service.name"].clone())
        .collect();
    quantiled.sort();
    assert_eq!(quantiled, services);
    assert!(
        response
            .series
            .iter()
            .flat_map(|s| &s.points)
            .all(|p| p.value > 0.0 && p.value <= 10.0),
        "{response:?}"
    );

    // ListMetrics: the demo's three metrics with the services sending each.
    let listed = listed(
        &client
            .list_metrics(authed(
                list_request(range.start_unix_nano, range.end_unix_nano, "", 0, ""),
                TOKEN,
            ))
            .await?
            .into_inner(),
    );
    let pools: Vec<String> = ch
        .query(&format!(
            "SELECT arraySort(groupUniqArray(toString(ServiceName))) FROM {METRICS_GAUGE}"
        ))
        .fetch_one()
        .await?;
    assert!(!pools.is_empty());
    assert_eq!(
        listed,
        [
            (
                "db.client.connection.count".to_owned(),
                MetricType::Gauge,
                "{connection}".to_owned(),
                "Connections of the postgres pool by state.".to_owned(),
                false,
                pools,
            ),
            (
                "http.server.request.count".to_owned(),
                MetricType::Sum,
                "{request}".to_owned(),
                "Number of HTTP server requests handled.".to_owned(),
                true,
                services.clone(),
            ),
            (
                "http.server.request.duration".to_owned(),
                MetricType::Histogram,
                "s".to_owned(),
                "Duration of HTTP server requests.".to_owned(),
                false,
                services,
            ),
        ]
    );

    server.stop().await?;
    pipeline.stop().await
}
