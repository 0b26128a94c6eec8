//! The search service against real ClickHouse: the vocabulary it reads
//! from a tenant's telemetry (spans, logs and metrics through the real
//! pipeline), the tenant's synonyms from its configuration, completions,
//! a refresh that finds a new service while questions go on being
//! answered, each tenant alone, and the errors: an over-long question, an
//! unknown time zone, ClickHouse unreachable. Ask against the real query
//! service: each kind of question answered by the query that owns it,
//! with the caller's tenant.

use std::time::{Duration, Instant};

use airis_aiops::watch::store::{AnomalyRow, write_anomalies};
use airis_proto::airis::aiops::v1::Signal as AnomalySignal;
use airis_proto::airis::analytics::v1::Aggregation as MetricAggregation;
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{Signal as DeltaSignal, Verdict};
use airis_proto::airis::search::v1::{
    AskRequest, AskResponse, InterpretRequest, InterpretResponse, Interpretation, Order, Signal,
    SuggestRequest, SuggestionKind, answer, ask_request,
    search_service_client::SearchServiceClient,
};
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::{
    collector::{
        logs::v1::{ExportLogsServiceRequest, logs_service_client::LogsServiceClient},
        metrics::v1::{ExportMetricsServiceRequest, metrics_service_client::MetricsServiceClient},
    },
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
        number_data_point,
    },
    resource::v1::Resource,
    trace::v1::Span,
};
use airis_proto::tonic::{Code, transport::Channel};
use airis_store::tables::{LOGS, METRICS_GAUGE, TRACES};
use airis_tests::{
    AiopsServer, DeltaServer, OTHER_TENANT, OTHER_TOKEN, Pipeline, QueryServer, SearchServer,
    Settings, TENANT, TOKEN, free_port,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(60);

fn span(n: u64, name: &str, attributes: &[(&str, &str)]) -> Span {
    let start = now_unix_nano() - 60_000_000_000;
    Span {
        trace_id: trace_id(start, n),
        span_id: span_id(n),
        name: name.to_owned(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 700_000_000,
        attributes: attributes.iter().map(|(k, v)| kv(k, *v)).collect(),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", service)],
        ..Default::default()
    })
}

fn logs(service: &str, body: &str) -> ExportLogsServiceRequest {
    let now = now_unix_nano();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now,
                    observed_time_unix_nano: now,
                    severity_number: 17,
                    body: Some(airis_proto::otlp::tonic::common::v1::AnyValue {
                        value: Some(
                            airis_proto::otlp::tonic::common::v1::any_value::Value::StringValue(
                                body.to_owned(),
                            ),
                        ),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gauge(service: &str, name: &str) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.to_owned(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: now_unix_nano(),
                            value: Some(number_data_point::Value::AsDouble(3.0)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn question(q: &str) -> InterpretRequest {
    InterpretRequest {
        question: q.to_owned(),
        locale: String::new(),
        time_zone: "Asia/Seoul".to_owned(),
        now_unix_nano: 0,
    }
}

async fn ask(
    client: &mut SearchServiceClient<Channel>,
    token: &str,
    q: &str,
) -> anyhow::Result<InterpretResponse> {
    Ok(client
        .interpret(authed(question(q), token))
        .await?
        .into_inner())
}

fn services(answer: &InterpretResponse) -> Vec<String> {
    answer
        .interpretation
        .as_ref()
        .map(|i| i.service_names.clone())
        .unwrap_or_default()
}

async fn suggest(
    client: &mut SearchServiceClient<Channel>,
    token: &str,
    prefix: &str,
) -> anyhow::Result<Vec<(String, i32, String)>> {
    let request = SuggestRequest {
        prefix: prefix.to_owned(),
        limit: 0,
    };
    Ok(client
        .suggest(authed(request, token))
        .await?
        .into_inner()
        .suggestions
        .into_iter()
        .map(|s| (s.text, s.kind, s.via))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_are_read_over_the_askers_own_vocabulary() -> anyhow::Result<()> {
    let mut settings = Settings::new("search");
    settings.search.vocabulary.refresh_secs = 1;
    settings.search.vocabulary.synonyms.insert(
        TENANT.to_owned(),
        [("정산".to_owned(), "billing".to_owned())].into(),
    );
    let pipeline = Pipeline::start(settings.clone()).await?;

    // acme: payment-api and billing send spans, mailer logs only, checkout
    // a metric; globex has a ledger.
    let mut traces = trace_client(&pipeline.endpoint).await?;
    let sent = [
        (
            TOKEN,
            "payment-api",
            span(1, "POST /pay", &[("http.route", "/pay")]),
        ),
        (
            TOKEN,
            "payment-api",
            span(2, "POST /pay", &[("http.route", "/pay")]),
        ),
        (
            TOKEN,
            "billing",
            span(3, "GET /invoice", &[("http.route", "/invoice")]),
        ),
        (OTHER_TOKEN, "ledger", span(4, "POST /entries", &[])),
    ];
    for (token, service, span) in sent {
        traces
            .export(authed(traces_request(service, vec![span]), token))
            .await?;
    }
    LogsServiceClient::connect(pipeline.endpoint.clone())
        .await?
        .export(authed(logs("mailer", "메일 발송 실패"), TOKEN))
        .await?;
    MetricsServiceClient::connect(pipeline.endpoint.clone())
        .await?
        .export(authed(gauge("checkout", "checkout.queue.depth"), TOKEN))
        .await?;
    let ch = pipeline.settings.clickhouse();
    for (table, rows) in [(TRACES, 4), (LOGS, 1), (METRICS_GAUGE, 1)] {
        let seen = wait_for_count(&ch, &format!("SELECT count() FROM {table}"), rows, WAIT).await?;
        assert_eq!(seen, rows, "{table}");
    }

    let server = SearchServer::start(&settings).await?;
    let mut client = SearchServiceClient::connect(server.endpoint.clone()).await?;

    // The glossary finds payment-api for 결제 because acme has it.
    let answer = ask(
        &mut client,
        TOKEN,
        "지난 1시간 동안 결제 서비스에서 500ms 넘게 걸린 요청",
    )
    .await?;
    assert_eq!(services(&answer), ["payment-api"], "{answer:?}");
    let read = answer.interpretation.clone().unwrap_or_default();
    assert_eq!(
        read.min_duration.map(|d| d.nano),
        Some(500_000_000),
        "{answer:?}"
    );
    assert!(answer.unplaced.is_empty(), "{answer:?}");
    assert_eq!(answer.locale, "ko");
    // The tenant's synonym from the configuration; a service seen in logs
    // only; a metric.
    assert_eq!(
        services(&ask(&mut client, TOKEN, "정산 에러").await?),
        ["billing"]
    );
    assert_eq!(
        services(&ask(&mut client, TOKEN, "errors in mailer").await?),
        ["mailer"]
    );
    let answer = ask(&mut client, TOKEN, "average checkout.queue.depth").await?;
    assert_eq!(
        answer.interpretation.unwrap_or_default().metric_name,
        "checkout.queue.depth"
    );
    // globex's names, and acme's synonym, are not globex's vocabulary and
    // acme's: unplaced, never guessed.
    let answer = ask(&mut client, TOKEN, "errors in ledger").await?;
    assert!(services(&answer).is_empty(), "{answer:?}");
    assert!(
        answer.unplaced.iter().any(|u| u.text == "ledger"),
        "{answer:?}"
    );
    assert_eq!(
        services(&ask(&mut client, OTHER_TOKEN, "errors in ledger").await?),
        ["ledger"]
    );
    let answer = ask(&mut client, OTHER_TOKEN, "정산 에러").await?;
    assert!(services(&answer).is_empty(), "{answer:?}");
    assert!(
        answer.unplaced.iter().any(|u| u.text.starts_with("정산")),
        "{answer:?}"
    );

    // Completions: a name's start, a part of it, a glossary word, a
    // synonym, an attribute value; the other tenant's names never.
    let service = SuggestionKind::Service as i32;
    // The service first, then the operation with a part starting so.
    assert_eq!(
        suggest(&mut client, TOKEN, "pay").await?,
        [
            ("payment-api".into(), service, String::new()),
            (
                "POST /pay".into(),
                SuggestionKind::Operation as i32,
                String::new()
            )
        ]
    );
    assert_eq!(
        suggest(&mut client, TOKEN, "api").await?,
        [("payment-api".into(), service, String::new())]
    );
    // 결제 is payment and billing in the glossary.
    assert_eq!(
        suggest(&mut client, TOKEN, "결").await?,
        [
            ("billing".into(), service, "결제".into()),
            ("payment-api".into(), service, "결제".into())
        ]
    );
    assert_eq!(
        suggest(&mut client, TOKEN, "정").await?,
        [("billing".into(), service, "정산".into())]
    );
    let values = suggest(&mut client, TOKEN, "/inv").await?;
    assert_eq!(
        values,
        [(
            "/invoice".into(),
            SuggestionKind::AttributeValue as i32,
            String::new()
        )]
    );
    assert!(suggest(&mut client, TOKEN, "led").await?.is_empty());
    assert_eq!(suggest(&mut client, OTHER_TOKEN, "led").await?.len(), 1);

    // A service that appears later is found after a background refresh
    // (every second here), while questions keep being answered with the
    // vocabulary they find.
    traces
        .export(authed(
            traces_request("inventory", vec![span(5, "GET /stock", &[])]),
            TOKEN,
        ))
        .await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = ask(&mut client, TOKEN, "errors in inventory").await?;
        if services(&answer) == ["inventory"] {
            break;
        }
        assert!(
            answer.unplaced.iter().any(|u| u.text == "inventory"),
            "{answer:?}"
        );
        assert!(
            Instant::now() < deadline,
            "inventory never found: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Refusals name the field.
    let long = client
        .interpret(authed(question(&"결제 ".repeat(2000)), TOKEN))
        .await
        .expect_err("a 14 kB question");
    assert_eq!(long.code(), Code::InvalidArgument);
    assert_eq!(long.message(), "question: 14000 bytes, at most 1024");
    let mut zone = question("errors");
    zone.time_zone = "Mars/Olympus".into();
    let zone = client
        .interpret(authed(zone, TOKEN))
        .await
        .expect_err("zone");
    assert_eq!(zone.code(), Code::InvalidArgument);
    assert!(zone.message().starts_with("time_zone:"), "{zone:?}");
    let limit = client
        .suggest(authed(
            SuggestRequest {
                prefix: "p".into(),
                limit: 500,
            },
            TOKEN,
        ))
        .await
        .expect_err("limit");
    assert_eq!(
        (limit.code(), limit.message()),
        (Code::InvalidArgument, "limit: 500, at most 50")
    );
    let anonymous = client
        .interpret(airis_proto::tonic::Request::new(question("errors")))
        .await
        .expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // ClickHouse unreachable: UNAVAILABLE, safe to retry; what needs no
    // vocabulary is still checked.
    let mut dead = settings.clone();
    dead.clickhouse.url = format!("http://127.0.0.1:{}", free_port()?);
    let unreachable = SearchServer::start(&dead).await?;
    let mut other = SearchServiceClient::connect(unreachable.endpoint.clone()).await?;
    let down = other
        .interpret(authed(question("errors in payment"), TOKEN))
        .await
        .expect_err("clickhouse down");
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert!(down.message().contains("vocabulary"), "{down:?}");
    // Asked again at once: the failure is remembered for a few seconds,
    // not read again by every waiting question.
    let again = other
        .interpret(authed(question("errors in payment"), TOKEN))
        .await
        .expect_err("clickhouse still down");
    assert_eq!(
        (again.code(), again.message()),
        (Code::Unavailable, down.message())
    );
    let mut zone = question("errors");
    zone.time_zone = "Asia/Nowhere".into();
    let zone = other
        .interpret(authed(zone, TOKEN))
        .await
        .expect_err("zone");
    assert_eq!(zone.code(), Code::InvalidArgument, "{zone:?}");
    let long = other
        .interpret(authed(question(&"x".repeat(1025)), TOKEN))
        .await
        .expect_err("long");
    assert_eq!(long.code(), Code::InvalidArgument);

    unreachable.stop().await?;
    server.stop().await?;
    pipeline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anomaly_questions_are_answered_by_the_anomaly_service_as_the_caller() -> anyhow::Result<()>
{
    let settings = Settings::new("search_anomalies");
    settings.migrate().await?;
    // Stored as continuous detection stores them: acme's payment-api with
    // an error-rate and a latency anomaly, its checkout with a latency
    // one; globex's ledger with one.
    let minute = (now_unix_nano() / 1_000_000_000 / 60 * 60) as u32 - 600;
    let row = |tenant: &str, service: &str, signal: &str, minute: u32, score: f64| AnomalyRow {
        tenant: tenant.into(),
        service: service.into(),
        operation: String::new(),
        signal: signal.into(),
        metric: String::new(),
        minute,
        value: 1.0,
        expected: 0.1,
        lower: 0.0,
        upper: 0.2,
        score,
        kind: "spike".into(),
        detected_at: i64::from(minute + 60) * 1_000_000_000,
    };
    write_anomalies(
        &settings.clickhouse(),
        "search-anomalies",
        &[
            row(TENANT, "payment-api", "error_rate", minute, 0.9),
            row(TENANT, "payment-api", "latency_p95", minute - 60, 0.8),
            row(TENANT, "checkout", "latency_p95", minute - 120, 0.95),
            row(OTHER_TENANT, "ledger", "error_rate", minute, 0.99),
        ],
    )
    .await?;

    // Anomalies need the anomaly service only.
    let aiops = AiopsServer::start(&settings).await?;
    let mut with_aiops = settings.clone();
    with_aiops.search.aiops_endpoint = aiops.endpoint.clone();
    with_aiops.search.query_endpoint = String::new();
    let server = SearchServer::start(&with_aiops).await?;
    let mut client = SearchServiceClient::connect(server.endpoint.clone()).await?;
    let listed = |result: answer::Result| match result {
        answer::Result::Anomalies(a) => a
            .anomalies
            .iter()
            .map(|a| (a.service_name.clone(), a.signal))
            .collect::<Vec<_>>(),
        other => panic!("not anomalies: {other:?}"),
    };

    // Every anomaly of the caller's tenant, newest first.
    let (sent, result, _) = asked(&mut client, TOKEN, "지난 1시간 동안 탐지된 이상 징후").await?;
    assert!(matches!(sent, answer::Query::ListAnomalies(_)), "{sent:?}");
    assert_eq!(
        listed(result),
        [
            ("payment-api".into(), AnomalySignal::ErrorRate as i32),
            ("payment-api".into(), AnomalySignal::LatencyP95 as i32),
            ("checkout".into(), AnomalySignal::LatencyP95 as i32),
        ]
    );
    // Errors: the error-rate anomalies; the other tenant sees its own only.
    let (_, result, _) = asked(&mut client, TOKEN, "error anomalies in the last hour").await?;
    assert_eq!(
        listed(result),
        [("payment-api".into(), AnomalySignal::ErrorRate as i32)]
    );
    let (_, result, _) = asked(&mut client, OTHER_TOKEN, "anomalies in the last hour").await?;
    assert_eq!(
        listed(result),
        [("ledger".into(), AnomalySignal::ErrorRate as i32)]
    );
    // Two services, highest score first: picked and ordered here.
    let i = Interpretation {
        signal: Signal::Anomalies as i32,
        service_names: vec!["checkout".into(), "ledger".into(), "payment-api".into()],
        time_range: Some(TimeRange {
            start_unix_nano: u64::from(minute - 3600) * 1_000_000_000,
            end_unix_nano: now_unix_nano(),
        }),
        order: Order::LargestFirst as i32,
        limit: 2,
        ..Default::default()
    };
    let response = answer_to(&mut client, TOKEN, ask_request::Query::Interpretation(i)).await?;
    let answer = response.answer.unwrap_or_default();
    assert!(answer.narrowed);
    assert_eq!(
        listed(answer.result.unwrap()),
        [
            ("checkout".into(), AnomalySignal::LatencyP95 as i32),
            ("payment-api".into(), AnomalySignal::ErrorRate as i32),
        ]
    );
    // Other questions still need the query service.
    let refused = answer_to(
        &mut client,
        TOKEN,
        ask_request::Query::Question("payment-api errors".into()),
    )
    .await
    .expect_err("no query service");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("search.query_endpoint"),
        "{refused:?}"
    );

    // Without an anomaly service, and with one that is down.
    let mut unset = settings.clone();
    unset.search.aiops_endpoint = String::new();
    let alone = SearchServer::start(&unset).await?;
    let mut alone_client = SearchServiceClient::connect(alone.endpoint.clone()).await?;
    let refused = answer_to(
        &mut alone_client,
        TOKEN,
        ask_request::Query::Question("anomalies today".into()),
    )
    .await
    .expect_err("no anomaly service");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("search.aiops_endpoint"),
        "{refused:?}"
    );
    let mut down = settings.clone();
    down.search.aiops_endpoint = format!("http://127.0.0.1:{}", free_port()?);
    let lost = SearchServer::start(&down).await?;
    let mut lost_client = SearchServiceClient::connect(lost.endpoint.clone()).await?;
    let unavailable = answer_to(
        &mut lost_client,
        TOKEN,
        ask_request::Query::Question("anomalies today".into()),
    )
    .await
    .expect_err("anomaly service down");
    assert_eq!(unavailable.code(), Code::Unavailable, "{unavailable:?}");
    assert!(
        unavailable.message().starts_with("anomaly service: "),
        "{unavailable:?}"
    );

    lost.stop().await?;
    alone.stop().await?;
    server.stop().await?;
    aiops.stop().await
}

fn failed(mut span: Span) -> Span {
    span.status = Some(airis_proto::otlp::tonic::trace::v1::Status {
        code: 2,
        message: "boom".into(),
    });
    span
}

async fn answer_to(
    client: &mut SearchServiceClient<Channel>,
    token: &str,
    query: ask_request::Query,
) -> Result<AskResponse, airis_proto::tonic::Status> {
    let request = AskRequest {
        query: Some(query),
        locale: String::new(),
        time_zone: "Asia/Seoul".to_owned(),
        now_unix_nano: 0,
    };
    client
        .ask(authed(request, token))
        .await
        .map(|r| r.into_inner())
}

async fn asked(
    client: &mut SearchServiceClient<Channel>,
    token: &str,
    q: &str,
) -> anyhow::Result<(answer::Query, answer::Result, AskResponse)> {
    let response = answer_to(client, token, ask_request::Query::Question(q.into())).await?;
    let answer = response.answer.clone().unwrap_or_default();
    let (Some(query), Some(result)) = (answer.query, answer.result) else {
        anyhow::bail!("{q}: no answer: {response:?}");
    };
    Ok((query, result, response))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_are_answered_by_the_query_service_as_the_caller() -> anyhow::Result<()> {
    let settings = Settings::new("search_ask");
    let pipeline = Pipeline::start(settings.clone()).await?;
    // acme: payment-api with 3 failed POST /pay and 2 GET /status, an
    // error log, a gauge; globex: a ledger.
    let mut traces = trace_client(&pipeline.endpoint).await?;
    let mut spans: Vec<Span> = (1..=3)
        .map(|n| failed(span(n, "POST /pay", &[("http.route", "/pay")])))
        .collect();
    spans.extend((4..=5).map(|n| span(n, "GET /status", &[])));
    traces
        .export(authed(traces_request("payment-api", spans), TOKEN))
        .await?;
    traces
        .export(authed(
            traces_request("ledger", vec![failed(span(6, "POST /entries", &[]))]),
            OTHER_TOKEN,
        ))
        .await?;
    LogsServiceClient::connect(pipeline.endpoint.clone())
        .await?
        .export(authed(logs("payment-api", "결제 승인 실패"), TOKEN))
        .await?;
    MetricsServiceClient::connect(pipeline.endpoint.clone())
        .await?
        .export(authed(gauge("payment-api", "payment.queue.depth"), TOKEN))
        .await?;
    let ch = pipeline.settings.clickhouse();
    for (table, rows) in [(TRACES, 6), (LOGS, 1), (METRICS_GAUGE, 1)] {
        let seen = wait_for_count(&ch, &format!("SELECT count() FROM {table}"), rows, WAIT).await?;
        assert_eq!(seen, rows, "{table}");
    }

    let query = QueryServer::start(&settings).await?;
    let delta = DeltaServer::start(&settings).await?;
    let mut with_query = settings.clone();
    with_query.search.query_endpoint = query.endpoint.clone();
    with_query.search.delta_endpoint = delta.endpoint.clone();
    let server = SearchServer::start(&with_query).await?;
    let mut client = SearchServiceClient::connect(server.endpoint.clone()).await?;

    // Failed requests by operation: TopK over the failed spans.
    let (sent, result, response) =
        asked(&mut client, TOKEN, "payment-api errors by operation").await?;
    assert!(matches!(sent, answer::Query::TopK(_)), "{sent:?}");
    let answer::Result::Top(top) = result else {
        panic!("{response:?}")
    };
    let counts: Vec<_> = top
        .entries
        .iter()
        .map(|e| (e.value.as_str(), e.count))
        .collect();
    assert_eq!(counts, [("POST /pay", 3)], "{response:?}");

    // Requests over 500 ms: the trace search, every one 700 ms long.
    let (_, result, response) = asked(
        &mut client,
        TOKEN,
        "지난 1시간 동안 결제 서비스에서 500ms 넘게 걸린 요청",
    )
    .await?;
    let answer::Result::Traces(found) = result else {
        panic!("{response:?}")
    };
    assert_eq!(found.traces.len(), 5, "{response:?}");
    assert!(response.not_applied.is_empty(), "{response:?}");

    // Error logs in Korean: the log search, at error severity.
    let (_, result, response) = asked(&mut client, TOKEN, "결제 서비스 에러 로그").await?;
    let answer::Result::Logs(found) = result else {
        panic!("{response:?}")
    };
    assert_eq!(found.total_count, 1, "{response:?}");
    assert_eq!(found.records[0].body, "결제 승인 실패");

    // A gauge asked without an aggregation: averaged, as the Metrics page
    // shows it.
    let (sent, result, response) =
        asked(&mut client, TOKEN, "payment.queue.depth in the last hour").await?;
    let answer::Query::QueryMetrics(metrics) = sent else {
        panic!("{response:?}")
    };
    assert_eq!(metrics.aggregation, MetricAggregation::Avg as i32);
    let answer::Result::Metrics(series) = result else {
        panic!("{response:?}")
    };
    let values: Vec<f64> = series
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.value))
        .collect();
    assert_eq!(values, [3.0], "{response:?}");

    // RED per operation of one service; compared with a day before, when
    // nothing was sent.
    let (sent, result, response) = asked(
        &mut client,
        TOKEN,
        "payment-api error rate by operation than yesterday",
    )
    .await?;
    let answer::Query::ServiceOverview(overview) = sent else {
        panic!("{response:?}")
    };
    assert_eq!(overview.service_name, "payment-api");
    let answer::Result::Overview(red) = result else {
        panic!("{response:?}")
    };
    let rates: Vec<_> = red
        .series
        .iter()
        .map(|s| (s.operation.as_str(), s.error_rate))
        .collect();
    assert_eq!(
        rates,
        [("POST /pay", 1.0), ("GET /status", 0.0)],
        "{response:?}"
    );
    let before = response.baseline.clone().and_then(|b| b.result);
    let Some(answer::Result::Overview(before)) = before else {
        panic!("{response:?}")
    };
    assert!(
        before.series.iter().all(|s| s.request_count == 0),
        "{response:?}"
    );
    // And judged by the delta service: the errors of today's spans against
    // yesterday's, of which there are none, so inconclusive, saying why.
    let judgement = response.judgement.clone().unwrap_or_default();
    let (Some(answer::Query::Compare(compare)), Some(answer::Result::Comparison(judged))) =
        (judgement.query, judgement.result)
    else {
        panic!("{response:?}")
    };
    let options = compare.options.clone().unwrap_or_default();
    assert_eq!(options.signals, [DeltaSignal::Errors as i32], "{compare:?}");
    assert_eq!(judged.verdict, Verdict::Inconclusive as i32, "{judged:?}");
    assert_eq!(
        judged
            .candidate
            .as_ref()
            .map(|c| (c.label.as_str(), c.spans)),
        Some(("today", 5)),
        "{judged:?}"
    );
    assert_eq!(
        judged.reasons.first().map(|r| r.en.as_str()),
        Some("the baseline (yesterday) has no spans"),
        "{judged:?}"
    );

    // The other tenant asking about acme's service reaches none of it.
    let mut theirs = response
        .interpretation
        .clone()
        .and_then(|i| i.interpretation)
        .unwrap_or_default();
    theirs.compare_shift_nano = 0;
    let other = answer_to(
        &mut client,
        OTHER_TOKEN,
        ask_request::Query::Interpretation(theirs),
    )
    .await?;
    let Some(answer::Result::Overview(red)) = other.answer.and_then(|a| a.result) else {
        panic!("not an overview")
    };
    assert!(red.series.iter().all(|s| s.request_count == 0), "{red:?}");

    // Errors: nothing to ask, and the query service's own refusals, named.
    let none = answer_to(
        &mut client,
        TOKEN,
        ask_request::Query::Question(String::new()),
    )
    .await
    .expect_err("an empty question");
    assert_eq!(none.code(), Code::InvalidArgument);
    let empty = client
        .ask(authed(AskRequest::default(), TOKEN))
        .await
        .expect_err("no query");
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().starts_with("query:"), "{empty:?}");

    // Without a delta service a comparison is still answered, not judged,
    // and says why under the comparison's field.
    let mut no_delta = with_query.clone();
    no_delta.search.delta_endpoint = String::new();
    let unjudged = SearchServer::start(&no_delta).await?;
    let mut unjudged_client = SearchServiceClient::connect(unjudged.endpoint.clone()).await?;
    let (_, _, response) = asked(
        &mut unjudged_client,
        TOKEN,
        "payment-api error rate than yesterday",
    )
    .await?;
    assert!(response.baseline.is_some(), "{response:?}");
    assert!(response.judgement.is_none(), "{response:?}");
    let why: Vec<_> = response
        .not_judged
        .iter()
        .map(|n| (n.field.as_str(), n.reason.contains("search.delta_endpoint")))
        .collect();
    assert_eq!(why, [("compare_shift_nano", true)], "{response:?}");
    unjudged.stop().await?;

    // A search service without a query service, and one whose query
    // service is down.
    let mut unset = settings.clone();
    unset.search.query_endpoint = String::new();
    let alone = SearchServer::start(&unset).await?;
    let mut alone_client = SearchServiceClient::connect(alone.endpoint.clone()).await?;
    let refused = answer_to(
        &mut alone_client,
        TOKEN,
        ask_request::Query::Question("payment-api errors".into()),
    )
    .await
    .expect_err("no query service");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let mut down = settings.clone();
    down.search.query_endpoint = format!("http://127.0.0.1:{}", free_port()?);
    let lost = SearchServer::start(&down).await?;
    let mut lost_client = SearchServiceClient::connect(lost.endpoint.clone()).await?;
    let unavailable = answer_to(
        &mut lost_client,
        TOKEN,
        ask_request::Query::Question("payment-api errors".into()),
    )
    .await
    .expect_err("query service down");
    assert_eq!(unavailable.code(), Code::Unavailable, "{unavailable:?}");
    assert!(
        unavailable.message().starts_with("query service: "),
        "{unavailable:?}"
    );

    lost.stop().await?;
    alone.stop().await?;
    server.stop().await?;
    query.stop().await?;
    delta.stop().await?;
    pipeline.stop().await
}

/// `spans` of `service` at `version` (the resource's service.version).
fn versioned(
    service: &str,
    version: &str,
    spans: Vec<Span>,
) -> airis_proto::otlp::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let mut request = traces_request(service, spans);
    for r in &mut request.resource_spans {
        if let Some(resource) = &mut r.resource {
            resource.attributes.push(kv("service.version", version));
        }
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_compared_as_the_caller() -> anyhow::Result<()> {
    let settings = Settings::new("search_versions");
    let pipeline = Pipeline::start(settings.clone()).await?;
    // acme's checkout-api: 30 requests of v1 (one failed), a canary of 6
    // of v2 (three failed); its ledger runs v1 only. globex's checkout-api
    // runs v7 only.
    let mut traces = trace_client(&pipeline.endpoint).await?;
    let v1: Vec<Span> = (1..=30)
        .map(|n| {
            let s = span(n, "POST /orders", &[]);
            if n == 1 { failed(s) } else { s }
        })
        .collect();
    let v2: Vec<Span> = (31..=36)
        .map(|n| {
            let s = span(n, "POST /orders", &[]);
            if n <= 33 { failed(s) } else { s }
        })
        .collect();
    for (token, service, version, spans) in [
        (TOKEN, "checkout-api", "v1", v1),
        (TOKEN, "checkout-api", "v2", v2),
        (TOKEN, "ledger", "v1", vec![span(37, "POST /entries", &[])]),
        (
            OTHER_TOKEN,
            "checkout-api",
            "v7",
            vec![span(38, "POST /orders", &[])],
        ),
    ] {
        traces
            .export(authed(versioned(service, version, spans), token))
            .await?;
    }
    let ch = pipeline.settings.clickhouse();
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {TRACES}"), 38, WAIT).await?;
    assert_eq!(seen, 38);

    let query = QueryServer::start(&settings).await?;
    let delta = DeltaServer::start(&settings).await?;
    let mut with_query = settings.clone();
    with_query.search.query_endpoint = query.endpoint.clone();
    with_query.search.delta_endpoint = delta.endpoint.clone();
    let server = SearchServer::start(&with_query).await?;
    let mut client = SearchServiceClient::connect(server.endpoint.clone()).await?;
    let errors_and_requests = |result: &answer::Result| -> Vec<(String, u64, u64)> {
        let answer::Result::Top(top) = result else {
            panic!("{result:?}")
        };
        top.entries
            .iter()
            .map(|e| (e.value.clone(), e.count, e.error_count))
            .collect()
    };

    // Named versions: each side's error rate, and the delta service's
    // judgement of v2 against v1 over the same hour.
    let (sent, result, response) =
        asked(&mut client, TOKEN, "checkout-api v2 vs v1 error rate").await?;
    assert!(matches!(sent, answer::Query::TopK(_)), "{sent:?}");
    assert_eq!(
        errors_and_requests(&result),
        [("checkout-api".to_owned(), 6, 3)],
        "{response:?}"
    );
    let before = response.baseline.clone().and_then(|b| b.result);
    assert_eq!(
        errors_and_requests(&before.unwrap_or(answer::Result::Top(Default::default()))),
        [("checkout-api".to_owned(), 30, 1)],
        "{response:?}"
    );
    let judgement = response.judgement.clone().unwrap_or_default();
    let (Some(answer::Query::Compare(compare)), Some(answer::Result::Comparison(judged))) =
        (judgement.query, judgement.result)
    else {
        panic!("{response:?}")
    };
    assert_eq!(
        compare.options.unwrap_or_default().signals,
        [DeltaSignal::Errors as i32]
    );
    let cohort = |c: Option<&airis_proto::airis::delta::v1::CohortSummary>| {
        c.map(|c| (c.label.clone(), c.spans, c.errors))
    };
    assert_eq!(
        cohort(judged.baseline.as_ref()),
        Some(("v1".to_owned(), 30, 1)),
        "{judged:?}"
    );
    assert_eq!(
        cohort(judged.candidate.as_ref()),
        Some(("v2".to_owned(), 6, 3)),
        "{judged:?}"
    );

    // A canary: the versions are chosen from the spans (the most are the
    // baseline), and the interpretation as run names them.
    let (_, result, response) = asked(&mut client, TOKEN, "checkout-api 카나리 에러율").await?;
    let understood = response.interpretation.clone().unwrap_or_default();
    let versions = understood
        .interpretation
        .as_ref()
        .and_then(|i| i.compare_versions.clone())
        .unwrap_or_default();
    assert_eq!(
        (versions.candidate.as_str(), versions.baseline.as_str()),
        ("v2", "v1"),
        "{response:?}"
    );
    assert!(
        understood.rendering.contains("v2 버전을 v1 버전과 비교"),
        "{}",
        understood.rendering
    );
    assert_eq!(
        errors_and_requests(&result),
        [("checkout-api".to_owned(), 6, 3)]
    );
    assert!(response.judgement.is_some(), "{response:?}");

    // One version: nothing to compare, said under the field.
    let one = answer_to(
        &mut client,
        TOKEN,
        ask_request::Query::Question("ledger 카나리 비교".into()),
    )
    .await
    .expect_err("one version");
    assert_eq!(one.code(), Code::FailedPrecondition, "{one:?}");
    assert!(
        one.message()
            .starts_with("interpretation.compare_versions: ")
            && one.message().contains("v1뿐"),
        "{one:?}"
    );
    // The other tenant's canary question sees its own versions only.
    let theirs = answer_to(
        &mut client,
        OTHER_TOKEN,
        ask_request::Query::Question("checkout-api canary".into()),
    )
    .await
    .expect_err("globex has one version");
    assert!(theirs.message().contains("only v7"), "{theirs:?}");
    // And asking for acme's versions by name finds none of acme's spans.
    let (_, result, response) =
        asked(&mut client, OTHER_TOKEN, "checkout-api v2 vs v1 error rate").await?;
    assert!(errors_and_requests(&result).is_empty(), "{response:?}");
    let judged = response.judgement.and_then(|j| j.result).map(|r| match r {
        answer::Result::Comparison(c) => cohort(c.candidate.as_ref()),
        _ => None,
    });
    assert_eq!(judged, Some(Some(("v2".to_owned(), 0, 0))));

    // An interpretation sent with both kinds of comparison is refused.
    let mut both = understood.interpretation.unwrap_or_default();
    both.compare_shift_nano = 86_400_000_000_000;
    let refused = answer_to(&mut client, TOKEN, ask_request::Query::Interpretation(both))
        .await
        .expect_err("two comparisons");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("interpretation.compare_versions: "),
        "{refused:?}"
    );

    server.stop().await?;
    query.stop().await?;
    delta.stop().await?;
    pipeline.stop().await
}
