//! WatchAnomalies' source: anomalies as they appear in the store, whichever
//! process found them.
//!
//! One task per process polls the anomalies table while at least one
//! stream is open, for keys (series and minute) whose *first* detection is
//! newer than what it has seen, and broadcasts them per tenant. A minute a
//! restarted watcher judges again writes its anomalies again, with a later
//! detection time; their keys were detected before, so they are never
//! announced twice. Polling the store rather than listening to the
//! watcher in-process means any replica can serve streams while one
//! replica watches, and a stream announces only what is stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use airis_analytics::query::{Bind, Sql, Store};
use airis_runtime::Shutdown;
use airis_runtime::clock::now_unix_nano;
use airis_store::tables::ANOMALIES;
use tokio::sync::broadcast;

use crate::watch::store::AnomalyRow;

/// Anomalies of one tenant first stored since the previous poll.
#[derive(Debug, Clone)]
pub struct Stored {
    pub tenant: String,
    pub anomalies: Arc<Vec<AnomalyRow>>,
}

/// Batches a slow stream may fall behind by before it is told it missed
/// some.
const BACKLOG: usize = 256;
/// How far back (in detection time) a poll looks again: an insert that
/// finished after a later one is still seen. Keys seen within it are
/// remembered so that none is sent twice.
const OVERLAP_NANOS: u64 = 30_000_000_000;
/// Minutes a first detection may lag its minute: a replay judges at most
/// the watcher's backfill, so older minutes are never new.
const LOOKBACK_SECS: u64 = 6 * 3600;
/// Most anomalies one poll reads.
const POLL_LIMIT: u64 = 10_000;

type Key = (String, String, String, String, u32);

/// The broadcast streams subscribe to, and the task that feeds it.
pub(crate) fn start(
    store: Store,
    interval: Duration,
    shutdown: Shutdown,
) -> broadcast::Sender<Stored> {
    let (tx, _) = broadcast::channel(BACKLOG);
    tokio::spawn(poll(store, interval, tx.clone(), shutdown));
    tx
}

async fn poll(store: Store, interval: Duration, tx: broadcast::Sender<Stored>, shutdown: Shutdown) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Only keys first detected after `news_after` are news; the overlap
    // re-reads older ones, which are remembered but not sent.
    let mut news_after = now_unix_nano();
    let mut cursor = news_after;
    let mut recent: HashMap<Key, u64> = HashMap::new();
    let mut idle = true;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = shutdown.signalled() => return,
        }
        if tx.receiver_count() == 0 {
            idle = true;
            continue;
        }
        if idle {
            // The first stream since the feed was idle: news from about
            // when it subscribed (at most one interval ago).
            idle = false;
            news_after = now_unix_nano().saturating_sub(interval.as_nanos() as u64);
            cursor = news_after;
            recent.clear();
        }
        match new_anomalies(&store, cursor).await {
            Ok(rows) => {
                let mut by_tenant: HashMap<String, Vec<AnomalyRow>> = HashMap::new();
                for row in rows {
                    let first = u64::try_from(row.detected_at).unwrap_or(0);
                    cursor = cursor.max(first);
                    let key = (
                        row.tenant.clone(),
                        row.service.clone(),
                        row.operation.clone(),
                        row.signal.clone(),
                        row.minute,
                    );
                    if recent.insert(key, first).is_none() && first > news_after {
                        by_tenant.entry(row.tenant.clone()).or_default().push(row);
                    }
                }
                let horizon = cursor.saturating_sub(OVERLAP_NANOS);
                recent.retain(|_, first| *first >= horizon);
                for (tenant, mut anomalies) in by_tenant {
                    anomalies.sort_by_key(|a| a.minute);
                    let _ = tx.send(Stored {
                        tenant,
                        anomalies: Arc::new(anomalies),
                    });
                }
            }
            Err(error) => tracing::warn!(%error, "reading new anomalies failed; retried"),
        }
    }
}

/// An anomaly as the poll reads it (column names as its aliases).
#[derive(clickhouse::Row, serde::Deserialize)]
struct Fresh {
    tenant: String,
    service: String,
    operation: String,
    signal: String,
    metric: String,
    minute: u32,
    value: f64,
    expected: f64,
    lower: f64,
    upper: f64,
    score: f64,
    kind: String,
    detected_at: i64,
}

impl From<Fresh> for AnomalyRow {
    fn from(row: Fresh) -> Self {
        Self {
            tenant: row.tenant,
            service: row.service,
            operation: row.operation,
            signal: row.signal,
            metric: row.metric,
            minute: row.minute,
            value: row.value,
            expected: row.expected,
            lower: row.lower,
            upper: row.upper,
            score: row.score,
            kind: row.kind,
            detected_at: row.detected_at,
        }
    }
}

/// Keys first detected after `cursor - OVERLAP`, oldest first. The first
/// detection of a key is over all its rows, so a replayed minute's new
/// rows do not make an old key look new.
async fn new_anomalies(
    store: &Store,
    cursor: u64,
) -> Result<Vec<AnomalyRow>, clickhouse::error::Error> {
    let since = i64::try_from(cursor.saturating_sub(OVERLAP_NANOS)).unwrap_or(i64::MAX);
    let mut sql = Sql::new(&format!(
        "SELECT toString(TenantId) AS tenant, toString(ServiceName) AS service, \
         toString(Operation) AS operation, toString(Signal) AS signal, Metric AS metric, \
         toUInt32(Minute) AS minute, argMin(Value, DetectedAt) AS value, \
         argMin(Expected, DetectedAt) AS expected, argMin(Lower, DetectedAt) AS lower, \
         argMin(Upper, DetectedAt) AS upper, argMin(Score, DetectedAt) AS score, \
         toString(argMin(Kind, DetectedAt)) AS kind, \
         toInt64(toUnixTimestamp64Nano(min(DetectedAt))) AS detected_at FROM {ANOMALIES} WHERE "
    ));
    sql.push_bind(
        "Minute >= toDateTime(?)",
        Bind::U64((cursor / 1_000_000_000).saturating_sub(LOOKBACK_SECS)),
    );
    sql.push_binds(
        " GROUP BY TenantId, ServiceName, Operation, Signal, Metric, Minute \
         HAVING detected_at > ? ORDER BY detected_at LIMIT ?",
        [Bind::I64(since), Bind::U64(POLL_LIMIT)],
    );
    let rows: Vec<Fresh> = store.query(&sql).fetch_all().await?;
    Ok(rows.into_iter().map(AnomalyRow::from).collect())
}
