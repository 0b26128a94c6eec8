//! Spans → [`tables::TRACES`], and the per-trace time range → [`tables::TRACE_ID_TS`].

use airis_proto::otlp::tonic::collector::trace::v1::ExportTraceServiceRequest;
use airis_proto::otlp::tonic::common::v1::KeyValue;
use airis_proto::otlp::tonic::trace::v1::{Span, span};
use airis_proto::prost::{self, Message as _};
use std::collections::HashMap;

use super::ser::{AnyStr, Attrs, Column, HexId, nanos};
use super::{Batch, Tenanted, resource_attributes, scope_parts, service_name};
use airis_store::rollup::counts::{MinuteCountRow, minute_counts};
use airis_store::{insert, tables};

/// Spans of many export requests, inserted into [`tables::TRACES`] and
/// [`tables::TRACE_ID_TS`].
#[derive(Default)]
pub struct TraceBatch {
    requests: Vec<Tenanted<ExportTraceServiceRequest>>,
    spans: usize,
}

/// The exporter's `SpanKind` strings (pdata's `SpanKind.String()`).
pub(crate) fn span_kind(kind: i32) -> &'static str {
    match kind {
        0 => "Unspecified",
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "",
    }
}

/// The exporter's `StatusCode` strings (pdata's `StatusCode.String()`).
pub(crate) fn status_code(code: i32) -> &'static str {
    match code {
        0 => "Unset",
        1 => "Ok",
        2 => "Error",
        _ => "",
    }
}

/// One row of [`tables::TRACES`].
#[derive(clickhouse::Row, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SpanRow<'a> {
    tenant_id: &'a str,
    /// Span start, ns since the epoch.
    timestamp: i64,
    trace_id: HexId<'a>,
    span_id: HexId<'a>,
    parent_span_id: HexId<'a>,
    trace_state: &'a str,
    span_name: &'a str,
    span_kind: &'static str,
    service_name: AnyStr<'a>,
    resource_attributes: Attrs<'a>,
    scope_name: &'a str,
    scope_version: &'a str,
    span_attributes: Attrs<'a>,
    /// End minus start in ns; 0 when the end is before the start.
    duration: u64,
    status_code: &'static str,
    status_message: &'a str,
    #[serde(rename = "Events.Timestamp")]
    events_timestamp: Column<'a, span::Event, i64>,
    #[serde(rename = "Events.Name")]
    events_name: Column<'a, span::Event, &'a str>,
    #[serde(rename = "Events.Attributes")]
    events_attributes: Column<'a, span::Event, Attrs<'a>>,
    #[serde(rename = "Links.TraceId")]
    links_trace_id: Column<'a, span::Link, HexId<'a>>,
    #[serde(rename = "Links.SpanId")]
    links_span_id: Column<'a, span::Link, HexId<'a>>,
    #[serde(rename = "Links.TraceState")]
    links_trace_state: Column<'a, span::Link, &'a str>,
    #[serde(rename = "Links.Attributes")]
    links_attributes: Column<'a, span::Link, Attrs<'a>>,
}

/// Where a span comes from: everything above it in the request.
#[derive(Clone, Copy)]
struct SpanContext<'a> {
    tenant: &'a str,
    resource_attributes: &'a [KeyValue],
    service_name: AnyStr<'a>,
    scope_name: &'a str,
    scope_version: &'a str,
}

impl<'a> SpanRow<'a> {
    fn new(ctx: SpanContext<'a>, span: &'a Span) -> Self {
        let (status_code_value, status_message) = span
            .status
            .as_ref()
            .map_or((0, ""), |s| (s.code, s.message.as_str()));
        SpanRow {
            tenant_id: ctx.tenant,
            timestamp: nanos(span.start_time_unix_nano),
            trace_id: HexId(&span.trace_id),
            span_id: HexId(&span.span_id),
            parent_span_id: HexId(&span.parent_span_id),
            trace_state: &span.trace_state,
            span_name: &span.name,
            span_kind: span_kind(span.kind),
            service_name: ctx.service_name,
            resource_attributes: Attrs(ctx.resource_attributes),
            scope_name: ctx.scope_name,
            scope_version: ctx.scope_version,
            span_attributes: Attrs(&span.attributes),
            duration: span
                .end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
            status_code: status_code(status_code_value),
            status_message,
            events_timestamp: Column(&span.events, |e| nanos(e.time_unix_nano)),
            events_name: Column(&span.events, |e| e.name.as_str()),
            events_attributes: Column(&span.events, |e| Attrs(&e.attributes)),
            links_trace_id: Column(&span.links, |l| HexId(&l.trace_id)),
            links_span_id: Column(&span.links, |l| HexId(&l.span_id)),
            links_trace_state: Column(&span.links, |l| l.trace_state.as_str()),
            links_attributes: Column(&span.links, |l| Attrs(&l.attributes)),
        }
    }
}

/// One row of [`tables::TRACE_ID_TS`]: the earliest and latest span start
/// of a trace within the batch.
#[derive(clickhouse::Row, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TraceIdTsRow<'a> {
    tenant_id: &'a str,
    trace_id: HexId<'a>,
    start: i64,
    end: i64,
}

impl TraceBatch {
    /// Every span of the batch with its context, in push order.
    fn spans(&self) -> impl Iterator<Item = (SpanContext<'_>, &Span)> + Send + '_ {
        self.requests.iter().flat_map(|entry| {
            let tenant = &*entry.tenant;
            entry.request.resource_spans.iter().flat_map(move |rs| {
                let resource_attributes = resource_attributes(rs.resource.as_ref());
                let service_name = service_name(resource_attributes);
                rs.scope_spans.iter().flat_map(move |ss| {
                    let (scope_name, scope_version, _, _) = scope_parts(ss.scope.as_ref());
                    let ctx = SpanContext {
                        tenant,
                        resource_attributes,
                        service_name,
                        scope_name,
                        scope_version,
                    };
                    ss.spans.iter().map(move |span| (ctx, span))
                })
            })
        })
    }

    /// The [`tables::TRACES`] rows, in push order.
    pub(crate) fn span_rows(&self) -> impl Iterator<Item = SpanRow<'_>> + Send + '_ {
        self.spans().map(|(ctx, span)| SpanRow::new(ctx, span))
    }

    /// The [`tables::TRACE_ID_TS`] rows: one per (tenant, trace) with a
    /// non-empty trace id, in order of first appearance.
    pub(crate) fn trace_id_ts_rows(&self) -> Vec<TraceIdTsRow<'_>> {
        let mut rows: Vec<TraceIdTsRow<'_>> = Vec::new();
        let mut index: HashMap<(&str, &[u8]), usize> = HashMap::new();
        for (ctx, span) in self.spans() {
            if span.trace_id.iter().all(|b| *b == 0) {
                continue;
            }
            let start = nanos(span.start_time_unix_nano);
            match index.entry((ctx.tenant, span.trace_id.as_slice())) {
                std::collections::hash_map::Entry::Occupied(slot) => {
                    let row = &mut rows[*slot.get()];
                    row.start = row.start.min(start);
                    row.end = row.end.max(start);
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(rows.len());
                    rows.push(TraceIdTsRow {
                        tenant_id: ctx.tenant,
                        trace_id: HexId(&span.trace_id),
                        start,
                        end: start,
                    });
                }
            }
        }
        rows
    }
}

impl TraceBatch {
    /// The minute-count rows of the batch's spans (by their stored
    /// `Timestamp`), for the rollups.
    pub(crate) fn minute_count_rows(&self) -> Vec<MinuteCountRow<'_>> {
        minute_counts(
            self.spans()
                .map(|(ctx, span)| (ctx.tenant, nanos(span.start_time_unix_nano))),
        )
    }
}

impl Batch for TraceBatch {
    fn push_encoded(&mut self, tenant: &str, payload: &[u8]) -> Result<usize, prost::DecodeError> {
        let request = ExportTraceServiceRequest::decode(payload)?;
        let spans = request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        if spans > 0 {
            self.spans += spans;
            self.requests.push(Tenanted {
                tenant: tenant.into(),
                request,
            });
        }
        Ok(spans)
    }

    fn rows(&self) -> usize {
        self.spans
    }

    async fn insert<'a>(
        &'a self,
        client: &'a clickhouse::Client,
        token: &'a str,
    ) -> Result<(), clickhouse::error::Error> {
        if self.spans == 0 {
            return Ok(());
        }
        let mut insert = insert::begin::<SpanRow<'static>>(client, tables::TRACES, token).await?;
        for row in self.span_rows() {
            insert.write(&row).await?;
        }
        insert.end().await?;

        let lookup = self.trace_id_ts_rows();
        if !lookup.is_empty() {
            let mut insert =
                insert::begin::<TraceIdTsRow<'static>>(client, tables::TRACE_ID_TS, token).await?;
            for row in &lookup {
                insert.write(row).await?;
            }
            insert.end().await?;
        }

        // After the spans: a count never covers spans that are not stored.
        let counts = self.minute_count_rows();
        let mut insert =
            insert::begin::<MinuteCountRow<'static>>(client, tables::MINUTE_COUNTS, token).await?;
        for row in &counts {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rows::test_support::{json, kv, s};
    use airis_proto::kv::array;
    use airis_proto::otlp::tonic::common::v1::{InstrumentationScope, any_value::Value};
    use airis_proto::otlp::tonic::resource::v1::Resource;
    use airis_proto::otlp::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};
    use clickhouse::Row as _;
    use serde_json::json;

    pub(crate) fn sample_request(trace_byte: u8, spans: usize) -> ExportTraceServiceRequest {
        let span = |i: usize| Span {
            trace_id: vec![trace_byte; 16],
            span_id: vec![i as u8 + 1; 8],
            parent_span_id: if i == 0 { vec![] } else { vec![1; 8] },
            trace_state: "k=v".into(),
            name: format!("op-{i}"),
            kind: 2,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1000,
            end_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1000 + 1_500,
            attributes: vec![
                kv("http.method", s("GET")),
                kv("http.status_code", Value::IntValue(200)),
            ],
            events: vec![span::Event {
                time_unix_nano: 1_700_000_000_000_000_500,
                name: "exception".into(),
                attributes: vec![kv("exception.escaped", Value::BoolValue(false))],
                dropped_attributes_count: 0,
            }],
            links: vec![span::Link {
                trace_id: vec![0xab; 16],
                span_id: vec![0xcd; 8],
                trace_state: "a=b".into(),
                attributes: vec![kv("link.kind", s("follows"))],
                dropped_attributes_count: 0,
                flags: 0,
            }],
            status: Some(Status {
                message: "boom".into(),
                code: 2,
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s("checkout")),
                        kv("host.cpus", Value::IntValue(8)),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "io.opentelemetry.http".into(),
                        version: "1.2.3".into(),
                        ..Default::default()
                    }),
                    spans: (0..spans).map(span).collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    #[test]
    fn minute_counts_group_spans_by_tenant_and_start_minute() {
        let mut request = sample_request(1, 3);
        // 1_700_000_000 s is 20 s into its minute: move one span a minute on.
        request.resource_spans[0].scope_spans[0].spans[2].start_time_unix_nano += 60_000_000_000;
        let mut batch = TraceBatch::default();
        batch
            .push_encoded("acme", &request.encode_to_vec())
            .unwrap();
        batch
            .push_encoded("globex", &sample_request(2, 2).encode_to_vec())
            .unwrap();
        let rows: Vec<(&str, u32, u64)> = batch
            .minute_count_rows()
            .iter()
            .map(|r| (r.tenant_id, r.minute, r.spans))
            .collect();
        let minute = 1_699_999_980;
        assert_eq!(
            rows,
            [
                ("acme", minute, 2),
                ("acme", minute + 60, 1),
                ("globex", minute, 2)
            ]
        );
    }

    #[test]
    fn column_names_match_the_schema() {
        let names = SpanRow::COLUMN_NAMES;
        assert_eq!(names[0], "TenantId");
        assert!(names.contains(&"Events.Timestamp"));
        assert!(names.contains(&"Links.TraceState"));
        assert!(names.contains(&"SpanAttributes"));
        let schema = airis_store::schema::render_migrations("db", &Default::default());
        let ddl = &schema[0].statements[0];
        for name in names {
            let column = name.split('.').next_back().unwrap_or(name);
            assert!(ddl.contains(&format!("{column} ")), "{name} not in DDL");
        }
        assert_eq!(
            TraceIdTsRow::COLUMN_NAMES,
            &["TenantId", "TraceId", "Start", "End"]
        );
    }

    #[test]
    fn flattens_spans_like_the_exporter() {
        let mut batch = TraceBatch::default();
        let payload = sample_request(0x0f, 2).encode_to_vec();
        assert_eq!(batch.push_encoded("acme", &payload).unwrap(), 2);
        assert_eq!(batch.rows(), 2);
        let rows: Vec<_> = batch.span_rows().map(|r| json(&r)).collect();
        assert_eq!(rows.len(), 2);
        let root = &rows[0];
        assert_eq!(root["TenantId"], "acme");
        assert_eq!(root["Timestamp"], 1_700_000_000_000_000_000i64);
        assert_eq!(root["TraceId"], "0f".repeat(16));
        assert_eq!(root["SpanId"], "0101010101010101");
        assert_eq!(root["ParentSpanId"], "");
        assert_eq!(rows[1]["ParentSpanId"], "0101010101010101");
        assert_eq!(root["TraceState"], "k=v");
        assert_eq!(root["SpanName"], "op-0");
        assert_eq!(root["SpanKind"], "Server");
        assert_eq!(root["ServiceName"], "checkout");
        assert_eq!(
            root["ResourceAttributes"],
            json!({"service.name": "checkout", "host.cpus": "8"})
        );
        assert_eq!(root["ScopeName"], "io.opentelemetry.http");
        assert_eq!(root["ScopeVersion"], "1.2.3");
        assert_eq!(
            root["SpanAttributes"],
            json!({"http.method": "GET", "http.status_code": "200"})
        );
        assert_eq!(root["Duration"], 1_500);
        assert_eq!(root["StatusCode"], "Error");
        assert_eq!(root["StatusMessage"], "boom");
        assert_eq!(
            root["Events.Timestamp"],
            json!([1_700_000_000_000_000_500i64])
        );
        assert_eq!(root["Events.Name"], json!(["exception"]));
        assert_eq!(
            root["Events.Attributes"],
            json!([{"exception.escaped": "false"}])
        );
        assert_eq!(root["Links.TraceId"], json!(["ab".repeat(16)]));
        assert_eq!(root["Links.SpanId"], json!(["cd".repeat(8)]));
        assert_eq!(root["Links.TraceState"], json!(["a=b"]));
        assert_eq!(root["Links.Attributes"], json!([{"link.kind": "follows"}]));
    }

    #[test]
    fn kinds_statuses_and_edge_cases() {
        for (kind, name) in [
            (0, "Unspecified"),
            (1, "Internal"),
            (2, "Server"),
            (3, "Client"),
            (4, "Producer"),
            (5, "Consumer"),
            (9, ""),
        ] {
            assert_eq!(span_kind(kind), name);
        }
        for (code, name) in [(0, "Unset"), (1, "Ok"), (2, "Error"), (7, "")] {
            assert_eq!(status_code(code), name);
        }

        let mut request = sample_request(0, 1);
        let rs = &mut request.resource_spans[0];
        rs.resource = None;
        rs.scope_spans[0].scope = None;
        let span = &mut rs.scope_spans[0].spans[0];
        span.status = None;
        span.end_time_unix_nano = span.start_time_unix_nano - 1;
        span.events.clear();
        span.links.clear();
        span.attributes = vec![kv("list", array([s("a")]))];
        let mut batch = TraceBatch::default();
        batch.push_encoded("t", &request.encode_to_vec()).unwrap();
        let row = json(&batch.span_rows().next().unwrap());
        assert_eq!(row["TraceId"], "", "all-zero trace id is stored as empty");
        assert_eq!(row["ServiceName"], "");
        assert_eq!(row["ResourceAttributes"], json!({}));
        assert_eq!(row["ScopeName"], "");
        assert_eq!(row["StatusCode"], "Unset");
        assert_eq!(row["Duration"], 0);
        assert_eq!(row["Events.Name"], json!([]));
        assert_eq!(row["SpanAttributes"], json!({"list": "[\"a\"]"}));
        assert!(batch.trace_id_ts_rows().is_empty());
    }

    #[test]
    fn trace_lookup_rows_keep_min_and_max_start_per_tenant_and_trace() {
        let mut batch = TraceBatch::default();
        batch
            .push_encoded("a", &sample_request(1, 3).encode_to_vec())
            .unwrap();
        batch
            .push_encoded("b", &sample_request(1, 1).encode_to_vec())
            .unwrap();
        batch
            .push_encoded("a", &sample_request(2, 2).encode_to_vec())
            .unwrap();
        let rows: Vec<_> = batch.trace_id_ts_rows().iter().map(json).collect();
        assert_eq!(rows.len(), 3);
        let base = 1_700_000_000_000_000_000i64;
        assert_eq!(
            rows[0],
            json!({"TenantId": "a", "TraceId": "01".repeat(16), "Start": base, "End": base + 2000})
        );
        assert_eq!(rows[1]["TenantId"], "b");
        assert_eq!(rows[1]["End"], base);
        assert_eq!(rows[2]["TraceId"], "02".repeat(16));
        assert_eq!(rows[2]["End"], base + 1000);
    }

    #[test]
    fn decode_errors_are_returned() {
        let mut batch = TraceBatch::default();
        assert!(batch.push_encoded("t", &[0xff, 0xff, 0xff]).is_err());
        assert_eq!(batch.rows(), 0);
        assert_eq!(batch.push_encoded("t", &[]).unwrap(), 0);
        batch
            .push_encoded("t", &sample_request(3, 4).encode_to_vec())
            .unwrap();
        assert_eq!(batch.rows(), 4);
    }
}
