//! `airis.gateway.v1.AuthService`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airis_proto::airis::gateway::v1::{
    ListTokensRequest, ListTokensResponse, LoginRequest, LoginResponse, LogoutRequest,
    LogoutResponse, MintIngestTokenRequest, MintIngestTokenResponse, RefreshRequest,
    RefreshResponse, RevokeTokenRequest, RevokeTokenResponse, Role as ProtoRole, TokenInfo,
    auth_service_server::{AuthService, AuthServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};

use crate::jwt::{Claims, Keys};
use crate::session;
use crate::token_store::{TokenKind, TokenRecord, TokenStore};
use crate::users::Users;
use airis_runtime::auth::INGEST_CLAIM;
use airis_runtime::clock::now_unix_secs;

use crate::{Error, GatewayConfig, Role};

/// Longest description MintIngestToken keeps.
const MAX_DESCRIPTION: usize = 256;
const SECS_PER_DAY: i64 = 86_400;

/// The service state, cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

/// How long a "not revoked" answer from Redis is reused. The edge asks on
/// every API call, and a page of the UI makes dozens with one token: one
/// Redis read per token per interval instead. Revocations made through
/// this process apply at once; through another replica, within this time.
const REVOCATION_RECHECK: Duration = Duration::from_secs(1);
/// Bound on remembered tokens; the memory is dropped whole when reached
/// (Redis stays the truth).
const MAX_REMEMBERED: usize = 50_000;

#[derive(Clone, Copy)]
enum Seen {
    /// Redis said "not revoked" to a read that started at this instant.
    NotRevoked(Instant),
    /// Revoked through this process: never again overwritten by a read
    /// that raced with the revocation.
    Revoked,
}

/// A token to issue: everything but its id and times.
struct Grant<'a> {
    tenant: &'a str,
    subject: &'a str,
    role: &'a str,
    kind: TokenKind,
    description: &'a str,
    ttl_secs: i64,
    /// The browser session it belongs to, if any.
    session: Option<&'a TokenRecord>,
}

struct Inner {
    keys: Keys,
    users: Users,
    store: TokenStore,
    /// What this process last learnt about token ids.
    seen: Mutex<HashMap<String, Seen>>,
    access_ttl_secs: i64,
    session_ttl_secs: i64,
    ingest_ttl_days: u32,
    max_ingest_ttl_days: u32,
    otlp_endpoint: String,
}

/// A random token id: 128 bits, hex.
fn token_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

impl Auth {
    pub fn new(keys: Keys, users: Users, store: TokenStore, config: &GatewayConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                keys,
                users,
                store,
                seen: Mutex::new(HashMap::new()),
                access_ttl_secs: config.access_ttl_secs as i64,
                session_ttl_secs: config.session_ttl_secs as i64,
                ingest_ttl_days: config.ingest_ttl_days,
                max_ingest_ttl_days: config.max_ingest_ttl_days,
                otlp_endpoint: config.otlp_endpoint.clone().unwrap_or_default(),
            }),
        }
    }

    pub fn into_server(self) -> AuthServiceServer<Self> {
        AuthServiceServer::new(self)
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Verifies a bearer token: signature, issuer, expiry, revocation.
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let claims = self
            .inner
            .keys
            .verify(token)
            .map_err(|e| Error::Unauthenticated(e.to_string()))?;
        match self.seen().get(&claims.jti) {
            Some(Seen::Revoked) => return Err(Error::Revoked),
            Some(Seen::NotRevoked(at)) if at.elapsed() < REVOCATION_RECHECK => return Ok(claims),
            _ => {}
        }
        let started = Instant::now();
        if self.inner.store.is_revoked(&claims.jti).await? {
            return Err(Error::Revoked);
        }
        let mut seen = self.seen();
        if !matches!(seen.get(&claims.jti), Some(Seen::Revoked)) {
            if seen.len() >= MAX_REMEMBERED {
                seen.clear();
            }
            seen.insert(claims.jti.clone(), Seen::NotRevoked(started));
        }
        Ok(claims)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        // The map holds no invariant a panic could break.
        self.inner
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The verified claims of the caller's access token, which must carry
    /// at least `role`.
    async fn caller<T>(&self, request: &Request<T>, role: Role) -> Result<Claims, Error> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(airis_runtime::auth::bearer_token)
            .ok_or_else(|| Error::Unauthenticated("no bearer token".into()))?;
        let claims = self.verify(token).await?;
        let Some(has) = Role::from_claim(&claims.role) else {
            // Ingest tokens carry no user role.
            return Err(Error::PermissionDenied(
                "an ingest token cannot call the auth service".into(),
            ));
        };
        if has < role {
            return Err(Error::PermissionDenied(format!(
                "needs the {} role, the token has {}",
                role.as_claim(),
                has.as_claim()
            )));
        }
        Ok(claims)
    }

    async fn issue(&self, grant: Grant<'_>) -> Result<(String, TokenRecord), Error> {
        let iat = now_unix_secs();
        // A session's tokens end with it at the latest.
        let exp = match grant.session {
            Some(session) => (iat + grant.ttl_secs).min(session.exp),
            None => iat + grant.ttl_secs,
        };
        let claims = Claims {
            iss: self.inner.keys.issuer().to_owned(),
            aud: self.inner.keys.audience().to_owned(),
            sub: grant.subject.to_owned(),
            iat,
            exp,
            jti: token_id()?,
            tenant: grant.tenant.to_owned(),
            role: grant.role.to_owned(),
        };
        let record = TokenRecord {
            jti: claims.jti.clone(),
            tenant: grant.tenant.to_owned(),
            kind: grant.kind,
            subject: grant.subject.to_owned(),
            description: grant.description.to_owned(),
            iat,
            exp,
            revoked: false,
            session: grant.session.map(|s| s.jti.clone()),
        };
        // Recorded before it is handed out: a token nobody can list or
        // revoke is never issued.
        self.inner.store.issue(&record).await?;
        Ok((self.inner.keys.sign(&claims), record))
    }

    /// An access token for `session`'s user with `role`, bound to the
    /// session: ending the session revokes it.
    async fn issue_for_session(
        &self,
        session: &TokenRecord,
        role: Role,
    ) -> Result<(String, TokenRecord), Error> {
        self.issue(Grant {
            tenant: &session.tenant,
            subject: &session.subject,
            role: role.as_claim(),
            kind: TokenKind::Access,
            description: "",
            ttl_secs: self.inner.access_ttl_secs,
            session: Some(session),
        })
        .await
    }

    /// Starts a session for `tenant`/`username`: its secret, for the
    /// cookie, and its record.
    async fn start_session(
        &self,
        tenant: &str,
        username: &str,
    ) -> Result<(String, TokenRecord), Error> {
        let secret = session::new_secret()?;
        let iat = now_unix_secs();
        let record = TokenRecord {
            jti: session::id(&secret),
            tenant: tenant.to_owned(),
            kind: TokenKind::Session,
            subject: username.to_owned(),
            description: String::new(),
            iat,
            exp: iat + self.inner.session_ttl_secs,
            revoked: false,
            session: None,
        };
        self.inner.store.issue(&record).await?;
        Ok((secret, record))
    }

    /// Ends `session`: revokes it, then every access token it was given.
    async fn end_session(&self, session: &TokenRecord) -> Result<(), Error> {
        self.revoke(session).await?;
        for jti in self.inner.store.session_tokens(&session.jti).await? {
            if let Some(token) = self.inner.store.get(&jti).await?
                && !token.revoked
            {
                self.revoke(&token).await?;
            }
        }
        Ok(())
    }

    /// The live session of the request's cookie, if any.
    async fn session<T>(&self, request: &Request<T>) -> Result<Option<TokenRecord>, Error> {
        let Some(secret) = session::secret(request.metadata()) else {
            return Ok(None);
        };
        let record = self.inner.store.get(&session::id(&secret)).await?;
        Ok(
            record
                .filter(|r| r.kind == TokenKind::Session && !r.revoked && r.exp > now_unix_secs()),
        )
    }

    async fn revoke(&self, record: &TokenRecord) -> Result<(), Error> {
        self.inner.store.revoke(record).await?;
        self.seen().insert(record.jti.clone(), Seen::Revoked);
        Ok(())
    }
}

/// `response` with `set-cookie` storing (or, with `None`, clearing) the
/// session secret.
fn with_cookie<T>(
    mut response: Response<T>,
    secret: Option<(&str, i64)>,
    secure: bool,
) -> Response<T> {
    let (secret, max_age) = secret.unwrap_or(("", 0));
    response
        .metadata_mut()
        .insert("set-cookie", session::set_cookie(secret, max_age, secure));
    response
}

fn info(record: &TokenRecord) -> TokenInfo {
    TokenInfo {
        token_id: record.jti.clone(),
        kind: airis_proto::airis::gateway::v1::TokenKind::from(record.kind) as i32,
        subject: record.subject.clone(),
        description: record.description.clone(),
        issued_at_unix: record.iat,
        expires_at_unix: record.exp,
        revoked: record.revoked,
    }
}

fn required(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::InvalidArgument(format!("{field}: required")));
    }
    Ok(())
}

#[tonic::async_trait]
impl AuthService for Auth {
    #[tracing::instrument(skip_all, fields(tenant = %request.get_ref().tenant))]
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let secure = session::over_https(request.metadata());
        let r = request.into_inner();
        required("tenant", &r.tenant)?;
        required("username", &r.username)?;
        required("password", &r.password)?;
        let Some(role) = self
            .inner
            .users
            .check(&r.tenant, &r.username, &r.password)
            .await
        else {
            tracing::info!(user = %r.username, "login refused");
            return Err(Error::Unauthenticated("unknown user or wrong password".into()).into());
        };
        if !r.start_session {
            let (token, record) = self
                .issue(Grant {
                    tenant: &r.tenant,
                    subject: &r.username,
                    role: role.as_claim(),
                    kind: TokenKind::Access,
                    description: "",
                    ttl_secs: self.inner.access_ttl_secs,
                    session: None,
                })
                .await?;
            return Ok(Response::new(LoginResponse {
                access_token: token,
                token: Some(info(&record)),
                role: ProtoRole::from(role) as i32,
            }));
        }
        let (secret, session) = self.start_session(&r.tenant, &r.username).await?;
        let (token, record) = self.issue_for_session(&session, role).await?;
        let response = Response::new(LoginResponse {
            access_token: token,
            token: Some(info(&record)),
            role: ProtoRole::from(role) as i32,
        });
        Ok(with_cookie(
            response,
            Some((&secret, self.inner.session_ttl_secs)),
            secure,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<RefreshResponse>, Status> {
        let Some(session) = self.session(&request).await? else {
            return Err(Error::Unauthenticated("no live session cookie".into()).into());
        };
        // The user's role now: a user removed from the configuration is
        // signed out, a changed role applies from the next token on.
        let Some(role) = self.inner.users.role(&session.tenant, &session.subject) else {
            return Err(Error::Unauthenticated(format!(
                "user {} of tenant {} is no longer configured",
                session.subject, session.tenant
            ))
            .into());
        };
        let (token, record) = self.issue_for_session(&session, role).await?;
        // Ended meanwhile (Logout, RevokeToken): the token issued after the
        // session's tokens were revoked must not outlive it.
        if self
            .inner
            .store
            .get(&session.jti)
            .await
            .map_err(Error::from)?
            .is_none_or(|s| s.revoked)
        {
            self.revoke(&record).await?;
            return Err(Error::Unauthenticated("session ended during refresh".into()).into());
        }
        Ok(Response::new(RefreshResponse {
            access_token: token,
            token: Some(info(&record)),
            role: ProtoRole::from(role) as i32,
            tenant: session.tenant,
            username: session.subject,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        let secure = session::over_https(request.metadata());
        if let Some(session) = self.session(&request).await? {
            self.end_session(&session).await?;
            tracing::info!(tenant = %session.tenant, user = %session.subject, "signed out");
        }
        Ok(with_cookie(Response::new(LogoutResponse {}), None, secure))
    }

    #[tracing::instrument(skip_all)]
    async fn mint_ingest_token(
        &self,
        request: Request<MintIngestTokenRequest>,
    ) -> Result<Response<MintIngestTokenResponse>, Status> {
        let caller = self.caller(&request, Role::Admin).await?;
        let r = request.into_inner();
        if r.description.len() > MAX_DESCRIPTION {
            return Err(Error::InvalidArgument(format!(
                "description: {} bytes, more than {MAX_DESCRIPTION}",
                r.description.len()
            ))
            .into());
        }
        let days = match r.ttl_days {
            0 => self.inner.ingest_ttl_days,
            n if n > self.inner.max_ingest_ttl_days => {
                return Err(Error::InvalidArgument(format!(
                    "ttl_days: {n} is more than gateway.max_ingest_ttl_days ({})",
                    self.inner.max_ingest_ttl_days
                ))
                .into());
            }
            n => n,
        };
        let (token, record) = self
            .issue(Grant {
                tenant: &caller.tenant,
                subject: "ingest",
                role: INGEST_CLAIM,
                kind: TokenKind::Ingest,
                description: &r.description,
                ttl_secs: i64::from(days) * SECS_PER_DAY,
                session: None,
            })
            .await?;
        tracing::info!(tenant = %caller.tenant, by = %caller.sub, token_id = %record.jti, "minted ingest token");
        Ok(Response::new(MintIngestTokenResponse {
            token,
            info: Some(info(&record)),
            otlp_endpoint: self.inner.otlp_endpoint.clone(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_tokens(
        &self,
        request: Request<ListTokensRequest>,
    ) -> Result<Response<ListTokensResponse>, Status> {
        let caller = self.caller(&request, Role::Admin).await?;
        let records = self
            .inner
            .store
            .list(&caller.tenant, now_unix_secs())
            .await
            .map_err(Error::from)?;
        Ok(Response::new(ListTokensResponse {
            tokens: records.iter().map(info).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_token(
        &self,
        request: Request<RevokeTokenRequest>,
    ) -> Result<Response<RevokeTokenResponse>, Status> {
        let caller = self.caller(&request, Role::Admin).await?;
        let r = request.into_inner();
        required("token_id", &r.token_id)?;
        let not_found = || Error::NotFound(format!("token {} not found", r.token_id));
        let record = self
            .inner
            .store
            .get(&r.token_id)
            .await
            .map_err(Error::from)?
            .filter(|record| record.tenant == caller.tenant)
            .ok_or_else(not_found)?;
        if record.kind == TokenKind::Session {
            self.end_session(&record).await?;
        } else {
            self.revoke(&record).await?;
        }
        tracing::info!(tenant = %caller.tenant, by = %caller.sub, token_id = %record.jti, "revoked token");
        Ok(Response::new(RevokeTokenResponse {
            token: Some(TokenInfo {
                revoked: true,
                ..info(&record)
            }),
        }))
    }
}
