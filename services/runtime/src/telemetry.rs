//! Logs and self-telemetry.
//!
//! Structured events go through `tracing` to stderr (text or JSON). When an
//! OTLP endpoint is configured, spans and metrics of the service itself are
//! exported with opentelemetry-otlp — by default to AIRIS-MON's own ingestion —
//! and W3C trace context is the propagation format.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::{
    Resource, metrics::SdkMeterProvider, propagation::TraceContextPropagator,
    trace::SdkTracerProvider,
};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

#[derive(Debug, Clone, Copy, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `tracing` filter directives, e.g. `info,airis_ingestion=debug`;
    /// `RUST_LOG` wins when set.
    pub log_filter: String,
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint for self-telemetry, e.g. `http://127.0.0.1:4317`;
    /// unset disables it.
    pub otlp_endpoint: Option<String>,
    /// Sent as `authorization: Bearer <token>` with self-telemetry.
    pub otlp_token: Option<String>,
    pub service_name: String,
    pub metrics_interval_secs: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".to_owned(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            otlp_token: None,
            service_name: "airis".to_owned(),
            metrics_interval_secs: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    #[error("cannot build otlp exporter: {0}")]
    Exporter(String),
    #[error("cannot install the tracing subscriber: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and shuts down self-telemetry when the process ends.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    pub fn shutdown(mut self) {
        self.shutdown_inner();
    }

    fn shutdown_inner(&mut self) {
        if let Some(tracer) = self.tracer.take()
            && let Err(error) = tracer.shutdown()
        {
            tracing::warn!(%error, "tracer provider shutdown failed");
        }
        if let Some(meter) = self.meter.take()
            && let Err(error) = meter.shutdown()
        {
            tracing::warn!(%error, "meter provider shutdown failed");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_inner();
    }
}

/// Installs the global `tracing` subscriber and, if configured, the OTLP
/// trace and metric pipelines. Call once, from `main`, inside the runtime.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        _ => EnvFilter::try_new(&config.log_filter)?,
    };
    let (json, text) = match config.log_format {
        LogFormat::Json => (
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            ),
            None,
        ),
        LogFormat::Text => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colours only for people, not for log files.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            ),
        ),
    };

    let Some(endpoint) = &config.otlp_endpoint else {
        tracing_subscriber::registry()
            .with(filter)
            .with(json)
            .with(text)
            .try_init()?;
        return Ok(TelemetryGuard {
            tracer: None,
            meter: None,
        });
    };

    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let metadata = || {
        let mut map = airis_proto::tonic::metadata::MetadataMap::new();
        if let Some(token) = &config.otlp_token
            && let Ok(value) = format!("Bearer {token}").parse()
        {
            map.insert("authorization", value);
        }
        map
    };

    let span_exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .with_metadata(metadata())
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let tracer = SdkTracerProvider::builder()
        .with_batch_exporter(span_exporter)
        .with_resource(resource.clone())
        .build();

    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .with_metadata(metadata())
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(metric_exporter)
        .with_interval(Duration::from_secs(config.metrics_interval_secs.max(1)))
        .build();
    let meter = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build();
    opentelemetry::global::set_meter_provider(meter.clone());

    let otel_layer = tracing_opentelemetry::layer().with_tracer(tracer.tracer("airis"));
    tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(text)
        .with(otel_layer)
        .try_init()?;
    Ok(TelemetryGuard {
        tracer: Some(tracer),
        meter: Some(meter),
    })
}

/// Makes `span` a child of the W3C `traceparent` in `metadata`, so a
/// request's server span joins its caller's trace. Without self-telemetry
/// configured this does nothing.
pub fn continue_trace(span: &tracing::Span, metadata: &airis_proto::tonic::metadata::MetadataMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&MetadataExtractor(metadata))
    });
    // Fails only when no OpenTelemetry layer is installed, i.e. when
    // self-telemetry is off: nothing to link then.
    let _ = span.set_parent(parent);
}

/// Puts the current span's W3C `traceparent` (and `tracestate`) in
/// `metadata`, so that the service called joins the caller's trace.
/// Without self-telemetry configured this does nothing.
pub fn propagate(metadata: &mut airis_proto::tonic::metadata::MetadataMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut MetadataInjector(metadata))
    });
}

struct MetadataInjector<'a>(&'a mut airis_proto::tonic::metadata::MetadataMap);

impl opentelemetry::propagation::Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        use airis_proto::tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
        if let (Ok(key), Ok(value)) = (
            key.parse::<AsciiMetadataKey>(),
            value.parse::<AsciiMetadataValue>(),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct MetadataExtractor<'a>(&'a airis_proto::tonic::metadata::MetadataMap);

impl opentelemetry::propagation::Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        use airis_proto::tonic::metadata::KeyRef;
        self.0
            .keys()
            .map(|key| match key {
                KeyRef::Ascii(k) => k.as_str(),
                KeyRef::Binary(k) => k.as_str(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::tonic::metadata::MetadataMap;

    #[test]
    fn a_call_made_while_answering_joins_the_callers_trace() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = MetadataMap::new();
            incoming.insert(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                    .parse()
                    .unwrap(),
            );
            let span = tracing::info_span!("answering");
            continue_trace(&span, &incoming);
            let _entered = span.enter();
            let mut outgoing = MetadataMap::new();
            propagate(&mut outgoing);
            let sent = outgoing.get("traceparent").unwrap().to_str().unwrap();
            // The caller's trace, this span as the parent.
            assert!(
                sent.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
                "{sent}"
            );
            assert!(!sent.contains("b7ad6b7169203331"), "{sent}");
        });
        // Outside any span there is nothing to pass on.
        let mut outgoing = MetadataMap::new();
        propagate(&mut outgoing);
        assert!(outgoing.get("traceparent").is_none());
    }
}
