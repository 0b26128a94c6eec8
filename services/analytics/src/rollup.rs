//! Per-minute rollups of `otel_traces` that ServiceOverview and ServiceMap
//! read instead of every span, and the task that builds them.
//!
//! Three tables (docs/schema.md): `otel_traces_red_1m` (RED numbers per
//! service, operation and kind), `otel_traces_edges_1m` (caller → callee
//! calls) and `otel_traces_rollup_builds` (what each build saw). The live
//! span count of a minute comes from `otel_traces_minute_counts`, which the
//! loader writes with every batch right after its spans (so a count never
//! covers spans that are not stored yet).
//!
//! A *build* of a range of minutes reads the per-minute span counts, writes
//! both rollups under a fresh `BuildId`, then records, per tenant and minute,
//! the counts it saw for that minute and its two neighbours. Readers use a
//! minute's rollup rows only when
//! - a build record exists for it (the record is the commit point: rows of a
//!   build that died halfway are never read), and
//! - its counts still equal the live counts (the minute
//!   itself for RED; the minute and both neighbours for edges, whose
//!   parents may lie there).
//!
//! Any other minute — still filling, changed by a late span, never built,
//! older than the builder looks — is computed from the spans at query time,
//! with the very same SQL. So an answer never depends on what was rolled up;
//! rollups only make it cheaper. Rebuilding is idempotent and needs no
//! coordination: several builders may run, the newest record wins.
//!
//! The rules both paths share:
//! - a span is an error when its `StatusCode` is `Error` (or the older
//!   exporters' `STATUS_CODE_ERROR`);
//! - latency percentiles are `quantilesExact(0.5, 0.95, 0.99)(Duration)`
//!   (the element at `floor(level * n)` of the sorted durations), stored as
//!   mergeable states, so merged minutes give the exact answer of the range;
//! - an edge `caller → callee` is a span of `callee` whose parent span (same
//!   trace, `ANY` one copy) belongs to another service and started from one
//!   minute before the child's minute to one minute after it.

use std::collections::BTreeMap;
use std::time::Duration;

use airis_runtime::{Shutdown, clock::now_unix_nano, tenant::Tenant};

use crate::query::{Bind, Sql, Store, Window};

/// A span that failed.
pub(crate) const IS_ERROR: &str = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')";
/// p50, p95, p99 of `Duration` as a mergeable state.
pub(crate) const LATENCY_STATE: &str = "quantilesExactState(0.5, 0.95, 0.99)(Duration)";
/// Merges [`LATENCY_STATE`]s into `[p50, p95, p99]`.
pub(crate) const LATENCY_MERGE: &str = "quantilesExactMerge(0.5, 0.95, 0.99)(Latency)";

pub(crate) const MINUTE_COUNTS: &str = "otel_traces_minute_counts";
pub(crate) const RED_1M: &str = "otel_traces_red_1m";
pub(crate) const EDGES_1M: &str = "otel_traces_edges_1m";
pub(crate) const BUILDS: &str = "otel_traces_rollup_builds";

pub(crate) const NANOS_PER_SEC: u64 = 1_000_000_000;
pub(crate) const MINUTE: u64 = 60 * NANOS_PER_SEC;

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

/// Minute start (ns) of `nanos`.
pub(crate) fn minute_floor(nanos: u64) -> u64 {
    nanos - nanos % MINUTE
}

/// Minute start (ns) at or after `nanos`.
pub(crate) fn minute_ceil(nanos: u64) -> u64 {
    minute_floor(nanos.saturating_add(MINUTE - 1))
}

/// `window` widened to the whole minutes it touches, which ServiceMap and
/// ServiceOverview work in: every minute of it can then come from a rollup.
pub(crate) fn whole_minutes(window: Window) -> Window {
    Window {
        start: minute_floor(window.start),
        end: minute_ceil(window.end).min(i64::MAX as u64),
    }
}

fn secs(nanos: u64) -> Bind {
    Bind::I64((nanos / NANOS_PER_SEC) as i64)
}

/// `(<column> >= ? AND <column> < ?) OR ...` over `ranges` (DateTime64(9)).
pub(crate) fn push_ranges(sql: &mut Sql, column: &str, ranges: &[Window]) {
    sql.push("(");
    for (i, range) in ranges.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        range.sql(sql, column);
        sql.push(")");
    }
    sql.push(")");
}

/// The parents' time ranges for children starting in `ranges`: one minute
/// before each child's minute to one minute after it.
fn parent_ranges(ranges: &[Window]) -> Vec<Window> {
    ranges
        .iter()
        .map(|r| Window {
            start: minute_floor(r.start).saturating_sub(MINUTE),
            end: minute_floor(r.end - 1) + 2 * MINUTE,
        })
        .collect()
}

/// Raw edges of children starting in `ranges`, as rows of
/// `(TenantId, Minute, Caller, Callee, Requests, Errors, Latency)` when
/// `per_minute` (the builder), or `(Caller, Callee, Requests, Errors,
/// Latency)` for one tenant (a query). `ANY` joins each child to at most one
/// parent row, so a parent stored twice never doubles an edge; the parent
/// side (the hash table) carries only the key, its service and start.
pub(crate) fn push_raw_edges(
    sql: &mut Sql,
    tenant: Option<&Tenant>,
    ranges: &[Window],
    per_minute: bool,
) {
    let tenant_filter = |sql: &mut Sql| {
        if let Some(tenant) = tenant {
            sql.tenant(tenant).push(" AND ");
        }
    };
    let keys = if per_minute { "TenantId, Minute, " } else { "" };
    sql.push(&format!(
        "SELECT {keys}parent_service AS Caller, child_service AS Callee, count() AS Requests, \
         countIf(is_error) AS Errors, {LATENCY_STATE} AS Latency \
         FROM (SELECT TenantId, TraceId, ParentSpanId AS SpanId, ServiceName AS child_service, \
         toStartOfMinute(Timestamp) AS Minute, Duration, {IS_ERROR} AS is_error \
         FROM otel_traces WHERE "
    ));
    tenant_filter(sql);
    push_ranges(sql, "Timestamp", ranges);
    sql.push(
        " AND ParentSpanId != '') AS child \
         ANY INNER JOIN (SELECT TenantId, TraceId, SpanId, ServiceName AS parent_service, \
         Timestamp AS parent_start FROM otel_traces WHERE ",
    );
    tenant_filter(sql);
    push_ranges(sql, "Timestamp", &parent_ranges(ranges));
    if !per_minute {
        // A query's ranges are short (partial or changed minutes) next to
        // the three minutes of parents around each: keep only the spans
        // that are someone's parent out of the hash table.
        sql.push(" AND SpanId IN (SELECT ParentSpanId FROM otel_traces WHERE ");
        tenant_filter(sql);
        push_ranges(sql, "Timestamp", ranges);
        sql.push(")");
    }
    sql.push(&format!(
        ") AS parent USING (TenantId, TraceId, SpanId) \
         WHERE parent_service != child_service \
         AND parent_start >= Minute - INTERVAL 60 SECOND \
         AND parent_start < Minute + INTERVAL 120 SECOND \
         GROUP BY {keys}Caller, Callee"
    ));
}

/// Raw RED rows of spans starting in `ranges` (of `tenant`, or of all
/// tenants), grouped by `group`: `select` holds the grouping expressions
/// (aliased, each followed by a comma), `filters` more
/// conditions (` AND ...`). Columns `Requests`, `Errors` and `Latency` are
/// those of `otel_traces_red_1m`.
pub(crate) fn push_raw_red(
    sql: &mut Sql,
    tenant: Option<&Tenant>,
    select: &Sql,
    group: &str,
    ranges: &[Window],
    filters: &Sql,
) {
    sql.push("SELECT ").extend(select).push(&format!(
        "count() AS Requests, countIf({IS_ERROR}) AS Errors, \
         {LATENCY_STATE} AS Latency FROM otel_traces WHERE "
    ));
    if let Some(tenant) = tenant {
        sql.tenant(tenant).push(" AND ");
    }
    push_ranges(sql, "Timestamp", ranges);
    sql.extend(filters);
    sql.push(&format!(" GROUP BY {group}"));
}

// === which minutes a query may read from the rollups ===

/// Live span counts and the newest build record of each minute near a window.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Minute start (ns) → spans in `otel_traces` now.
    live: BTreeMap<u64, u64>,
    /// Minute start (ns) → the newest build's (id, before, spans, after).
    builds: BTreeMap<u64, Build>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Build {
    id: u64,
    before: u64,
    spans: u64,
    after: u64,
}

/// A window split into what the rollups answer and what the spans do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `(first minute, end minute, build id)`: whole minutes read from a
    /// rollup, the rows of that build.
    pub rolled: Vec<(u64, u64, u64)>,
    /// Time ranges read from `otel_traces`.
    pub raw: Vec<Window>,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct CoverageRow {
    /// 0: a live count; 1: a build record.
    kind: u8,
    minute: u32,
    spans: u64,
    id: u64,
    before: u64,
    after: u64,
}

/// Which rollup rows are valid for a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The minute's own count must match (RED).
    Minute,
    /// The minute's and both neighbours' counts must match (edges).
    Neighbours,
}

impl Coverage {
    /// Reads the live counts and build records of `window`'s whole minutes
    /// (and one minute around them) for `tenant`: one statement.
    pub async fn read(
        store: &Store,
        tenant: &Tenant,
        window: &Window,
    ) -> Result<Self, clickhouse::error::Error> {
        let first = minute_ceil(window.start);
        let end = minute_floor(window.end);
        if first >= end {
            return Ok(Self::default());
        }
        let mut sql = Sql::new(&format!(
            "SELECT 0 AS kind, toUInt32(Minute) AS minute, sum(Spans) AS spans, \
             toUInt64(0) AS id, toUInt64(0) AS before, toUInt64(0) AS after \
             FROM {MINUTE_COUNTS} WHERE "
        ));
        sql.tenant(tenant).push_binds(
            " AND Minute >= toDateTime(?) AND Minute < toDateTime(?)",
            [secs(first - MINUTE), secs(end + MINUTE)],
        );
        sql.push(&format!(
            " GROUP BY minute UNION ALL SELECT 1, toUInt32(Minute), argMax(Spans, BuildId), \
             max(BuildId), argMax(SpansBefore, BuildId), argMax(SpansAfter, BuildId) \
             FROM {BUILDS} WHERE "
        ));
        sql.tenant(tenant).push_binds(
            " AND Minute >= toDateTime(?) AND Minute < toDateTime(?) GROUP BY Minute",
            [secs(first), secs(end)],
        );
        let rows: Vec<CoverageRow> = store.query(&sql).fetch_all().await?;
        let mut coverage = Self::default();
        for row in rows {
            let minute = u64::from(row.minute) * NANOS_PER_SEC;
            if row.kind == 0 {
                coverage.live.insert(minute, row.spans);
            } else {
                coverage.builds.insert(
                    minute,
                    Build {
                        id: row.id,
                        before: row.before,
                        spans: row.spans,
                        after: row.after,
                    },
                );
            }
        }
        Ok(coverage)
    }

    fn live(&self, minute: u64) -> u64 {
        self.live.get(&minute).copied().unwrap_or(0)
    }

    /// The build whose rows answer `minute`, if it is still valid; `Some(0)`
    /// when the minute has no spans at all (nothing to read).
    fn valid_build(&self, minute: u64, need: Need) -> Option<u64> {
        let spans = self.live(minute);
        if spans == 0 {
            return Some(0);
        }
        let build = self.builds.get(&minute)?;
        let neighbours_match = || {
            build.before == self.live(minute - MINUTE) && build.after == self.live(minute + MINUTE)
        };
        (build.spans == spans && (need == Need::Minute || neighbours_match())).then_some(build.id)
    }

    /// Splits `window`: whole minutes with a valid build come from the
    /// rollup, everything else from the spans. Adjacent pieces are merged.
    pub fn plan(&self, window: &Window, need: Need) -> Plan {
        let mut plan = Plan::default();
        let raw = |start: u64, end: u64, plan: &mut Plan| {
            if start >= end {
                return;
            }
            match plan.raw.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => plan.raw.push(Window { start, end }),
            }
        };
        let first = minute_ceil(window.start);
        let end = minute_floor(window.end);
        if first >= end {
            raw(window.start, window.end, &mut plan);
            return plan;
        }
        raw(window.start, first, &mut plan);
        let mut minute = first;
        while minute < end {
            match self.valid_build(minute, need) {
                // An empty minute needs nothing from anywhere.
                Some(0) => {}
                Some(id) => match plan.rolled.last_mut() {
                    Some(last) if last.1 == minute && last.2 == id => last.1 = minute + MINUTE,
                    _ => plan.rolled.push((minute, minute + MINUTE, id)),
                },
                None => raw(minute, minute + MINUTE, &mut plan),
            }
            minute += MINUTE;
        }
        raw(end, window.end, &mut plan);
        plan
    }
}

impl Plan {
    /// `TenantId = ? AND ((Minute >= ? AND Minute < ? AND BuildId = ?) OR ...)`
    /// for the rolled-up minutes.
    pub(crate) fn push_rolled(&self, sql: &mut Sql, tenant: &Tenant) {
        sql.tenant(tenant).push(" AND (");
        for (i, (start, end, id)) in self.rolled.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push_binds(
                "(Minute >= toDateTime(?) AND Minute < toDateTime(?) AND BuildId = ?)",
                [secs(*start), secs(*end), Bind::U64(*id)],
            );
        }
        sql.push(")");
    }
}

// === the builder ===

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct LiveRow {
    tenant: String,
    minute: u32,
    spans: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct BuildRow {
    tenant: String,
    minute: u32,
    before: u64,
    spans: u64,
    after: u64,
}

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

/// Live counts per (tenant, minute start in seconds).
type Counts = BTreeMap<(String, u32), u64>;

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
    let live = live_counts(client, from.saturating_sub(MINUTE), horizon + MINUTE).await?;
    let mut sql = Sql::new(&format!(
        "SELECT toString(TenantId) AS tenant, toUInt32(Minute) AS minute, \
         argMax(SpansBefore, BuildId) AS before, argMax(Spans, BuildId) AS spans, \
         argMax(SpansAfter, BuildId) AS after FROM {BUILDS} WHERE "
    ));
    sql.push_binds(
        "Minute >= toDateTime(?) AND Minute < toDateTime(?) GROUP BY TenantId, Minute",
        [secs(from), secs(horizon)],
    );
    let built: Vec<BuildRow> = query(client, &sql).fetch_all().await?;
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

/// Live span counts per tenant and minute in `[start, end)`.
async fn live_counts(
    client: &clickhouse::Client,
    start: u64,
    end: u64,
) -> Result<Counts, RollupError> {
    let mut sql = Sql::new(&format!(
        "SELECT toString(TenantId) AS tenant, toUInt32(Minute) AS minute, \
         sum(Spans) AS spans FROM {MINUTE_COUNTS} WHERE "
    ));
    sql.push_binds(
        "Minute >= toDateTime(?) AND Minute < toDateTime(?) GROUP BY TenantId, Minute",
        [secs(start), secs(end)],
    );
    let rows: Vec<LiveRow> = query(client, &sql).fetch_all().await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.tenant, r.minute), r.spans))
        .collect())
}

/// Builds both rollups of the whole minutes in `run`, for every tenant.
pub async fn build(client: &clickhouse::Client, run: &Window) -> Result<(), RollupError> {
    // Counts first: spans landing after this read make the record stale
    // (and the minute rebuilt), never a record that claims too much.
    let live = live_counts(client, run.start - MINUTE, run.end + MINUTE).await?;
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
    query(client, &red).execute().await?;

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
    query(client, &edges).execute().await?;

    let count =
        |tenant: &str, minute: u32| live.get(&(tenant.to_owned(), minute)).copied().unwrap_or(0);
    let start = (run.start / NANOS_PER_SEC) as u32;
    let end = (run.end / NANOS_PER_SEC) as u32;
    let mut insert = client.insert::<BuildRecord<'static>>(BUILDS).await?;
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

fn query(client: &clickhouse::Client, sql: &Sql) -> clickhouse::query::Query {
    crate::query::bind_all(client.query(&sql.text), sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = MINUTE;

    fn coverage(live: &[(u64, u64)], builds: &[(u64, u64, [u64; 3])]) -> Coverage {
        Coverage {
            live: live.iter().map(|&(m, n)| (m * M, n)).collect(),
            builds: builds
                .iter()
                .map(|&(m, id, [before, spans, after])| {
                    (
                        m * M,
                        Build {
                            id,
                            before,
                            spans,
                            after,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn valid_minutes_come_from_rollups_the_rest_from_spans() {
        // Minutes 10..15; 13 has changed since its build, 14 was never built.
        let c = coverage(
            &[(9, 1), (10, 5), (11, 6), (12, 7), (13, 9), (14, 2), (15, 1)],
            &[
                (10, 1, [1, 5, 6]),
                (11, 1, [5, 6, 7]),
                (12, 2, [6, 7, 8]),
                (13, 2, [7, 8, 2]),
            ],
        );
        let window = Window {
            start: 10 * M - 5,
            end: 15 * M + 7,
        };
        let red = c.plan(&window, Need::Minute);
        assert_eq!(red.rolled, vec![(10 * M, 12 * M, 1), (12 * M, 13 * M, 2)]);
        assert_eq!(
            red.raw,
            vec![
                Window {
                    start: 10 * M - 5,
                    end: 10 * M
                },
                Window {
                    start: 13 * M,
                    end: 15 * M + 7
                }
            ]
        );
        // Edges of 12 need 13's count too, which changed.
        let edges = c.plan(&window, Need::Neighbours);
        assert_eq!(edges.rolled, vec![(10 * M, 12 * M, 1)]);
        assert_eq!(edges.raw[1].start, 12 * M);
    }

    #[test]
    fn empty_minutes_need_nothing_and_short_windows_are_raw() {
        let c = coverage(&[(11, 3)], &[(11, 4, [0, 3, 0])]);
        let plan = c.plan(
            &Window {
                start: 10 * M,
                end: 13 * M,
            },
            Need::Neighbours,
        );
        assert_eq!(plan.rolled, vec![(11 * M, 12 * M, 4)]);
        assert!(plan.raw.is_empty());
        let inside = Window {
            start: 10 * M + 1,
            end: 11 * M - 1,
        };
        let plan = c.plan(&inside, Need::Minute);
        assert_eq!(plan.raw, vec![inside]);
        assert!(plan.rolled.is_empty());
    }

    #[test]
    fn parents_are_searched_a_minute_around_the_children() {
        let ranges = [Window {
            start: 10 * M + 30,
            end: 12 * M,
        }];
        assert_eq!(
            parent_ranges(&ranges),
            vec![Window {
                start: 9 * M,
                end: 13 * M
            }]
        );
        let mut sql = Sql::default();
        push_raw_edges(
            &mut sql,
            Some(&Tenant::parse("acme").unwrap()),
            &ranges,
            false,
        );
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
        assert!(!sql.text.contains("acme"));
        assert_eq!(sql.text.matches("TenantId = ?").count(), 3);
    }
}
