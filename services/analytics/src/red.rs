//! ServiceMap, ServiceOverview: the service graph and RED (rate, errors,
//! duration) metrics.
//!
//! Both work in whole minutes: the window is widened to the minutes it
//! touches. They read the per-minute rollups ([`airis_store::rollup`]) for every
//! minute whose rollup is still valid, and the spans for the rest
//! (minutes still filling or changed since they were built), with the same
//! rules, so the answer is the same either way. A partial minute would need
//! the span scan and join the rollups exist to avoid, at a cost out of
//! proportion to the seconds it adds. Conventions shared by both RPCs:
//! - A span is an error when its `StatusCode` is `Error` (or the older
//!   exporter's `STATUS_CODE_ERROR`).
//! - Latency percentiles are `quantilesExact(0.5, 0.95, 0.99)(Duration)`:
//!   the element at index `floor(level * n)` of the sorted durations, never
//!   interpolated, so every reported value is a real span's duration and
//!   answers are reproducible. Its state is 8 bytes per span; the rows a
//!   query may read are bounded by `analytics.limits.max_rows_to_read`, which
//!   bounds that memory too.
//! - Times are the span start (`Timestamp`) within the half-open window.
//!
//! ServiceMap: an edge `caller → callee` is a span of `callee` whose parent
//! span belongs to `caller` (a different service), in the same trace. Each
//! such child span is one request, so a client span in A calling a server
//! span in B counts once (the server span, whose parent is the client span);
//! the callee's span gives the edge's errors and latency. Child spans start
//! in the window;
//! their parents are looked up from one minute before the child's minute to
//! one minute after it, so a call made just before the window whose callee
//! started inside it is still matched.
//!
//! ServiceOverview: one series per service (or per operation of one
//! service), with totals and a time series of buckets aligned to multiples
//! of the step since the Unix epoch. Buckets without spans are filled with
//! zeros (zero counts and percentiles), so every series has the same points:
//! from the bucket holding the window's start to the one holding its last
//! nanosecond (one more than `step_secs` counted when the window is not
//! aligned to the step). A step of 0 picks whole minutes (the fewest giving
//! at most about 60 points); steps that are not whole minutes read only
//! spans.
//! The request rate is per second of the widened window.

use std::collections::BTreeMap;

use airis_proto::airis::analytics::v1::{
    LatencyPercentiles, RedPoint, RedSeries, ServiceEdge, ServiceMapRequest, ServiceMapResponse,
    ServiceNode, ServiceOverviewRequest, ServiceOverviewResponse,
};
use airis_runtime::tenant::Tenant;

use airis_store::rollup::{
    plan::{Coverage, Need, Plan},
    rules::{
        IS_ERROR, LATENCY_MERGE, MINUTE, NANOS_PER_SEC, push_ranges, push_raw_edges, push_raw_red,
        whole_minutes,
    },
};
use airis_store::tables::{EDGES_1M, RED_1M, TRACES};

use crate::{
    Error,
    query::{Bind, RequestWindow as _, Sql, Store, Window},
};

/// A span that is a request into its service.
pub const IS_ENTRY: &str =
    "SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER')";
/// Points a series gets when the request leaves the step to us.
const TARGET_POINTS: u32 = 60;

// === ServiceMap ===

#[derive(clickhouse::Row, serde::Deserialize)]
struct EdgeRow {
    caller: String,
    callee: String,
    requests: u64,
    errors: u64,
    latency: Vec<u64>,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct NodeRow {
    service: String,
    spans: u64,
    errors: u64,
}

pub async fn service_map(
    store: &Store,
    tenant: &Tenant,
    request: ServiceMapRequest,
) -> Result<ServiceMapResponse, Error> {
    let window = whole_minutes(Window::from_proto(
        "time_range",
        request.time_range.as_ref(),
        store.limits(),
    )?);
    let coverage = Coverage::read(store.client(), tenant, &window).await?;
    let (edges, nodes) = match (
        edges_sql(tenant, &coverage.plan(&window, Need::Neighbours)),
        nodes_sql(tenant, &coverage.plan(&window, Need::Minute)),
    ) {
        (Some(edges), Some(nodes)) => tokio::try_join!(
            async { store.query(&edges).fetch_all::<EdgeRow>().await },
            async { store.query(&nodes).fetch_all::<NodeRow>().await },
        )?,
        (edges, nodes) => {
            // Without spans in some minute there can be no edges either,
            // but a rolled-up minute can have nodes without edges.
            let edges = match edges {
                Some(sql) => store.query(&sql).fetch_all::<EdgeRow>().await?,
                None => Vec::new(),
            };
            let nodes = match nodes {
                Some(sql) => store.query(&sql).fetch_all::<NodeRow>().await?,
                None => Vec::new(),
            };
            (edges, nodes)
        }
    };

    let mut node_map: BTreeMap<String, ServiceNode> = nodes
        .into_iter()
        .map(|row| {
            let node = ServiceNode {
                service_name: row.service.clone(),
                span_count: row.spans,
                error_count: row.errors,
            };
            (row.service, node)
        })
        .collect();
    // A caller seen only in the lookback still appears as a node.
    for edge in &edges {
        for service in [&edge.caller, &edge.callee] {
            node_map
                .entry(service.clone())
                .or_insert_with(|| ServiceNode {
                    service_name: service.clone(),
                    ..Default::default()
                });
        }
    }
    let mut edges: Vec<ServiceEdge> = edges
        .into_iter()
        .map(|row| ServiceEdge {
            error_rate: rate(row.errors, row.requests),
            latency: Some(percentiles(&row.latency)),
            caller: row.caller,
            callee: row.callee,
            request_count: row.requests,
            error_count: row.errors,
        })
        .collect();
    // ClickHouse sorts by bytes too; sorting here keeps the order independent
    // of server collation settings.
    edges.sort_by(|a, b| (&a.caller, &a.callee).cmp(&(&b.caller, &b.callee)));
    Ok(ServiceMapResponse {
        nodes: node_map.into_values().collect(),
        edges,
    })
}

/// `UNION ALL` of the rolled-up part (`rolled`: the rollup's columns, read
/// from `table` with the plan's minutes and `filters`) and the raw part
/// (`raw`, pushed by the closure for the plan's ranges), or `None` when the
/// plan reads nothing.
fn union(
    tenant: &Tenant,
    plan: &Plan,
    rolled: &str,
    table: &str,
    filters: &Sql,
    raw: impl FnOnce(&mut Sql, &[Window]),
) -> Option<Sql> {
    let mut sql = Sql::default();
    if !plan.rolled.is_empty() {
        sql.push(&format!("SELECT {rolled} FROM {table} WHERE "));
        plan.push_rolled(&mut sql, tenant);
        sql.extend(filters);
    }
    if !plan.raw.is_empty() {
        if !sql.text.is_empty() {
            sql.push(" UNION ALL ");
        }
        raw(&mut sql, &plan.raw);
    }
    (!sql.text.is_empty()).then_some(sql)
}

/// Caller → callee counts and latency, from the edge rollup and the raw
/// join ([`push_raw_edges`]).
fn edges_sql(tenant: &Tenant, plan: &Plan) -> Option<Sql> {
    let source = union(
        tenant,
        plan,
        "Caller, Callee, Requests, Errors, Latency",
        EDGES_1M,
        &Sql::default(),
        |sql, ranges| push_raw_edges(sql, Some(tenant), ranges, false),
    )?;
    let mut sql = Sql::new(&format!(
        "SELECT toString(Caller) AS caller, toString(Callee) AS callee, \
         sum(Requests) AS requests, sum(Errors) AS errors, {LATENCY_MERGE} AS latency FROM ("
    ));
    sql.extend(&source)
        .push(") GROUP BY caller, callee ORDER BY caller, callee");
    Some(sql)
}

/// Spans and errors per service, from the RED rollup and the spans.
fn nodes_sql(tenant: &Tenant, plan: &Plan) -> Option<Sql> {
    let source = union(
        tenant,
        plan,
        "ServiceName, Requests, Errors",
        RED_1M,
        &Sql::default(),
        |sql, ranges| {
            sql.push(&format!(
                "SELECT ServiceName, count() AS Requests, countIf({IS_ERROR}) AS Errors \
                 FROM {TRACES} WHERE "
            ));
            sql.tenant(tenant).push(" AND ");
            push_ranges(sql, "Timestamp", ranges);
            sql.push(" GROUP BY ServiceName");
        },
    )?;
    let mut sql = Sql::new(
        "SELECT toString(ServiceName) AS service, sum(Requests) AS spans, \
         sum(Errors) AS errors FROM (",
    );
    sql.extend(&source)
        .push(") GROUP BY service ORDER BY service");
    Some(sql)
}

// === ServiceOverview ===

#[derive(clickhouse::Row, serde::Deserialize)]
struct RedRow {
    service: String,
    operation: String,
    /// `Timestamp` in nanoseconds divided by the step in nanoseconds.
    bucket: u64,
    /// 1 on the series' total row, 0 on its bucket rows.
    total: u64,
    requests: u64,
    errors: u64,
    latency: Vec<u64>,
}

pub async fn service_overview(
    store: &Store,
    tenant: &Tenant,
    request: ServiceOverviewRequest,
) -> Result<ServiceOverviewResponse, Error> {
    let limits = store.limits();
    let window = whole_minutes(Window::from_proto(
        "time_range",
        request.time_range.as_ref(),
        limits,
    )?);
    // A default step of whole minutes, so the per-minute rollups answer.
    let step = window.step_secs(
        "step_seconds",
        request.step_seconds,
        TARGET_POINTS,
        (MINUTE / NANOS_PER_SEC) as u32,
        limits,
    )?;
    let step_nanos = u64::from(step) * NANOS_PER_SEC;
    let service = (!request.service_name.is_empty()).then_some(request.service_name.as_str());
    // Minutes nest in buckets only when the step is whole minutes.
    let plan = if step_nanos.is_multiple_of(MINUTE) {
        Coverage::read(store.client(), tenant, &window)
            .await?
            .plan(&window, Need::Minute)
    } else {
        Plan {
            rolled: Vec::new(),
            raw: vec![window],
        }
    };
    let Some(sql) = overview_sql(tenant, &plan, step_nanos, service, request.entry_spans_only)
    else {
        return Ok(ServiceOverviewResponse {
            series: Vec::new(),
            step_seconds: step,
        });
    };

    // Buckets aligned to multiples of the step; the last one holds end - 1.
    let first_bucket = window.start / step_nanos;
    let last_bucket = (window.end - 1) / step_nanos;

    let max_series = limits.max_series as usize;
    let mut series: Vec<RedSeries> = Vec::new();
    let mut cursor = store.query(&sql).fetch::<RedRow>()?;
    // Rows come sorted by series, the total row first: a new series starts
    // at each total row.
    while let Some(row) = cursor.next().await? {
        if row.total == 1 {
            if series.len() == max_series {
                return Err(Error::LimitExceeded(format!(
                    "the answer has more than analytics.limits.max_series ({}) series; \
                     name a service (service_name) to narrow it",
                    limits.max_series
                )));
            }
            let points = (first_bucket..=last_bucket)
                .map(|bucket| RedPoint {
                    time_unix_nano: bucket * step_nanos,
                    request_count: 0,
                    error_count: 0,
                    latency: Some(LatencyPercentiles::default()),
                })
                .collect();
            series.push(RedSeries {
                service_name: row.service,
                operation: row.operation,
                request_count: row.requests,
                error_count: row.errors,
                error_rate: rate(row.errors, row.requests),
                request_rate: row.requests as f64 / window.seconds(),
                latency: Some(percentiles(&row.latency)),
                points,
            });
            continue;
        }
        let current = series
            .last_mut()
            .filter(|s| s.service_name == row.service && s.operation == row.operation);
        let (Some(current), Some(index)) = (current, row.bucket.checked_sub(first_bucket)) else {
            // Cannot happen with the ORDER BY and the window filter; a
            // stray row is dropped rather than misattributed.
            tracing::warn!(
                bucket = row.bucket,
                "unexpected ServiceOverview row ignored"
            );
            continue;
        };
        if let Some(point) = current.points.get_mut(index as usize) {
            point.request_count = row.requests;
            point.error_count = row.errors;
            point.latency = Some(percentiles(&row.latency));
        }
    }
    Ok(ServiceOverviewResponse {
        series,
        step_seconds: step,
    })
}

/// One total row per series (`total = 1`) followed by its non-empty bucket
/// rows (`GROUPING SETS` over the merged minute and raw rows), ordered by
/// series then bucket.
fn overview_sql(
    tenant: &Tenant,
    plan: &Plan,
    step_nanos: u64,
    service: Option<&str>,
    entry_spans_only: bool,
) -> Option<Sql> {
    let mut filters = Sql::default();
    if let Some(service) = service {
        filters.push_bind(" AND ServiceName = ?", service);
    }
    if entry_spans_only {
        filters.push(&format!(" AND {IS_ENTRY}"));
    }
    let step = Bind::I64(step_nanos as i64);
    let source = union(
        tenant,
        plan,
        "ServiceName, SpanName, toUInt64(toUnixTimestamp(Minute)) * 1000000000 AS t, \
         Requests, Errors, Latency",
        RED_1M,
        &filters,
        |sql, ranges| {
            let mut select = Sql::default();
            select.push_binds(
                "ServiceName, SpanName, \
                 toUInt64(intDiv(toUnixTimestamp64Nano(Timestamp), ?) * ?) AS t, ",
                [step.clone(), step.clone()],
            );
            push_raw_red(
                sql,
                Some(tenant),
                &select,
                "ServiceName, SpanName, t",
                ranges,
                &filters,
            );
        },
    )?;
    let operation = if service.is_some() {
        "toString(ServiceName) AS service, toString(SpanName) AS operation, "
    } else {
        "toString(ServiceName) AS service, '' AS operation, "
    };
    let mut sql = Sql::new(&format!("SELECT {operation}"));
    sql.push_bind("toUInt64(intDiv(t, ?)) AS bucket, ", step);
    sql.push(&format!(
        "grouping(bucket) AS total, sum(Requests) AS requests, sum(Errors) AS errors, \
         {LATENCY_MERGE} AS latency FROM ("
    ));
    sql.extend(&source).push(
        ") GROUP BY GROUPING SETS ((service, operation), (service, operation, bucket)) \
         ORDER BY service, operation, total DESC, bucket",
    );
    Some(sql)
}

// === Per-minute RED of every series ===

/// One minute of a RED series of entry spans: a service as a whole
/// (`operation` empty) or one of its operations. What aiops watches.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, serde::Deserialize)]
pub struct MinuteRed {
    pub service: String,
    pub operation: String,
    /// 1 on the service-as-a-whole row (its `operation` is empty).
    pub whole: u8,
    /// Minute start, Unix seconds.
    pub minute: u32,
    pub requests: u64,
    pub errors: u64,
    /// `[p50, p95, p99]` in nanoseconds.
    pub latency: Vec<u64>,
}

/// The per-minute RED numbers of entry spans in `window` (widened to whole
/// minutes), per service (or only `service`) and per operation of each
/// service, ordered by minute, then service, the service's own row before
/// its operations'.
/// Minutes without entry spans have no rows. Rolled-up minutes come from
/// the rollup, the rest from the spans, as for ServiceOverview.
pub async fn minute_red(
    store: &Store,
    tenant: &Tenant,
    window: Window,
    service: Option<&str>,
) -> Result<Vec<MinuteRed>, Error> {
    let window = whole_minutes(window);
    let plan = Coverage::read(store.client(), tenant, &window)
        .await?
        .plan(&window, Need::Minute);
    let Some(sql) = minute_red_sql(tenant, &plan, service) else {
        return Ok(Vec::new());
    };
    Ok(store.query(&sql).fetch_all::<MinuteRed>().await?)
}

fn minute_red_sql(tenant: &Tenant, plan: &Plan, service: Option<&str>) -> Option<Sql> {
    let mut filters = Sql::default();
    filters.push(&format!(" AND {IS_ENTRY}"));
    if let Some(service) = service {
        filters.push_bind(" AND ServiceName = ?", service);
    }
    let step = Bind::I64(MINUTE as i64);
    let source = union(
        tenant,
        plan,
        "ServiceName, SpanName, toUInt64(toUnixTimestamp(Minute)) * 1000000000 AS t, \
         Requests, Errors, Latency",
        RED_1M,
        &filters,
        |sql, ranges| {
            let mut select = Sql::default();
            select.push_binds(
                "ServiceName, SpanName, \
                 toUInt64(intDiv(toUnixTimestamp64Nano(Timestamp), ?) * ?) AS t, ",
                [step.clone(), step.clone()],
            );
            push_raw_red(
                sql,
                Some(tenant),
                &select,
                "ServiceName, SpanName, t",
                ranges,
                &filters,
            );
        },
    )?;
    let mut sql = Sql::new(&format!(
        "SELECT toString(ServiceName) AS service, \
         if(grouping(SpanName) = 1, '', toString(SpanName)) AS operation, \
         toUInt8(grouping(SpanName)) AS whole, toUInt32(intDiv(t, {NANOS_PER_SEC})) AS minute, \
         sum(Requests) AS requests, sum(Errors) AS errors, {LATENCY_MERGE} AS latency FROM ("
    ));
    sql.extend(&source).push(
        ") GROUP BY GROUPING SETS ((ServiceName, t), (ServiceName, SpanName, t)) \
         ORDER BY minute, service, whole DESC, operation",
    );
    Some(sql)
}

// === helpers ===

fn rate(errors: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    }
}

/// `[p50, p95, p99]` from [`PERCENTILES`]; zeros for an empty group.
fn percentiles(values: &[u64]) -> LatencyPercentiles {
    let at = |i: usize| values.get(i).copied().unwrap_or(0);
    LatencyPercentiles {
        p50_nano: at(0),
        p95_nano: at(1),
        p99_nano: at(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant::parse("acme").unwrap()
    }

    /// Two rolled-up minutes and a raw range: both parts of every union.
    fn plan() -> Plan {
        Plan {
            rolled: vec![(60 * MINUTE, 62 * MINUTE, 7)],
            raw: vec![Window {
                start: 62 * MINUTE,
                end: 62 * MINUTE + 5,
            }],
        }
    }

    #[test]
    fn user_input_is_only_bound() {
        let hostile = &format!("x'; DROP TABLE {TRACES}; -- ?");
        let sql = overview_sql(&tenant(), &plan(), MINUTE, Some(hostile), true).unwrap();
        assert!(!sql.text.contains("DROP"));
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
        // The service filter applies to both parts.
        assert_eq!(
            sql.binds
                .iter()
                .filter(|b| **b == Bind::Str(hostile.to_owned()))
                .count(),
            2
        );
        assert_eq!(sql.text.matches("TenantId = ?").count(), 2);
        assert_eq!(sql.text.matches(IS_ENTRY).count(), 2);
        for sql in [
            edges_sql(&tenant(), &plan()),
            nodes_sql(&tenant(), &plan()),
            minute_red_sql(&tenant(), &plan(), Some("payment")),
        ] {
            let sql = sql.unwrap();
            assert_eq!(sql.text.matches('?').count(), sql.binds.len());
            assert!(sql.binds.contains(&Bind::Str("acme".to_owned())));
            assert!(sql.text.contains(" UNION ALL "));
            assert!(sql.binds.contains(&Bind::U64(7)), "the build id is bound");
        }
        // Rollup, and both sides of the raw join, are tenant-restricted.
        let edges = edges_sql(&tenant(), &plan()).unwrap();
        assert_eq!(edges.text.matches("TenantId = ?").count(), 4);
        assert_eq!(edges.text.matches("Timestamp >= ").count(), 3);
    }

    #[test]
    fn empty_plans_read_nothing_and_one_part_needs_no_union() {
        let empty = Plan::default();
        assert!(edges_sql(&tenant(), &empty).is_none());
        assert!(nodes_sql(&tenant(), &empty).is_none());
        assert!(overview_sql(&tenant(), &empty, MINUTE, None, false).is_none());
        let raw_only = Plan {
            rolled: Vec::new(),
            raw: plan().raw,
        };
        let sql = overview_sql(&tenant(), &raw_only, MINUTE, None, false).unwrap();
        assert!(!sql.text.contains("UNION") && !sql.text.contains(RED_1M));
    }

    #[test]
    fn parent_lookback_saturates() {
        let raw = Plan {
            rolled: Vec::new(),
            raw: vec![Window { start: 5, end: 10 }],
        };
        let sql = edges_sql(&tenant(), &raw).unwrap();
        assert!(sql.binds.contains(&Bind::I64(0)));
    }

    #[test]
    fn helpers() {
        assert_eq!(rate(0, 0), 0.0);
        assert_eq!(rate(1, 4), 0.25);
        let p = percentiles(&[1, 2, 3]);
        assert_eq!((p.p50_nano, p.p95_nano, p.p99_nano), (1, 2, 3));
        assert_eq!(percentiles(&[]), LatencyPercentiles::default());
    }
}
