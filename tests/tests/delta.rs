//! Compare end to end: two versions of two services go through the real
//! pipeline (OTLP → Kafka → loader → ClickHouse), then the delta service
//! judges them as `airis serve delta` runs it. The slower version fails
//! with its operation named first, the unchanged one passes, an empty,
//! tiny or one-sided cohort is inconclusive, another tenant sees none of
//! the spans, and bad requests are refused naming the field. The counts
//! and quantiles are checked against the spans that were sent, and so are
//! the attribute values (status codes under their old and new names,
//! exception events). Ten minutes of the demo's traffic, four times: v2
//! as v1 passes with none of its attributes changed, v2 slower, logging a
//! new error or failing more often fails, the last with its status codes
//! reported changed.

use std::time::Duration;

use airis_analytics::query::Store;
use airis_proto::airis::analytics::v1::{
    AttributeFilter, AttributeScope, MatchOperator, SpanFilter, StatusCode as FilterStatus,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{
    Cohort, CompareOptions, CompareRequest, CompareResponse, Severity, Signal, Verdict,
    delta_service_client::DeltaServiceClient,
};
use airis_proto::kv::kv;
use airis_proto::otlp::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::KeyValue,
    resource::v1::Resource,
    trace::v1::{
        ResourceSpans, ScopeSpans, Span, Status,
        span::{Event, SpanKind},
        status::StatusCode,
    },
};
use airis_proto::tonic::{Code, Request, transport::Channel};
use airis_store::tables::{LOGS, TRACES};
use airis_tests::{
    DeltaServer, OTHER_TOKEN, Pipeline, Settings, TENANT, TOKEN,
    mesh::{DevCa, Sidecar, https_request},
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id},
    wait_for_count,
};

const MS: u64 = 1_000_000;
const MIN: u64 = 60_000_000_000;
/// Spans of each (service, version, operation).
const V1_SPANS: u64 = 600;
const V2_SPANS: u64 = 300;

/// A deterministic stream of uniform numbers in (0, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Log-normal around `median_ms` (spread 0.3), in nanoseconds.
    fn duration(&mut self, median_ms: f64) -> u64 {
        let (u, v) = (self.next(), self.next());
        let normal = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
        (median_ms * (0.3 * normal).exp() * MS as f64) as u64
    }
}

/// What one (service, version) sends: its operations, each with a median
/// and an error rate.
struct Version {
    service: &'static str,
    version: &'static str,
    spans: u64,
    /// (operation, median ms, every n-th span an error)
    operations: [(&'static str, f64, u64); 2],
}

const SENT: [Version; 4] = [
    Version {
        service: "checkout",
        version: "v1",
        spans: V1_SPANS,
        operations: [("POST /orders", 80.0, 50), ("GET /cart", 20.0, 50)],
    },
    // +30 % on POST /orders, nothing else changed.
    Version {
        service: "checkout",
        version: "v2",
        spans: V2_SPANS,
        operations: [("POST /orders", 104.0, 50), ("GET /cart", 20.0, 50)],
    },
    Version {
        service: "catalog",
        version: "v1",
        spans: V1_SPANS,
        operations: [("GET /product", 30.0, 100), ("GET /search", 60.0, 100)],
    },
    Version {
        service: "catalog",
        version: "v2",
        spans: V2_SPANS,
        operations: [("GET /product", 30.0, 100), ("GET /search", 60.0, 100)],
    },
];

/// What one (service, version, operation) sent: "checkout v2 GET /cart",
/// its durations, its errors.
type Sent = (String, Vec<u64>, u64);

/// The spans of every version, and the durations of each (service,
/// version, operation) for the checks.
fn requests(run: u64, start: u64) -> (Vec<ExportTraceServiceRequest>, Vec<Sent>) {
    // One fixed seed: the same samples every run, so the verdicts below do
    // not depend on chance.
    let mut uniform = Uniform(0x9E37_79B9_7F4A_7C15);
    let mut requests = Vec::new();
    let mut sent = Vec::new();
    let mut next = 0;
    for version in &SENT {
        let mut spans = Vec::new();
        for &(operation, median, every) in &version.operations {
            let mut durations = Vec::new();
            let mut errors = 0;
            for i in 0..version.spans {
                next += 1;
                let duration = uniform.duration(median);
                let error = i % every == 0;
                errors += u64::from(error);
                durations.push(duration);
                // Spread over the first 8 minutes of the window.
                let at = start + (i * 8 * MIN) / version.spans;
                let (attributes, events) = catalog_attributes(version, i, error, at);
                spans.push(Span {
                    trace_id: trace_id(run, next),
                    span_id: span_id(next),
                    name: operation.to_owned(),
                    kind: SpanKind::Server as i32,
                    start_time_unix_nano: at,
                    end_time_unix_nano: at + duration,
                    status: Some(Status {
                        code: if error {
                            StatusCode::Error
                        } else {
                            StatusCode::Ok
                        } as i32,
                        message: String::new(),
                    }),
                    attributes,
                    events,
                    ..Default::default()
                });
            }
            sent.push((
                format!("{} {} {operation}", version.service, version.version),
                durations,
                errors,
            ));
        }
        for chunk in spans.chunks(200) {
            requests.push(ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![
                            kv("service.name", version.service),
                            kv("service.version", version.version),
                        ],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        spans: chunk.to_vec(),
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
            });
        }
    }
    (requests, sent)
}

/// Catalog's spans carry their status code, v1 under the old
/// semantic-convention name and v2 under the new one, and its errors two
/// exception events: a retried `RetryError`, then the one that ended the
/// span (`TimeoutError` every 200th span, else `IOError`).
fn catalog_attributes(
    version: &Version,
    i: u64,
    error: bool,
    at: u64,
) -> (Vec<KeyValue>, Vec<Event>) {
    if version.service != "catalog" {
        return Default::default();
    }
    let key = if version.version == "v1" {
        "http.status_code"
    } else {
        "http.response.status_code"
    };
    let attributes = vec![kv(key, if error { 500 } else { 200 })];
    let exception = |kind: &str| Event {
        time_unix_nano: at,
        name: "exception".into(),
        attributes: vec![
            kv("exception.type", kind),
            kv("exception.message", "failed"),
        ],
        dropped_attributes_count: 0,
    };
    let events = if error {
        let last = if i.is_multiple_of(200) {
            "TimeoutError"
        } else {
            "IOError"
        };
        vec![exception("RetryError"), exception(last)]
    } else {
        Vec::new()
    };
    (attributes, events)
}

fn cohort(range: TimeRange, service: &str, version: &str) -> Cohort {
    Cohort {
        spans: Some(SpanFilter {
            time_range: Some(range),
            service_name: service.to_owned(),
            attributes: vec![AttributeFilter {
                key: "service.version".into(),
                operator: MatchOperator::Equals as i32,
                value: version.to_owned(),
                scope: AttributeScope::Resource as i32,
            }],
            ..Default::default()
        }),
        label: version.to_owned(),
    }
}

async fn compare(
    client: &mut DeltaServiceClient<Channel>,
    token: &str,
    baseline: Cohort,
    candidate: Cohort,
) -> Result<CompareResponse, airis_proto::tonic::Status> {
    let request = CompareRequest {
        baseline: Some(baseline),
        candidate: Some(candidate),
        options: None,
    };
    Ok(client.compare(authed(request, token)).await?.into_inner())
}

/// The exact `level` quantile as the service defines it: index
/// floor(level · n) of the sorted durations.
fn quantile(durations: &[u64], level: f64) -> u64 {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    sorted[((level * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_judges_versions_stored_through_the_pipeline() -> anyhow::Result<()> {
    let settings = Settings::new("delta");
    let pipeline = Pipeline::start(settings.clone()).await?;
    let run = now_unix_nano();
    let start = now_unix_nano() / MIN * MIN - 10 * MIN;
    let range = TimeRange {
        start_unix_nano: start,
        end_unix_nano: start + 10 * MIN,
    };
    let (requests, sent) = requests(run, start);
    let mut otlp = trace_client(&pipeline.endpoint).await?;
    for request in requests {
        otlp.export(authed(request, TOKEN)).await?;
    }
    let total: u64 = SENT.iter().map(|v| v.spans * 2).sum();
    let store = Store::new(settings.clickhouse.client(), Default::default());
    let seen = wait_for_count(
        store.client(),
        &format!("SELECT count() FROM {TRACES}"),
        total,
        Duration::from_secs(60),
    )
    .await?;
    assert_eq!(seen, total, "spans stored");

    let server = DeltaServer::start(&settings).await?;
    let mut client = DeltaServiceClient::connect(server.endpoint.clone()).await?;

    // checkout v2 is 30 % slower on POST /orders: FAIL, that operation
    // first.
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(range, "checkout", "v1"),
        cohort(range, "checkout", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Fail as i32,
        "{:#?}",
        answer.reasons
    );
    let first = &answer.reasons[0];
    assert_eq!(
        (first.severity, first.signal),
        (Severity::Fail as i32, Signal::Latency as i32)
    );
    assert_eq!(
        (first.service_name.as_str(), first.operation.as_str()),
        ("checkout", "POST /orders"),
        "{first:#?}"
    );
    assert!(
        first
            .en
            .starts_with("checkout POST /orders: typical latency +"),
        "{}",
        first.en
    );
    assert!(
        first
            .ko
            .starts_with("checkout POST /orders: 일반적인 지연 시간 +"),
        "{}",
        first.ko
    );
    let orders = answer
        .operations
        .iter()
        .find(|o| o.operation == "POST /orders")
        .unwrap();
    let shift = orders.latency.as_ref().unwrap().shift.unwrap();
    assert!(
        shift.lower > 0.1 && shift.upper < 0.5 && (0.22..0.38).contains(&shift.estimate),
        "{shift:?}"
    );
    // GET /cart did not change.
    let cart = answer
        .operations
        .iter()
        .find(|o| o.operation == "GET /cart")
        .unwrap();
    assert_eq!(cart.verdict, Verdict::Pass as i32);
    assert!(
        !answer
            .reasons
            .iter()
            .any(|r| r.operation == "GET /cart" && r.severity == Severity::Fail as i32)
    );

    // Counts, errors and quantiles are those of the spans sent (quantiles
    // to within the 1 % grid).
    for (row, version, quantiles) in [
        (
            orders,
            "v1",
            orders.latency.as_ref().unwrap().baseline.unwrap(),
        ),
        (
            orders,
            "v2",
            orders.latency.as_ref().unwrap().candidate.unwrap(),
        ),
        (
            cart,
            "v2",
            cart.latency.as_ref().unwrap().candidate.unwrap(),
        ),
    ] {
        let key = format!("checkout {version} {}", row.operation);
        let (_, durations, errors) = sent.iter().find(|(k, ..)| *k == key).unwrap();
        assert_eq!(quantiles.count, durations.len() as u64, "{key}");
        for (got, level) in [
            (quantiles.p50_nano, 0.5),
            (quantiles.p95_nano, 0.95),
            (quantiles.p99_nano, 0.99),
        ] {
            let exact = quantile(durations, level) as f64;
            assert!(
                (got as f64 / exact - 1.0).abs() < 0.011,
                "{key} p{level}: {got} vs {exact}"
            );
        }
        let rates = row.errors.as_ref().unwrap();
        let rate = if version == "v1" {
            rates.baseline.unwrap()
        } else {
            rates.candidate.unwrap()
        };
        assert_eq!(
            (rate.count, rate.total),
            (*errors, durations.len() as u64),
            "{key}"
        );
    }
    assert_eq!(answer.baseline.as_ref().unwrap().spans, 2 * V1_SPANS);
    assert_eq!(answer.candidate.as_ref().unwrap().label, "v2");
    assert!((answer.candidate.as_ref().unwrap().seconds - 600.0).abs() < 1e-9);

    // catalog v2 is catalog v1 again: PASS.
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(range, "catalog", "v1"),
        cohort(range, "catalog", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Pass as i32,
        "{:#?}",
        answer.reasons
    );
    assert!(answer.score == 100.0, "{}", answer.score);
    // Its status codes under one key whatever name each version wrote,
    // and the exceptions that ended its failed spans, counted as sent
    // (every 100th span failed, every 200th with a TimeoutError): too few
    // to test, listed all the same.
    let values = |operation: &str, key: &str| {
        let delta = answer
            .attributes
            .iter()
            .find(|a| a.operation == operation && a.key == key)
            .unwrap_or_else(|| panic!("{operation} {key}: {:#?}", answer.attributes));
        assert!(
            !delta.test.as_ref().is_some_and(|t| t.significant),
            "{delta:#?}"
        );
        delta
            .values
            .iter()
            .map(|v| {
                let (b, c) = (v.baseline.unwrap(), v.candidate.unwrap());
                (v.value.as_str(), b.count, b.total, c.count, c.total)
            })
            .collect::<Vec<_>>()
    };
    for operation in ["GET /product", "GET /search"] {
        assert_eq!(
            values(operation, "http.response.status_code"),
            [("200", 594, 600, 297, 300), ("500", 6, 600, 3, 300)]
        );
        assert_eq!(
            values(operation, "exception.type"),
            [("TimeoutError", 3, 6, 2, 3), ("IOError", 3, 6, 1, 3)]
        );
    }
    assert!(
        !answer.attributes.iter().any(
            |a| a.key == "http.status_code" || a.values.iter().any(|v| v.value == "RetryError")
        )
    );

    // No v3 anywhere: INCONCLUSIVE, never PASS.
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(range, "catalog", "v1"),
        cohort(range, "catalog", "v3"),
    )
    .await?;
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    assert_eq!(answer.reasons[0].en, "the candidate (v3) has no spans");
    // Tiny: the first 30 seconds hold about 19 spans of each operation.
    let tiny = TimeRange {
        start_unix_nano: start,
        end_unix_nano: start + MIN / 2,
    };
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(range, "catalog", "v1"),
        cohort(tiny, "catalog", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Inconclusive as i32,
        "{:#?}",
        answer.reasons
    );
    assert!(
        answer.reasons[0].en.starts_with("too little data"),
        "{}",
        answer.reasons[0].en
    );
    // One-sided: two different services share no operation.
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(range, "checkout", "v1"),
        cohort(range, "catalog", "v1"),
    )
    .await?;
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    assert_eq!(
        answer.reasons[0].en,
        "the cohorts share no operation: nothing to compare"
    );

    // Another tenant sees none of these spans.
    let answer = compare(
        &mut client,
        OTHER_TOKEN,
        cohort(range, "checkout", "v1"),
        cohort(range, "checkout", "v2"),
    )
    .await?;
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    assert_eq!(
        answer.baseline.unwrap().spans + answer.candidate.unwrap().spans,
        0
    );

    // Refusals name the field; the service keeps serving.
    let no_tenant = client
        .compare(Request::new(CompareRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(no_tenant.code(), Code::Unauthenticated);
    let refused = |status: airis_proto::tonic::Status, field: &str| {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().starts_with(field),
            "{} should name {field}",
            status.message()
        );
    };
    let error = compare(
        &mut client,
        TOKEN,
        Cohort::default(),
        cohort(range, "checkout", "v2"),
    )
    .await
    .unwrap_err();
    refused(error, "baseline.spans: required");
    let mut errors_only = cohort(range, "checkout", "v2");
    errors_only.spans.as_mut().unwrap().status_code = FilterStatus::Error as i32;
    let error = compare(
        &mut client,
        TOKEN,
        cohort(range, "checkout", "v1"),
        errors_only,
    )
    .await
    .unwrap_err();
    refused(error, "candidate.spans.status_code");
    let mut no_range = cohort(range, "checkout", "v2");
    no_range.spans.as_mut().unwrap().time_range = None;
    let error = compare(
        &mut client,
        TOKEN,
        cohort(range, "checkout", "v1"),
        no_range,
    )
    .await
    .unwrap_err();
    refused(error, "candidate.spans.time_range: required");
    let error = client
        .compare(authed(
            CompareRequest {
                baseline: Some(cohort(range, "checkout", "v1")),
                candidate: Some(cohort(range, "checkout", "v2")),
                options: Some(CompareOptions {
                    alpha: 0.9,
                    ..Default::default()
                }),
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    refused(error, "options.alpha");
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(range, "catalog", "v1"),
        cohort(range, "catalog", "v2"),
    )
    .await?;
    assert_eq!(answer.verdict, Verdict::Pass as i32);

    server.stop().await?;
    pipeline.stop().await
}

/// Ten minutes of the demo's traffic (20 traces a second, 10 % of
/// checkouts on v2) ending at `end`, generated with checkout v2 as
/// `canary` says and sent through the pipeline, spans and log records;
/// returns how many of each were sent.
async fn demo_traffic(
    pipeline: &Pipeline,
    seed: u64,
    end: u64,
    canary: airis_demo::generate::Canary,
) -> anyhow::Result<(u64, u64)> {
    use airis_demo::generate::{Conditions, Generator};
    use airis_proto::otlp::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
    let conditions = Conditions {
        canary,
        ..Conditions::default()
    };
    let mut generator = Generator::new(seed);
    let mut otlp = trace_client(&pipeline.endpoint).await?;
    let mut otlp_logs = LogsServiceClient::connect(pipeline.endpoint.clone()).await?;
    let traces = 12_000u64;
    let step = 10 * MIN / traces;
    let (mut spans, mut records) = (0, 0);
    let mut batch = Vec::with_capacity(200);
    for i in 0..traces {
        // Ends spread over the window, a second clear of its start for
        // the longest trace.
        batch.push(generator.trace(
            end - 10 * MIN + 1_000_000_000 + i * step - step / 2,
            &conditions,
        ));
        if batch.len() == 200 || i + 1 == traces {
            let (request, n) = airis_demo::export::traces_request(&batch, "demo");
            otlp.export(authed(request, TOKEN)).await?;
            spans += n;
            let (request, n) = airis_demo::export::logs_request(&batch, "demo");
            if n > 0 {
                otlp_logs.export(authed(request, TOKEN)).await?;
                records += n;
            }
            batch.clear();
        }
    }
    Ok((spans, records))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_canary_is_judged_by_what_it_does() -> anyhow::Result<()> {
    use airis_demo::generate::Canary;
    let settings = Settings::new("delta_demo");
    let pipeline = Pipeline::start(settings.clone()).await?;
    // Four windows of ten minutes: v2 failing 10 percentage points more
    // often, v2 logging a new error, v2 20 % slower, v2 as v1 (the
    // latest, as the rollout endpoints compare up to now).
    let now = now_unix_nano() / MIN * MIN;
    let window = |ago: u64| TimeRange {
        start_unix_nano: now - ago * MIN,
        end_unix_nano: now - (ago - 10) * MIN,
    };
    let (same, slower, logging) = (window(15), window(30), window(45));
    let failing = window(60);
    let mut sent = (0, 0);
    for (seed, range, canary) in [
        (1, same, Canary::SAME),
        (
            2,
            slower,
            Canary {
                slowdown: 1.2,
                ..Canary::SAME
            },
        ),
        (
            3,
            logging,
            Canary {
                error_log: true,
                ..Canary::SAME
            },
        ),
        (
            4,
            failing,
            Canary {
                extra_errors: 0.1,
                ..Canary::SAME
            },
        ),
    ] {
        let (spans, records) = demo_traffic(&pipeline, seed, range.end_unix_nano, canary).await?;
        sent = (sent.0 + spans, sent.1 + records);
    }
    let store = Store::new(settings.clickhouse.client(), Default::default());
    for (table, expected) in [(TRACES, sent.0), (LOGS, sent.1)] {
        let seen = wait_for_count(
            store.client(),
            &format!("SELECT count() FROM {table}"),
            expected,
            Duration::from_secs(120),
        )
        .await?;
        assert_eq!(seen, expected, "{table} stored");
    }

    let server = DeltaServer::start(&settings).await?;
    let mut client = DeltaServiceClient::connect(server.endpoint.clone()).await?;
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(same, "checkout", "v1"),
        cohort(same, "checkout", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Pass as i32,
        "{:#?}",
        answer.reasons
    );
    let v2 = answer.candidate.as_ref().unwrap();
    assert!(v2.spans > 1_000, "the canary's spans: {v2:?}");
    // Attribute values as v1's: the status codes of checkout's requests
    // are tested, and nothing of checkout's changed.
    let status = |answer: &CompareResponse| {
        answer
            .attributes
            .iter()
            .find(|a| {
                (
                    a.service_name.as_str(),
                    a.operation.as_str(),
                    a.key.as_str(),
                ) == ("checkout", "POST /checkout", "http.response.status_code")
            })
            .cloned()
            .unwrap_or_else(|| panic!("{:#?}", answer.attributes))
    };
    let codes = status(&answer);
    assert!(codes.test.is_some(), "{codes:#?}");
    assert!(codes.values.iter().any(|v| v.value == "200"), "{codes:#?}");
    assert!(
        answer
            .attributes
            .iter()
            .filter(|a| a.service_name == "checkout")
            .all(|a| !a.test.as_ref().is_some_and(|t| t.significant)),
        "{:#?}",
        answer.attributes
    );
    assert!(
        !answer
            .reasons
            .iter()
            .any(|r| r.signal == Signal::Attributes as i32),
        "{:#?}",
        answer.reasons
    );

    let answer = compare(
        &mut client,
        TOKEN,
        cohort(slower, "checkout", "v1"),
        cohort(slower, "checkout", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Fail as i32,
        "{:#?}",
        answer.reasons
    );
    let first = &answer.reasons[0];
    assert_eq!(
        (
            first.service_name.as_str(),
            first.operation.as_str(),
            first.signal
        ),
        ("checkout", "POST /checkout", Signal::Latency as i32),
        "{first:#?}"
    );

    // v2 logging an error it never logged: FAIL, that template first, in
    // the language it was logged in.
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(logging, "checkout", "v1"),
        cohort(logging, "checkout", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Fail as i32,
        "{:#?}",
        answer.reasons
    );
    let first = &answer.reasons[0];
    assert_eq!(
        (first.signal, first.service_name.as_str()),
        (Signal::Logs as i32, "checkout"),
        "{first:#?}"
    );
    let new_error = [
        "promotion engine rejected the basket: rule <*> not found",
        "프로모션 엔진이 장바구니를 거부했습니다: 규칙 <*> 없음",
    ];
    assert!(new_error.contains(&first.template.as_str()), "{first:#?}");
    let template = answer
        .templates
        .iter()
        .find(|t| t.template == first.template)
        .unwrap();
    assert_eq!(template.baseline.unwrap().count, 0);
    assert!(template.candidate.unwrap().count > 20, "{template:#?}");
    assert!(
        template.candidate_example.contains("rule ")
            || template.candidate_example.contains("규칙 ")
    );
    assert!(answer.templates.len() > 3, "{:#?}", answer.templates);
    assert!(answer.candidate.as_ref().unwrap().logs > 0);

    // v2 failing more often: its errors fail the comparison, and the
    // status codes of its checkout requests changed (more 502), reported
    // as information, never as the failure.
    let answer = compare(
        &mut client,
        TOKEN,
        cohort(failing, "checkout", "v1"),
        cohort(failing, "checkout", "v2"),
    )
    .await?;
    assert_eq!(
        answer.verdict,
        Verdict::Fail as i32,
        "{:#?}",
        answer.reasons
    );
    let codes = status(&answer);
    let test = codes.test.as_ref().unwrap();
    assert!(test.significant, "{codes:#?}");
    assert!(codes.degrees_of_freedom >= 1 && codes.cramers_v > 0.0);
    let bad = codes.values.iter().find(|v| v.value == "502").unwrap();
    assert!(
        bad.candidate.unwrap().rate > bad.baseline.unwrap().rate + 0.05,
        "{codes:#?}"
    );
    let reason = answer
        .reasons
        .iter()
        .find(|r| {
            r.signal == Signal::Attributes as i32
                && r.operation == "POST /checkout"
                && r.attribute == "http.response.status_code"
        })
        .unwrap_or_else(|| panic!("{:#?}", answer.reasons));
    assert_eq!(reason.severity, Severity::Info as i32);
    assert!(
        reason
            .en
            .starts_with("checkout POST /checkout: http.response.status_code distribution changed")
            && reason.en.contains("): 502 "),
        "{}",
        reason.en
    );
    assert!(
        answer
            .reasons
            .iter()
            .filter(|r| r.severity == Severity::Fail as i32)
            .all(|r| r.signal != Signal::Attributes as i32)
    );

    rollout_controllers_get_the_verdict(&server, same, logging, &new_error).await?;
    server.stop().await?;
    pipeline.stop().await
}

/// Flagger's webhook and Argo Rollouts' web metric through delta's
/// sidecar, called as the rollout controllers' mesh identity: the last
/// minutes up to `same`'s start hold v2 as v1, up to `logging`'s start
/// also v2's new error.
async fn rollout_controllers_get_the_verdict(
    server: &DeltaServer,
    same: TimeRange,
    logging: TimeRange,
    new_error: &[&str],
) -> anyhow::Result<()> {
    let ca = DevCa::new(&["delta", "rollouts", "receiver"])?;
    let grpc_port: u16 = server.endpoint.rsplit(':').next().unwrap().parse()?;
    let sidecar = Sidecar::start(&ca, "delta", grpc_port, server.http.port()).await?;
    let call = |identity: &'static str, method: &'static str, path: String, body: String| {
        let ca = &ca;
        let inbound = sidecar.inbound;
        async move {
            let (status, body) =
                https_request(inbound, ca, identity, method, &path, body.as_bytes()).await?;
            let json: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into());
            anyhow::Ok((status, json))
        }
    };
    // A window reaching back to `range`'s start.
    let since = |range: TimeRange| {
        format!(
            "{}s",
            (now_unix_nano() - range.start_unix_nano) / 1_000_000_000 + 1
        )
    };
    let verdict = |window: String, signals: &str| {
        format!(
            "/rollout/v1/verdict?tenant={TENANT}&service=checkout&baseline=v1&candidate=v2\
             &window={window}&signals={signals}"
        )
    };
    let flagger = |metadata: serde_json::Value| {
        serde_json::json!({
            "name": "checkout", "namespace": "shop", "phase": "Progressing",
            "checksum": "6d8f7c", "metadata": metadata,
        })
        .to_string()
    };
    let metadata = |window: String, signals: &str| {
        serde_json::json!({
            "tenant": TENANT, "service": "checkout", "baseline": "v1", "candidate": "v2",
            "window": window, "signals": signals,
        })
    };
    let all = "latency,errors,throughput,logs";

    // Argo: 200 whatever the verdict, the verdict to match on.
    let (status, answer) =
        call("rollouts", "GET", verdict(since(same), all), String::new()).await?;
    assert_eq!(
        (status, &answer["verdict"]),
        (200, &"pass".into()),
        "{answer:#}"
    );
    assert_eq!(answer["candidate"]["label"], "v2");
    assert!(
        answer["candidate"]["spans"].as_u64().unwrap() > 1_000,
        "{answer:#}"
    );
    let (status, answer) = call(
        "rollouts",
        "GET",
        verdict(since(logging), "logs"),
        String::new(),
    )
    .await?;
    assert_eq!(
        (status, &answer["verdict"]),
        (200, &"fail".into()),
        "{answer:#}"
    );
    let first = &answer["reasons"][0];
    assert_eq!(first["signal"], "logs", "{answer:#}");
    assert!(
        new_error.contains(&first["template"].as_str().unwrap()),
        "{answer:#}"
    );

    // Flagger: 200 goes on, 412 halts, with the reasons.
    let path = || "/rollout/v1/flagger".to_owned();
    let (status, answer) = call(
        "rollouts",
        "POST",
        path(),
        flagger(metadata(since(same), all)),
    )
    .await?;
    assert_eq!(
        (status, &answer["verdict"]),
        (200, &"pass".into()),
        "{answer:#}"
    );
    let (status, answer) = call(
        "rollouts",
        "POST",
        path(),
        flagger(metadata(since(logging), "logs")),
    )
    .await?;
    assert_eq!(
        (status, &answer["verdict"]),
        (412, &"fail".into()),
        "{answer:#}"
    );
    let summary = answer["summary"].as_str().unwrap();
    let first = answer["reasons"][0]["en"].as_str().unwrap();
    assert!(summary.starts_with(&format!("fail: {first}")), "{summary}");

    // A bad request names the field; an empty cohort is never a pass.
    let mut missing = metadata(since(same), all);
    missing.as_object_mut().unwrap().remove("service");
    let (status, answer) = call("rollouts", "POST", path(), flagger(missing)).await?;
    assert_eq!(status, 400, "{answer:#}");
    assert_eq!(answer["error"], "metadata.service: required");
    let mut nobody = metadata(since(same), all);
    nobody["candidate"] = "v9".into();
    let (status, answer) = call("rollouts", "POST", path(), flagger(nobody)).await?;
    assert_eq!(
        (status, &answer["verdict"]),
        (412, &"inconclusive".into()),
        "{answer:#}"
    );

    // Only the rollout controllers' identity, and only on these paths.
    let (status, _) = call("receiver", "GET", verdict(since(same), all), String::new()).await?;
    assert_eq!(status, 403, "another mesh identity");
    let (status, _) = call(
        "rollouts",
        "POST",
        "/airis.delta.v1.DeltaService/Compare".to_owned(),
        String::new(),
    )
    .await?;
    assert_eq!(status, 403, "the controllers' identity on the gRPC API");
    Ok(())
}
