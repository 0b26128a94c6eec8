//! Support for end-to-end tests against the real infrastructure started by
//! `scripts/infra.sh` (Kafka, the ClickHouse engine, Redis).
//!
//! Every [`Pipeline`] gets its own ClickHouse database, Kafka topics and
//! consumer group, so tests run in parallel without seeing each other's data.
//! Endpoints come from `AIRIS_KAFKA_BROKERS` and `AIRIS_CLICKHOUSE_URL`, as `scripts/infra.sh env` exports them
//! (defaults: the local ports of `scripts/infra.sh`).

pub mod bench;
pub mod mesh;
pub mod otlp;
pub mod platform;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use airis::app::{self, Config, Service};
use airis_ingestion::IngestionConfig;
use airis_runtime::{
    Shutdown, auth::AuthConfig, clickhouse::ClickHouseConfig, grpc::ServerConfig,
    kafka::KafkaConfig, kafka::Topics,
};
use anyhow::{Context as _, bail};
use tokio::task::JoinSet;

/// Ingest token every test pipeline accepts, for [`TENANT`].
pub const TOKEN: &str = "test-token";
pub const TENANT: &str = "acme";
/// A second token and tenant, for isolation checks.
pub const OTHER_TOKEN: &str = "other-token";
pub const OTHER_TENANT: &str = "globex";

pub fn kafka_brokers() -> String {
    std::env::var("AIRIS_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("AIRIS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn clickhouse_url() -> String {
    std::env::var("AIRIS_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".to_owned())
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where `scripts/infra.sh` installed things.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("AIRIS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache"))
}

/// The `airis` binary built next to the running test.
pub fn airis_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> -> target/<profile>/airis
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("airis"))
        .context("unexpected test binary location")?;
    if !path.exists() {
        bail!(
            "{} not found: build it first (cargo build -p airis), scripts/test.sh does",
            path.display()
        );
    }
    Ok(path)
}

/// A name unique to this test run and call, usable in topic, database and
/// group names.
pub fn unique(prefix: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        airis_runtime::clock::now_unix_nano() % 100_000,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Everything a pipeline under test is configured with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
    pub ingestion: IngestionConfig,
    pub analytics: airis_analytics::AnalyticsConfig,
    /// Continuous detection is off unless a test turns it on (most tests'
    /// databases have no aiops tables and need none).
    pub aiops: airis_aiops::AiopsConfig,
    /// The search service's vocabulary: its refresh and synonyms.
    pub search: airis_search::SearchConfig,
    pub auth: AuthConfig,
    pub server: ServerConfig,
}

impl Settings {
    /// Fresh topics, database and consumer group named after `name`.
    pub fn new(name: &str) -> Self {
        let id = unique(name);
        let kafka = KafkaConfig {
            brokers: kafka_brokers(),
            topics: Topics {
                traces: format!("{id}_spans"),
                logs: format!("{id}_logs"),
                metrics: format!("{id}_metrics"),
            },
            partitions: 3,
            replication: 1,
            properties: BTreeMap::new(),
        };
        let clickhouse = ClickHouseConfig {
            url: clickhouse_url(),
            database: format!("t_{id}"),
            user: None,
            password: None,
        };
        let auth = AuthConfig {
            tokens: [
                (TOKEN.to_owned(), TENANT.to_owned()),
                (OTHER_TOKEN.to_owned(), OTHER_TENANT.to_owned()),
            ]
            .into(),
            tenant_header: None,
            role_header: None,
        };
        let mut ingestion = IngestionConfig::default();
        ingestion.receiver.listen = ANY_PORT.to_owned();
        ingestion.loader.group_id = format!("{id}_loader");
        ingestion.loader.max_wait_ms = 200;
        let server = ServerConfig {
            drain_delay_ms: 100,
            ..ServerConfig::default()
        };
        let mut analytics = airis_analytics::AnalyticsConfig {
            listen: ANY_PORT.to_owned(),
            ..Default::default()
        };
        analytics.cache.redis_url = Some(redis_url());
        // Tests that need rollups build them, for the minutes they choose.
        analytics.rollup.enabled = false;
        let mut aiops = airis_aiops::AiopsConfig::default();
        aiops.watch.enabled = false;
        Self {
            kafka,
            clickhouse,
            ingestion,
            analytics,
            aiops,
            search: airis_search::SearchConfig::default(),
            auth,
            server,
        }
    }

    /// Environment variables that configure an `airis` child process the
    /// same way.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AIRIS_KAFKA__BROKERS".into(), self.kafka.brokers.clone()),
            (
                "AIRIS_KAFKA__TOPICS__TRACES".into(),
                self.kafka.topics.traces.clone(),
            ),
            (
                "AIRIS_KAFKA__TOPICS__LOGS".into(),
                self.kafka.topics.logs.clone(),
            ),
            (
                "AIRIS_KAFKA__TOPICS__METRICS".into(),
                self.kafka.topics.metrics.clone(),
            ),
            ("AIRIS_CLICKHOUSE__URL".into(), self.clickhouse.url.clone()),
            (
                "AIRIS_AIOPS__WATCH__ENABLED".into(),
                self.aiops.watch.enabled.to_string(),
            ),
            (
                "AIRIS_CLICKHOUSE__DATABASE".into(),
                self.clickhouse.database.clone(),
            ),
            (
                "AIRIS_INGESTION__LOADER__GROUP_ID".into(),
                self.ingestion.loader.group_id.clone(),
            ),
            (
                "AIRIS_INGESTION__LOADER__MAX_WAIT_MS".into(),
                self.ingestion.loader.max_wait_ms.to_string(),
            ),
            (
                "AIRIS_INGESTION__LOADER__MAX_ROWS".into(),
                self.ingestion.loader.max_rows.to_string(),
            ),
        ]
    }

    /// Creates the database schema and the topics.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        airis_store::schema::migrate(
            &self.clickhouse.server_client(),
            &self.clickhouse.database,
            &self.ingestion.schema,
        )
        .await
        .context("migrate clickhouse")?;
        airis_runtime::kafka::ensure_topics(&self.kafka)
            .await
            .context("create topics")?;
        Ok(())
    }

    pub fn clickhouse(&self) -> clickhouse::Client {
        self.clickhouse.client()
    }

    /// The process configuration these settings make.
    pub fn config(&self) -> Config {
        Config {
            kafka: self.kafka.clone(),
            clickhouse: self.clickhouse.clone(),
            ingestion: self.ingestion.clone(),
            analytics: self.analytics.clone(),
            aiops: airis_aiops::AiopsConfig {
                listen: ANY_PORT.to_owned(),
                ..self.aiops.clone()
            },
            delta: airis_delta::DeltaConfig {
                listen: ANY_PORT.to_owned(),
                http_listen: ANY_PORT.to_owned(),
                ..Default::default()
            },
            search: airis_search::SearchConfig {
                listen: ANY_PORT.to_owned(),
                ..self.search.clone()
            },
            auth: self.auth.clone(),
            server: self.server.clone(),
            ..Config::default()
        }
    }
}

/// A listen address on whichever port the kernel gives, so parallel tests
/// never race for a port.
const ANY_PORT: &str = "127.0.0.1:0";

/// Services started in this process by [`app::start`], as the `airis`
/// binary starts them, with their own shutdown.
struct Running {
    shutdown: Shutdown,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Running {
    fn new() -> Self {
        Self {
            shutdown: Shutdown::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Starts `services`; returns the configuration with the addresses
    /// they listen on.
    async fn start(&mut self, config: &Config, services: &[Service]) -> anyhow::Result<Config> {
        app::start(config, services, &self.shutdown, &mut self.tasks).await
    }

    /// Triggers shutdown and waits for every service to drain.
    async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        while let Some(joined) = self.tasks.join_next().await {
            joined??;
        }
        Ok(())
    }
}

/// A receiver and a loader running in this process.
pub struct Pipeline {
    pub settings: Settings,
    pub endpoint: String,
    pub shutdown: Shutdown,
    running: Running,
}

impl Pipeline {
    /// Migrates, then starts a receiver on 127.0.0.1:0 and a loader.
    pub async fn start(settings: Settings) -> anyhow::Result<Self> {
        settings.migrate().await?;
        Self::with(settings, &[Service::Receiver, Service::Loader]).await
    }

    /// Starts only the receiver (the schema and topics must exist).
    pub async fn receiver_only(settings: Settings) -> anyhow::Result<Self> {
        Self::with(settings, &[Service::Receiver]).await
    }

    async fn with(settings: Settings, services: &[Service]) -> anyhow::Result<Self> {
        let mut running = Running::new();
        let started = running.start(&settings.config(), services).await?;
        Ok(Self {
            endpoint: format!("http://{}", started.ingestion.receiver.listen),
            shutdown: running.shutdown.clone(),
            settings,
            running,
        })
    }

    /// Triggers shutdown and waits for both roles to drain.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// The aiops service running in this process, on 127.0.0.1:0.
pub struct AiopsServer {
    pub endpoint: String,
    running: Running,
}

impl AiopsServer {
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        let mut running = Running::new();
        let started = running.start(&settings.config(), &[Service::Aiops]).await?;
        Ok(Self {
            endpoint: format!("http://{}", started.aiops.listen),
            running,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// The delta service running in this process, on 127.0.0.1:0.
pub struct DeltaServer {
    pub endpoint: String,
    /// The rollout endpoints' HTTP address.
    pub http: std::net::SocketAddr,
    running: Running,
}

impl DeltaServer {
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        let mut running = Running::new();
        let started = running.start(&settings.config(), &[Service::Delta]).await?;
        Ok(Self {
            endpoint: format!("http://{}", started.delta.listen),
            http: started.delta.http_listen.parse()?,
            running,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// The search service running in this process, on 127.0.0.1:0.
pub struct SearchServer {
    pub endpoint: String,
    running: Running,
}

impl SearchServer {
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        let mut running = Running::new();
        let started = running
            .start(&settings.config(), &[Service::Search])
            .await?;
        Ok(Self {
            endpoint: format!("http://{}", started.search.listen),
            running,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// The analytics service running in this process.
pub struct QueryServer {
    pub endpoint: String,
    running: Running,
}

impl QueryServer {
    /// Starts the analytics service on 127.0.0.1:0 for `settings`.
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        let mut running = Running::new();
        let started = running
            .start(&settings.config(), &[Service::Analytics])
            .await?;
        Ok(Self {
            endpoint: format!("http://{}", started.analytics.listen),
            running,
        })
    }

    /// A client of the analytics service.
    pub async fn client(
        &self,
    ) -> anyhow::Result<
        airis_proto::airis::analytics::v1::query_service_client::QueryServiceClient<
            airis_proto::tonic::transport::Channel,
        >,
    > {
        Ok(
            airis_proto::airis::analytics::v1::query_service_client::QueryServiceClient::connect(
                self.endpoint.clone(),
            )
            .await?,
        )
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// Polls `sql` (a `SELECT count()`-like query returning one UInt64) until it
/// equals `expected` or `timeout` passes; returns the last value seen.
pub async fn wait_for_count(
    client: &clickhouse::Client,
    sql: &str,
    expected: u64,
    timeout: Duration,
) -> anyhow::Result<u64> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen: u64 = client
            .query(sql)
            .fetch_one()
            .await
            .context(sql.to_owned())?;
        if seen == expected || Instant::now() >= deadline {
            return Ok(seen);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A tool installed by `scripts/infra.sh`, from `$AIRIS_CACHE/bin` or PATH.
pub fn tool(name: &str) -> PathBuf {
    let cached = cache_dir().join("bin").join(name);
    if cached.exists() {
        cached
    } else {
        PathBuf::from(name)
    }
}

/// Runs grpcurl (as an operator would, by hand); whether it succeeded, and
/// what it printed on stdout and stderr.
pub async fn grpcurl(args: &[&str]) -> anyhow::Result<(bool, String)> {
    let output = tokio::process::Command::new(tool("grpcurl"))
        .args(args)
        .output()
        .await
        .context("run grpcurl")?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}

/// The Python interpreter of the venv with the OpenTelemetry SDK.
pub fn python() -> PathBuf {
    cache_dir().join("venv").join("bin").join("python")
}

/// A private instance of some infrastructure, started by `scripts/infra.sh`
/// with its own state directory and ports, for tests that stop, kill or
/// restart it without disturbing other tests.
pub struct PrivateInfra {
    state: PathBuf,
    pub kafka_port: u16,
    pub kafka_controller_port: u16,
    pub clickhouse_port: u16,
}

impl PrivateInfra {
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let state = std::env::temp_dir().join(unique(&format!("airis-infra-{name}")));
        std::fs::create_dir_all(&state)?;
        Ok(Self {
            state,
            kafka_port: free_port()?,
            kafka_controller_port: free_port()?,
            clickhouse_port: free_port()?,
        })
    }

    pub fn kafka_brokers(&self) -> String {
        format!("127.0.0.1:{}", self.kafka_port)
    }

    pub fn clickhouse_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.clickhouse_port)
    }

    /// Runs `scripts/infra.sh <action> <component>` for this instance.
    pub async fn run(&self, action: &str, component: &str) -> anyhow::Result<()> {
        let output = tokio::process::Command::new(repo_root().join("scripts/infra.sh"))
            .args([action, component])
            .env("AIRIS_CACHE", cache_dir())
            .env("AIRIS_STATE", &self.state)
            .env("AIRIS_KAFKA_PORT", self.kafka_port.to_string())
            .env(
                "AIRIS_KAFKA_CONTROLLER_PORT",
                self.kafka_controller_port.to_string(),
            )
            .env("AIRIS_CLICKHOUSE_PORT", self.clickhouse_port.to_string())
            .output()
            .await
            .context("run scripts/infra.sh")?;
        if !output.status.success() {
            bail!(
                "scripts/infra.sh {action} {component} failed: {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for PrivateInfra {
    fn drop(&mut self) {
        // Best effort: never leave brokers running after a test.
        let _ = std::process::Command::new(repo_root().join("scripts/infra.sh"))
            .args(["stop", "kafka", "clickhouse"])
            .env("AIRIS_CACHE", cache_dir())
            .env("AIRIS_STATE", &self.state)
            .env("AIRIS_KAFKA_PORT", self.kafka_port.to_string())
            .env(
                "AIRIS_KAFKA_CONTROLLER_PORT",
                self.kafka_controller_port.to_string(),
            )
            .env("AIRIS_CLICKHOUSE_PORT", self.clickhouse_port.to_string())
            .output();
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// An `airis` child process, killed when dropped.
pub struct Child {
    child: tokio::process::Child,
}

impl Child {
    /// Starts `airis <args>` configured by `settings`, logging to a file
    /// under the system temp dir.
    pub fn spawn(settings: &Settings, args: &[&str]) -> anyhow::Result<Self> {
        Self::spawn_with(settings, args, &[])
    }

    /// Like [`Child::spawn`], with extra environment variables.
    pub fn spawn_with(
        settings: &Settings,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let log = std::env::temp_dir().join(format!("{}.log", unique("airis-child")));
        let file = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(airis_binary()?)
            .args(args)
            .envs(settings.env())
            .env("RUST_LOG", "info,airis_ingestion=debug")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(file)
            .kill_on_drop(true)
            .spawn()?;
        tracing::info!(log = %log.display(), ?args, "spawned airis");
        Ok(Self { child })
    }

    /// SIGKILL: no drain, no flush, no commit.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().context("child already exited")?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??)
    }
}

/// The gateway service running in this process: AuthService on one
/// 127.0.0.1 port, JWKS and UI files on another.
pub struct GatewayServer {
    pub grpc: String,
    pub http: std::net::SocketAddr,
    running: Running,
}

impl GatewayServer {
    pub async fn start(gateway: airis_gateway::GatewayConfig) -> anyhow::Result<Self> {
        let config = Config {
            gateway: airis_gateway::GatewayConfig {
                listen: ANY_PORT.to_owned(),
                http_listen: ANY_PORT.to_owned(),
                ..gateway
            },
            server: ServerConfig {
                drain_delay_ms: 50,
                ..ServerConfig::default()
            },
            ..Config::default()
        };
        let mut running = Running::new();
        let started = running.start(&config, &[Service::Gateway]).await?;
        Ok(Self {
            grpc: format!("http://{}", started.gateway.listen),
            http: started.gateway.http_listen.parse()?,
            running,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}

/// A gateway user with a freshly hashed password.
pub fn gateway_user(
    tenant: &str,
    username: &str,
    password: &str,
    role: airis_gateway::Role,
) -> airis_gateway::users::UserConfig {
    airis_gateway::users::UserConfig {
        tenant: tenant.into(),
        username: username.into(),
        password_hash: airis_gateway::users::hash_password(password).expect("hashing works"),
        role,
    }
}

/// Envoy (installed by `scripts/infra.sh` into `$AIRIS_CACHE/bin`) running
/// one of the `mesh/` configurations, killed when dropped.
pub struct Envoy {
    pub admin_port: u16,
    child: tokio::process::Child,
    _config: TempPath,
}

/// A rendered config, removed with its `.log` when dropped.
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        // AIRIS_KEEP_ENVOY=1 keeps configs and logs for a look afterwards.
        if std::env::var_os("AIRIS_KEEP_ENVOY").is_some() {
            eprintln!("envoy config and log kept: {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("log"));
        let _ = std::fs::remove_file(self.0.with_extension("admin"));
    }
}

impl Envoy {
    /// Renders `mesh/<template>` with `vars` (`{{NAME}}` → value, by
    /// [`airis_runtime::mesh::render`] as `scripts/mesh.sh` does; the admin
    /// listener gets port 0), starts Envoy on it and waits until it is
    /// ready (admin `/ready`, at most 30 s). Listener ports may be 0 too:
    /// [`Envoy::listener_port`] tells which port the kernel gave, so
    /// parallel tests never race for a port.
    pub async fn start(template: &str, vars: &[(&str, String)]) -> anyhow::Result<Self> {
        let config = std::fs::read_to_string(repo_root().join("mesh").join(template))
            .with_context(|| format!("reading mesh/{template}"))?;
        Self::start_from(template, config, vars).await
    }

    /// [`Envoy::start`] on a template's text, e.g. a variant of a `mesh/`
    /// file that a benchmark changed; `template` names it in errors.
    pub async fn start_from(
        template: &str,
        config: String,
        vars: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let binary = cache_dir().join("bin").join("envoy");
        if !binary.exists() {
            bail!(
                "{} not found: run scripts/infra.sh start (it installs Envoy)",
                binary.display()
            );
        }
        let values: Vec<(&str, &str)> = std::iter::once(("ADMIN_PORT", "0"))
            .chain(vars.iter().map(|(name, value)| (*name, value.as_str())))
            .collect();
        let config = airis_runtime::mesh::render(&config, &values)
            .with_context(|| format!("rendering mesh/{template}"))?;
        let path = std::env::temp_dir().join(format!("{}.yaml", unique("envoy")));
        std::fs::write(&path, config)?;
        let admin_file = path.with_extension("admin");
        let log = std::fs::File::create(path.with_extension("log"))?;
        let child = tokio::process::Command::new(&binary)
            .arg("-c")
            .arg(&path)
            .arg("--admin-address-path")
            .arg(&admin_file)
            .args(["--use-dynamic-base-id", "--log-level"])
            .arg(std::env::var("AIRIS_ENVOY_LOG_LEVEL").unwrap_or_else(|_| "warn".into()))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut envoy = Self {
            admin_port: 0,
            child,
            _config: TempPath(path.clone()),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = envoy.child.try_wait()? {
                let log = std::fs::read_to_string(path.with_extension("log")).unwrap_or_default();
                bail!("envoy exited ({status}): {log}");
            }
            if envoy.admin_port == 0 {
                envoy.admin_port = std::fs::read_to_string(&admin_file)
                    .ok()
                    .and_then(|a| a.trim().rsplit(':').next()?.parse().ok())
                    .unwrap_or(0);
            }
            if envoy.admin_port != 0
                && let Ok((status, _)) = http_request(
                    ([127, 0, 0, 1], envoy.admin_port).into(),
                    "GET",
                    "/ready",
                    &[],
                    &[],
                )
                .await
                && status == 200
            {
                return Ok(envoy);
            }
            if Instant::now() > deadline {
                bail!("envoy not ready after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The Envoy process id (CPU accounting in benchmarks).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The port the listener `name` is bound to.
    pub async fn listener_port(&self, name: &str) -> anyhow::Result<u16> {
        let (status, body) = http_request(
            ([127, 0, 0, 1], self.admin_port).into(),
            "GET",
            "/listeners?format=json",
            &[],
            &[],
        )
        .await?;
        anyhow::ensure!(status == 200, "/listeners: {status}");
        let listeners: serde_json::Value = serde_json::from_slice(&body)?;
        listeners["listener_statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["name"] == name)
            .and_then(|l| l["local_address"]["socket_address"]["port_value"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .with_context(|| format!("no listener {name}"))
    }
}

/// One HTTP/1.1 request (`Connection: close`); the status code, headers
/// (lowercased names) and body (chunked transfer decoded).
pub async fn http_exchange(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<HttpResponse> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    // A server that answers before reading the whole body (Envoy refusing
    // a request) may reset the connection after its answer: keep what came.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e.into()),
        }
    }
    parse_http_response(&raw)
}

/// An HTTP/1.1 answer: status, headers (names in lower case), body.
pub type HttpResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// An HTTP/1.1 response as it came off the wire (chunks joined).
pub fn parse_http_response(raw: &[u8]) -> anyhow::Result<HttpResponse> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut body = Vec::new();
        loop {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .context("bad chunk")?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = rest[end + 2 + size + 2..].to_vec();
        }
        rest = body;
    }
    Ok((status, headers, rest))
}

async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let (status, _, body) = http_exchange(addr, method, path, headers, body).await?;
    Ok((status, body))
}
