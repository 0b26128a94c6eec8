//! Wiring: configuration, and which service runs where.

use std::path::Path;
use std::time::Duration;

use airis_aiops::AiopsConfig;
use airis_analytics::AnalyticsConfig;
use airis_delta::DeltaConfig;
use airis_gateway::{GatewayConfig, UiConfig};
use airis_ingestion::IngestionConfig;
use airis_runtime::listen::Listener;
use airis_runtime::{
    Shutdown, auth::AuthConfig, clickhouse::ClickHouseConfig, grpc::ServerConfig,
    kafka::KafkaConfig, telemetry::TelemetryConfig,
};
use airis_search::SearchConfig;
use anyhow::Context as _;
use tokio::task::JoinSet;

/// The whole configuration file.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub clickhouse: ClickHouseConfig,
    pub kafka: KafkaConfig,
    pub telemetry: TelemetryConfig,
    pub server: ServerConfig,
    /// Who may call: ingest tokens and the mesh's tenant header.
    pub auth: AuthConfig,
    pub ingestion: IngestionConfig,
    pub analytics: AnalyticsConfig,
    pub aiops: AiopsConfig,
    pub delta: DeltaConfig,
    pub search: SearchConfig,
    pub gateway: GatewayConfig,
    pub ui: UiConfig,
}

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Ok(airis_runtime::config::load(
            file,
            &airis_runtime::config::process_env(),
        )?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// OTLP receiver and Kafka → ClickHouse loader.
    Ingestion,
    /// OTLP/gRPC receiver only.
    Receiver,
    /// Kafka → ClickHouse loader only.
    Loader,
    /// The analytics service: queries over traces, metrics and logs (`QueryService`).
    Analytics,
    /// Anomaly detection and forecasting (`AnomalyService`).
    Aiops,
    /// Change analysis: canary against baseline, before against after
    /// (`DeltaService`).
    Delta,
    /// Natural-language search: questions in Korean or English read over
    /// the tenant's vocabulary (`SearchService`).
    Search,
    /// Logins and tokens (AuthService), the JWKS document, the edge's token
    /// check and the UI's files.
    Gateway,
    /// The UI's files alone (`[ui]`).
    Ui,
}

impl Service {
    pub const ALL: &'static [Service] = &[
        Service::Ingestion,
        Service::Analytics,
        Service::Aiops,
        Service::Delta,
        Service::Search,
        Service::Gateway,
    ];
}

/// Runs the chosen services until a shutdown signal, then drains them all.
pub async fn serve(config: &Config, services: &[Service]) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals();
    let mut tasks = JoinSet::new();
    start(config, services, &shutdown, &mut tasks).await?;

    // One service failing stops the others: a half-running process would
    // look healthy to the mesh while doing half its job.
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.context("service task panicked").and_then(|r| r);
        if let Err(error) = outcome {
            tracing::error!(
                error = format!("{error:#}"),
                "service failed, stopping the process"
            );
            shutdown.trigger();
            if result.is_ok() {
                result = Err(error);
            }
        }
    }
    result
}

/// Binds the listeners of the chosen services and starts each on `tasks`,
/// until `shutdown`. Returns `config` as started: every listen address of a
/// started service as bound, so `127.0.0.1:0` shows the port the kernel
/// gave. The binary and the end-to-end tests both start services here.
pub async fn start(
    config: &Config,
    services: &[Service],
    shutdown: &Shutdown,
    tasks: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<Config> {
    let wants = |s: Service| services.contains(&s) || services.contains(&Service::Ingestion);
    let mut started = config.clone();

    if wants(Service::Receiver) {
        let listener = bind(
            &config.ingestion.receiver.listen,
            "ingestion.receiver.listen",
        )
        .await?;
        started.ingestion.receiver.listen = listener.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_ingestion::run_receiver(
                listener,
                &config.ingestion,
                &config.auth,
                &config.kafka,
                &config.server,
                shutdown,
            )
            .await
            .context("ingestion receiver")
        });
    }
    if wants(Service::Loader) {
        // The rollups are derived from what the loader writes, with the
        // loader's (writing) ClickHouse credentials.
        let (client, rollup) = (config.clickhouse.client(), config.analytics.rollup.clone());
        let rollup_shutdown = shutdown.clone();
        tasks.spawn(async move {
            airis_store::rollup::build::run(client, rollup, rollup_shutdown).await;
            Ok(())
        });
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_ingestion::loader::run(
                &config.kafka,
                config.clickhouse.client(),
                config.ingestion.loader.clone(),
                shutdown,
            )
            .await
            .context("ingestion loader")
        });
    }

    if services.contains(&Service::Analytics) {
        let listener = bind(&config.analytics.listen, "analytics.listen").await?;
        started.analytics.listen = listener.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_analytics::run(
                listener,
                &config.analytics,
                &config.clickhouse,
                &config.auth,
                &config.server,
                shutdown,
            )
            .await
            .context("analytics")
        });
    }

    if services.contains(&Service::Aiops) {
        let listener = bind(&config.aiops.listen, "aiops.listen").await?;
        started.aiops.listen = listener.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_aiops::run(
                listener,
                &config.aiops,
                &config.clickhouse,
                &config.auth,
                &config.server,
                shutdown,
            )
            .await
            .context("aiops")
        });
    }

    if services.contains(&Service::Delta) {
        let listener = bind(&config.delta.listen, "delta.listen").await?;
        let http = bind(&config.delta.http_listen, "delta.http_listen").await?;
        started.delta.listen = listener.describe();
        started.delta.http_listen = http.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_delta::run(
                listener,
                http,
                &config.delta,
                &config.clickhouse,
                &config.auth,
                &config.server,
                shutdown,
            )
            .await
            .context("delta")
        });
    }

    if services.contains(&Service::Search) {
        let listener = bind(&config.search.listen, "search.listen").await?;
        started.search.listen = listener.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_search::run(
                listener,
                &config.search,
                &config.clickhouse,
                &config.auth,
                &config.server,
                shutdown,
            )
            .await
            .context("search")
        });
    }

    if services.contains(&Service::Gateway) {
        let grpc = bind(&config.gateway.listen, "gateway.listen").await?;
        let http = bind(&config.gateway.http_listen, "gateway.http_listen").await?;
        started.gateway.listen = grpc.describe();
        started.gateway.http_listen = http.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_gateway::run(grpc, http, &config.gateway, &config.server, shutdown)
                .await
                .context("gateway")
        });
    }

    if services.contains(&Service::Ui) {
        let listener = bind(&config.ui.listen, "ui.listen").await?;
        started.ui.listen = listener.describe();
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tasks.spawn(async move {
            airis_gateway::serve_ui(listener, &config.ui, shutdown)
                .await
                .context("ui")
        });
    }

    Ok(started)
}

/// Binds `address`, the value of the setting `key` (named in the error).
async fn bind(address: &str, key: &str) -> anyhow::Result<Listener> {
    Listener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} ({key})"))
}

/// Applies ClickHouse migrations and creates Kafka topics. With `wait`,
/// keeps trying while ClickHouse or Kafka are still starting (up to two
/// minutes), for `all-in-one` started together with its dependencies.
pub async fn migrate(config: &Config, wait: bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(if wait { 120 } else { 0 });
    loop {
        match migrate_once(config).await {
            Ok(()) => return Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "migration not possible yet, retrying"
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn migrate_once(config: &Config) -> anyhow::Result<()> {
    let applied = airis_store::schema::migrate(
        &config.clickhouse.server_client(),
        &config.clickhouse.database,
        &config.ingestion.schema,
    )
    .await
    .context("clickhouse migrations")?;
    tracing::info!(?applied, database = %config.clickhouse.database, "clickhouse schema up to date");
    let created = airis_runtime::kafka::ensure_topics(&config.kafka)
        .await
        .context("kafka topics")?;
    tracing::info!(?created, "kafka topics ready");
    Ok(())
}
