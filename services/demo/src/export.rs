//! OTLP request building (pure) and sending with the generated tonic clients.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use airis_proto::kv::{any_value, kv};
use airis_proto::otlp::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, logs_service_client::LogsServiceClient,
};
use airis_proto::otlp::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, metrics_service_client::MetricsServiceClient,
};
use airis_proto::otlp::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, trace_service_client::TraceServiceClient,
};
use airis_proto::otlp::tonic::common::v1::InstrumentationScope;
use airis_proto::otlp::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use airis_proto::otlp::tonic::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use airis_proto::otlp::tonic::resource::v1::Resource;
use airis_proto::otlp::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use airis_proto::tonic::{self, metadata::MetadataValue, transport::Channel};

use crate::generate::{GeneratedTrace, Origin};

pub const SCOPE_NAME: &str = "airis-demo";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters shared by the sender tasks and the progress line.
#[derive(Debug, Default)]
pub struct Stats {
    pub traces: AtomicU64,
    pub spans: AtomicU64,
    pub logs: AtomicU64,
    pub points: AtomicU64,
    /// Failed export requests (UNAVAILABLE, timeouts, rejections...).
    pub errors: AtomicU64,
    /// Batches not sent because too many requests were already in flight.
    pub dropped: AtomicU64,
    /// Current target rate, as `f64` bits.
    pub target_rate: AtomicU64,
    pub incident: AtomicBool,
}

impl Stats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The resource of one demo service instance.
pub fn resource(origin: Origin, environment: &str) -> Resource {
    let service = origin.service.name();
    // A stable pod-like host name per service and version.
    let hash = service
        .bytes()
        .chain(origin.version.bytes())
        .fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
    Resource {
        attributes: vec![
            kv("service.name", service),
            kv("service.version", origin.version),
            kv("service.namespace", "shop"),
            kv("deployment.environment", environment),
            kv("deployment.environment.name", environment),
            kv(
                "host.name",
                format!("{service}-{}-{:05x}", origin.version, hash & 0xfffff),
            ),
            kv("telemetry.sdk.name", SCOPE_NAME),
            kv("telemetry.sdk.language", "rust"),
        ],
        ..Default::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Default::default()
    }
}

/// One request with every span of `batch`, grouped by resource; and the
/// number of spans.
pub fn traces_request(
    batch: &[GeneratedTrace],
    environment: &str,
) -> (ExportTraceServiceRequest, u64) {
    let mut by_origin: BTreeMap<Origin, Vec<_>> = BTreeMap::new();
    let mut count = 0;
    for trace in batch {
        for span in &trace.spans {
            by_origin
                .entry(span.origin)
                .or_default()
                .push(span.item.clone());
            count += 1;
        }
    }
    let resource_spans = by_origin
        .into_iter()
        .map(|(origin, spans)| ResourceSpans {
            resource: Some(resource(origin, environment)),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope()),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    (ExportTraceServiceRequest { resource_spans }, count)
}

/// One request with every log record of `batch`; and their number.
pub fn logs_request(
    batch: &[GeneratedTrace],
    environment: &str,
) -> (ExportLogsServiceRequest, u64) {
    let mut by_origin: BTreeMap<Origin, Vec<_>> = BTreeMap::new();
    let mut count = 0;
    for trace in batch {
        for log in &trace.logs {
            by_origin
                .entry(log.origin)
                .or_default()
                .push(log.item.clone());
            count += 1;
        }
    }
    let resource_logs = by_origin
        .into_iter()
        .map(|(origin, log_records)| ResourceLogs {
            resource: Some(resource(origin, environment)),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope()),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    (ExportLogsServiceRequest { resource_logs }, count)
}

/// A log record announcing that `origin` was deployed anew at `at`, as
/// a deployment tool would log it (`event.name` "deployment", which the
/// delta service's ListChanges finds).
pub fn deployment_request(
    origin: Origin,
    environment: &str,
    at: u64,
    body: &str,
) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource(origin, environment)),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope()),
                log_records: vec![LogRecord {
                    time_unix_nano: at,
                    observed_time_unix_nano: at,
                    severity_number: SeverityNumber::Info as i32,
                    severity_text: "INFO".to_owned(),
                    body: Some(any_value(body)),
                    attributes: vec![kv("event.name", "deployment")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn metrics_request(
    metrics: BTreeMap<Origin, Vec<Metric>>,
    environment: &str,
) -> ExportMetricsServiceRequest {
    let resource_metrics = metrics
        .into_iter()
        .map(|(origin, metrics)| ResourceMetrics {
            resource: Some(resource(origin, environment)),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope()),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest { resource_metrics }
}

/// The three OTLP clients on one channel.
#[derive(Clone)]
pub struct Exporter {
    traces: TraceServiceClient<Channel>,
    logs: LogsServiceClient<Channel>,
    metrics: MetricsServiceClient<Channel>,
    authorization: MetadataValue<tonic::metadata::Ascii>,
    stats: Arc<Stats>,
}

impl Exporter {
    pub fn new(
        channel: Channel,
        authorization: MetadataValue<tonic::metadata::Ascii>,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            traces: TraceServiceClient::new(channel.clone()).max_encoding_message_size(usize::MAX),
            logs: LogsServiceClient::new(channel.clone()).max_encoding_message_size(usize::MAX),
            metrics: MetricsServiceClient::new(channel).max_encoding_message_size(usize::MAX),
            authorization,
            stats,
        }
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request.set_timeout(REQUEST_TIMEOUT);
        request
    }

    fn failed(&self, what: &str, status: &tonic::Status) {
        Stats::add(&self.stats.errors, 1);
        tracing::debug!(code = ?status.code(), message = status.message(), "{what} export failed");
    }

    pub async fn send_traces(
        mut self,
        request: ExportTraceServiceRequest,
        spans: u64,
        traces: u64,
    ) {
        let request = self.request(request);
        match self.traces.export(request).await {
            Ok(response) => {
                let rejected = response
                    .into_inner()
                    .partial_success
                    .map_or(0, |p| p.rejected_spans.max(0) as u64);
                if rejected > 0 {
                    Stats::add(&self.stats.errors, 1);
                }
                Stats::add(&self.stats.spans, spans.saturating_sub(rejected));
                Stats::add(&self.stats.traces, traces);
            }
            Err(status) => self.failed("traces", &status),
        }
    }

    pub async fn send_logs(mut self, request: ExportLogsServiceRequest, logs: u64) {
        let request = self.request(request);
        match self.logs.export(request).await {
            Ok(response) => {
                let rejected = response
                    .into_inner()
                    .partial_success
                    .map_or(0, |p| p.rejected_log_records.max(0) as u64);
                if rejected > 0 {
                    Stats::add(&self.stats.errors, 1);
                }
                Stats::add(&self.stats.logs, logs.saturating_sub(rejected));
            }
            Err(status) => self.failed("logs", &status),
        }
    }

    pub async fn send_metrics(mut self, request: ExportMetricsServiceRequest, points: u64) {
        let request = self.request(request);
        match self.metrics.export(request).await {
            Ok(response) => {
                let rejected = response
                    .into_inner()
                    .partial_success
                    .map_or(0, |p| p.rejected_data_points.max(0) as u64);
                if rejected > 0 {
                    Stats::add(&self.stats.errors, 1);
                }
                Stats::add(&self.stats.points, points.saturating_sub(rejected));
            }
            Err(status) => self.failed("metrics", &status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{CHECKOUT_V2, Service};

    #[test]
    fn a_deployment_is_announced_as_checkout_v2() {
        let origin = Origin {
            service: Service::Checkout,
            version: CHECKOUT_V2,
        };
        let request = deployment_request(origin, "demo", 42, "checkout v2 deployed");
        let logs = &request.resource_logs[0];
        let resource = logs.resource.as_ref().unwrap();
        assert!(
            resource
                .attributes
                .contains(&kv("service.name", "checkout"))
        );
        assert!(resource.attributes.contains(&kv("service.version", "v2")));
        let record = &logs.scope_logs[0].log_records[0];
        assert_eq!(record.time_unix_nano, 42);
        assert_eq!(record.attributes, vec![kv("event.name", "deployment")]);
        assert_eq!(record.body, Some(any_value("checkout v2 deployed")));
    }
}
