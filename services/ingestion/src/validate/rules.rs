//! The rules (see the module docs of [`super`]): one check per OTLP
//! message, each returning the first [`Fault`] it finds.

use std::fmt::{self, Write as _};

use airis_proto::otlp::tonic::{
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

use super::Limits;
use super::fault::{Check, Fault, Problem, Under as _, fail};
use super::report::{Report, retain_valid};

const TRACE_ID_LEN: usize = 16;
const SPAN_ID_LEN: usize = 8;
pub(super) const MIN_EXPONENTIAL_SCALE: i32 = -10;
pub(super) const MAX_EXPONENTIAL_SCALE: i32 = 20;

/// What every check needs: the limits and the time the request arrived.
pub(super) struct Ctx<'l> {
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
    pub(super) fn new(limits: &'l Limits, now: u64) -> Self {
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

    pub(super) fn resource(&self, resource: Option<&Resource>) -> Check {
        match resource {
            None => Ok(()),
            Some(r) => self.attributes("attributes", &r.attributes),
        }
    }

    pub(super) fn scope(&self, scope: Option<&InstrumentationScope>) -> Check {
        let Some(scope) = scope else { return Ok(()) };
        max_len("name", &scope.name, self.limits.max_name_bytes)?;
        max_len("version", &scope.version, self.limits.max_name_bytes)?;
        self.attributes("attributes", &scope.attributes)
    }

    pub(super) fn span(&self, span: &Span) -> Check {
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

    pub(super) fn log_record(&self, rec: &LogRecord) -> Check {
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
    pub(super) fn metric(
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

/// The data points of a metric (0 for a metric without data).
pub(super) fn metric_points(metric: &Metric) -> usize {
    match &metric.data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}
