//! ListChanges end to end: versions replaced, a canary started and a
//! deployment announced in a log record go through the real pipeline
//! (OTLP → Kafka → loader → ClickHouse); the delta service finds each
//! change at its time, the newest first, and compares it: the slower
//! replacement fails, the unchanged canary passes, a canary running since
//! before the range is no change; another tenant sees nothing, bad
//! requests are refused naming the field.

use std::time::Duration;

use airis_analytics::query::Store;
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{
    ChangeKind, DetectedChange, ListChangesRequest, Signal, Verdict,
    delta_service_client::DeltaServiceClient,
};
use airis_proto::kv::{any_value, kv};
use airis_proto::otlp::tonic::{
    collector::logs::v1::{ExportLogsServiceRequest, logs_service_client::LogsServiceClient},
    collector::trace::v1::ExportTraceServiceRequest,
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, span::SpanKind},
};
use airis_proto::tonic::Code;
use airis_store::tables::{LOGS, TRACES};
use airis_tests::{
    DeltaServer, OTHER_TOKEN, Pipeline, Settings, TOKEN,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id},
    wait_for_count,
};

const MS: u64 = 1_000_000;
const MIN: u64 = 60_000_000_000;

/// A deterministic stream of log-normal durations around a median.
struct Durations(u64);

impl Durations {
    fn next_uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn next(&mut self, median_ms: f64) -> u64 {
        let (u, v) = (self.next_uniform(), self.next_uniform());
        let normal = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
        (median_ms * (0.3 * normal).exp() * MS as f64) as u64
    }
}

/// `count` server spans of `service` at `version`, spread over [start,
/// end), durations around `median_ms`.
fn spans(
    run: u64,
    durations: &mut Durations,
    (service, version): (&str, &str),
    (start, end): (u64, u64),
    count: u64,
    median_ms: f64,
) -> Vec<ExportTraceServiceRequest> {
    let spans: Vec<Span> = (0..count)
        .map(|i| {
            let at = start + i * (end - start) / count;
            let id = run * 1_000_000 + i;
            Span {
                trace_id: trace_id(run, id),
                span_id: span_id(id),
                name: "GET /stock".to_owned(),
                kind: SpanKind::Server as i32,
                start_time_unix_nano: at,
                end_time_unix_nano: at + durations.next(median_ms),
                ..Default::default()
            }
        })
        .collect();
    spans
        .chunks(200)
        .map(|chunk| ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", service), kv("service.version", version)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: chunk.to_vec(),
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
        })
        .collect()
}

fn summary(change: &DetectedChange) -> (String, ChangeKind, Vec<String>) {
    (
        change.service_name.clone(),
        change.kind(),
        change
            .attributes
            .iter()
            .map(|a| format!("{} {}→{}", a.key, a.before, a.after))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changes_finds_what_changed_and_whether_it_hurt() -> anyhow::Result<()> {
    let settings = Settings::new("delta_changes");
    let pipeline = Pipeline::start(settings.clone()).await?;
    let t = now_unix_nano() / MIN * MIN;
    let mut durations = Durations(0x2545_F491_4F6C_DD1D);
    let mut requests = Vec::new();
    let mut sent = 0;
    for (run, service, range, count, median) in [
        // inventory: v1 replaced by v2 at t - 15 min, 30 % slower.
        (
            1,
            ("inventory", "v1"),
            (t - 30 * MIN, t - 15 * MIN),
            900,
            40.0,
        ),
        (
            2,
            ("inventory", "v2"),
            (t - 15 * MIN, t - 3 * MIN),
            720,
            52.0,
        ),
        // payment: v2 started beside v1 at t - 10 min, unchanged.
        (
            3,
            ("payment", "v1"),
            (t - 30 * MIN, t - 3 * MIN),
            1_620,
            30.0,
        ),
        (4, ("payment", "v2"), (t - 10 * MIN, t - 3 * MIN), 420, 30.0),
        // catalog: both versions all along.
        (5, ("catalog", "v1"), (t - 30 * MIN, t - 3 * MIN), 900, 20.0),
        (6, ("catalog", "v2"), (t - 30 * MIN, t - 3 * MIN), 300, 20.0),
    ] {
        requests.extend(spans(run, &mut durations, service, range, count, median));
        sent += count;
    }
    let mut otlp = trace_client(&pipeline.endpoint).await?;
    for request in requests {
        otlp.export(authed(request, TOKEN)).await?;
    }
    // inventory's release announced, as a deployment tool would log it.
    let deployed = t - 15 * MIN;
    let announcement = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "inventory")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: deployed,
                    observed_time_unix_nano: deployed,
                    severity_number: 9,
                    body: Some(any_value("inventory v2 배포 완료 (rollout 42)")),
                    attributes: vec![kv("event.name", "deployment")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    };
    LogsServiceClient::connect(pipeline.endpoint.clone())
        .await?
        .export(authed(announcement, TOKEN))
        .await?;
    let store = Store::new(settings.clickhouse.client(), Default::default());
    for (table, expected) in [(TRACES, sent), (LOGS, 1)] {
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
    let request = ListChangesRequest {
        time_range: Some(TimeRange {
            start_unix_nano: t - 20 * MIN,
            end_unix_nano: t,
        }),
        ..Default::default()
    };
    let answer = client
        .list_changes(authed(request.clone(), TOKEN))
        .await?
        .into_inner();
    let found: Vec<_> = answer.changes.iter().map(summary).collect();
    let version = |from: &str, to: &str| vec![format!("service.version {from}→{to}")];
    assert_eq!(
        found,
        [
            ("payment".into(), ChangeKind::Attribute, version("v1", "v2")),
            (
                "inventory".into(),
                ChangeKind::Attribute,
                version("v1", "v2")
            ),
            ("inventory".into(), ChangeKind::Event, vec![]),
        ],
        "{answer:#?}"
    );
    assert!(!answer.truncated);
    let [payment, inventory, event] = &answer.changes[..] else {
        unreachable!()
    };
    assert_eq!(payment.time_unix_nano, t - 10 * MIN);
    assert_eq!(inventory.time_unix_nano, t - 15 * MIN);
    assert_eq!(event.time_unix_nano, deployed);
    assert_eq!(event.event, "inventory v2 배포 완료 (rollout 42)");

    // The canary beside v1 over the same minutes: unchanged, a pass.
    let result = payment.result.as_ref().expect("compared");
    assert_eq!(result.verdict(), Verdict::Pass, "{:#?}", result.reasons);
    let comparison = payment.comparison.as_ref().unwrap();
    let range = |side: &Option<_>| -> TimeRange {
        let cohort: &airis_proto::airis::delta::v1::Cohort = side.as_ref().unwrap();
        cohort.spans.as_ref().unwrap().time_range.unwrap()
    };
    assert_eq!(range(&comparison.baseline), range(&comparison.candidate));
    // The replacement, before against after: 30 % slower fails, the
    // operation named.
    for change in [inventory, event] {
        let result = change.result.as_ref().expect("compared");
        assert_eq!(result.verdict(), Verdict::Fail, "{:#?}", result.reasons);
        let first = &result.reasons[0];
        assert_eq!(
            (first.signal(), first.operation.as_str()),
            (Signal::Latency, "GET /stock"),
            "{first:#?}"
        );
    }
    let comparison = inventory.comparison.as_ref().unwrap();
    assert_eq!(
        range(&comparison.baseline).end_unix_nano,
        range(&comparison.candidate).start_unix_nano
    );
    assert_eq!(comparison.baseline.as_ref().unwrap().label, "v1");

    // Listed only: the same changes, no comparison made.
    let listed = client
        .list_changes(authed(
            ListChangesRequest {
                skip_comparison: true,
                limit: 2,
                ..request.clone()
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(listed.changes.len(), 2);
    assert!(listed.truncated);
    assert!(
        listed
            .changes
            .iter()
            .all(|c| c.result.is_none() && c.comparison.is_some())
    );
    // One service only.
    let inventory_only = client
        .list_changes(authed(
            ListChangesRequest {
                service_name: "inventory".into(),
                skip_comparison: true,
                ..request.clone()
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(inventory_only.changes.len(), 2);
    // Another tenant's telemetry shows no change.
    let other = client
        .list_changes(authed(request.clone(), OTHER_TOKEN))
        .await?
        .into_inner();
    assert!(other.changes.is_empty(), "{other:#?}");
    // Bad requests name the field.
    for (bad, field) in [
        (
            ListChangesRequest {
                window_nano: 5,
                ..request.clone()
            },
            "window_nano",
        ),
        (
            ListChangesRequest {
                limit: 51,
                ..request.clone()
            },
            "limit",
        ),
        (ListChangesRequest::default(), "time_range: required"),
    ] {
        let error = client.list_changes(authed(bad, TOKEN)).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert!(error.message().starts_with(field), "{error:?}");
    }
    server.stop().await?;
    pipeline.stop().await
}
