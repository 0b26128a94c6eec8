//! Validation of decoded OTLP export requests.
//!
//! The receiver decodes a request (prost has already rejected truncated
//! protobuf and invalid UTF-8), then calls [`traces`], [`logs`] or
//! [`metrics`]. Each removes invalid items **in place** and returns a
//! [`Rejected`] that the receiver turns into an OTLP `partial_success`
//! (`rejected_spans` / `rejected_log_records` / `rejected_data_points` plus
//! `error_message`). When nothing valid is left the receiver may answer
//! `INVALID_ARGUMENT` instead; [`count_spans`], [`count_log_records`] and
//! [`count_data_points`] tell it how many items remain.
//!
//! Nothing is truncated or rewritten: an item is either stored exactly as it
//! was sent or rejected with a reason. Containers left empty (a scope with no
//! spans, a resource with no scopes, a metric with no data points) are removed
//! so that the re-encoded request carries only valid data; containers that
//! arrived empty are removed too, silently, since they carry nothing.
//!
//! # Rules
//!
//! Attributes, wherever they appear (resource, scope, span, event, link, log
//! record, metric metadata, data point, exemplar):
//! - at most [`Limits::max_attributes`] entries, otherwise the owner is
//!   rejected (never truncated);
//! - key non-empty and at most [`Limits::max_attribute_key_bytes`];
//!   `key_strindex` must be 0 (it is only meaningful in profiles);
//! - string and bytes values, also nested ones, at most
//!   [`Limits::max_attribute_value_bytes`]; `string_value_strindex` is
//!   rejected (profiles only);
//! - arrays and key-value lists nest at most [`Limits::max_attribute_depth`]
//!   levels (a scalar has depth 0, an array of scalars depth 1); a nested
//!   key-value list holds at most `max_attributes` entries and its keys obey
//!   the key length limit (an empty nested key is allowed: it is a map key,
//!   not an attribute name). Arrays have no element-count limit of their own:
//!   the gRPC message size bounds them.
//! - An invalid resource rejects every item under it; an invalid scope
//!   (attributes, or `name` / `version` longer than `max_name_bytes`)
//!   rejects every item under it.
//!
//! Timestamps: any non-zero timestamp (span start/end, event, log time and
//! observed time, data point time and start time, exemplar time) more than
//! [`Limits::max_future_skew_secs`] after `now_unix_nano` is rejected
//! (`0` disables the check).
//!
//! Spans: `trace_id` exactly 16 bytes and not all zeros; `span_id` exactly 8
//! bytes and not all zeros; `parent_span_id` empty or 8 bytes (8 zero bytes
//! are accepted, some SDKs send them for roots); `name` non-empty and at most
//! `max_name_bytes`; `kind` a known `SpanKind` (UNSPECIFIED is allowed);
//! `start_time_unix_nano` non-zero; `end_time_unix_nano >= start`; `status`
//! absent or with a known code, `status.message` and `trace_state` at most
//! `max_attribute_value_bytes`; at most `max_events_per_span` events and
//! `max_links_per_span` links; event `name` at most `max_name_bytes` (may be
//! empty); link `trace_id` exactly 16 bytes and `span_id` exactly 8 bytes (all
//! zeros allowed: the spec lets SDKs record links to invalid contexts that
//! carry attributes or a trace state).
//!
//! Log records: `trace_id` empty or 16 bytes, `span_id` empty or 8 bytes;
//! `severity_number` a known `SeverityNumber` (0, UNSPECIFIED, allowed);
//! `severity_text` and `event_name` at most `max_name_bytes`; the body nests
//! at most `max_attribute_depth` levels and its size is at most
//! `max_body_bytes`, where size is the sum of string, bytes and key lengths
//! plus 8 bytes per number and 1 per bool. Both `time_unix_nano` and
//! `observed_time_unix_nano` may be 0: the spec allows it and the loader then
//! uses the receive time.
//!
//! Metrics: `name` non-empty and at most `max_name_bytes`; `unit` at most
//! `max_name_bytes`, `description` at most `max_attribute_value_bytes`;
//! `metadata` follows the attribute rules. A metric-level fault rejects all of
//! the metric's data points. A metric with no `data` (none of gauge, sum,
//! histogram, exponential histogram, summary) is removed and named in the
//! message but counts **0** rejected data points, since it has none: OTLP
//! counts `rejected_data_points`, and a partial success with 0 rejected and a
//! message is the spec's way to warn. Sums and (exponential) histograms need
//! a known, specified `aggregation_temporality`. Data points:
//! `time_unix_nano` non-zero; number points need a value unless flagged
//! `NO_RECORDED_VALUE`; histogram `bucket_counts` has
//! `explicit_bounds.len() + 1` entries, or is empty together with
//! `explicit_bounds`, and bounds are strictly increasing (NaN fails);
//! exponential histogram `scale` in [-10, 20]; summary quantiles in [0, 1];
//! exemplar `trace_id` empty or 16 bytes and `span_id` empty or 8 bytes.
//!
//! # Messages
//!
//! Each rejection adds one reason naming the path in the request as it was
//! sent (indices before removal), the field and the problem, e.g.
//! `resource_spans[0].scope_spans[1].spans[3].trace_id: must be 16 bytes, got 0`.
//! At most [`MAX_REASONS`] reasons are kept, followed by `and N more`.
//!
//! # Cost
//!
//! One pass with `retain`; nothing is allocated unless something is rejected:
//! checks return `Result<(), Box<Fault>>` and the message is only written on
//! the error path.
//!
//! # Layout
//!
//! `walk` goes through resources, scopes and items the same way for every
//! signal; `rules` holds the checks, `fault` what a failed check reports,
//! and `report` turns faults into the [`Rejected`] count and message.

mod fault;
mod report;
mod rules;
mod walk;

#[cfg(test)]
mod tests;

use airis_proto::otlp::tonic::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};

pub use report::{MAX_REASONS, Rejected};

/// Size and shape limits applied to every request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Attributes per resource, scope, span, event, link, log record, metric
    /// metadata, data point and exemplar; also entries per nested key-value
    /// list. Default 128.
    pub max_attributes: usize,
    /// Attribute key length in bytes. Default 256.
    pub max_attribute_key_bytes: usize,
    /// String or bytes attribute value length, also nested, and the length of
    /// free-text fields (`trace_state`, `status.message`, metric
    /// `description`). Default 64 KiB.
    pub max_attribute_value_bytes: usize,
    /// Events per span. Default 128.
    pub max_events_per_span: usize,
    /// Links per span. Default 128.
    pub max_links_per_span: usize,
    /// Span, event, scope and metric names, metric unit, log `severity_text`
    /// and `event_name`, in bytes. Default 1024.
    pub max_name_bytes: usize,
    /// Log body size in bytes (see the module docs for how it is measured).
    /// Default 1 MiB.
    pub max_body_bytes: usize,
    /// How far in the future a timestamp may be, in seconds; 0 disables the
    /// check. Default 86400 (one day).
    pub max_future_skew_secs: u64,
    /// Nesting of arrays and key-value lists in an attribute value or log
    /// body. Default 8.
    pub max_attribute_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attributes: 128,
            max_attribute_key_bytes: 256,
            max_attribute_value_bytes: 64 * 1024,
            max_events_per_span: 128,
            max_links_per_span: 128,
            max_name_bytes: 1024,
            max_body_bytes: 1024 * 1024,
            max_future_skew_secs: 86_400,
            max_attribute_depth: 8,
        }
    }
}

/// Validates spans; `items` counts spans removed.
pub fn traces(
    req: &mut ExportTraceServiceRequest,
    limits: &Limits,
    now_unix_nano: u64,
) -> Rejected {
    walk::walk(req, &rules::Ctx::new(limits, now_unix_nano))
}

/// Validates log records; `items` counts log records removed.
pub fn logs(req: &mut ExportLogsServiceRequest, limits: &Limits, now_unix_nano: u64) -> Rejected {
    walk::walk(req, &rules::Ctx::new(limits, now_unix_nano))
}

/// Validates metrics; `items` counts data points removed.
pub fn metrics(
    req: &mut ExportMetricsServiceRequest,
    limits: &Limits,
    now_unix_nano: u64,
) -> Rejected {
    walk::walk(req, &rules::Ctx::new(limits, now_unix_nano))
}

/// Number of spans in a request.
pub fn count_spans(req: &ExportTraceServiceRequest) -> usize {
    walk::count(req)
}

/// Number of log records in a request.
pub fn count_log_records(req: &ExportLogsServiceRequest) -> usize {
    walk::count(req)
}

/// Number of data points in a request (a metric without data counts 0).
pub fn count_data_points(req: &ExportMetricsServiceRequest) -> usize {
    walk::count(req)
}
