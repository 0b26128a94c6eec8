//! OTLP export requests flattened into ClickHouse rows of the schema in
//! [`airis_store::schema`], inserted through [`airis_store::insert`].
//!
//! A batch keeps the decoded requests of many Kafka messages and, when
//! inserted, writes one row per span / log record / data point straight from
//! the decoded messages into the RowBinary stream: rows borrow the messages'
//! strings, ids are hex-encoded on the stack, and only non-string attribute
//! values are formatted into temporary strings. The conversions match what
//! the OpenTelemetry Collector's ClickHouse exporter stores (see
//! `docs/schema.md`).

use std::future::Future;

use airis_proto::otlp::tonic::common::v1::{InstrumentationScope, KeyValue};
use airis_proto::otlp::tonic::resource::v1::Resource;

mod logs;
mod metrics;
mod ser;
mod traces;
mod value;

pub use logs::LogBatch;
pub use metrics::MetricBatch;
pub use traces::TraceBatch;

/// One batch of rows for one signal, accumulated from many export requests and inserted together.
pub trait Batch: Default + Send {
    /// Appends the rows of one encoded OTLP export request (the Kafka payload) for `tenant`.
    /// Returns the number of rows added. Decode errors are returned, never panic.
    fn push_encoded(&mut self, tenant: &str, payload: &[u8]) -> Result<usize, prost::DecodeError>;
    /// Rows in the batch (spans, log records or metric data points).
    fn rows(&self) -> usize;
    /// Inserts every table's rows; each table's insert carries the batch's
    /// deduplication token ([`airis_store::insert`]) so a retried insert of
    /// the same batch is dropped by ClickHouse.
    ///
    /// Tables without rows are skipped. Rows are written in the order they
    /// were pushed, so the same batch always produces the same insert blocks,
    /// which is what token-based deduplication needs: a retry must send the
    /// same rows, in the same order, with the same token.
    fn insert<'a>(
        &'a self,
        client: &'a clickhouse::Client,
        token: &'a str,
    ) -> impl Future<Output = Result<(), clickhouse::error::Error>> + Send + 'a;
}

use airis_proto::prost;

/// An OTLP request and the tenant it was received for.
struct Tenanted<T> {
    tenant: Box<str>,
    request: T,
}

const NO_ATTRIBUTES: &[KeyValue] = &[];

fn resource_attributes(resource: Option<&Resource>) -> &[KeyValue] {
    resource.map_or(NO_ATTRIBUTES, |r| r.attributes.as_slice())
}

/// `ServiceName`: the resource's `service.name`, as a string.
fn service_name(attributes: &[KeyValue]) -> ser::AnyStr<'_> {
    ser::AnyStr(
        attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()),
    )
}

/// Scope name, version, attributes and dropped attribute count.
fn scope_parts(scope: Option<&InstrumentationScope>) -> (&str, &str, &[KeyValue], u32) {
    match scope {
        Some(s) => (
            s.name.as_str(),
            s.version.as_str(),
            s.attributes.as_slice(),
            s.dropped_attributes_count,
        ),
        None => ("", "", NO_ATTRIBUTES, 0),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Hand-built OTLP values for the unit tests.
    use airis_proto::otlp::tonic::common::v1::any_value::Value;
    use serde::Serialize;

    pub(crate) use airis_proto::kv::kv;

    pub(crate) fn s(value: &str) -> Value {
        Value::StringValue(value.to_owned())
    }

    /// What a row serializes to, field by field, as JSON (ids and attribute
    /// maps as the strings ClickHouse receives).
    pub(crate) fn json<T: Serialize>(row: &T) -> serde_json::Value {
        serde_json::to_value(row).expect("row serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::{Batch, LogBatch, MetricBatch, TraceBatch};

    /// The loader spawns inserts on a multi-threaded runtime: their futures
    /// must be `Send` (checked at compile time; nothing is polled).
    #[test]
    fn insert_futures_are_send() {
        fn assert_send<T: Send>(_: T) {}
        let client = clickhouse::Client::default();
        let (traces, logs, metrics) = (
            TraceBatch::default(),
            LogBatch::default(),
            MetricBatch::default(),
        );
        assert_send(traces.insert(&client, "t"));
        assert_send(logs.insert(&client, "t"));
        assert_send(metrics.insert(&client, "t"));
    }
}
