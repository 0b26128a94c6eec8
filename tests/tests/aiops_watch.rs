//! Continuous detection end to end: spans go through the real pipeline
//! (OTLP → Kafka → loader → ClickHouse); the watcher finds the latency
//! incidents on the right service and operation and nothing elsewhere,
//! stores them, announces new ones on WatchAnomalies, forecasts a stored
//! series by name, and after a restart
//! (with its stored states, or without them as after a crash) announces
//! nothing twice and stores no second copy that readers would see.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use airis_proto::airis::aiops::v1::{
    Anomaly, AnomalyFilter, AnomalyKind, ForecastRequest, ListAnomaliesRequest, Point,
    RedSeriesSelector, Signal, WatchAnomaliesRequest, WatchAnomaliesResponse,
    anomaly_service_client::AnomalyServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::otlp::tonic::trace::v1::{Span, span::SpanKind};
use airis_proto::tonic::{Code, Streaming, transport::Channel};
use airis_store::tables::{ANOMALIES, DETECTOR_STATES, TRACES};
use airis_tests::{
    AiopsServer, Pipeline, Settings, TENANT, TOKEN,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
/// Minutes of history sent before the watcher starts.
const HISTORY: u64 = 20;
/// Minutes of the history (0-based) in which `POST /charge` is ten times
/// slower.
const INCIDENTS: [u64; 2] = [12, 16];
const WAIT: Duration = Duration::from_secs(120);

/// One minute of traffic from `start`: `payment` serves `POST /charge`
/// (120 requests, about 100 ms; ×`slowdown`) and `GET /health` (60, about
/// 2 ms), `cart` serves `GET /cart` (100, about 20 ms). Latencies wiggle
/// by ±10 % so that the series are not flat.
fn minute_of_traffic(
    run: u64,
    minute: u64,
    start: u64,
    slowdown: u64,
) -> Vec<(&'static str, Span)> {
    let mut spans = Vec::new();
    let mut n = minute * 1_000;
    let mut add = |service: &'static str, name: &str, count: u64, latency: u64| {
        for k in 0..count {
            n += 1;
            let wiggle = 90 + (n * 7919 % 21);
            let begin = start + k * (55 * SEC / count);
            spans.push((
                service,
                Span {
                    trace_id: trace_id(run, n),
                    span_id: span_id(n),
                    name: name.to_owned(),
                    kind: SpanKind::Server as i32,
                    start_time_unix_nano: begin,
                    end_time_unix_nano: begin + latency * wiggle / 100,
                    ..Default::default()
                },
            ));
        }
    };
    add("payment", "POST /charge", 120, 100 * MS * slowdown);
    add("payment", "GET /health", 60, 2 * MS);
    add("cart", "GET /cart", 100, 20 * MS);
    spans
}

async fn send(endpoint: &str, spans: Vec<(&'static str, Span)>) -> anyhow::Result<u64> {
    let mut client = trace_client(endpoint).await?;
    let count = spans.len() as u64;
    for service in ["payment", "cart"] {
        let batch: Vec<Span> = spans
            .iter()
            .filter(|(s, _)| *s == service)
            .map(|(_, span)| span.clone())
            .collect();
        client
            .export(authed(traces_request(service, batch), TOKEN))
            .await?;
    }
    Ok(count)
}

async fn list_all(
    client: &mut AnomalyServiceClient<Channel>,
    range: TimeRange,
    filter: Option<AnomalyFilter>,
    page_size: u32,
) -> anyhow::Result<Vec<Anomaly>> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_anomalies(authed(
                ListAnomaliesRequest {
                    time_range: Some(range),
                    filter: filter.clone(),
                    page: Some(PageRequest {
                        page_size,
                        page_token,
                    }),
                },
                TOKEN,
            ))
            .await?
            .into_inner();
        all.extend(response.anomalies);
        page_token = response.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() {
            return Ok(all);
        }
    }
}

type Key = (String, String, i32, u64);

fn key(a: &Anomaly) -> Key {
    (
        a.service_name.clone(),
        a.operation.clone(),
        a.signal,
        a.time_unix_nano,
    )
}

/// The next non-empty message of `stream` within `timeout`, or `None`.
async fn next_batch(
    stream: &mut Streaming<WatchAnomaliesResponse>,
    timeout: Duration,
) -> anyhow::Result<Option<Vec<Anomaly>>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) => return Ok(None),
            Ok(message) => match message? {
                Some(batch) if !batch.anomalies.is_empty() => return Ok(Some(batch.anomalies)),
                Some(_) => continue,
                None => anyhow::bail!("the stream ended"),
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_incidents_on_the_right_series_and_never_announces_twice() -> anyhow::Result<()> {
    let mut settings = Settings::new("aiops_watch");
    settings.aiops.watch.enabled = true;
    settings.aiops.watch.interval_secs = 1;
    settings.aiops.watch.settle_secs = 0;
    settings.aiops.watch.backfill_minutes = 40;
    let pipeline = Pipeline::start(settings.clone()).await?;
    let clickhouse = settings.clickhouse();
    let run = now_unix_nano();

    // Twenty whole minutes of history, ending at the current minute.
    let now = now_unix_nano();
    let first = now / MIN * MIN - HISTORY * MIN;
    let mut sent = 0;
    for minute in 0..HISTORY {
        let slowdown = if INCIDENTS.contains(&minute) { 10 } else { 1 };
        sent += send(
            &pipeline.endpoint,
            minute_of_traffic(run, minute, first + minute * MIN, slowdown),
        )
        .await?;
    }
    let count = format!("SELECT count() FROM {TRACES} WHERE TenantId = '{TENANT}'");
    assert_eq!(wait_for_count(&clickhouse, &count, sent, WAIT).await?, sent);

    let server = AiopsServer::start(&settings).await?;
    let mut client = AnomalyServiceClient::connect(server.endpoint.clone()).await?;
    let history = TimeRange {
        start_unix_nano: first,
        end_unix_nano: first + HISTORY * MIN,
    };

    // The backfill judges the history within a pass or two.
    let started = Instant::now();
    let found = loop {
        let found = list_all(&mut client, history, None, 0).await?;
        let minutes: BTreeSet<u64> = found.iter().map(|a| a.time_unix_nano).collect();
        if INCIDENTS
            .iter()
            .all(|m| minutes.contains(&(first + m * MIN)))
        {
            break found;
        }
        anyhow::ensure!(
            started.elapsed() < WAIT,
            "incidents not found within {WAIT:?}: {found:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for anomaly in &found {
        let minute = (anomaly.time_unix_nano - first) / MIN;
        assert!(
            anomaly.service_name == "payment"
                && ["", "POST /charge"].contains(&anomaly.operation.as_str())
                && INCIDENTS.contains(&minute),
            "a normal series or minute flagged: {anomaly:?}"
        );
        assert!(anomaly.score >= 0.5 && anomaly.score <= 1.0, "{anomaly:?}");
        assert!(anomaly.value > 5.0 * anomaly.expected, "{anomaly:?}");
        assert!(anomaly.value > anomaly.upper, "{anomaly:?}");
        assert_eq!(anomaly.kind, AnomalyKind::Spike as i32, "{anomaly:?}");
        assert!(anomaly.detected_unix_nano >= now, "{anomaly:?}");
    }
    // Both incidents, on the operation and on its service, in p50 and p95
    // (p99 needs more requests a minute than these series have).
    for minute in INCIDENTS {
        for operation in ["", "POST /charge"] {
            for signal in [Signal::LatencyP50, Signal::LatencyP95] {
                let wanted = (
                    "payment".to_owned(),
                    operation.to_owned(),
                    signal as i32,
                    first + minute * MIN,
                );
                assert!(
                    found.iter().any(|a| key(a) == wanted),
                    "missing {wanted:?} in {found:#?}"
                );
            }
        }
    }
    // Newest first; pages of two give the same list; filters narrow it.
    let keys: Vec<Key> = found.iter().map(key).collect();
    assert!(keys.windows(2).all(|w| w[0].3 >= w[1].3), "{keys:?}");
    let paged: Vec<Key> = list_all(&mut client, history, None, 2)
        .await?
        .iter()
        .map(key)
        .collect();
    assert_eq!(paged, keys);
    let p95 = list_all(
        &mut client,
        history,
        Some(AnomalyFilter {
            operation: "POST /charge".to_owned(),
            signals: vec![Signal::LatencyP95 as i32],
            ..Default::default()
        }),
        0,
    )
    .await?;
    assert_eq!(p95.len(), INCIDENTS.len(), "{p95:#?}");
    let bad = client
        .list_anomalies(authed(
            ListAnomaliesRequest {
                time_range: Some(history),
                filter: Some(AnomalyFilter {
                    min_score: 2.0,
                    ..Default::default()
                }),
                page: None,
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("filter.min_score"), "{bad:?}");

    // A stored series forecast by name: steps of a minute, about the two
    // requests a second `POST /charge` had.
    let selector = |service: &str, signal: Signal| RedSeriesSelector {
        service_name: service.to_owned(),
        operation: "POST /charge".to_owned(),
        signal: signal as i32,
        history_minutes: 60,
    };
    let forecast = client
        .forecast(authed(
            ForecastRequest {
                horizon: 5,
                red_series: Some(selector("payment", Signal::RequestRate)),
                ..Default::default()
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(forecast.step_seconds, 60);
    assert_eq!(forecast.points.len(), 5);
    assert!(
        forecast.points[0].lower_95 <= 2.0 && 2.0 <= forecast.points[0].upper_95,
        "{forecast:?}"
    );
    for (request, code, field) in [
        (
            ForecastRequest {
                horizon: 5,
                red_series: Some(selector("nobody", Signal::RequestRate)),
                ..Default::default()
            },
            Code::NotFound,
            "red_series",
        ),
        (
            ForecastRequest {
                horizon: 5,
                red_series: Some(selector("payment", Signal::Unspecified)),
                ..Default::default()
            },
            Code::InvalidArgument,
            "red_series.signal",
        ),
        (
            ForecastRequest {
                horizon: 5,
                points: vec![Point::default()],
                red_series: Some(selector("payment", Signal::RequestRate)),
            },
            Code::InvalidArgument,
            "points",
        ),
    ] {
        let status = client.forecast(authed(request, TOKEN)).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }

    // A live incident: announced on the stream once its minute is judged.
    let watch_filter = AnomalyFilter {
        service_name: "payment".to_owned(),
        operation: "POST /charge".to_owned(),
        signals: vec![Signal::LatencyP95 as i32],
        min_score: 0.0,
    };
    let mut stream = client
        .watch_anomalies(authed(
            WatchAnomaliesRequest {
                filter: Some(watch_filter.clone()),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    let live = now_unix_nano() / MIN * MIN;
    let live_minute = (live - first) / MIN;
    sent += send(
        &pipeline.endpoint,
        minute_of_traffic(run, live_minute, live, 10),
    )
    .await?;
    assert_eq!(wait_for_count(&clickhouse, &count, sent, WAIT).await?, sent);
    let batch = next_batch(&mut stream, WAIT + Duration::from_secs(60))
        .await?
        .expect("the live incident is announced");
    assert!(
        batch.iter().all(|a| a.service_name == "payment"
            && a.operation == "POST /charge"
            && a.signal == Signal::LatencyP95 as i32),
        "the stream's filter applies: {batch:#?}"
    );
    assert!(batch.iter().any(|a| a.time_unix_nano == live), "{batch:#?}");
    drop(stream);
    let everything = TimeRange {
        start_unix_nano: first,
        end_unix_nano: live + MIN,
    };
    let before: BTreeSet<(Key, u64)> = list_all(&mut client, everything, None, 0)
        .await?
        .iter()
        .map(|a| (key(a), a.detected_unix_nano))
        .collect();
    let rows = format!(
        "SELECT count() FROM {ANOMALIES} WHERE TenantId = '{TENANT}' \
         AND Minute < toDateTime({})",
        (live + MIN) / SEC
    );
    let stored_rows: u64 = clickhouse.query(&rows).fetch_one().await?;
    server.stop().await?;
    let states: u64 = clickhouse
        .query(&format!(
            "SELECT count() FROM {DETECTOR_STATES} WHERE TenantId = '{TENANT}'"
        ))
        .fetch_one()
        .await?;
    assert!(states > 0, "a stopped watcher stores its detectors' states");

    // Restarted with its states: it resumes where it stopped, so nothing is
    // judged (or stored) again and nothing old is announced.
    // Restarted without them, as after a crash before a checkpoint: it
    // judges the history again and stores the same anomalies again, which
    // readers see once, with their first detection time, and announces none
    // of them.
    for crashed in [false, true] {
        if crashed {
            clickhouse
                .query(&format!("TRUNCATE TABLE {DETECTOR_STATES}"))
                .execute()
                .await?;
        }
        let server = AiopsServer::start(&settings).await?;
        let mut client = AnomalyServiceClient::connect(server.endpoint.clone()).await?;
        let mut stream = client
            .watch_anomalies(authed(
                WatchAnomaliesRequest {
                    filter: Some(AnomalyFilter::default()),
                },
                TOKEN,
            ))
            .await?
            .into_inner();
        // Several passes.
        let announced = next_batch(&mut stream, Duration::from_secs(5)).await?;
        let old: Vec<&Anomaly> = announced
            .iter()
            .flatten()
            .filter(|a| a.time_unix_nano <= live)
            .collect();
        assert!(
            old.is_empty(),
            "announced again (crashed: {crashed}): {old:#?}"
        );
        if crashed {
            let again = format!(
                "{rows} AND DetectedAt > toDateTime64({}, 9)",
                now_unix_nano() / SEC - 30
            );
            // The replay stored its findings again.
            let started = Instant::now();
            while clickhouse.query(&again).fetch_one::<u64>().await? == 0 {
                anyhow::ensure!(
                    started.elapsed() < WAIT,
                    "the crashed watcher did not replay"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        } else {
            let now_rows: u64 = clickhouse.query(&rows).fetch_one().await?;
            assert_eq!(
                now_rows, stored_rows,
                "a resumed watcher judged old minutes again"
            );
        }
        let after: BTreeSet<(Key, u64)> = list_all(&mut client, everything, None, 0)
            .await?
            .iter()
            .map(|a| (key(a), a.detected_unix_nano))
            .collect();
        assert_eq!(after, before, "crashed: {crashed}");
        server.stop().await?;
    }
    pipeline.stop().await?;
    Ok(())
}
