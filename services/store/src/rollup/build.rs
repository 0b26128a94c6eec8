//! The builder: finds minutes whose rollup is missing or stale and builds
//! them, for every tenant at once. It runs in the process that runs the
//! loader, with the loader's (writing) credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use airis_runtime::{Shutdown, clock::now_unix_nano};

use super::counts;
use super::rules::{MINUTE, NANOS_PER_SEC, minute_floor, push_raw_edges, push_raw_red, secs};
use crate::sql::{Bind, Sql, Window};
use crate::tables::{EDGES_1M, RED_1M, ROLLUP_BUILDS};

/// How the rollup builder runs (`[analytics.rollup]`). It runs in the
/// process that runs the loader, which may write to ClickHouse.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollupConfig {
    /// Build rollups at all. Off: every query reads the spans.
    pub enabled: bool,
    /// Time between looks for minutes to build.
    pub interval_ms: u64,
    /// A minute is built once the minute after it ended this long ago, so
    /// spans still in flight through Kafka are in (later ones only make the
    /// minute be rebuilt).
    pub settle_secs: u64,
    /// How far back the builder looks for new or changed minutes; older
    /// minutes that were never built are read from the spans.
    pub lookback_secs: u64,
    /// Most minutes one build statement covers.
    pub max_minutes_per_build: u32,
}

impl Default for RollupConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 10_000,
            settle_secs: 30,
            lookback_secs: 6 * 3600,
            max_minutes_per_build: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct BuildRow {
    tenant: String,
    minute: u32,
    before: u64,
    spans: u64,
    after: u64,
}

/// One row of the build records.
#[derive(clickhouse::Row, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct BuildRecord<'a> {
    tenant_id: &'a str,
    minute: u32,
    build_id: u64,
    spans_before: u64,
    spans: u64,
    spans_after: u64,
}

/// Builds rollups every `config.interval_ms` until `shutdown`. Failures are
/// logged and retried at the next tick: a missing rollup costs only speed.
pub async fn run(client: clickhouse::Client, config: RollupConfig, shutdown: Shutdown) {
    if !config.enabled {
        return;
    }
    tracing::info!(
        interval_ms = config.interval_ms,
        settle_secs = config.settle_secs,
        "rollup builder started"
    );
    let interval = Duration::from_millis(config.interval_ms.max(100));
    loop {
        match build_due(&client, &config, now_unix_nano()).await {
            Ok(0) => {}
            Ok(minutes) => tracing::debug!(minutes, "rolled up minutes"),
            Err(error) => tracing::warn!(%error, "rollup build failed, retrying later"),
        }
        tokio::select! {
            () = shutdown.signalled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Builds every minute in the lookback whose rollup is missing or stale
/// and settled at `now`; returns how many minutes were built.
pub async fn build_due(
    client: &clickhouse::Client,
    config: &RollupConfig,
    now: u64,
) -> Result<usize, RollupError> {
    // The minute after a built minute must be settled too: its spans are
    // the built minute's "after" count.
    let horizon =
        minute_floor(now.saturating_sub(config.settle_secs * NANOS_PER_SEC)).saturating_sub(MINUTE);
    let from = minute_floor(now.saturating_sub(config.lookback_secs * NANOS_PER_SEC));
    if from >= horizon {
        return Ok(0);
    }
    let live = counts::read(client, from.saturating_sub(MINUTE), horizon + MINUTE).await?;
    let mut sql = Sql::new(&format!(
        "SELECT toString(TenantId) AS tenant, toUInt32(Minute) AS minute, \
         argMax(SpansBefore, BuildId) AS before, argMax(Spans, BuildId) AS spans, \
         argMax(SpansAfter, BuildId) AS after FROM {ROLLUP_BUILDS} WHERE "
    ));
    sql.push_binds(
        "Minute >= toDateTime(?) AND Minute < toDateTime(?) GROUP BY TenantId, Minute",
        [secs(from), secs(horizon)],
    );
    let built: Vec<BuildRow> = sql.query(client).fetch_all().await?;
    let built: BTreeMap<(String, u32), (u64, u64, u64)> = built
        .into_iter()
        .map(|b| ((b.tenant, b.minute), (b.before, b.spans, b.after)))
        .collect();
    let count =
        |tenant: &str, minute: u32| live.get(&(tenant.to_owned(), minute)).copied().unwrap_or(0);
    let mut due: Vec<u64> = live
        .iter()
        .filter(|((tenant, minute), _)| {
            let nanos = u64::from(*minute) * NANOS_PER_SEC;
            nanos >= from
                && nanos < horizon
                && built.get(&(tenant.clone(), *minute)).copied()
                    != Some((
                        count(tenant, minute - 60),
                        count(tenant, *minute),
                        count(tenant, minute + 60),
                    ))
        })
        .map(|((_, minute), _)| u64::from(*minute) * NANOS_PER_SEC)
        .collect();
    due.sort_unstable();
    due.dedup();
    let mut runs: Vec<Window> = Vec::new();
    let max = u64::from(config.max_minutes_per_build.max(1)) * MINUTE;
    for minute in &due {
        match runs.last_mut() {
            Some(run) if run.end == *minute && run.end - run.start < max => run.end += MINUTE,
            _ => runs.push(Window {
                start: *minute,
                end: minute + MINUTE,
            }),
        }
    }
    for run in &runs {
        build(client, run).await?;
    }
    Ok(due.len())
}

/// Builds both rollups of the whole minutes in `run`, for every tenant.
pub async fn build(client: &clickhouse::Client, run: &Window) -> Result<(), RollupError> {
    // Counts first: spans landing after this read make the record stale
    // (and the minute rebuilt), never a record that claims too much.
    let live = counts::read(client, run.start - MINUTE, run.end + MINUTE).await?;
    let id = now_unix_nano();
    let ranges = [*run];

    let mut red = Sql::new(&format!(
        "INSERT INTO {RED_1M} (TenantId, Minute, BuildId, ServiceName, SpanName, SpanKind, \
         Requests, Errors, Latency) SELECT TenantId, Minute, "
    ));
    red.push_bind(
        "toUInt64(?) AS BuildId, ServiceName, SpanName, SpanKind, Requests, Errors, Latency FROM (",
        Bind::U64(id),
    );
    push_raw_red(
        &mut red,
        None,
        &Sql::new(
            "TenantId, toStartOfMinute(Timestamp) AS Minute, ServiceName, SpanName, SpanKind, ",
        ),
        "TenantId, Minute, ServiceName, SpanName, SpanKind",
        &ranges,
        &Sql::default(),
    );
    red.push(")");
    red.query(client).execute().await?;

    let mut edges = Sql::new(&format!(
        "INSERT INTO {EDGES_1M} (TenantId, Minute, BuildId, Caller, Callee, Requests, Errors, \
         Latency) SELECT TenantId, Minute, "
    ));
    edges.push_bind(
        "toUInt64(?) AS BuildId, Caller, Callee, Requests, Errors, Latency FROM (",
        Bind::U64(id),
    );
    push_raw_edges(&mut edges, None, &ranges, true);
    edges.push(")");
    edges.query(client).execute().await?;

    let count =
        |tenant: &str, minute: u32| live.get(&(tenant.to_owned(), minute)).copied().unwrap_or(0);
    let start = (run.start / NANOS_PER_SEC) as u32;
    let end = (run.end / NANOS_PER_SEC) as u32;
    let mut insert = client.insert::<BuildRecord<'static>>(ROLLUP_BUILDS).await?;
    for ((tenant, minute), spans) in live.range((String::new(), 0)..) {
        if *minute < start || *minute >= end || *spans == 0 {
            continue;
        }
        insert
            .write(&BuildRecord {
                tenant_id: tenant,
                minute: *minute,
                build_id: id,
                spans_before: count(tenant, minute - 60),
                spans: *spans,
                spans_after: count(tenant, minute + 60),
            })
            .await?;
    }
    insert.end().await?;
    Ok(())
}
