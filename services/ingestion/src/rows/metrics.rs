//! Metric data points → one table per metric type: [`tables::METRICS_GAUGE`],
//! [`tables::METRICS_SUM`], [`tables::METRICS_HISTOGRAM`],
//! [`tables::METRICS_EXP_HISTOGRAM`] and [`tables::METRICS_SUMMARY`].

use airis_proto::otlp::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use airis_proto::otlp::tonic::common::v1::KeyValue;
use airis_proto::otlp::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use airis_proto::prost::{self, Message as _};

use super::ser::{AnyStr, Attrs, Column, HexFixed, nanos};
use super::{Batch, Tenanted, resource_attributes, scope_parts, service_name};
use airis_store::{insert, tables};

/// Data points of many export requests, inserted into the five metric tables.
#[derive(Default)]
pub struct MetricBatch {
    requests: Vec<Tenanted<ExportMetricsServiceRequest>>,
    counts: Counts,
}

/// Data points per metric type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    gauge: usize,
    sum: usize,
    histogram: usize,
    exponential_histogram: usize,
    summary: usize,
}

impl Counts {
    fn add(&mut self, data: &Data) {
        match data {
            Data::Gauge(g) => self.gauge += g.data_points.len(),
            Data::Sum(s) => self.sum += s.data_points.len(),
            Data::Histogram(h) => self.histogram += h.data_points.len(),
            Data::ExponentialHistogram(e) => self.exponential_histogram += e.data_points.len(),
            Data::Summary(s) => self.summary += s.data_points.len(),
        }
    }

    fn total(&self) -> usize {
        self.gauge + self.sum + self.histogram + self.exponential_histogram + self.summary
    }
}

/// Everything above a data point in the request.
#[derive(Clone, Copy)]
struct MetricContext<'a> {
    tenant: &'a str,
    resource_attributes: &'a [KeyValue],
    resource_schema_url: &'a str,
    scope_name: &'a str,
    scope_version: &'a str,
    scope_attributes: &'a [KeyValue],
    scope_dropped_attr_count: u32,
    scope_schema_url: &'a str,
    service_name: AnyStr<'a>,
    metric: &'a Metric,
}

/// Declares a metric row: the columns every metric table starts with, then
/// the type's own.
macro_rules! metric_row {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(clickhouse::Row, serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub(crate) struct $name<'a> {
            tenant_id: &'a str,
            resource_attributes: Attrs<'a>,
            resource_schema_url: &'a str,
            scope_name: &'a str,
            scope_version: &'a str,
            scope_attributes: Attrs<'a>,
            scope_dropped_attr_count: u32,
            scope_schema_url: &'a str,
            service_name: AnyStr<'a>,
            metric_name: &'a str,
            metric_description: &'a str,
            metric_unit: &'a str,
            attributes: Attrs<'a>,
            start_time_unix: i64,
            time_unix: i64,
            $($(#[$field_meta])* $field: $ty,)*
        }
    };
}

/// Builds a metric row from its context, data point and own fields.
macro_rules! metric_row_value {
    ($name:ident, $ctx:expr, $dp:expr, { $($field:ident : $value:expr),* $(,)? }) => {{
        let ctx: MetricContext<'_> = $ctx;
        $name {
            tenant_id: ctx.tenant,
            resource_attributes: Attrs(ctx.resource_attributes),
            resource_schema_url: ctx.resource_schema_url,
            scope_name: ctx.scope_name,
            scope_version: ctx.scope_version,
            scope_attributes: Attrs(ctx.scope_attributes),
            scope_dropped_attr_count: ctx.scope_dropped_attr_count,
            scope_schema_url: ctx.scope_schema_url,
            service_name: ctx.service_name,
            metric_name: &ctx.metric.name,
            metric_description: &ctx.metric.description,
            metric_unit: &ctx.metric.unit,
            attributes: Attrs(&$dp.attributes),
            start_time_unix: nanos($dp.start_time_unix_nano),
            time_unix: nanos($dp.time_unix_nano),
            $($field: $value,)*
        }
    }};
}

/// The `Exemplars` nested columns of a data point.
macro_rules! exemplar_columns {
    ($exemplars:expr) => {{
        let exemplars: &[Exemplar] = $exemplars;
        ExemplarColumns {
            filtered_attributes: Column(exemplars, |e| Attrs(&e.filtered_attributes)),
            time_unix: Column(exemplars, |e| nanos(e.time_unix_nano)),
            value: Column(exemplars, exemplar_value),
            span_id: Column(exemplars, |e| HexFixed(&e.span_id)),
            trace_id: Column(exemplars, |e| HexFixed(&e.trace_id)),
        }
    }};
}

struct ExemplarColumns<'a> {
    filtered_attributes: Column<'a, Exemplar, Attrs<'a>>,
    time_unix: Column<'a, Exemplar, i64>,
    value: Column<'a, Exemplar, f64>,
    span_id: Column<'a, Exemplar, HexFixed<'a, 8>>,
    trace_id: Column<'a, Exemplar, HexFixed<'a, 16>>,
}

fn exemplar_value(exemplar: &Exemplar) -> f64 {
    match exemplar.value {
        Some(exemplar::Value::AsDouble(v)) => v,
        Some(exemplar::Value::AsInt(v)) => v as f64,
        None => 0.0,
    }
}

fn number_value(dp: &NumberDataPoint) -> f64 {
    match dp.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => 0.0,
    }
}

const NO_BUCKET_COUNTS: &[u64] = &[];

fn buckets(buckets: Option<&Buckets>) -> (i32, &[u64]) {
    buckets.map_or((0, NO_BUCKET_COUNTS), |b| {
        (b.offset, b.bucket_counts.as_slice())
    })
}

metric_row! {
    /// One row of [`tables::METRICS_GAUGE`].
    GaugeRow {
        value: f64,
        flags: u32,
        #[serde(rename = "Exemplars.FilteredAttributes")]
        exemplars_filtered_attributes: Column<'a, Exemplar, Attrs<'a>>,
        #[serde(rename = "Exemplars.TimeUnix")]
        exemplars_time_unix: Column<'a, Exemplar, i64>,
        #[serde(rename = "Exemplars.Value")]
        exemplars_value: Column<'a, Exemplar, f64>,
        #[serde(rename = "Exemplars.SpanId")]
        exemplars_span_id: Column<'a, Exemplar, HexFixed<'a, 8>>,
        #[serde(rename = "Exemplars.TraceId")]
        exemplars_trace_id: Column<'a, Exemplar, HexFixed<'a, 16>>,
    }
}

metric_row! {
    /// One row of [`tables::METRICS_SUM`].
    SumRow {
        value: f64,
        flags: u32,
        #[serde(rename = "Exemplars.FilteredAttributes")]
        exemplars_filtered_attributes: Column<'a, Exemplar, Attrs<'a>>,
        #[serde(rename = "Exemplars.TimeUnix")]
        exemplars_time_unix: Column<'a, Exemplar, i64>,
        #[serde(rename = "Exemplars.Value")]
        exemplars_value: Column<'a, Exemplar, f64>,
        #[serde(rename = "Exemplars.SpanId")]
        exemplars_span_id: Column<'a, Exemplar, HexFixed<'a, 8>>,
        #[serde(rename = "Exemplars.TraceId")]
        exemplars_trace_id: Column<'a, Exemplar, HexFixed<'a, 16>>,
        aggregation_temporality: i32,
        is_monotonic: bool,
    }
}

metric_row! {
    /// One row of [`tables::METRICS_HISTOGRAM`].
    HistogramRow {
        count: u64,
        sum: f64,
        bucket_counts: &'a [u64],
        explicit_bounds: &'a [f64],
        #[serde(rename = "Exemplars.FilteredAttributes")]
        exemplars_filtered_attributes: Column<'a, Exemplar, Attrs<'a>>,
        #[serde(rename = "Exemplars.TimeUnix")]
        exemplars_time_unix: Column<'a, Exemplar, i64>,
        #[serde(rename = "Exemplars.Value")]
        exemplars_value: Column<'a, Exemplar, f64>,
        #[serde(rename = "Exemplars.SpanId")]
        exemplars_span_id: Column<'a, Exemplar, HexFixed<'a, 8>>,
        #[serde(rename = "Exemplars.TraceId")]
        exemplars_trace_id: Column<'a, Exemplar, HexFixed<'a, 16>>,
        flags: u32,
        min: f64,
        max: f64,
        aggregation_temporality: i32,
    }
}

metric_row! {
    /// One row of [`tables::METRICS_EXP_HISTOGRAM`].
    ExpHistogramRow {
        count: u64,
        sum: f64,
        scale: i32,
        zero_count: u64,
        positive_offset: i32,
        positive_bucket_counts: &'a [u64],
        negative_offset: i32,
        negative_bucket_counts: &'a [u64],
        #[serde(rename = "Exemplars.FilteredAttributes")]
        exemplars_filtered_attributes: Column<'a, Exemplar, Attrs<'a>>,
        #[serde(rename = "Exemplars.TimeUnix")]
        exemplars_time_unix: Column<'a, Exemplar, i64>,
        #[serde(rename = "Exemplars.Value")]
        exemplars_value: Column<'a, Exemplar, f64>,
        #[serde(rename = "Exemplars.SpanId")]
        exemplars_span_id: Column<'a, Exemplar, HexFixed<'a, 8>>,
        #[serde(rename = "Exemplars.TraceId")]
        exemplars_trace_id: Column<'a, Exemplar, HexFixed<'a, 16>>,
        flags: u32,
        min: f64,
        max: f64,
        aggregation_temporality: i32,
    }
}

metric_row! {
    /// One row of [`tables::METRICS_SUMMARY`].
    SummaryRow {
        count: u64,
        sum: f64,
        #[serde(rename = "ValueAtQuantiles.Quantile")]
        value_at_quantiles_quantile: Column<'a, ValueAtQuantile, f64>,
        #[serde(rename = "ValueAtQuantiles.Value")]
        value_at_quantiles_value: Column<'a, ValueAtQuantile, f64>,
        flags: u32,
    }
}

impl<'a> GaugeRow<'a> {
    fn new(ctx: MetricContext<'a>, dp: &'a NumberDataPoint) -> Self {
        let ex = exemplar_columns!(&dp.exemplars);
        metric_row_value!(GaugeRow, ctx, dp, {
            value: number_value(dp),
            flags: dp.flags,
            exemplars_filtered_attributes: ex.filtered_attributes,
            exemplars_time_unix: ex.time_unix,
            exemplars_value: ex.value,
            exemplars_span_id: ex.span_id,
            exemplars_trace_id: ex.trace_id,
        })
    }
}

impl<'a> SumRow<'a> {
    fn new(
        ctx: MetricContext<'a>,
        temporality: i32,
        monotonic: bool,
        dp: &'a NumberDataPoint,
    ) -> Self {
        let ex = exemplar_columns!(&dp.exemplars);
        metric_row_value!(SumRow, ctx, dp, {
            value: number_value(dp),
            flags: dp.flags,
            exemplars_filtered_attributes: ex.filtered_attributes,
            exemplars_time_unix: ex.time_unix,
            exemplars_value: ex.value,
            exemplars_span_id: ex.span_id,
            exemplars_trace_id: ex.trace_id,
            aggregation_temporality: temporality,
            is_monotonic: monotonic,
        })
    }
}

impl<'a> HistogramRow<'a> {
    fn new(ctx: MetricContext<'a>, temporality: i32, dp: &'a HistogramDataPoint) -> Self {
        let ex = exemplar_columns!(&dp.exemplars);
        metric_row_value!(HistogramRow, ctx, dp, {
            count: dp.count,
            sum: dp.sum.unwrap_or(0.0),
            bucket_counts: &dp.bucket_counts,
            explicit_bounds: &dp.explicit_bounds,
            exemplars_filtered_attributes: ex.filtered_attributes,
            exemplars_time_unix: ex.time_unix,
            exemplars_value: ex.value,
            exemplars_span_id: ex.span_id,
            exemplars_trace_id: ex.trace_id,
            flags: dp.flags,
            min: dp.min.unwrap_or(0.0),
            max: dp.max.unwrap_or(0.0),
            aggregation_temporality: temporality,
        })
    }
}

impl<'a> ExpHistogramRow<'a> {
    fn new(
        ctx: MetricContext<'a>,
        temporality: i32,
        dp: &'a ExponentialHistogramDataPoint,
    ) -> Self {
        let ex = exemplar_columns!(&dp.exemplars);
        let (positive_offset, positive_bucket_counts) = buckets(dp.positive.as_ref());
        let (negative_offset, negative_bucket_counts) = buckets(dp.negative.as_ref());
        metric_row_value!(ExpHistogramRow, ctx, dp, {
            count: dp.count,
            sum: dp.sum.unwrap_or(0.0),
            scale: dp.scale,
            zero_count: dp.zero_count,
            positive_offset: positive_offset,
            positive_bucket_counts: positive_bucket_counts,
            negative_offset: negative_offset,
            negative_bucket_counts: negative_bucket_counts,
            exemplars_filtered_attributes: ex.filtered_attributes,
            exemplars_time_unix: ex.time_unix,
            exemplars_value: ex.value,
            exemplars_span_id: ex.span_id,
            exemplars_trace_id: ex.trace_id,
            flags: dp.flags,
            min: dp.min.unwrap_or(0.0),
            max: dp.max.unwrap_or(0.0),
            aggregation_temporality: temporality,
        })
    }
}

impl<'a> SummaryRow<'a> {
    fn new(ctx: MetricContext<'a>, dp: &'a SummaryDataPoint) -> Self {
        metric_row_value!(SummaryRow, ctx, dp, {
            count: dp.count,
            sum: dp.sum,
            value_at_quantiles_quantile: Column(&dp.quantile_values, |q| q.quantile),
            value_at_quantiles_value: Column(&dp.quantile_values, |q| q.value),
            flags: dp.flags,
        })
    }
}

impl MetricBatch {
    /// Every metric of the batch with its context, in push order.
    fn metrics(&self) -> impl Iterator<Item = MetricContext<'_>> + Send + '_ {
        self.requests.iter().flat_map(|entry| {
            let tenant = &*entry.tenant;
            entry.request.resource_metrics.iter().flat_map(move |rm| {
                let resource_attributes = resource_attributes(rm.resource.as_ref());
                let service_name = service_name(resource_attributes);
                let resource_schema_url = rm.schema_url.as_str();
                rm.scope_metrics.iter().flat_map(move |sm| {
                    let (scope_name, scope_version, scope_attributes, scope_dropped_attr_count) =
                        scope_parts(sm.scope.as_ref());
                    let scope_schema_url = sm.schema_url.as_str();
                    sm.metrics.iter().map(move |metric| MetricContext {
                        tenant,
                        resource_attributes,
                        resource_schema_url,
                        scope_name,
                        scope_version,
                        scope_attributes,
                        scope_dropped_attr_count,
                        scope_schema_url,
                        service_name,
                        metric,
                    })
                })
            })
        })
    }

    pub(crate) fn gauge_rows(&self) -> impl Iterator<Item = GaugeRow<'_>> + Send + '_ {
        self.metrics().flat_map(|ctx| {
            let points = match &ctx.metric.data {
                Some(Data::Gauge(g)) => g.data_points.as_slice(),
                _ => &[],
            };
            points.iter().map(move |dp| GaugeRow::new(ctx, dp))
        })
    }

    pub(crate) fn sum_rows(&self) -> impl Iterator<Item = SumRow<'_>> + Send + '_ {
        self.metrics().flat_map(|ctx| {
            let (points, temporality, monotonic) = match &ctx.metric.data {
                Some(Data::Sum(s)) => (
                    s.data_points.as_slice(),
                    s.aggregation_temporality,
                    s.is_monotonic,
                ),
                _ => (&[][..], 0, false),
            };
            points
                .iter()
                .map(move |dp| SumRow::new(ctx, temporality, monotonic, dp))
        })
    }

    pub(crate) fn histogram_rows(&self) -> impl Iterator<Item = HistogramRow<'_>> + Send + '_ {
        self.metrics().flat_map(|ctx| {
            let (points, temporality) = match &ctx.metric.data {
                Some(Data::Histogram(h)) => (h.data_points.as_slice(), h.aggregation_temporality),
                _ => (&[][..], 0),
            };
            points
                .iter()
                .map(move |dp| HistogramRow::new(ctx, temporality, dp))
        })
    }

    pub(crate) fn exp_histogram_rows(
        &self,
    ) -> impl Iterator<Item = ExpHistogramRow<'_>> + Send + '_ {
        self.metrics().flat_map(|ctx| {
            let (points, temporality) = match &ctx.metric.data {
                Some(Data::ExponentialHistogram(e)) => {
                    (e.data_points.as_slice(), e.aggregation_temporality)
                }
                _ => (&[][..], 0),
            };
            points
                .iter()
                .map(move |dp| ExpHistogramRow::new(ctx, temporality, dp))
        })
    }

    pub(crate) fn summary_rows(&self) -> impl Iterator<Item = SummaryRow<'_>> + Send + '_ {
        self.metrics().flat_map(|ctx| {
            let points = match &ctx.metric.data {
                Some(Data::Summary(s)) => s.data_points.as_slice(),
                _ => &[],
            };
            points.iter().map(move |dp| SummaryRow::new(ctx, dp))
        })
    }
}

impl Batch for MetricBatch {
    fn push_encoded(&mut self, tenant: &str, payload: &[u8]) -> Result<usize, prost::DecodeError> {
        let request = ExportMetricsServiceRequest::decode(payload)?;
        let mut counts = Counts::default();
        for data in request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter_map(|m| m.data.as_ref())
        {
            counts.add(data);
        }
        let points = counts.total();
        if points > 0 {
            self.counts.gauge += counts.gauge;
            self.counts.sum += counts.sum;
            self.counts.histogram += counts.histogram;
            self.counts.exponential_histogram += counts.exponential_histogram;
            self.counts.summary += counts.summary;
            self.requests.push(Tenanted {
                tenant: tenant.into(),
                request,
            });
        }
        Ok(points)
    }

    fn rows(&self) -> usize {
        self.counts.total()
    }

    async fn insert<'a>(
        &'a self,
        client: &'a clickhouse::Client,
        token: &'a str,
    ) -> Result<(), clickhouse::error::Error> {
        if self.counts.gauge > 0 {
            insert::write_all::<GaugeRow<'static>, _>(
                client,
                tables::METRICS_GAUGE,
                token,
                self.gauge_rows(),
            )
            .await?;
        }
        if self.counts.sum > 0 {
            insert::write_all::<SumRow<'static>, _>(
                client,
                tables::METRICS_SUM,
                token,
                self.sum_rows(),
            )
            .await?;
        }
        if self.counts.histogram > 0 {
            insert::write_all::<HistogramRow<'static>, _>(
                client,
                tables::METRICS_HISTOGRAM,
                token,
                self.histogram_rows(),
            )
            .await?;
        }
        if self.counts.exponential_histogram > 0 {
            insert::write_all::<ExpHistogramRow<'static>, _>(
                client,
                tables::METRICS_EXP_HISTOGRAM,
                token,
                self.exp_histogram_rows(),
            )
            .await?;
        }
        if self.counts.summary > 0 {
            insert::write_all::<SummaryRow<'static>, _>(
                client,
                tables::METRICS_SUMMARY,
                token,
                self.summary_rows(),
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rows::test_support::{json, kv, s};
    use airis_proto::otlp::tonic::common::v1::InstrumentationScope;
    use airis_proto::otlp::tonic::metrics::v1::{
        ExponentialHistogram, Gauge, Histogram, ResourceMetrics, ScopeMetrics, Sum, Summary, metric,
    };
    use airis_proto::otlp::tonic::resource::v1::Resource;
    use clickhouse::Row as _;
    use serde_json::json;

    const T0: u64 = 1_700_000_000_000_000_000;
    const T1: u64 = 1_700_000_060_000_000_000;

    fn metric(name: &str, data: metric::Data) -> Metric {
        Metric {
            name: name.into(),
            description: format!("{name} description"),
            unit: "ms".into(),
            metadata: vec![],
            data: Some(data),
        }
    }

    fn number(value: number_data_point::Value, exemplars: Vec<Exemplar>) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![kv("route", s("/pay"))],
            start_time_unix_nano: T0,
            time_unix_nano: T1,
            exemplars,
            flags: 1,
            value: Some(value),
        }
    }

    /// A request with one data point of every metric type.
    pub(crate) fn sample_request() -> ExportMetricsServiceRequest {
        let exemplar = Exemplar {
            filtered_attributes: vec![kv("user", s("u1"))],
            time_unix_nano: T0 + 5,
            span_id: vec![0x0a; 8],
            trace_id: vec![0x0b; 16],
            value: Some(exemplar::Value::AsInt(7)),
        };
        let empty_ids = Exemplar {
            value: Some(exemplar::Value::AsDouble(0.5)),
            ..Default::default()
        };
        let metrics = vec![
            metric(
                "queue.depth",
                metric::Data::Gauge(Gauge {
                    data_points: vec![number(
                        number_data_point::Value::AsInt(42),
                        vec![exemplar, empty_ids],
                    )],
                }),
            ),
            metric(
                "requests",
                metric::Data::Sum(Sum {
                    data_points: vec![
                        number(number_data_point::Value::AsDouble(3.5), vec![]),
                        number(number_data_point::Value::AsInt(4), vec![]),
                    ],
                    aggregation_temporality: 2,
                    is_monotonic: true,
                }),
            ),
            metric(
                "latency",
                metric::Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![kv("route", s("/pay"))],
                        start_time_unix_nano: T0,
                        time_unix_nano: T1,
                        count: 6,
                        sum: Some(60.0),
                        bucket_counts: vec![1, 2, 3],
                        explicit_bounds: vec![5.0, 10.0],
                        exemplars: vec![],
                        flags: 0,
                        min: Some(1.0),
                        max: None,
                    }],
                    aggregation_temporality: 1,
                }),
            ),
            metric(
                "latency.exp",
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        attributes: vec![],
                        start_time_unix_nano: T0,
                        time_unix_nano: T1,
                        count: 9,
                        sum: Some(12.5),
                        scale: 3,
                        zero_count: 1,
                        positive: Some(Buckets {
                            offset: -2,
                            bucket_counts: vec![4, 4],
                        }),
                        negative: None,
                        flags: 0,
                        exemplars: vec![],
                        min: Some(0.0),
                        max: Some(9.0),
                        zero_threshold: 0.0,
                    }],
                    aggregation_temporality: 2,
                }),
            ),
            metric(
                "rpc.duration",
                metric::Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        attributes: vec![kv("method", s("Get"))],
                        start_time_unix_nano: T0,
                        time_unix_nano: T1,
                        count: 10,
                        sum: 100.0,
                        quantile_values: vec![
                            ValueAtQuantile {
                                quantile: 0.5,
                                value: 8.0,
                            },
                            ValueAtQuantile {
                                quantile: 0.99,
                                value: 30.0,
                            },
                        ],
                        flags: 0,
                    }],
                }),
            ),
            // A metric without data is skipped.
            Metric {
                name: "empty".into(),
                ..Default::default()
            },
        ];
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s("payments")), kv("region", s("eu"))],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "meter".into(),
                        version: "0.1".into(),
                        attributes: vec![kv("lib", s("otel"))],
                        dropped_attributes_count: 2,
                    }),
                    metrics,
                    schema_url: "scope-url".into(),
                }],
                schema_url: "resource-url".into(),
            }],
        }
    }

    fn batch() -> MetricBatch {
        let mut batch = MetricBatch::default();
        let n = batch
            .push_encoded("acme", &sample_request().encode_to_vec())
            .unwrap();
        assert_eq!(n, 6);
        batch
    }

    fn assert_common(row: &serde_json::Value, name: &str) {
        assert_eq!(row["TenantId"], "acme");
        assert_eq!(
            row["ResourceAttributes"],
            json!({"service.name": "payments", "region": "eu"})
        );
        assert_eq!(row["ResourceSchemaUrl"], "resource-url");
        assert_eq!(row["ScopeName"], "meter");
        assert_eq!(row["ScopeVersion"], "0.1");
        assert_eq!(row["ScopeAttributes"], json!({"lib": "otel"}));
        assert_eq!(row["ScopeDroppedAttrCount"], 2);
        assert_eq!(row["ScopeSchemaUrl"], "scope-url");
        assert_eq!(row["ServiceName"], "payments");
        assert_eq!(row["MetricName"], name);
        assert_eq!(row["MetricDescription"], format!("{name} description"));
        assert_eq!(row["MetricUnit"], "ms");
        assert_eq!(row["StartTimeUnix"], T0 as i64);
        assert_eq!(row["TimeUnix"], T1 as i64);
    }

    #[test]
    fn counts_every_type() {
        let batch = batch();
        assert_eq!(
            batch.counts,
            Counts {
                gauge: 1,
                sum: 2,
                histogram: 1,
                exponential_histogram: 1,
                summary: 1
            }
        );
        assert_eq!(batch.rows(), 6);
    }

    #[test]
    fn gauge_with_exemplars() {
        let batch = batch();
        let rows: Vec<_> = batch.gauge_rows().map(|r| json(&r)).collect();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_common(row, "queue.depth");
        assert_eq!(row["Attributes"], json!({"route": "/pay"}));
        assert_eq!(row["Value"], 42.0);
        assert_eq!(row["Flags"], 1);
        assert_eq!(
            row["Exemplars.FilteredAttributes"],
            json!([{"user": "u1"}, {}])
        );
        assert_eq!(row["Exemplars.TimeUnix"], json!([T0 as i64 + 5, 0]));
        assert_eq!(row["Exemplars.Value"], json!([7.0, 0.5]));
        assert_eq!(
            row["Exemplars.SpanId"],
            json!(["0a".repeat(8), "0".repeat(16)])
        );
        assert_eq!(
            row["Exemplars.TraceId"],
            json!(["0b".repeat(16), "0".repeat(32)])
        );
    }

    #[test]
    fn sum_has_temporality_and_monotonicity() {
        let batch = batch();
        let rows: Vec<_> = batch.sum_rows().map(|r| json(&r)).collect();
        assert_eq!(rows.len(), 2);
        assert_common(&rows[0], "requests");
        assert_eq!(rows[0]["Value"], 3.5);
        assert_eq!(rows[1]["Value"], 4.0);
        assert_eq!(rows[0]["AggregationTemporality"], 2);
        assert_eq!(rows[0]["IsMonotonic"], true);
        assert_eq!(rows[0]["Exemplars.Value"], json!([]));
    }

    #[test]
    fn histogram_buckets_and_bounds() {
        let batch = batch();
        let rows: Vec<_> = batch.histogram_rows().map(|r| json(&r)).collect();
        let row = &rows[0];
        assert_common(row, "latency");
        assert_eq!(row["Count"], 6);
        assert_eq!(row["Sum"], 60.0);
        assert_eq!(row["BucketCounts"], json!([1, 2, 3]));
        assert_eq!(row["ExplicitBounds"], json!([5.0, 10.0]));
        assert_eq!(row["Min"], 1.0);
        assert_eq!(row["Max"], 0.0, "an absent max is stored as 0");
        assert_eq!(row["AggregationTemporality"], 1);
    }

    #[test]
    fn exponential_histogram_buckets() {
        let batch = batch();
        let rows: Vec<_> = batch.exp_histogram_rows().map(|r| json(&r)).collect();
        let row = &rows[0];
        assert_common(row, "latency.exp");
        assert_eq!(row["Attributes"], json!({}));
        assert_eq!(row["Count"], 9);
        assert_eq!(row["Sum"], 12.5);
        assert_eq!(row["Scale"], 3);
        assert_eq!(row["ZeroCount"], 1);
        assert_eq!(row["PositiveOffset"], -2);
        assert_eq!(row["PositiveBucketCounts"], json!([4, 4]));
        assert_eq!(row["NegativeOffset"], 0);
        assert_eq!(row["NegativeBucketCounts"], json!([]));
        assert_eq!(row["Max"], 9.0);
        assert_eq!(row["AggregationTemporality"], 2);
    }

    #[test]
    fn summary_quantiles() {
        let batch = batch();
        let rows: Vec<_> = batch.summary_rows().map(|r| json(&r)).collect();
        let row = &rows[0];
        assert_common(row, "rpc.duration");
        assert_eq!(row["Count"], 10);
        assert_eq!(row["Sum"], 100.0);
        assert_eq!(row["ValueAtQuantiles.Quantile"], json!([0.5, 0.99]));
        assert_eq!(row["ValueAtQuantiles.Value"], json!([8.0, 30.0]));
        assert_eq!(row["Attributes"], json!({"method": "Get"}));
    }

    #[test]
    fn column_names_are_in_the_ddl() {
        let ddl = &airis_store::schema::render_migrations("db", &Default::default())[2].statements;
        let tables: [(&[&str], &String); 5] = [
            (GaugeRow::COLUMN_NAMES, &ddl[0]),
            (SumRow::COLUMN_NAMES, &ddl[1]),
            (HistogramRow::COLUMN_NAMES, &ddl[2]),
            (ExpHistogramRow::COLUMN_NAMES, &ddl[3]),
            (SummaryRow::COLUMN_NAMES, &ddl[4]),
        ];
        for (names, ddl) in tables {
            assert_eq!(names[0], "TenantId");
            for name in names {
                let column = name.split('.').next_back().unwrap_or(name);
                assert!(ddl.contains(&format!(" {column} ")), "{name} not in {ddl}");
            }
        }
        assert!(ExpHistogramRow::COLUMN_NAMES.contains(&"Exemplars.TraceId"));
    }
}
