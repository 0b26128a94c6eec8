//! Redis result cache for repeatable queries.
//!
//! - Keys hold the ClickHouse database, the tenant and the whole encoded
//!   request (`airis:analytics:v1:<database>:<tenant>:<rpc>:<hex request>`),
//!   so two installations sharing a Redis, two tenants, or two different
//!   requests can never share an entry.
//! - Only answers about settled data are stored: a result whose time range
//!   reaches into the last `settle_secs` (data still arriving) is never
//!   cached, so a repeat never misses rows that landed since.
//! - Redis is an accelerator, not a dependency: when it is down or slow
//!   (`timeout_ms`), queries go to ClickHouse as if the entry were absent.

use std::time::Duration;

use airis_proto::prost::Message;
use airis_runtime::clock::now_unix_nano;
use airis_runtime::redis::Pool;
use airis_runtime::tenant::Tenant;
use deadpool_redis::redis;

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// `redis://host:port/db`; unset disables the cache.
    pub redis_url: Option<String>,
    /// How long a cached answer lives.
    pub ttl_secs: u64,
    /// Answers about data newer than this are not cached; keep it above the
    /// pipeline's freshness (loader batch age plus Kafka lag).
    pub settle_secs: u64,
    /// Longest a cache lookup or store may take before it is skipped.
    pub timeout_ms: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            ttl_secs: 300,
            settle_secs: 120,
            timeout_ms: 250,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid analytics.cache.redis_url: {0}")]
pub struct CacheError(String);

#[derive(Clone)]
pub struct Cache {
    pool: Option<Pool>,
    /// The ClickHouse database the answers come from.
    namespace: String,
    ttl_secs: u64,
    settle_nanos: u64,
    timeout: Duration,
}

impl Cache {
    /// Builds the pool; no connection is made until the first lookup.
    pub fn new(config: &CacheConfig, database: &str) -> Result<Self, CacheError> {
        let pool = match &config.redis_url {
            Some(url) => Some(
                airis_runtime::redis::pool(url, 16, Duration::from_millis(config.timeout_ms))
                    .map_err(CacheError)?,
            ),
            None => None,
        };
        Ok(Self {
            pool,
            namespace: database.to_owned(),
            ttl_secs: config.ttl_secs,
            settle_nanos: config.settle_secs * 1_000_000_000,
            timeout: Duration::from_millis(config.timeout_ms),
        })
    }

    /// A cache that stores nothing.
    pub fn disabled() -> Self {
        Self {
            pool: None,
            namespace: String::new(),
            ttl_secs: 0,
            settle_nanos: 0,
            timeout: Duration::ZERO,
        }
    }

    /// The key of `request` to `rpc` for `tenant`.
    pub fn key(&self, rpc: &str, tenant: &Tenant, request: &impl Message) -> String {
        // Neither tenant ids nor database names contain ':' (database names
        // are checked by the migrations), so the prefix is unambiguous.
        format!(
            "airis:analytics:v1:{}:{tenant}:{rpc}:{}",
            self.namespace,
            hex::encode(request.encode_to_vec())
        )
    }

    /// Whether an answer about data up to `data_end_unix_nano` may be stored.
    pub fn settled(&self, data_end_unix_nano: u64) -> bool {
        data_end_unix_nano.saturating_add(self.settle_nanos) <= now_unix_nano()
    }

    pub async fn get<M: Message + Default>(&self, key: &str) -> Option<M> {
        let pool = self.pool.as_ref()?;
        let lookup = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, lookup).await {
            Ok(Ok(Some(bytes))) => match M::decode(bytes.as_slice()) {
                Ok(message) => Some(message),
                Err(error) => {
                    tracing::warn!(%error, "undecodable cache entry ignored");
                    None
                }
            },
            Ok(Ok(None)) => None,
            Ok(Err(error)) => {
                tracing::debug!(%error, "cache lookup failed, querying the store");
                None
            }
            Err(_) => {
                tracing::debug!("cache lookup timed out, querying the store");
                None
            }
        }
    }

    pub async fn put<M: Message>(&self, key: &str, message: &M) {
        let Some(pool) = &self.pool else { return };
        let store = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("SET")
                .arg(key)
                .arg(message.encode_to_vec())
                .arg("EX")
                .arg(self.ttl_secs.max(1))
                .query_async::<()>(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, store).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(%error, "cache store failed"),
            Err(_) => tracing::debug!("cache store timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::airis::common::v1::TimeRange;

    #[test]
    fn keys_separate_installations_tenants_and_requests() {
        let a = Tenant::parse("acme").unwrap();
        let b = Tenant::parse("globex").unwrap();
        let r1 = TimeRange {
            start_unix_nano: 1,
            end_unix_nano: 2,
        };
        let r2 = TimeRange {
            start_unix_nano: 1,
            end_unix_nano: 3,
        };
        let c = Cache::new(&CacheConfig::default(), "airis").unwrap();
        let other_db = Cache::new(&CacheConfig::default(), "airis2").unwrap();
        assert_ne!(c.key("X", &a, &r1), c.key("X", &b, &r1));
        assert_ne!(c.key("X", &a, &r1), c.key("X", &a, &r2));
        assert_ne!(c.key("X", &a, &r1), c.key("Y", &a, &r1));
        assert_ne!(c.key("X", &a, &r1), other_db.key("X", &a, &r1));
        assert_eq!(c.key("X", &a, &r1), c.key("X", &a, &r1));
    }

    #[test]
    fn open_windows_are_not_settled() {
        let cache = Cache::new(&CacheConfig::default(), "airis").unwrap();
        let now = now_unix_nano();
        assert!(!cache.settled(now));
        assert!(!cache.settled(now - 60_000_000_000));
        assert!(cache.settled(now - 600_000_000_000));
    }
}
