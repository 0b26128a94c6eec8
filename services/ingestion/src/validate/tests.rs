//! The rules, paths and messages of [`super`], item by item.

use airis_proto::kv::{any_value, array, kv, kvlist};
use airis_proto::otlp::tonic::{
    collector::{
        logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
        trace::v1::ExportTraceServiceRequest,
    },
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber},
    metrics::v1::{
        AggregationTemporality, DataPointFlags, Exemplar, ExponentialHistogram,
        ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric,
        NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar,
        exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
        summary_data_point::ValueAtQuantile,
    },
    resource::v1::Resource,
    trace::v1::{
        ResourceSpans, ScopeSpans, Span, Status,
        span::{Event, Link, SpanKind},
        status::StatusCode,
    },
};

use super::*;

const SEC: u64 = 1_000_000_000;
const NOW: u64 = 1_700_000_000 * SEC;
const DAY: u64 = 86_400 * SEC;

fn limits() -> Limits {
    Limits::default()
}

fn attrs() -> Vec<KeyValue> {
    vec![
        kv("http.method", "GET"),
        kv("http.status_code", 200),
        kv("tags", array(["a", "b"])),
    ]
}

/// `levels` nested containers (alternating arrays and kvlists) around a
/// string; `levels == 0` is the bare string.
fn nested(levels: usize) -> AnyValue {
    let mut v = any_value("leaf");
    for i in 0..levels {
        v = if i % 2 == 0 {
            array(vec![v])
        } else {
            kvlist(vec![kv("k", v)])
        };
    }
    v
}

fn resource() -> Resource {
    Resource {
        attributes: vec![kv("service.name", any_value("checkout"))],
        ..Default::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "io.opentelemetry.test".into(),
        version: "1.0".into(),
        attributes: vec![kv("scope.attr", any_value("x"))],
        dropped_attributes_count: 0,
    }
}

// ---------------------------------------------------------------- spans

fn span(n: u8) -> Span {
    Span {
        trace_id: vec![n.max(1); 16],
        span_id: vec![n.max(1); 8],
        parent_span_id: vec![9; 8],
        name: format!("span-{n}"),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: NOW - SEC,
        end_time_unix_nano: NOW,
        attributes: attrs(),
        events: vec![Event {
            time_unix_nano: NOW - SEC / 2,
            name: "exception".into(),
            attributes: attrs(),
            dropped_attributes_count: 0,
        }],
        links: vec![Link {
            trace_id: vec![7; 16],
            span_id: vec![7; 8],
            attributes: attrs(),
            ..Default::default()
        }],
        status: Some(Status {
            message: "boom".into(),
            code: StatusCode::Error as i32,
        }),
        ..Default::default()
    }
}

fn traces_req(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource()),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn span_names(req: &ExportTraceServiceRequest) -> Vec<String> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect()
}

/// Validates `[span 0, mutated span 1, span 2]` with `limits`.
fn run_span_with(
    limits: &Limits,
    mutate: impl FnOnce(&mut Span),
) -> (Rejected, ExportTraceServiceRequest) {
    let mut bad = span(1);
    mutate(&mut bad);
    let mut req = traces_req(vec![span(0), bad, span(2)]);
    let rejected = traces(&mut req, limits, NOW);
    (rejected, req)
}

/// Asserts that the mutated span (index 1) alone is rejected, with
/// exactly `reason` below `resource_spans[0].scope_spans[0].spans[1]`.
fn span_rejected(mutate: impl FnOnce(&mut Span), reason: &str) {
    span_rejected_with(&limits(), mutate, reason);
}

fn span_rejected_with(limits: &Limits, mutate: impl FnOnce(&mut Span), reason: &str) {
    let (rejected, req) = run_span_with(limits, mutate);
    assert_eq!(
        rejected,
        Rejected {
            items: 1,
            message: format!("resource_spans[0].scope_spans[0].spans[1]{reason}"),
        }
    );
    assert_eq!(span_names(&req), ["span-0", "span-2"]);
}

fn span_accepted(mutate: impl FnOnce(&mut Span)) {
    span_accepted_with(&limits(), mutate);
}

fn span_accepted_with(limits: &Limits, mutate: impl FnOnce(&mut Span)) {
    let mut bad = span(1);
    mutate(&mut bad);
    let mut req = traces_req(vec![span(0), bad, span(2)]);
    let before = req.clone();
    let rejected = traces(&mut req, limits, NOW);
    assert_eq!(rejected, Rejected::default());
    assert_eq!(req, before, "a valid request must be left untouched");
}

#[test]
fn limits_defaults() {
    let l = Limits::default();
    assert_eq!(l.max_attributes, 128);
    assert_eq!(l.max_attribute_key_bytes, 256);
    assert_eq!(l.max_attribute_value_bytes, 65_536);
    assert_eq!(l.max_events_per_span, 128);
    assert_eq!(l.max_links_per_span, 128);
    assert_eq!(l.max_name_bytes, 1024);
    assert_eq!(l.max_body_bytes, 1_048_576);
    assert_eq!(l.max_future_skew_secs, 86_400);
    assert_eq!(l.max_attribute_depth, 8);
}

#[test]
fn limits_deserialize_partial_and_reject_unknown() {
    let l: Limits = toml::from_str("max_attributes = 10\nmax_future_skew_secs = 0").unwrap();
    assert_eq!(
        l,
        Limits {
            max_attributes: 10,
            max_future_skew_secs: 0,
            ..Limits::default()
        }
    );
    let empty: Limits = toml::from_str("").unwrap();
    assert_eq!(empty, Limits::default());
    let err = toml::from_str::<Limits>("max_attribute = 10").unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn valid_spans_untouched_and_message_not_allocated() {
    let mut req = traces_req((0..50).map(span).collect());
    let before = req.clone();
    let rejected = traces(&mut req, &limits(), NOW);
    assert!(rejected.is_empty());
    assert_eq!(rejected.message.capacity(), 0);
    assert_eq!(req, before);
    assert_eq!(count_spans(&req), 50);
}

#[test]
fn empty_requests() {
    let mut t = ExportTraceServiceRequest::default();
    assert_eq!(traces(&mut t, &limits(), NOW), Rejected::default());
    let mut l = ExportLogsServiceRequest::default();
    assert_eq!(logs(&mut l, &limits(), NOW), Rejected::default());
    let mut m = ExportMetricsServiceRequest::default();
    assert_eq!(metrics(&mut m, &limits(), NOW), Rejected::default());
    assert_eq!(count_spans(&t), 0);
    assert_eq!(count_log_records(&l), 0);
    assert_eq!(count_data_points(&m), 0);
}

#[test]
fn empty_containers_removed_silently() {
    let mut req = traces_req(vec![span(0)]);
    req.resource_spans[0]
        .scope_spans
        .push(ScopeSpans::default());
    req.resource_spans.push(ResourceSpans::default());
    req.resource_spans.push(ResourceSpans {
        scope_spans: vec![ScopeSpans::default()],
        ..Default::default()
    });
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(rejected, Rejected::default());
    assert_eq!(req, traces_req(vec![span(0)]));
}

#[test]
fn span_trace_id() {
    span_rejected(|s| s.trace_id.clear(), ".trace_id: must be 16 bytes, got 0");
    span_rejected(
        |s| s.trace_id.truncate(15),
        ".trace_id: must be 16 bytes, got 15",
    );
    span_rejected(
        |s| s.trace_id.push(1),
        ".trace_id: must be 16 bytes, got 17",
    );
    span_rejected(
        |s| s.trace_id = vec![0; 16],
        ".trace_id: must not be all zeros",
    );
    span_accepted(|s| s.trace_id = vec![0; 15].into_iter().chain([1]).collect());
}

#[test]
fn span_span_id() {
    span_rejected(|s| s.span_id.clear(), ".span_id: must be 8 bytes, got 0");
    span_rejected(
        |s| s.span_id = vec![1; 16],
        ".span_id: must be 8 bytes, got 16",
    );
    span_rejected(
        |s| s.span_id = vec![0; 8],
        ".span_id: must not be all zeros",
    );
}

#[test]
fn span_parent_span_id() {
    span_accepted(|s| s.parent_span_id.clear());
    span_accepted(|s| s.parent_span_id = vec![0; 8]);
    span_rejected(
        |s| s.parent_span_id = vec![1; 4],
        ".parent_span_id: must be empty or 8 bytes, got 4",
    );
    span_rejected(
        |s| s.parent_span_id = vec![1; 16],
        ".parent_span_id: must be empty or 8 bytes, got 16",
    );
}

#[test]
fn span_name() {
    span_rejected(|s| s.name.clear(), ".name: must not be empty");
    span_rejected(
        |s| s.name = "n".repeat(1025),
        ".name: 1025 bytes exceeds limit of 1024",
    );
    span_accepted(|s| s.name = "n".repeat(1024));
    // Multi-byte characters count in bytes.
    span_rejected(
        |s| s.name = "é".repeat(513),
        ".name: 1026 bytes exceeds limit of 1024",
    );
}

#[test]
fn span_kind() {
    for kind in 0..=5 {
        span_accepted(|s| s.kind = kind);
    }
    span_rejected(|s| s.kind = 6, ".kind: unknown value 6");
    span_rejected(|s| s.kind = -1, ".kind: unknown value -1");
}

#[test]
fn span_status() {
    span_accepted(|s| s.status = None);
    for code in 0..=2 {
        span_accepted(|s| s.status.as_mut().unwrap().code = code);
    }
    span_rejected(
        |s| s.status.as_mut().unwrap().code = 3,
        ".status.code: unknown value 3",
    );
    span_rejected(
        |s| s.status.as_mut().unwrap().message = "m".repeat(65_537),
        ".status.message: 65537 bytes exceeds limit of 65536",
    );
}

#[test]
fn span_trace_state() {
    span_accepted(|s| s.trace_state = "vendor=value".into());
    span_rejected(
        |s| s.trace_state = "t".repeat(65_537),
        ".trace_state: 65537 bytes exceeds limit of 65536",
    );
}

#[test]
fn span_times() {
    span_rejected(
        |s| {
            s.start_time_unix_nano = 0;
            s.end_time_unix_nano = 0;
        },
        ".start_time_unix_nano: must not be 0",
    );
    span_rejected(
        |s| s.end_time_unix_nano = s.start_time_unix_nano - 1,
        &format!(
            ".end_time_unix_nano: {} is before start_time_unix_nano {}",
            NOW - SEC - 1,
            NOW - SEC
        ),
    );
    span_rejected(
        |s| s.end_time_unix_nano = 0,
        &format!(
            ".end_time_unix_nano: 0 is before start_time_unix_nano {}",
            NOW - SEC
        ),
    );
    span_accepted(|s| s.end_time_unix_nano = s.start_time_unix_nano);
}

#[test]
fn span_future_skew() {
    // Exactly at the limit is fine, one nanosecond past is not.
    span_accepted(|s| {
        s.start_time_unix_nano = NOW + DAY;
        s.end_time_unix_nano = NOW + DAY;
    });
    span_rejected(
        |s| {
            s.start_time_unix_nano = NOW + DAY + 1;
            s.end_time_unix_nano = NOW + DAY + 1;
        },
        ".start_time_unix_nano: 86400s in the future exceeds limit of 86400s",
    );
    span_rejected(
        |s| s.end_time_unix_nano = NOW + 2 * DAY,
        ".end_time_unix_nano: 172800s in the future exceeds limit of 86400s",
    );
    span_rejected(
        |s| {
            s.start_time_unix_nano = u64::MAX;
            s.end_time_unix_nano = u64::MAX;
        },
        &format!(
            ".start_time_unix_nano: {}s in the future exceeds limit of 86400s",
            (u64::MAX - NOW) / SEC
        ),
    );
    // 0 disables the check.
    let off = Limits {
        max_future_skew_secs: 0,
        ..limits()
    };
    span_accepted_with(&off, |s| {
        s.start_time_unix_nano = u64::MAX;
        s.end_time_unix_nano = u64::MAX;
    });
    // Huge skew saturates instead of overflowing.
    let huge = Limits {
        max_future_skew_secs: u64::MAX,
        ..limits()
    };
    span_accepted_with(&huge, |s| s.end_time_unix_nano = u64::MAX);
}

#[test]
fn span_events() {
    span_accepted(|s| s.events.clear());
    span_accepted(|s| s.events = vec![s.events[0].clone(); 128]);
    span_rejected(
        |s| s.events = vec![s.events[0].clone(); 129],
        ".events: 129 entries exceed limit of 128",
    );
    span_accepted(|s| s.events[0].name.clear());
    span_rejected(
        |s| s.events[0].name = "e".repeat(1025),
        ".events[0].name: 1025 bytes exceeds limit of 1024",
    );
    span_rejected(
        |s| {
            s.events.push(s.events[0].clone());
            s.events[1].attributes[2].key.clear();
        },
        ".events[1].attributes[2].key: must not be empty",
    );
    span_rejected(
        |s| s.events[0].time_unix_nano = NOW + DAY + SEC,
        ".events[0].time_unix_nano: 86401s in the future exceeds limit of 86400s",
    );
    span_rejected(
        |s| s.events[0].attributes = vec![kv("a", any_value("b")); 129],
        ".events[0].attributes: 129 entries exceed limit of 128",
    );
}

#[test]
fn span_links() {
    span_accepted(|s| s.links.clear());
    // Links to invalid (all-zero) contexts are allowed by the spec.
    span_accepted(|s| {
        s.links[0].trace_id = vec![0; 16];
        s.links[0].span_id = vec![0; 8];
    });
    span_accepted(|s| s.links = vec![s.links[0].clone(); 128]);
    span_rejected(
        |s| s.links = vec![s.links[0].clone(); 129],
        ".links: 129 entries exceed limit of 128",
    );
    span_rejected(
        |s| s.links[0].trace_id.clear(),
        ".links[0].trace_id: must be 16 bytes, got 0",
    );
    span_rejected(
        |s| s.links[0].span_id = vec![1; 3],
        ".links[0].span_id: must be 8 bytes, got 3",
    );
    span_rejected(
        |s| s.links[0].trace_state = "x".repeat(70_000),
        ".links[0].trace_state: 70000 bytes exceeds limit of 65536",
    );
    span_rejected(
        |s| s.links[0].attributes[0].key = "k".repeat(257),
        ".links[0].attributes[0].key: 257 bytes exceeds limit of 256",
    );
    let few = Limits {
        max_links_per_span: 0,
        max_events_per_span: 0,
        ..limits()
    };
    let mut ok = span(0);
    ok.events.clear();
    ok.links.clear();
    let mut linked = span(2);
    linked.events.clear();
    let mut req = traces_req(vec![ok, span(1), linked]);
    assert_eq!(
        traces(&mut req, &few, NOW),
        Rejected {
            items: 2,
            message:
                "resource_spans[0].scope_spans[0].spans[1].events: 1 entries exceed limit of 0; \
                      resource_spans[0].scope_spans[0].spans[2].links: 1 entries exceed limit of 0"
                    .into(),
        }
    );
    assert_eq!(span_names(&req), ["span-0"]);
}

#[test]
fn hostile_100k_attributes_rejected_not_truncated() {
    let (rejected, req) = run_span_with(&limits(), |s| {
        s.attributes = (0..100_000)
            .map(|i| kv(&format!("k{i}"), any_value("v")))
            .collect();
    });
    assert_eq!(rejected.items, 1);
    assert_eq!(
        rejected.message,
        "resource_spans[0].scope_spans[0].spans[1].attributes: 100000 entries exceed limit of 128"
    );
    assert_eq!(span_names(&req), ["span-0", "span-2"]);
    // The survivors keep all their attributes.
    assert_eq!(
        req.resource_spans[0].scope_spans[0].spans[0].attributes,
        attrs()
    );
}

#[test]
fn attribute_count_boundary() {
    span_accepted(|s| s.attributes = vec![kv("a", any_value("b")); 128]);
    span_rejected(
        |s| s.attributes = vec![kv("a", any_value("b")); 129],
        ".attributes: 129 entries exceed limit of 128",
    );
}

#[test]
fn attribute_keys() {
    span_rejected(
        |s| s.attributes[1].key.clear(),
        ".attributes[1].key: must not be empty",
    );
    span_accepted(|s| s.attributes[1].key = "k".repeat(256));
    span_rejected(
        |s| s.attributes[1].key = "k".repeat(257),
        ".attributes[1].key: 257 bytes exceeds limit of 256",
    );
    span_rejected(
        |s| s.attributes[1].key_strindex = 3,
        ".attributes[1].key_strindex: key_strindex is only valid in profiles",
    );
    // An attribute with no value (an empty AnyValue) is allowed.
    span_accepted(|s| s.attributes[0].value = None);
    span_accepted(|s| s.attributes[0].value = Some(AnyValue { value: None }));
}

#[test]
fn attribute_values() {
    span_accepted(|s| s.attributes.push(kv("big", any_value("v".repeat(65_536)))));
    span_rejected(
        |s| s.attributes.push(kv("big", any_value("v".repeat(65_537)))),
        ".attributes[3].value: string of 65537 bytes exceeds limit of 65536 (key \"big\")",
    );
    span_rejected(
        |s| s.attributes.push(kv("blob", vec![0_u8; 65_537])),
        ".attributes[3].value: bytes of 65537 bytes exceeds limit of 65536 (key \"blob\")",
    );
    // Huge strings (10 MiB).
    span_rejected(
        |s| s.attributes[0].value = Some(any_value("x".repeat(10 << 20))),
        ".attributes[0].value: string of 10485760 bytes exceeds limit of 65536 (key \"http.method\")",
    );
    // Nested strings are limited too.
    span_rejected(
        |s| {
            s.attributes[2].value = Some(array(vec![
                any_value("ok"),
                kvlist(vec![kv("inner", any_value("v".repeat(65_537)))]),
            ]))
        },
        ".attributes[2].value: string of 65537 bytes exceeds limit of 65536 (key \"tags\")",
    );
    span_rejected(
        |s| s.attributes[0].value = Some(any_value(Value::StringValueStrindex(1))),
        ".attributes[0].value: string_value_strindex is only valid in profiles (key \"http.method\")",
    );
    // Keys quoted safely in messages.
    span_rejected(
        |s| {
            s.attributes
                .push(kv("a\"b\n", any_value("v".repeat(65_537))))
        },
        ".attributes[3].value: string of 65537 bytes exceeds limit of 65536 (key \"a\\\"b\\n\")",
    );
}

#[test]
fn nested_kvlist_rules() {
    // Empty keys are fine inside a map value, long ones are not.
    span_accepted(|s| {
        s.attributes
            .push(kv("m", kvlist(vec![kv("", any_value("v"))])))
    });
    span_rejected(
        |s| {
            s.attributes
                .push(kv("m", kvlist(vec![kv(&"k".repeat(257), any_value("v"))])))
        },
        ".attributes[3].value: nested key of 257 bytes exceeds limit of 256 (key \"m\")",
    );
    span_accepted(|s| {
        s.attributes
            .push(kv("m", kvlist(vec![kv("k", any_value("v")); 128])))
    });
    span_rejected(
        |s| {
            s.attributes
                .push(kv("m", kvlist(vec![kv("k", any_value("v")); 129])))
        },
        ".attributes[3].value: 129 entries exceed limit of 128 (key \"m\")",
    );
    // Arrays have no element-count limit of their own.
    span_accepted(|s| {
        s.attributes
            .push(kv("a", array(vec![any_value("v"); 10_000])))
    });
}

#[test]
fn attribute_depth() {
    span_accepted(|s| s.attributes.push(kv("deep", nested(8))));
    span_rejected(
        |s| s.attributes.push(kv("deep", nested(9))),
        ".attributes[3].value: nested deeper than 8 levels (key \"deep\")",
    );
    // Far deeper than allowed: stops at the limit (no stack overflow).
    span_rejected(
        |s| s.attributes.push(kv("deep", nested(200))),
        ".attributes[3].value: nested deeper than 8 levels (key \"deep\")",
    );
    let flat = Limits {
        max_attribute_depth: 0,
        ..limits()
    };
    let mut ok = span(0);
    ok.attributes.truncate(2);
    ok.events[0].attributes.truncate(2);
    ok.links[0].attributes.truncate(2);
    let mut req = traces_req(vec![ok, span(1)]);
    assert_eq!(
        traces(&mut req, &flat, NOW),
        Rejected {
            items: 1,
            message: "resource_spans[0].scope_spans[0].spans[1].attributes[2].value: \
                      nested deeper than 0 levels (key \"tags\")"
                .into(),
        }
    );
    assert_eq!(span_names(&req), ["span-0"]);
}

#[test]
fn first_problem_wins() {
    span_rejected(
        |s| {
            s.trace_id.clear();
            s.name.clear();
        },
        ".trace_id: must be 16 bytes, got 0",
    );
}

#[test]
fn invalid_resource_rejects_everything_under_it() {
    let mut req = traces_req(vec![span(0), span(1), span(2)]);
    req.resource_spans[0].scope_spans.push(ScopeSpans {
        scope: None,
        spans: vec![span(3), span(4)],
        schema_url: String::new(),
    });
    req.resource_spans[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes
        .push(kv("", any_value("x")));
    let good = traces_req(vec![span(5)]).resource_spans.remove(0);
    req.resource_spans.push(good.clone());
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(
        rejected,
        Rejected {
            items: 5,
            message: "resource_spans[0].resource.attributes[1].key: must not be empty".into(),
        }
    );
    assert_eq!(req.resource_spans, [good]);
}

#[test]
fn invalid_resource_attribute_count() {
    let mut req = traces_req(vec![span(0)]);
    req.resource_spans[0].resource.as_mut().unwrap().attributes =
        vec![kv("a", any_value("b")); 100_000];
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(rejected.items, 1);
    assert_eq!(
        rejected.message,
        "resource_spans[0].resource.attributes: 100000 entries exceed limit of 128"
    );
    assert!(req.resource_spans.is_empty());
}

#[test]
fn invalid_scope_rejects_its_spans_only() {
    let mut req = traces_req(vec![span(0), span(1)]);
    let mut bad_scope = req.resource_spans[0].scope_spans[0].clone();
    bad_scope.scope.as_mut().unwrap().name = "s".repeat(2000);
    bad_scope.spans.push(span(2));
    req.resource_spans[0].scope_spans.insert(0, bad_scope);
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(
        rejected,
        Rejected {
            items: 3,
            message:
                "resource_spans[0].scope_spans[0].scope.name: 2000 bytes exceeds limit of 1024"
                    .into(),
        }
    );
    assert_eq!(span_names(&req), ["span-0", "span-1"]);

    let mut req = traces_req(vec![span(0)]);
    req.resource_spans[0].scope_spans[0]
        .scope
        .as_mut()
        .unwrap()
        .attributes[0]
        .value = Some(nested(30));
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(
        rejected.message,
        "resource_spans[0].scope_spans[0].scope.attributes[0].value: nested deeper than 8 levels (key \"scope.attr\")"
    );
    assert_eq!(rejected.items, 1);
    assert!(req.resource_spans.is_empty());

    let mut req = traces_req(vec![span(0)]);
    req.resource_spans[0].scope_spans[0]
        .scope
        .as_mut()
        .unwrap()
        .version = "v".repeat(1025);
    assert_eq!(
        traces(&mut req, &limits(), NOW).message,
        "resource_spans[0].scope_spans[0].scope.version: 1025 bytes exceeds limit of 1024"
    );
}

#[test]
fn paths_use_original_indices_and_containers_collapse() {
    let mut req = traces_req(vec![span(0), span(1), span(2), span(3)]);
    let rs = &mut req.resource_spans[0];
    rs.scope_spans[0].spans[0].trace_id.clear();
    rs.scope_spans[0].spans[2].span_id.clear();
    // A second scope where everything is invalid disappears.
    rs.scope_spans.push(ScopeSpans {
        scope: None,
        spans: vec![span(4)],
        schema_url: String::new(),
    });
    rs.scope_spans[1].spans[0].name.clear();
    // A second resource where everything is invalid disappears.
    let mut second = rs.clone();
    for ss in &mut second.scope_spans {
        for s in &mut ss.spans {
            s.kind = 42;
        }
    }
    req.resource_spans.push(second);
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(rejected.items, 3 + 5);
    assert_eq!(
        rejected.message,
        "resource_spans[0].scope_spans[0].spans[0].trace_id: must be 16 bytes, got 0; \
         resource_spans[0].scope_spans[0].spans[2].span_id: must be 8 bytes, got 0; \
         resource_spans[0].scope_spans[1].spans[0].name: must not be empty; \
         resource_spans[1].scope_spans[0].spans[0].trace_id: must be 16 bytes, got 0; \
         resource_spans[1].scope_spans[0].spans[1].kind: unknown value 42; \
         and 3 more"
    );
    assert_eq!(req.resource_spans.len(), 1);
    assert_eq!(req.resource_spans[0].scope_spans.len(), 1);
    assert_eq!(span_names(&req), ["span-1", "span-3"]);
    assert_eq!(count_spans(&req), 2);
}

#[test]
fn message_keeps_five_reasons() {
    for (n, more) in [(5, None), (6, Some(1)), (1000, Some(995))] {
        let mut req = traces_req(
            (0..n)
                .map(|i| {
                    let mut s = span(1);
                    s.name = format!("s{i}");
                    s.trace_id.clear();
                    s
                })
                .collect(),
        );
        let rejected = traces(&mut req, &limits(), NOW);
        assert_eq!(rejected.items, i64::from(n));
        let reasons: Vec<_> = rejected.message.split("; ").collect();
        assert_eq!(reasons.len(), 5 + usize::from(more.is_some()));
        assert_eq!(
            reasons[4],
            "resource_spans[0].scope_spans[0].spans[4].trace_id: must be 16 bytes, got 0"
        );
        if let Some(more) = more {
            assert_eq!(reasons[5], format!("and {more} more"));
        }
        assert!(!rejected.message.ends_with('.'));
        assert!(req.resource_spans.is_empty());
    }
}

#[test]
fn hostile_all_zero_and_empty_ids_everywhere() {
    let mut req = traces_req(
        (0..100)
            .map(|i| {
                let mut s = span(1);
                if i % 2 == 0 {
                    s.trace_id = vec![0; 16];
                } else {
                    s.span_id = vec![];
                }
                s
            })
            .collect(),
    );
    let rejected = traces(&mut req, &limits(), NOW);
    assert_eq!(rejected.items, 100);
    assert!(
        rejected.message.ends_with("; and 95 more"),
        "{}",
        rejected.message
    );
    assert!(req.resource_spans.is_empty());
}

// ----------------------------------------------------------------- logs

fn log(n: u8) -> LogRecord {
    LogRecord {
        time_unix_nano: NOW - SEC,
        observed_time_unix_nano: NOW,
        severity_number: SeverityNumber::Info as i32,
        severity_text: "INFO".into(),
        body: Some(any_value(format!("log-{n}"))),
        attributes: attrs(),
        trace_id: vec![3; 16],
        span_id: vec![4; 8],
        ..Default::default()
    }
}

fn logs_req(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource()),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope()),
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn log_bodies(req: &ExportLogsServiceRequest) -> Vec<AnyValue> {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .filter_map(|r| r.body.clone())
        .collect()
}

fn log_rejected_with(limits: &Limits, mutate: impl FnOnce(&mut LogRecord), reason: &str) {
    let mut bad = log(1);
    mutate(&mut bad);
    let mut req = logs_req(vec![log(0), bad, log(2)]);
    let rejected = logs(&mut req, limits, NOW);
    assert_eq!(
        rejected,
        Rejected {
            items: 1,
            message: format!("resource_logs[0].scope_logs[0].log_records[1]{reason}"),
        }
    );
    assert_eq!(log_bodies(&req), [any_value("log-0"), any_value("log-2")]);
}

fn log_rejected(mutate: impl FnOnce(&mut LogRecord), reason: &str) {
    log_rejected_with(&limits(), mutate, reason);
}

fn log_accepted(mutate: impl FnOnce(&mut LogRecord)) {
    let mut rec = log(1);
    mutate(&mut rec);
    let mut req = logs_req(vec![log(0), rec]);
    let before = req.clone();
    let rejected = logs(&mut req, &limits(), NOW);
    assert_eq!(rejected, Rejected::default());
    assert_eq!(rejected.message.capacity(), 0);
    assert_eq!(req, before);
}

#[test]
fn log_ids() {
    log_accepted(|r| {
        r.trace_id.clear();
        r.span_id.clear();
    });
    log_accepted(|r| {
        r.trace_id = vec![0; 16];
        r.span_id = vec![0; 8];
    });
    log_rejected(
        |r| r.trace_id = vec![1; 8],
        ".trace_id: must be empty or 16 bytes, got 8",
    );
    log_rejected(
        |r| r.span_id = vec![1; 16],
        ".span_id: must be empty or 8 bytes, got 16",
    );
}

#[test]
fn log_severity() {
    for sev in 0..=24 {
        log_accepted(|r| r.severity_number = sev);
    }
    log_rejected(
        |r| r.severity_number = 25,
        ".severity_number: unknown value 25",
    );
    log_rejected(
        |r| r.severity_number = -3,
        ".severity_number: unknown value -3",
    );
    log_rejected(
        |r| r.severity_text = "s".repeat(1025),
        ".severity_text: 1025 bytes exceeds limit of 1024",
    );
    log_rejected(
        |r| r.event_name = "e".repeat(1025),
        ".event_name: 1025 bytes exceeds limit of 1024",
    );
}

#[test]
fn log_timestamps() {
    // Both 0 is allowed: the loader uses the receive time.
    log_accepted(|r| {
        r.time_unix_nano = 0;
        r.observed_time_unix_nano = 0;
    });
    log_accepted(|r| r.time_unix_nano = NOW + DAY);
    log_rejected(
        |r| r.time_unix_nano = NOW + DAY + 1,
        ".time_unix_nano: 86400s in the future exceeds limit of 86400s",
    );
    log_rejected(
        |r| r.observed_time_unix_nano = NOW + 3 * DAY,
        ".observed_time_unix_nano: 259200s in the future exceeds limit of 86400s",
    );
}

#[test]
fn log_body() {
    log_accepted(|r| r.body = None);
    log_accepted(|r| r.body = Some(AnyValue { value: None }));
    log_accepted(|r| r.body = Some(any_value("b".repeat(1 << 20))));
    log_rejected(
        |r| r.body = Some(any_value("b".repeat((1 << 20) + 1))),
        ".body: larger than limit of 1048576 bytes",
    );
    // Body strings are not limited by max_attribute_value_bytes.
    log_accepted(|r| r.body = Some(any_value("b".repeat(100_000))));
    // Size adds up across a structured body, keys included.
    log_accepted(|r| {
        r.body = Some(kvlist(vec![
            kv("k", any_value("v".repeat(524_287))),
            kv("l", any_value("v".repeat(524_287))),
        ]))
    });
    log_rejected(
        |r| {
            r.body = Some(kvlist(vec![
                kv("k", any_value("v".repeat(524_288))),
                kv("l", any_value("v".repeat(524_287))),
            ]))
        },
        ".body: larger than limit of 1048576 bytes",
    );
    let small = Limits {
        max_body_bytes: 17,
        ..limits()
    };
    // 8 + 8 + 1 = 17 bytes of scalars.
    let scalars = || array([any_value(1_i64), any_value(1.0), any_value(true)]);
    let mut req = logs_req(vec![LogRecord {
        body: Some(scalars()),
        ..log(0)
    }]);
    assert_eq!(logs(&mut req, &small, NOW), Rejected::default());
    log_rejected_with(
        &Limits {
            max_body_bytes: 16,
            ..limits()
        },
        |r| r.body = Some(scalars()),
        ".body: larger than limit of 16 bytes",
    );
    log_rejected(
        |r| r.body = Some(any_value(vec![0_u8; (1 << 20) + 1])),
        ".body: larger than limit of 1048576 bytes",
    );
}

#[test]
fn log_body_depth_and_strindex() {
    log_accepted(|r| r.body = Some(nested(8)));
    log_rejected(
        |r| r.body = Some(nested(9)),
        ".body: nested deeper than 8 levels",
    );
    log_rejected(
        |r| r.body = Some(nested(150)),
        ".body: nested deeper than 8 levels",
    );
    log_rejected(
        |r| r.body = Some(any_value(Value::StringValueStrindex(2))),
        ".body: string_value_strindex is only valid in profiles",
    );
    // Wide bodies are fine when within the size limit.
    log_accepted(|r| r.body = Some(kvlist(vec![kv("", any_value("v")); 10_000])));
}

#[test]
fn log_attributes() {
    log_rejected(
        |r| r.attributes = vec![kv("a", any_value("b")); 100_000],
        ".attributes: 100000 entries exceed limit of 128",
    );
    log_rejected(
        |r| r.attributes[0].key.clear(),
        ".attributes[0].key: must not be empty",
    );
    log_rejected(
        |r| r.attributes[1].value = Some(any_value("x".repeat(70_000))),
        ".attributes[1].value: string of 70000 bytes exceeds limit of 65536 (key \"http.status_code\")",
    );
}

#[test]
fn log_resource_and_scope() {
    let mut req = logs_req(vec![log(0), log(1)]);
    req.resource_logs[0].scope_logs.push(ScopeLogs {
        scope: None,
        log_records: vec![log(2)],
        schema_url: String::new(),
    });
    req.resource_logs
        .push(logs_req(vec![log(3)]).resource_logs.remove(0));
    req.resource_logs[0].resource.as_mut().unwrap().attributes[0].key = "k".repeat(300);
    req.resource_logs[1].scope_logs[0]
        .scope
        .as_mut()
        .unwrap()
        .attributes = vec![kv("a", any_value("b")); 129];
    let rejected = logs(&mut req, &limits(), NOW);
    assert_eq!(
        rejected,
        Rejected {
            items: 4,
            message: "resource_logs[0].resource.attributes[0].key: 300 bytes exceeds limit of 256; \
                      resource_logs[1].scope_logs[0].scope.attributes: 129 entries exceed limit of 128"
                .into(),
        }
    );
    assert!(req.resource_logs.is_empty());
    assert_eq!(count_log_records(&req), 0);
}

#[test]
fn log_counts_and_collapse() {
    let mut req = logs_req((0..10).map(log).collect());
    assert_eq!(count_log_records(&req), 10);
    for r in &mut req.resource_logs[0].scope_logs[0].log_records[..4] {
        r.severity_number = 99;
    }
    let rejected = logs(&mut req, &limits(), NOW);
    assert_eq!(rejected.items, 4);
    assert_eq!(rejected.message.matches("unknown value 99").count(), 4);
    assert_eq!(count_log_records(&req), 6);
    assert_eq!(log_bodies(&req)[0], any_value("log-4"));
}

// -------------------------------------------------------------- metrics

fn number(v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs(),
        start_time_unix_nano: NOW - 60 * SEC,
        time_unix_nano: NOW,
        value: Some(number_data_point::Value::AsDouble(v)),
        exemplars: vec![Exemplar {
            time_unix_nano: NOW - SEC,
            trace_id: vec![1; 16],
            span_id: vec![1; 8],
            filtered_attributes: attrs(),
            value: Some(exemplar::Value::AsInt(3)),
        }],
        flags: 0,
    }
}

fn histogram_point() -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: attrs(),
        start_time_unix_nano: NOW - 60 * SEC,
        time_unix_nano: NOW,
        count: 6,
        sum: Some(12.0),
        bucket_counts: vec![1, 2, 3],
        explicit_bounds: vec![1.0, 5.0],
        min: Some(0.5),
        max: Some(9.0),
        ..Default::default()
    }
}

fn exponential_point() -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        attributes: attrs(),
        start_time_unix_nano: NOW - 60 * SEC,
        time_unix_nano: NOW,
        count: 3,
        scale: 3,
        positive: Some(Buckets {
            offset: 2,
            bucket_counts: vec![1, 2],
        }),
        ..Default::default()
    }
}

fn summary_point() -> SummaryDataPoint {
    SummaryDataPoint {
        attributes: attrs(),
        start_time_unix_nano: NOW - 60 * SEC,
        time_unix_nano: NOW,
        count: 10,
        sum: 55.0,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.0,
                value: 1.0,
            },
            ValueAtQuantile {
                quantile: 0.5,
                value: 5.0,
            },
            ValueAtQuantile {
                quantile: 1.0,
                value: 10.0,
            },
        ],
        flags: 0,
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: "d".into(),
        unit: "ms".into(),
        metadata: vec![],
        data: Some(data),
    }
}

fn gauge(points: Vec<NumberDataPoint>) -> Data {
    Data::Gauge(Gauge {
        data_points: points,
    })
}

fn sum(points: Vec<NumberDataPoint>) -> Data {
    Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
        is_monotonic: true,
    })
}

fn histogram(points: Vec<HistogramDataPoint>) -> Data {
    Data::Histogram(Histogram {
        data_points: points,
        aggregation_temporality: AggregationTemporality::Delta as i32,
    })
}

fn exponential(points: Vec<ExponentialHistogramDataPoint>) -> Data {
    Data::ExponentialHistogram(ExponentialHistogram {
        data_points: points,
        aggregation_temporality: AggregationTemporality::Delta as i32,
    })
}

fn summary(points: Vec<SummaryDataPoint>) -> Data {
    Data::Summary(Summary {
        data_points: points,
    })
}

/// One metric of each kind: 2 gauge, 3 sum, 2 histogram, 1 exponential
/// histogram and 1 summary points.
fn all_metrics() -> Vec<Metric> {
    vec![
        metric("g", gauge(vec![number(1.0), number(2.0)])),
        metric("s", sum(vec![number(1.0), number(2.0), number(3.0)])),
        metric("h", histogram(vec![histogram_point(), histogram_point()])),
        metric("e", exponential(vec![exponential_point()])),
        metric("q", summary(vec![summary_point()])),
    ]
}

fn metrics_req(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope()),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn metric_names(req: &ExportMetricsServiceRequest) -> Vec<String> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone())
        .collect()
}

/// Mutates `all_metrics()`, validates, and checks the exact outcome.
fn metrics_outcome(
    mutate: impl FnOnce(&mut Vec<Metric>),
    items: i64,
    message: &str,
) -> ExportMetricsServiceRequest {
    let mut ms = all_metrics();
    mutate(&mut ms);
    let mut req = metrics_req(ms);
    let total = count_data_points(&req);
    let rejected = metrics(&mut req, &limits(), NOW);
    assert_eq!(
        rejected,
        Rejected {
            items,
            message: message.into()
        }
    );
    assert_eq!(count_data_points(&req), total - items as usize);
    req
}

const M: &str = "resource_metrics[0].scope_metrics[0].metrics";

#[test]
fn valid_metrics_untouched() {
    let mut req = metrics_req(all_metrics());
    assert_eq!(count_data_points(&req), 9);
    let before = req.clone();
    let rejected = metrics(&mut req, &limits(), NOW);
    assert!(rejected.is_empty());
    assert_eq!(rejected.message.capacity(), 0);
    assert_eq!(req, before);
}

#[test]
fn metric_name_unit_description_metadata() {
    metrics_outcome(
        |ms| ms[1].name.clear(),
        3,
        &format!("{M}[1].name: must not be empty"),
    );
    metrics_outcome(
        |ms| ms[0].name = "n".repeat(1025),
        2,
        &format!("{M}[0].name: 1025 bytes exceeds limit of 1024"),
    );
    metrics_outcome(
        |ms| ms[2].unit = "u".repeat(1025),
        2,
        &format!("{M}[2].unit: 1025 bytes exceeds limit of 1024"),
    );
    metrics_outcome(
        |ms| ms[3].description = "d".repeat(65_537),
        1,
        &format!("{M}[3].description: 65537 bytes exceeds limit of 65536"),
    );
    metrics_outcome(
        |ms| ms[4].metadata = vec![kv("", any_value("x"))],
        1,
        &format!("{M}[4].metadata[0].key: must not be empty"),
    );
    let req = metrics_outcome(
        |ms| ms[1].metadata = vec![kv("a", any_value("b")); 200],
        3,
        &format!("{M}[1].metadata: 200 entries exceed limit of 128"),
    );
    assert_eq!(metric_names(&req), ["g", "h", "e", "q"]);
}

#[test]
fn metric_without_data_counts_zero_but_is_reported() {
    let req = metrics_outcome(
        |ms| ms[2].data = None,
        0,
        &format!(
            "{M}[2].data: missing: metric has no gauge, sum, histogram, exponential_histogram or summary"
        ),
    );
    assert_eq!(metric_names(&req), ["g", "s", "e", "q"]);
    // Alone in the request it leaves nothing behind.
    let mut req = metrics_req(vec![Metric {
        name: "x".into(),
        ..Default::default()
    }]);
    let rejected = metrics(&mut req, &limits(), NOW);
    assert_eq!(rejected.items, 0);
    assert!(!rejected.is_empty());
    assert!(req.resource_metrics.is_empty());
}

#[test]
fn metric_with_no_points_removed_silently() {
    let req = metrics_outcome(|ms| ms.push(metric("empty", gauge(vec![]))), 0, "");
    assert_eq!(metric_names(&req), ["g", "s", "h", "e", "q"]);
}

#[test]
fn data_point_time() {
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            g.data_points[1].time_unix_nano = 0;
        },
        1,
        &format!("{M}[0].gauge.data_points[1].time_unix_nano: must not be 0"),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Summary(s)) = &mut ms[4].data else {
                unreachable!()
            };
            s.data_points[0].time_unix_nano = NOW + 2 * DAY;
        },
        1,
        &format!(
            "{M}[4].summary.data_points[0].time_unix_nano: 172800s in the future exceeds limit of 86400s"
        ),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Histogram(h)) = &mut ms[2].data else {
                unreachable!()
            };
            h.data_points[0].start_time_unix_nano = NOW + 2 * DAY;
        },
        1,
        &format!(
            "{M}[2].histogram.data_points[0].start_time_unix_nano: 172800s in the future exceeds limit of 86400s"
        ),
    );
    // start_time 0 is allowed (gauges usually have none).
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            g.data_points[0].start_time_unix_nano = 0;
        },
        0,
        "",
    );
}

#[test]
fn number_point_value() {
    metrics_outcome(
        |ms| {
            let Some(Data::Sum(s)) = &mut ms[1].data else {
                unreachable!()
            };
            s.data_points[2].value = None;
        },
        1,
        &format!("{M}[1].sum.data_points[2].value: missing"),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Sum(s)) = &mut ms[1].data else {
                unreachable!()
            };
            s.data_points[2].value = None;
            s.data_points[2].flags = DataPointFlags::NoRecordedValueMask as u32;
            s.data_points[1].value = Some(number_data_point::Value::AsDouble(f64::NAN));
        },
        0,
        "",
    );
}

#[test]
fn data_point_attributes_and_exemplars() {
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            g.data_points[0].attributes = vec![kv("a", any_value("b")); 100_000];
        },
        1,
        &format!("{M}[0].gauge.data_points[0].attributes: 100000 entries exceed limit of 128"),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            g.data_points[0].exemplars[0].trace_id = vec![1; 3];
        },
        1,
        &format!(
            "{M}[0].gauge.data_points[0].exemplars[0].trace_id: must be empty or 16 bytes, got 3"
        ),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            let ex = g.data_points[1].exemplars[0].clone();
            g.data_points[1].exemplars.push(ex);
            g.data_points[1].exemplars[1].span_id = vec![1; 9];
        },
        1,
        &format!(
            "{M}[0].gauge.data_points[1].exemplars[1].span_id: must be empty or 8 bytes, got 9"
        ),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Histogram(h)) = &mut ms[2].data else {
                unreachable!()
            };
            h.data_points[0].exemplars = vec![Exemplar {
                filtered_attributes: vec![kv("deep", nested(12))],
                ..Default::default()
            }];
        },
        1,
        &format!(
            "{M}[2].histogram.data_points[0].exemplars[0].filtered_attributes[0].value: nested deeper than 8 levels (key \"deep\")"
        ),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            g.data_points[0].exemplars[0].time_unix_nano = u64::MAX;
        },
        1,
        &format!(
            "{M}[0].gauge.data_points[0].exemplars[0].time_unix_nano: {}s in the future exceeds limit of 86400s",
            (u64::MAX - NOW) / SEC
        ),
    );
    // Exemplars without trace context are fine.
    metrics_outcome(
        |ms| {
            let Some(Data::Gauge(g)) = &mut ms[0].data else {
                unreachable!()
            };
            g.data_points[0].exemplars[0].trace_id.clear();
            g.data_points[0].exemplars[0].span_id.clear();
        },
        0,
        "",
    );
}

fn with_histogram(f: impl FnOnce(&mut HistogramDataPoint)) -> impl FnOnce(&mut Vec<Metric>) {
    move |ms| {
        let Some(Data::Histogram(h)) = &mut ms[2].data else {
            unreachable!()
        };
        f(&mut h.data_points[1]);
    }
}

#[test]
fn histogram_buckets() {
    let p = format!("{M}[2].histogram.data_points[1]");
    metrics_outcome(
        with_histogram(|h| h.bucket_counts.push(0)),
        1,
        &format!("{p}.bucket_counts: 4 entries for 2 explicit_bounds, want 3"),
    );
    metrics_outcome(
        with_histogram(|h| h.bucket_counts.truncate(2)),
        1,
        &format!("{p}.bucket_counts: 2 entries for 2 explicit_bounds, want 3"),
    );
    metrics_outcome(
        with_histogram(|h| h.bucket_counts.clear()),
        1,
        &format!("{p}.bucket_counts: 0 entries for 2 explicit_bounds, want 3"),
    );
    // No buckets at all (count/sum only) and a single bucket are fine.
    metrics_outcome(
        with_histogram(|h| {
            h.bucket_counts.clear();
            h.explicit_bounds.clear();
        }),
        0,
        "",
    );
    metrics_outcome(
        with_histogram(|h| {
            h.bucket_counts = vec![6];
            h.explicit_bounds.clear();
        }),
        0,
        "",
    );
}

#[test]
fn histogram_bounds_strictly_increasing() {
    let p = format!("{M}[2].histogram.data_points[1].explicit_bounds");
    metrics_outcome(
        with_histogram(|h| h.explicit_bounds = vec![1.0, 1.0]),
        1,
        &format!("{p}: not strictly increasing at index 1"),
    );
    metrics_outcome(
        with_histogram(|h| {
            h.explicit_bounds = vec![0.0, 5.0, 2.0];
            h.bucket_counts = vec![1, 1, 1, 1];
        }),
        1,
        &format!("{p}: not strictly increasing at index 2"),
    );
    metrics_outcome(
        with_histogram(|h| h.explicit_bounds = vec![f64::NAN, 1.0]),
        1,
        &format!("{p}: not strictly increasing at index 1"),
    );
    metrics_outcome(
        with_histogram(|h| h.explicit_bounds = vec![f64::NEG_INFINITY, f64::INFINITY]),
        0,
        "",
    );
}

#[test]
fn temporality() {
    metrics_outcome(
        |ms| {
            let Some(Data::Sum(s)) = &mut ms[1].data else {
                unreachable!()
            };
            s.aggregation_temporality = 0;
        },
        3,
        &format!("{M}[1].sum.aggregation_temporality: must not be unspecified"),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::Histogram(h)) = &mut ms[2].data else {
                unreachable!()
            };
            h.aggregation_temporality = 7;
        },
        2,
        &format!("{M}[2].histogram.aggregation_temporality: unknown value 7"),
    );
    metrics_outcome(
        |ms| {
            let Some(Data::ExponentialHistogram(h)) = &mut ms[3].data else {
                unreachable!()
            };
            h.aggregation_temporality = 0;
        },
        1,
        &format!("{M}[3].exponential_histogram.aggregation_temporality: must not be unspecified"),
    );
}

#[test]
fn exponential_scale() {
    for (scale, ok) in [
        (-10, true),
        (20, true),
        (0, true),
        (-11, false),
        (21, false),
    ] {
        let message = if ok {
            String::new()
        } else {
            format!("{M}[3].exponential_histogram.data_points[0].scale: {scale} outside [-10, 20]")
        };
        metrics_outcome(
            |ms| {
                let Some(Data::ExponentialHistogram(h)) = &mut ms[3].data else {
                    unreachable!()
                };
                h.data_points[0].scale = scale;
            },
            i64::from(!ok),
            &message,
        );
    }
}

#[test]
fn summary_quantiles() {
    for (q, shown) in [(1.5, "1.5"), (-0.1, "-0.1"), (f64::NAN, "NaN")] {
        metrics_outcome(
            |ms| {
                let Some(Data::Summary(s)) = &mut ms[4].data else {
                    unreachable!()
                };
                s.data_points[0].quantile_values[1].quantile = q;
            },
            1,
            &format!(
                "{M}[4].summary.data_points[0].quantile_values[1].quantile: {shown} outside [0, 1]"
            ),
        );
    }
}

#[test]
fn metric_all_points_removed_collapses_containers() {
    let mut req = metrics_req(vec![metric("g", gauge(vec![number(1.0), number(2.0)]))]);
    let good = metrics_req(vec![metric("ok", sum(vec![number(1.0)]))]);
    req.resource_metrics.push(good.resource_metrics[0].clone());
    let Some(Data::Gauge(g)) = &mut req.resource_metrics[0].scope_metrics[0].metrics[0].data else {
        unreachable!()
    };
    for p in &mut g.data_points {
        p.time_unix_nano = 0;
    }
    let rejected = metrics(&mut req, &limits(), NOW);
    assert_eq!(rejected.items, 2);
    assert_eq!(
        rejected.message,
        format!(
            "{M}[0].gauge.data_points[0].time_unix_nano: must not be 0; \
             {M}[0].gauge.data_points[1].time_unix_nano: must not be 0"
        )
    );
    assert_eq!(req, good);
}

#[test]
fn metric_resource_and_scope_count_points() {
    let mut req = metrics_req(all_metrics());
    req.resource_metrics[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes[0]
        .value = Some(any_value("x".repeat(100_000)));
    let rejected = metrics(&mut req, &limits(), NOW);
    assert_eq!(
        rejected,
        Rejected {
            items: 9,
            message: "resource_metrics[0].resource.attributes[0].value: string of 100000 bytes exceeds limit of 65536 (key \"service.name\")".into(),
        }
    );
    assert!(req.resource_metrics.is_empty());

    let mut req = metrics_req(all_metrics());
    req.resource_metrics[0].scope_metrics[0]
        .scope
        .as_mut()
        .unwrap()
        .attributes[0]
        .key_strindex = 1;
    let rejected = metrics(&mut req, &limits(), NOW);
    assert_eq!(
        rejected,
        Rejected {
            items: 9,
            message: "resource_metrics[0].scope_metrics[0].scope.attributes[0].key_strindex: key_strindex is only valid in profiles".into(),
        }
    );
    assert_eq!(count_data_points(&req), 0);
}

#[test]
fn counts() {
    let mut t = traces_req(vec![span(0), span(1)]);
    t.resource_spans.push(t.resource_spans[0].clone());
    assert_eq!(count_spans(&t), 4);
    let mut l = logs_req(vec![log(0)]);
    let sl = l.resource_logs[0].scope_logs[0].clone();
    l.resource_logs[0].scope_logs.push(sl);
    assert_eq!(count_log_records(&l), 2);
    let mut m = metrics_req(all_metrics());
    m.resource_metrics[0].scope_metrics[0]
        .metrics
        .push(Metric::default());
    assert_eq!(count_data_points(&m), 9);
}
