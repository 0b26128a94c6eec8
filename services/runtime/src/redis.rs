//! Redis connection pools (deadpool-redis), built the same way for every
//! service that keeps state there.

use std::time::Duration;

pub use deadpool_redis::Pool;

/// A pool of up to `max_size` connections to `url` in which waiting for,
/// creating and recycling a connection each give up after `timeout`. No
/// connection is made until the first use.
pub fn pool(url: &str, max_size: usize, timeout: Duration) -> Result<Pool, String> {
    let mut config = deadpool_redis::Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig {
        max_size,
        timeouts: deadpool_redis::Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        },
        ..Default::default()
    });
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .map_err(|e| e.to_string())
}
