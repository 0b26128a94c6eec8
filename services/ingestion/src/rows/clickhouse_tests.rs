//! Against a real ClickHouse HTTP endpoint, when `AIRIS_CLICKHOUSE_URL` is
//! set (e.g. `http://127.0.0.1:8123` from `scripts/infra.sh start clickhouse`):
//! migrations run twice, every batch type is inserted, read back, and
//! re-inserted with the same token without creating duplicates.

use std::time::{SystemTime, UNIX_EPOCH};

use airis_proto::prost::Message as _;

use super::{Batch, LogBatch, MetricBatch, TraceBatch};
use crate::schema::{self, SchemaConfig, tables};

const URL_VAR: &str = "AIRIS_CLICKHOUSE_URL";

fn server() -> Option<clickhouse::Client> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(clickhouse::Client::default().with_url(url)),
        _ => {
            eprintln!("skipping: set {URL_VAR} to run the ClickHouse integration tests");
            None
        }
    }
}

fn unique_database(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

async fn count(client: &clickhouse::Client, table: &str) -> u64 {
    client
        .query(&format!("SELECT count() FROM {table}"))
        .fetch_one::<u64>()
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

async fn drop_database(server: &clickhouse::Client, database: &str) {
    let _ = server
        .clone()
        .with_database("system")
        .query_raw(&format!("DROP DATABASE IF EXISTS `{database}`"))
        .execute()
        .await;
}

#[tokio::test]
async fn migrate_is_versioned_idempotent_and_follows_ttl_config() {
    let Some(server) = server() else { return };
    let database = unique_database("airis_schema_test");
    let config = SchemaConfig::default();

    // Two migrators at once on a fresh database: both succeed.
    let (a, b) = tokio::join!(
        schema::migrate(&server, &database, &config),
        schema::migrate(&server, &database, &config)
    );
    let (a, b) = (a.expect("first migrate"), b.expect("second migrate"));
    let all: Vec<u32> = schema::render_migrations(&database, &config)
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(all, (1..=6).collect::<Vec<u32>>());
    assert!(a == all || b == all, "{a:?} {b:?}");
    // And again: nothing left to do.
    assert_eq!(
        schema::migrate(&server, &database, &config).await.unwrap(),
        Vec::<u32>::new()
    );

    let client = server.clone().with_database(&database);
    let versions: Vec<u32> = client
        .query("SELECT DISTINCT version FROM airis_schema_migrations ORDER BY version")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(versions, all);

    // A changed retention is applied to the existing tables.
    let changed = SchemaConfig {
        logs_ttl_days: 0,
        metrics_ttl_days: 7,
        ..SchemaConfig::default()
    };
    assert!(
        schema::migrate(&server, &database, &changed)
            .await
            .unwrap()
            .is_empty()
    );
    let engine = |table: &'static str| {
        let client = client.clone();
        let database = database.clone();
        async move {
            client
                .query("SELECT engine_full FROM system.tables WHERE database = ? AND name = ?")
                .bind(database)
                .bind(table)
                .fetch_one::<String>()
                .await
                .unwrap()
        }
    };
    assert!(!engine(tables::LOGS).await.contains(" TTL "));
    assert!(
        engine(tables::METRICS_GAUGE)
            .await
            .contains("TTL toDateTime(TimeUnix) + toIntervalDay(7)")
    );
    assert!(
        engine(tables::TRACES)
            .await
            .contains("TTL toDateTime(Timestamp) + toIntervalDay(15)")
    );

    drop_database(&server, &database).await;
}

#[tokio::test]
async fn batches_insert_read_back_and_deduplicate() {
    let Some(server) = server() else { return };
    let database = unique_database("airis_rows_test");
    // The sample data is from 2023: without a TTL, so that it is not
    // expired (and dropped) on arrival.
    let no_ttl = SchemaConfig {
        traces_ttl_days: 0,
        logs_ttl_days: 0,
        metrics_ttl_days: 0,
        ..SchemaConfig::default()
    };
    schema::migrate(&server, &database, &no_ttl)
        .await
        .expect("migrate");
    let client = server.clone().with_database(&database);

    let mut traces = TraceBatch::default();
    traces
        .push_encoded(
            "acme",
            &super::traces::tests::sample_request(7, 3).encode_to_vec(),
        )
        .unwrap();
    traces
        .push_encoded(
            "globex",
            &super::traces::tests::sample_request(7, 2).encode_to_vec(),
        )
        .unwrap();
    let mut logs = LogBatch::default();
    logs.push_encoded(
        "acme",
        &super::logs::tests::sample_request(3).encode_to_vec(),
    )
    .unwrap();
    let mut metrics = MetricBatch::default();
    metrics
        .push_encoded(
            "acme",
            &super::metrics::tests::sample_request().encode_to_vec(),
        )
        .unwrap();

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
        traces
            .insert(&client, "batch-1")
            .await
            .expect("traces insert");
        logs.insert(&client, "batch-1").await.expect("logs insert");
        metrics
            .insert(&client, "batch-1")
            .await
            .expect("metrics insert");
        for (table, rows) in expected {
            assert_eq!(
                count(&client, table).await,
                rows,
                "{table} after attempt {attempt}"
            );
        }
    }

    // Spans per tenant and minute, as ClickHouse itself groups the spans.
    let counts: Vec<(String, u32, u64)> = client
        .query(
            "SELECT toString(TenantId), toUInt32(Minute), sum(Spans) FROM otel_traces_minute_counts \
             GROUP BY ALL ORDER BY ALL",
        )
        .fetch_all()
        .await
        .expect("minute counts");
    let from_spans: Vec<(String, u32, u64)> = client
        .query(
            "SELECT toString(TenantId), toUInt32(toStartOfMinute(Timestamp)), count() \
             FROM otel_traces GROUP BY ALL ORDER BY ALL",
        )
        .fetch_all()
        .await
        .expect("span counts");
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
        .query(
            "SELECT SpanKind, StatusCode, TraceId, ParentSpanId, Duration, ServiceName \
                 FROM otel_traces WHERE TenantId = 'acme' ORDER BY Timestamp LIMIT 1",
        )
        .fetch_one()
        .await
        .unwrap();
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
        .query(
            "SELECT Events.Name[1], Links.TraceState[1], SpanAttributes['http.status_code'] \
             FROM otel_traces WHERE TenantId = 'acme' LIMIT 1",
        )
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(
        (event.as_str(), link_state.as_str(), attr.as_str()),
        ("exception", "a=b", "200")
    );
    let lookup: Vec<(String, i64, i64)> = client
        .query(
            "SELECT TenantId, toUnixTimestamp64Nano(min(Start)), toUnixTimestamp64Nano(max(End)) \
             FROM otel_traces_trace_id_ts GROUP BY TenantId, TraceId ORDER BY TenantId",
        )
        .fetch_all()
        .await
        .unwrap();
    let base = 1_700_000_000_000_000_000i64;
    assert_eq!(
        lookup,
        vec![
            ("acme".to_owned(), base, base + 2000),
            ("globex".to_owned(), base, base + 1000)
        ]
    );
    // The record without a time: stored at its observed time.
    let (body, time, time_time, flags): (String, i64, u32, u8) = client
        .query(
            "SELECT Body, toUnixTimestamp64Nano(Timestamp), toUnixTimestamp(TimestampTime), \
                    TraceFlags FROM otel_logs WHERE Body LIKE '%\"n\":1}'",
        )
        .fetch_one()
        .await
        .unwrap();
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
        .query(
            "SELECT (SELECT ValueAtQuantiles.Quantile FROM otel_metrics_summary) AS quantiles, \
                    (SELECT BucketCounts FROM otel_metrics_histogram) AS buckets",
        )
        .fetch_one()
        .await
        .unwrap();
    assert_eq!((quantiles, buckets), (vec![0.5, 0.99], vec![1, 2, 3]));

    // A different token is a different batch: its rows are inserted.
    logs.insert(&client, "batch-2").await.unwrap();
    assert_eq!(count(&client, tables::LOGS).await, 6);

    // An empty batch inserts nothing and needs no table.
    LogBatch::default()
        .insert(&client, "batch-3")
        .await
        .expect("empty insert");

    drop_database(&server, &database).await;
}

/// The loader spawns inserts on a multi-threaded runtime: their futures
/// must be `Send` (checked at compile time; nothing is polled).
#[test]
fn insert_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    let client = clickhouse::Client::default();
    let (traces, logs, metrics) = (
        TraceBatch::default(),
        LogBatch::default(),
        MetricBatch::default(),
    );
    assert_send(traces.insert(&client, "t"));
    assert_send(logs.insert(&client, "t"));
    assert_send(metrics.insert(&client, "t"));
}
