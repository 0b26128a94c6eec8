//! Realistic OTLP export requests, shaped like an SDK batch: one resource
//! (10 attributes) and one scope per request, spans with 10 attributes in
//! traces of 10 spans, a few with an exception event; log records with a
//! ~100-byte body and 10 attributes.

use airis_proto::kv::{any_value, kv};
use airis_proto::otlp::tonic::{
    collector::{logs::v1::ExportLogsServiceRequest, trace::v1::ExportTraceServiceRequest},
    common::v1::InstrumentationScope,
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status},
};
use airis_proto::prost::Message as _;
use bytes::Bytes;

/// Spans per trace in generated requests.
const TRACE_LEN: u64 = 10;

pub(crate) const SERVICES: [&str; 4] = ["checkout", "orders", "payments", "inventory"];

/// Name of the marker span of a freshness request.
pub(crate) const MARKER_NAME: &str = "bench.marker";
// Placeholder start/end times of the marker span, replaced in the encoded
// bytes at send time (fixed64 fields are 8 little-endian bytes).
const MARKER_START: u64 = 0x5eb7_1a2c_93d4_e601;
const MARKER_END: u64 = 0x5eb7_1a2c_93d4_e6f3;

fn resource(service: &str, instance: u64) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", service),
            kv("service.version", "2.14.3"),
            kv(
                "service.instance.id",
                format!("6f1c2a7e-0b3d-4c5e-9f80-{instance:012x}"),
            ),
            kv("service.namespace", "shop"),
            kv("deployment.environment", "production"),
            kv(
                "host.name",
                format!("ip-10-0-{}-{}.ec2.internal", instance % 7, instance % 250),
            ),
            kv("k8s.namespace.name", "shop"),
            kv(
                "k8s.pod.name",
                format!("{service}-7d9f8b6c4-{instance:05x}"),
            ),
            kv("telemetry.sdk.language", "java"),
            kv("telemetry.sdk.version", "1.44.1"),
        ],
        ..Default::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "io.opentelemetry.tomcat-10.0".to_owned(),
        version: "2.10.0-alpha".to_owned(),
        ..Default::default()
    }
}

/// A span of kind `j % 10` within its trace: a server root, then HTTP
/// client, database and internal spans.
fn span_template(j: u64) -> Span {
    let (name, kind, attributes) = match j % TRACE_LEN {
        0 => (
            "GET /api/v1/orders/{id}",
            span::SpanKind::Server,
            vec![
                kv("http.request.method", "GET"),
                kv("http.route", "/api/v1/orders/{id}"),
                kv("url.path", format!("/api/v1/orders/{}", 100_000 + j * 7)),
                kv("url.scheme", "https"),
                kv("http.response.status_code", 200),
                kv("server.address", "orders.shop.svc.cluster.local"),
                kv("server.port", 8080),
                kv("client.address", format!("10.1.{}.{}", j % 200, j % 250)),
                kv(
                    "user_agent.original",
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
                ),
                kv("network.protocol.version", "1.1"),
            ],
        ),
        1 | 5 => (
            "SELECT shop.orders",
            span::SpanKind::Client,
            vec![
                kv("db.system", "postgresql"),
                kv("db.name", "shop"),
                kv("db.operation", "SELECT"),
                kv("db.sql.table", "orders"),
                kv(
                    "db.statement",
                    "SELECT id, status, total, created_at FROM orders WHERE customer_id = ? LIMIT ?",
                ),
                kv("db.user", "orders_app"),
                kv("server.address", "pg-orders.shop.svc.cluster.local"),
                kv("server.port", 5432),
                kv("network.peer.address", "10.2.0.17"),
                kv("thread.name", "http-nio-8080-exec-12"),
            ],
        ),
        2 | 6 => (
            "GET",
            span::SpanKind::Client,
            vec![
                kv("http.request.method", "GET"),
                kv(
                    "url.full",
                    format!("http://inventory:8080/api/v1/stock/{}", j * 13),
                ),
                kv("server.address", "inventory"),
                kv("server.port", 8080),
                kv("http.response.status_code", 200),
                kv("network.protocol.version", "1.1"),
                kv("network.peer.address", "10.3.1.44"),
                kv("http.request.resend_count", 0),
                kv("thread.name", "http-nio-8080-exec-12"),
                kv("peer.service", "inventory"),
            ],
        ),
        3 | 7 => (
            "redis GET",
            span::SpanKind::Client,
            vec![
                kv("db.system", "redis"),
                kv("db.operation", "GET"),
                kv("db.statement", format!("GET order:{}", j * 31)),
                kv("db.redis.database_index", 0),
                kv("server.address", "redis-master.shop.svc.cluster.local"),
                kv("server.port", 6379),
                kv("network.peer.address", "10.2.0.9"),
                kv("network.peer.port", 6379),
                kv("thread.name", "lettuce-nioEventLoop-4-1"),
                kv("network.transport", "tcp"),
            ],
        ),
        _ => (
            "OrderService.price",
            span::SpanKind::Internal,
            vec![
                kv("code.function", "price"),
                kv("code.namespace", "com.shop.orders.OrderService"),
                kv("code.filepath", "OrderService.java"),
                kv("code.lineno", 214),
                kv("thread.name", "http-nio-8080-exec-12"),
                kv("thread.id", 87),
                kv("order.currency", "EUR"),
                kv("order.items", (j % 9) as i64 + 1),
                kv("customer.tier", "gold"),
                kv("feature.flag.pricing", "v2"),
            ],
        ),
    };
    let error = j % 50 == 9;
    Span {
        name: name.to_owned(),
        kind: kind as i32,
        attributes,
        events: if error {
            vec![span::Event {
                time_unix_nano: 0,
                name: "exception".to_owned(),
                attributes: vec![
                    kv("exception.type", "java.lang.IllegalStateException"),
                    kv("exception.message", "price list not loaded"),
                    kv(
                        "exception.stacktrace",
                        "java.lang.IllegalStateException: price list not loaded\n\tat com.shop.orders.OrderService.price(OrderService.java:214)\n\tat com.shop.orders.OrderController.get(OrderController.java:57)",
                    ),
                ],
                dropped_attributes_count: 0,
            }]
        } else {
            Vec::new()
        },
        status: Some(Status {
            code: if error {
                status::StatusCode::Error as i32
            } else {
                status::StatusCode::Unset as i32
            },
            message: if error {
                "price list not loaded".to_owned()
            } else {
                String::new()
            },
        }),
        ..Default::default()
    }
}

/// Builds trace export requests with fresh ids and times, reusing one
/// decoded template so generating millions of spans stays cheap.
pub(crate) struct TraceGen {
    request: ExportTraceServiceRequest,
    run: u64,
    next_span: u64,
}

impl TraceGen {
    pub(crate) fn new(spans_per_request: usize, service: usize, run: u64) -> Self {
        let spans = (0..spans_per_request as u64).map(span_template).collect();
        Self {
            request: ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource(
                        SERVICES[service % SERVICES.len()],
                        run ^ service as u64,
                    )),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope()),
                        spans,
                        schema_url: "https://opentelemetry.io/schemas/1.24.0".to_owned(),
                    }],
                    schema_url: "https://opentelemetry.io/schemas/1.24.0".to_owned(),
                }],
            },
            run,
            next_span: 0,
        }
    }

    /// The next request: new trace and span ids, spans starting at `base_ns`.
    pub(crate) fn next(&mut self, base_ns: u64) -> &ExportTraceServiceRequest {
        let run = self.run;
        for span in &mut self.request.resource_spans[0].scope_spans[0].spans {
            let n = self.next_span;
            self.next_span += 1;
            let trace = n / TRACE_LEN;
            let pos = n % TRACE_LEN;
            span.trace_id.clear();
            span.trace_id.extend_from_slice(&run.to_be_bytes());
            span.trace_id.extend_from_slice(&(trace + 1).to_be_bytes());
            span.span_id.clear();
            span.span_id.extend_from_slice(&(n + 1).to_be_bytes());
            span.parent_span_id.clear();
            if pos != 0 {
                span.parent_span_id
                    .extend_from_slice(&(n - pos + 1).to_be_bytes());
            }
            span.start_time_unix_nano = base_ns + pos * 150_000;
            let duration = if pos == 0 {
                9_000_000
            } else {
                400_000 + (n % 13) * 90_000
            };
            span.end_time_unix_nano = span.start_time_unix_nano + duration;
            for event in &mut span.events {
                event.time_unix_nano = span.start_time_unix_nano + 100_000;
            }
        }
        &self.request
    }

    pub(crate) fn next_encoded(&mut self, base_ns: u64) -> Bytes {
        Bytes::from(self.next(base_ns).encode_to_vec())
    }

    /// The next request with its first span renamed to [`MARKER_NAME`]
    /// and placeholder times, for [`Marked::with_send_time`].
    pub(crate) fn next_marked(&mut self, base_ns: u64) -> Marked {
        let mut request = self.next(base_ns).clone();
        let marker = &mut request.resource_spans[0].scope_spans[0].spans[0];
        marker.name = MARKER_NAME.to_owned();
        marker.start_time_unix_nano = MARKER_START;
        marker.end_time_unix_nano = MARKER_END;
        marker.events.clear();
        let bytes = request.encode_to_vec();
        let find = |value: u64| {
            let needle = value.to_le_bytes();
            let hits: Vec<usize> = bytes
                .windows(8)
                .enumerate()
                .filter(|(_, w)| *w == needle)
                .map(|(i, _)| i)
                .collect();
            assert_eq!(hits.len(), 1, "placeholder {value:#x} must occur once");
            hits[0]
        };
        Marked {
            start_at: find(MARKER_START),
            end_at: find(MARKER_END),
            bytes,
        }
    }
}

/// An encoded trace request whose marker span times are set at send time.
pub(crate) struct Marked {
    bytes: Vec<u8>,
    start_at: usize,
    end_at: usize,
}

impl Marked {
    /// A copy with the marker span starting at `send_ns` (its identity in
    /// ClickHouse: `Timestamp` of the row named [`MARKER_NAME`]).
    pub(crate) fn with_send_time(&self, send_ns: u64) -> Bytes {
        let mut bytes = self.bytes.clone();
        bytes[self.start_at..self.start_at + 8].copy_from_slice(&send_ns.to_le_bytes());
        bytes[self.end_at..self.end_at + 8].copy_from_slice(&(send_ns + 1_000).to_le_bytes());
        Bytes::from(bytes)
    }
}

fn record_template(j: u64) -> LogRecord {
    let (severity, text, body) = match j % 20 {
        0 => (
            17,
            "ERROR",
            format!(
                "Failed to reserve stock for order {}: inventory returned 409 Conflict (retry 1/3)",
                100_000 + j
            ),
        ),
        1 | 2 => (
            13,
            "WARN",
            format!(
                "Slow query on orders took {} ms, exceeding the 250 ms threshold for customer lookups",
                250 + j % 700
            ),
        ),
        _ => (
            9,
            "INFO",
            format!(
                "Order {} created for customer {} with {} items, total {}.{:02} EUR, payment pending",
                100_000 + j,
                40_000 + j % 977,
                j % 9 + 1,
                j % 400,
                j % 100
            ),
        ),
    };
    LogRecord {
        severity_number: severity,
        severity_text: text.to_owned(),
        body: Some(any_value(body)),
        attributes: vec![
            kv("log.logger", "com.shop.orders.OrderService"),
            kv("thread.name", format!("http-nio-8080-exec-{}", j % 32)),
            kv("thread.id", 60 + (j % 32) as i64),
            kv("code.function", "create"),
            kv("code.namespace", "com.shop.orders.OrderService"),
            kv("code.lineno", 142),
            kv("http.route", "/api/v1/orders"),
            kv(
                "request.id",
                format!("req-{:016x}", j.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ),
            kv("customer.id", format!("{}", 40_000 + j % 977)),
            kv("order.id", format!("{}", 100_000 + j)),
        ],
        flags: 1,
        ..Default::default()
    }
}

/// Builds log export requests with fresh trace context and times.
pub(crate) struct LogGen {
    request: ExportLogsServiceRequest,
    run: u64,
    next_record: u64,
}

impl LogGen {
    pub(crate) fn new(records_per_request: usize, service: usize, run: u64) -> Self {
        let records = (0..records_per_request as u64)
            .map(record_template)
            .collect();
        Self {
            request: ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    resource: Some(resource(
                        SERVICES[service % SERVICES.len()],
                        run ^ service as u64,
                    )),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: "com.shop.orders.OrderService".to_owned(),
                            ..Default::default()
                        }),
                        log_records: records,
                        schema_url: String::new(),
                    }],
                    schema_url: "https://opentelemetry.io/schemas/1.24.0".to_owned(),
                }],
            },
            run,
            next_record: 0,
        }
    }

    pub(crate) fn next_encoded(&mut self, base_ns: u64) -> Bytes {
        let run = self.run;
        for record in &mut self.request.resource_logs[0].scope_logs[0].log_records {
            let n = self.next_record;
            self.next_record += 1;
            record.time_unix_nano = base_ns + n % 1_000 * 1_000;
            record.observed_time_unix_nano = record.time_unix_nano + 50_000;
            record.trace_id.clear();
            record.trace_id.extend_from_slice(&run.to_be_bytes());
            record
                .trace_id
                .extend_from_slice(&(n / 4 + 1).to_be_bytes());
            record.span_id.clear();
            record.span_id.extend_from_slice(&(n + 1).to_be_bytes());
        }
        Bytes::from(self.request.encode_to_vec())
    }
}
