//! AIRIS-MON aiops: `airis.aiops.v1.AnomalyService`.
//!
//! The models are plain, synchronous Rust with no I/O, so they run the
//! same in the service, in the CLI and in benchmarks: [`detect`] (the
//! online, causal anomaly detector) and [`forecast`] (seasonality found
//! from the data, damped Holt–Winters, empirical prediction intervals).
//! [`nab`] scores Numenta Anomaly Benchmark folders (`airis aiops nab`). The service ([`Aiops`]) checks each request's
//! tenant and fields, then runs the model on a blocking thread: a
//! forecast of a long series is tens of milliseconds of CPU that must not
//! stall the async workers serving other calls.

pub mod detect;
mod error;
pub mod forecast;
pub mod nab;
mod service;

use airis_runtime::{
    Shutdown,
    auth::{AuthConfig, AuthConfigError, Authenticator},
    grpc::{self, ServerConfig, Services},
    listen::Listener,
};

pub use error::Error;
pub use service::{Aiops, FORECAST_MAX_POINTS, MAX_ABS_VALUE, MAX_REQUEST_BYTES, SCORE_MAX_POINTS};

/// Configuration of the aiops service (`[aiops]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiopsConfig {
    /// gRPC listen address.
    pub listen: String,
}

impl Default for AiopsConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4350".to_owned(),
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

/// Serves the aiops service on `listener` until `shutdown`.
pub async fn run(
    listener: impl Into<Listener>,
    auth: &AuthConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let aiops = Aiops::new(Authenticator::new(auth)?);
    let mut services = Services::new();
    services.add(aiops.into_server());
    grpc::serve(listener, services, server, shutdown).await?;
    Ok(())
}
