//! The receiver role: OTLP/gRPC `TraceService`, `MetricsService` and
//! `LogsService`, each writing accepted requests to its Kafka topic.
//!
//! The servers are built here rather than taken from `opentelemetry-proto`'s
//! generated ones for two reasons, both about the wire:
//! - tonic's prost codec reports undecodable input (truncated protobuf,
//!   invalid UTF-8) as INTERNAL; a malformed request is the client's fault and
//!   must be INVALID_ARGUMENT, and tonic's size-limit OUT_OF_RANGE must be
//!   RESOURCE_EXHAUSTED as the gRPC spec says;
//! - the codec keeps the request's bytes next to the decoded message, so a
//!   request that passes validation untouched goes to Kafka as received,
//!   without being encoded again.
//!
//! The message types are still the crate's, so the contract is exactly OTLP.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use airis_proto::otlp::tonic::collector::{
    logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse},
    metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    },
    trace::v1::{ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse},
};
use airis_proto::prost::{self, Message};
use airis_proto::tonic::{
    Code, Request, Response, Status,
    body::Body,
    codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::{BoxFuture, Service, http},
    server::{Grpc, NamedService, UnaryService},
};
use airis_runtime::{
    auth::{Access, Authenticator},
    clock::now_unix_nano,
    kafka::Topics,
};
use bytes::{Buf, Bytes};

use crate::{
    Error,
    producer::Producer,
    validate::{self, Limits, Rejected},
};

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiverConfig {
    /// OTLP/gRPC listen address.
    pub listen: String,
    /// Largest request accepted, after decompression; larger ones get
    /// RESOURCE_EXHAUSTED.
    pub max_request_bytes: usize,
    pub limits: Limits,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4317".to_owned(),
            max_request_bytes: 8 * 1024 * 1024,
            limits: Limits::default(),
        }
    }
}

/// What the three OTLP services have in common, per signal.
pub trait Signal: Send + Sync + 'static {
    type Request: Message + Default + Send + 'static;
    type Response: Message + Default + Send + 'static;
    /// Fully-qualified gRPC service name.
    const SERVICE: &'static str;
    /// `/<service>/Export`.
    const PATH: &'static str;
    /// What an item is called in messages: "spans", "log records", "data points".
    const ITEMS: &'static str;
    fn topic(topics: &Topics) -> &str;
    fn count(request: &Self::Request) -> usize;
    fn validate(request: &mut Self::Request, limits: &Limits, now_unix_nano: u64) -> Rejected;
    fn response(rejected: Rejected) -> Self::Response;
}

pub enum Traces {}
pub enum Logs {}
pub enum Metrics {}

impl Signal for Traces {
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    const ITEMS: &'static str = "spans";
    fn topic(topics: &Topics) -> &str {
        &topics.traces
    }
    fn count(request: &Self::Request) -> usize {
        validate::count_spans(request)
    }
    fn validate(request: &mut Self::Request, limits: &Limits, now: u64) -> Rejected {
        validate::traces(request, limits, now)
    }
    fn response(rejected: Rejected) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (!rejected.is_empty()).then_some(ExportTracePartialSuccess {
                rejected_spans: rejected.items,
                error_message: rejected.message,
            }),
        }
    }
}

impl Signal for Logs {
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    const ITEMS: &'static str = "log records";
    fn topic(topics: &Topics) -> &str {
        &topics.logs
    }
    fn count(request: &Self::Request) -> usize {
        validate::count_log_records(request)
    }
    fn validate(request: &mut Self::Request, limits: &Limits, now: u64) -> Rejected {
        validate::logs(request, limits, now)
    }
    fn response(rejected: Rejected) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: (!rejected.is_empty()).then_some(ExportLogsPartialSuccess {
                rejected_log_records: rejected.items,
                error_message: rejected.message,
            }),
        }
    }
}

impl Signal for Metrics {
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const PATH: &'static str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    const ITEMS: &'static str = "data points";
    fn topic(topics: &Topics) -> &str {
        &topics.metrics
    }
    fn count(request: &Self::Request) -> usize {
        validate::count_data_points(request)
    }
    fn validate(request: &mut Self::Request, limits: &Limits, now: u64) -> Rejected {
        validate::metrics(request, limits, now)
    }
    fn response(rejected: Rejected) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: (!rejected.is_empty()).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected.items,
                error_message: rejected.message,
            }),
        }
    }
}

// === impl Receiver ===

/// State shared by the three services.
pub struct Receiver {
    auth: Authenticator,
    producer: Producer,
    topics: Topics,
    config: ReceiverConfig,
    /// Items per signal and outcome (`accepted`, `rejected`, `failed`).
    items: opentelemetry::metrics::Counter<u64>,
}

impl Receiver {
    pub fn new(
        auth: Authenticator,
        producer: Producer,
        topics: Topics,
        config: ReceiverConfig,
    ) -> Arc<Self> {
        let items = opentelemetry::global::meter("airis.ingestion")
            .u64_counter("airis.receiver.items")
            .with_description("OTLP items received, by signal and outcome")
            .build();
        Arc::new(Self {
            auth,
            producer,
            topics,
            config,
            items,
        })
    }

    /// Authenticates, validates and produces one export request.
    #[tracing::instrument(
        name = "otlp.export",
        skip_all,
        fields(signal = S::ITEMS, tenant = tracing::field::Empty, items = tracing::field::Empty)
    )]
    async fn export<S: Signal>(
        &self,
        request: Request<Received<S::Request>>,
    ) -> Result<S::Response, Error> {
        let span = tracing::Span::current();
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        let tenant = self.auth.tenant(request.metadata(), Access::Ingest)?;
        span.record("tenant", tenant.as_str());
        let Received { bytes, mut message } = request.into_inner();
        let total = S::count(&message);
        span.record("items", total);
        if total == 0 {
            // Nothing to store; OTLP exporters may send empty requests.
            return Ok(S::Response::default());
        }
        let rejected = S::validate(&mut message, &self.config.limits, now_unix_nano());
        let accepted = total as i64 - rejected.items;
        self.count::<S>("rejected", rejected.items);
        if accepted <= 0 {
            tracing::debug!(%tenant, items = S::ITEMS, total, "rejected whole request");
            return Err(Error::InvalidArgument(format!(
                "all {total} {} rejected: {}",
                S::ITEMS,
                rejected.message
            )));
        }
        // Untouched requests go to Kafka byte for byte; only a request that
        // lost items is encoded again.
        let payload = if rejected.is_empty() {
            bytes
        } else {
            tracing::debug!(%tenant, items = S::ITEMS, rejected = rejected.items, "partially rejected request");
            Bytes::from(message.encode_to_vec())
        };
        // The decoded form is several times the wire size; it must not stay
        // alive while the request waits for Kafka.
        drop(message);
        let sent = self
            .producer
            .send(S::topic(&self.topics), &tenant, &payload)
            .await;
        self.count::<S>(if sent.is_ok() { "accepted" } else { "failed" }, accepted);
        sent?;
        Ok(S::response(rejected))
    }

    fn count<S: Signal>(&self, outcome: &'static str, items: i64) {
        if items > 0 {
            self.items.add(
                items as u64,
                &[
                    opentelemetry::KeyValue::new("signal", S::ITEMS),
                    opentelemetry::KeyValue::new("outcome", outcome),
                ],
            );
        }
    }
}

// === impl OtlpServer ===

/// The tonic server of one OTLP service.
pub struct OtlpServer<S> {
    receiver: Arc<Receiver>,
    _signal: PhantomData<fn() -> S>,
}

impl<S> Clone for OtlpServer<S> {
    fn clone(&self) -> Self {
        Self {
            receiver: self.receiver.clone(),
            _signal: PhantomData,
        }
    }
}

impl<S: Signal> OtlpServer<S> {
    pub fn new(receiver: Arc<Receiver>) -> Self {
        Self {
            receiver,
            _signal: PhantomData,
        }
    }
}

impl<S: Signal> NamedService for OtlpServer<S> {
    const NAME: &'static str = S::SERVICE;
}

impl<S: Signal> Service<http::Request<Body>> for OtlpServer<S> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() != S::PATH {
            return Box::pin(async { Ok(Status::unimplemented("").into_http()) });
        }
        let receiver = self.receiver.clone();
        Box::pin(async move {
            let max = receiver.config.max_request_bytes;
            let mut grpc = Grpc::new(OtlpCodec::<S>::default())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            let mut response = grpc
                .unary(Export::<S>(receiver, PhantomData), request)
                .await;
            rewrite_decode_status(&mut response);
            Ok(response)
        })
    }
}

/// Fixes two codes tonic picks while reading a request, before the handler
/// runs: a request over the size limit is OUT_OF_RANGE (the gRPC spec and
/// OTLP clients expect RESOURCE_EXHAUSTED), and a body that is not valid
/// gRPC framing or gzip is INTERNAL (it is the client's input: INVALID_ARGUMENT).
/// The handler never returns either code, and encoding errors travel in
/// trailers, so a code in the response headers can only come from decoding.
fn rewrite_decode_status(response: &mut http::Response<Body>) {
    let headers = response.headers_mut();
    let code = match headers.get(Status::GRPC_STATUS).map(|v| v.as_bytes()) {
        Some(b"11") => Code::ResourceExhausted,
        Some(b"13") => Code::InvalidArgument,
        _ => return,
    };
    headers.insert(Status::GRPC_STATUS, (code as i32).into());
}

struct Export<S: Signal>(Arc<Receiver>, PhantomData<fn() -> S>);

impl<S: Signal> UnaryService<Received<S::Request>> for Export<S> {
    type Response = S::Response;
    type Future = BoxFuture<Response<S::Response>, Status>;

    fn call(&mut self, request: Request<Received<S::Request>>) -> Self::Future {
        let receiver = self.0.clone();
        Box::pin(async move {
            receiver
                .export::<S>(request)
                .await
                .map(Response::new)
                .map_err(Status::from)
        })
    }
}

// === impl OtlpCodec ===

/// A decoded request together with the bytes it was decoded from.
pub struct Received<M> {
    bytes: Bytes,
    message: M,
}

struct OtlpCodec<S>(PhantomData<fn() -> S>);

impl<S> Default for OtlpCodec<S> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<S: Signal> Codec for OtlpCodec<S> {
    type Encode = S::Response;
    type Decode = Received<S::Request>;
    type Encoder = ResponseEncoder<S::Response>;
    type Decoder = RequestDecoder<S::Request>;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(PhantomData)
    }
}

struct ResponseEncoder<M>(PhantomData<fn(M)>);

impl<M: Message> Encoder for ResponseEncoder<M> {
    type Item = M;
    type Error = Status;

    fn encode(&mut self, item: M, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(buf)
            .map_err(|e| Status::internal(format!("cannot encode response: {e}")))
    }
}

struct RequestDecoder<M>(PhantomData<fn() -> M>);

impl<M: Message + Default + Send + 'static> Decoder for RequestDecoder<M> {
    type Item = Received<M>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Received<M>>, Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        let message = M::decode(bytes.clone()).map_err(invalid_protobuf)?;
        Ok(Some(Received { bytes, message }))
    }
}

/// prost's message names the field path, e.g. "failed to decode Protobuf
/// message: Span.name: invalid string value: data is not UTF-8 encoded".
fn invalid_protobuf(error: prost::DecodeError) -> Status {
    Status::invalid_argument(format!("malformed request: {error}"))
}
