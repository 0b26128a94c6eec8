//! GetTrace, SearchSpans, SearchTraces, ListServices, ListOperations, TopK.
//!
//! Every query reads [`TRACES`] filtered by the caller's tenant first,
//! then by the request's time window, so ClickHouse prunes partitions
//! (`toDate(Timestamp)`) and primary-key ranges
//! (`TenantId, ServiceName, SpanName, toDateTime(Timestamp)`) before reading.
//! GetTrace has no window: it filters by tenant and trace id, which the
//! table's `by_trace` projection (ordered by `TenantId, TraceId`) answers.
//! Request values only ever travel as bound values ([`Sql`]).
//!
//! Paging is keyset paging ([`crate::page`]): a page token holds the sort
//! key of the last item returned, and the next page asks for items strictly
//! after it in the sort order, so spans arriving later never shift pages
//! already returned.
//!
//! Latency percentiles (TopK) are exact (`quantilesExact`: the element at
//! position `floor(level * n)` of the sorted durations).

use std::collections::HashMap;

use airis_proto::airis::analytics::v1::{
    AttributeScope, GetTraceRequest, GetTraceResponse, LatencyPercentiles, ListOperationsRequest,
    ListOperationsResponse, ListServicesRequest, ListServicesResponse, Operation,
    SearchSpansRequest, SearchSpansResponse, SearchTracesRequest, SearchTracesResponse, Span,
    SpanEvent, SpanFilter, SpanKind, SpanLink, SpanOrder, StatusCode, TopKDimension, TopKEntry,
    TopKMetric, TopKRequest, TopKResponse, TraceSummary,
};
use airis_runtime::tenant::Tenant;

use airis_store::rollup::rules::parent_window;
use airis_store::tables::TRACES;

use crate::Error;
use crate::page::{Fields, Page, PageKey};
use crate::query::{self, Bind, Limits, RequestWindow as _, Sql, Store, Window};

/// Largest `k` a TopK request may ask for.
const MAX_TOP_K: u32 = 100;
const DEFAULT_TOP_K: u32 = 10;

/// `StatusCode` values meaning an error: the current exporter's and older
/// exporters' spelling.
fn error_statuses() -> Bind {
    Bind::Strs(vec!["Error".to_owned(), "STATUS_CODE_ERROR".to_owned()])
}

// === GetTrace ===

pub async fn get_trace(
    store: &Store,
    tenant: &Tenant,
    request: GetTraceRequest,
) -> Result<GetTraceResponse, Error> {
    let trace_id = query::trace_id("trace_id", &request.trace_id)?;
    let not_found = || Error::NotFound(format!("trace {trace_id} not found"));

    // The `by_trace` projection of the spans (docs/schema.md) is ordered
    // by tenant and trace id, so this reads one or two granules per part.
    let mut sql = Sql::new(&format!("SELECT {SPAN_COLUMNS} FROM {TRACES} WHERE "));
    sql.tenant(tenant)
        .push_bind(" AND TraceId = ?", trace_id.as_str())
        .push(" ORDER BY Timestamp, SpanId");
    let rows = store.query(&sql).fetch_all::<SpanRow>().await?;
    if rows.is_empty() {
        return Err(not_found());
    }
    Ok(GetTraceResponse {
        spans: rows.into_iter().map(SpanRow::into_proto).collect(),
    })
}

// === SearchSpans ===

pub async fn search_spans(
    store: &Store,
    tenant: &Tenant,
    request: SearchSpansRequest,
) -> Result<SearchSpansResponse, Error> {
    let limits = store.limits();
    let filter = SpanConditions::new(tenant, request.filter.as_ref(), limits)?;
    let order = query::known_enum::<SpanOrder>("order", request.order)?;
    let page = Page::<SpanCursor>::new(SpanCursor::tag(order), request.page.as_ref(), limits)?;

    let mut sql = Sql::new(&format!("SELECT {SPAN_COLUMNS} FROM {TRACES} WHERE "));
    sql.extend(&filter.sql);
    if let Some(cursor) = &page.after {
        cursor.condition(&mut sql, order);
    }
    sql.push(match order {
        SpanOrder::Unspecified => " ORDER BY Timestamp DESC, TraceId DESC, SpanId DESC",
        SpanOrder::OldestFirst => " ORDER BY Timestamp ASC, TraceId ASC, SpanId ASC",
        SpanOrder::LongestFirst => {
            " ORDER BY Duration DESC, Timestamp DESC, TraceId DESC, SpanId DESC"
        }
    });
    sql.push_bind(" LIMIT ?", page.fetch());
    let mut rows = store.query(&sql).fetch_all::<SpanRow>().await?;
    let info = page.finish(&mut rows, |last| SpanCursor {
        duration: last.duration,
        ts: last.ts,
        trace_id: last.trace_id.clone(),
        span_id: last.span_id.clone(),
    });
    Ok(SearchSpansResponse {
        spans: rows.into_iter().map(SpanRow::into_proto).collect(),
        page: Some(info),
    })
}

/// Where the previous page of SearchSpans stopped.
#[derive(Debug, Clone, PartialEq)]
struct SpanCursor {
    duration: u64,
    ts: i64,
    trace_id: String,
    span_id: String,
}

impl PageKey for SpanCursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([
            self.duration.to_string(),
            self.ts.to_string(),
            self.trace_id.clone(),
            self.span_id.clone(),
        ]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            duration: fields.number()?,
            ts: fields.number()?,
            trace_id: fields.hex_id()?,
            span_id: fields.hex_id()?,
        })
    }
}

impl SpanCursor {
    /// Tokens of SearchSpans in `order`.
    fn tag(order: SpanOrder) -> String {
        format!("spans:{}", order as i32)
    }

    /// Rows strictly after this cursor in `order`.
    fn condition(&self, sql: &mut Sql, order: SpanOrder) {
        let (ts, trace, span) = (
            Bind::I64(self.ts),
            Bind::Str(self.trace_id.clone()),
            Bind::Str(self.span_id.clone()),
        );
        match order {
            SpanOrder::Unspecified => sql.push_binds(
                " AND Timestamp <= fromUnixTimestamp64Nano(?) \
                 AND (Timestamp, TraceId, SpanId) < (fromUnixTimestamp64Nano(?), ?, ?)",
                [ts.clone(), ts, trace, span],
            ),
            SpanOrder::OldestFirst => sql.push_binds(
                " AND Timestamp >= fromUnixTimestamp64Nano(?) \
                 AND (Timestamp, TraceId, SpanId) > (fromUnixTimestamp64Nano(?), ?, ?)",
                [ts.clone(), ts, trace, span],
            ),
            SpanOrder::LongestFirst => sql.push_binds(
                " AND Duration <= ? \
                 AND (Duration, Timestamp, TraceId, SpanId) < (?, fromUnixTimestamp64Nano(?), ?, ?)",
                [
                    Bind::U64(self.duration),
                    Bind::U64(self.duration),
                    ts,
                    trace,
                    span,
                ],
            ),
        };
    }
}

// === SearchTraces ===

pub async fn search_traces(
    store: &Store,
    tenant: &Tenant,
    request: SearchTracesRequest,
) -> Result<SearchTracesResponse, Error> {
    let limits = store.limits();
    let filter = SpanConditions::new(tenant, request.filter.as_ref(), limits)?;
    let order = query::known_enum::<SpanOrder>("order", request.order)?;
    let page = Page::<TraceCursor>::new(TraceCursor::tag(order), request.page.as_ref(), limits)?;

    // 1. The page of traces with a matching span, ordered by the start and
    //    duration of all their spans in the window.
    let mut sql = Sql::new(&format!(
        "SELECT TraceId AS trace_id, \
         toUnixTimestamp64Nano(min(Timestamp)) AS start_ns, \
         toUInt64(max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) - start_ns) AS duration_ns \
         FROM {TRACES} WHERE "
    ));
    sql.tenant(tenant).push(" AND ");
    filter.window.sql(&mut sql, "Timestamp");
    if filter.narrowed {
        sql.push(&format!(
            " AND TraceId IN (SELECT TraceId FROM {TRACES} WHERE "
        ));
        sql.extend(&filter.sql);
        sql.push(")");
    }
    sql.push(" GROUP BY TraceId");
    if let Some(cursor) = &page.after {
        cursor.condition(&mut sql, order);
    }
    sql.push(match order {
        SpanOrder::Unspecified => " ORDER BY start_ns DESC, TraceId DESC",
        SpanOrder::OldestFirst => " ORDER BY start_ns ASC, TraceId ASC",
        SpanOrder::LongestFirst => " ORDER BY duration_ns DESC, start_ns DESC, TraceId DESC",
    });
    sql.push_bind(" LIMIT ?", page.fetch());
    let mut keys = store.query(&sql).fetch_all::<TraceKeyRow>().await?;
    let info = page.finish(&mut keys, |last| TraceCursor {
        duration: last.duration_ns,
        start: last.start_ns,
        trace_id: last.trace_id.clone(),
    });
    if keys.is_empty() {
        return Ok(SearchTracesResponse {
            traces: Vec::new(),
            page: Some(info),
        });
    }

    // 2. Summaries of those traces. Their spans in the window all start at
    //    or after the earliest trace start of the page.
    let ids: Vec<String> = keys.iter().map(|t| t.trace_id.clone()).collect();
    let earliest = keys.iter().map(|t| t.start_ns).min().unwrap_or(0);
    let window = Window {
        start: (earliest.max(0) as u64).max(filter.window.start),
        end: filter.window.end,
    };
    let mut sql = Sql::new(
        "SELECT TraceId AS trace_id, \
         argMin(ServiceName, (ParentSpanId != '', Timestamp, SpanId)) AS root_service, \
         argMin(SpanName, (ParentSpanId != '', Timestamp, SpanId)) AS root_operation, \
         count() AS span_count, ",
    );
    sql.push_bind(
        "countIf(StatusCode IN ?) AS error_count, ",
        error_statuses(),
    )
    .push("arraySort(groupUniqArray(ServiceName)) AS services FROM ")
    .push(TRACES)
    .push(" WHERE ");
    sql.tenant(tenant).push(" AND ");
    window.sql(&mut sql, "Timestamp");
    sql.push_bind(" AND TraceId IN ?", ids)
        .push(" GROUP BY TraceId");
    let summaries: HashMap<String, TraceSummaryRow> = store
        .query(&sql)
        .fetch_all::<TraceSummaryRow>()
        .await?
        .into_iter()
        .map(|row| (row.trace_id.clone(), row))
        .collect();

    let traces = keys
        .into_iter()
        .map(|key| {
            let summary = summaries.get(&key.trace_id);
            TraceSummary {
                root_service_name: summary.map(|s| s.root_service.clone()).unwrap_or_default(),
                root_operation: summary
                    .map(|s| s.root_operation.clone())
                    .unwrap_or_default(),
                start_time_unix_nano: key.start_ns.max(0) as u64,
                duration_nano: key.duration_ns,
                span_count: summary.map_or(0, |s| saturate(s.span_count)),
                error_count: summary.map_or(0, |s| saturate(s.error_count)),
                service_names: summary.map(|s| s.services.clone()).unwrap_or_default(),
                trace_id: key.trace_id,
            }
        })
        .collect();
    Ok(SearchTracesResponse {
        traces,
        page: Some(info),
    })
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct TraceKeyRow {
    trace_id: String,
    start_ns: i64,
    duration_ns: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct TraceSummaryRow {
    trace_id: String,
    root_service: String,
    root_operation: String,
    span_count: u64,
    error_count: u64,
    services: Vec<String>,
}

/// Where the previous page of SearchTraces stopped.
#[derive(Debug, Clone, PartialEq)]
struct TraceCursor {
    duration: u64,
    start: i64,
    trace_id: String,
}

impl PageKey for TraceCursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([
            self.duration.to_string(),
            self.start.to_string(),
            self.trace_id.clone(),
        ]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            duration: fields.number()?,
            start: fields.number()?,
            trace_id: fields.hex_id()?,
        })
    }
}

impl TraceCursor {
    /// Tokens of SearchTraces in `order`.
    fn tag(order: SpanOrder) -> String {
        format!("traces:{}", order as i32)
    }

    /// `HAVING`: groups strictly after this cursor in `order`.
    fn condition(&self, sql: &mut Sql, order: SpanOrder) {
        let (start, trace) = (Bind::I64(self.start), Bind::Str(self.trace_id.clone()));
        match order {
            SpanOrder::Unspecified => {
                sql.push_binds(" HAVING (start_ns, TraceId) < (?, ?)", [start, trace])
            }
            SpanOrder::OldestFirst => {
                sql.push_binds(" HAVING (start_ns, TraceId) > (?, ?)", [start, trace])
            }
            SpanOrder::LongestFirst => sql.push_binds(
                " HAVING (duration_ns, start_ns, TraceId) < (?, ?, ?)",
                [Bind::U64(self.duration), start, trace],
            ),
        };
    }
}

// === ListServices, ListOperations ===

pub async fn list_services(
    store: &Store,
    tenant: &Tenant,
    request: ListServicesRequest,
) -> Result<ListServicesResponse, Error> {
    let window = Window::from_proto("time_range", request.time_range.as_ref(), store.limits())?;
    let mut sql = Sql::new("SELECT DISTINCT ServiceName AS name FROM ");
    sql.push(TRACES).push(" WHERE ");
    sql.tenant(tenant).push(" AND ");
    window.sql(&mut sql, "Timestamp");
    sql.push(" ORDER BY name");
    let service_names = store.query(&sql).fetch_all::<NameRow>().await?;
    Ok(ListServicesResponse {
        service_names: service_names.into_iter().map(|r| r.name).collect(),
    })
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct NameRow {
    name: String,
}

pub async fn list_operations(
    store: &Store,
    tenant: &Tenant,
    request: ListOperationsRequest,
) -> Result<ListOperationsResponse, Error> {
    let window = Window::from_proto("time_range", request.time_range.as_ref(), store.limits())?;
    if request.service_name.is_empty() {
        return Err(Error::InvalidArgument("service_name: required".to_owned()));
    }
    let mut sql = Sql::new("SELECT SpanName AS name, SpanKind AS kind FROM ");
    sql.push(TRACES).push(" WHERE ");
    sql.tenant(tenant)
        .push_bind(" AND ServiceName = ?", request.service_name.as_str())
        .push(" AND ");
    window.sql(&mut sql, "Timestamp");
    sql.push(" GROUP BY SpanName, SpanKind");
    let rows = store.query(&sql).fetch_all::<OperationRow>().await?;
    Ok(ListOperationsResponse {
        operations: operations(rows),
    })
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct OperationRow {
    name: String,
    kind: String,
}

/// Distinct (name, kind) operations sorted by name, then kind.
fn operations(rows: Vec<OperationRow>) -> Vec<Operation> {
    let mut operations: Vec<Operation> = rows
        .into_iter()
        .map(|row| Operation {
            kind: span_kind(&row.kind) as i32,
            name: row.name,
        })
        .collect();
    operations.sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
    operations.dedup();
    operations
}

// === TopK ===

pub async fn top_k(
    store: &Store,
    tenant: &Tenant,
    request: TopKRequest,
) -> Result<TopKResponse, Error> {
    let filter = SpanConditions::new(tenant, request.filter.as_ref(), store.limits())?;
    let dimension = query::known_enum::<TopKDimension>("dimension", request.dimension)?;
    let metric = query::known_enum::<TopKMetric>("metric", request.metric)?;
    let attributes =
        match query::known_enum::<AttributeScope>("attribute_scope", request.attribute_scope)? {
            AttributeScope::Unspecified => "SpanAttributes",
            AttributeScope::Resource => "ResourceAttributes",
        };
    let k = match request.k {
        0 => DEFAULT_TOP_K,
        k if k > MAX_TOP_K => {
            return Err(Error::LimitExceeded(format!(
                "k: {k} is more than the maximum of {MAX_TOP_K}"
            )));
        }
        k => k,
    };

    let mut sql = Sql::new("SELECT ");
    match dimension {
        TopKDimension::Unspecified => {
            return Err(Error::InvalidArgument("dimension: required".to_owned()));
        }
        TopKDimension::Service => {
            sql.push("toString(ServiceName) AS value");
        }
        TopKDimension::Operation => {
            sql.push("toString(SpanName) AS value");
        }
        TopKDimension::Attribute => {
            if request.attribute_key.is_empty() {
                return Err(Error::InvalidArgument(
                    "attribute_key: required for TOP_K_DIMENSION_ATTRIBUTE".to_owned(),
                ));
            }
            sql.push(attributes)
                .push_bind("[?] AS value", request.attribute_key.as_str());
        }
    }
    let order_by = match metric {
        TopKMetric::Unspecified => {
            return Err(Error::InvalidArgument("metric: required".to_owned()));
        }
        TopKMetric::Count => " ORDER BY n DESC, value ASC",
        TopKMetric::Errors => " ORDER BY errors DESC, n DESC, value ASC",
        TopKMetric::Latency => " ORDER BY latency[3] DESC, n DESC, value ASC",
    };
    sql.push(", count() AS n, ")
        .push_bind("countIf(StatusCode IN ?) AS errors, ", error_statuses())
        .push("quantilesExact(0.5, 0.95, 0.99)(Duration) AS latency FROM ")
        .push(TRACES)
        .push(" WHERE ");
    sql.extend(&filter.sql);
    if dimension == TopKDimension::Attribute {
        let key = || Bind::Str(request.attribute_key.clone());
        sql.push(" AND mapContains(")
            .push(attributes)
            .push_bind(", ?) AND ", key())
            .push(attributes)
            .push_bind("[?] != ''", key());
    }
    sql.push(" GROUP BY value").push(order_by);
    sql.push_bind(" LIMIT ?", u64::from(k));
    let rows = store.query(&sql).fetch_all::<TopKRow>().await?;
    Ok(TopKResponse {
        entries: rows.into_iter().map(TopKRow::into_proto).collect(),
    })
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct TopKRow {
    value: String,
    n: u64,
    errors: u64,
    latency: Vec<u64>,
}

impl TopKRow {
    fn into_proto(self) -> TopKEntry {
        let at = |i: usize| self.latency.get(i).copied().unwrap_or(0);
        TopKEntry {
            latency: Some(LatencyPercentiles {
                p50_nano: at(0),
                p95_nano: at(1),
                p99_nano: at(2),
            }),
            value: self.value,
            count: self.n,
            error_count: self.errors,
        }
    }
}

// === span filters ===

/// A validated [`SpanFilter`] as a WHERE condition on [`TRACES`]; the
/// change analysis selects its cohorts with it too, so a cohort means what
/// a span search means.
pub struct SpanConditions {
    pub window: Window,
    /// `TenantId = ? AND <window> AND ...`.
    pub sql: Sql,
    /// Whether anything beyond the tenant and the window is filtered.
    pub narrowed: bool,
}

impl SpanConditions {
    fn new(tenant: &Tenant, filter: Option<&SpanFilter>, limits: &Limits) -> Result<Self, Error> {
        Self::named("filter", tenant, filter, limits)
    }

    /// The conditions of `filter`, whose errors name it `field` (for
    /// example `baseline.spans.kind`).
    pub fn named(
        field: &str,
        tenant: &Tenant,
        filter: Option<&SpanFilter>,
        limits: &Limits,
    ) -> Result<Self, Error> {
        let default = SpanFilter::default();
        let filter = filter.unwrap_or(&default);
        let window = Window::from_proto(
            &format!("{field}.time_range"),
            filter.time_range.as_ref(),
            limits,
        )?;
        let mut sql = Sql::default();
        sql.tenant(tenant).push(" AND ");
        window.sql(&mut sql, "Timestamp");
        let binds_before = sql.binds.len();

        if !filter.service_name.is_empty() {
            sql.push_bind(" AND ServiceName = ?", filter.service_name.as_str());
        }
        if !filter.parent_service_name.is_empty() {
            // As the service map counts an edge: the span's parent, in the
            // same trace, belongs to another service, the one named.
            let parent = filter.parent_service_name.as_str();
            sql.push_bind(" AND ServiceName != ?", parent)
                .push(&format!(
                    " AND (TraceId, ParentSpanId) IN (SELECT TraceId, SpanId FROM {TRACES} WHERE "
                ))
                .tenant(tenant)
                .push_bind(" AND ServiceName = ?", parent)
                .push(" AND ");
            parent_window(&window).sql(&mut sql, "Timestamp");
            sql.push(")");
        }
        if !filter.operation.is_empty() {
            sql.push_bind(" AND SpanName = ?", filter.operation.as_str());
        }
        let kind = query::known_enum::<SpanKind>(&format!("{field}.kind"), filter.kind)?;
        if kind != SpanKind::Unspecified {
            sql.push_bind(" AND SpanKind IN ?", kind_names(kind));
        }
        let status =
            query::known_enum::<StatusCode>(&format!("{field}.status_code"), filter.status_code)?;
        if status != StatusCode::Unspecified {
            sql.push_bind(" AND StatusCode IN ?", status_names(status));
        }
        let (min, max) = (filter.min_duration_nano, filter.max_duration_nano);
        if min != 0 && max != 0 && min > max {
            return Err(Error::InvalidArgument(format!(
                "{field}.min_duration_nano: must not be more than max_duration_nano"
            )));
        }
        if min != 0 {
            sql.push_bind(" AND Duration >= ?", min);
        }
        if max != 0 {
            sql.push_bind(" AND Duration <= ?", max);
        }
        for (i, attribute) in filter.attributes.iter().enumerate() {
            let field = format!("{field}.attributes[{i}]");
            let scope =
                query::known_enum::<AttributeScope>(&format!("{field}.scope"), attribute.scope)?;
            let map = match scope {
                AttributeScope::Unspecified => "SpanAttributes",
                AttributeScope::Resource => "ResourceAttributes",
            };
            query::push_map_match(
                &mut sql,
                &field,
                map,
                &attribute.key,
                attribute.operator,
                &attribute.value,
            )?;
        }
        if !filter.text.is_empty() {
            let text = || Bind::Str(filter.text.clone());
            sql.push_binds(
                " AND (positionCaseInsensitiveUTF8(SpanName, ?) > 0 \
                 OR positionCaseInsensitiveUTF8(StatusMessage, ?) > 0 \
                 OR arrayExists(v -> positionCaseInsensitiveUTF8(v, ?) > 0, mapValues(SpanAttributes)))",
                [text(), text(), text()],
            );
        }
        let narrowed = sql.binds.len() > binds_before;
        Ok(Self {
            window,
            sql,
            narrowed,
        })
    }
}

// === rows → proto ===

/// The columns of a [`SpanRow`].
const SPAN_COLUMNS: &str = "toUnixTimestamp64Nano(Timestamp) AS ts, \
    TraceId AS trace_id, SpanId AS span_id, ParentSpanId AS parent_span_id, \
    TraceState AS trace_state, SpanName AS span_name, SpanKind AS span_kind, \
    ServiceName AS service_name, ResourceAttributes AS resource_attributes, \
    ScopeName AS scope_name, ScopeVersion AS scope_version, \
    SpanAttributes AS span_attributes, Duration AS duration, \
    StatusCode AS status_code, StatusMessage AS status_message, \
    arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) AS event_times, \
    `Events.Name` AS event_names, `Events.Attributes` AS event_attributes, \
    `Links.TraceId` AS link_trace_ids, `Links.SpanId` AS link_span_ids, \
    `Links.TraceState` AS link_trace_states, `Links.Attributes` AS link_attributes";

type Attrs = Vec<(String, String)>;

#[derive(clickhouse::Row, serde::Deserialize)]
struct SpanRow {
    ts: i64,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    trace_state: String,
    span_name: String,
    span_kind: String,
    service_name: String,
    resource_attributes: Attrs,
    scope_name: String,
    scope_version: String,
    span_attributes: Attrs,
    duration: u64,
    status_code: String,
    status_message: String,
    event_times: Vec<i64>,
    event_names: Vec<String>,
    event_attributes: Vec<Attrs>,
    link_trace_ids: Vec<String>,
    link_span_ids: Vec<String>,
    link_trace_states: Vec<String>,
    link_attributes: Vec<Attrs>,
}

impl SpanRow {
    fn into_proto(self) -> Span {
        let events = self
            .event_names
            .into_iter()
            .zip(self.event_times)
            .zip(self.event_attributes)
            .map(|((name, time), attributes)| SpanEvent {
                time_unix_nano: time.max(0) as u64,
                name,
                attributes: attribute_map(attributes),
            })
            .collect();
        let links = self
            .link_trace_ids
            .into_iter()
            .zip(self.link_span_ids)
            .zip(self.link_trace_states)
            .zip(self.link_attributes)
            .map(
                |(((trace_id, span_id), trace_state), attributes)| SpanLink {
                    trace_id,
                    span_id,
                    trace_state,
                    attributes: attribute_map(attributes),
                },
            )
            .collect();
        Span {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            trace_state: self.trace_state,
            name: self.span_name,
            kind: span_kind(&self.span_kind) as i32,
            service_name: self.service_name,
            start_time_unix_nano: self.ts.max(0) as u64,
            duration_nano: self.duration,
            status_code: status_code(&self.status_code) as i32,
            status_message: self.status_message,
            attributes: attribute_map(self.span_attributes),
            resource_attributes: attribute_map(self.resource_attributes),
            scope_name: self.scope_name,
            scope_version: self.scope_version,
            events,
            links,
        }
    }
}

/// A stored attribute map; when a key repeats, its first value wins (as
/// `map[key]` in ClickHouse, which the filters use).
fn attribute_map(attributes: Attrs) -> HashMap<String, String> {
    let mut map = HashMap::with_capacity(attributes.len());
    for (key, value) in attributes {
        map.entry(key).or_insert(value);
    }
    map
}

/// A stored `SpanKind` (current or older exporter spelling).
fn span_kind(stored: &str) -> SpanKind {
    match stored {
        "Internal" | "SPAN_KIND_INTERNAL" => SpanKind::Internal,
        "Server" | "SPAN_KIND_SERVER" => SpanKind::Server,
        "Client" | "SPAN_KIND_CLIENT" => SpanKind::Client,
        "Producer" | "SPAN_KIND_PRODUCER" => SpanKind::Producer,
        "Consumer" | "SPAN_KIND_CONSUMER" => SpanKind::Consumer,
        _ => SpanKind::Unspecified,
    }
}

/// The stored spellings of `kind`.
fn kind_names(kind: SpanKind) -> Vec<String> {
    let current = match kind {
        SpanKind::Unspecified => "Unspecified",
        SpanKind::Internal => "Internal",
        SpanKind::Server => "Server",
        SpanKind::Client => "Client",
        SpanKind::Producer => "Producer",
        SpanKind::Consumer => "Consumer",
    };
    vec![current.to_owned(), kind.as_str_name().to_owned()]
}

/// A stored `StatusCode` (current or older exporter spelling).
fn status_code(stored: &str) -> StatusCode {
    match stored {
        "Unset" | "STATUS_CODE_UNSET" => StatusCode::Unset,
        "Ok" | "STATUS_CODE_OK" => StatusCode::Ok,
        "Error" | "STATUS_CODE_ERROR" => StatusCode::Error,
        _ => StatusCode::Unspecified,
    }
}

/// The stored spellings of `status`.
fn status_names(status: StatusCode) -> Vec<String> {
    let current = match status {
        StatusCode::Unspecified => "",
        StatusCode::Unset => "Unset",
        StatusCode::Ok => "Ok",
        StatusCode::Error => "Error",
    };
    vec![current.to_owned(), status.as_str_name().to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::airis::analytics::v1::AttributeFilter;
    use airis_proto::airis::analytics::v1::MatchOperator;
    use airis_proto::airis::common::v1::{PageRequest, TimeRange};

    fn tenant() -> Tenant {
        Tenant::parse("acme").unwrap()
    }

    fn filter() -> SpanFilter {
        SpanFilter {
            time_range: Some(TimeRange {
                start_unix_nano: 1_000,
                end_unix_nano: 2_000,
            }),
            ..SpanFilter::default()
        }
    }

    fn conditions(filter: &SpanFilter) -> Result<SpanConditions, Error> {
        SpanConditions::new(&tenant(), Some(filter), &Limits::default())
    }

    fn attribute(key: &str, operator: MatchOperator, value: &str) -> AttributeFilter {
        AttributeFilter {
            key: key.to_owned(),
            operator: operator as i32,
            value: value.to_owned(),
            scope: 0,
        }
    }

    #[test]
    fn stored_strings_map_to_enums() {
        assert_eq!(span_kind("Server"), SpanKind::Server);
        assert_eq!(span_kind("SPAN_KIND_CONSUMER"), SpanKind::Consumer);
        assert_eq!(span_kind("Unspecified"), SpanKind::Unspecified);
        assert_eq!(span_kind(""), SpanKind::Unspecified);
        assert_eq!(status_code("Error"), StatusCode::Error);
        assert_eq!(status_code("Ok"), StatusCode::Ok);
        assert_eq!(status_code("STATUS_CODE_UNSET"), StatusCode::Unset);
        assert_eq!(status_code("?"), StatusCode::Unspecified);
        assert_eq!(kind_names(SpanKind::Client), ["Client", "SPAN_KIND_CLIENT"]);
        assert_eq!(status_names(StatusCode::Ok), ["Ok", "STATUS_CODE_OK"]);
    }

    #[test]
    fn rows_become_spans_with_events_and_links() {
        let row = SpanRow {
            ts: 5,
            trace_id: "a".repeat(32),
            span_id: "b".repeat(16),
            parent_span_id: String::new(),
            trace_state: "k=v".into(),
            span_name: "GET /".into(),
            span_kind: "Client".into(),
            service_name: "web".into(),
            resource_attributes: vec![("service.name".into(), "web".into())],
            scope_name: "s".into(),
            scope_version: "1".into(),
            span_attributes: vec![("k".into(), "first".into()), ("k".into(), "second".into())],
            duration: 7,
            status_code: "Error".into(),
            status_message: "boom".into(),
            event_times: vec![6, 7],
            event_names: vec!["e1".into(), "e2".into()],
            event_attributes: vec![vec![("x".into(), "1".into())], vec![]],
            link_trace_ids: vec!["c".repeat(32)],
            link_span_ids: vec!["d".repeat(16)],
            link_trace_states: vec!["s=1".into()],
            link_attributes: vec![vec![("l".into(), "2".into())]],
        };
        let span = row.into_proto();
        assert_eq!(span.kind, SpanKind::Client as i32);
        assert_eq!(span.status_code, StatusCode::Error as i32);
        assert_eq!(span.start_time_unix_nano, 5);
        assert_eq!(span.attributes["k"], "first");
        assert_eq!(span.resource_attributes["service.name"], "web");
        assert_eq!(span.events.len(), 2);
        assert_eq!(span.events[0].time_unix_nano, 6);
        assert_eq!(span.events[0].attributes["x"], "1");
        assert_eq!(span.events[1].name, "e2");
        assert_eq!(span.links[0].trace_id, "c".repeat(32));
        assert_eq!(span.links[0].trace_state, "s=1");
        assert_eq!(span.links[0].attributes["l"], "2");
    }

    #[test]
    fn operations_are_sorted_and_distinct() {
        let rows = vec![
            OperationRow {
                name: "b".into(),
                kind: "Server".into(),
            },
            OperationRow {
                name: "a".into(),
                kind: "SPAN_KIND_CLIENT".into(),
            },
            OperationRow {
                name: "a".into(),
                kind: "Client".into(),
            },
            OperationRow {
                name: "a".into(),
                kind: "Internal".into(),
            },
        ];
        let ops: Vec<(String, i32)> = operations(rows)
            .into_iter()
            .map(|o| (o.name, o.kind))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("a".to_owned(), SpanKind::Internal as i32),
                ("a".to_owned(), SpanKind::Client as i32),
                ("b".to_owned(), SpanKind::Server as i32),
            ]
        );
    }

    #[test]
    fn filters_only_bind_user_input() {
        let hostile = &format!("x' OR 1=1; DROP TABLE {TRACES}; -- ? {{x:String}} \\");
        let mut f = filter();
        f.service_name = hostile.into();
        f.operation = hostile.into();
        f.text = hostile.into();
        f.kind = SpanKind::Server as i32;
        f.status_code = StatusCode::Error as i32;
        f.min_duration_nano = 1;
        f.max_duration_nano = 2;
        f.attributes = vec![
            attribute(hostile, MatchOperator::Equals, hostile),
            attribute(hostile, MatchOperator::Exists, ""),
            attribute(hostile, MatchOperator::Contains, hostile),
            attribute(hostile, MatchOperator::NotEquals, hostile),
            attribute(hostile, MatchOperator::Equals, ""),
        ];
        let c = conditions(&f).unwrap();
        assert!(c.narrowed);
        assert!(c.sql.text.starts_with("TenantId = ?"));
        assert!(!c.sql.text.contains("DROP"));
        assert!(!c.sql.text.contains("{x"));
        assert_eq!(c.sql.text.matches('?').count(), c.sql.binds.len());
        assert!(!conditions(&filter()).unwrap().narrowed);
    }

    #[test]
    fn bad_filters_name_the_field() {
        let message = |f: &SpanFilter| match conditions(f) {
            Err(Error::InvalidArgument(m)) => m,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted"),
        };
        assert!(message(&SpanFilter::default()).contains("filter.time_range: required"));
        let mut f = filter();
        f.kind = 99;
        assert!(message(&f).contains("filter.kind"));
        let mut f = filter();
        f.status_code = 99;
        assert!(message(&f).contains("filter.status_code"));
        let mut f = filter();
        f.attributes = vec![
            attribute("k", MatchOperator::Equals, "v"),
            attribute("k", MatchOperator::Unspecified, "v"),
        ];
        assert!(message(&f).contains("filter.attributes[1].operator"));
        let mut f = filter();
        f.attributes = vec![attribute("", MatchOperator::Equals, "v")];
        assert!(message(&f).contains("filter.attributes[0].key"));
        let mut f = filter();
        f.attributes = vec![attribute("k", MatchOperator::Exists, "v")];
        assert!(message(&f).contains("filter.attributes[0].value"));
        let mut f = filter();
        f.attributes = vec![AttributeFilter {
            scope: 7,
            ..attribute("k", MatchOperator::Exists, "")
        }];
        assert!(message(&f).contains("filter.attributes[0].scope"));
        let mut f = filter();
        f.min_duration_nano = 10;
        f.max_duration_nano = 5;
        assert!(message(&f).contains("filter.min_duration_nano"));
    }

    #[test]
    fn cursors_round_trip_per_rpc_and_order_only() {
        let limits = Limits::default();
        let request = |token: &str| PageRequest {
            page_size: 0,
            page_token: token.to_owned(),
        };
        let spans = |order: SpanOrder, token: &str| {
            Page::<SpanCursor>::new(SpanCursor::tag(order), Some(&request(token)), &limits)
        };
        let traces = |order: SpanOrder, token: &str| {
            Page::<TraceCursor>::new(TraceCursor::tag(order), Some(&request(token)), &limits)
        };
        let cursor = SpanCursor {
            duration: 3,
            ts: 1_700_000_000_000_000_000,
            trace_id: "ab".repeat(16),
            span_id: "cd".repeat(8),
        };
        let token = spans(SpanOrder::LongestFirst, "").unwrap().token(&cursor);
        assert_eq!(
            spans(SpanOrder::LongestFirst, &token).unwrap().after,
            Some(cursor.clone())
        );
        assert!(spans(SpanOrder::OldestFirst, &token).is_err());
        assert!(traces(SpanOrder::LongestFirst, &token).is_err());
        assert_eq!(spans(SpanOrder::Unspecified, "").unwrap().after, None);
        let forged = hex::encode("spans:0\u{1f}0\u{1f}1\u{1f}' OR 1=1\u{1f}ab");
        let err = spans(SpanOrder::Unspecified, &forged).unwrap_err();
        assert!(err.to_string().contains("page.page_token"));
        let trace = TraceCursor {
            duration: 1,
            start: 2,
            trace_id: "ef".repeat(16),
        };
        let token = traces(SpanOrder::Unspecified, "").unwrap().token(&trace);
        assert_eq!(
            traces(SpanOrder::Unspecified, &token).unwrap().after,
            Some(trace)
        );
        let mut sql = Sql::default();
        cursor.condition(&mut sql, SpanOrder::LongestFirst);
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
    }
}
