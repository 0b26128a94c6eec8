//! The analytics service's trace RPCs end to end: spans ingested through the
//! real receiver, Kafka and loader, read back through gRPC.
//!
//! One pipeline, one data set (tenant acme, plus a few globex spans that
//! must never show for acme); every expectation is computed from the data
//! set the test sent.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use airis_proto::airis::analytics::v1::{
    AttributeFilter, AttributeScope, GetTraceRequest, ListOperationsRequest, ListServicesRequest,
    MatchOperator, SearchSpansRequest, SearchSpansResponse, SearchTracesRequest,
    SearchTracesResponse, SpanFilter, SpanKind, SpanOrder, StatusCode, TopKDimension, TopKMetric,
    TopKRequest, query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::trace::v1::{Span, Status, span, status};
use airis_proto::tonic::{Code, transport::Channel};
use airis_store::tables::{TRACE_ID_TS, TRACES};
use airis_tests::{
    OTHER_TOKEN, Pipeline, QueryServer, Settings, TOKEN,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(90);
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
static HOSTILE: LazyLock<[String; 7]> = LazyLock::new(|| {
    [
        "it's".to_owned(),
        "back\\slash".to_owned(),
        format!("'; DROP TABLE {TRACES}; --"),
        "?".to_owned(),
        "{x:String}".to_owned(),
        "\" OR 1=1 --".to_owned(),
        "결제 ü 🚀".to_owned(),
    ]
});

type Client = QueryServiceClient<Channel>;

/// One span of the data set, as the test expects to read it back.
#[derive(Clone, Debug)]
struct Expected {
    trace: String,
    span: String,
    parent: String,
    service: &'static str,
    name: &'static str,
    kind: SpanKind,
    start: u64,
    duration: u64,
    status: StatusCode,
    message: &'static str,
    attributes: Vec<(String, String)>,
}

impl Expected {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct DataSet {
    acme: Vec<Expected>,
    /// (service, span) sent for acme, in sending order.
    acme_sent: Vec<(&'static str, Span)>,
    globex_sent: Vec<(&'static str, Span)>,
    globex: Vec<Expected>,
    base: u64,
    run: u64,
}

#[allow(clippy::too_many_arguments)]
fn make(
    run: u64,
    trace: u64,
    id: u64,
    parent: Option<u64>,
    service: &'static str,
    name: &'static str,
    kind: (span::SpanKind, SpanKind),
    start: u64,
    duration: u64,
    status: (status::StatusCode, StatusCode),
    message: &'static str,
    attributes: &[(&str, &str)],
) -> (Expected, Span) {
    let otlp = Span {
        trace_id: trace_id(run, trace),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.to_owned(),
        kind: kind.0 as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + duration,
        attributes: attributes.iter().map(|(k, v)| kv(k, *v)).collect(),
        status: Some(Status {
            code: status.0 as i32,
            message: message.to_owned(),
        }),
        ..Default::default()
    };
    let expected = Expected {
        trace: hex(&trace_id(run, trace)),
        span: hex(&span_id(id)),
        parent: parent.map(|p| hex(&span_id(p))).unwrap_or_default(),
        service,
        name,
        kind: kind.1,
        start,
        duration,
        status: status.1,
        message,
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    (expected, otlp)
}

const SERVER: (span::SpanKind, SpanKind) = (span::SpanKind::Server, SpanKind::Server);
const CLIENT: (span::SpanKind, SpanKind) = (span::SpanKind::Client, SpanKind::Client);
const INTERNAL: (span::SpanKind, SpanKind) = (span::SpanKind::Internal, SpanKind::Internal);
const PRODUCER: (span::SpanKind, SpanKind) = (span::SpanKind::Producer, SpanKind::Producer);
const CONSUMER: (span::SpanKind, SpanKind) = (span::SpanKind::Consumer, SpanKind::Consumer);
const OK: (status::StatusCode, StatusCode) = (status::StatusCode::Ok, StatusCode::Ok);
const UNSET: (status::StatusCode, StatusCode) = (status::StatusCode::Unset, StatusCode::Unset);
const ERROR: (status::StatusCode, StatusCode) = (status::StatusCode::Error, StatusCode::Error);

const NOTE: &str = "it's a \"quote\" \\ back";
static DB_STATEMENT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT * FROM t WHERE x = '; DROP TABLE {TRACES}; --"));

fn data_set() -> DataSet {
    let run = now_unix_nano();
    let base = run - 600 * SEC;
    let mut acme = Vec::new();
    let mut acme_sent = Vec::new();
    let mut push = |(e, s): (Expected, Span)| {
        acme_sent.push((e.service, s));
        acme.push(e);
    };
    // Trace 1: frontend → checkout → payment (error, with an event and a link).
    push(make(
        run,
        1,
        1,
        None,
        "frontend",
        "GET /checkout",
        SERVER,
        base,
        100 * MS,
        OK,
        "",
        &[("http.method", "GET"), ("http.route", "/checkout")],
    ));
    push(make(
        run,
        1,
        2,
        Some(1),
        "checkout",
        "checkout.process",
        INTERNAL,
        base + 10 * MS,
        60 * MS,
        UNSET,
        "",
        &[("order.id", "o-1")],
    ));
    let (e, mut s) = make(
        run,
        1,
        3,
        Some(2),
        "payment",
        "POST /pay",
        CLIENT,
        base + 20 * MS,
        30 * MS,
        ERROR,
        "card declined: 결제 실패",
        &[("payment.method", "card"), ("note", NOTE)],
    );
    s.events.push(span::Event {
        time_unix_nano: base + 40 * MS,
        name: "exception".to_owned(),
        attributes: vec![kv("exception.type", "CardError")],
        ..Default::default()
    });
    s.links.push(span::Link {
        trace_id: trace_id(run, 2),
        span_id: span_id(4),
        trace_state: "k=v".to_owned(),
        attributes: vec![kv("link.kind", "follows")],
        ..Default::default()
    });
    push((e, s));
    // Trace 2: frontend → a database call with hostile-looking attributes.
    push(make(
        run,
        2,
        4,
        None,
        "frontend",
        "GET /home",
        SERVER,
        base + SEC,
        20 * MS,
        OK,
        "",
        &[("http.method", "GET")],
    ));
    push(make(
        run,
        2,
        5,
        Some(4),
        "checkout",
        "SELECT orders",
        CLIENT,
        base + SEC + 5 * MS,
        5 * MS,
        UNSET,
        "",
        &[
            ("db.statement", DB_STATEMENT.as_str()),
            ("q", "? {x:String}"),
        ],
    ));
    // Trace 3: its root never arrives.
    push(make(
        run,
        3,
        6,
        Some(999),
        "checkout",
        "consume order",
        CONSUMER,
        base + 2 * SEC,
        500 * MS,
        ERROR,
        "",
        &[("messaging.system", "kafka"), ("설명", "주문 처리 실패")],
    ));
    // Ten batch traces of two spans each, for paging.
    for i in 0..10u64 {
        let start = base + 3 * SEC + i * 100 * MS;
        let index = i.to_string();
        push(make(
            run,
            10 + i,
            100 + 2 * i,
            None,
            "batch",
            "job.run",
            PRODUCER,
            start,
            (10 + i) * MS,
            OK,
            "",
            &[("job.index", index.as_str())],
        ));
        push(make(
            run,
            10 + i,
            101 + 2 * i,
            Some(100 + 2 * i),
            "batch",
            "job.step",
            INTERNAL,
            start + MS,
            (1 + i) * MS,
            UNSET,
            "",
            &[],
        ));
    }

    // Globex: a span in acme's trace 1 id, and a frontend trace that every
    // acme filter on frontend/GET would match if tenants leaked.
    let mut globex = Vec::new();
    let mut globex_sent = Vec::new();
    for (e, s) in [
        make(
            run,
            1,
            500,
            None,
            "globex-svc",
            "GET /secret",
            SERVER,
            base + 50 * MS,
            10 * MS,
            OK,
            "",
            &[("http.method", "GET")],
        ),
        // The missing parent of acme's trace 3, sent by globex: a parent of
        // another tenant never makes an acme span "called from" it.
        make(
            run,
            3,
            999,
            None,
            "globex-svc",
            "publish order",
            SERVER,
            base + 2 * SEC - 10 * MS,
            5 * MS,
            OK,
            "",
            &[],
        ),
        make(
            run,
            50,
            501,
            None,
            "frontend",
            "GET /checkout",
            SERVER,
            base + 500 * MS,
            SEC,
            ERROR,
            "결제 실패",
            &[("http.method", "GET")],
        ),
    ] {
        globex_sent.push((e.service, s));
        globex.push(e);
    }
    DataSet {
        acme,
        acme_sent,
        globex_sent,
        globex,
        base,
        run,
    }
}

async fn ingest(pipeline: &Pipeline, data: &DataSet) -> anyhow::Result<()> {
    let mut client = trace_client(&pipeline.endpoint).await?;
    for (sent, token) in [(&data.acme_sent, TOKEN), (&data.globex_sent, OTHER_TOKEN)] {
        let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
        for (service, span) in sent {
            by_service.entry(service).or_default().push(span.clone());
        }
        for (service, spans) in by_service {
            let response = client
                .export(authed(traces_request(service, spans), token))
                .await?
                .into_inner();
            assert_eq!(response.partial_success, None);
        }
    }
    let ch = pipeline.settings.clickhouse();
    let spans = (data.acme.len() + data.globex.len()) as u64;
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {TRACES}"), spans, WAIT).await?;
    assert_eq!(seen, spans, "spans in clickhouse");
    // acme: 3 + 10 batch; globex: its spans in acme's traces 1 and 3, and trace 50.
    let traces = 3 + 10 + 3;
    let seen = wait_for_count(
        &ch,
        &format!("SELECT uniqExact(TenantId, TraceId) FROM {TRACE_ID_TS}"),
        traces,
        WAIT,
    )
    .await?;
    assert_eq!(seen, traces, "trace lookup rows in clickhouse");
    Ok(())
}

fn window(data: &DataSet) -> TimeRange {
    // Ends in the future: answers are never cached, so every call reads
    // ClickHouse.
    TimeRange {
        start_unix_nano: data.base - 60 * SEC,
        end_unix_nano: now_unix_nano() + 600 * SEC,
    }
}

fn filter(data: &DataSet) -> SpanFilter {
    SpanFilter {
        time_range: Some(window(data)),
        ..SpanFilter::default()
    }
}

fn attr(key: &str, operator: MatchOperator, value: &str) -> AttributeFilter {
    AttributeFilter {
        key: key.to_owned(),
        operator: operator as i32,
        value: value.to_owned(),
        scope: AttributeScope::Unspecified as i32,
    }
}

fn page(size: u32, token: &str) -> Option<PageRequest> {
    Some(PageRequest {
        page_size: size,
        page_token: token.to_owned(),
    })
}

async fn search_spans(
    client: &mut Client,
    token: &str,
    filter: SpanFilter,
    order: SpanOrder,
    page: Option<PageRequest>,
) -> Result<SearchSpansResponse, airis_proto::tonic::Status> {
    client
        .search_spans(authed(
            SearchSpansRequest {
                filter: Some(filter),
                order: order as i32,
                page,
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

async fn search_traces(
    client: &mut Client,
    token: &str,
    filter: SpanFilter,
    order: SpanOrder,
    page: Option<PageRequest>,
) -> Result<SearchTracesResponse, airis_proto::tonic::Status> {
    client
        .search_traces(authed(
            SearchTracesRequest {
                filter: Some(filter),
                order: order as i32,
                page,
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

/// Span ids in the order `order` sorts `spans`.
fn sorted(spans: &[Expected], order: SpanOrder) -> Vec<String> {
    let mut spans = spans.to_vec();
    let key = |s: &Expected| (s.start, s.trace.clone(), s.span.clone());
    match order {
        SpanOrder::Unspecified => spans.sort_by_key(|s| std::cmp::Reverse(key(s))),
        SpanOrder::OldestFirst => spans.sort_by_key(key),
        SpanOrder::LongestFirst => {
            spans.sort_by_key(|s| std::cmp::Reverse((s.duration, key(s))));
        }
    }
    spans.into_iter().map(|s| s.span).collect()
}

fn ids(response: &SearchSpansResponse) -> Vec<String> {
    response.spans.iter().map(|s| s.span_id.clone()).collect()
}

fn expect_code<T: std::fmt::Debug>(
    result: Result<T, airis_proto::tonic::Status>,
    code: Code,
    needle: &str,
) {
    match result {
        Err(status) => {
            assert_eq!(status.code(), code, "{status:?}");
            assert!(
                status.message().contains(needle),
                "{needle:?} not in {:?}",
                status.message()
            );
        }
        Ok(ok) => panic!("expected {code:?} ({needle}), got {ok:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_queries_answer_exactly_for_the_callers_tenant() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("qtraces")).await?;
    let data = data_set();
    ingest(&pipeline, &data).await?;
    let server = QueryServer::start(&pipeline.settings).await?;
    let mut client = server.client().await?;

    get_trace(&mut client, &data).await?;
    spans_filters(&mut client, &data).await?;
    spans_paging(&mut client, &data).await?;
    traces(&mut client, &data).await?;
    services_and_operations(&mut client, &data).await?;
    top_k(&mut client, &data).await?;
    bad_requests(&mut client, &data).await?;
    server.stop().await?;

    // The parent spans a caller filter gathers are bounded: past the limit,
    // RESOURCE_EXHAUSTED naming it, not a ClickHouse out of memory.
    let mut tight = pipeline.settings.clone();
    tight.analytics.limits.max_rows_in_set = 1;
    let strict = QueryServer::start(&tight).await?;
    let status = search_spans(
        &mut strict.client().await?,
        TOKEN,
        SpanFilter {
            parent_service_name: "batch".into(),
            ..filter(&data)
        },
        SpanOrder::Unspecified,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("max_rows_in_set"), "{status:?}");
    strict.stop().await?;
    pipeline.stop().await
}

async fn get_trace(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    let t1 = hex(&trace_id(data.run, 1));
    let response = client
        .get_trace(authed(
            GetTraceRequest {
                trace_id: t1.to_uppercase(),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    let expected: Vec<&Expected> = data.acme.iter().filter(|s| s.trace == t1).collect();
    assert_eq!(
        response.spans.len(),
        3,
        "globex's span in the same trace id must not show"
    );
    for (got, want) in response.spans.iter().zip(&expected) {
        assert_eq!(got.trace_id, want.trace);
        assert_eq!(got.span_id, want.span);
        assert_eq!(got.parent_span_id, want.parent);
        assert_eq!(got.name, want.name);
        assert_eq!(got.kind, want.kind as i32);
        assert_eq!(got.service_name, want.service);
        assert_eq!(got.start_time_unix_nano, want.start);
        assert_eq!(got.duration_nano, want.duration);
        assert_eq!(got.status_code, want.status as i32);
        assert_eq!(got.status_message, want.message);
        assert_eq!(got.attributes.len(), want.attributes.len());
        for (k, v) in &want.attributes {
            assert_eq!(got.attributes.get(k), Some(v), "{k}");
        }
        assert_eq!(got.resource_attributes["service.name"], want.service);
        assert_eq!(got.scope_name, "airis-tests");
        assert_eq!(got.scope_version, "1");
    }
    let payment = &response.spans[2];
    assert_eq!(payment.events.len(), 1);
    assert_eq!(payment.events[0].name, "exception");
    assert_eq!(payment.events[0].time_unix_nano, data.base + 40 * MS);
    assert_eq!(payment.events[0].attributes["exception.type"], "CardError");
    assert_eq!(payment.links.len(), 1);
    assert_eq!(payment.links[0].trace_id, hex(&trace_id(data.run, 2)));
    assert_eq!(payment.links[0].span_id, hex(&span_id(4)));
    assert_eq!(payment.links[0].trace_state, "k=v");
    assert_eq!(payment.links[0].attributes["link.kind"], "follows");
    assert!(response.spans[0].events.is_empty() && response.spans[0].links.is_empty());

    // Globex sees only its own span of that trace id.
    let theirs = client
        .get_trace(authed(
            GetTraceRequest {
                trace_id: t1.clone(),
            },
            OTHER_TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(theirs.spans.len(), 1);
    assert_eq!(theirs.spans[0].service_name, "globex-svc");

    // A globex-only trace does not exist for acme; an unknown one nowhere.
    let globex_only = hex(&trace_id(data.run, 50));
    let status = client
        .get_trace(authed(
            GetTraceRequest {
                trace_id: globex_only.clone(),
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(status.message(), format!("trace {globex_only} not found"));
    let unknown = hex(&trace_id(data.run, 7777));
    expect_code(
        client
            .get_trace(authed(
                GetTraceRequest {
                    trace_id: unknown.clone(),
                },
                TOKEN,
            ))
            .await,
        Code::NotFound,
        &unknown,
    );
    for bad in [
        "",
        "xyz",
        &"g".repeat(32),
        &format!("{t1}00"),
        &HOSTILE[2],
        "{x:String}",
    ] {
        expect_code(
            client
                .get_trace(authed(
                    GetTraceRequest {
                        trace_id: bad.to_owned(),
                    },
                    TOKEN,
                ))
                .await,
            Code::InvalidArgument,
            "trace_id",
        );
    }
    expect_code(
        client.get_trace(GetTraceRequest { trace_id: t1 }).await,
        Code::Unauthenticated,
        "",
    );
    Ok(())
}

async fn spans_filters(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    let all = |f: &dyn Fn(&Expected) -> bool| -> Vec<String> {
        let matching: Vec<Expected> = data.acme.iter().filter(|s| f(s)).cloned().collect();
        sorted(&matching, SpanOrder::Unspecified)
    };
    let base = filter(data);
    let parent_service = |s: &Expected| {
        data.acme
            .iter()
            .find(|p| p.trace == s.trace && p.span == s.parent)
            .map(|p| p.service)
    };
    let cases: Vec<(&str, SpanFilter, Vec<String>)> = vec![
        ("everything", base.clone(), all(&|_| true)),
        (
            "called from a service",
            SpanFilter {
                parent_service_name: "frontend".into(),
                ..base.clone()
            },
            all(&|s| s.service != "frontend" && parent_service(s) == Some("frontend")),
        ),
        (
            "one edge of the map",
            SpanFilter {
                parent_service_name: "frontend".into(),
                service_name: "checkout".into(),
                ..base.clone()
            },
            all(&|s| s.service == "checkout" && parent_service(s) == Some("frontend")),
        ),
        (
            "service",
            SpanFilter {
                service_name: "checkout".into(),
                ..base.clone()
            },
            all(&|s| s.service == "checkout"),
        ),
        (
            "operation",
            SpanFilter {
                operation: "job.step".into(),
                ..base.clone()
            },
            all(&|s| s.name == "job.step"),
        ),
        (
            "kind",
            SpanFilter {
                kind: SpanKind::Client as i32,
                ..base.clone()
            },
            all(&|s| s.kind == SpanKind::Client),
        ),
        (
            "status",
            SpanFilter {
                status_code: StatusCode::Error as i32,
                ..base.clone()
            },
            all(&|s| s.status == StatusCode::Error),
        ),
        (
            "unset status",
            SpanFilter {
                status_code: StatusCode::Unset as i32,
                ..base.clone()
            },
            all(&|s| s.status == StatusCode::Unset),
        ),
        (
            "min duration",
            SpanFilter {
                min_duration_nano: 100 * MS,
                ..base.clone()
            },
            all(&|s| s.duration >= 100 * MS),
        ),
        (
            "duration range",
            SpanFilter {
                min_duration_nano: 5 * MS,
                max_duration_nano: 12 * MS,
                ..base.clone()
            },
            all(&|s| (5 * MS..=12 * MS).contains(&s.duration)),
        ),
        (
            "equals",
            SpanFilter {
                attributes: vec![attr("http.method", MatchOperator::Equals, "GET")],
                ..base.clone()
            },
            all(&|s| s.attr("http.method") == Some("GET")),
        ),
        (
            "exists",
            SpanFilter {
                attributes: vec![attr("job.index", MatchOperator::Exists, "")],
                ..base.clone()
            },
            all(&|s| s.attr("job.index").is_some()),
        ),
        (
            "contains",
            SpanFilter {
                attributes: vec![attr("db.statement", MatchOperator::Contains, "'; DROP")],
                ..base.clone()
            },
            all(&|s| s.attr("db.statement").is_some()),
        ),
        (
            "not equals",
            SpanFilter {
                attributes: vec![attr("http.method", MatchOperator::NotEquals, "GET")],
                ..base.clone()
            },
            all(&|s| s.attr("http.method") != Some("GET")),
        ),
        (
            "resource attribute",
            SpanFilter {
                attributes: vec![AttributeFilter {
                    scope: AttributeScope::Resource as i32,
                    ..attr("service.name", MatchOperator::Equals, "payment")
                }],
                ..base.clone()
            },
            all(&|s| s.service == "payment"),
        ),
        (
            "several attributes",
            SpanFilter {
                attributes: vec![
                    attr("job.index", MatchOperator::Exists, ""),
                    attr("job.index", MatchOperator::NotEquals, "3"),
                    attr("job.index", MatchOperator::Contains, ""),
                ],
                ..base.clone()
            },
            all(&|s| s.attr("job.index").is_some_and(|v| v != "3")),
        ),
        (
            "quoted attribute value",
            SpanFilter {
                attributes: vec![attr("note", MatchOperator::Equals, NOTE)],
                ..base.clone()
            },
            all(&|s| s.attr("note").is_some()),
        ),
        (
            "text in status message (korean)",
            SpanFilter {
                text: "결제".into(),
                ..base.clone()
            },
            all(&|s| s.message.contains("결제")),
        ),
        (
            "text in attribute key-less value (korean)",
            SpanFilter {
                text: "주문 처리".into(),
                ..base.clone()
            },
            all(&|s| s.attr("설명").is_some()),
        ),
        (
            "text case-insensitive in name",
            SpanFilter {
                text: "get /".into(),
                ..base.clone()
            },
            all(&|s| s.name.starts_with("GET /")),
        ),
        (
            "text with placeholders",
            SpanFilter {
                text: "? {X:STRING}".into(),
                ..base.clone()
            },
            all(&|s| s.attr("q").is_some()),
        ),
        (
            "text with quotes and backslash",
            SpanFilter {
                text: NOTE.into(),
                ..base.clone()
            },
            all(&|s| s.attr("note").is_some()),
        ),
        (
            "everything combined",
            SpanFilter {
                service_name: "frontend".into(),
                operation: "GET /home".into(),
                kind: SpanKind::Server as i32,
                status_code: StatusCode::Ok as i32,
                min_duration_nano: MS,
                max_duration_nano: SEC,
                attributes: vec![attr("http.method", MatchOperator::Equals, "GET")],
                text: "home".into(),
                ..base.clone()
            },
            all(&|s| s.name == "GET /home"),
        ),
    ];
    for (name, f, expected) in cases {
        assert!(!expected.is_empty(), "{name}: empty expectation");
        let got = search_spans(client, TOKEN, f, SpanOrder::Unspecified, page(1000, "")).await?;
        assert_eq!(ids(&got), expected, "{name}");
        assert_eq!(got.page.unwrap_or_default().next_page_token, "", "{name}");
    }
    // A service calling itself is no edge (batch's steps have batch parents),
    // and another tenant's span is nobody's parent.
    assert!(
        data.acme
            .iter()
            .any(|s| s.service == "batch" && parent_service(s) == Some("batch"))
    );
    for parent in ["batch", "globex-svc"] {
        let f = SpanFilter {
            parent_service_name: parent.into(),
            ..base.clone()
        };
        let got = search_spans(client, TOKEN, f, SpanOrder::Unspecified, None).await?;
        assert_eq!(ids(&got), Vec::<String>::new(), "called from {parent}");
    }

    // Hostile input in every string field: bound as a value, so it matches
    // exactly what it spells (often nothing) and never breaks the query.
    let contains_ci =
        |haystack: &str, needle: &str| haystack.to_lowercase().contains(&needle.to_lowercase());
    for hostile in HOSTILE.iter().map(String::as_str) {
        let fields: Vec<(SpanFilter, Vec<String>)> = vec![
            (
                SpanFilter {
                    service_name: hostile.into(),
                    ..base.clone()
                },
                vec![],
            ),
            (
                SpanFilter {
                    operation: hostile.into(),
                    ..base.clone()
                },
                vec![],
            ),
            (
                SpanFilter {
                    parent_service_name: hostile.into(),
                    ..base.clone()
                },
                vec![],
            ),
            (
                SpanFilter {
                    text: hostile.into(),
                    ..base.clone()
                },
                all(&|s| {
                    contains_ci(s.name, hostile)
                        || contains_ci(s.message, hostile)
                        || s.attributes.iter().any(|(_, v)| contains_ci(v, hostile))
                }),
            ),
            (
                SpanFilter {
                    attributes: vec![attr(hostile, MatchOperator::Equals, hostile)],
                    ..base.clone()
                },
                vec![],
            ),
            (
                SpanFilter {
                    attributes: vec![attr(hostile, MatchOperator::Exists, "")],
                    ..base.clone()
                },
                vec![],
            ),
            (
                SpanFilter {
                    attributes: vec![attr("db.statement", MatchOperator::Contains, hostile)],
                    ..base.clone()
                },
                all(&|s| s.attr("db.statement").is_some_and(|v| v.contains(hostile))),
            ),
            (
                SpanFilter {
                    attributes: vec![AttributeFilter {
                        scope: AttributeScope::Resource as i32,
                        ..attr(hostile, MatchOperator::Equals, hostile)
                    }],
                    ..base.clone()
                },
                vec![],
            ),
        ];
        for (f, expected) in fields {
            let got = search_spans(client, TOKEN, f.clone(), SpanOrder::Unspecified, None).await?;
            assert_eq!(ids(&got), expected, "{hostile:?} in {f:?}");
            let traces =
                search_traces(client, TOKEN, f.clone(), SpanOrder::Unspecified, None).await?;
            let mut want: Vec<String> = data
                .acme
                .iter()
                .filter(|s| expected.contains(&s.span))
                .map(|s| s.trace.clone())
                .collect();
            want.sort();
            want.dedup();
            let mut got: Vec<String> = traces.traces.into_iter().map(|t| t.trace_id).collect();
            got.sort();
            assert_eq!(got, want, "{hostile:?} in {f:?}");
            let top = client
                .top_k(authed(
                    TopKRequest {
                        filter: Some(f),
                        dimension: TopKDimension::Attribute as i32,
                        attribute_key: hostile.into(),
                        metric: TopKMetric::Count as i32,
                        k: 0,
                        attribute_scope: AttributeScope::Unspecified as i32,
                    },
                    TOKEN,
                ))
                .await?
                .into_inner();
            assert!(top.entries.is_empty(), "{hostile:?}");
        }
        let ops = client
            .list_operations(authed(
                ListOperationsRequest {
                    time_range: Some(window(data)),
                    service_name: hostile.into(),
                },
                TOKEN,
            ))
            .await?
            .into_inner();
        assert!(ops.operations.is_empty());
    }

    // Globex sees its own two spans only.
    let theirs = search_spans(client, OTHER_TOKEN, base, SpanOrder::Unspecified, None).await?;
    assert_eq!(ids(&theirs), sorted(&data.globex, SpanOrder::Unspecified));
    Ok(())
}

async fn spans_paging(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    for order in [
        SpanOrder::Unspecified,
        SpanOrder::OldestFirst,
        SpanOrder::LongestFirst,
    ] {
        let expected = sorted(&data.acme, order);
        let whole = search_spans(client, TOKEN, filter(data), order, None).await?;
        assert_eq!(ids(&whole), expected, "{order:?}");
        for size in [1u32, 4, 7] {
            let mut seen = Vec::new();
            let mut token = String::new();
            let mut pages = 0;
            loop {
                let got =
                    search_spans(client, TOKEN, filter(data), order, page(size, &token)).await?;
                assert!(got.spans.len() <= size as usize);
                seen.extend(ids(&got));
                pages += 1;
                token = got.page.unwrap_or_default().next_page_token;
                if token.is_empty() {
                    break;
                }
                assert!(pages <= expected.len(), "paging does not end");
            }
            assert_eq!(seen, expected, "{order:?} by {size}");
            assert_eq!(
                pages,
                expected.len().div_ceil(size as usize),
                "{order:?} by {size}"
            );
        }
    }
    // A filtered search pages too.
    let f = SpanFilter {
        service_name: "batch".into(),
        ..filter(data)
    };
    let first = search_spans(
        client,
        TOKEN,
        f.clone(),
        SpanOrder::Unspecified,
        page(15, ""),
    )
    .await?;
    let token = first.page.clone().unwrap_or_default().next_page_token;
    assert_eq!(first.spans.len(), 15);
    let second = search_spans(client, TOKEN, f, SpanOrder::Unspecified, page(15, &token)).await?;
    assert_eq!(second.spans.len(), 5);
    assert_eq!(second.page.unwrap_or_default().next_page_token, "");
    Ok(())
}

/// A trace summary as compared: id, root service, root operation, start,
/// duration, span count, error count, services.
type Summary = (String, String, String, u64, u64, u32, u32, Vec<String>);
type Keep = Box<dyn Fn(&Expected) -> bool>;

/// Expected trace summaries in `order`.
fn expected_traces(
    spans: &[Expected],
    keep: impl Fn(&Expected) -> bool,
    order: SpanOrder,
) -> Vec<Summary> {
    let mut by_trace: BTreeMap<String, Vec<&Expected>> = BTreeMap::new();
    for s in spans {
        by_trace.entry(s.trace.clone()).or_default().push(s);
    }
    let mut out: Vec<_> = by_trace
        .into_iter()
        .filter(|(_, spans)| spans.iter().any(|s| keep(s)))
        .map(|(trace, spans)| {
            let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
            let end = spans
                .iter()
                .map(|s| s.start + s.duration)
                .max()
                .unwrap_or(0);
            let root = spans
                .iter()
                .find(|s| s.parent.is_empty())
                .or_else(|| spans.iter().min_by_key(|s| s.start))
                .expect("a span");
            let mut services: Vec<String> = spans.iter().map(|s| s.service.to_owned()).collect();
            services.sort();
            services.dedup();
            let errors = spans
                .iter()
                .filter(|s| s.status == StatusCode::Error)
                .count() as u32;
            (
                trace,
                root.service.to_owned(),
                root.name.to_owned(),
                start,
                end - start,
                spans.len() as u32,
                errors,
                services,
            )
        })
        .collect();
    match order {
        SpanOrder::Unspecified => out.sort_by(|a, b| (b.3, &b.0).cmp(&(a.3, &a.0))),
        SpanOrder::OldestFirst => out.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0))),
        SpanOrder::LongestFirst => out.sort_by(|a, b| (b.4, b.3, &b.0).cmp(&(a.4, a.3, &a.0))),
    }
    out
}

fn summaries(response: &SearchTracesResponse) -> Vec<Summary> {
    response
        .traces
        .iter()
        .map(|t| {
            (
                t.trace_id.clone(),
                t.root_service_name.clone(),
                t.root_operation.clone(),
                t.start_time_unix_nano,
                t.duration_nano,
                t.span_count,
                t.error_count,
                t.service_names.clone(),
            )
        })
        .collect()
}

async fn traces(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    for order in [
        SpanOrder::Unspecified,
        SpanOrder::OldestFirst,
        SpanOrder::LongestFirst,
    ] {
        let expected = expected_traces(&data.acme, |_| true, order);
        assert_eq!(expected.len(), 13);
        let whole = search_traces(client, TOKEN, filter(data), order, None).await?;
        assert_eq!(summaries(&whole), expected, "{order:?}");
        for size in [1u32, 5] {
            let mut seen = Vec::new();
            let mut token = String::new();
            loop {
                let got =
                    search_traces(client, TOKEN, filter(data), order, page(size, &token)).await?;
                assert!(got.traces.len() <= size as usize);
                seen.extend(summaries(&got).into_iter().map(|t| t.0));
                token = got.page.unwrap_or_default().next_page_token;
                if token.is_empty() {
                    break;
                }
                assert!(seen.len() <= expected.len(), "paging does not end");
            }
            let want: Vec<String> = expected.iter().map(|t| t.0.clone()).collect();
            assert_eq!(seen, want, "{order:?} by {size}");
        }
    }
    // A trace matches through any of its spans; the summary covers them all.
    let cases: Vec<(SpanFilter, Keep)> = vec![
        (
            SpanFilter {
                service_name: "payment".into(),
                ..filter(data)
            },
            Box::new(|s: &Expected| s.service == "payment"),
        ),
        (
            SpanFilter {
                status_code: StatusCode::Error as i32,
                ..filter(data)
            },
            Box::new(|s: &Expected| s.status == StatusCode::Error),
        ),
        (
            SpanFilter {
                text: "drop table".into(),
                ..filter(data)
            },
            Box::new(|s: &Expected| s.attr("db.statement").is_some()),
        ),
        (
            SpanFilter {
                min_duration_nano: 18 * MS,
                max_duration_nano: 19 * MS,
                ..filter(data)
            },
            Box::new(|s: &Expected| (18 * MS..=19 * MS).contains(&s.duration)),
        ),
    ];
    for (f, keep) in cases {
        for order in [SpanOrder::Unspecified, SpanOrder::LongestFirst] {
            let expected = expected_traces(&data.acme, &keep, order);
            assert!(!expected.is_empty());
            let got = search_traces(client, TOKEN, f.clone(), order, None).await?;
            assert_eq!(summaries(&got), expected, "{f:?}");
        }
    }
    // Globex: its own two traces, its span in acme's trace id only.
    let theirs = search_traces(
        client,
        OTHER_TOKEN,
        filter(data),
        SpanOrder::Unspecified,
        None,
    )
    .await?;
    assert_eq!(
        summaries(&theirs),
        expected_traces(&data.globex, |_| true, SpanOrder::Unspecified)
    );
    Ok(())
}

async fn services_and_operations(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    let services = client
        .list_services(authed(
            ListServicesRequest {
                time_range: Some(window(data)),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .service_names;
    assert_eq!(services, ["batch", "checkout", "frontend", "payment"]);
    let theirs = client
        .list_services(authed(
            ListServicesRequest {
                time_range: Some(window(data)),
            },
            OTHER_TOKEN,
        ))
        .await?
        .into_inner()
        .service_names;
    assert_eq!(theirs, ["frontend", "globex-svc"]);
    // A window before the data: nothing.
    let empty = client
        .list_services(authed(
            ListServicesRequest {
                time_range: Some(TimeRange {
                    start_unix_nano: data.base - 3600 * SEC,
                    end_unix_nano: data.base - 1800 * SEC,
                }),
            },
            TOKEN,
        ))
        .await?
        .into_inner()
        .service_names;
    assert!(empty.is_empty());

    let operations = |service: &str| ListOperationsRequest {
        time_range: Some(window(data)),
        service_name: service.to_owned(),
    };
    let got: Vec<(String, i32)> = client
        .list_operations(authed(operations("checkout"), TOKEN))
        .await?
        .into_inner()
        .operations
        .into_iter()
        .map(|o| (o.name, o.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("SELECT orders".to_owned(), SpanKind::Client as i32),
            ("checkout.process".to_owned(), SpanKind::Internal as i32),
            ("consume order".to_owned(), SpanKind::Consumer as i32),
        ]
    );
    let got: Vec<(String, i32)> = client
        .list_operations(authed(operations("frontend"), TOKEN))
        .await?
        .into_inner()
        .operations
        .into_iter()
        .map(|o| (o.name, o.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("GET /checkout".to_owned(), SpanKind::Server as i32),
            ("GET /home".to_owned(), SpanKind::Server as i32),
        ]
    );
    let none = client
        .list_operations(authed(operations("globex-svc"), TOKEN))
        .await?
        .into_inner();
    assert!(none.operations.is_empty());
    expect_code(
        client.list_operations(authed(operations(""), TOKEN)).await,
        Code::InvalidArgument,
        "service_name: required",
    );
    expect_code(
        client
            .list_services(authed(ListServicesRequest { time_range: None }, TOKEN))
            .await,
        Code::InvalidArgument,
        "time_range: required",
    );
    expect_code(
        client
            .list_services(ListServicesRequest {
                time_range: Some(window(data)),
            })
            .await,
        Code::Unauthenticated,
        "",
    );
    Ok(())
}

fn quantile(mut values: Vec<u64>, level: f64) -> u64 {
    values.sort_unstable();
    let at = ((level * values.len() as f64) as usize).min(values.len() - 1);
    values[at]
}

async fn top_k(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    let request = |dimension: TopKDimension, key: &str, metric: TopKMetric, k: u32| TopKRequest {
        filter: Some(filter(data)),
        dimension: dimension as i32,
        attribute_key: key.to_owned(),
        metric: metric as i32,
        k,
        attribute_scope: AttributeScope::Unspecified as i32,
    };
    type Row = (String, u64, u64, u64, u64, u64);
    let expected = |value: &dyn Fn(&Expected) -> Option<String>| -> Vec<Row> {
        let mut groups: BTreeMap<String, Vec<&Expected>> = BTreeMap::new();
        for s in &data.acme {
            if let Some(v) = value(s) {
                groups.entry(v).or_default().push(s);
            }
        }
        groups
            .into_iter()
            .map(|(v, spans)| {
                let durations: Vec<u64> = spans.iter().map(|s| s.duration).collect();
                (
                    v,
                    spans.len() as u64,
                    spans
                        .iter()
                        .filter(|s| s.status == StatusCode::Error)
                        .count() as u64,
                    quantile(durations.clone(), 0.5),
                    quantile(durations.clone(), 0.95),
                    quantile(durations, 0.99),
                )
            })
            .collect()
    };
    let rows = |response: airis_proto::airis::analytics::v1::TopKResponse| -> Vec<Row> {
        response
            .entries
            .into_iter()
            .map(|e| {
                let l = e.latency.unwrap_or_default();
                (
                    e.value,
                    e.count,
                    e.error_count,
                    l.p50_nano,
                    l.p95_nano,
                    l.p99_nano,
                )
            })
            .collect()
    };

    let by_service = expected(&|s| Some(s.service.to_owned()));
    let mut by_count = by_service.clone();
    by_count.sort_by(|a, b| (b.1, &a.0).cmp(&(a.1, &b.0)));
    let got = client
        .top_k(authed(
            request(TopKDimension::Service, "", TopKMetric::Count, 0),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(rows(got), by_count);
    assert_eq!(by_count[0].0, "batch");

    let got = client
        .top_k(authed(
            request(TopKDimension::Service, "", TopKMetric::Count, 2),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(rows(got), by_count[..2]);

    let mut by_errors = by_service.clone();
    by_errors.sort_by(|a, b| (b.2, b.1, &a.0).cmp(&(a.2, a.1, &b.0)));
    let got = client
        .top_k(authed(
            request(TopKDimension::Service, "", TopKMetric::Errors, 0),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(rows(got), by_errors);
    assert_eq!(by_errors[0].0, "checkout");

    let mut by_latency = by_service;
    by_latency.sort_by(|a, b| (b.5, b.1, &a.0).cmp(&(a.5, a.1, &b.0)));
    let got = client
        .top_k(authed(
            request(TopKDimension::Service, "", TopKMetric::Latency, 0),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(rows(got), by_latency);
    assert_eq!(by_latency[0].5, 500 * MS);

    // A resource attribute: the spans carry service.name only there.
    let mut by_resource = request(
        TopKDimension::Attribute,
        "service.name",
        TopKMetric::Count,
        0,
    );
    let got = client
        .top_k(authed(by_resource.clone(), TOKEN))
        .await?
        .into_inner();
    assert!(got.entries.is_empty(), "{got:?}");
    by_resource.attribute_scope = AttributeScope::Resource as i32;
    let got = client
        .top_k(authed(by_resource.clone(), TOKEN))
        .await?
        .into_inner();
    assert_eq!(rows(got), by_count);
    by_resource.attribute_scope = 7;
    expect_code(
        client.top_k(authed(by_resource, TOKEN)).await,
        Code::InvalidArgument,
        "attribute_scope",
    );

    let mut by_operation = expected(&|s| (s.service == "frontend").then(|| s.name.to_owned()));
    by_operation.sort_by(|a, b| (b.1, &a.0).cmp(&(a.1, &b.0)));
    let mut req = request(TopKDimension::Operation, "", TopKMetric::Count, 0);
    req.filter.as_mut().expect("filter").service_name = "frontend".into();
    let got = client.top_k(authed(req, TOKEN)).await?.into_inner();
    assert_eq!(rows(got), by_operation);

    let got = client
        .top_k(authed(
            request(
                TopKDimension::Attribute,
                "http.method",
                TopKMetric::Count,
                0,
            ),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(
        rows(got),
        expected(&|s| s.attr("http.method").map(str::to_owned))
    );
    let mut by_index = expected(&|s| s.attr("job.index").map(str::to_owned));
    by_index.sort_by(|a, b| (b.5, b.1, &a.0).cmp(&(a.5, a.1, &b.0)));
    let got = client
        .top_k(authed(
            request(
                TopKDimension::Attribute,
                "job.index",
                TopKMetric::Latency,
                3,
            ),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(rows(got), by_index[..3]);
    assert_eq!(by_index[0].0, "9");

    // Globex's frontend never counts for acme.
    let got = client
        .top_k(authed(
            request(TopKDimension::Service, "", TopKMetric::Count, 100),
            OTHER_TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(
        rows(got)
            .into_iter()
            .map(|r| (r.0, r.1))
            .collect::<Vec<_>>(),
        [("globex-svc".to_owned(), 2), ("frontend".to_owned(), 1)]
    );

    expect_code(
        client
            .top_k(authed(
                request(TopKDimension::Service, "", TopKMetric::Count, 101),
                TOKEN,
            ))
            .await,
        Code::ResourceExhausted,
        "100",
    );
    expect_code(
        client
            .top_k(authed(
                request(TopKDimension::Unspecified, "", TopKMetric::Count, 0),
                TOKEN,
            ))
            .await,
        Code::InvalidArgument,
        "dimension",
    );
    expect_code(
        client
            .top_k(authed(
                request(TopKDimension::Service, "", TopKMetric::Unspecified, 0),
                TOKEN,
            ))
            .await,
        Code::InvalidArgument,
        "metric",
    );
    let mut bad = request(TopKDimension::Service, "", TopKMetric::Count, 0);
    bad.metric = 42;
    expect_code(
        client.top_k(authed(bad, TOKEN)).await,
        Code::InvalidArgument,
        "metric: unknown value 42",
    );
    expect_code(
        client
            .top_k(authed(
                request(TopKDimension::Attribute, "", TopKMetric::Count, 0),
                TOKEN,
            ))
            .await,
        Code::InvalidArgument,
        "attribute_key",
    );
    let mut no_range = request(TopKDimension::Service, "", TopKMetric::Count, 0);
    no_range.filter = None;
    expect_code(
        client.top_k(authed(no_range, TOKEN)).await,
        Code::InvalidArgument,
        "filter.time_range: required",
    );
    Ok(())
}

async fn bad_requests(client: &mut Client, data: &DataSet) -> anyhow::Result<()> {
    let base = filter(data);
    let w = window(data);
    let bad_filters: Vec<(SpanFilter, Code, &str)> = vec![
        (
            SpanFilter {
                time_range: None,
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.time_range: required",
        ),
        (
            SpanFilter {
                time_range: Some(TimeRange {
                    start_unix_nano: w.end_unix_nano,
                    end_unix_nano: w.start_unix_nano,
                }),
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.time_range: start_unix_nano must be before end_unix_nano",
        ),
        (
            SpanFilter {
                time_range: Some(TimeRange {
                    start_unix_nano: w.end_unix_nano - 90 * 86_400 * SEC,
                    end_unix_nano: w.end_unix_nano,
                }),
                ..base.clone()
            },
            Code::ResourceExhausted,
            "max_time_range_secs",
        ),
        (
            SpanFilter {
                kind: 99,
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.kind: unknown value 99",
        ),
        (
            SpanFilter {
                status_code: -1,
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.status_code",
        ),
        (
            SpanFilter {
                attributes: vec![
                    attr("a", MatchOperator::Exists, ""),
                    attr("b", MatchOperator::Unspecified, "x"),
                ],
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.attributes[1].operator",
        ),
        (
            SpanFilter {
                attributes: vec![attr("", MatchOperator::Equals, "x")],
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.attributes[0].key",
        ),
        (
            SpanFilter {
                attributes: vec![attr("a", MatchOperator::Exists, "x")],
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.attributes[0].value",
        ),
        (
            SpanFilter {
                min_duration_nano: 10,
                max_duration_nano: 5,
                ..base.clone()
            },
            Code::InvalidArgument,
            "filter.min_duration_nano",
        ),
    ];
    for (f, code, needle) in bad_filters {
        expect_code(
            search_spans(client, TOKEN, f.clone(), SpanOrder::Unspecified, None).await,
            code,
            needle,
        );
        expect_code(
            search_traces(client, TOKEN, f, SpanOrder::Unspecified, None).await,
            code,
            needle,
        );
    }
    let order_99 = SearchSpansRequest {
        filter: Some(base.clone()),
        order: 99,
        page: None,
    };
    expect_code(
        client.search_spans(authed(order_99, TOKEN)).await,
        Code::InvalidArgument,
        "order: unknown value 99",
    );

    // Paging: a huge page, a forged token, a token of another RPC or order.
    expect_code(
        search_spans(
            client,
            TOKEN,
            base.clone(),
            SpanOrder::Unspecified,
            page(1_000_000, ""),
        )
        .await,
        Code::ResourceExhausted,
        "max_page_size",
    );
    expect_code(
        search_traces(
            client,
            TOKEN,
            base.clone(),
            SpanOrder::Unspecified,
            page(1_000_000, ""),
        )
        .await,
        Code::ResourceExhausted,
        "max_page_size",
    );
    for token in [
        "zz",
        &format!("'; DROP TABLE {TRACES}; --"),
        "0011",
        "{x:String}",
    ] {
        expect_code(
            search_spans(
                client,
                TOKEN,
                base.clone(),
                SpanOrder::Unspecified,
                page(2, token),
            )
            .await,
            Code::InvalidArgument,
            "page.page_token",
        );
        expect_code(
            search_traces(
                client,
                TOKEN,
                base.clone(),
                SpanOrder::Unspecified,
                page(2, token),
            )
            .await,
            Code::InvalidArgument,
            "page.page_token",
        );
    }
    let spans_token = search_spans(
        client,
        TOKEN,
        base.clone(),
        SpanOrder::Unspecified,
        page(2, ""),
    )
    .await?
    .page
    .unwrap_or_default()
    .next_page_token;
    assert!(!spans_token.is_empty());
    expect_code(
        search_traces(
            client,
            TOKEN,
            base.clone(),
            SpanOrder::Unspecified,
            page(2, &spans_token),
        )
        .await,
        Code::InvalidArgument,
        "page.page_token",
    );
    expect_code(
        search_spans(
            client,
            TOKEN,
            base.clone(),
            SpanOrder::LongestFirst,
            page(2, &spans_token),
        )
        .await,
        Code::InvalidArgument,
        "page.page_token",
    );

    // No credentials, unknown credentials.
    let unauthenticated = SearchSpansRequest {
        filter: Some(base.clone()),
        order: 0,
        page: None,
    };
    expect_code(
        client.search_spans(unauthenticated.clone()).await,
        Code::Unauthenticated,
        "",
    );
    expect_code(
        client.search_spans(authed(unauthenticated, "nope")).await,
        Code::Unauthenticated,
        "",
    );
    expect_code(
        client
            .search_traces(SearchTracesRequest {
                filter: Some(base.clone()),
                order: 0,
                page: None,
            })
            .await,
        Code::Unauthenticated,
        "",
    );
    expect_code(
        client
            .top_k(TopKRequest {
                filter: Some(base),
                dimension: 1,
                attribute_key: String::new(),
                metric: 1,
                k: 0,
                attribute_scope: 0,
            })
            .await,
        Code::Unauthenticated,
        "",
    );
    Ok(())
}
