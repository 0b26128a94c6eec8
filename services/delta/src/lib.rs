//! AIRIS-MON delta: `airis.delta.v1.DeltaService`, change analysis.
//!
//! A comparison reads each cohort as counts aggregated by ClickHouse
//! ([`cohort`]): per service, operation and duration bin of a 1 % grid,
//! errors alongside. [`judge`] runs the tests of every operation on those
//! counts ([`stats`]: Mann-Whitney U, Hodges-Lehmann, Kolmogorov-Smirnov,
//! Wilson, Fisher's exact, the two-proportion z-test, the chi-square test
//! of homogeneity, Benjamini-Hochberg), and turns them into a verdict with
//! reasons in English and Korean. [`changes`] finds the changes the
//! telemetry shows (ListChanges) and compares each. The
//! statistics and the judging are plain Rust without I/O, so the
//! calibration tests run them on generated cohorts.

pub mod changes;
pub mod cohort;
mod error;
pub mod judge;
pub mod options;
pub mod rollout;
mod service;
pub mod stats;
pub mod templates;

use airis_analytics::{Limits, query::Store};
use airis_runtime::{
    Shutdown,
    auth::{AuthConfig, AuthConfigError, Authenticator},
    clickhouse::ClickHouseConfig,
    grpc::{self, ServerConfig, Services},
    listen::{Listener, serve_http},
};

pub use error::Error;
pub use service::Delta;

/// Configuration of the delta service (`[delta]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeltaConfig {
    /// gRPC listen address.
    pub listen: String,
    /// HTTP listen address of the rollout controllers' endpoints
    /// (Flagger's webhook, Argo Rollouts' web metric: [`rollout`]).
    pub http_listen: String,
    /// Most (service, operation, duration bin) groups one cohort may
    /// hold: about 40 bytes each in memory, and the bound on the work of
    /// the tests.
    pub max_groups: u64,
    /// Most log shapes (records grouped with their variable words masked)
    /// read per cohort, the most frequent first; the rest are counted but
    /// not mined.
    pub max_log_shapes: u64,
    /// ListChanges: the resource attributes whose new value is a change
    /// (a version, a pod template, a config checksum), in the order a
    /// change of several is compared by.
    pub change_attributes: Vec<String>,
    /// Bounds on the cohorts' queries (time range, query time, rows read),
    /// as the query service's.
    pub limits: Limits,
}

impl Default for DeltaConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4360".to_owned(),
            http_listen: "127.0.0.1:4361".to_owned(),
            max_groups: 500_000,
            max_log_shapes: 20_000,
            change_attributes: [
                "service.version",
                "k8s.pod.label.pod-template-hash",
                "k8s.pod.label.rollouts-pod-template-hash",
                "k8s.pod.annotation.checksum/config",
            ]
            .map(str::to_owned)
            .to_vec(),
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
    #[error("delta http server: {0}")]
    Http(#[from] std::io::Error),
}

/// Serves the delta service on `listener` (gRPC) and the rollout
/// endpoints on `http_listener` until `shutdown`.
pub async fn run(
    listener: impl Into<Listener>,
    http_listener: impl Into<Listener>,
    config: &DeltaConfig,
    clickhouse: &ClickHouseConfig,
    auth: &AuthConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let store = Store::new(clickhouse.client(), config.limits.clone());
    let bounds = cohort::Bounds {
        max_groups: config.max_groups,
        max_log_shapes: config.max_log_shapes,
    };
    let delta = Delta::new(
        Authenticator::new(auth)?,
        store,
        bounds,
        &config.change_attributes,
    );
    let http = serve_http(
        http_listener.into(),
        rollout::router(delta.clone()),
        shutdown.clone(),
    );
    let mut services = Services::new();
    services.add(delta.into_server());
    let (grpc, http) = tokio::join!(grpc::serve(listener, services, server, shutdown), http);
    grpc?;
    http?;
    Ok(())
}
