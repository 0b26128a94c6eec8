//! AIRIS-MON analytics engine: `airis.analytics.v1.QueryService`.
//!
//! Every RPC resolves the caller's tenant ([`airis_runtime::tenant`]),
//! validates its request into bounded, tenant-scoped ClickHouse queries built
//! only from bound parameters ([`query`]) over the tables of
//! [`airis_store`], and answers repeatable requests from a Redis result
//! cache when it can ([`cache`]).
//!
//! One module per family of RPCs: [`traces`] (GetTrace, SearchSpans,
//! SearchTraces, ListServices, ListOperations, TopK), [`red`] (ServiceMap,
//! ServiceOverview), [`logs`] (SearchLogs) and [`metrics`] (QueryMetrics,
//! ListMetrics). Paged RPCs share one page-token format ([`page`]).

pub mod cache;
mod error;
pub mod logs;
pub mod metrics;
pub mod page;
pub mod query;
pub mod red;
mod service;
pub mod traces;

use airis_runtime::{
    Shutdown,
    auth::{AuthConfig, AuthConfigError, Authenticator},
    clickhouse::ClickHouseConfig,
    grpc::{self, ServerConfig, Services},
    listen::Listener,
};

use airis_store::rollup::build::RollupConfig;

pub use error::Error;
pub use query::Limits;
pub use service::Analytics;

/// Configuration of the analytics service (`[analytics]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// gRPC listen address.
    pub listen: String,
    pub limits: Limits,
    pub cache: cache::CacheConfig,
    /// The per-minute RED and service-map rollups ServiceMap and
    /// ServiceOverview read, built by the process that runs the loader
    /// ([`airis_store::rollup::build`]).
    pub rollup: RollupConfig,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4320".to_owned(),
            limits: Limits::default(),
            cache: cache::CacheConfig::default(),
            rollup: RollupConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    #[error(transparent)]
    Serve(#[from] grpc::ServeError),
}

/// Serves the analytics service on `listener` until `shutdown`.
pub async fn run(
    listener: impl Into<Listener>,
    config: &AnalyticsConfig,
    clickhouse: &ClickHouseConfig,
    auth: &AuthConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let analytics = Analytics::new(
        Authenticator::new(auth)?,
        query::Store::new(clickhouse.client(), config.limits.clone()),
        cache::Cache::new(&config.cache, &clickhouse.database)?,
    );
    let mut services = Services::new();
    services.add(analytics.into_server());
    grpc::serve(listener, services, server, shutdown).await?;
    Ok(())
}
