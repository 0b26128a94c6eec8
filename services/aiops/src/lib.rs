//! AIRIS-MON aiops: `airis.aiops.v1.AnomalyService`.
//!
//! The models are plain, synchronous Rust with no I/O, so they run the
//! same in the service, in the CLI and in benchmarks: [`detect`] (the
//! online, causal anomaly detector) and [`forecast`] (seasonality found
//! from the data, damped Holt–Winters, empirical prediction intervals).
//! [`nab`] scores Numenta Anomaly Benchmark folders (`airis aiops nab`);
//! [`watch`] watches every tenant's per-minute RED series continuously and
//! stores what it finds, which ListAnomalies and WatchAnomalies serve. The
//! service ([`Aiops`]) checks each request's
//! tenant and fields, then runs the model on a blocking thread: a
//! forecast of a long series is tens of milliseconds of CPU that must not
//! stall the async workers serving other calls.

pub mod alert;
mod anomalies;
pub mod detect;
mod error;
mod feed;
pub mod forecast;
pub mod nab;
mod service;
mod stored;
pub mod watch;

use airis_analytics::{Limits, query::Store};
use airis_runtime::{
    Shutdown,
    auth::{AuthConfig, AuthConfigError, Authenticator},
    clickhouse::ClickHouseConfig,
    grpc::{self, ServerConfig, Services},
    listen::Listener,
};
use std::time::Duration;

pub use error::Error;
pub use service::{Aiops, FORECAST_MAX_POINTS, MAX_ABS_VALUE, MAX_REQUEST_BYTES, SCORE_MAX_POINTS};

/// Configuration of the aiops service (`[aiops]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiopsConfig {
    /// gRPC listen address.
    pub listen: String,
    /// Continuous detection of every tenant's RED series.
    pub watch: watch::WatchConfig,
    /// How often WatchAnomalies streams look for newly stored anomalies
    /// (one query per process while any stream is open).
    pub stream_poll_ms: u64,
    /// Bounds on ListAnomalies' queries (time range, page size, query
    /// time), as the query service's.
    pub limits: Limits,
}

impl Default for AiopsConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4350".to_owned(),
            watch: watch::WatchConfig::default(),
            stream_poll_ms: 2_000,
            limits: Limits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    #[error(transparent)]
    Serve(#[from] grpc::ServeError),
}

/// Serves the aiops service on `listener`, and runs continuous detection
/// when `config.watch.enabled`, until `shutdown`.
pub async fn run(
    listener: impl Into<Listener>,
    config: &AiopsConfig,
    clickhouse: &ClickHouseConfig,
    auth: &AuthConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let store = Store::new(clickhouse.client(), config.limits.clone());
    let stored = feed::start(
        store.clone(),
        Duration::from_millis(config.stream_poll_ms),
        shutdown.clone(),
    );
    let aiops = Aiops::new(
        Authenticator::new(auth)?,
        store.clone(),
        stored.clone(),
        shutdown.clone(),
    );
    let alerts = alert::Alerts::new(Authenticator::new(auth)?, store.clone());
    let watcher = config.watch.enabled.then(|| {
        let watcher = watch::Watcher::new(config.watch.clone(), store);
        tokio::spawn(watcher.run(shutdown.clone()))
    });
    let mut services = Services::new();
    services.add(aiops.into_server());
    services.add(alerts.into_server());
    grpc::serve(listener, services, server, shutdown).await?;
    if let Some(watcher) = watcher {
        // Its last states are stored before the process exits.
        let _ = watcher.await;
    }
    Ok(())
}
