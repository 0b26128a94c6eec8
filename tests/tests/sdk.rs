//! A real OpenTelemetry SDK (the official Python one, not our code) exports
//! traces, logs and metrics; every item lands in ClickHouse with its
//! attributes, resource and scope intact, and the counts are exact.

use std::time::Duration;

use airis_store::tables::{LOGS, METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, TRACES};
use airis_tests::{Pipeline, Settings, TENANT, TOKEN, python, repo_root, wait_for_count};
use anyhow::{Context as _, ensure};

const WAIT: Duration = Duration::from_secs(90);

#[derive(serde::Deserialize, Debug)]
struct Exported {
    spans: u64,
    logs: u64,
    metric_points: MetricPoints,
    trace_ids: Vec<String>,
    error_spans: u64,
    correlated_logs: u64,
}

#[derive(serde::Deserialize, Debug)]
struct MetricPoints {
    gauge: u64,
    sum: u64,
    histogram: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_export_lands_intact_and_exact() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("sdk")).await?;
    let run_id = airis_tests::unique("run");
    let endpoint = pipeline.endpoint.trim_start_matches("http://").to_owned();

    let output = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/sdk/otel_export.py"))
        .args(["--endpoint", &endpoint, "--insecure"])
        .args(["--header", &format!("authorization=Bearer {TOKEN}")])
        .args(["--service", "checkout", "--traces", "40", "--logs", "30"])
        .args(["--run-id", &run_id])
        .output()
        .await
        .context("run tests/sdk/otel_export.py (scripts/infra.sh start tools installs the sdk)")?;
    ensure!(
        output.status.success(),
        "sdk export failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let exported: Exported = serde_json::from_slice(&output.stdout)?;
    assert_eq!(exported.spans, 120);
    assert_eq!(exported.logs, 30);

    let ch = pipeline.settings.clickhouse();
    let count = |table: &str, attrs: &str| {
        format!("SELECT count() FROM {table} WHERE {attrs}['run.id'] = '{run_id}'")
    };
    let spans = wait_for_count(&ch, &count(TRACES, "SpanAttributes"), exported.spans, WAIT).await?;
    let logs = wait_for_count(&ch, &count(LOGS, "LogAttributes"), exported.logs, WAIT).await?;
    let gauge = wait_for_count(
        &ch,
        &count(METRICS_GAUGE, "Attributes"),
        exported.metric_points.gauge,
        WAIT,
    )
    .await?;
    let sum = wait_for_count(
        &ch,
        &count(METRICS_SUM, "Attributes"),
        exported.metric_points.sum,
        WAIT,
    )
    .await?;
    let histogram = wait_for_count(
        &ch,
        &count(METRICS_HISTOGRAM, "Attributes"),
        exported.metric_points.histogram,
        WAIT,
    )
    .await?;
    assert_eq!(
        (spans, logs, gauge, sum, histogram),
        (
            exported.spans,
            exported.logs,
            exported.metric_points.gauge,
            exported.metric_points.sum,
            exported.metric_points.histogram
        )
    );

    // Traces: every trace id, its three spans, kinds, parent links, errors.
    let traces: u64 = ch
        .query(&format!(
            "SELECT uniqExact(TraceId) FROM {TRACES} WHERE TraceId IN ?"
        ))
        .bind(&exported.trace_ids)
        .fetch_one()
        .await?;
    assert_eq!(traces, exported.trace_ids.len() as u64);
    let errors: u64 = ch
        .query(&format!(
            "SELECT countIf(StatusCode = 'Error') FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    assert_eq!(errors, exported.error_spans);
    let (tenant, service, version, env, scope, scope_version): (
        String,
        String,
        String,
        String,
        String,
        String,
    ) = ch
        .query(&format!(
            "SELECT any(TenantId), any(ServiceName), any(ResourceAttributes['service.version']), \
             any(ResourceAttributes['deployment.environment']), any(ScopeName), any(ScopeVersion) \
             FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    assert_eq!(tenant, TENANT);
    assert_eq!(service, "checkout");
    assert!(!version.is_empty());
    assert!(!env.is_empty());
    assert_eq!(
        (scope.as_str(), scope_version.as_str()),
        ("airis.tests.sdk", "1.0.0")
    );

    // Attribute types survive as the exporter schema stores them.
    let (index, ratio, hit, tags, role): (String, String, String, String, String) = ch
        .query(&format!(
            "SELECT SpanAttributes['trace.index'], SpanAttributes['sample.ratio'], \
             SpanAttributes['cache.hit'], SpanAttributes['tags'], SpanAttributes['span.role'] \
             FROM {TRACES} WHERE SpanKind = 'Server' AND SpanAttributes['trace.index'] = '1'"
        ))
        .fetch_one()
        .await?;
    assert_eq!((index.as_str(), role.as_str()), ("1", "root"));
    assert_eq!(ratio, "1.25");
    assert_eq!(hit, "false");
    assert!(tags.contains("airis") && tags.contains("root"), "{tags}");

    // Events and links.
    let (events, event_bytes): (u64, String) = ch
        .query(&format!(
            "SELECT length(`Events.Name`), `Events.Attributes`[1]['request.bytes'] \
             FROM {TRACES} WHERE SpanKind = 'Server' AND SpanAttributes['trace.index'] = '2'"
        ))
        .fetch_one()
        .await?;
    assert_eq!((events, event_bytes.as_str()), (1, "514"));
    let links: u64 = ch
        .query(&format!(
            "SELECT sum(length(`Links.TraceId`)) FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    assert_eq!(links, exported.spans / 3);
    let parented: u64 = ch
        .query(&format!("SELECT countIf(ParentSpanId != '') FROM {TRACES}"))
        .fetch_one()
        .await?;
    assert_eq!(parented, exported.spans / 3 * 2);

    // Logs: severities, bodies, correlation.
    let by_severity: Vec<(String, u8, u64)> = ch
        .query(&format!(
            "SELECT SeverityText, SeverityNumber, count() FROM {LOGS} \
             GROUP BY SeverityText, SeverityNumber ORDER BY SeverityNumber"
        ))
        .fetch_all()
        .await?;
    assert_eq!(
        by_severity,
        vec![
            ("INFO".to_owned(), 9, 10),
            ("WARN".to_owned(), 13, 10),
            ("ERROR".to_owned(), 17, 10)
        ]
    );
    let body: String = ch
        .query(&format!(
            "SELECT Body FROM {LOGS} WHERE LogAttributes['log.index'] = '4'"
        ))
        .fetch_one()
        .await?;
    assert_eq!(body, "order 4 processed (warn)");
    let correlated: u64 = ch
        .query(&format!(
            "SELECT countIf(TraceId != '' AND SpanId != '') FROM {LOGS}"
        ))
        .fetch_one()
        .await?;
    assert_eq!(correlated, exported.correlated_logs);

    // Metrics: values and histogram buckets.
    let gauge_sum: f64 = ch
        .query(&format!(
            "SELECT sum(Value) FROM {METRICS_GAUGE} WHERE MetricName = 'airis.test.queue_depth'"
        ))
        .fetch_one()
        .await?;
    assert_eq!(gauge_sum, 10.0);
    let (counter_sum, monotonic): (f64, u8) = ch
        .query(&format!("SELECT sum(Value), min(toUInt8(IsMonotonic)) FROM {METRICS_SUM} WHERE MetricName = 'airis.test.requests'"))
        .fetch_one()
        .await?;
    assert_eq!((counter_sum, monotonic), (6.0, 1));
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Buckets {
        #[serde(rename = "Count")]
        count: u64,
        #[serde(rename = "BucketCounts")]
        buckets: Vec<u64>,
    }
    let Buckets { count, buckets } = ch
        .query(&format!(
            "SELECT ?fields FROM {METRICS_HISTOGRAM} \
             WHERE MetricName = 'airis.test.latency' AND Attributes['http.route'] = '/checkout'"
        ))
        .fetch_one()
        .await?;
    assert_eq!(count, 5);
    assert_eq!(buckets, vec![1, 1, 0, 1, 0, 1, 1]);

    pipeline.stop().await
}
