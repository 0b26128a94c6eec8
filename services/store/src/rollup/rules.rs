//! The rules the builder and the query-time path share, as SQL:
//! - a span is an error when its `StatusCode` is `Error` (or the older
//!   exporters' `STATUS_CODE_ERROR`);
//! - latency percentiles are `quantilesExact(0.5, 0.95, 0.99)(Duration)`
//!   (the element at `floor(level * n)` of the sorted durations), stored as
//!   mergeable states, so merged minutes give the exact answer of the range;
//! - an edge `caller → callee` is a span of `callee` whose parent span (same
//!   trace, `ANY` one copy) belongs to another service and started from one
//!   minute before the child's minute to one minute after it.

use airis_runtime::tenant::Tenant;

use crate::sql::{Bind, Sql, Window};
use crate::tables::TRACES;

/// A span that failed.
pub const IS_ERROR: &str = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')";
/// p50, p95, p99 of `Duration` as a mergeable state.
pub const LATENCY_STATE: &str = "quantilesExactState(0.5, 0.95, 0.99)(Duration)";
/// Merges [`LATENCY_STATE`]s into `[p50, p95, p99]`.
pub const LATENCY_MERGE: &str = "quantilesExactMerge(0.5, 0.95, 0.99)(Latency)";

pub const NANOS_PER_SEC: u64 = 1_000_000_000;
pub const MINUTE: u64 = 60 * NANOS_PER_SEC;

/// Minute start (ns) of `nanos`.
pub fn minute_floor(nanos: u64) -> u64 {
    nanos - nanos % MINUTE
}

/// Minute start (ns) at or after `nanos`.
pub fn minute_ceil(nanos: u64) -> u64 {
    minute_floor(nanos.saturating_add(MINUTE - 1))
}

/// `window` widened to the whole minutes it touches, which ServiceMap and
/// ServiceOverview work in: every minute of it can then come from a rollup.
pub fn whole_minutes(window: Window) -> Window {
    Window {
        start: minute_floor(window.start),
        end: minute_ceil(window.end).min(i64::MAX as u64),
    }
}

/// A minute (ns) bound as seconds, for a `DateTime` column.
pub(crate) fn secs(nanos: u64) -> Bind {
    Bind::I64((nanos / NANOS_PER_SEC) as i64)
}

/// `(<column> >= ? AND <column> < ?) OR ...` over `ranges` (DateTime64(9)).
pub fn push_ranges(sql: &mut Sql, column: &str, ranges: &[Window]) {
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
    ranges.iter().map(parent_window).collect()
}

/// Where the parent of a span starting in `children` is looked for: one
/// minute before the children's first minute to one minute after their
/// last (clocks of two services disagree). The service map's edges and
/// the span filter by caller use it alike.
pub fn parent_window(children: &Window) -> Window {
    Window {
        start: minute_floor(children.start).saturating_sub(MINUTE),
        // Bound as an i64 of nanoseconds: past it, the window would wrap.
        end: minute_floor(children.end - 1)
            .saturating_add(2 * MINUTE)
            .min(i64::MAX as u64),
    }
}

/// Raw edges of children starting in `ranges`, as rows of
/// `(TenantId, Minute, Caller, Callee, Requests, Errors, Latency)` when
/// `per_minute` (the builder), or `(Caller, Callee, Requests, Errors,
/// Latency)` for one tenant (a query). `ANY` joins each child to at most one
/// parent row, so a parent stored twice never doubles an edge; the parent
/// side (the hash table) carries only the key, its service and start.
pub fn push_raw_edges(sql: &mut Sql, tenant: Option<&Tenant>, ranges: &[Window], per_minute: bool) {
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
         FROM {TRACES} WHERE "
    ));
    tenant_filter(sql);
    push_ranges(sql, "Timestamp", ranges);
    sql.push(&format!(
        " AND ParentSpanId != '') AS child \
         ANY INNER JOIN (SELECT TenantId, TraceId, SpanId, ServiceName AS parent_service, \
         Timestamp AS parent_start FROM {TRACES} WHERE "
    ));
    tenant_filter(sql);
    push_ranges(sql, "Timestamp", &parent_ranges(ranges));
    if !per_minute {
        // A query's ranges are short (partial or changed minutes) next to
        // the three minutes of parents around each: keep only the spans
        // that are someone's parent out of the hash table.
        sql.push(&format!(
            " AND SpanId IN (SELECT ParentSpanId FROM {TRACES} WHERE "
        ));
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
/// those of the RED rollup.
pub fn push_raw_red(
    sql: &mut Sql,
    tenant: Option<&Tenant>,
    select: &Sql,
    group: &str,
    ranges: &[Window],
    filters: &Sql,
) {
    sql.push("SELECT ").extend(select).push(&format!(
        "count() AS Requests, countIf({IS_ERROR}) AS Errors, \
         {LATENCY_STATE} AS Latency FROM {TRACES} WHERE "
    ));
    if let Some(tenant) = tenant {
        sql.tenant(tenant).push(" AND ");
    }
    push_ranges(sql, "Timestamp", ranges);
    sql.extend(filters);
    sql.push(&format!(" GROUP BY {group}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = MINUTE;

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

    #[test]
    fn windows_widen_to_whole_minutes() {
        assert_eq!(minute_floor(10 * M + 5), 10 * M);
        assert_eq!(minute_ceil(10 * M + 5), 11 * M);
        assert_eq!(minute_ceil(10 * M), 10 * M);
        assert_eq!(
            whole_minutes(Window {
                start: 10 * M + 1,
                end: 12 * M - 1
            }),
            Window {
                start: 10 * M,
                end: 12 * M
            }
        );
        assert_eq!(
            whole_minutes(Window {
                start: 0,
                end: u64::MAX
            })
            .end,
            i64::MAX as u64
        );
    }
}
