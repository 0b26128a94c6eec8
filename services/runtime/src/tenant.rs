//! Which tenant a request belongs to, for every service.
//!
//! Two sources, checked in this order:
//! 1. a tenant header set by the mesh after it verified a JWT (Envoy's
//!    `jwt_authn` / Istio `RequestAuthentication` forward the claim); only
//!    enabled when `tenant_header` is configured, because without a mesh in
//!    front anybody could send it;
//! 2. an ingest token (`authorization: Bearer <token>` or
//!    `x-airis-token: <token>`) looked up in the configured token table.
//!
//! A request with neither is refused with UNAUTHENTICATED.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use airis_proto::tonic::metadata::MetadataMap;

/// Why a request has no tenant; services answer it with UNAUTHENTICATED.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TenantError(pub String);

/// Header an exporter may use instead of `authorization`.
pub const TOKEN_HEADER: &str = "x-airis-token";

#[derive(Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Ingest token → tenant id.
    pub tokens: BTreeMap<String, String>,
    /// Header carrying a tenant already verified by the mesh, e.g.
    /// `x-airis-tenant`. Leave unset unless every request passes the mesh.
    pub tenant_header: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("invalid tenant id {0:?} in auth.tokens: {1}")]
    Tenant(String, &'static str),
    #[error("auth.tokens has an empty token")]
    EmptyToken,
}

/// Tokens are secrets: only their tenants are shown.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "tokens",
                &self
                    .tokens
                    .values()
                    .map(|t| format!("<redacted> -> {t}"))
                    .collect::<Vec<_>>(),
            )
            .field("tenant_header", &self.tenant_header)
            .finish()
    }
}

/// Resolves the tenant of each request.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Arc<HashMap<String, Tenant>>,
    tenant_header: Option<String>,
}

/// A validated tenant id, cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(Arc<str>);

impl Tenant {
    /// Checks the tenant id format: `[a-z0-9][a-z0-9_-]{0,62}`. Ids end up
    /// in Kafka headers, ClickHouse rows and cache keys, so they are kept
    /// boring.
    pub fn parse(id: &str) -> Result<Self, &'static str> {
        let bytes = id.as_bytes();
        if bytes.is_empty() || bytes.len() > 63 {
            return Err("must be 1 to 63 characters");
        }
        if !(bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit()) {
            return Err("must start with a lowercase letter or digit");
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
        {
            return Err("may contain only a-z, 0-9, '-' and '_'");
        }
        Ok(Self(Arc::from(id)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Tokens are secrets: only how many there are is shown.
impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens.len())
            .field("tenant_header", &self.tenant_header)
            .finish()
    }
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Result<Self, AuthConfigError> {
        let mut tokens = HashMap::with_capacity(config.tokens.len());
        for (token, tenant) in &config.tokens {
            if token.is_empty() {
                return Err(AuthConfigError::EmptyToken);
            }
            let tenant = Tenant::parse(tenant)
                .map_err(|why| AuthConfigError::Tenant(tenant.clone(), why))?;
            tokens.insert(token.clone(), tenant);
        }
        Ok(Self {
            tokens: Arc::new(tokens),
            tenant_header: config
                .tenant_header
                .as_ref()
                .map(|h| h.to_ascii_lowercase()),
        })
    }

    /// The tenant of a request, or an authentication error naming what is missing.
    pub fn tenant(&self, metadata: &MetadataMap) -> Result<Tenant, TenantError> {
        if let Some(header) = &self.tenant_header
            && let Some(value) = metadata.get(header.as_str())
        {
            let id = value
                .to_str()
                .map_err(|_| unauthenticated(format!("{header}: not valid ascii")))?;
            return Tenant::parse(id)
                .map_err(|why| unauthenticated(format!("{header}: tenant id {why}")));
        }
        let token = match metadata.get("authorization") {
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| unauthenticated("authorization: not valid ascii"))?;
                let Some(token) = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                else {
                    return Err(unauthenticated(
                        "authorization: expected \"Bearer <ingest token>\"",
                    ));
                };
                token.trim()
            }
            None => match metadata.get(TOKEN_HEADER) {
                Some(value) => value
                    .to_str()
                    .map_err(|_| unauthenticated("x-airis-token: not valid ascii"))?
                    .trim(),
                None => {
                    return Err(unauthenticated(
                        "missing credentials: send \"authorization: Bearer <ingest token>\" \
                         (OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<token>)",
                    ));
                }
            },
        };
        self.tokens
            .get(token)
            .cloned()
            .ok_or_else(|| unauthenticated("unknown or revoked ingest token"))
    }
}

fn unauthenticated(message: impl Into<String>) -> TenantError {
    TenantError(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(header: Option<&str>) -> Authenticator {
        Authenticator::new(&AuthConfig {
            tokens: [("tok-a".to_owned(), "acme".to_owned())].into(),
            tenant_header: header.map(str::to_owned),
        })
        .unwrap()
    }

    fn md(pairs: &[(&'static str, &'static str)]) -> MetadataMap {
        let mut map = MetadataMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_and_token_header_resolve() {
        let a = auth(None);
        assert_eq!(
            a.tenant(&md(&[("authorization", "Bearer tok-a")]))
                .unwrap()
                .as_str(),
            "acme"
        );
        assert_eq!(
            a.tenant(&md(&[("x-airis-token", "tok-a")]))
                .unwrap()
                .as_str(),
            "acme"
        );
    }

    #[test]
    fn missing_or_unknown_is_unauthenticated() {
        let a = auth(None);
        for m in [
            md(&[]),
            md(&[("authorization", "Bearer nope")]),
            md(&[("authorization", "Basic abc")]),
        ] {
            let err = a.tenant(&m).unwrap_err();
            assert!(!err.0.is_empty());
        }
    }

    #[test]
    fn tenant_header_only_when_configured() {
        let spoofed = md(&[("x-airis-tenant", "evil")]);
        assert!(auth(None).tenant(&spoofed).is_err());
        assert_eq!(
            auth(Some("x-airis-tenant"))
                .tenant(&spoofed)
                .unwrap()
                .as_str(),
            "evil"
        );
        let bad = md(&[("x-airis-tenant", "Bad Tenant")]);
        assert!(auth(Some("x-airis-tenant")).tenant(&bad).is_err());
    }

    #[test]
    fn tenant_format() {
        assert!(Tenant::parse("acme-prod_1").is_ok());
        for bad in ["", "-x", "A", "a b", "a/b", &"x".repeat(64)] {
            assert!(Tenant::parse(bad).is_err(), "{bad:?}");
        }
        let err = Authenticator::new(&AuthConfig {
            tokens: [("t".to_owned(), "Not Ok".to_owned())].into(),
            tenant_header: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("Not Ok"));
    }
}
