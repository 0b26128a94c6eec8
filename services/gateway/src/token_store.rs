//! Issued tokens and revocations, in Redis.
//!
//! Keys (all expire when the token does, so Redis holds only live tokens):
//! - `airis:gateway:v1:token:<jti>`: the token's record (JSON);
//! - `airis:gateway:v1:tenant:<tenant>`: sorted set of the tenant's token
//!   ids, scored by expiry, for listing (expired members are trimmed);
//! - `airis:gateway:v1:revoked:<jti>`: present while a revoked token would
//!   otherwise be valid; what every verifier checks;
//! - `airis:gateway:v1:session:<id>`: set of the access token ids a browser
//!   session was given, revoked with it.

use std::time::Duration;

use airis_runtime::redis::Pool;
use deadpool_redis::redis;

const PREFIX: &str = "airis:gateway:v1";

/// What a token is for; stored as `access`, `ingest` or `session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// From Login: a user's token for the API and the UI.
    Access,
    /// From MintIngestToken: an exporter's token for sending telemetry.
    Ingest,
    /// From Login: a browser's sign-in, an opaque secret in an HttpOnly
    /// cookie that Refresh exchanges for access tokens; its id is the
    /// SHA-256 of the secret, so a listed id never reveals the secret.
    Session,
}

impl From<TokenKind> for airis_proto::airis::gateway::v1::TokenKind {
    fn from(kind: TokenKind) -> Self {
        match kind {
            TokenKind::Access => Self::Access,
            TokenKind::Ingest => Self::Ingest,
            TokenKind::Session => Self::Session,
        }
    }
}

/// What is kept of an issued token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenRecord {
    pub jti: String,
    pub tenant: String,
    pub kind: TokenKind,
    pub subject: String,
    pub description: String,
    pub iat: i64,
    pub exp: i64,
    pub revoked: bool,
    /// For access tokens of a browser session: the session's id, so that
    /// ending the session revokes them too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("token store: {0}")]
pub struct TokenStoreError(pub String);

impl From<redis::RedisError> for TokenStoreError {
    fn from(e: redis::RedisError) -> Self {
        Self(e.to_string())
    }
}

/// Issued tokens and revocations: the Redis pool, with a timeout on every
/// operation.
#[derive(Clone)]
pub struct TokenStore {
    pool: Pool,
    timeout: Duration,
}

impl TokenStore {
    /// Builds the pool; no connection is made until the first call.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, TokenStoreError> {
        let pool = airis_runtime::redis::pool(url, 16, timeout).map_err(TokenStoreError)?;
        Ok(Self { pool, timeout })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, TokenStoreError>
    where
        F: AsyncFnOnce(&mut deadpool_redis::Connection) -> Result<T, TokenStoreError>,
    {
        let call = async {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|e| TokenStoreError(e.to_string()))?;
            f(&mut conn).await
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| TokenStoreError(format!("no answer within {:?}", self.timeout)))?
    }

    /// Records a newly issued token.
    pub async fn issue(&self, record: &TokenRecord) -> Result<(), TokenStoreError> {
        self.run(async |conn| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            set_record(&mut pipe, record);
            pipe.cmd("ZADD")
                .arg(tenant_key(&record.tenant))
                .arg(record.exp)
                .arg(&record.jti)
                .ignore()
                .cmd("EXPIREAT")
                .arg(tenant_key(&record.tenant))
                .arg(record.exp)
                .arg("GT")
                .ignore()
                .cmd("EXPIREAT")
                .arg(tenant_key(&record.tenant))
                .arg(record.exp)
                .arg("NX")
                .ignore();
            if let Some(session) = &record.session {
                pipe.cmd("SADD")
                    .arg(session_key(session))
                    .arg(&record.jti)
                    .ignore()
                    .cmd("EXPIREAT")
                    .arg(session_key(session))
                    .arg(record.exp)
                    .arg("GT")
                    .ignore()
                    .cmd("EXPIREAT")
                    .arg(session_key(session))
                    .arg(record.exp)
                    .arg("NX")
                    .ignore();
            }
            pipe.query_async::<()>(conn).await?;
            Ok(())
        })
        .await
    }

    /// The tenant's unexpired tokens at `now`, newest first.
    pub async fn list(&self, tenant: &str, now: i64) -> Result<Vec<TokenRecord>, TokenStoreError> {
        self.run(async |conn| {
            let key = tenant_key(tenant);
            let (_, ids): ((), Vec<String>) = redis::pipe()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(now)
                .cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(conn)
                .await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = ids.iter().map(|id| token_key(id)).collect();
            let values: Vec<Option<String>> =
                redis::cmd("MGET").arg(&keys).query_async(conn).await?;
            let mut records: Vec<TokenRecord> = values
                .into_iter()
                .flatten()
                .filter_map(|json| serde_json::from_str(&json).ok())
                .filter(|r: &TokenRecord| r.tenant == tenant && r.exp > now)
                .collect();
            records.sort_by(|a, b| (b.iat, &b.jti).cmp(&(a.iat, &a.jti)));
            Ok(records)
        })
        .await
    }

    /// The record of `jti`, if it is still live.
    pub async fn get(&self, jti: &str) -> Result<Option<TokenRecord>, TokenStoreError> {
        self.run(async |conn| {
            let json: Option<String> = redis::cmd("GET")
                .arg(token_key(jti))
                .query_async(conn)
                .await?;
            Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
        })
        .await
    }

    /// Marks `record` revoked until it would have expired.
    pub async fn revoke(&self, record: &TokenRecord) -> Result<(), TokenStoreError> {
        let revoked = TokenRecord {
            revoked: true,
            ..record.clone()
        };
        self.run(async |conn| {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("SET")
                .arg(revoked_key(&record.jti))
                .arg(1)
                .arg("EXAT")
                .arg(record.exp)
                .ignore();
            set_record(&mut pipe, &revoked);
            pipe.query_async::<()>(conn).await?;
            Ok(())
        })
        .await
    }

    /// The ids of the access tokens issued to session `id`.
    pub async fn session_tokens(&self, id: &str) -> Result<Vec<String>, TokenStoreError> {
        self.run(async |conn| {
            let ids: Vec<String> = redis::cmd("SMEMBERS")
                .arg(session_key(id))
                .query_async(conn)
                .await?;
            Ok(ids)
        })
        .await
    }

    /// Whether `jti` was revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, TokenStoreError> {
        self.run(async |conn| {
            let exists: bool = redis::cmd("EXISTS")
                .arg(revoked_key(jti))
                .query_async(conn)
                .await?;
            Ok(exists)
        })
        .await
    }
}

/// Adds the `SET` of `record`, expiring with its token, to `pipe`.
fn set_record(pipe: &mut redis::Pipeline, record: &TokenRecord) {
    // A struct of strings, integers and a bool always serialises.
    let json = serde_json::to_string(record).expect("record serialises");
    pipe.cmd("SET")
        .arg(token_key(&record.jti))
        .arg(json)
        .arg("EXAT")
        .arg(record.exp)
        .ignore();
}

fn token_key(jti: &str) -> String {
    format!("{PREFIX}:token:{jti}")
}

fn tenant_key(tenant: &str) -> String {
    format!("{PREFIX}:tenant:{tenant}")
}

fn session_key(id: &str) -> String {
    format!("{PREFIX}:session:{id}")
}

fn revoked_key(jti: &str) -> String {
    format!("{PREFIX}:revoked:{jti}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_stored_form() {
        let json = r#"{"jti":"t1","tenant":"acme","kind":"ingest","subject":"ingest","description":"","iat":1,"exp":2,"revoked":false}"#;
        let record: TokenRecord = serde_json::from_str(json).unwrap();
        assert_eq!(record.kind, TokenKind::Ingest);
        assert_eq!(serde_json::to_string(&record).unwrap(), json);
        assert_eq!(
            serde_json::to_string(&TokenKind::Access).unwrap(),
            r#""access""#
        );
    }
}
