//! Authentication and roles: who a request acts for and what it may do,
//! for every service.
//!
//! The tenant comes from one of two sources, checked in this order:
//! 1. a tenant header set by the mesh after it verified a JWT (Envoy's
//!    `jwt_authn` / Istio `RequestAuthentication` forward the claim); only
//!    enabled when `tenant_header` is configured, because without a mesh in
//!    front anybody could send it;
//! 2. an ingest token (`authorization: Bearer <token>` or
//!    `x-airis-token: <token>`) looked up in the configured token table.
//!
//! A request with neither is refused with UNAUTHENTICATED.
//!
//! With `role_header` configured as well (the mesh forwards the token's
//! `role` claim), each RPC also says what it needs ([`Access`]): reading
//! needs a user's role, sending telemetry needs an ingest token or an
//! editor; anything less is PERMISSION_DENIED. Without a mesh there are no
//! roles: a configured ingest token may do everything for its tenant.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use airis_proto::tonic::metadata::MetadataMap;

use crate::tenant::Tenant;

/// Why a request is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No usable credentials: UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the rights the RPC needs: PERMISSION_DENIED.
    #[error("{0}")]
    PermissionDenied(String),
}

impl From<AuthError> for airis_proto::tonic::Status {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated(m) => Self::unauthenticated(m),
            AuthError::PermissionDenied(m) => Self::permission_denied(m),
        }
    }
}

/// What a user may do, in increasing order of power (the `role` claim of
/// the gateway's access tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

/// The `role` claim of ingest tokens.
pub const INGEST_CLAIM: &str = "ingest";

impl Role {
    /// The `role` claim.
    pub fn as_claim(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// The role a `role` claim names; `None` for ingest tokens and
    /// anything unknown.
    pub fn from_claim(claim: &str) -> Option<Self> {
        match claim {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl From<Role> for airis_proto::airis::gateway::v1::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => Self::Viewer,
            Role::Editor => Self::Editor,
            Role::Admin => Self::Admin,
        }
    }
}

/// What an RPC needs beyond a tenant, checked when roles are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Queries: any signed-in user (viewer or more); not an ingest token.
    Read,
    /// Sending telemetry: an ingest token, or an editor or admin.
    Ingest,
    /// Changing what the tenant configured (alert rules): an editor or
    /// admin.
    Edit,
}

/// Who called, once the credentials are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    /// No role header configured: roles are not checked.
    Unchecked,
    Ingest,
    User(Role),
}

/// The token of an `authorization: Bearer <token>` value, trimmed; `None`
/// for any other scheme. One reading for every service and the edge check.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim)
}

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
    /// Header carrying the verified `role` claim (`x-airis-role`). When
    /// set, RPCs check it; set it together with `tenant_header`.
    pub role_header: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("invalid tenant id {0:?} in auth.tokens: {1}")]
    Tenant(String, &'static str),
    #[error("auth.tokens has an empty token")]
    EmptyToken,
    #[error(
        "auth.role_header needs auth.tenant_header, and the other way round: \
         behind the mesh set both, without it neither"
    )]
    HalfMesh,
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
            .field("role_header", &self.role_header)
            .finish()
    }
}

/// Resolves the tenant of each request.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Arc<HashMap<String, Tenant>>,
    tenant_header: Option<String>,
    role_header: Option<String>,
}

/// Tokens are secrets: only how many there are is shown.
impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens.len())
            .field("tenant_header", &self.tenant_header)
            .field("role_header", &self.role_header)
            .finish()
    }
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Result<Self, AuthConfigError> {
        // One without the other would either deny every query or skip
        // every role check.
        if config.tenant_header.is_some() != config.role_header.is_some() {
            return Err(AuthConfigError::HalfMesh);
        }
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
            role_header: config.role_header.as_ref().map(|h| h.to_ascii_lowercase()),
        })
    }

    /// The tenant of a request whose caller may do `access`: an
    /// authentication error naming what is missing, or a permission error
    /// naming what the caller lacks.
    pub fn tenant(&self, metadata: &MetadataMap, access: Access) -> Result<Tenant, AuthError> {
        let (tenant, principal) = self.caller(metadata)?;
        let allowed = match (access, principal) {
            (_, Principal::Unchecked) => true,
            (Access::Read, Principal::User(_)) => true,
            (Access::Read, Principal::Ingest) => false,
            (Access::Ingest, Principal::Ingest) => true,
            (Access::Ingest, Principal::User(role)) => role >= Role::Editor,
            (Access::Edit, Principal::User(role)) => role >= Role::Editor,
            (Access::Edit, Principal::Ingest) => false,
        };
        if allowed {
            return Ok(tenant);
        }
        Err(AuthError::PermissionDenied(match (access, principal) {
            (Access::Read, _) => "an ingest token can only send telemetry; sign in to query".into(),
            (Access::Ingest, Principal::User(role)) => format!(
                "sending telemetry needs an ingest token or the editor role, the token has {}",
                role.as_claim()
            ),
            (Access::Edit, Principal::User(role)) => format!(
                "this needs the editor or admin role, the token has {}",
                role.as_claim()
            ),
            (Access::Edit, _) => {
                "an ingest token can only send telemetry; sign in as an editor".into()
            }
            _ => "not allowed".into(),
        }))
    }

    /// The headers of `metadata` this authenticator reads (the tenant and
    /// role headers when configured, `authorization`, `x-airis-token`):
    /// what a service passes on when it asks another service for its
    /// caller, so that the other service decides as it would for the
    /// caller itself.
    pub fn credentials(&self, metadata: &MetadataMap) -> MetadataMap {
        let mut out = MetadataMap::new();
        let names = [
            self.tenant_header.as_deref(),
            self.role_header.as_deref(),
            Some("authorization"),
            Some(TOKEN_HEADER),
        ];
        for name in names.into_iter().flatten() {
            if let Ok(key) = name.parse::<airis_proto::tonic::metadata::AsciiMetadataKey>()
                && let Some(value) = metadata.get(&key)
            {
                out.insert(key, value.clone());
            }
        }
        out
    }

    fn caller(&self, metadata: &MetadataMap) -> Result<(Tenant, Principal), AuthError> {
        if let Some(header) = &self.tenant_header
            && let Some(value) = metadata.get(header.as_str())
        {
            let id = value
                .to_str()
                .map_err(|_| unauthenticated(format!("{header}: not valid ascii")))?;
            let tenant = Tenant::parse(id)
                .map_err(|why| unauthenticated(format!("{header}: tenant id {why}")))?;
            let Some(role_header) = &self.role_header else {
                return Ok((tenant, Principal::Unchecked));
            };
            let claim = metadata
                .get(role_header.as_str())
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| AuthError::PermissionDenied(format!("{role_header}: missing")))?;
            let principal = match Role::from_claim(claim) {
                Some(role) => Principal::User(role),
                None if claim == INGEST_CLAIM => Principal::Ingest,
                None => {
                    return Err(AuthError::PermissionDenied(format!(
                        "{role_header}: unknown role {claim:?}"
                    )));
                }
            };
            return Ok((tenant, principal));
        }
        let tenant = self.token_tenant(metadata)?;
        // A configured token is an ingest token; roles only mean something
        // where the mesh forwards them.
        let principal = if self.role_header.is_some() {
            Principal::Ingest
        } else {
            Principal::Unchecked
        };
        Ok((tenant, principal))
    }

    fn token_tenant(&self, metadata: &MetadataMap) -> Result<Tenant, AuthError> {
        let token = match metadata.get("authorization") {
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| unauthenticated("authorization: not valid ascii"))?;
                bearer_token(value).ok_or_else(|| {
                    unauthenticated("authorization: expected \"Bearer <ingest token>\"")
                })?
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

fn unauthenticated(message: impl Into<String>) -> AuthError {
    AuthError::Unauthenticated(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_the_headers_it_reads_and_nothing_else() {
        let incoming = md(&[
            ("x-airis-tenant", "acme"),
            ("x-airis-role", "viewer"),
            ("authorization", "Bearer jwt"),
            ("x-other", "kept out"),
        ]);
        let passed = auth(Some("x-airis-tenant")).credentials(&incoming);
        let mut keys: Vec<_> = passed
            .iter()
            .map(|kv| match kv {
                airis_proto::tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                    format!("{}={}", k.as_str(), v.to_str().unwrap())
                }
                airis_proto::tonic::metadata::KeyAndValueRef::Binary(k, _) => k.to_string(),
            })
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "authorization=Bearer jwt",
                "x-airis-role=viewer",
                "x-airis-tenant=acme"
            ]
        );
        // Without a mesh the tenant header means nothing and is not passed.
        let passed = auth(None).credentials(&incoming);
        assert_eq!(passed.len(), 1);
        assert!(passed.get("authorization").is_some());
    }

    fn auth(header: Option<&str>) -> Authenticator {
        Authenticator::new(&AuthConfig {
            tokens: [("tok-a".to_owned(), "acme".to_owned())].into(),
            tenant_header: header.map(str::to_owned),
            role_header: header.map(|_| "x-airis-role".to_owned()),
        })
        .unwrap()
    }

    fn mesh() -> Authenticator {
        Authenticator::new(&AuthConfig {
            tokens: [("tok-a".to_owned(), "acme".to_owned())].into(),
            tenant_header: Some("X-Airis-Tenant".to_owned()),
            role_header: Some("x-airis-role".to_owned()),
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
            a.tenant(&md(&[("authorization", "Bearer tok-a")]), Access::Read)
                .unwrap()
                .as_str(),
            "acme"
        );
        assert_eq!(
            a.tenant(&md(&[("x-airis-token", "tok-a")]), Access::Ingest)
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
            let err = a.tenant(&m, Access::Read).unwrap_err();
            assert!(matches!(err, AuthError::Unauthenticated(m) if !m.is_empty()));
        }
    }

    #[test]
    fn tenant_header_only_when_configured() {
        let spoofed = md(&[("x-airis-tenant", "evil"), ("x-airis-role", "viewer")]);
        assert!(auth(None).tenant(&spoofed, Access::Read).is_err());
        assert_eq!(
            auth(Some("x-airis-tenant"))
                .tenant(&spoofed, Access::Read)
                .unwrap()
                .as_str(),
            "evil"
        );
        let bad = md(&[("x-airis-tenant", "Bad Tenant")]);
        assert!(
            auth(Some("x-airis-tenant"))
                .tenant(&bad, Access::Read)
                .is_err()
        );
    }

    #[test]
    fn tenant_and_role_headers_come_together() {
        for (tenant, role) in [(Some("x-airis-tenant"), None), (None, Some("x-airis-role"))] {
            let err = Authenticator::new(&AuthConfig {
                tokens: BTreeMap::new(),
                tenant_header: tenant.map(str::to_owned),
                role_header: role.map(str::to_owned),
            })
            .unwrap_err();
            assert!(matches!(err, AuthConfigError::HalfMesh), "{err}");
        }
    }

    #[test]
    fn roles_decide_what_a_caller_may_do() {
        let a = mesh();
        let as_role =
            |role: &'static str| md(&[("x-airis-tenant", "acme"), ("x-airis-role", role)]);
        let denied =
            |r: Result<Tenant, AuthError>| matches!(r, Err(AuthError::PermissionDenied(_)));
        for role in ["viewer", "editor", "admin"] {
            assert_eq!(
                a.tenant(&as_role(role), Access::Read).unwrap().as_str(),
                "acme"
            );
        }
        assert!(denied(a.tenant(&as_role("ingest"), Access::Read)));
        assert!(a.tenant(&as_role("ingest"), Access::Ingest).is_ok());
        assert!(a.tenant(&as_role("editor"), Access::Ingest).is_ok());
        assert!(a.tenant(&as_role("admin"), Access::Ingest).is_ok());
        let viewer = a.tenant(&as_role("viewer"), Access::Ingest).unwrap_err();
        assert!(viewer.to_string().contains("viewer"), "{viewer}");
        assert!(a.tenant(&as_role("editor"), Access::Edit).is_ok());
        assert!(a.tenant(&as_role("admin"), Access::Edit).is_ok());
        let viewer = a.tenant(&as_role("viewer"), Access::Edit).unwrap_err();
        assert!(viewer.to_string().contains("editor or admin"), "{viewer}");
        assert!(denied(a.tenant(&as_role("ingest"), Access::Edit)));
        assert!(denied(a.tenant(&as_role("root"), Access::Read)));
        // A tenant header without a role is not enough.
        assert!(denied(
            a.tenant(&md(&[("x-airis-tenant", "acme")]), Access::Read)
        ));
        // A configured token is an ingest token once roles are checked.
        let token = md(&[("authorization", "Bearer tok-a")]);
        assert!(a.tenant(&token, Access::Ingest).is_ok());
        assert!(denied(a.tenant(&token, Access::Read)));
        // Without a role header nothing is checked.
        assert!(auth(None).tenant(&token, Access::Read).is_ok());
    }

    #[test]
    fn invalid_tenant_ids_in_tokens_are_refused() {
        let err = Authenticator::new(&AuthConfig {
            tokens: [("t".to_owned(), "Not Ok".to_owned())].into(),
            tenant_header: None,
            role_header: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("Not Ok"));
    }
}
