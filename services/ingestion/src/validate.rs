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

use std::fmt::{self, Write as _};

use airis_proto::otlp::tonic::{
    collector::{
        logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
        trace::v1::ExportTraceServiceRequest,
    },
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value},
    logs::v1::{LogRecord, SeverityNumber},
    metrics::v1::{
        AggregationTemporality, DataPointFlags, Exemplar, ExponentialHistogramDataPoint,
        HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint, metric::Data,
    },
    resource::v1::Resource,
    trace::v1::{
        Span, Status,
        span::{Event, Link, SpanKind},
        status::StatusCode,
    },
};

/// Maximum number of reasons spelled out in [`Rejected::message`].
pub const MAX_REASONS: usize = 5;

const TRACE_ID_LEN: usize = 16;
const SPAN_ID_LEN: usize = 8;
const MIN_EXPONENTIAL_SCALE: i32 = -10;
const MAX_EXPONENTIAL_SCALE: i32 = 20;

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

/// What validation removed from a request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rejected {
    /// Spans, log records or data points removed.
    pub items: i64,
    /// The first few reasons, separated by `"; "`, e.g.
    /// `resource_spans[0].scope_spans[1].spans[3].trace_id: must be 16 bytes, got 0`.
    /// Non-empty whenever anything was removed, including a metric without
    /// data, which counts 0 items.
    pub message: String,
}

impl Rejected {
    /// True when validation removed nothing.
    pub fn is_empty(&self) -> bool {
        self.items == 0 && self.message.is_empty()
    }
}

/// Validates spans; `items` counts spans removed.
pub fn traces(
    req: &mut ExportTraceServiceRequest,
    limits: &Limits,
    now_unix_nano: u64,
) -> Rejected {
    let ctx = Ctx::new(limits, now_unix_nano);
    let mut report = Report::default();
    let mut ri = 0;
    req.resource_spans.retain_mut(|rs| {
        let r = ri;
        ri += 1;
        if let Err(f) = ctx.resource(rs.resource.as_ref()) {
            let n = rs.scope_spans.iter().map(|s| s.spans.len()).sum();
            report.reject(n, |m| write!(m, "resource_spans[{r}].resource"), &f);
            return false;
        }
        let mut si = 0;
        rs.scope_spans.retain_mut(|ss| {
            let s = si;
            si += 1;
            if let Err(f) = ctx.scope(ss.scope.as_ref()) {
                report.reject(
                    ss.spans.len(),
                    |m| write!(m, "resource_spans[{r}].scope_spans[{s}].scope"),
                    &f,
                );
                return false;
            }
            retain_valid(
                &mut ss.spans,
                &mut report,
                |span| ctx.span(span),
                |m, i| write!(m, "resource_spans[{r}].scope_spans[{s}].spans[{i}]"),
            );
            !ss.spans.is_empty()
        });
        !rs.scope_spans.is_empty()
    });
    report.finish()
}

/// Validates log records; `items` counts log records removed.
pub fn logs(req: &mut ExportLogsServiceRequest, limits: &Limits, now_unix_nano: u64) -> Rejected {
    let ctx = Ctx::new(limits, now_unix_nano);
    let mut report = Report::default();
    let mut ri = 0;
    req.resource_logs.retain_mut(|rl| {
        let r = ri;
        ri += 1;
        if let Err(f) = ctx.resource(rl.resource.as_ref()) {
            let n = rl.scope_logs.iter().map(|s| s.log_records.len()).sum();
            report.reject(n, |m| write!(m, "resource_logs[{r}].resource"), &f);
            return false;
        }
        let mut si = 0;
        rl.scope_logs.retain_mut(|sl| {
            let s = si;
            si += 1;
            if let Err(f) = ctx.scope(sl.scope.as_ref()) {
                report.reject(
                    sl.log_records.len(),
                    |m| write!(m, "resource_logs[{r}].scope_logs[{s}].scope"),
                    &f,
                );
                return false;
            }
            retain_valid(
                &mut sl.log_records,
                &mut report,
                |rec| ctx.log_record(rec),
                |m, i| write!(m, "resource_logs[{r}].scope_logs[{s}].log_records[{i}]"),
            );
            !sl.log_records.is_empty()
        });
        !rl.scope_logs.is_empty()
    });
    report.finish()
}

/// Validates metrics; `items` counts data points removed.
pub fn metrics(
    req: &mut ExportMetricsServiceRequest,
    limits: &Limits,
    now_unix_nano: u64,
) -> Rejected {
    let ctx = Ctx::new(limits, now_unix_nano);
    let mut report = Report::default();
    let mut ri = 0;
    req.resource_metrics.retain_mut(|rm| {
        let r = ri;
        ri += 1;
        if let Err(f) = ctx.resource(rm.resource.as_ref()) {
            let n = rm
                .scope_metrics
                .iter()
                .flat_map(|s| &s.metrics)
                .map(metric_points)
                .sum();
            report.reject(n, |m| write!(m, "resource_metrics[{r}].resource"), &f);
            return false;
        }
        let mut si = 0;
        rm.scope_metrics.retain_mut(|sm| {
            let s = si;
            si += 1;
            if let Err(f) = ctx.scope(sm.scope.as_ref()) {
                let n = sm.metrics.iter().map(metric_points).sum();
                report.reject(
                    n,
                    |m| write!(m, "resource_metrics[{r}].scope_metrics[{s}].scope"),
                    &f,
                );
                return false;
            }
            let mut mi = 0;
            sm.metrics.retain_mut(|metric| {
                let k = mi;
                mi += 1;
                ctx.metric(metric, &mut report, |m| {
                    write!(m, "resource_metrics[{r}].scope_metrics[{s}].metrics[{k}]")
                })
            });
            !sm.metrics.is_empty()
        });
        !rm.scope_metrics.is_empty()
    });
    report.finish()
}

/// Number of spans in a request.
pub fn count_spans(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// Number of log records in a request.
pub fn count_log_records(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

/// Number of data points in a request (a metric without data counts 0).
pub fn count_data_points(req: &ExportMetricsServiceRequest) -> usize {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(metric_points)
        .sum()
}

fn metric_points(metric: &Metric) -> usize {
    match &metric.data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}

// ---------------------------------------------------------------------------
// Faults: built only on the error path.

/// One step of a path below the item being validated.
#[derive(Debug, Clone, Copy)]
enum Seg {
    Field(&'static str),
    Index(usize),
}

const MAX_SEGS: usize = 6;

/// Why an item was rejected: the path below the item, the problem, and the
/// attribute key involved when there is a valid one.
#[derive(Debug)]
struct Fault {
    segs: [Seg; MAX_SEGS],
    len: usize,
    key: Option<String>,
    problem: Problem,
}

/// Boxed so that the happy path returns a single null pointer.
type Check = Result<(), Box<Fault>>;

impl Fault {
    fn new(problem: Problem) -> Box<Self> {
        Box::new(Self {
            segs: [Seg::Field(""); MAX_SEGS],
            len: 0,
            key: None,
            problem,
        })
    }
}

/// Prefixes a fault's path with one more step (outermost last).
trait Under {
    fn under(self, seg: Seg) -> Self;
    fn field(self, name: &'static str) -> Self;
    fn index(self, i: usize) -> Self;
}

impl Under for Box<Fault> {
    fn under(mut self, seg: Seg) -> Self {
        debug_assert!(self.len < MAX_SEGS, "fault path too deep");
        if self.len < MAX_SEGS {
            self.segs.copy_within(0..self.len, 1);
            self.segs[0] = seg;
            self.len += 1;
        }
        self
    }
    fn field(self, name: &'static str) -> Self {
        self.under(Seg::Field(name))
    }
    fn index(self, i: usize) -> Self {
        self.under(Seg::Index(i))
    }
}

impl<T> Under for Result<T, Box<Fault>> {
    fn under(self, seg: Seg) -> Self {
        self.map_err(|f| f.under(seg))
    }
    fn field(self, name: &'static str) -> Self {
        self.under(Seg::Field(name))
    }
    fn index(self, i: usize) -> Self {
        self.under(Seg::Index(i))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.segs[..self.len] {
            match seg {
                Seg::Field(name) => write!(f, ".{name}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        write!(f, ": {}", self.problem)?;
        if let Some(key) = &self.key {
            write!(f, " (key {key:?})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Problem {
    IdLen {
        want: usize,
        got: usize,
    },
    IdEmptyOrLen {
        want: usize,
        got: usize,
    },
    AllZero,
    Zero,
    Empty,
    Missing,
    TooLong {
        len: usize,
        limit: usize,
    },
    NestedKeyTooLong {
        len: usize,
        limit: usize,
    },
    TooMany {
        count: usize,
        limit: usize,
    },
    Future {
        ahead_secs: u64,
        limit_secs: u64,
    },
    EndBeforeStart {
        start: u64,
        end: u64,
    },
    UnknownEnum(i32),
    Unspecified,
    TooDeep {
        limit: usize,
    },
    ValueTooLong {
        kind: &'static str,
        len: usize,
        limit: usize,
    },
    BodyTooLarge {
        limit: usize,
    },
    StrIndex,
    KeyStrIndex,
    NoData,
    BucketCounts {
        counts: usize,
        bounds: usize,
    },
    NotIncreasing {
        index: usize,
    },
    Quantile(f64),
    Scale(i32),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::IdLen { want, got } => write!(f, "must be {want} bytes, got {got}"),
            Self::IdEmptyOrLen { want, got } => {
                write!(f, "must be empty or {want} bytes, got {got}")
            }
            Self::AllZero => f.write_str("must not be all zeros"),
            Self::Zero => f.write_str("must not be 0"),
            Self::Empty => f.write_str("must not be empty"),
            Self::Missing => f.write_str("missing"),
            Self::TooLong { len, limit } => write!(f, "{len} bytes exceeds limit of {limit}"),
            Self::NestedKeyTooLong { len, limit } => {
                write!(f, "nested key of {len} bytes exceeds limit of {limit}")
            }
            Self::TooMany { count, limit } => {
                write!(f, "{count} entries exceed limit of {limit}")
            }
            Self::Future {
                ahead_secs,
                limit_secs,
            } => write!(
                f,
                "{ahead_secs}s in the future exceeds limit of {limit_secs}s"
            ),
            Self::EndBeforeStart { start, end } => {
                write!(f, "{end} is before start_time_unix_nano {start}")
            }
            Self::UnknownEnum(v) => write!(f, "unknown value {v}"),
            Self::Unspecified => f.write_str("must not be unspecified"),
            Self::TooDeep { limit } => write!(f, "nested deeper than {limit} levels"),
            Self::ValueTooLong { kind, len, limit } => {
                write!(f, "{kind} of {len} bytes exceeds limit of {limit}")
            }
            Self::BodyTooLarge { limit } => write!(f, "larger than limit of {limit} bytes"),
            Self::StrIndex => f.write_str("string_value_strindex is only valid in profiles"),
            Self::KeyStrIndex => f.write_str("key_strindex is only valid in profiles"),
            Self::NoData => f.write_str(
                "missing: metric has no gauge, sum, histogram, exponential_histogram or summary",
            ),
            Self::BucketCounts { counts, bounds } => write!(
                f,
                "{counts} entries for {bounds} explicit_bounds, want {}",
                bounds + 1
            ),
            Self::NotIncreasing { index } => {
                write!(f, "not strictly increasing at index {index}")
            }
            Self::Quantile(q) => write!(f, "{q} outside [0, 1]"),
            Self::Scale(s) => write!(
                f,
                "{s} outside [{MIN_EXPONENTIAL_SCALE}, {MAX_EXPONENTIAL_SCALE}]"
            ),
        }
    }
}

fn fail(field: &'static str, problem: Problem) -> Check {
    Err(Fault::new(problem).field(field))
}

// ---------------------------------------------------------------------------
// The report being built.

#[derive(Default)]
struct Report {
    items: i64,
    reasons: usize,
    message: String,
}

impl Report {
    /// Records one rejection of `items` items; `path` writes where the
    /// rejected item is (the fault's own path follows it).
    fn reject(
        &mut self,
        items: usize,
        path: impl FnOnce(&mut String) -> fmt::Result,
        fault: &Fault,
    ) {
        self.items = self
            .items
            .saturating_add(i64::try_from(items).unwrap_or(i64::MAX));
        self.reasons += 1;
        if self.reasons <= MAX_REASONS {
            if !self.message.is_empty() {
                self.message.push_str("; ");
            }
            // Writing to a String cannot fail.
            let _ = path(&mut self.message);
            let _ = write!(self.message, "{fault}");
        }
    }

    fn finish(mut self) -> Rejected {
        if self.reasons > MAX_REASONS {
            let _ = write!(self.message, "; and {} more", self.reasons - MAX_REASONS);
        }
        Rejected {
            items: self.items,
            message: self.message,
        }
    }
}

/// Keeps the valid items of `items`, reporting each invalid one (1 item).
fn retain_valid<T>(
    items: &mut Vec<T>,
    report: &mut Report,
    check: impl Fn(&T) -> Check,
    path: impl Fn(&mut String, usize) -> fmt::Result,
) {
    let mut next = 0;
    items.retain(|item| {
        let i = next;
        next += 1;
        match check(item) {
            Ok(()) => true,
            Err(fault) => {
                report.reject(1, |m| path(m, i), &fault);
                false
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Checks.

struct Ctx<'l> {
    limits: &'l Limits,
    now: u64,
    /// Latest acceptable timestamp.
    latest: u64,
}

fn id_exact(field: &'static str, id: &[u8], want: usize) -> Check {
    if id.len() != want {
        return fail(
            field,
            Problem::IdLen {
                want,
                got: id.len(),
            },
        );
    }
    Ok(())
}

fn id_exact_nonzero(field: &'static str, id: &[u8], want: usize) -> Check {
    id_exact(field, id, want)?;
    if id.iter().all(|&b| b == 0) {
        return fail(field, Problem::AllZero);
    }
    Ok(())
}

fn id_empty_or(field: &'static str, id: &[u8], want: usize) -> Check {
    if !id.is_empty() && id.len() != want {
        return fail(
            field,
            Problem::IdEmptyOrLen {
                want,
                got: id.len(),
            },
        );
    }
    Ok(())
}

fn max_len(field: &'static str, s: &str, limit: usize) -> Check {
    if s.len() > limit {
        return fail(
            field,
            Problem::TooLong {
                len: s.len(),
                limit,
            },
        );
    }
    Ok(())
}

fn name(field: &'static str, s: &str, limit: usize) -> Check {
    if s.is_empty() {
        return fail(field, Problem::Empty);
    }
    max_len(field, s, limit)
}

fn max_count(field: &'static str, count: usize, limit: usize) -> Check {
    if count > limit {
        return fail(field, Problem::TooMany { count, limit });
    }
    Ok(())
}

impl<'l> Ctx<'l> {
    fn new(limits: &'l Limits, now: u64) -> Self {
        let latest = if limits.max_future_skew_secs == 0 {
            u64::MAX
        } else {
            now.saturating_add(limits.max_future_skew_secs.saturating_mul(1_000_000_000))
        };
        Self {
            limits,
            now,
            latest,
        }
    }

    fn not_future(&self, field: &'static str, t: u64) -> Check {
        if t > self.latest {
            return fail(
                field,
                Problem::Future {
                    ahead_secs: (t - self.now) / 1_000_000_000,
                    limit_secs: self.limits.max_future_skew_secs,
                },
            );
        }
        Ok(())
    }

    fn attributes(&self, field: &'static str, attrs: &[KeyValue]) -> Check {
        max_count(field, attrs.len(), self.limits.max_attributes)?;
        for (i, kv) in attrs.iter().enumerate() {
            self.key_value(kv, true).index(i).field(field)?;
        }
        Ok(())
    }

    /// One attribute, or one entry of a nested key-value list
    /// (`top_level == false`, where an empty key is allowed).
    fn key_value(&self, kv: &KeyValue, top_level: bool) -> Check {
        if kv.key_strindex != 0 {
            return fail("key_strindex", Problem::KeyStrIndex);
        }
        if top_level && kv.key.is_empty() {
            return fail("key", Problem::Empty);
        }
        max_len("key", &kv.key, self.limits.max_attribute_key_bytes)?;
        if let Some(value) = &kv.value
            && let Err(problem) = self.any_value(value, 0)
        {
            let mut fault = Fault::new(problem).field("value");
            fault.key = Some(kv.key.clone());
            return Err(fault);
        }
        Ok(())
    }

    /// An attribute value at nesting `depth` (0 for the attribute itself).
    fn any_value(&self, v: &AnyValue, depth: usize) -> Result<(), Problem> {
        let limits = self.limits;
        match &v.value {
            None | Some(Value::BoolValue(_) | Value::IntValue(_) | Value::DoubleValue(_)) => Ok(()),
            Some(Value::StringValue(s)) => value_len("string", s.len(), limits),
            Some(Value::BytesValue(b)) => value_len("bytes", b.len(), limits),
            Some(Value::StringValueStrindex(_)) => Err(Problem::StrIndex),
            Some(Value::ArrayValue(a)) => {
                if depth >= limits.max_attribute_depth {
                    return Err(Problem::TooDeep {
                        limit: limits.max_attribute_depth,
                    });
                }
                a.values
                    .iter()
                    .try_for_each(|x| self.any_value(x, depth + 1))
            }
            Some(Value::KvlistValue(l)) => {
                if depth >= limits.max_attribute_depth {
                    return Err(Problem::TooDeep {
                        limit: limits.max_attribute_depth,
                    });
                }
                if l.values.len() > limits.max_attributes {
                    return Err(Problem::TooMany {
                        count: l.values.len(),
                        limit: limits.max_attributes,
                    });
                }
                for kv in &l.values {
                    if kv.key_strindex != 0 {
                        return Err(Problem::KeyStrIndex);
                    }
                    if kv.key.len() > limits.max_attribute_key_bytes {
                        return Err(Problem::NestedKeyTooLong {
                            len: kv.key.len(),
                            limit: limits.max_attribute_key_bytes,
                        });
                    }
                    if let Some(x) = &kv.value {
                        self.any_value(x, depth + 1)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// A log body: depth limit, and a size budget shared by the whole tree.
    fn body(&self, v: &AnyValue, depth: usize, budget: &mut usize) -> Result<(), Problem> {
        let limits = self.limits;
        let mut spend = |n: usize| {
            if n > *budget {
                Err(Problem::BodyTooLarge {
                    limit: limits.max_body_bytes,
                })
            } else {
                *budget -= n;
                Ok(())
            }
        };
        match &v.value {
            None => Ok(()),
            Some(Value::BoolValue(_)) => spend(1),
            Some(Value::IntValue(_) | Value::DoubleValue(_)) => spend(8),
            Some(Value::StringValue(s)) => spend(s.len()),
            Some(Value::BytesValue(b)) => spend(b.len()),
            Some(Value::StringValueStrindex(_)) => Err(Problem::StrIndex),
            Some(Value::ArrayValue(a)) => {
                if depth >= limits.max_attribute_depth {
                    return Err(Problem::TooDeep {
                        limit: limits.max_attribute_depth,
                    });
                }
                a.values
                    .iter()
                    .try_for_each(|x| self.body(x, depth + 1, budget))
            }
            Some(Value::KvlistValue(l)) => {
                if depth >= limits.max_attribute_depth {
                    return Err(Problem::TooDeep {
                        limit: limits.max_attribute_depth,
                    });
                }
                for kv in &l.values {
                    if kv.key_strindex != 0 {
                        return Err(Problem::KeyStrIndex);
                    }
                    if kv.key.len() > *budget {
                        return Err(Problem::BodyTooLarge {
                            limit: limits.max_body_bytes,
                        });
                    }
                    *budget -= kv.key.len();
                    if let Some(x) = &kv.value {
                        self.body(x, depth + 1, budget)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn resource(&self, resource: Option<&Resource>) -> Check {
        match resource {
            None => Ok(()),
            Some(r) => self.attributes("attributes", &r.attributes),
        }
    }

    fn scope(&self, scope: Option<&InstrumentationScope>) -> Check {
        let Some(scope) = scope else { return Ok(()) };
        max_len("name", &scope.name, self.limits.max_name_bytes)?;
        max_len("version", &scope.version, self.limits.max_name_bytes)?;
        self.attributes("attributes", &scope.attributes)
    }

    fn span(&self, span: &Span) -> Check {
        let limits = self.limits;
        id_exact_nonzero("trace_id", &span.trace_id, TRACE_ID_LEN)?;
        id_exact_nonzero("span_id", &span.span_id, SPAN_ID_LEN)?;
        id_empty_or("parent_span_id", &span.parent_span_id, SPAN_ID_LEN)?;
        name("name", &span.name, limits.max_name_bytes)?;
        if SpanKind::try_from(span.kind).is_err() {
            return fail("kind", Problem::UnknownEnum(span.kind));
        }
        if span.start_time_unix_nano == 0 {
            return fail("start_time_unix_nano", Problem::Zero);
        }
        if span.end_time_unix_nano < span.start_time_unix_nano {
            return fail(
                "end_time_unix_nano",
                Problem::EndBeforeStart {
                    start: span.start_time_unix_nano,
                    end: span.end_time_unix_nano,
                },
            );
        }
        self.not_future("start_time_unix_nano", span.start_time_unix_nano)?;
        self.not_future("end_time_unix_nano", span.end_time_unix_nano)?;
        max_len(
            "trace_state",
            &span.trace_state,
            limits.max_attribute_value_bytes,
        )?;
        if let Some(status) = &span.status {
            self.status(status).field("status")?;
        }
        self.attributes("attributes", &span.attributes)?;
        max_count("events", span.events.len(), limits.max_events_per_span)?;
        for (i, event) in span.events.iter().enumerate() {
            self.event(event).index(i).field("events")?;
        }
        max_count("links", span.links.len(), limits.max_links_per_span)?;
        for (i, link) in span.links.iter().enumerate() {
            self.link(link).index(i).field("links")?;
        }
        Ok(())
    }

    fn status(&self, status: &Status) -> Check {
        if StatusCode::try_from(status.code).is_err() {
            return fail("code", Problem::UnknownEnum(status.code));
        }
        max_len(
            "message",
            &status.message,
            self.limits.max_attribute_value_bytes,
        )
    }

    fn event(&self, event: &Event) -> Check {
        self.not_future("time_unix_nano", event.time_unix_nano)?;
        max_len("name", &event.name, self.limits.max_name_bytes)?;
        self.attributes("attributes", &event.attributes)
    }

    fn link(&self, link: &Link) -> Check {
        id_exact("trace_id", &link.trace_id, TRACE_ID_LEN)?;
        id_exact("span_id", &link.span_id, SPAN_ID_LEN)?;
        max_len(
            "trace_state",
            &link.trace_state,
            self.limits.max_attribute_value_bytes,
        )?;
        self.attributes("attributes", &link.attributes)
    }

    fn log_record(&self, rec: &LogRecord) -> Check {
        let limits = self.limits;
        id_empty_or("trace_id", &rec.trace_id, TRACE_ID_LEN)?;
        id_empty_or("span_id", &rec.span_id, SPAN_ID_LEN)?;
        self.not_future("time_unix_nano", rec.time_unix_nano)?;
        self.not_future("observed_time_unix_nano", rec.observed_time_unix_nano)?;
        if SeverityNumber::try_from(rec.severity_number).is_err() {
            return fail("severity_number", Problem::UnknownEnum(rec.severity_number));
        }
        max_len("severity_text", &rec.severity_text, limits.max_name_bytes)?;
        max_len("event_name", &rec.event_name, limits.max_name_bytes)?;
        if let Some(body) = &rec.body {
            let mut budget = limits.max_body_bytes;
            if let Err(problem) = self.body(body, 0, &mut budget) {
                return fail("body", problem);
            }
        }
        self.attributes("attributes", &rec.attributes)
    }

    /// Validates one metric and its data points; returns whether to keep it.
    fn metric(
        &self,
        metric: &mut Metric,
        report: &mut Report,
        path: impl Fn(&mut String) -> fmt::Result,
    ) -> bool {
        if let Err(f) = self.metric_header(metric) {
            report.reject(metric_points(metric), &path, &f);
            return false;
        }
        let Some(data) = &mut metric.data else {
            report.reject(0, &path, &Fault::new(Problem::NoData).field("data"));
            return false;
        };
        macro_rules! points {
            ($points:expr, $kind:literal, $check:expr) => {{
                retain_valid($points, report, $check, |m, i| {
                    path(m)?;
                    write!(m, concat!(".", $kind, ".data_points[{}]"), i)
                });
                !$points.is_empty()
            }};
        }
        match data {
            Data::Gauge(g) => points!(&mut g.data_points, "gauge", |p| self.number_point(p)),
            Data::Sum(s) => {
                if let Err(f) = temporality(s.aggregation_temporality).field("sum") {
                    report.reject(s.data_points.len(), &path, &f);
                    return false;
                }
                points!(&mut s.data_points, "sum", |p| self.number_point(p))
            }
            Data::Histogram(h) => {
                if let Err(f) = temporality(h.aggregation_temporality).field("histogram") {
                    report.reject(h.data_points.len(), &path, &f);
                    return false;
                }
                points!(&mut h.data_points, "histogram", |p| self.histogram_point(p))
            }
            Data::ExponentialHistogram(h) => {
                if let Err(f) =
                    temporality(h.aggregation_temporality).field("exponential_histogram")
                {
                    report.reject(h.data_points.len(), &path, &f);
                    return false;
                }
                points!(&mut h.data_points, "exponential_histogram", |p| self
                    .exponential_point(p))
            }
            Data::Summary(s) => points!(&mut s.data_points, "summary", |p| self.summary_point(p)),
        }
    }

    fn metric_header(&self, metric: &Metric) -> Check {
        let limits = self.limits;
        name("name", &metric.name, limits.max_name_bytes)?;
        max_len("unit", &metric.unit, limits.max_name_bytes)?;
        max_len(
            "description",
            &metric.description,
            limits.max_attribute_value_bytes,
        )?;
        self.attributes("metadata", &metric.metadata)
    }

    /// Checks shared by every kind of data point.
    fn point_common(
        &self,
        attributes: &[KeyValue],
        start: u64,
        time: u64,
        exemplars: &[Exemplar],
    ) -> Check {
        if time == 0 {
            return fail("time_unix_nano", Problem::Zero);
        }
        self.not_future("time_unix_nano", time)?;
        self.not_future("start_time_unix_nano", start)?;
        self.attributes("attributes", attributes)?;
        for (i, ex) in exemplars.iter().enumerate() {
            self.exemplar(ex).index(i).field("exemplars")?;
        }
        Ok(())
    }

    fn exemplar(&self, ex: &Exemplar) -> Check {
        id_empty_or("trace_id", &ex.trace_id, TRACE_ID_LEN)?;
        id_empty_or("span_id", &ex.span_id, SPAN_ID_LEN)?;
        self.not_future("time_unix_nano", ex.time_unix_nano)?;
        self.attributes("filtered_attributes", &ex.filtered_attributes)
    }

    fn number_point(&self, p: &NumberDataPoint) -> Check {
        self.point_common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            &p.exemplars,
        )?;
        if p.value.is_none() && p.flags & DataPointFlags::NoRecordedValueMask as u32 == 0 {
            return fail("value", Problem::Missing);
        }
        Ok(())
    }

    fn histogram_point(&self, p: &HistogramDataPoint) -> Check {
        self.point_common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            &p.exemplars,
        )?;
        let (counts, bounds) = (p.bucket_counts.len(), p.explicit_bounds.len());
        if counts != bounds + 1 && !(counts == 0 && bounds == 0) {
            return fail("bucket_counts", Problem::BucketCounts { counts, bounds });
        }
        // `!(a < b)` rather than `a >= b` so that NaN fails too.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if let Some(i) = p.explicit_bounds.windows(2).position(|w| !(w[0] < w[1])) {
            return fail("explicit_bounds", Problem::NotIncreasing { index: i + 1 });
        }
        Ok(())
    }

    fn exponential_point(&self, p: &ExponentialHistogramDataPoint) -> Check {
        self.point_common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            &p.exemplars,
        )?;
        if !(MIN_EXPONENTIAL_SCALE..=MAX_EXPONENTIAL_SCALE).contains(&p.scale) {
            return fail("scale", Problem::Scale(p.scale));
        }
        Ok(())
    }

    fn summary_point(&self, p: &SummaryDataPoint) -> Check {
        self.point_common(&p.attributes, p.start_time_unix_nano, p.time_unix_nano, &[])?;
        for (i, q) in p.quantile_values.iter().enumerate() {
            if !(0.0..=1.0).contains(&q.quantile) {
                return Err(Fault::new(Problem::Quantile(q.quantile))
                    .field("quantile")
                    .index(i)
                    .field("quantile_values"));
            }
        }
        Ok(())
    }
}

fn value_len(kind: &'static str, len: usize, limits: &Limits) -> Result<(), Problem> {
    if len > limits.max_attribute_value_bytes {
        return Err(Problem::ValueTooLong {
            kind,
            len,
            limit: limits.max_attribute_value_bytes,
        });
    }
    Ok(())
}

fn temporality(value: i32) -> Check {
    match AggregationTemporality::try_from(value) {
        Ok(AggregationTemporality::Unspecified) => {
            fail("aggregation_temporality", Problem::Unspecified)
        }
        Ok(_) => Ok(()),
        Err(_) => fail("aggregation_temporality", Problem::UnknownEnum(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::otlp::tonic::{
        common::v1::{ArrayValue, KeyValueList},
        logs::v1::{ResourceLogs, ScopeLogs},
        metrics::v1::{
            ExponentialHistogram, Gauge, Histogram, ResourceMetrics, ScopeMetrics, Sum, Summary,
            exemplar, exponential_histogram_data_point::Buckets, number_data_point,
            summary_data_point::ValueAtQuantile,
        },
        trace::v1::{ResourceSpans, ScopeSpans},
    };

    const SEC: u64 = 1_000_000_000;
    const NOW: u64 = 1_700_000_000 * SEC;
    const DAY: u64 = 86_400 * SEC;

    fn limits() -> Limits {
        Limits::default()
    }

    fn string(s: impl Into<String>) -> AnyValue {
        AnyValue {
            value: Some(Value::StringValue(s.into())),
        }
    }

    fn kv(key: &str, value: AnyValue) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(value),
            key_strindex: 0,
        }
    }

    fn attrs() -> Vec<KeyValue> {
        vec![
            kv("http.method", string("GET")),
            kv(
                "http.status_code",
                AnyValue {
                    value: Some(Value::IntValue(200)),
                },
            ),
            kv(
                "tags",
                AnyValue {
                    value: Some(Value::ArrayValue(ArrayValue {
                        values: vec![string("a"), string("b")],
                    })),
                },
            ),
        ]
    }

    fn array(values: Vec<AnyValue>) -> AnyValue {
        AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values })),
        }
    }

    fn kvlist(values: Vec<KeyValue>) -> AnyValue {
        AnyValue {
            value: Some(Value::KvlistValue(KeyValueList { values })),
        }
    }

    /// `levels` nested containers (alternating arrays and kvlists) around a
    /// string; `levels == 0` is the bare string.
    fn nested(levels: usize) -> AnyValue {
        let mut v = string("leaf");
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
            attributes: vec![kv("service.name", string("checkout"))],
            ..Default::default()
        }
    }

    fn scope() -> InstrumentationScope {
        InstrumentationScope {
            name: "io.opentelemetry.test".into(),
            version: "1.0".into(),
            attributes: vec![kv("scope.attr", string("x"))],
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
            |s| s.events[0].attributes = vec![kv("a", string("b")); 129],
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
                message: "resource_spans[0].scope_spans[0].spans[1].events: 1 entries exceed limit of 0; \
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
                .map(|i| kv(&format!("k{i}"), string("v")))
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
        span_accepted(|s| s.attributes = vec![kv("a", string("b")); 128]);
        span_rejected(
            |s| s.attributes = vec![kv("a", string("b")); 129],
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
        span_accepted(|s| s.attributes.push(kv("big", string("v".repeat(65_536)))));
        span_rejected(
            |s| s.attributes.push(kv("big", string("v".repeat(65_537)))),
            ".attributes[3].value: string of 65537 bytes exceeds limit of 65536 (key \"big\")",
        );
        span_rejected(
            |s| {
                s.attributes.push(kv(
                    "blob",
                    AnyValue {
                        value: Some(Value::BytesValue(vec![0; 65_537])),
                    },
                ))
            },
            ".attributes[3].value: bytes of 65537 bytes exceeds limit of 65536 (key \"blob\")",
        );
        // Huge strings (10 MiB).
        span_rejected(
            |s| s.attributes[0].value = Some(string("x".repeat(10 << 20))),
            ".attributes[0].value: string of 10485760 bytes exceeds limit of 65536 (key \"http.method\")",
        );
        // Nested strings are limited too.
        span_rejected(
            |s| {
                s.attributes[2].value = Some(array(vec![
                    string("ok"),
                    kvlist(vec![kv("inner", string("v".repeat(65_537)))]),
                ]))
            },
            ".attributes[2].value: string of 65537 bytes exceeds limit of 65536 (key \"tags\")",
        );
        span_rejected(
            |s| {
                s.attributes[0].value = Some(AnyValue {
                    value: Some(Value::StringValueStrindex(1)),
                })
            },
            ".attributes[0].value: string_value_strindex is only valid in profiles (key \"http.method\")",
        );
        // Keys quoted safely in messages.
        span_rejected(
            |s| s.attributes.push(kv("a\"b\n", string("v".repeat(65_537)))),
            ".attributes[3].value: string of 65537 bytes exceeds limit of 65536 (key \"a\\\"b\\n\")",
        );
    }

    #[test]
    fn nested_kvlist_rules() {
        // Empty keys are fine inside a map value, long ones are not.
        span_accepted(|s| {
            s.attributes
                .push(kv("m", kvlist(vec![kv("", string("v"))])))
        });
        span_rejected(
            |s| {
                s.attributes
                    .push(kv("m", kvlist(vec![kv(&"k".repeat(257), string("v"))])))
            },
            ".attributes[3].value: nested key of 257 bytes exceeds limit of 256 (key \"m\")",
        );
        span_accepted(|s| {
            s.attributes
                .push(kv("m", kvlist(vec![kv("k", string("v")); 128])))
        });
        span_rejected(
            |s| {
                s.attributes
                    .push(kv("m", kvlist(vec![kv("k", string("v")); 129])))
            },
            ".attributes[3].value: 129 entries exceed limit of 128 (key \"m\")",
        );
        // Arrays have no element-count limit of their own.
        span_accepted(|s| s.attributes.push(kv("a", array(vec![string("v"); 10_000]))));
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
            .push(kv("", string("x")));
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
            vec![kv("a", string("b")); 100_000];
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
            body: Some(string(format!("log-{n}"))),
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
        assert_eq!(log_bodies(&req), [string("log-0"), string("log-2")]);
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
        log_accepted(|r| r.body = Some(string("b".repeat(1 << 20))));
        log_rejected(
            |r| r.body = Some(string("b".repeat((1 << 20) + 1))),
            ".body: larger than limit of 1048576 bytes",
        );
        // Body strings are not limited by max_attribute_value_bytes.
        log_accepted(|r| r.body = Some(string("b".repeat(100_000))));
        // Size adds up across a structured body, keys included.
        log_accepted(|r| {
            r.body = Some(kvlist(vec![
                kv("k", string("v".repeat(524_287))),
                kv("l", string("v".repeat(524_287))),
            ]))
        });
        log_rejected(
            |r| {
                r.body = Some(kvlist(vec![
                    kv("k", string("v".repeat(524_288))),
                    kv("l", string("v".repeat(524_287))),
                ]))
            },
            ".body: larger than limit of 1048576 bytes",
        );
        let small = Limits {
            max_body_bytes: 17,
            ..limits()
        };
        // 8 + 8 + 1 = 17 bytes of scalars.
        let scalars = || {
            array(vec![
                AnyValue {
                    value: Some(Value::IntValue(1)),
                },
                AnyValue {
                    value: Some(Value::DoubleValue(1.0)),
                },
                AnyValue {
                    value: Some(Value::BoolValue(true)),
                },
            ])
        };
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
            |r| {
                r.body = Some(AnyValue {
                    value: Some(Value::BytesValue(vec![0; (1 << 20) + 1])),
                })
            },
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
            |r| {
                r.body = Some(AnyValue {
                    value: Some(Value::StringValueStrindex(2)),
                })
            },
            ".body: string_value_strindex is only valid in profiles",
        );
        // Wide bodies are fine when within the size limit.
        log_accepted(|r| r.body = Some(kvlist(vec![kv("", string("v")); 10_000])));
    }

    #[test]
    fn log_attributes() {
        log_rejected(
            |r| r.attributes = vec![kv("a", string("b")); 100_000],
            ".attributes: 100000 entries exceed limit of 128",
        );
        log_rejected(
            |r| r.attributes[0].key.clear(),
            ".attributes[0].key: must not be empty",
        );
        log_rejected(
            |r| r.attributes[1].value = Some(string("x".repeat(70_000))),
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
            .attributes = vec![kv("a", string("b")); 129];
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
        assert_eq!(log_bodies(&req)[0], string("log-4"));
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
            |ms| ms[4].metadata = vec![kv("", string("x"))],
            1,
            &format!("{M}[4].metadata[0].key: must not be empty"),
        );
        let req = metrics_outcome(
            |ms| ms[1].metadata = vec![kv("a", string("b")); 200],
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
                g.data_points[0].attributes = vec![kv("a", string("b")); 100_000];
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
            &format!(
                "{M}[3].exponential_histogram.aggregation_temporality: must not be unspecified"
            ),
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
                format!(
                    "{M}[3].exponential_histogram.data_points[0].scale: {scale} outside [-10, 20]"
                )
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
        let Some(Data::Gauge(g)) = &mut req.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
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
            .value = Some(string("x".repeat(100_000)));
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
}
