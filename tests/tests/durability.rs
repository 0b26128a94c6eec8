//! Nothing acknowledged is lost and nothing becomes visible twice, across
//! a loader crash, a Kafka outage and a ClickHouse outage.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airis_proto::tonic::Code;
use airis_store::tables::TRACES;
use airis_tests::{
    Child, Pipeline, PrivateInfra, Settings, TOKEN,
    otlp::{authed, now_unix_nano, span, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(120);

/// Exports `requests` × `per_request` spans through the receiver, all of
/// which must be acknowledged.
async fn export_all(endpoint: &str, requests: u64, per_request: u64) -> anyhow::Result<u64> {
    let mut client = trace_client(endpoint).await?;
    let run = now_unix_nano();
    for r in 0..requests {
        let spans = (0..per_request)
            .map(|i| {
                let n = r * per_request + i;
                span(trace_id(run, n / 10), span_id(n), n)
            })
            .collect();
        client
            .export(authed(traces_request("load", spans), TOKEN))
            .await?;
    }
    Ok(requests * per_request)
}

async fn assert_exactly_once(ch: &clickhouse::Client, expected: u64) -> anyhow::Result<()> {
    let seen = wait_for_count(ch, &format!("SELECT count() FROM {TRACES}"), expected, WAIT).await?;
    assert_eq!(seen, expected, "rows in clickhouse");
    // A late duplicate would show up as more rows than distinct spans.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rows, distinct): (u64, u64) = ch
        .query(&format!(
            "SELECT count(), uniqExact(TraceId, SpanId) FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    assert_eq!((rows, distinct), (expected, expected));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loader_killed_mid_stream_loses_nothing_and_duplicates_nothing() -> anyhow::Result<()> {
    let mut settings = Settings::new("sigkill");
    // Many small batches, so the kill lands between and inside inserts.
    settings.ingestion.loader.max_rows = 2_000;
    settings.migrate().await?;
    let receiver = Pipeline::receiver_only(settings.clone()).await?;
    let sent = export_all(&receiver.endpoint, 200, 500).await?;

    let ch = settings.clickhouse();
    let mut loader = Child::spawn(&settings, &["serve", "loader"])?;
    // Kill as soon as the first rows are visible.
    let deadline = Instant::now() + WAIT;
    let at_kill = loop {
        let n: u64 = ch
            .query(&format!("SELECT count() FROM {TRACES}"))
            .fetch_one()
            .await?;
        if n > 0 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    loader.kill().await?;
    assert!(
        at_kill > 0 && at_kill < sent,
        "kill landed mid-stream: {at_kill} of {sent}"
    );

    let restarted = Child::spawn(&settings, &["serve", "loader"])?;
    assert_exactly_once(&ch, sent).await?;
    let status = restarted.terminate().await?;
    assert!(status.success(), "loader exit after sigterm: {status}");
    receiver.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_outage_acknowledges_only_what_is_stored() -> anyhow::Result<()> {
    let infra = PrivateInfra::new("kafka-outage")?;
    infra.run("start", "kafka").await?;
    let mut settings = Settings::new("kafkaout");
    settings.kafka.brokers = infra.kafka_brokers();
    settings.ingestion.producer.delivery_timeout_ms = 2_000;
    let pipeline = Pipeline::start(settings).await?;

    // Steady export; remember which spans were acknowledged.
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let unavailable = Arc::new(Mutex::new(0u32));
    let stop = airis_runtime::Shutdown::new();
    let exporter = {
        let (endpoint, acked, unavailable, stop) = (
            pipeline.endpoint.clone(),
            acked.clone(),
            unavailable.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut client = trace_client(&endpoint).await?;
            let run = now_unix_nano();
            let mut n = 0u64;
            while !stop.is_signalled() {
                let ids: Vec<u64> = (n..n + 20).collect();
                n += 20;
                let spans = ids
                    .iter()
                    .map(|&i| span(trace_id(run, i), span_id(i), i))
                    .collect();
                let mut request = authed(traces_request("steady", spans), TOKEN);
                request.set_timeout(Duration::from_secs(5));
                match client.export(request).await {
                    Ok(_) => acked.lock().unwrap().extend(ids),
                    Err(status) => {
                        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                        *unavailable.lock().unwrap() += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            anyhow::Ok(())
        })
    };

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = acked.lock().unwrap().len();
    infra.run("stop", "kafka").await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let during = *unavailable.lock().unwrap();
    infra.run("start", "kafka").await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.trigger();
    exporter.await??;

    let acked = acked.lock().unwrap().clone();
    assert!(before > 0, "exports succeeded before the outage");
    assert!(during > 0, "clients saw UNAVAILABLE during the outage");
    assert!(
        acked.len() > before,
        "exports succeeded again after the outage"
    );

    // Every acknowledged span is stored exactly once. Requests that failed
    // may or may not have reached Kafka, but never twice.
    let ch = pipeline.settings.clickhouse();
    let deadline = Instant::now() + WAIT;
    loop {
        let stored: Vec<u64> = ch
            .query(&format!(
                "SELECT toUInt64(SpanAttributes['seq']) FROM {TRACES}"
            ))
            .fetch_all()
            .await?;
        let set: HashSet<u64> = stored.iter().copied().collect();
        assert_eq!(set.len(), stored.len(), "no span stored twice");
        let missing = acked.iter().filter(|id| !set.contains(id)).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} acknowledged spans never arrived"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    pipeline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_outage_holds_batches_until_it_returns() -> anyhow::Result<()> {
    let infra = PrivateInfra::new("ch-outage")?;
    infra.run("start", "clickhouse").await?;
    let mut settings = Settings::new("chout");
    settings.clickhouse.url = infra.clickhouse_url();
    settings.ingestion.loader.retry_max_ms = 500;
    let pipeline = Pipeline::start(settings).await?;
    let ch = pipeline.settings.clickhouse();

    let first = export_all(&pipeline.endpoint, 5, 100).await?;
    assert_eq!(
        wait_for_count(&ch, &format!("SELECT count() FROM {TRACES}"), first, WAIT).await?,
        first
    );

    infra.run("stop", "clickhouse").await?;
    // Acknowledged while ClickHouse is down: Kafka holds them.
    let second = export_all(&pipeline.endpoint, 10, 100).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    infra.run("start", "clickhouse").await?;

    assert_exactly_once(&ch, first + second).await?;
    pipeline.stop().await
}
