//! Log records → [`tables::LOGS`].

use airis_proto::otlp::tonic::collector::logs::v1::ExportLogsServiceRequest;
use airis_proto::otlp::tonic::logs::v1::LogRecord;
use airis_proto::prost::{self, Message as _};

use super::ser::{AnyStr, Attrs, HexId, nanos};
use super::{Batch, Tenanted, resource_attributes, scope_parts, service_name};
use airis_store::{insert, tables};

/// Log records of many export requests, inserted into [`tables::LOGS`].
#[derive(Default)]
pub struct LogBatch {
    requests: Vec<Tenanted<ExportLogsServiceRequest>>,
    records: usize,
}

/// One row of [`tables::LOGS`] (`TimestampTime` is filled by its DEFAULT).
#[derive(clickhouse::Row, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LogRow<'a> {
    tenant_id: &'a str,
    /// The record's time, or its observed time when the time is 0.
    timestamp: i64,
    trace_id: HexId<'a>,
    span_id: HexId<'a>,
    /// The low byte of the record's flags (the W3C trace flags).
    trace_flags: u8,
    severity_text: &'a str,
    severity_number: u8,
    service_name: AnyStr<'a>,
    body: AnyStr<'a>,
    resource_schema_url: &'a str,
    resource_attributes: Attrs<'a>,
    scope_schema_url: &'a str,
    scope_name: &'a str,
    scope_version: &'a str,
    scope_attributes: Attrs<'a>,
    log_attributes: Attrs<'a>,
    event_name: &'a str,
}

impl LogBatch {
    /// The [`tables::LOGS`] rows, in push order.
    pub(crate) fn log_rows(&self) -> impl Iterator<Item = LogRow<'_>> + Send + '_ {
        self.requests.iter().flat_map(|entry| {
            let tenant = &*entry.tenant;
            entry.request.resource_logs.iter().flat_map(move |rl| {
                let resource_attributes = resource_attributes(rl.resource.as_ref());
                let service_name = service_name(resource_attributes);
                let resource_schema_url = rl.schema_url.as_str();
                rl.scope_logs.iter().flat_map(move |sl| {
                    let (scope_name, scope_version, scope_attributes, _) =
                        scope_parts(sl.scope.as_ref());
                    let scope_schema_url = sl.schema_url.as_str();
                    sl.log_records.iter().map(move |record: &LogRecord| {
                        let time = if record.time_unix_nano == 0 {
                            record.observed_time_unix_nano
                        } else {
                            record.time_unix_nano
                        };
                        LogRow {
                            tenant_id: tenant,
                            timestamp: nanos(time),
                            trace_id: HexId(&record.trace_id),
                            span_id: HexId(&record.span_id),
                            // Go's uint8(...) conversions: keep the low byte.
                            trace_flags: record.flags as u8,
                            severity_text: &record.severity_text,
                            severity_number: record.severity_number as u8,
                            service_name,
                            body: AnyStr(record.body.as_ref()),
                            resource_schema_url,
                            resource_attributes: Attrs(resource_attributes),
                            scope_schema_url,
                            scope_name,
                            scope_version,
                            scope_attributes: Attrs(scope_attributes),
                            log_attributes: Attrs(&record.attributes),
                            event_name: &record.event_name,
                        }
                    })
                })
            })
        })
    }
}

impl Batch for LogBatch {
    fn push_encoded(&mut self, tenant: &str, payload: &[u8]) -> Result<usize, prost::DecodeError> {
        let request = ExportLogsServiceRequest::decode(payload)?;
        let records = request
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .map(|sl| sl.log_records.len())
            .sum();
        if records > 0 {
            self.records += records;
            self.requests.push(Tenanted {
                tenant: tenant.into(),
                request,
            });
        }
        Ok(records)
    }

    fn rows(&self) -> usize {
        self.records
    }

    async fn insert<'a>(
        &'a self,
        client: &'a clickhouse::Client,
        token: &'a str,
    ) -> Result<(), clickhouse::error::Error> {
        if self.records == 0 {
            return Ok(());
        }
        let mut insert = insert::begin::<LogRow<'static>>(client, tables::LOGS, token).await?;
        for row in self.log_rows() {
            insert.write(&row).await?;
        }
        insert.end().await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rows::test_support::{json, kv, s};
    use airis_proto::kv::{any_value, kvlist};
    use airis_proto::otlp::tonic::common::v1::{InstrumentationScope, any_value::Value};
    use airis_proto::otlp::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use airis_proto::otlp::tonic::resource::v1::Resource;
    use clickhouse::Row as _;
    use serde_json::json;

    pub(crate) fn sample_request(records: usize) -> ExportLogsServiceRequest {
        let record = |i: usize| LogRecord {
            time_unix_nano: if i == 1 {
                0
            } else {
                1_700_000_000_000_000_000 + i as u64
            },
            observed_time_unix_nano: 1_700_000_000_500_000_000,
            severity_number: 17,
            severity_text: "ERROR".into(),
            body: Some(if i == 0 {
                any_value("disk full")
            } else {
                kvlist([kv("msg", s("hi")), kv("n", i as i64)])
            }),
            attributes: vec![kv("retry", Value::BoolValue(true))],
            flags: 0x101,
            trace_id: vec![0x11; 16],
            span_id: vec![0x22; 8],
            event_name: if i == 0 {
                "app.crash".into()
            } else {
                String::new()
            },
            ..Default::default()
        };
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s("billing"))],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "logger".into(),
                        version: "2".into(),
                        attributes: vec![kv("lib", s("slog"))],
                        dropped_attributes_count: 0,
                    }),
                    log_records: (0..records).map(record).collect(),
                    schema_url: "https://opentelemetry.io/schemas/1.7.0".into(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.4.0".into(),
            }],
        }
    }

    #[test]
    fn column_names() {
        assert_eq!(LogRow::COLUMN_NAMES[0], "TenantId");
        assert!(LogRow::COLUMN_NAMES.contains(&"EventName"));
        assert!(!LogRow::COLUMN_NAMES.contains(&"TimestampTime"));
        let ddl =
            &airis_store::schema::render_migrations("db", &Default::default())[1].statements[0];
        for name in LogRow::COLUMN_NAMES {
            assert!(ddl.contains(&format!("    {name} ")), "{name} not in DDL");
        }
    }

    #[test]
    fn flattens_log_records_like_the_exporter() {
        let mut batch = LogBatch::default();
        let n = batch
            .push_encoded("acme", &sample_request(2).encode_to_vec())
            .unwrap();
        assert_eq!((n, batch.rows()), (2, 2));
        let rows: Vec<_> = batch.log_rows().map(|r| json(&r)).collect();
        let first = &rows[0];
        assert_eq!(first["TenantId"], "acme");
        assert_eq!(first["Timestamp"], 1_700_000_000_000_000_000i64);
        assert_eq!(first["TraceId"], "11".repeat(16));
        assert_eq!(first["SpanId"], "22".repeat(8));
        assert_eq!(first["TraceFlags"], 1);
        assert_eq!(first["SeverityText"], "ERROR");
        assert_eq!(first["SeverityNumber"], 17);
        assert_eq!(first["ServiceName"], "billing");
        assert_eq!(first["Body"], "disk full");
        assert_eq!(
            first["ResourceSchemaUrl"],
            "https://opentelemetry.io/schemas/1.4.0"
        );
        assert_eq!(
            first["ResourceAttributes"],
            json!({"service.name": "billing"})
        );
        assert_eq!(
            first["ScopeSchemaUrl"],
            "https://opentelemetry.io/schemas/1.7.0"
        );
        assert_eq!(first["ScopeName"], "logger");
        assert_eq!(first["ScopeVersion"], "2");
        assert_eq!(first["ScopeAttributes"], json!({"lib": "slog"}));
        assert_eq!(first["LogAttributes"], json!({"retry": "true"}));
        assert_eq!(first["EventName"], "app.crash");

        let second = &rows[1];
        assert_eq!(
            second["Timestamp"], 1_700_000_000_500_000_000i64,
            "time 0 falls back to the observed time"
        );
        assert_eq!(second["Body"], r#"{"msg":"hi","n":1}"#);
        assert_eq!(second["EventName"], "");
    }

    #[test]
    fn empty_ids_and_missing_body() {
        let mut request = sample_request(1);
        let record = &mut request.resource_logs[0].scope_logs[0].log_records[0];
        record.trace_id.clear();
        record.span_id = vec![0; 8];
        record.body = None;
        record.severity_number = 0;
        let mut batch = LogBatch::default();
        batch.push_encoded("t", &request.encode_to_vec()).unwrap();
        let row = json(&batch.log_rows().next().unwrap());
        assert_eq!(row["TraceId"], "");
        assert_eq!(row["SpanId"], "");
        assert_eq!(row["Body"], "");
        assert_eq!(row["SeverityNumber"], 0);
        assert!(batch.push_encoded("t", b"\x0a\x05").is_err());
    }
}
