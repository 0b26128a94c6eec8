//! AIRIS-MON observes itself: with `telemetry.otlp_endpoint` pointing at its
//! own receiver, its spans and metrics land in its own ClickHouse tables.

use std::time::Duration;

use airis_store::tables::{METRICS_SUM, TRACES};
use airis_tests::{
    Child, Settings, free_port,
    otlp::{authed, now_unix_nano, span, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_telemetry_reaches_its_own_tables() -> anyhow::Result<()> {
    let settings = Settings::new("selftel");
    settings.migrate().await?;
    let listen = format!("127.0.0.1:{}", free_port()?);
    let endpoint = format!("http://{listen}");
    let airis = Child::spawn_with(
        &settings,
        &["serve", "ingestion"],
        &[
            ("AIRIS_INGESTION__RECEIVER__LISTEN", listen.as_str()),
            ("AIRIS_AUTH__TOKENS__SELFTOKEN", "airis-self"),
            ("AIRIS_AUTH__TOKENS__APPTOKEN", "app"),
            ("AIRIS_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
            ("AIRIS_TELEMETRY__OTLP_TOKEN", "selftoken"),
            ("AIRIS_TELEMETRY__SERVICE_NAME", "airis-ingestion"),
            ("AIRIS_TELEMETRY__METRICS_INTERVAL_SECS", "1"),
        ],
    )?;

    // Application traffic, so the receiver has exports to trace and count.
    let started = std::time::Instant::now();
    let mut client = loop {
        match trace_client(&endpoint).await {
            Ok(client) => break client,
            Err(error) => {
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(60),
                    "the receiver at {endpoint} did not accept connections within 60 s: {error}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let run = now_unix_nano();
    for i in 0..5 {
        let spans = vec![span(trace_id(run, i), span_id(i), i)];
        client
            .export(authed(traces_request("app", spans), "apptoken"))
            .await?;
    }

    let ch = settings.clickhouse();
    let wait = Duration::from_secs(60);
    let app = wait_for_count(
        &ch,
        &format!("SELECT count() FROM {TRACES} WHERE TenantId = 'app'"),
        5,
        wait,
    )
    .await?;
    assert_eq!(app, 5);
    let own_spans = wait_for_count(
        &ch,
        &format!("SELECT toUInt64(count() > 0) FROM {TRACES} \
         WHERE TenantId = 'airis-self' AND ServiceName = 'airis-ingestion' AND SpanName = 'otlp.export'"),
        1,
        wait,
    )
    .await?;
    assert_eq!(own_spans, 1, "the receiver's own export spans are stored");
    let accepted = wait_for_count(
        &ch,
        &format!(
            "SELECT toUInt64(max(Value) >= 5) FROM {METRICS_SUM} \
         WHERE TenantId = 'airis-self' AND MetricName = 'airis.receiver.items' \
         AND Attributes['outcome'] = 'accepted' AND Attributes['signal'] = 'spans' \
         AND ResourceAttributes['service.name'] = 'airis-ingestion'"
        ),
        1,
        wait,
    )
    .await?;
    // Cumulative counter: at least the 5 application spans (its own spans
    // are counted too once they arrive).
    assert_eq!(accepted, 1, "accepted spans counter reached 5");

    let status = airis.terminate().await?;
    assert!(status.success(), "{status}");
    Ok(())
}
