//! `airis demo` end to end: the synthetic web shop's traces, logs and metrics
//! through a receiver and loader into ClickHouse, checked for consistent
//! links, the designed topology and exact counts.

use std::time::Duration;

use airis_demo::DemoConfig;
use airis_runtime::Shutdown;
use airis_store::tables::{LOGS, METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, TRACES};
use airis_tests::{Pipeline, Settings, TOKEN, wait_for_count};

const WAIT: Duration = Duration::from_secs(60);

async fn strings(ch: &clickhouse::Client, sql: &str) -> anyhow::Result<Vec<String>> {
    Ok(ch.query(sql).fetch_all::<String>().await?)
}

async fn pairs(ch: &clickhouse::Client, sql: &str) -> anyhow::Result<Vec<(String, String)>> {
    Ok(ch.query(sql).fetch_all::<(String, String)>().await?)
}

fn owned(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn demo_traffic_lands_with_the_designed_topology() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("demo")).await?;
    let config = DemoConfig {
        endpoint: pipeline.endpoint.clone(),
        token: TOKEN.to_owned(),
        rate: 100.0,
        duration: Some(Duration::from_secs(3)),
        error_rate: 0.05,
        seed: Some(42),
        metrics_interval: Duration::from_secs(1),
        ..DemoConfig::default()
    };
    let summary = airis_demo::run(config, Shutdown::new()).await?;
    assert_eq!((summary.errors, summary.dropped), (0, 0), "{summary:?}");
    assert!(summary.traces > 200, "{summary:?}");
    assert_eq!(summary.traces, summary.generated_traces);
    assert!(summary.spans > summary.traces * 3 && summary.logs > 0 && summary.points > 0);

    let ch = pipeline.settings.clickhouse();
    // Exact counts: every accepted span, log and point lands once.
    let spans = wait_for_count(
        &ch,
        &format!("SELECT count() FROM {TRACES}"),
        summary.spans,
        WAIT,
    )
    .await?;
    assert_eq!(spans, summary.spans);
    let logs = wait_for_count(
        &ch,
        &format!("SELECT count() FROM {LOGS}"),
        summary.logs,
        WAIT,
    )
    .await?;
    assert_eq!(logs, summary.logs);
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
    let traces: u64 = ch
        .query(&format!("SELECT uniqExact(TraceId) FROM {TRACES}"))
        .fetch_one()
        .await?;
    assert_eq!(traces, summary.traces);

    // Every parent exists in the same trace; one root per trace.
    let orphans: u64 = ch
        .query(&format!(
            "SELECT count() FROM (SELECT TraceId, ParentSpanId FROM {TRACES} \
             WHERE ParentSpanId != '') AS c \
             LEFT ANTI JOIN {TRACES} AS p ON c.TraceId = p.TraceId AND c.ParentSpanId = p.SpanId"
        ))
        .fetch_one()
        .await?;
    assert_eq!(orphans, 0);
    let roots: u64 = ch
        .query(&format!(
            "SELECT count() FROM {TRACES} WHERE ParentSpanId = ''"
        ))
        .fetch_one()
        .await?;
    assert_eq!(roots, summary.traces);

    // Cross-service edges are exactly the designed ones, client → server.
    let edges = pairs(
        &ch,
        &format!(
            "SELECT DISTINCT p.ServiceName, c.ServiceName FROM {TRACES} AS c \
         INNER JOIN {TRACES} AS p ON c.TraceId = p.TraceId AND c.ParentSpanId = p.SpanId \
         WHERE c.ServiceName != p.ServiceName ORDER BY 1, 2"
        ),
    )
    .await?;
    assert_eq!(
        edges,
        owned(&[
            ("checkout", "cart"),
            ("checkout", "payment"),
            ("frontend", "catalog"),
            ("frontend", "checkout"),
        ])
    );
    let kinds = pairs(
        &ch,
        &format!(
            "SELECT DISTINCT p.SpanKind, c.SpanKind FROM {TRACES} AS c \
         INNER JOIN {TRACES} AS p ON c.TraceId = p.TraceId AND c.ParentSpanId = p.SpanId \
         WHERE c.ServiceName != p.ServiceName"
        ),
    )
    .await?;
    assert_eq!(kinds, owned(&[("Client", "Server")]));
    // Database and cache calls: client spans with db.system.
    let db = pairs(
        &ch,
        &format!(
            "SELECT DISTINCT ServiceName, SpanAttributes['db.system'] FROM {TRACES} \
         WHERE SpanAttributes['db.system'] != '' AND SpanKind = 'Client' ORDER BY 1, 2"
        ),
    )
    .await?;
    assert_eq!(
        db,
        owned(&[
            ("cart", "redis"),
            ("catalog", "postgresql"),
            ("catalog", "redis"),
            ("checkout", "postgresql"),
            ("payment", "postgresql"),
        ])
    );
    let services = strings(
        &ch,
        &format!("SELECT DISTINCT ServiceName FROM {TRACES} ORDER BY 1"),
    )
    .await?;
    assert_eq!(
        services,
        ["cart", "catalog", "checkout", "frontend", "payment"]
    );
    let versions = strings(
        &ch,
        &format!(
            "SELECT DISTINCT ResourceAttributes['service.version'] FROM {TRACES} \
         WHERE ServiceName = 'checkout' ORDER BY 1"
        ),
    )
    .await?;
    assert_eq!(versions, ["v1", "v2"]);
    let (scope, environment, hosts): (String, String, u64) = ch
        .query(&format!(
            "SELECT any(ScopeName), any(ResourceAttributes['deployment.environment']), \
             uniqExact(ResourceAttributes['host.name']) FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    assert_eq!(
        (scope.as_str(), environment.as_str()),
        ("airis-demo", "demo")
    );
    assert_eq!(hosts, 6, "one host per service instance");
    let http: u64 = ch
        .query(
            &format!("SELECT count() FROM {TRACES} WHERE SpanKind = 'Server' AND \
             (SpanAttributes['http.request.method'] = '' OR SpanAttributes['http.route'] = '' \
             OR SpanAttributes['http.response.status_code'] = '' OR SpanAttributes['server.address'] = '')"),
        )
        .fetch_one()
        .await?;
    assert_eq!(http, 0, "server spans carry the HTTP semconv attributes");

    // Logs point at stored traces and spans.
    let stray: u64 = ch
        .query(&format!(
            "SELECT count() FROM {LOGS} AS l LEFT ANTI JOIN {TRACES} AS t \
             ON l.TraceId = t.TraceId AND l.SpanId = t.SpanId"
        ))
        .fetch_one()
        .await?;
    assert_eq!(stray, 0);
    let severities = strings(
        &ch,
        &format!("SELECT DISTINCT SeverityText FROM {LOGS} ORDER BY 1"),
    )
    .await?;
    assert!(severities.iter().any(|s| s == "INFO") && severities.iter().any(|s| s == "ERROR"));
    let korean: u64 = ch
        .query(&format!(
            "SELECT count() FROM {LOGS} WHERE match(Body, '[가-힣]')"
        ))
        .fetch_one()
        .await?;
    assert!(korean > 0);

    // Metrics tables hold the demo's metrics.
    for (table, name) in [
        (METRICS_HISTOGRAM, "http.server.request.duration"),
        (METRICS_SUM, "http.server.request.count"),
        (METRICS_GAUGE, "db.client.connection.count"),
    ] {
        let names = strings(&ch, &format!("SELECT DISTINCT MetricName FROM {table}")).await?;
        assert_eq!(names, [name], "{table}");
    }
    // The cumulative request counter of the last export equals the server
    // spans: one sample per handled request.
    let requests: u64 = ch
        .query(&format!(
            "SELECT toUInt64(sum(v)) FROM (SELECT argMax(Value, TimeUnix) AS v \
             FROM {METRICS_SUM} GROUP BY ServiceName, ResourceAttributes, Attributes)"
        ))
        .fetch_one()
        .await?;
    let server_spans: u64 = ch
        .query(&format!(
            "SELECT count() FROM {TRACES} WHERE SpanKind = 'Server'"
        ))
        .fetch_one()
        .await?;
    assert_eq!(requests, server_spans);

    pipeline.stop().await
}
