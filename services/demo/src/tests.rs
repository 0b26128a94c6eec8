//! Generator, metrics and request-building tests with fixed seeds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use airis_proto::otlp::tonic::common::v1::{KeyValue, any_value};
use airis_proto::otlp::tonic::metrics::v1::metric::Data;
use airis_proto::otlp::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};

use crate::export;
use crate::generate::{
    CHECKOUT_V1, CHECKOUT_V2, Canary, Conditions, Flow, GeneratedTrace, Generator, Service,
};
use crate::metrics::{self, MetricsState};
use crate::parse_duration;

const NOW: u64 = 1_800_000_000_000_000_000;

fn traces(seed: u64, n: usize, conditions: Conditions) -> Vec<GeneratedTrace> {
    let mut generator = Generator::new(seed);
    (0..n as u64)
        .map(|i| generator.trace(NOW + i * 1_000_000, &conditions))
        .collect()
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn is_error(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

#[test]
fn parent_child_links_are_consistent() {
    for trace in traces(
        1,
        3000,
        Conditions {
            error_rate: 0.1,
            ..Conditions::default()
        },
    ) {
        let by_id: HashMap<&[u8], &Span> = trace
            .spans
            .iter()
            .map(|s| (s.item.span_id.as_slice(), &s.item))
            .collect();
        assert_eq!(by_id.len(), trace.spans.len(), "span ids are unique");
        let roots: Vec<_> = trace
            .spans
            .iter()
            .filter(|s| s.item.parent_span_id.is_empty())
            .collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].origin.service, Service::Frontend);
        assert_eq!(roots[0].item.kind, SpanKind::Server as i32);
        // The root ends exactly when asked (NOW + i ms).
        assert_eq!((roots[0].item.end_time_unix_nano - NOW) % 1_000_000, 0);
        for span in &trace.spans {
            let span = &span.item;
            assert_eq!(span.trace_id, trace.trace_id);
            assert_eq!(span.span_id.len(), 8);
            assert!(span.start_time_unix_nano < span.end_time_unix_nano);
            if span.parent_span_id.is_empty() {
                continue;
            }
            let parent = by_id
                .get(span.parent_span_id.as_slice())
                .expect("parent in the same trace");
            assert_eq!(parent.trace_id, span.trace_id);
            assert!(parent.start_time_unix_nano <= span.start_time_unix_nano);
            assert!(span.end_time_unix_nano <= parent.end_time_unix_nano);
        }
        for log in &trace.logs {
            assert_eq!(log.item.trace_id, trace.trace_id);
            let span = by_id
                .get(log.item.span_id.as_slice())
                .expect("log span in trace");
            assert!(span.start_time_unix_nano <= log.item.time_unix_nano);
            assert!(log.item.time_unix_nano <= span.end_time_unix_nano);
        }
    }
}

#[test]
fn topology_is_exactly_the_designed_one() {
    let mut edges = BTreeSet::new();
    let mut db = BTreeSet::new();
    for trace in traces(
        2,
        3000,
        Conditions {
            error_rate: 0.1,
            ..Conditions::default()
        },
    ) {
        let by_id: HashMap<&[u8], _> = trace
            .spans
            .iter()
            .map(|s| (s.item.span_id.as_slice(), s))
            .collect();
        for span in &trace.spans {
            let kind = span.item.kind;
            if let Some(system) = attr(&span.item.attributes, "db.system") {
                assert_eq!(kind, SpanKind::Client as i32);
                assert_eq!(attr(&span.item.attributes, "db.system.name"), Some(system));
                assert!(attr(&span.item.attributes, "db.operation.name").is_some());
                assert!(attr(&span.item.attributes, "server.address").is_some());
                db.insert((span.origin.service.name(), system.to_owned()));
            }
            let Some(parent) = by_id.get(span.item.parent_span_id.as_slice()) else {
                continue;
            };
            if parent.origin.service != span.origin.service {
                // A cross-service edge: client span in the caller, server span
                // in the callee, same method and route.
                assert_eq!(parent.item.kind, SpanKind::Client as i32);
                assert_eq!(kind, SpanKind::Server as i32);
                assert_eq!(
                    attr(&parent.item.attributes, "http.request.method"),
                    attr(&span.item.attributes, "http.request.method")
                );
                assert_eq!(
                    attr(&parent.item.attributes, "server.address"),
                    Some(span.origin.service.name())
                );
                for key in ["http.route", "http.request.method", "server.address"] {
                    assert!(attr(&span.item.attributes, key).is_some(), "{key}");
                }
                edges.insert((parent.origin.service.name(), span.origin.service.name()));
            } else if kind == SpanKind::Server as i32 {
                panic!("server span under a span of its own service");
            }
        }
    }
    let expected: BTreeSet<_> = [
        ("frontend", "checkout"),
        ("frontend", "catalog"),
        ("checkout", "cart"),
        ("checkout", "payment"),
    ]
    .into();
    assert_eq!(edges, expected);
    let expected_db: BTreeSet<_> = [
        ("catalog", "redis"),
        ("catalog", "postgresql"),
        ("cart", "redis"),
        ("checkout", "postgresql"),
        ("payment", "postgresql"),
    ]
    .into_iter()
    .map(|(s, d)| (s, d.to_owned()))
    .collect();
    assert_eq!(db, expected_db);
}

#[test]
fn services_and_versions_are_as_specified_with_a_90_10_canary() {
    let all = traces(3, 20_000, Conditions::default());
    let mut versions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for trace in &all {
        for span in &trace.spans {
            versions
                .entry(span.origin.service.name())
                .or_default()
                .insert(span.origin.version);
        }
        if let Some(version) = trace.checkout_version {
            assert!(
                trace
                    .spans
                    .iter()
                    .filter(|s| s.origin.service == Service::Checkout)
                    .all(|s| s.origin.version == version)
            );
        }
    }
    let expected: BTreeMap<&str, BTreeSet<&str>> = [
        ("frontend", ["v1"].into()),
        ("checkout", [CHECKOUT_V1, CHECKOUT_V2].into()),
        ("payment", ["v1"].into()),
        ("cart", ["v1"].into()),
        ("catalog", ["v1"].into()),
    ]
    .into();
    assert_eq!(versions, expected);

    let checkouts: Vec<_> = all.iter().filter_map(|t| t.checkout_version).collect();
    assert!(checkouts.len() > 4000, "{}", checkouts.len());
    let v2 = checkouts.iter().filter(|v| **v == CHECKOUT_V2).count() as f64;
    let share = v2 / checkouts.len() as f64;
    assert!((0.085..0.115).contains(&share), "v2 share {share}");
    let flows = |f| all.iter().filter(|t| t.flow == f).count();
    assert!(flows(Flow::Browse) > 0 && flows(Flow::Product) > 0);
}

#[test]
fn error_rate_is_close_to_configured_and_v2_is_worse() {
    for rate in [0.02, 0.1] {
        let all = traces(
            4,
            30_000,
            Conditions {
                error_rate: rate,
                ..Conditions::default()
            },
        );
        let failed = all.iter().filter(|t| t.failed).count() as f64 / all.len() as f64;
        // Checkout v2 (3% of traces) fails 3× as often: +6% relative.
        assert!(
            (failed - rate * 1.06).abs() < rate * 0.15,
            "{rate}: {failed}"
        );
        for trace in &all {
            let root = trace
                .spans
                .iter()
                .find(|s| s.item.parent_span_id.is_empty())
                .unwrap();
            assert_eq!(is_error(&root.item), trace.failed);
            let errors = trace
                .logs
                .iter()
                .filter(|l| l.item.severity_text == "ERROR")
                .count();
            assert_eq!(errors > 0, trace.failed, "ERROR logs iff the trace failed");
        }
        let rate_of = |version| {
            let of: Vec<_> = all
                .iter()
                .filter(|t| t.checkout_version == Some(version))
                .collect();
            of.iter().filter(|t| t.failed).count() as f64 / of.len() as f64
        };
        assert!(rate_of(CHECKOUT_V2) > 2.0 * rate_of(CHECKOUT_V1));
    }
    let clean = traces(
        5,
        5000,
        Conditions {
            error_rate: 0.0,
            ..Conditions::default()
        },
    );
    assert!(clean.iter().all(|t| !t.failed));
    assert!(
        clean
            .iter()
            .flat_map(|t| &t.spans)
            .all(|s| !is_error(&s.item))
    );
}

fn mean_server_ms(all: &[GeneratedTrace], service: Service, version: Option<&str>) -> f64 {
    let durations: Vec<f64> = all
        .iter()
        .flat_map(|t| &t.spans)
        .filter(|s| {
            s.origin.service == service
                && version.is_none_or(|v| s.origin.version == v)
                && s.item.kind == SpanKind::Server as i32
        })
        .map(|s| (s.item.end_time_unix_nano - s.item.start_time_unix_nano) as f64 / 1e6)
        .collect();
    durations.iter().sum::<f64>() / durations.len() as f64
}

#[test]
fn v2_on_demand_same_slower_or_failing_more() {
    let with = |canary: Canary| {
        traces(
            12,
            40_000,
            Conditions {
                canary_share: 0.5,
                canary,
                ..Conditions::default()
            },
        )
    };
    let failed = |all: &[GeneratedTrace], version| {
        let of: Vec<_> = all
            .iter()
            .filter(|t| t.checkout_version == Some(version))
            .collect();
        of.iter().filter(|t| t.failed).count() as f64 / of.len() as f64
    };
    let ms =
        |all: &[GeneratedTrace], version| mean_server_ms(all, Service::Checkout, Some(version));
    // Same: v2 is v1, within the noise of 6,000 checkouts each.
    let same = with(Canary::SAME);
    let (v1, v2) = (ms(&same, CHECKOUT_V1), ms(&same, CHECKOUT_V2));
    assert!((v2 / v1 - 1.0).abs() < 0.03, "v1 {v1} ms, v2 {v2} ms");
    assert!((failed(&same, CHECKOUT_V2) - failed(&same, CHECKOUT_V1)).abs() < 0.008);
    // Slower: every v2 checkout request takes 1.2 times as long.
    let slower = with(Canary {
        slowdown: 1.2,
        ..Canary::SAME
    });
    let ratio = ms(&slower, CHECKOUT_V2) / ms(&slower, CHECKOUT_V1);
    assert!((1.16..1.24).contains(&ratio), "{ratio}");
    // Failing more: +5 percentage points.
    let failing = with(Canary {
        extra_errors: 0.05,
        ..Canary::SAME
    });
    let more = failed(&failing, CHECKOUT_V2) - failed(&failing, CHECKOUT_V1);
    assert!((0.04..0.06).contains(&more), "{more}");
}

#[test]
fn v2_is_slower_and_incidents_slow_payment_down_tenfold() {
    let normal = traces(6, 20_000, Conditions::default());
    let v1 = mean_server_ms(&normal, Service::Checkout, Some(CHECKOUT_V1));
    let v2 = mean_server_ms(&normal, Service::Checkout, Some(CHECKOUT_V2));
    assert!(v2 > v1 + 15.0, "v1 {v1} ms, v2 {v2} ms");

    let incident = traces(
        6,
        5000,
        Conditions {
            payment_slowdown: 10.0,
            ..Conditions::default()
        },
    );
    let before = mean_server_ms(&normal, Service::Payment, None);
    let during = mean_server_ms(&incident, Service::Payment, None);
    assert!(during > before * 7.0, "{before} -> {during}");
    let warns = |all: &[GeneratedTrace]| {
        all.iter()
            .flat_map(|t| &t.logs)
            .filter(|l| l.item.severity_text == "WARN")
            .count()
    };
    assert!(warns(&incident) > 10 * warns(&normal).max(1) / 4);
    assert!(warns(&incident) > 1000);
}

#[test]
fn logs_have_severities_and_some_korean_bodies() {
    let all = traces(
        7,
        5000,
        Conditions {
            error_rate: 0.05,
            ..Conditions::default()
        },
    );
    let logs: Vec<_> = all.iter().flat_map(|t| &t.logs).collect();
    let bodies: Vec<String> = logs
        .iter()
        .map(
            |l| match l.item.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                _ => panic!("string body"),
            },
        )
        .collect();
    for (text, number) in [("INFO", 9), ("WARN", 13), ("ERROR", 17)] {
        let of: Vec<_> = logs
            .iter()
            .filter(|l| l.item.severity_text == text)
            .collect();
        assert!(!of.is_empty(), "{text}");
        assert!(of.iter().all(|l| l.item.severity_number == number));
    }
    let korean = bodies
        .iter()
        .filter(|b| b.chars().any(|c| ('가'..='힣').contains(&c)))
        .count();
    assert!(
        korean > bodies.len() / 5 && korean < bodies.len() / 2,
        "{korean}/{}",
        bodies.len()
    );
    assert!(bodies.iter().any(|b| b == "결제 승인 실패: 카드 한도 초과"));
}

#[test]
fn same_seed_same_traces() {
    let a = traces(8, 200, Conditions::default());
    let b = traces(8, 200, Conditions::default());
    let ids = |all: &[GeneratedTrace]| {
        all.iter()
            .flat_map(|t| {
                t.spans
                    .iter()
                    .map(|s| (s.item.span_id.clone(), s.item.end_time_unix_nano))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&a), ids(&b));
    assert_ne!(ids(&a), ids(&traces(9, 200, Conditions::default())));
}

#[test]
fn metrics_aggregate_every_request() {
    let all = traces(
        10,
        2000,
        Conditions {
            error_rate: 0.05,
            ..Conditions::default()
        },
    );
    let mut state = MetricsState::new(NOW - 1_000_000_000);
    for trace in &all {
        state.record(trace);
    }
    let samples: usize = all.iter().map(|t| t.requests.len()).sum();
    let server_spans = all
        .iter()
        .flat_map(|t| &t.spans)
        .filter(|s| s.item.kind == SpanKind::Server as i32)
        .count();
    assert_eq!(samples, server_spans);
    let (by_origin, points) = state.export(NOW);
    let mut names = BTreeSet::new();
    let (mut histogram_total, mut counter_total, mut counted_points) = (0, 0, 0);
    for metrics in by_origin.values() {
        for metric in metrics {
            names.insert(metric.name.as_str());
            match metric.data.as_ref().unwrap() {
                Data::Histogram(h) => {
                    for p in &h.data_points {
                        assert_eq!(p.bucket_counts.len(), metrics::BOUNDS.len() + 1);
                        assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
                        assert!(p.min.unwrap() <= p.max.unwrap());
                        histogram_total += p.count;
                        counted_points += 1;
                    }
                }
                Data::Sum(s) => {
                    assert!(s.is_monotonic);
                    for p in &s.data_points {
                        if let Some(any) = &p.value {
                            let airis_proto::otlp::tonic::metrics::v1::number_data_point::Value::AsInt(v) = any else {
                                panic!("int counter")
                            };
                            counter_total += *v as u64;
                        }
                        counted_points += 1;
                    }
                }
                Data::Gauge(g) => {
                    for p in &g.data_points {
                        counted_points += 1;
                        let airis_proto::otlp::tonic::metrics::v1::number_data_point::Value::AsDouble(v) =
                            p.value.unwrap()
                        else {
                            panic!("double gauge")
                        };
                        assert!((0.0..=metrics::POOL_SIZE).contains(&v));
                    }
                }
                _ => panic!("unexpected metric type"),
            }
        }
    }
    assert_eq!(names, metrics::METRIC_NAMES.into_iter().collect());
    assert_eq!(histogram_total, samples as u64);
    assert_eq!(counter_total, samples as u64);
    assert_eq!(counted_points, points);
}

#[test]
fn requests_group_by_resource_with_the_required_attributes() {
    let all = traces(11, 300, Conditions::default());
    let (request, spans) = export::traces_request(&all, "demo");
    assert_eq!(
        spans as usize,
        all.iter().map(|t| t.spans.len()).sum::<usize>()
    );
    let mut services = BTreeSet::new();
    for rs in &request.resource_spans {
        let attributes = &rs.resource.as_ref().unwrap().attributes;
        for key in [
            "service.name",
            "service.version",
            "deployment.environment",
            "host.name",
        ] {
            assert!(attr(attributes, key).is_some(), "{key}");
        }
        assert_eq!(attr(attributes, "deployment.environment"), Some("demo"));
        services.insert((
            attr(attributes, "service.name").unwrap().to_owned(),
            attr(attributes, "service.version").unwrap().to_owned(),
        ));
        assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "airis-demo");
    }
    assert_eq!(
        services.len(),
        request.resource_spans.len(),
        "one resource per instance"
    );
    let (logs, count) = export::logs_request(&all, "demo");
    assert_eq!(
        count as usize,
        logs.resource_logs
            .iter()
            .map(|r| r.scope_logs[0].log_records.len())
            .sum::<usize>()
    );
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
    assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
    assert!(parse_duration("ten").is_err());
    assert!(parse_duration("5 fortnights").is_err());
    assert!(parse_duration("-1").is_err());
    let err = parse_duration("5x").unwrap_err();
    assert!(err.contains("\"5x\""), "{err}");
}

#[tokio::test]
async fn unreachable_endpoint_counts_errors_and_finishes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = crate::DemoConfig {
        endpoint: format!("http://127.0.0.1:{port}"),
        rate: 50.0,
        duration: Some(Duration::from_millis(700)),
        seed: Some(1),
        quiet: true,
        ..crate::DemoConfig::default()
    };
    let summary = crate::run(config, airis_runtime::Shutdown::new())
        .await
        .unwrap();
    assert!(summary.generated_traces > 0);
    assert_eq!((summary.traces, summary.spans, summary.logs), (0, 0, 0));
    assert!(summary.errors > 0);
}

#[tokio::test]
async fn shutdown_stops_a_run_without_duration() {
    let shutdown = airis_runtime::Shutdown::new();
    let config = crate::DemoConfig {
        endpoint: "http://127.0.0.1:1".to_owned(),
        quiet: true,
        ..crate::DemoConfig::default()
    };
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.trigger();
    });
    let summary = tokio::time::timeout(Duration::from_secs(15), crate::run(config, shutdown))
        .await
        .expect("stops")
        .unwrap();
    assert!(summary.elapsed < Duration::from_secs(15));
}

#[test]
fn invalid_config_is_rejected() {
    let bad = crate::DemoConfig {
        rate: 0.0,
        ..crate::DemoConfig::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(crate::run(bad, airis_runtime::Shutdown::new()));
    assert!(matches!(result, Err(crate::DemoError::InvalidConfig(_))));
}
