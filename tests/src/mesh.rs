//! Test support for the Envoy mesh of `mesh/`: a dev CA, sidecars, the
//! ingress with its endpoints, Envoy's runtime and stats, and a probe
//! upstream whose failures and slowness a test controls.
//!
//! The probe stands in for a service only where a policy is measured (how
//! Envoy splits, retries, ejects and sheds); what a real service answers
//! through the mesh is tested against the real services.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use airis_proto::airis::analytics::v1::{
    GetTraceRequest, GetTraceResponse, ListMetricsRequest, ListMetricsResponse,
    ListOperationsRequest, ListOperationsResponse, ListServicesRequest, ListServicesResponse,
    QueryMetricsRequest, QueryMetricsResponse, SearchLogsRequest, SearchLogsResponse,
    SearchSpansRequest, SearchSpansResponse, SearchTracesRequest, SearchTracesResponse,
    ServiceMapRequest, ServiceMapResponse, ServiceOverviewRequest, ServiceOverviewResponse,
    TopKRequest, TopKResponse,
    query_service_server::{QueryService, QueryServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::{
    Shutdown,
    grpc::{self, ServerConfig, Services},
};
use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Envoy, GatewayServer, free_port, http_exchange, repo_root, unique};

/// Certificates from `mesh/dev-ca.sh` in a temporary directory, removed
/// when dropped.
pub struct DevCa {
    pub dir: PathBuf,
}

impl DevCa {
    /// A new CA with a certificate for each of `identities`.
    pub fn new(identities: &[&str]) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(unique("dev-ca"));
        let output = std::process::Command::new(repo_root().join("mesh/dev-ca.sh"))
            .arg(&dir)
            .args(identities)
            .output()?;
        if !output.status.success() {
            bail!(
                "mesh/dev-ca.sh failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(Self { dir })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn dir_str(&self) -> String {
        self.dir.display().to_string()
    }
}

impl Drop for DevCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `ports` on 127.0.0.1 as `mesh/ingress.yaml`'s `*_ENDPOINTS`
/// placeholders take them (comma-separated addresses).
pub fn endpoints(ports: &[u16]) -> String {
    let list: Vec<String> = ports.iter().map(|&p| tcp_address(p)).collect();
    list.join(",")
}

/// 127.0.0.1:`port`, as `*_ADDRESS` placeholders take it.
pub fn tcp_address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// One HTTP/1.1 request over TLS with `openssl s_client`, presenting
/// `cert` (certificate and key files) if given; what came back.
pub async fn tls_exchange(
    addr: std::net::SocketAddr,
    ca: &Path,
    cert: Option<(&Path, &Path)>,
    request: &[u8],
) -> anyhow::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut command = tokio::process::Command::new("openssl");
    command
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-alpn",
            "http/1.1",
        ])
        .args(["-servername", "analytics.airis.local", "-connect"])
        .arg(addr.to_string())
        .arg("-CAfile")
        .arg(ca);
    if let Some((crt, key)) = cert {
        command.arg("-cert").arg(crt).arg("-key").arg(key);
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("openssl s_client")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    // A refused handshake may close the pipe before the request is written.
    let _ = stdin.write_all(request).await;
    let mut out = Vec::new();
    let mut stdout = child.stdout.take().context("stdout")?;
    let read = tokio::time::timeout(Duration::from_secs(10), stdout.read_to_end(&mut out)).await;
    drop(stdin);
    let _ = child.kill().await;
    read.context("openssl s_client did not finish")??;
    Ok(out)
}

/// An HTTP/1.1 request to a sidecar over mutual TLS as the mesh identity
/// whose certificate `ca` holds: the answer's status and body.
pub async fn https_request(
    addr: std::net::SocketAddr,
    ca: &DevCa,
    identity: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: mesh.airis.local\r\nConnection: close\r\n\
         content-type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let (crt, key) = (
        ca.path(&format!("{identity}.crt")),
        ca.path(&format!("{identity}.key")),
    );
    let raw = tls_exchange(addr, &ca.path("ca.crt"), Some((&crt, &key)), &request).await?;
    let (status, _, body) = crate::parse_http_response(&raw)
        .with_context(|| format!("{method} {path}: {}", String::from_utf8_lossy(&raw)))?;
    Ok((status, body))
}

/// A sidecar (`mesh/sidecar.yaml`) in front of a local service.
pub struct Sidecar {
    pub inbound: std::net::SocketAddr,
    pub envoy: Envoy,
}

impl Sidecar {
    /// Envoy for `identity` (a certificate of `ca`) forwarding gRPC to
    /// `grpc_port` and other HTTP to `http_port`.
    pub async fn start(
        ca: &DevCa,
        identity: &str,
        grpc_port: u16,
        http_port: u16,
    ) -> anyhow::Result<Self> {
        let envoy = Envoy::start(
            "sidecar.yaml",
            &[
                ("SERVICE", identity.to_owned()),
                ("INBOUND_PORT", "0".to_owned()),
                ("APP_GRPC_ADDRESS", tcp_address(grpc_port)),
                ("APP_HTTP_ADDRESS", tcp_address(http_port)),
                ("CERT_DIR", ca.dir_str()),
            ],
        )
        .await?;
        let inbound = envoy.listener_port("inbound").await?;
        Ok(Self {
            inbound: ([127, 0, 0, 1], inbound).into(),
            envoy,
        })
    }

    pub fn port(&self) -> u16 {
        self.inbound.port()
    }
}

/// A service's outbound sidecar (`mesh/outbound.yaml`): its calls to the
/// query, anomaly and delta services leave through it as the mesh
/// identity `identity`, to `analytics` (both subsets), `aiops` and `delta`.
pub struct Outbound {
    pub address: std::net::SocketAddr,
    pub envoy: Envoy,
}

impl Outbound {
    pub async fn start(
        ca: &DevCa,
        identity: &str,
        analytics: &[u16],
        aiops: &[u16],
        delta: &[u16],
    ) -> anyhow::Result<Self> {
        let envoy = Envoy::start(
            "outbound.yaml",
            &[
                ("SERVICE", identity.to_owned()),
                ("OUTBOUND_ADDRESS", tcp_address(0)),
                ("CERT_DIR", ca.dir_str()),
                ("ANALYTICS_V1_ENDPOINTS", endpoints(analytics)),
                ("ANALYTICS_V2_ENDPOINTS", endpoints(analytics)),
                ("AIOPS_ENDPOINTS", endpoints(aiops)),
                ("DELTA_ENDPOINTS", endpoints(delta)),
            ],
        )
        .await?;
        let port = envoy.listener_port("outbound").await?;
        Ok(Self {
            address: ([127, 0, 0, 1], port).into(),
            envoy,
        })
    }

    /// What the service's `query_endpoint`, `aiops_endpoint` and
    /// `delta_endpoint` are set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// The gateway service in this process, behind its sidecar.
pub struct MeshGateway {
    pub config: airis_gateway::GatewayConfig,
    pub server: GatewayServer,
    pub sidecar: Sidecar,
}

impl MeshGateway {
    pub async fn start(ca: &DevCa, config: airis_gateway::GatewayConfig) -> anyhow::Result<Self> {
        let server = GatewayServer::start(config.clone()).await?;
        let grpc_port = server
            .grpc
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .context("gateway gRPC port")?;
        let sidecar = Sidecar::start(ca, "gateway", grpc_port, server.http.port()).await?;
        Ok(Self {
            config,
            server,
            sidecar,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.sidecar);
        self.server.stop().await
    }
}

/// An access token from `Login` through the ingress (gRPC).
pub async fn login(
    channel: airis_proto::tonic::transport::Channel,
    tenant: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    use airis_proto::airis::gateway::v1::{LoginRequest, auth_service_client::AuthServiceClient};
    Ok(AuthServiceClient::new(channel)
        .login(LoginRequest {
            tenant: tenant.into(),
            username: username.into(),
            password: password.into(),
            start_session: false,
        })
        .await?
        .into_inner()
        .access_token)
}

/// The ingress (`mesh/ingress.yaml`) and its listeners.
pub struct Ingress {
    pub api: std::net::SocketAddr,
    pub otlp: std::net::SocketAddr,
    pub envoy: Envoy,
}

/// Sidecar inbound ports behind each of the ingress's upstreams.
pub struct Upstreams {
    pub analytics_v1: Vec<u16>,
    pub analytics_v2: Vec<u16>,
    pub gateway: u16,
    pub receiver: Vec<u16>,
    pub aiops: Vec<u16>,
    pub delta: Vec<u16>,
    pub search: Vec<u16>,
}

impl Ingress {
    pub async fn start(
        ca: &DevCa,
        upstreams: &Upstreams,
        gateway: &airis_gateway::GatewayConfig,
    ) -> anyhow::Result<Self> {
        let config = std::fs::read_to_string(repo_root().join("mesh/ingress.yaml"))?;
        Self::start_from(config, ca, upstreams, gateway).await
    }

    /// The ingress from a variant of `mesh/ingress.yaml`'s text.
    pub async fn start_from(
        config: String,
        ca: &DevCa,
        upstreams: &Upstreams,
        gateway: &airis_gateway::GatewayConfig,
    ) -> anyhow::Result<Self> {
        // Envoy refuses an empty endpoint list in no way that helps a test:
        // a dead port stands in for "no instance".
        let or_dead = |ports: &[u16]| -> anyhow::Result<String> {
            Ok(if ports.is_empty() {
                endpoints(&[free_port()?])
            } else {
                endpoints(ports)
            })
        };
        let envoy = Envoy::start_from(
            "ingress.yaml",
            config,
            &[
                ("INGRESS_PORT", "0".to_owned()),
                ("OTLP_PORT", "0".to_owned()),
                ("CERT_DIR", ca.dir_str()),
                ("ISSUER", gateway.issuer.clone()),
                ("AUDIENCE", gateway.audience.clone()),
                ("ANALYTICS_V1_ENDPOINTS", or_dead(&upstreams.analytics_v1)?),
                ("ANALYTICS_V2_ENDPOINTS", or_dead(&upstreams.analytics_v2)?),
                ("GATEWAY_ENDPOINTS", endpoints(&[upstreams.gateway])),
                ("RECEIVER_ENDPOINTS", or_dead(&upstreams.receiver)?),
                ("AIOPS_ENDPOINTS", or_dead(&upstreams.aiops)?),
                ("DELTA_ENDPOINTS", or_dead(&upstreams.delta)?),
                ("SEARCH_ENDPOINTS", or_dead(&upstreams.search)?),
            ],
        )
        .await?;
        let api = envoy.listener_port("ingress").await?;
        let otlp = envoy.listener_port("otlp").await?;
        Ok(Self {
            api: ([127, 0, 0, 1], api).into(),
            otlp: ([127, 0, 0, 1], otlp).into(),
            envoy,
        })
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    pub fn otlp_url(&self) -> String {
        format!("http://{}", self.otlp)
    }
}

impl Envoy {
    fn admin(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.admin_port).into()
    }

    /// Sets runtime keys through the admin endpoint (`/runtime_modify`).
    pub async fn runtime(&self, values: &[(&str, &str)]) -> anyhow::Result<()> {
        let query: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let path = format!("/runtime_modify?{}", query.join("&"));
        let (status, _, body) = http_exchange(self.admin(), "POST", &path, &[], &[]).await?;
        if status != 200 {
            bail!("{path}: {status} {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }

    /// Every stat whose name contains `part`, as Envoy prints them.
    pub async fn stats_matching(&self, part: &str) -> anyhow::Result<String> {
        let path = format!("/stats?usedonly&filter={part}");
        let (_, _, body) = http_exchange(self.admin(), "GET", &path, &[], &[]).await?;
        Ok(String::from_utf8(body)?)
    }

    /// A counter or gauge by its full name; 0 if Envoy has not created it.
    pub async fn stat(&self, name: &str) -> anyhow::Result<u64> {
        let path = format!("/stats?usedonly&filter=^{}$", name.replace('.', "\\."));
        let (status, _, body) = http_exchange(self.admin(), "GET", &path, &[], &[]).await?;
        if status != 200 {
            bail!("{path}: {status}");
        }
        let text = String::from_utf8(body)?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().parse())
            .transpose()
            .with_context(|| format!("stat {name}"))?
            .unwrap_or(0))
    }
}

/// How a [`Probe`] answers `ListServices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Behaviour {
    /// Answers at once.
    Healthy = 0,
    /// Every call fails with UNAVAILABLE.
    Failing = 1,
    /// Three calls in ten fail with UNAVAILABLE, never two in a row: the
    /// transient kind a retry gets past.
    Flaky = 2,
    /// Holds every call for two seconds.
    Slow = 3,
}

#[derive(Debug, Default)]
pub struct ProbeCounts {
    pub calls: AtomicU64,
    pub failed: AtomicU64,
    in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

#[derive(Clone)]
struct ProbeService {
    name: Arc<str>,
    behaviour: Arc<AtomicU8>,
    counts: Arc<ProbeCounts>,
}

/// A `QueryService` instance for policy tests: `ListServices` answers with
/// the probe's name (so a test sees which instance served a call) and
/// behaves as told; the other RPCs are UNIMPLEMENTED.
pub struct Probe {
    pub port: u16,
    behaviour: Arc<AtomicU8>,
    pub counts: Arc<ProbeCounts>,
    shutdown: Shutdown,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Probe {
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let behaviour = Arc::new(AtomicU8::new(Behaviour::Healthy as u8));
        let counts = Arc::new(ProbeCounts::default());
        let service = ProbeService {
            name: Arc::from(name),
            behaviour: behaviour.clone(),
            counts: counts.clone(),
        };
        let shutdown = Shutdown::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                let mut services = Services::new();
                services.add(QueryServiceServer::new(service));
                let config = ServerConfig {
                    drain_delay_ms: 0,
                    ..ServerConfig::default()
                };
                grpc::serve(listener, services, &config, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }
        });
        Ok(Self {
            port,
            behaviour,
            counts,
            shutdown,
            task,
        })
    }

    pub fn set(&self, behaviour: Behaviour) {
        self.behaviour.store(behaviour as u8, Ordering::SeqCst);
    }

    pub fn calls(&self) -> u64 {
        self.counts.calls.load(Ordering::SeqCst)
    }

    pub fn failed(&self) -> u64 {
        self.counts.failed.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> u64 {
        self.counts.max_in_flight.load(Ordering::SeqCst)
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.task.await?
    }
}

/// Decrements the in-flight count however the call ends.
struct InFlight<'a>(&'a ProbeCounts);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("probe answers ListServices only"))
}

#[tonic::async_trait]
impl QueryService for ProbeService {
    async fn list_services(
        &self,
        _request: Request<ListServicesRequest>,
    ) -> Result<Response<ListServicesResponse>, Status> {
        let counts = &self.counts;
        let n = counts.calls.fetch_add(1, Ordering::SeqCst);
        let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counts.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let _in_flight = InFlight(counts);
        let fail = match self.behaviour.load(Ordering::SeqCst) {
            1 => true,
            2 => matches!(n % 10, 0 | 3 | 6),
            3 => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                false
            }
            _ => false,
        };
        if fail {
            counts.failed.fetch_add(1, Ordering::SeqCst);
            return Err(Status::unavailable(format!("{} failing", self.name)));
        }
        Ok(Response::new(ListServicesResponse {
            service_names: vec![self.name.to_string()],
        }))
    }

    async fn get_trace(
        &self,
        _: Request<GetTraceRequest>,
    ) -> Result<Response<GetTraceResponse>, Status> {
        unimplemented()
    }
    async fn search_traces(
        &self,
        _: Request<SearchTracesRequest>,
    ) -> Result<Response<SearchTracesResponse>, Status> {
        unimplemented()
    }
    async fn search_spans(
        &self,
        _: Request<SearchSpansRequest>,
    ) -> Result<Response<SearchSpansResponse>, Status> {
        unimplemented()
    }
    async fn service_map(
        &self,
        _: Request<ServiceMapRequest>,
    ) -> Result<Response<ServiceMapResponse>, Status> {
        unimplemented()
    }
    async fn service_overview(
        &self,
        _: Request<ServiceOverviewRequest>,
    ) -> Result<Response<ServiceOverviewResponse>, Status> {
        unimplemented()
    }
    async fn list_operations(
        &self,
        _: Request<ListOperationsRequest>,
    ) -> Result<Response<ListOperationsResponse>, Status> {
        unimplemented()
    }
    async fn query_metrics(
        &self,
        _: Request<QueryMetricsRequest>,
    ) -> Result<Response<QueryMetricsResponse>, Status> {
        unimplemented()
    }
    async fn list_metrics(
        &self,
        _: Request<ListMetricsRequest>,
    ) -> Result<Response<ListMetricsResponse>, Status> {
        unimplemented()
    }
    async fn search_logs(
        &self,
        _: Request<SearchLogsRequest>,
    ) -> Result<Response<SearchLogsResponse>, Status> {
        unimplemented()
    }
    async fn top_k(&self, _: Request<TopKRequest>) -> Result<Response<TopKResponse>, Status> {
        unimplemented()
    }
}

/// A TLS client config for talking to a sidecar directly: trusting
/// `ca_dir`'s CA, presenting `identity`'s certificate from `cert_dir`
/// (`None`: no client certificate).
pub fn tls_files(cert_dir: &Path, identity: Option<&str>) -> (PathBuf, Option<(PathBuf, PathBuf)>) {
    (
        cert_dir.join("ca.crt"),
        identity.map(|id| {
            (
                cert_dir.join(format!("{id}.crt")),
                cert_dir.join(format!("{id}.key")),
            )
        }),
    )
}
