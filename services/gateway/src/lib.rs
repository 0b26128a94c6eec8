//! AIRIS-MON gateway service: `airis.gateway.v1.AuthService`.
//!
//! Envoy is the gateway's data plane (gRPC-Web, CORS, JWT verification,
//! routing); this service is its control side for identity:
//! - [`users`]: tenants' users from configuration, Argon2id password hashes;
//! - [`jwt`]: EdDSA tokens, signed here, verified by Envoy against the JWKS
//!   document the [`http`] side serves, together with the UI's files;
//! - [`token_store`]: issued tokens and revocations in Redis;
//! - [`service`]: Login, Refresh, Logout, MintIngestToken, ListTokens,
//!   RevokeToken;
//! - [`session`]: the browser session's cookie.

mod error;
pub mod http;
pub mod jwt;
pub mod service;
pub mod session;
pub mod token_store;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use airis_runtime::{
    Shutdown,
    grpc::{self, ServerConfig, Services},
    listen::{Listener, serve_http},
};

pub use airis_runtime::auth::Role;
pub use error::Error;
pub use service::Auth;

/// Configuration of the gateway service (`[gateway]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// gRPC listen address (AuthService).
    pub listen: String,
    /// HTTP listen address: the JWKS document and the UI's files.
    pub http_listen: String,
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of every token.
    pub audience: String,
    /// File holding the Ed25519 signing key as 64 hexadecimal characters
    /// (the 32-byte seed; `openssl rand -hex 32`). Unset: a key made at
    /// start-up, so tokens do not survive a restart (local use only).
    pub signing_key_file: Option<PathBuf>,
    /// Lifetime of access tokens from Login and Refresh.
    pub access_ttl_secs: u64,
    /// Lifetime of a browser's session (its cookie) from Login: how long a
    /// user stays signed in without typing the password again.
    pub session_ttl_secs: u64,
    /// Lifetime of ingest tokens when the request leaves it 0.
    pub ingest_ttl_days: u32,
    /// Longest lifetime an ingest token may ask for.
    pub max_ingest_ttl_days: u32,
    /// Issued tokens and revocations.
    pub redis_url: String,
    /// Bound on every Redis call.
    pub redis_timeout_ms: u64,
    /// The UI's built files (`web/dist`); unset serves no UI.
    pub ui_dir: Option<PathBuf>,
    /// The OTLP/gRPC endpoint exporters reach from outside
    /// (`https://otlp.example.com:4317`), told to whoever mints an ingest
    /// token. Unset: the UI assumes the ingress's port 4317 on the host
    /// it was loaded from.
    pub otlp_endpoint: Option<String>,
    pub users: Vec<users::UserConfig>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4330".to_owned(),
            http_listen: "127.0.0.1:4331".to_owned(),
            issuer: "airis-gateway".to_owned(),
            audience: "airis".to_owned(),
            signing_key_file: None,
            access_ttl_secs: 900,
            session_ttl_secs: 12 * 3600,
            ingest_ttl_days: 365,
            max_ingest_ttl_days: 730,
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            redis_timeout_ms: 500,
            ui_dir: None,
            otlp_endpoint: None,
            users: Vec::new(),
        }
    }
}

/// The UI's own web server (`[ui]`, `airis serve ui`): its static files and
/// `/healthz`, for deployments that scale the UI apart from the gateway.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub listen: String,
    /// The UI's built files (`web/dist`).
    pub dir: Option<PathBuf>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4340".to_owned(),
            dir: None,
        }
    }
}

/// Serves the UI's files on `listener` until `shutdown`.
pub async fn serve_ui(
    listener: impl Into<Listener>,
    config: &UiConfig,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    serve_http(
        listener.into(),
        http::ui_router(config.dir.clone()),
        shutdown,
    )
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Users(#[from] users::UsersError),
    #[error("gateway.otlp_endpoint {0:?}: expected http://host:port or https://host:port")]
    OtlpEndpoint(String),
    #[error("gateway.signing_key_file {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("gateway.redis_url: {0}")]
    TokenStore(#[from] token_store::TokenStoreError),
    #[error(transparent)]
    Serve(#[from] grpc::ServeError),
    #[error("gateway http server: {0}")]
    Http(#[from] std::io::Error),
}

/// The signing key of `config`.
pub fn keys(config: &GatewayConfig) -> Result<jwt::Keys, StartError> {
    let seed = match &config.signing_key_file {
        Some(path) => {
            let failed = |reason: String| StartError::Key {
                path: path.clone(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
            let bytes =
                hex::decode(text.trim()).map_err(|_| failed("not hexadecimal".to_owned()))?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| failed(format!("{} bytes, expected 32", bytes.len())))?
        }
        None => {
            tracing::warn!(
                "gateway.signing_key_file unset: signing with a key made now; \
                 tokens will not survive a restart"
            );
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| StartError::Key {
                path: PathBuf::new(),
                reason: e.to_string(),
            })?;
            seed
        }
    };
    Ok(jwt::Keys::from_seed(
        &seed,
        &config.issuer,
        &config.audience,
    ))
}

/// An endpoint exporters can be given as it is: an http or https URL with
/// a host (and a port or not), no user info, no path beyond "/".
fn check_otlp_endpoint(endpoint: Option<&str>) -> Result<(), StartError> {
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let bad = || StartError::OtlpEndpoint(endpoint.to_owned());
    let uri: axum::http::Uri = endpoint.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let authority = uri.authority().ok_or_else(bad)?;
    let host_ok = !authority.host().is_empty() && !authority.as_str().contains('@');
    // The authority is the host alone or the host and a port from 1 on
    // (`Uri` accepts "host:http" and leaves its port unset).
    let port_ok = match authority.port_u16() {
        Some(0) => false,
        Some(port) => authority.as_str() == format!("{}:{port}", authority.host()),
        None => authority.as_str() == authority.host(),
    };
    let path_ok = matches!(uri.path(), "" | "/") && uri.query().is_none();
    if scheme_ok && host_ok && port_ok && path_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Serves AuthService on `grpc` and the JWKS and UI on `http` until
/// `shutdown`.
pub async fn run(
    grpc_listener: impl Into<Listener>,
    http_listener: impl Into<Listener>,
    config: &GatewayConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let keys = keys(config)?;
    check_otlp_endpoint(config.otlp_endpoint.as_deref())?;
    let auth = Auth::new(
        keys.clone(),
        users::Users::new(&config.users)?,
        token_store::TokenStore::new(
            &config.redis_url,
            Duration::from_millis(config.redis_timeout_ms),
        )?,
        config,
    );
    tracing::info!(
        kid = keys.kid(),
        users = config.users.len(),
        "gateway keys ready"
    );
    let router = http::router(auth.clone(), config.ui_dir.clone());
    let http = serve_http(http_listener.into(), router, shutdown.clone());
    let mut services = Services::new();
    // The edge sends gRPC reflection here: grpcurl through the ingress
    // lists and describes the whole public API.
    services.add(auth.into_server()).reflect_public_api();
    let (grpc, http) = tokio::join!(grpc::serve(grpc_listener, services, server, shutdown), http);
    grpc?;
    http?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_otlp_endpoint;

    #[test]
    fn otlp_endpoints_are_urls_exporters_can_take() {
        for good in [
            "http://127.0.0.1:4317",
            "https://otlp.example.com:4317",
            "https://otlp.example.com",
            "https://[::1]:4317",
            "https://[::1]",
        ] {
            assert!(check_otlp_endpoint(Some(good)).is_ok(), "{good}");
        }
        for bad in [
            "otlp.example.com:4317",
            "grpc://otlp.example.com:4317",
            "https://",
            "https://:4317",
            "https://otlp.example.com:http",
            "https://otlp.example.com:0",
            "https://otlp.example.com/v1/traces",
            "https://user@otlp.example.com",
            "https://otlp example.com",
            "https://[::1",
            "https://::1",
            "https://h:1:2",
        ] {
            assert!(check_otlp_endpoint(Some(bad)).is_err(), "{bad}");
        }
    }
}
