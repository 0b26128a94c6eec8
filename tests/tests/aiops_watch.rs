//! Continuous detection end to end: spans go through the real pipeline
//! (OTLP → Kafka → loader → ClickHouse); the watcher finds the latency
//! incidents on the right service and operation and nothing elsewhere,
//! stores them, announces new ones on WatchAnomalies, forecasts a stored
//! RED series and a stored metric by name, keeps alert rules and tells
//! what each kind of rule would have fired over the history, notifies a
//! webhook receiver of the alerts stored rules fire (once per group and
//! repeat interval, not while silenced, again after a failed delivery),
//! and after a restart
//! (with its stored states, or without them as after a crash) announces
//! nothing twice and stores no second copy that readers would see;
//! killed (SIGKILL) mid-incident and started again, it notifies nothing
//! twice. Anomaly rules on a metric series have the series watched.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use airis_proto::airis::aiops::v1::{
    AbsenceCondition, AlertRule, AlertState, AlertmanagerConfig, Annotation, AnomalyCondition,
    BurnRateCondition, Comparison, CreateRuleRequest, CreateSilenceRequest, DeleteRuleRequest,
    ExpireSilenceRequest, GetNotificationPolicyRequest, GetRuleRequest, GetSilenceRequest, KOfN,
    LabelMatcher, ListAlertsRequest, ListAlertsResponse, ListNotificationsRequest,
    ListRulesRequest, ListSilencesRequest, MatchOperator as SilenceOperator, NotificationPolicy,
    Receiver, Route, RuleSeries, Silence, SilenceState, TestRuleRequest, TestRuleResponse,
    ThresholdCondition, UpdateNotificationPolicyRequest, UpdateRuleRequest, UpdateSilenceRequest,
    WebhookConfig, alert_rule::Condition, alert_service_client::AlertServiceClient, rule_series,
};
use airis_proto::airis::aiops::v1::{
    Anomaly, AnomalyFilter, AnomalyKind, ForecastRequest, ListAnomaliesRequest,
    MetricSeriesSelector, Point, RedSeriesSelector, Signal, WatchAnomaliesRequest,
    WatchAnomaliesResponse, anomaly_service_client::AnomalyServiceClient,
};
use airis_proto::airis::analytics::v1::{Aggregation, LabelFilter, MatchOperator};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::{
    collector::metrics::v1::{
        ExportMetricsServiceRequest, metrics_service_client::MetricsServiceClient,
    },
    metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
        number_data_point,
    },
    resource::v1::Resource,
    trace::v1::{Span, span::SpanKind},
};
use airis_proto::tonic::{Code, Streaming, transport::Channel};
use airis_store::tables::{ANOMALIES, DETECTOR_STATES, METRICS_GAUGE, NOTIFICATIONS, TRACES};
use airis_tests::{
    AiopsServer, Child, Pipeline, Settings, TENANT, TOKEN, free_port,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
    webhook::{Alertmanager, Received, WebhookReceiver},
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

/// The minute of the history (0-based) in which queue `c` backs up.
const QUEUE_SPIKE: u64 = 8;

/// A gauge `queue.depth` of `payment` with one point a minute for each
/// minute of the history: queues `a` and `c` about 50 (±2), queue `b` 500;
/// queue `c` 400 in minute [`QUEUE_SPIKE`].
fn queue_depths(first: u64) -> ExportMetricsServiceRequest {
    let points = (0..HISTORY)
        .flat_map(|minute| {
            let time = first + minute * MIN + 30 * SEC;
            let usual = 48.0 + (minute * 7 % 5) as f64;
            let c = if minute == QUEUE_SPIKE { 400.0 } else { usual };
            [("a", usual), ("b", 500.0), ("c", c)].map(|(queue, value)| NumberDataPoint {
                attributes: vec![kv("queue", queue)],
                time_unix_nano: time,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            })
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "payment")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".to_owned(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: points,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
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
    settings.aiops.watch.late_secs = 0;
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
    MetricsServiceClient::connect(pipeline.endpoint.clone())
        .await?
        .export(authed(queue_depths(first), TOKEN))
        .await?;
    let gauges = format!("SELECT count() FROM {METRICS_GAUGE} WHERE TenantId = '{TENANT}'");
    assert_eq!(
        wait_for_count(&clickhouse, &gauges, 3 * HISTORY, WAIT).await?,
        3 * HISTORY
    );

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
    // A stored metric forecast by name: only queue `a`, about 50, where
    // both queues together would average 275.
    let queue = |queue: &str| MetricSeriesSelector {
        metric_name: "queue.depth".to_owned(),
        filters: vec![LabelFilter {
            key: "queue".to_owned(),
            operator: MatchOperator::Equals as i32,
            value: queue.to_owned(),
        }],
        aggregation: Aggregation::Avg as i32,
        history_minutes: 60,
        ..Default::default()
    };
    let forecast = client
        .forecast(authed(
            ForecastRequest {
                horizon: 3,
                metric_series: Some(queue("a")),
                ..Default::default()
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(forecast.step_seconds, 60);
    assert_eq!(forecast.points.len(), 3);
    assert_eq!(forecast.points[0].time_unix_nano, first + HISTORY * MIN);
    for point in &forecast.points {
        assert!(
            point.lower_95 >= 40.0 && point.upper_95 <= 60.0 && point.lower_95 <= 50.0,
            "{forecast:?}"
        );
    }
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
                ..Default::default()
            },
            Code::InvalidArgument,
            "points",
        ),
        (
            ForecastRequest {
                horizon: 5,
                red_series: Some(selector("payment", Signal::RequestRate)),
                metric_series: Some(queue("a")),
                ..Default::default()
            },
            Code::InvalidArgument,
            "points",
        ),
        (
            ForecastRequest {
                horizon: 5,
                metric_series: Some(MetricSeriesSelector {
                    metric_name: "no.such.metric".to_owned(),
                    ..queue("a")
                }),
                ..Default::default()
            },
            Code::NotFound,
            "metric_series",
        ),
        (
            ForecastRequest {
                horizon: 5,
                metric_series: Some(MetricSeriesSelector {
                    aggregation: Aggregation::Rate as i32,
                    ..queue("a")
                }),
                ..Default::default()
            },
            Code::InvalidArgument,
            "metric_series.aggregation",
        ),
        (
            ForecastRequest {
                horizon: 5,
                metric_series: Some(MetricSeriesSelector {
                    step_seconds: 1,
                    history_minutes: 20_160,
                    ..queue("a")
                }),
                ..Default::default()
            },
            Code::ResourceExhausted,
            "metric_series.step_seconds",
        ),
        (
            ForecastRequest {
                horizon: 5,
                metric_series: Some(MetricSeriesSelector {
                    history_minutes: 20_161,
                    ..queue("a")
                }),
                ..Default::default()
            },
            Code::InvalidArgument,
            "metric_series.history_minutes",
        ),
    ] {
        let status = client.forecast(authed(request, TOKEN)).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }

    alert_rules(&server.endpoint, first).await?;
    metric_anomalies(&server.endpoint, first).await?;
    let muting = silences(&server.endpoint).await?;
    // Silences made now muted nothing of the history.
    let history_alerts = AlertServiceClient::connect(server.endpoint.clone())
        .await?
        .test_rule(authed(
            TestRuleRequest {
                rule: Some(slow_charges("slow")),
                time_range: Some(TimeRange {
                    start_unix_nano: first,
                    end_unix_nano: first + HISTORY * MIN,
                }),
                locale: String::new(),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .alerts;
    assert_eq!(history_alerts.len(), INCIDENTS.len(), "{history_alerts:#?}");
    assert!(
        history_alerts.iter().all(|a| a.silenced_by.is_empty()),
        "{history_alerts:#?}"
    );

    // A stored rule, judged continuously from now on.
    let live_rule = AlertServiceClient::connect(server.endpoint.clone())
        .await?
        .create_rule(authed(
            CreateRuleRequest {
                rule: Some(slow_charges("slow")),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .rule
        .expect("the created rule")
        .id;

    // Where notifications go, before anything fires.
    let hooks = WebhookReceiver::start().await?;
    // A team's own Alertmanager, routing to its own webhook.
    let alertmanager = Alertmanager::start(&format!("{}/am", hooks.base_url)).await?;
    notification_policy(&server.endpoint, &hooks, &alertmanager).await?;
    hooks.fail_next("/flaky", 1);

    // Rules that fire at once (a service that never sent anything is
    // absent): one deleted while judged, one while no watcher runs, one
    // firing across the restarts, one for a webhook that fails once, one
    // notified again every minute.
    let mut rules = AlertServiceClient::connect(server.endpoint.clone()).await?;
    let mut always = Vec::new();
    for name in [
        "deleted while judged",
        "deleted while down",
        "across restarts",
        "flaky hook",
        "repeats",
    ] {
        let rule = AlertRule {
            name: name.to_owned(),
            condition: Some(Condition::Absence(AbsenceCondition {
                series: Some(RuleSeries {
                    series: Some(rule_series::Series::Red(RedSeriesSelector {
                        service_name: "nobody".to_owned(),
                        signal: Signal::RequestRate as i32,
                        ..Default::default()
                    })),
                }),
                minutes: 1,
            })),
            annotations: vec![Annotation {
                name: "summary".to_owned(),
                en: "{{ $labels.service_name }} sends nothing".to_owned(),
                ko: "{{ $labels.service_name }}에서 아무것도 오지 않습니다".to_owned(),
            }],
            ..Default::default()
        };
        let created = rules
            .create_rule(authed(CreateRuleRequest { rule: Some(rule) }, TOKEN))
            .await?
            .into_inner()
            .rule
            .expect("the created rule");
        always.push(created.id);
    }

    // A live incident: announced on the stream once its minute is judged.
    let watch_filter = AnomalyFilter {
        service_name: "payment".to_owned(),
        operation: "POST /charge".to_owned(),
        signals: vec![Signal::LatencyP95 as i32],
        min_score: 0.0,
        metric: None,
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
    // The live incident's alert fired under the silence made for it, and
    // under none of the others.
    let answer = AlertServiceClient::connect(server.endpoint.clone())
        .await?
        .test_rule(authed(
            TestRuleRequest {
                rule: Some(slow_charges("slow")),
                time_range: Some(TimeRange {
                    start_unix_nano: live - 2 * MIN,
                    end_unix_nano: live + MIN,
                }),
                locale: String::new(),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    let fired: Vec<_> = answer
        .alerts
        .iter()
        .filter(|a| a.fired_unix_nano == live)
        .collect();
    assert_eq!(fired.len(), 1, "{answer:#?}");
    // The silence the replacement ended mutes too when the live minute
    // began before the replacement.
    let silenced_by: BTreeSet<&String> = fired[0].silenced_by.iter().collect();
    assert!(silenced_by.contains(&muting.active), "{answer:#?}");
    assert!(
        silenced_by.is_subset(&BTreeSet::from([&muting.active, &muting.replaced])),
        "{answer:#?}"
    );
    // The stored rule fired in the live minute and resolved in the next
    // (no traffic, no p95), muted by the silence made for it; nothing of
    // the history (before the rule existed) raised an alert.
    let live_alerts = wait_for_alerts(&server.endpoint, &live_rule, |answer| {
        answer
            .alerts
            .iter()
            .any(|a| a.state == AlertState::Resolved as i32)
    })
    .await?;
    assert_eq!(live_alerts.alerts.len(), 1, "{live_alerts:#?}");
    let alert = &live_alerts.alerts[0];
    let episode = alert.episode.as_ref().expect("the alert's episode");
    assert_eq!(
        (
            episode.active_unix_nano,
            episode.fired_unix_nano,
            episode.resolved_unix_nano
        ),
        (live, live, live + MIN),
        "{alert:#?}"
    );
    assert!(episode.value > 500.0, "{alert:#?}");
    assert_eq!(episode.labels["alertname"], "slow");
    assert!(
        episode.annotations["summary"].starts_with("payment p95 is "),
        "{alert:#?}"
    );
    assert!(episode.silenced_by.contains(&muting.active), "{alert:#?}");
    // Firing until deleted, then resolved.
    let firing = |answer: &ListAlertsResponse| {
        answer
            .alerts
            .iter()
            .any(|a| a.state == AlertState::Firing as i32)
    };
    let resolved = |answer: &ListAlertsResponse| {
        answer.alerts.len() == 1 && answer.alerts[0].state == AlertState::Resolved as i32
    };
    for id in &always {
        wait_for_alerts(&server.endpoint, id, firing).await?;
    }
    rules
        .delete_rule(authed(
            DeleteRuleRequest {
                id: always[0].clone(),
                version: 0,
            },
            TOKEN,
        ))
        .await?;
    wait_for_alerts(&server.endpoint, &always[0], resolved).await?;
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
    // Notified before the restarts: each group once, the deleted rule's
    // resolved too, the failing webhook after its retry, the repeating
    // group twice; the silenced alert never.
    let told = |name: &str| {
        let name = name.to_owned();
        move |r: &[Received]| notified(r, &name)
    };
    wait_for_hooks(&hooks, |r| {
        told("deleted while judged")(r).len() == 2
            && told("flaky hook")(r).len() == 1
            && told("repeats")(r).len() >= 2
            && relayed(r, "deleted while judged").len() == 2
    })
    .await?;
    server.stop().await?;
    let states: u64 = clickhouse
        .query(&format!(
            "SELECT count() FROM {DETECTOR_STATES} WHERE TenantId = '{TENANT}'"
        ))
        .fetch_one()
        .await?;
    assert!(states > 0, "a stopped watcher stores its detectors' states");

    // Deleted through an API replica (no watcher) while the watcher is down.
    let mut api_only = settings.clone();
    api_only.aiops.watch.enabled = false;
    let api = AiopsServer::start(&api_only).await?;
    AlertServiceClient::connect(api.endpoint.clone())
        .await?
        .delete_rule(authed(
            DeleteRuleRequest {
                id: always[1].clone(),
                version: 0,
            },
            TOKEN,
        ))
        .await?;
    api.stop().await?;

    // Restarted with its states: it resumes where it stopped, so nothing is
    // judged (or stored) again and nothing old is announced.
    // Restarted without them, as after a crash before a checkpoint: it
    // judges the history again and finds the same anomalies, which are
    // stored already: readers see them as before, with their first
    // detection time, and none is announced.
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
            // The replay is done once its states are stored again (at
            // once: it judged more than checkpoint_minutes).
            let started = Instant::now();
            while clickhouse
                .query(&format!(
                    "SELECT count() FROM {DETECTOR_STATES} WHERE TenantId = '{TENANT}'"
                ))
                .fetch_one::<u64>()
                .await?
                == 0
            {
                anyhow::ensure!(
                    started.elapsed() < WAIT,
                    "the crashed watcher did not replay"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        // Resumed, nothing judged again; replayed, what it found again
        // was stored already and is not written twice.
        let now_rows: u64 = clickhouse.query(&rows).fetch_one().await?;
        assert_eq!(
            now_rows, stored_rows,
            "old minutes stored again (crashed: {crashed})"
        );
        let after: BTreeSet<(Key, u64)> = list_all(&mut client, everything, None, 0)
            .await?
            .iter()
            .map(|a| (key(a), a.detected_unix_nano))
            .collect();
        assert_eq!(after, before, "crashed: {crashed}");
        // The rule's alert stays one alert, resolved, after the restart
        // judged the minutes again.
        let again = wait_for_alerts(&server.endpoint, &live_rule, |_| true).await?;
        assert_eq!(again.alerts, live_alerts.alerts, "crashed: {crashed}");
        // The rule deleted while it was down: its alert resolved, and
        // that is notified (once: not again after the second restart).
        wait_for_alerts(&server.endpoint, &always[1], resolved).await?;
        wait_for_hooks(&hooks, |r| {
            notified(r, "deleted while down").len() == 2
                && relayed(r, "deleted while down").len() == 2
        })
        .await?;
        // A few flushes of the restarted notifier.
        tokio::time::sleep(Duration::from_secs(3)).await;
        if crashed {
            check_notifications(&server.endpoint, &hooks, &always).await?;
        }
        server.stop().await?;
    }

    // Killed mid-incident: `airis serve aiops` in a process of its own,
    // SIGKILLed once it has told a repeat and logged it (no drain, no
    // last checkpoint or flush); started again, it tells nothing twice
    // and repeats a minute after, not sooner.
    let repeats = |r: &[Received]| r.iter().filter(|r| r.path == "/repeats").count();
    let logged = format!(
        "SELECT count() FROM {NOTIFICATIONS} WHERE TenantId = '{TENANT}' AND Receiver = 'repeats'"
    );
    let (told, was_logged) = (
        repeats(&hooks.received()),
        clickhouse.query(&logged).fetch_one::<u64>().await?,
    );
    let listen = format!("127.0.0.1:{}", free_port()?);
    let mut child = Child::spawn_with(
        &settings,
        &["serve", "aiops"],
        &[
            ("AIRIS_AIOPS__LISTEN", listen.as_str()),
            ("AIRIS_AIOPS__WATCH__INTERVAL_SECS", "1"),
            ("AIRIS_AIOPS__WATCH__SETTLE_SECS", "0"),
            ("AIRIS_AIOPS__WATCH__LATE_SECS", "0"),
            ("AIRIS_AIOPS__WATCH__BACKFILL_MINUTES", "40"),
        ],
    )?;
    wait_for_hooks(&hooks, |r| repeats(r) > told).await?;
    let started = Instant::now();
    while clickhouse.query(&logged).fetch_one::<u64>().await? <= was_logged {
        anyhow::ensure!(
            started.elapsed() < WAIT,
            "the killed process's notification was not logged"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().await?;
    let server = AiopsServer::start(&settings).await?;
    let told = repeats(&hooks.received());
    wait_for_hooks(&hooks, |r| repeats(r) > told).await?;
    check_notifications(&server.endpoint, &hooks, &always).await?;
    server.stop().await?;
    pipeline.stop().await?;
    Ok(())
}

/// The test's notification policy: everything to `oncall` in Korean,
/// grouped by alert name and sent at once; `flaky hook` to a webhook that
/// fails once; `repeats` to one that hears again every minute. Checks the
/// RPCs' answers on the way.
async fn notification_policy(
    endpoint: &str,
    hooks: &WebhookReceiver,
    alertmanager: &Alertmanager,
) -> anyhow::Result<()> {
    let mut alerts = AlertServiceClient::connect(endpoint.to_owned()).await?;
    let none = alerts
        .get_notification_policy(authed(GetNotificationPolicyRequest {}, TOKEN))
        .await?
        .into_inner()
        .policy
        .expect("a policy");
    assert_eq!(none, NotificationPolicy::default());
    let receiver = |name: &str, locale: &str, send_resolved: Option<bool>| Receiver {
        name: name.to_owned(),
        webhooks: vec![WebhookConfig {
            url: format!("{}/{}", hooks.base_url, name),
            locale: locale.to_owned(),
            send_resolved,
            max_alerts: 0,
        }],
    };
    let only = |name: &str| vec![matcher("alertname", SilenceOperator::Equal, name)];
    let policy = NotificationPolicy {
        receivers: vec![
            receiver("oncall", "ko", None),
            receiver("flaky", "", None),
            receiver("repeats", "", Some(false)),
        ],
        route: Some(Route {
            receiver: "oncall".to_owned(),
            group_by: vec!["alertname".to_owned()],
            group_wait_seconds: Some(0),
            group_interval_seconds: Some(1),
            repeat_interval_seconds: Some(3_600),
            routes: vec![
                Route {
                    receiver: "flaky".to_owned(),
                    matchers: only("flaky hook"),
                    ..Default::default()
                },
                Route {
                    receiver: "repeats".to_owned(),
                    matchers: only("repeats"),
                    group_interval_seconds: Some(5),
                    repeat_interval_seconds: Some(60),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
        alertmanagers: vec![AlertmanagerConfig {
            url: alertmanager.url.clone(),
            locale: "ko".to_owned(),
        }],
        ..Default::default()
    };
    // A route to a receiver that does not exist, named by its path.
    let mut bad = policy.clone();
    bad.route.as_mut().expect("route").routes[1].receiver = "pager".to_owned();
    let refused = alerts
        .update_notification_policy(authed(
            UpdateNotificationPolicyRequest { policy: Some(bad) },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("policy.route.routes[1].receiver: no receiver named \"pager\""),
        "{refused:?}"
    );
    let stored = alerts
        .update_notification_policy(authed(
            UpdateNotificationPolicyRequest {
                policy: Some(policy.clone()),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .policy
        .expect("the stored policy");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.receivers, policy.receivers);
    // Written over an old version: refused.
    let stale = alerts
        .update_notification_policy(authed(
            UpdateNotificationPolicyRequest {
                policy: Some(policy),
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let read = alerts
        .get_notification_policy(authed(GetNotificationPolicyRequest {}, TOKEN))
        .await?
        .into_inner()
        .policy;
    assert_eq!(read, Some(stored));
    Ok(())
}

/// The statuses of the notifications of alert `name`'s group, in order
/// (those the Alertmanager sent left out).
fn notified(received: &[Received], name: &str) -> Vec<String> {
    received
        .iter()
        .filter(|r| r.path != "/am" && r.body["groupLabels"]["alertname"] == name)
        .map(|r| r.body["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn wait_for_hooks(
    hooks: &WebhookReceiver,
    done: impl Fn(&[Received]) -> bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let received = hooks.received();
        if done(&received) {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < WAIT + Duration::from_secs(60),
            "notifications so far: {:#?}",
            received
                .iter()
                .map(|r| (&r.path, &r.body))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The statuses of what the Alertmanager sent on of alert `name`, in
/// order.
fn relayed(received: &[Received], name: &str) -> Vec<String> {
    received
        .iter()
        .filter(|r| r.path == "/am" && r.body["groupLabels"]["alertname"] == name)
        .map(|r| r.body["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Everything the webhooks heard, after both restarts.
async fn check_notifications(
    endpoint: &str,
    hooks: &WebhookReceiver,
    rule_ids: &[String],
) -> anyhow::Result<()> {
    let received = hooks.received();
    let firing_resolved = ["firing".to_owned(), "resolved".to_owned()];
    assert_eq!(notified(&received, "deleted while judged"), firing_resolved);
    assert_eq!(notified(&received, "deleted while down"), firing_resolved);
    // Firing across two restarts: told once.
    assert_eq!(notified(&received, "across restarts"), ["firing"]);
    assert_eq!(notified(&received, "flaky hook"), ["firing"]);
    // Silenced: never told.
    assert_eq!(notified(&received, "slow"), Vec::<String>::new());
    // The Alertmanager's own routing, unchanged: each alert once (sent
    // again every minute and across restarts, which it takes as the same
    // alert), resolved when it resolved; its silences are its own, so
    // the alert silenced here reaches it.
    assert_eq!(relayed(&received, "deleted while judged"), firing_resolved);
    assert_eq!(relayed(&received, "deleted while down"), firing_resolved);
    assert_eq!(relayed(&received, "across restarts"), ["firing"]);
    let from_am = received
        .iter()
        .find(|r| r.path == "/am" && r.body["groupLabels"]["alertname"] == "across restarts")
        .expect("the Alertmanager's notification");
    let relayed_alert = &from_am.body["alerts"][0];
    assert_eq!(relayed_alert["labels"]["tenant"], TENANT);
    assert_eq!(relayed_alert["labels"]["service_name"], "nobody");
    assert_eq!(
        relayed_alert["annotations"]["summary"],
        "nobody에서 아무것도 오지 않습니다"
    );
    assert!(
        relayed_alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/alerts/rules/{}", rule_ids[2]))),
        "{relayed_alert}"
    );
    // Once a minute, never sooner, restarts included.
    let repeats: Vec<&Received> = received.iter().filter(|r| r.path == "/repeats").collect();
    assert!(repeats.len() >= 2, "{repeats:#?}");
    for pair in repeats.windows(2) {
        let apart = pair[1].at.duration_since(pair[0].at);
        assert!(
            apart >= Duration::from_secs(59),
            "notified again after {apart:?}"
        );
    }
    assert!(repeats.iter().all(|r| r.body["status"] == "firing"));
    // Alertmanager's webhook JSON, the annotations in Korean.
    let first = received
        .iter()
        .find(|r| r.path == "/oncall" && r.body["groupLabels"]["alertname"] == "across restarts")
        .expect("the first notification");
    assert_eq!(first.path, "/oncall");
    let body = &first.body;
    assert_eq!(body["version"], "4");
    assert_eq!(body["receiver"], "oncall");
    assert_eq!(body["groupKey"], "{}:{alertname=\"across restarts\"}");
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(body["commonLabels"]["service_name"], "nobody");
    let alert = &body["alerts"][0];
    assert_eq!(body["alerts"].as_array().map(Vec::len), Some(1));
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["alertname"], "across restarts");
    assert_eq!(
        alert["annotations"]["summary"],
        "nobody에서 아무것도 오지 않습니다"
    );
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert!(
        alert["startsAt"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.ends_with(":00Z")),
        "{alert}"
    );
    assert!(
        alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/alerts/rules/{}", rule_ids[2]))),
        "{alert}"
    );
    assert!(
        alert["fingerprint"]
            .as_str()
            .is_some_and(|f| f.len() == 16 && f.bytes().all(|b| b.is_ascii_hexdigit())),
        "{alert}"
    );
    let resolved = received
        .iter()
        .rfind(|r| {
            r.path == "/oncall" && r.body["groupLabels"]["alertname"] == "deleted while judged"
        })
        .expect("the resolved notification");
    assert_eq!(resolved.body["alerts"][0]["status"], "resolved");
    assert_ne!(resolved.body["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    // The log: the failed attempt, then the delivery, newest first.
    let flaky = AlertServiceClient::connect(endpoint.to_owned())
        .await?
        .list_notifications(authed(
            ListNotificationsRequest {
                receiver: "flaky".to_owned(),
                page: None,
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .notifications;
    assert_eq!(flaky.len(), 2, "{flaky:#?}");
    assert!(
        flaky[0].delivered && flaky[0].error.is_empty(),
        "{flaky:#?}"
    );
    assert!(
        !flaky[1].delivered && flaky[1].error.starts_with("HTTP 500"),
        "{flaky:#?}"
    );
    assert!(
        flaky.iter().all(|n| n.status == AlertState::Firing as i32
            && n.firing == 1
            && n.group_key == "{}/{alertname=\"flaky hook\"}:{alertname=\"flaky hook\"}"),
        "{flaky:#?}"
    );
    Ok(())
}

/// A rule on `payment`'s `POST /charge` p95, above 500 ms (the incidents'
/// minutes are about 1,000 ms, the others about 100 ms).
fn slow_charges(name: &str) -> AlertRule {
    AlertRule {
        name: name.to_owned(),
        condition: Some(Condition::Threshold(ThresholdCondition {
            series: Some(RuleSeries {
                series: Some(rule_series::Series::Red(RedSeriesSelector {
                    service_name: "payment".to_owned(),
                    operation: "POST /charge".to_owned(),
                    signal: Signal::LatencyP95 as i32,
                    history_minutes: 0,
                })),
            }),
            comparison: Comparison::Above as i32,
            threshold: 500.0,
            k_of_n: None,
        })),
        labels: [("severity".to_owned(), "page".to_owned())].into(),
        annotations: vec![Annotation {
            name: "summary".to_owned(),
            en: "{{ $labels.service_name }} p95 is {{ $value }} ms".to_owned(),
            ko: "{{ $labels.service_name }} p95가 {{ $value }} ms입니다".to_owned(),
        }],
        ..Default::default()
    }
}

/// (active, fired, resolved) of each episode, in minutes of the history
/// (fired and resolved `None` when 0).
fn episodes(answer: &TestRuleResponse, first: u64) -> Vec<(u64, Option<u64>, Option<u64>)> {
    let minute = |ns: u64| (ns != 0).then(|| (ns - first) / MIN);
    answer
        .alerts
        .iter()
        .map(|a| {
            (
                (a.active_unix_nano - first) / MIN,
                minute(a.fired_unix_nano),
                minute(a.resolved_unix_nano),
            )
        })
        .collect()
}

/// A metric series an anomaly rule names is watched from the rule on,
/// starting with its backfill: queue `c`'s backlog is found in its minute
/// and nowhere else, listed with the series it is of, and the rule would
/// have fired then. Deleted again, so that the restarts below see only
/// what they saw before.
async fn metric_anomalies(endpoint: &str, first: u64) -> anyhow::Result<()> {
    let mut alerts = AlertServiceClient::connect(endpoint.to_owned()).await?;
    let mut anomalies = AnomalyServiceClient::connect(endpoint.to_owned()).await?;
    let history = TimeRange {
        start_unix_nano: first,
        end_unix_nano: first + HISTORY * MIN,
    };
    let filter = |operator: MatchOperator, value: &str| LabelFilter {
        key: "queue".to_owned(),
        operator: operator as i32,
        value: value.to_owned(),
    };
    let equals = |value: &str| filter(MatchOperator::Equals, value);
    let contains = |value: &str| filter(MatchOperator::Contains, value);
    let queue_c = MetricSeriesSelector {
        metric_name: "queue.depth".to_owned(),
        filters: vec![contains("c"), equals("c")],
        aggregation: Aggregation::Avg as i32,
        ..Default::default()
    };
    let rule = |filter: AnomalyFilter| AlertRule {
        condition: Some(Condition::Anomaly(AnomalyCondition {
            filter: Some(filter),
            k_of_n: None,
        })),
        annotations: vec![Annotation {
            name: "summary".to_owned(),
            en: "{{ $labels.metric_name }} is unusual".to_owned(),
            ko: "{{ $labels.metric_name }} 값이 평소와 다릅니다".to_owned(),
        }],
        ..slow_charges("queue c backs up")
    };
    let on_c = AnomalyFilter {
        metric: Some(queue_c.clone()),
        ..Default::default()
    };
    // A metric series has no service or operation, and is judged by the
    // minute.
    for (filter, field) in [
        (
            AnomalyFilter {
                service_name: "payment".to_owned(),
                ..on_c.clone()
            },
            "rule.anomaly.filter.service_name",
        ),
        (
            AnomalyFilter {
                metric: Some(MetricSeriesSelector {
                    step_seconds: 10,
                    ..queue_c.clone()
                }),
                ..Default::default()
            },
            "rule.anomaly.filter.metric",
        ),
        (AnomalyFilter::default(), "rule.anomaly.filter.service_name"),
    ] {
        let status = alerts
            .create_rule(authed(
                CreateRuleRequest {
                    rule: Some(rule(filter)),
                },
                TOKEN,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }
    let created = alerts
        .create_rule(authed(
            CreateRuleRequest {
                rule: Some(rule(on_c.clone())),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .rule
        .expect("the created rule");

    // Found once the watcher reads the rule (at its next minute), asked
    // for with the filters in another order and one of them twice.
    let asked = AnomalyFilter {
        metric: Some(MetricSeriesSelector {
            filters: vec![equals("c"), contains("c"), equals("c")],
            ..queue_c.clone()
        }),
        ..Default::default()
    };
    let started = Instant::now();
    let found = loop {
        let found = list_all(&mut anomalies, history, Some(asked.clone()), 0).await?;
        if !found.is_empty() {
            break found;
        }
        anyhow::ensure!(
            started.elapsed() < WAIT,
            "queue c's backlog not found within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(found.len(), 1, "{found:#?}");
    let spike = &found[0];
    assert_eq!(spike.time_unix_nano, first + QUEUE_SPIKE * MIN, "{spike:?}");
    assert_eq!(spike.signal, Signal::Metric as i32, "{spike:?}");
    assert!(spike.service_name.is_empty() && spike.operation.is_empty());
    assert_eq!(spike.value, 400.0);
    assert!(
        (45.0..=55.0).contains(&spike.expected) && spike.upper < 400.0,
        "{spike:?}"
    );
    let listed = spike.metric.as_ref().expect("the anomaly's metric series");
    assert_eq!(listed.metric_name, "queue.depth");
    assert_eq!(
        listed.filters,
        [equals("c"), contains("c")],
        "filters sorted by key, operator and value"
    );
    // The metric signal lists only this one; a RED signal with a metric
    // series could never match, and is refused.
    let status = anomalies
        .list_anomalies(authed(
            ListAnomaliesRequest {
                time_range: Some(history),
                filter: Some(AnomalyFilter {
                    signals: vec![Signal::LatencyP95 as i32],
                    ..asked.clone()
                }),
                page: None,
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("filter.signals"), "{status:?}");
    let by_signal = AnomalyFilter {
        signals: vec![Signal::Metric as i32],
        ..Default::default()
    };
    assert_eq!(
        list_all(&mut anomalies, history, Some(by_signal), 0).await?,
        found
    );

    // The rule would have fired in that minute (and resolved the next),
    // labelled with the metric.
    let answer = alerts
        .test_rule(authed(
            TestRuleRequest {
                rule: Some(created.clone()),
                time_range: Some(history),
                locale: "ko".to_owned(),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(
        episodes(&answer, first),
        [(QUEUE_SPIKE, Some(QUEUE_SPIKE), Some(QUEUE_SPIKE + 1))]
    );
    assert_eq!(answer.alerts[0].labels["metric_name"], "queue.depth");
    assert_eq!(
        answer.alerts[0].annotations["summary"],
        "queue.depth 값이 평소와 다릅니다"
    );
    alerts
        .delete_rule(authed(
            DeleteRuleRequest {
                id: created.id,
                version: created.version,
            },
            TOKEN,
        ))
        .await?;
    Ok(())
}

/// Rules CRUD and TestRule over the twenty minutes of history.
async fn alert_rules(endpoint: &str, first: u64) -> anyhow::Result<()> {
    let mut alerts = AlertServiceClient::connect(endpoint.to_owned()).await?;
    let history = TimeRange {
        start_unix_nano: first,
        end_unix_nano: first + HISTORY * MIN,
    };
    let tester = alerts.clone();
    let test = |rule: AlertRule, locale: &str| {
        let mut alerts = tester.clone();
        let request = TestRuleRequest {
            rule: Some(rule),
            time_range: Some(history),
            locale: locale.to_owned(),
        };
        async move { anyhow::Ok(alerts.test_rule(authed(request, TOKEN)).await?.into_inner()) }
    };

    // Stored, read back, listed by name in pages, updated with the version
    // read, deleted.
    let created = alerts
        .create_rule(authed(
            CreateRuleRequest {
                rule: Some(slow_charges("slow charges")),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .rule
        .expect("the created rule");
    assert!(!created.id.is_empty());
    assert_eq!(created.version, 1);
    assert!(created.update_time_unix_nano > first);
    let read = alerts
        .get_rule(authed(
            GetRuleRequest {
                id: created.id.clone(),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .rule;
    assert_eq!(read.as_ref(), Some(&created));
    for name in ["a rule", "b rule"] {
        alerts
            .create_rule(authed(
                CreateRuleRequest {
                    rule: Some(slow_charges(name)),
                },
                TOKEN,
            ))
            .await?;
    }
    let mut names = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = alerts
            .list_rules(authed(
                ListRulesRequest {
                    page: Some(PageRequest {
                        page_size: 2,
                        page_token,
                    }),
                },
                TOKEN,
            ))
            .await?
            .into_inner();
        names.extend(page.rules.into_iter().map(|r| r.name));
        page_token = page.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(names, ["a rule", "b rule", "slow charges"]);
    let mut edited = created.clone();
    edited.for_minutes = 3;
    let updated = alerts
        .update_rule(authed(
            UpdateRuleRequest {
                rule: Some(edited.clone()),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .rule
        .expect("the updated rule");
    assert_eq!((updated.version, updated.for_minutes), (2, 3));
    let stale = alerts
        .update_rule(authed(UpdateRuleRequest { rule: Some(edited) }, TOKEN))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert!(stale.message().starts_with("rule.version"), "{stale:?}");
    let delete = |version: u64| DeleteRuleRequest {
        id: created.id.clone(),
        version,
    };
    let stale = alerts
        .delete_rule(authed(delete(1), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    alerts.delete_rule(authed(delete(2), TOKEN)).await?;
    for status in [
        alerts
            .get_rule(authed(
                GetRuleRequest {
                    id: created.id.clone(),
                },
                TOKEN,
            ))
            .await
            .unwrap_err(),
        alerts
            .delete_rule(authed(delete(0), TOKEN))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
    // Refusals name the field.
    let mut with_id = slow_charges("x");
    with_id.id = "mine".to_owned();
    let mut not_finite = slow_charges("x");
    if let Some(Condition::Threshold(t)) = &mut not_finite.condition {
        t.threshold = f64::INFINITY;
    }
    for (rule, field) in [
        (with_id, "rule.id"),
        (not_finite, "rule.threshold.threshold"),
    ] {
        let status = alerts
            .create_rule(authed(CreateRuleRequest { rule: Some(rule) }, TOKEN))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }

    // A threshold fires in each incident's minute and resolves in the next.
    let answer = test(slow_charges("slow"), "ko").await?;
    assert_eq!(answer.evaluations.len(), HISTORY as usize);
    let firing: Vec<u64> = answer
        .evaluations
        .iter()
        .filter(|e| e.state == AlertState::Firing as i32)
        .map(|e| (e.time_unix_nano - first) / MIN)
        .collect();
    assert_eq!(firing, INCIDENTS);
    assert!(
        answer
            .evaluations
            .iter()
            .all(|e| e.has_value && (e.breached == (e.value > 500.0))),
        "{answer:#?}"
    );
    let incident_episodes: Vec<_> = INCIDENTS
        .iter()
        .map(|&m| (m, Some(m), Some(m + 1)))
        .collect();
    assert_eq!(episodes(&answer, first), incident_episodes);
    let alert = &answer.alerts[0];
    assert!(alert.value > 500.0, "{alert:?}");
    assert_eq!(alert.labels["alertname"], "slow");
    assert_eq!(alert.labels["severity"], "page");
    assert_eq!(alert.labels["operation"], "POST /charge");
    let summary = &alert.annotations["summary"];
    assert!(
        summary.starts_with("payment p95가 ") && summary.ends_with(" ms입니다"),
        "{summary}"
    );
    // One minute is not enough for `for_minutes: 1`: both stay pending.
    let mut patient = slow_charges("slow");
    patient.for_minutes = 1;
    let pending: Vec<_> = INCIDENTS.iter().map(|&m| (m, None, Some(m + 1))).collect();
    assert_eq!(episodes(&test(patient, "en").await?, first), pending);
    // Two of the last five minutes: only from the second incident on.
    let mut two_of_five = slow_charges("slow");
    if let Some(Condition::Threshold(t)) = &mut two_of_five.condition {
        t.k_of_n = Some(KOfN { k: 2, n: 5 });
    }
    assert_eq!(
        episodes(&test(two_of_five, "en").await?, first),
        [(INCIDENTS[1], Some(INCIDENTS[1]), Some(INCIDENTS[1] + 1))]
    );
    // The anomalies continuous detection stored, as a rule.
    let anomaly = AlertRule {
        condition: Some(Condition::Anomaly(AnomalyCondition {
            filter: Some(AnomalyFilter {
                service_name: "payment".to_owned(),
                operation: "POST /charge".to_owned(),
                signals: vec![Signal::LatencyP95 as i32],
                min_score: 0.5,
                metric: None,
            }),
            k_of_n: None,
        })),
        ..slow_charges("anomalous charges")
    };
    assert_eq!(
        episodes(&test(anomaly, "en").await?, first),
        incident_episodes
    );
    // Absence: cart has traffic every minute; a service that never sent
    // any is absent from the start and still at the end.
    let absent = |service: &str| AlertRule {
        condition: Some(Condition::Absence(AbsenceCondition {
            series: Some(RuleSeries {
                series: Some(rule_series::Series::Red(RedSeriesSelector {
                    service_name: service.to_owned(),
                    signal: Signal::RequestRate as i32,
                    ..Default::default()
                })),
            }),
            minutes: 3,
        })),
        ..slow_charges("gone")
    };
    assert_eq!(episodes(&test(absent("cart"), "en").await?, first), []);
    assert_eq!(
        episodes(&test(absent("nobody"), "en").await?, first),
        [(0, Some(0), None)]
    );
    // A metric: queue b stays at 500 the whole time.
    let deep_queue = AlertRule {
        condition: Some(Condition::Threshold(ThresholdCondition {
            series: Some(RuleSeries {
                series: Some(rule_series::Series::Metric(MetricSeriesSelector {
                    filters: vec![LabelFilter {
                        key: "queue".to_owned(),
                        operator: MatchOperator::Equals as i32,
                        value: "b".to_owned(),
                    }],
                    metric_name: "queue.depth".to_owned(),
                    aggregation: Aggregation::Avg as i32,
                    ..Default::default()
                })),
            }),
            comparison: Comparison::Above as i32,
            threshold: 400.0,
            k_of_n: None,
        })),
        annotations: vec![Annotation {
            name: "summary".to_owned(),
            en: "{{ $labels.metric_name }} at {{ $value }}".to_owned(),
            ko: String::new(),
        }],
        ..slow_charges("deep queue")
    };
    let answer = test(deep_queue, "ko").await?;
    assert_eq!(episodes(&answer, first), [(0, Some(0), None)]);
    assert_eq!(
        answer.alerts[0].annotations["summary"],
        "queue.depth at 500"
    );
    // No errors at all: the error budget is not burning.
    let burn = AlertRule {
        condition: Some(Condition::BurnRate(BurnRateCondition {
            service_name: "payment".to_owned(),
            objective: 0.999,
            ..Default::default()
        })),
        ..slow_charges("burning")
    };
    let answer = test(burn, "en").await?;
    assert_eq!(episodes(&answer, first), []);
    assert!(
        answer
            .evaluations
            .iter()
            .all(|e| e.has_value && e.value == 0.0),
        "{answer:#?}"
    );
    // A window longer than a week is refused.
    let status = alerts
        .test_rule(authed(
            TestRuleRequest {
                rule: Some(slow_charges("slow")),
                time_range: Some(TimeRange {
                    start_unix_nano: first - 8 * 24 * 60 * MIN,
                    end_unix_nano: first,
                }),
                locale: String::new(),
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().starts_with("time_range"), "{status:?}");
    Ok(())
}

fn matcher(name: &str, operator: SilenceOperator, value: &str) -> LabelMatcher {
    LabelMatcher {
        name: name.to_owned(),
        value: value.to_owned(),
        operator: operator as i32,
    }
}

/// The silences [`silences`] leaves of the `slow` alerts of payment.
struct Muting {
    /// Active, so it mutes the live incident's alert.
    active: String,
    /// Replaced by `active` just now.
    replaced: String,
}

/// Silences CRUD with Alertmanager's semantics. Leaves one active silence
/// of the `slow` alerts of payment, which must mute the live incident's
/// alert, and others that must not.
async fn silences(endpoint: &str) -> anyhow::Result<Muting> {
    let mut alerts = AlertServiceClient::connect(endpoint.to_owned()).await?;
    let now = now_unix_nano();
    let slow_payment = || {
        vec![
            matcher("alertname", SilenceOperator::Equal, "slow"),
            matcher("service_name", SilenceOperator::Regex, "pay.*"),
        ]
    };
    let silence = |matchers: Vec<LabelMatcher>, start: u64, end: u64| Silence {
        matchers,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        created_by: "미나 <mina@example.com>".to_owned(),
        comment: "결제 점검 (payment maintenance)".to_owned(),
        ..Default::default()
    };
    let create = |s: Silence| {
        let mut alerts = alerts.clone();
        async move {
            anyhow::Ok(
                alerts
                    .create_silence(authed(CreateSilenceRequest { silence: Some(s) }, TOKEN))
                    .await?
                    .into_inner()
                    .silence
                    .expect("the created silence"),
            )
        }
    };

    // A start in the past becomes now; the state follows the times.
    let active = create(silence(slow_payment(), now - 10 * MIN, now + 60 * MIN)).await?;
    assert!(!active.id.is_empty());
    assert_eq!(active.version, 1);
    assert!(active.start_time_unix_nano >= now, "{active:?}");
    assert_eq!(active.state, SilenceState::Active as i32);
    assert_eq!(active.created_by, "미나 <mina@example.com>");
    let pending = create(silence(slow_payment(), now + 30 * MIN, now + 90 * MIN)).await?;
    assert_eq!(pending.state, SilenceState::Pending as i32);
    // Another alert's silence: active, but not for the payment alerts.
    let other = create(silence(
        vec![matcher("alertname", SilenceOperator::Equal, "deep queue")],
        0,
        now + 120 * MIN,
    ))
    .await?;
    let read = alerts
        .get_silence(authed(
            GetSilenceRequest {
                id: active.id.clone(),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .silence;
    assert_eq!(read.as_ref(), Some(&active));

    // Listed by state, latest end first, in pages.
    let list = |states: Vec<SilenceState>, page_size: u32, token: String| {
        let mut alerts = alerts.clone();
        async move {
            anyhow::Ok(
                alerts
                    .list_silences(authed(
                        ListSilencesRequest {
                            states: states.into_iter().map(|s| s as i32).collect(),
                            page: Some(PageRequest {
                                page_size,
                                page_token: token,
                            }),
                        },
                        TOKEN,
                    ))
                    .await?
                    .into_inner(),
            )
        }
    };
    let ids = |silences: &[Silence]| silences.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    let first_page = list(vec![], 2, String::new()).await?;
    assert_eq!(
        ids(&first_page.silences),
        [other.id.clone(), pending.id.clone()]
    );
    let token = first_page.page.expect("page info").next_page_token;
    assert!(!token.is_empty());
    let second = list(vec![], 2, token).await?;
    assert_eq!(ids(&second.silences), std::slice::from_ref(&active.id));
    assert_eq!(second.page.expect("page info").next_page_token, "");
    let active_ones = list(vec![SilenceState::Active], 0, String::new()).await?;
    assert_eq!(
        ids(&active_ones.silences),
        [other.id.clone(), active.id.clone()]
    );
    let pending_ones = list(vec![SilenceState::Pending], 0, String::new()).await?;
    assert_eq!(
        ids(&pending_ones.silences),
        std::slice::from_ref(&pending.id)
    );

    // An active silence's end and comment change in place; its matchers
    // do not: changing them expires it and makes a new silence.
    let update = |s: Silence| {
        let mut alerts = alerts.clone();
        async move {
            let answer = alerts
                .update_silence(authed(UpdateSilenceRequest { silence: Some(s) }, TOKEN))
                .await;
            answer.map(|r| r.into_inner().silence.expect("the updated silence"))
        }
    };
    let longer = update(Silence {
        end_time_unix_nano: now + 70 * MIN,
        comment: "연장 (extended)".to_owned(),
        ..active.clone()
    })
    .await?;
    assert_eq!(
        (longer.id.as_str(), longer.version),
        (active.id.as_str(), 2)
    );
    assert_eq!(longer.start_time_unix_nano, active.start_time_unix_nano);
    let stale = update(active.clone()).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert!(stale.message().starts_with("silence.version"), "{stale:?}");
    let mut narrower = longer.clone();
    narrower.matchers[1].value = "payment".to_owned();
    let replaced = update(narrower).await?;
    assert_ne!(replaced.id, active.id);
    assert_eq!(replaced.version, 1);
    assert_eq!(replaced.state, SilenceState::Active as i32);
    assert_eq!(replaced.matchers[1].value, "payment");
    let old = alerts
        .clone()
        .get_silence(authed(
            GetSilenceRequest {
                id: active.id.clone(),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .silence
        .expect("the replaced silence");
    assert_eq!(old.state, SilenceState::Expired as i32);
    assert_eq!(old.version, 3);
    // An expired silence changes into a new one, and stays as it was.
    let recreated = update(Silence {
        matchers: vec![matcher("alertname", SilenceOperator::Equal, "deep queue")],
        end_time_unix_nano: now + 80 * MIN,
        ..old.clone()
    })
    .await?;
    assert_ne!(recreated.id, old.id);
    assert_eq!(recreated.version, 1);
    assert_eq!(recreated.state, SilenceState::Active as i32);
    let still = alerts
        .clone()
        .get_silence(authed(GetSilenceRequest { id: old.id.clone() }, TOKEN))
        .await?
        .into_inner()
        .silence;
    assert_eq!(still.as_ref(), Some(&old));

    // A pending silence expired never starts; expiring twice is harmless.
    let expire = |id: &str| {
        let mut alerts = alerts.clone();
        let id = id.to_owned();
        async move {
            anyhow::Ok(
                alerts
                    .expire_silence(authed(ExpireSilenceRequest { id }, TOKEN))
                    .await?
                    .into_inner()
                    .silence
                    .expect("the expired silence"),
            )
        }
    };
    let never = expire(&pending.id).await?;
    assert_eq!(never.state, SilenceState::Expired as i32);
    assert_eq!(never.start_time_unix_nano, never.end_time_unix_nano);
    assert!(never.end_time_unix_nano < pending.start_time_unix_nano);
    assert_eq!(expire(&pending.id).await?, never);
    let expired_ones = list(vec![SilenceState::Expired], 0, String::new()).await?;
    let mut expired_ids = ids(&expired_ones.silences);
    expired_ids.sort();
    let mut want = vec![active.id.clone(), pending.id.clone()];
    want.sort();
    assert_eq!(expired_ids, want);

    // Refusals name the field.
    let mut alerts2 = alerts.clone();
    for (request, code, field) in [
        (
            silence(vec![], 0, now + MIN),
            Code::InvalidArgument,
            "silence.matchers",
        ),
        (
            silence(
                vec![matcher("service_name", SilenceOperator::Regex, "pay(")],
                0,
                now + MIN,
            ),
            Code::InvalidArgument,
            "silence.matchers[0].value",
        ),
        (
            silence(
                vec![matcher("alertname", SilenceOperator::Regex, ".*")],
                0,
                now + MIN,
            ),
            Code::InvalidArgument,
            "silence.matchers",
        ),
        (
            silence(slow_payment(), 0, now - MIN),
            Code::InvalidArgument,
            "silence.end_time_unix_nano",
        ),
        (
            Silence {
                created_by: String::new(),
                ..silence(slow_payment(), 0, now + MIN)
            },
            Code::InvalidArgument,
            "silence.created_by",
        ),
    ] {
        let status = alerts2
            .create_silence(authed(
                CreateSilenceRequest {
                    silence: Some(request),
                },
                TOKEN,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }
    let missing = alerts2
        .get_silence(authed(
            GetSilenceRequest {
                id: "no-such-silence".to_owned(),
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let bad_state = list(vec![SilenceState::Unspecified], 0, String::new())
        .await
        .unwrap_err();
    assert!(bad_state.to_string().contains("states[0]"), "{bad_state:?}");
    Ok(Muting {
        active: replaced.id,
        replaced: active.id,
    })
}

/// The alerts of `rule_id` once `done` says so (or after [`WAIT`]).
async fn wait_for_alerts(
    endpoint: &str,
    rule_id: &str,
    done: impl Fn(&ListAlertsResponse) -> bool,
) -> anyhow::Result<ListAlertsResponse> {
    let mut alerts = AlertServiceClient::connect(endpoint.to_owned()).await?;
    let started = Instant::now();
    loop {
        let answer = alerts
            .list_alerts(authed(
                ListAlertsRequest {
                    rule_id: rule_id.to_owned(),
                    ..Default::default()
                },
                TOKEN,
            ))
            .await?
            .into_inner();
        if done(&answer) {
            return Ok(answer);
        }
        anyhow::ensure!(
            started.elapsed() < WAIT + Duration::from_secs(60),
            "the rule's alerts: {answer:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
