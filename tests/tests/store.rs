//! The storage contract against the shared ClickHouse engine: migrations
//! run concurrently and repeatedly, follow the retention settings, and every
//! batch type the loader writes is stored as the exporter would store it,
//! exactly once per deduplication token.

use airis_ingestion::rows::{Batch, LogBatch, MetricBatch, TraceBatch};
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::{
    collector::{
        logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
        trace::v1::ExportTraceServiceRequest,
    },
    common::v1::{AnyValue, InstrumentationScope, KeyValueList, any_value::Value},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
        Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
        exponential_histogram_data_point::Buckets, metric, number_data_point,
        summary_data_point::ValueAtQuantile,
    },
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span},
};
use airis_proto::prost::Message as _;
use airis_store::schema::{self, SchemaConfig};
use airis_store::tables;
use airis_tests::Settings;
use anyhow::Context as _;

/// 2023-11-14T22:13:20Z, 20 s into its minute.
const T0: u64 = 1_700_000_000_000_000_000;

/// A fresh, empty database on the shared engine.
fn database(name: &str) -> (clickhouse::Client, String) {
    let settings = Settings::new(name);
    (
        settings.clickhouse.server_client(),
        settings.clickhouse.database,
    )
}

async fn drop_database(server: &clickhouse::Client, database: &str) -> anyhow::Result<()> {
    server
        .clone()
        .with_database("system")
        .query_raw(&format!("DROP DATABASE IF EXISTS `{database}`"))
        .execute()
        .await
        .context("drop database")
}

async fn count(client: &clickhouse::Client, table: &str) -> anyhow::Result<u64> {
    client
        .query(&format!("SELECT count() FROM {table}"))
        .fetch_one()
        .await
        .with_context(|| format!("count {table}"))
}

#[tokio::test]
async fn migrate_is_versioned_idempotent_and_follows_ttl_config() -> anyhow::Result<()> {
    let (server, database) = database("schema");
    let config = SchemaConfig::default();

    // Two migrators at once on a fresh database: both succeed.
    let (a, b) = tokio::join!(
        schema::migrate(&server, &database, &config),
        schema::migrate(&server, &database, &config)
    );
    let (a, b) = (a.context("first migrate")?, b.context("second migrate")?);
    let all: Vec<u32> = schema::render_migrations(&database, &config)
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(all, (1..=13).collect::<Vec<u32>>());
    assert!(a == all || b == all, "{a:?} {b:?}");
    // And again: nothing left to do.
    assert_eq!(
        schema::migrate(&server, &database, &config).await?,
        Vec::<u32>::new()
    );

    let client = server.clone().with_database(&database);
    let versions: Vec<u32> = client
        .query(&format!(
            "SELECT DISTINCT version FROM {} ORDER BY version",
            tables::MIGRATIONS
        ))
        .fetch_all()
        .await?;
    assert_eq!(versions, all);

    // A changed retention is applied to the existing tables.
    let changed = SchemaConfig {
        logs_ttl_days: 0,
        metrics_ttl_days: 7,
        ..SchemaConfig::default()
    };
    assert!(
        schema::migrate(&server, &database, &changed)
            .await?
            .is_empty()
    );
    let engine = |table: &'static str| {
        let (client, database) = (client.clone(), database.clone());
        async move {
            client
                .query("SELECT engine_full FROM system.tables WHERE database = ? AND name = ?")
                .bind(database)
                .bind(table)
                .fetch_one::<String>()
                .await
        }
    };
    assert!(!engine(tables::LOGS).await?.contains(" TTL "));
    // Alert rules are what people configured: kept whatever the retention.
    assert!(!engine(tables::ALERT_RULES).await?.contains(" TTL "));
    assert!(!engine(tables::SILENCES).await?.contains(" TTL "));
    assert!(
        engine(tables::METRICS_GAUGE)
            .await?
            .contains("TTL toDateTime(TimeUnix) + toIntervalDay(7)")
    );
    assert!(
        engine(tables::TRACES)
            .await?
            .contains("TTL toDateTime(Timestamp) + toIntervalDay(15)")
    );

    drop_database(&server, &database).await
}

#[tokio::test]
async fn batches_insert_read_back_and_deduplicate() -> anyhow::Result<()> {
    let (server, database) = database("rows");
    // The sample data is from 2023: without a TTL, so that it is not
    // expired (and dropped) on arrival.
    let no_ttl = SchemaConfig {
        traces_ttl_days: 0,
        logs_ttl_days: 0,
        metrics_ttl_days: 0,
        ..SchemaConfig::default()
    };
    schema::migrate(&server, &database, &no_ttl).await?;
    let client = server.clone().with_database(&database);

    let mut traces = TraceBatch::default();
    traces.push_encoded("acme", &traces_request(7, 3).encode_to_vec())?;
    traces.push_encoded("globex", &traces_request(7, 2).encode_to_vec())?;
    let mut logs = LogBatch::default();
    logs.push_encoded("acme", &logs_request(3).encode_to_vec())?;
    let mut metrics = MetricBatch::default();
    metrics.push_encoded("acme", &metrics_request().encode_to_vec())?;

    let expected = [
        (tables::TRACES, 5),
        (tables::TRACE_ID_TS, 2),
        (tables::MINUTE_COUNTS, 2),
        (tables::LOGS, 3),
        (tables::METRICS_GAUGE, 1),
        (tables::METRICS_SUM, 2),
        (tables::METRICS_HISTOGRAM, 1),
        (tables::METRICS_EXP_HISTOGRAM, 1),
        (tables::METRICS_SUMMARY, 1),
    ];
    for attempt in 0..2 {
        traces.insert(&client, "batch-1").await.context("traces")?;
        logs.insert(&client, "batch-1").await.context("logs")?;
        metrics
            .insert(&client, "batch-1")
            .await
            .context("metrics")?;
        for (table, rows) in expected {
            assert_eq!(
                count(&client, table).await?,
                rows,
                "{table} after attempt {attempt}"
            );
        }
    }

    // Spans per tenant and minute, as ClickHouse itself groups the spans.
    let counts: Vec<(String, u32, u64)> = client
        .query(&format!(
            "SELECT toString(TenantId), toUInt32(Minute), sum(Spans) FROM {} \
             GROUP BY ALL ORDER BY ALL",
            tables::MINUTE_COUNTS
        ))
        .fetch_all()
        .await?;
    let from_spans: Vec<(String, u32, u64)> = client
        .query(&format!(
            "SELECT toString(TenantId), toUInt32(toStartOfMinute(Timestamp)), count() \
             FROM {} GROUP BY ALL ORDER BY ALL",
            tables::TRACES
        ))
        .fetch_all()
        .await?;
    assert_eq!(counts, from_spans);
    assert_eq!(counts.iter().map(|c| c.2).sum::<u64>(), 5);

    // Values read back as the exporter would have stored them.
    let (kind, status, trace_id, parent, duration, service): (
        String,
        String,
        String,
        String,
        u64,
        String,
    ) = client
        .query(&format!(
            "SELECT SpanKind, StatusCode, TraceId, ParentSpanId, Duration, ServiceName \
             FROM {} WHERE TenantId = 'acme' ORDER BY Timestamp LIMIT 1",
            tables::TRACES
        ))
        .fetch_one()
        .await?;
    assert_eq!(
        (
            kind.as_str(),
            status.as_str(),
            parent.as_str(),
            duration,
            service.as_str()
        ),
        ("Server", "Error", "", 1500, "checkout")
    );
    assert_eq!(trace_id, "07".repeat(16));
    let (event, link_state, attr): (String, String, String) = client
        .query(&format!(
            "SELECT Events.Name[1], Links.TraceState[1], SpanAttributes['http.status_code'] \
             FROM {} WHERE TenantId = 'acme' LIMIT 1",
            tables::TRACES
        ))
        .fetch_one()
        .await?;
    assert_eq!(
        (event.as_str(), link_state.as_str(), attr.as_str()),
        ("exception", "a=b", "200")
    );
    let lookup: Vec<(String, i64, i64)> = client
        .query(&format!(
            "SELECT TenantId, toUnixTimestamp64Nano(min(Start)), toUnixTimestamp64Nano(max(End)) \
             FROM {} GROUP BY TenantId, TraceId ORDER BY TenantId",
            tables::TRACE_ID_TS
        ))
        .fetch_all()
        .await?;
    let base = T0 as i64;
    assert_eq!(
        lookup,
        vec![
            ("acme".to_owned(), base, base + 2000),
            ("globex".to_owned(), base, base + 1000)
        ]
    );
    // The record without a time: stored at its observed time.
    let (body, time, time_time, flags): (String, i64, u32, u8) = client
        .query(&format!(
            "SELECT Body, toUnixTimestamp64Nano(Timestamp), toUnixTimestamp(TimestampTime), \
             TraceFlags FROM {} WHERE Body LIKE '%\"n\":1}}'",
            tables::LOGS
        ))
        .fetch_one()
        .await?;
    assert_eq!(body, r#"{"msg":"hi","n":1}"#);
    assert_eq!(time, 1_700_000_000_500_000_000);
    assert_eq!(time_time, 1_700_000_000);
    assert_eq!(flags, 1);
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Arrays {
        quantiles: Vec<f64>,
        buckets: Vec<u64>,
    }
    let Arrays { quantiles, buckets } = client
        .query(&format!(
            "SELECT (SELECT ValueAtQuantiles.Quantile FROM {}) AS quantiles, \
             (SELECT BucketCounts FROM {}) AS buckets",
            tables::METRICS_SUMMARY,
            tables::METRICS_HISTOGRAM
        ))
        .fetch_one()
        .await?;
    assert_eq!((quantiles, buckets), (vec![0.5, 0.99], vec![1, 2, 3]));

    // A different token is a different batch: its rows are inserted.
    logs.insert(&client, "batch-2").await?;
    assert_eq!(count(&client, tables::LOGS).await?, 6);

    // An empty batch inserts nothing and needs no table.
    LogBatch::default()
        .insert(&client, "batch-3")
        .await
        .context("empty insert")?;

    drop_database(&server, &database).await
}

/// `spans` spans of one trace (`trace_byte` repeated), 1 µs apart, the first
/// a root: failed server calls with an event, a link and attributes.
fn traces_request(trace_byte: u8, spans: usize) -> ExportTraceServiceRequest {
    let span = |i: usize| Span {
        trace_id: vec![trace_byte; 16],
        span_id: vec![i as u8 + 1; 8],
        parent_span_id: if i == 0 { vec![] } else { vec![1; 8] },
        trace_state: "k=v".into(),
        name: format!("op-{i}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: T0 + i as u64 * 1000,
        end_time_unix_nano: T0 + i as u64 * 1000 + 1_500,
        attributes: vec![
            kv("http.method", "GET"),
            kv("http.status_code", Value::IntValue(200)),
        ],
        events: vec![span::Event {
            time_unix_nano: T0 + 500,
            name: "exception".into(),
            attributes: vec![kv("exception.escaped", Value::BoolValue(false))],
            dropped_attributes_count: 0,
        }],
        links: vec![span::Link {
            trace_id: vec![0xab; 16],
            span_id: vec![0xcd; 8],
            trace_state: "a=b".into(),
            attributes: vec![kv("link.kind", "follows")],
            dropped_attributes_count: 0,
            flags: 0,
        }],
        status: Some(Status {
            message: "boom".into(),
            code: 2,
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "io.opentelemetry.http".into(),
                    version: "1.2.3".into(),
                    ..Default::default()
                }),
                spans: (0..spans).map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// `records` log records; the second has no time (only an observed time)
/// and every one but the first a key-value list body `{"msg":"hi","n":<i>}`.
fn logs_request(records: usize) -> ExportLogsServiceRequest {
    let record = |i: usize| LogRecord {
        time_unix_nano: if i == 1 { 0 } else { T0 + i as u64 },
        observed_time_unix_nano: T0 + 500_000_000,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue {
            value: Some(if i == 0 {
                Value::StringValue("disk full".into())
            } else {
                Value::KvlistValue(KeyValueList {
                    values: vec![kv("msg", "hi"), kv("n", Value::IntValue(i as i64))],
                })
            }),
        }),
        attributes: vec![kv("retry", Value::BoolValue(true))],
        flags: 0x101,
        trace_id: vec![0x11; 16],
        span_id: vec![0x22; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "billing")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: None,
                log_records: (0..records).map(record).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// One metric of each type (two sum points) and one without data, which is
/// skipped.
fn metrics_request() -> ExportMetricsServiceRequest {
    let (start, time) = (T0, T0 + 60_000_000_000);
    let number = |value| NumberDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(value),
        ..Default::default()
    };
    let metric = |name: &str, data| Metric {
        name: name.into(),
        data: Some(data),
        ..Default::default()
    };
    let metrics = vec![
        metric(
            "queue.depth",
            metric::Data::Gauge(Gauge {
                data_points: vec![number(number_data_point::Value::AsInt(42))],
            }),
        ),
        metric(
            "requests",
            metric::Data::Sum(Sum {
                data_points: vec![
                    number(number_data_point::Value::AsDouble(3.5)),
                    number(number_data_point::Value::AsInt(4)),
                ],
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "latency",
            metric::Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: vec![kv("route", "/pay")],
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count: 6,
                    sum: Some(60.0),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![5.0, 10.0],
                    ..Default::default()
                }],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "latency.exp",
            metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count: 9,
                    sum: Some(12.5),
                    scale: 3,
                    zero_count: 1,
                    positive: Some(Buckets {
                        offset: -2,
                        bucket_counts: vec![4, 4],
                    }),
                    ..Default::default()
                }],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "rpc.duration",
            metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    count: 10,
                    sum: 100.0,
                    quantile_values: vec![
                        ValueAtQuantile {
                            quantile: 0.5,
                            value: 8.0,
                        },
                        ValueAtQuantile {
                            quantile: 0.99,
                            value: 30.0,
                        },
                    ],
                    ..Default::default()
                }],
            }),
        ),
        Metric {
            name: "empty".into(),
            ..Default::default()
        },
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "payments")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}
