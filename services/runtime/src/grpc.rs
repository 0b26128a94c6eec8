//! Serving gRPC: every server gets `grpc.health.v1.Health` and reflection
//! (v1 and v1alpha, so grpcurl of any age can list and describe services)
//! from one place, and drains the same way on shutdown.
//!
//! Reflection describes every registered file (contracts, OTLP, health)
//! and lists their services. The server the edge sends reflection to
//! lists the public API instead ([`Services::reflect_public_api`]).

use std::convert::Infallible;
use std::time::Duration;

use airis_proto::tonic::{
    self,
    body::Body,
    codegen::http,
    server::NamedService,
    service::{Routes, RoutesBuilder},
    transport::Server,
};
use tonic_health::ServingStatus;

use crate::Shutdown;
use crate::listen::Listener;

/// The application services one server exposes, with their gRPC names.
#[derive(Default)]
pub struct Services {
    names: Vec<&'static str>,
    routes: RoutesBuilder,
    public_api: bool,
}

impl Services {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service; its name is reported SERVING by the health service
    /// while the server runs.
    pub fn add<S>(&mut self, svc: S) -> &mut Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(svc);
        self
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// Makes this server's reflection the edge's: it lists the public API
    /// (`airis_proto::SERVICES`, wherever they run) and describes the
    /// contracts and health only, so callers of the ingress see what they
    /// can call through it, and no health or reflection service, which the
    /// edge does not route, in the list.
    pub fn reflect_public_api(&mut self) -> &mut Self {
        self.public_api = true;
        self
    }
}

/// Settings of a gRPC server, common to every service.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// How long health reports NOT_SERVING before the listener closes, so the
    /// mesh stops routing new requests here first.
    pub drain_delay_ms: u64,
    /// Upper bound on how long in-flight requests may take to finish after
    /// the drain delay.
    pub drain_timeout_ms: u64,
    /// Server-side deadline for requests that carry no `grpc-timeout`.
    pub request_timeout_ms: u64,
    pub max_concurrent_streams: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            drain_delay_ms: 2_000,
            drain_timeout_ms: 20_000,
            request_timeout_ms: 30_000,
            max_concurrent_streams: 1_024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("grpc server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("in-flight requests did not finish within {0:?}")]
    DrainTimeout(Duration),
}

/// The server future of either listener kind.
type ServeFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
>;

fn futures_boxed(
    f: impl std::future::Future<Output = Result<(), tonic::transport::Error>> + Send + 'static,
) -> ServeFuture {
    Box::pin(f)
}

/// Serves `services` on `listener` (TCP, or a Unix socket) until `shutdown` fires, then reports
/// NOT_SERVING, waits the drain delay, stops accepting and lets in-flight
/// requests finish.
pub async fn serve(
    listener: impl Into<Listener>,
    services: Services,
    config: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    for name in &services.names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }

    let public_api = services.public_api;
    let reflection = || {
        // Health is described everywhere, so that grpcurl can call it on a
        // service directly (through its sidecar); the edge's listing leaves
        // it out, and the edge does not route it.
        let builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(airis_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        if public_api {
            airis_proto::SERVICES
                .iter()
                .fold(builder.include_reflection_service(false), |b, name| {
                    b.with_service_name(*name)
                })
        } else {
            builder.register_encoded_file_descriptor_set(airis_proto::otlp::DESCRIPTORS)
        }
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let mut routes = services.routes;
    routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let routes: Routes = routes.routes().prepare();

    let listener = listener.into();
    let addr = listener.describe();
    tracing::info!(%addr, services = ?services.names, "grpc server listening");

    let drain_delay = Duration::from_millis(config.drain_delay_ms);
    let names = services.names.clone();
    let draining = shutdown.clone();
    let stop_addr = addr.clone();
    let stop = async move {
        let addr = stop_addr;
        draining.signalled().await;
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in &names {
            reporter
                .set_service_status(*name, ServingStatus::NotServing)
                .await;
        }
        tracing::info!(%addr, ?drain_delay, "draining: health is not_serving");
        tokio::time::sleep(drain_delay).await;
    };

    let router = Server::builder()
        .timeout(Duration::from_millis(config.request_timeout_ms))
        .max_concurrent_streams(config.max_concurrent_streams)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_routes(routes);
    let (server, _socket_file) = match listener {
        // Nagle on a multiplexed HTTP/2 connection delays every response by
        // ~40 ms; tonic's own tcp_nodelay only covers listeners it binds.
        Listener::Tcp(listener) => (
            futures_boxed(router.serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                stop,
            )),
            None,
        ),
        Listener::Unix(listener, file) => (
            futures_boxed(router.serve_with_incoming_shutdown(
                tokio_stream::wrappers::UnixListenerStream::new(listener),
                stop,
            )),
            Some(file),
        ),
    };

    // The server future returns after in-flight requests finished; bound that
    // wait so a stuck handler cannot keep a terminating pod alive forever.
    let drain_timeout = Duration::from_millis(config.drain_timeout_ms);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        _ = async { shutdown.signalled().await; tokio::time::sleep(drain_delay + drain_timeout).await } => {
            return Err(ServeError::DrainTimeout(drain_timeout));
        }
    }
    tracing::info!(%addr, "grpc server stopped");
    Ok(())
}
