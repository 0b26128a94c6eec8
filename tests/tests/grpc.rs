//! What grpcurl users see: reflection (v1alpha, which grpcurl 1.8 speaks),
//! health, and graceful draining on shutdown.

use std::time::Duration;

use airis_store::tables::TRACES;
use airis_tests::{Pipeline, Settings, TOKEN, grpcurl};
use anyhow::ensure;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_describes_checks_health_and_exports() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("grpcurl")).await?;
    let addr = pipeline.endpoint.trim_start_matches("http://").to_owned();

    let (ok, listed) = grpcurl(&["-plaintext", &addr, "list"]).await?;
    ensure!(ok, "grpcurl list failed: {listed}");
    for service in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "opentelemetry.proto.collector.trace.v1.TraceService",
        "opentelemetry.proto.collector.logs.v1.LogsService",
        "opentelemetry.proto.collector.metrics.v1.MetricsService",
    ] {
        assert!(
            listed.contains(service),
            "{service} missing from:\n{listed}"
        );
    }

    let (ok, described) = grpcurl(&[
        "-plaintext",
        &addr,
        "describe",
        "opentelemetry.proto.trace.v1.Span",
    ])
    .await?;
    ensure!(ok, "grpcurl describe failed: {described}");
    assert!(described.contains("trace_id"), "{described}");

    let (ok, health) = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]).await?;
    ensure!(ok, "health check failed: {health}");
    assert!(health.contains("\"SERVING\""), "{health}");
    let (ok, health) = grpcurl(&[
        "-plaintext",
        "-d",
        r#"{"service":"opentelemetry.proto.collector.trace.v1.TraceService"}"#,
        &addr,
        "grpc.health.v1.Health/Check",
    ])
    .await?;
    ensure!(ok, "health check failed: {health}");
    assert!(health.contains("\"SERVING\""), "{health}");

    // An export with JSON input, as an operator would try it by hand.
    // Recent timestamps: rows older than the table TTL are dropped on insert.
    let start = airis_tests::otlp::now_unix_nano();
    let body = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"grpcurl"}}}}]}},
        "scopeSpans":[{{"spans":[{{"traceId":"AAECAwQFBgcICQoLDA0ODw==","spanId":"AQIDBAUGBwg=","name":"by hand",
        "kind":"SPAN_KIND_SERVER","startTimeUnixNano":"{start}","endTimeUnixNano":"{}"}}]}}]}}]}}"#,
        start + 500_000_000
    );
    let auth = format!("authorization: Bearer {TOKEN}");
    let (ok, exported) = grpcurl(&[
        "-plaintext",
        "-H",
        &auth,
        "-d",
        &body,
        &addr,
        "opentelemetry.proto.collector.trace.v1.TraceService/Export",
    ])
    .await?;
    ensure!(ok, "grpcurl export failed: {exported}");
    let ch = pipeline.settings.clickhouse();
    let seen = airis_tests::wait_for_count(
        &ch,
        &format!("SELECT count() FROM {TRACES} WHERE TraceId = '000102030405060708090a0b0c0d0e0f'"),
        1,
        Duration::from_secs(60),
    )
    .await?;
    assert_eq!(seen, 1);

    pipeline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_not_serving_before_closing() -> anyhow::Result<()> {
    let mut settings = Settings::new("drain");
    settings.server.drain_delay_ms = 3_000;
    let pipeline = Pipeline::start(settings).await?;
    let addr = pipeline.endpoint.trim_start_matches("http://").to_owned();

    pipeline.shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Still accepting connections during the drain delay, but unhealthy.
    let (_, health) = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]).await?;
    assert!(health.contains("NOT_SERVING"), "{health}");
    pipeline.stop().await?;
    let (ok, _) = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]).await?;
    assert!(!ok, "server closed after draining");
    Ok(())
}
