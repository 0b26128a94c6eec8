//! ServiceMap, ServiceOverview: the service graph and RED (rate, errors,
//! duration) metrics, computed from `otel_traces` at query time.
//!
//! Conventions shared by both RPCs:
//! - A span is an error when its `StatusCode` is `Error` (or the older
//!   exporter's `STATUS_CODE_ERROR`).
//! - Latency percentiles are `quantiles(0.5, 0.95, 0.99)(Duration)`:
//!   the element at index `floor(level * n)` of the sorted durations, never
//!   interpolated, so every reported value is a real span's duration and
//!   answers are reproducible. Its state is 8 bytes per span; the rows a
//!   query may read are bounded by `analytics.limits.max_rows_to_read`, which
//!   bounds that memory too. (`quantilesTDigest` would be cheaper for very
//!   large ranges but is approximate even on small inputs.)
//! - Times are the span start (`Timestamp`) within the half-open window.
//!
//! ServiceMap: an edge `caller → callee` is a span of `callee` whose parent
//! span belongs to `caller` (a different service), in the same trace. Each
//! such child span is one request, so a client span in A calling a server
//! span in B counts once (the server span, whose parent is the client span);
//! the callee's span gives the edge's errors and latency. Child spans start
//! in the window; their parents are looked up in the window extended
//! [`PARENT_LOOKBACK_NANOS`] earlier, so a call made just before the window
//! whose callee started inside it is still matched.
//!
//! ServiceOverview: one series per service (or per operation of one
//! service), with totals and a time series of buckets aligned to multiples
//! of the step since the Unix epoch. Buckets without spans are filled with
//! zeros (zero counts and percentiles), so every series has the same points:
//! from the bucket holding the window's start to the one holding its last
//! nanosecond (one more than `step_secs` counted when the window is not
//! aligned to the step).

use std::collections::BTreeMap;

use airis_proto::airis::analytics::v1::{
    LatencyPercentiles, RedPoint, RedSeries, ServiceEdge, ServiceMapRequest, ServiceMapResponse,
    ServiceNode, ServiceOverviewRequest, ServiceOverviewResponse,
};
use airis_runtime::tenant::Tenant;

use crate::{
    Error,
    query::{Bind, Sql, Store, Window},
};

/// A span that failed.
const IS_ERROR: &str = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')";
/// A span that is a request into its service.
const IS_ENTRY: &str =
    "SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER')";
/// p50, p95, p99 of `Duration`, in [`LatencyPercentiles`] order.
const PERCENTILES: &str = "quantilesExact(0.5, 0.95, 0.99)(Duration)";
/// How much earlier than the window a parent span may start.
pub const PARENT_LOOKBACK_NANOS: u64 = 60 * 1_000_000_000;
/// Points a series gets when the request leaves the step to us.
const TARGET_POINTS: u32 = 60;

const NANOS_PER_SEC: u64 = 1_000_000_000;

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
    let window = Window::from_proto("time_range", request.time_range.as_ref(), store.limits())?;
    let (edges, nodes) = tokio::try_join!(
        async {
            store
                .query(&edges_sql(tenant, &window))
                .fetch_all::<EdgeRow>()
                .await
        },
        async {
            store
                .query(&nodes_sql(tenant, &window))
                .fetch_all::<NodeRow>()
                .await
        },
    )?;

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

/// Children (spans with a parent, starting in the window) joined to their
/// parents by `(TraceId, SpanId)`, across services. `ANY` joins each child
/// to at most one parent row, so a parent stored twice never doubles an
/// edge; the parent side (the join's in-memory side) carries only the key
/// and its service as `LowCardinality`, which keeps the hash table small
/// (ClickHouse hashes the two string keys into 128 bits). Children stream
/// through it without being materialised.
fn edges_sql(tenant: &Tenant, window: &Window) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT toString(parent_service) AS caller, toString(child_service) AS callee, \
         count() AS requests, countIf(is_error) AS errors, {PERCENTILES} AS latency \
         FROM (SELECT TraceId, ParentSpanId AS SpanId, ServiceName AS child_service, \
         Duration, {IS_ERROR} AS is_error FROM otel_traces WHERE "
    ));
    sql.tenant(tenant).push(" AND ");
    window.sql(&mut sql, "Timestamp");
    sql.push(
        " AND ParentSpanId != '') AS child \
         ANY INNER JOIN (SELECT TraceId, SpanId, ServiceName AS parent_service \
         FROM otel_traces WHERE ",
    );
    sql.tenant(tenant).push(" AND ");
    let parents = Window {
        start: window.start.saturating_sub(PARENT_LOOKBACK_NANOS),
        end: window.end,
    };
    parents.sql(&mut sql, "Timestamp");
    sql.push(
        ") AS parent USING (TraceId, SpanId) \
         WHERE parent_service != child_service \
         GROUP BY caller, callee ORDER BY caller, callee",
    );
    sql
}

fn nodes_sql(tenant: &Tenant, window: &Window) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT toString(ServiceName) AS service, count() AS spans, \
         countIf({IS_ERROR}) AS errors FROM otel_traces WHERE "
    ));
    sql.tenant(tenant).push(" AND ");
    window.sql(&mut sql, "Timestamp");
    sql.push(" GROUP BY service ORDER BY service");
    sql
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
    let window = Window::from_proto("time_range", request.time_range.as_ref(), limits)?;
    let step = window.step_secs("step_seconds", request.step_seconds, TARGET_POINTS, limits)?;
    let step_nanos = u64::from(step) * NANOS_PER_SEC;
    let service = (!request.service_name.is_empty()).then_some(request.service_name.as_str());
    let sql = overview_sql(
        tenant,
        &window,
        step_nanos,
        service,
        request.entry_spans_only,
    );

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
/// rows, in one scan (`GROUPING SETS`), ordered by series then bucket.
fn overview_sql(
    tenant: &Tenant,
    window: &Window,
    step_nanos: u64,
    service: Option<&str>,
    entry_spans_only: bool,
) -> Sql {
    let operation = if service.is_some() {
        "toString(SpanName)"
    } else {
        "''"
    };
    let mut sql = Sql::new(&format!(
        "SELECT toString(ServiceName) AS service, {operation} AS operation, "
    ));
    sql.push_bind(
        "toUInt64(intDiv(toUnixTimestamp64Nano(Timestamp), ?)) AS bucket, ",
        Bind::I64(step_nanos as i64),
    );
    sql.push(&format!(
        "grouping(bucket) AS total, count() AS requests, countIf({IS_ERROR}) AS errors, \
         {PERCENTILES} AS latency FROM otel_traces WHERE "
    ));
    sql.tenant(tenant).push(" AND ");
    window.sql(&mut sql, "Timestamp");
    if let Some(service) = service {
        sql.push_bind(" AND ServiceName = ?", service);
    }
    if entry_spans_only {
        sql.push(&format!(" AND {IS_ENTRY}"));
    }
    sql.push(
        " GROUP BY GROUPING SETS ((service, operation), (service, operation, bucket)) \
         ORDER BY service, operation, total DESC, bucket",
    );
    sql
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

    #[test]
    fn user_input_is_only_bound() {
        let window = Window {
            start: 1_000,
            end: 2_000,
        };
        let hostile = "x'; DROP TABLE otel_traces; -- ?";
        let sql = overview_sql(&tenant(), &window, 60 * NANOS_PER_SEC, Some(hostile), true);
        assert!(!sql.text.contains("DROP"));
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
        assert!(sql.binds.contains(&Bind::Str(hostile.to_owned())));
        assert!(sql.text.contains("TenantId = ?"));
        for sql in [edges_sql(&tenant(), &window), nodes_sql(&tenant(), &window)] {
            assert_eq!(sql.text.matches('?').count(), sql.binds.len());
            assert!(sql.binds.contains(&Bind::Str("acme".to_owned())));
        }
        // Both sides of the join are tenant- and time-restricted.
        let edges = edges_sql(&tenant(), &window);
        assert_eq!(edges.text.matches("TenantId = ?").count(), 2);
        assert_eq!(edges.text.matches("Timestamp >= ").count(), 2);
    }

    #[test]
    fn parent_lookback_saturates() {
        let window = Window { start: 5, end: 10 };
        let sql = edges_sql(&tenant(), &window);
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
