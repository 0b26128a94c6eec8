//! Reading a cohort: its spans aggregated by ClickHouse into counts per
//! (service, operation, entry or not, duration bin), errors alongside, and
//! when attributes are judged into counts per (service, operation,
//! attribute, value); its log records grouped by shape when logs are. The
//! spans themselves never leave ClickHouse.

use std::collections::BTreeMap;

use airis_analytics::{
    query::{Store, push_map_match},
    red::IS_ENTRY,
    traces::SpanConditions,
};
use airis_proto::airis::analytics::v1::{AttributeScope, SpanFilter};
use airis_proto::airis::delta::v1::{Cohort, Signal};
use airis_runtime::tenant::Tenant;
use airis_store::{
    derived::{LOG_BODY_SHAPE, SPAN_COMPARED_ATTRIBUTES, compared_pairs},
    rollup::rules::IS_ERROR,
    sql::{Bind, Sql, Window},
    tables::{LOGS, TRACES},
};

use crate::Error;
use crate::judge::{CohortData, Counts, LogShape};
use crate::options::Options;
use crate::stats::{BIN_WIDTH, Bins};

/// (service, operation, entry span or not).
type Group = (String, String, bool);

/// Longest label a cohort may carry.
pub const MAX_LABEL_BYTES: usize = 64;

/// How much one cohort may read.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Rows of the span aggregate: (service, operation, entry, bin) groups.
    pub max_groups: u64,
    /// Log shapes read, the most frequent first; the rest are counted.
    pub max_log_shapes: u64,
}

/// Checks `cohort` (named `field` in errors) and reads its spans, their
/// attribute values when the options judge them, and its log records when
/// they judge logs: the queries at once, each aggregating in ClickHouse.
pub async fn read(
    store: &Store,
    tenant: &Tenant,
    field: &str,
    cohort: Option<&Cohort>,
    options: &Options,
    bounds: Bounds,
) -> Result<CohortData, Error> {
    let max_groups = bounds.max_groups;
    let cohort = cohort.ok_or_else(|| Error::InvalidArgument(format!("{field}: required")))?;
    let label = label(field, cohort)?;
    let spans_field = format!("{field}.spans");
    let filter = cohort
        .spans
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument(format!("{spans_field}: required")))?;
    // What is compared must be every span the selector picks: a filter on
    // the outcome would hide the very change looked for.
    if filter.status_code != 0 {
        return Err(Error::InvalidArgument(format!(
            "{spans_field}.status_code: a cohort takes every status; errors are compared, not filtered"
        )));
    }
    if filter.min_duration_nano != 0 || filter.max_duration_nano != 0 {
        let name = if filter.min_duration_nano != 0 {
            "min_duration_nano"
        } else {
            "max_duration_nano"
        };
        return Err(Error::InvalidArgument(format!(
            "{spans_field}.{name}: a cohort takes every duration; durations are compared, not filtered"
        )));
    }
    let conditions = SpanConditions::named(&spans_field, tenant, Some(filter), store.limits())?;
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT ServiceName AS service, SpanName AS operation, toUInt8({IS_ENTRY}) AS entry, \
         toInt32(floor(log(greatest(Duration, 1)) / {BIN_WIDTH:?})) AS bin, \
         count() AS spans, countIf({IS_ERROR}) AS errors \
         FROM {TRACES} WHERE "
    ));
    sql.extend(&conditions.sql);
    if !options.operations.is_empty() {
        sql.push_bind(" AND SpanName IN ?", Bind::Strs(options.operations.clone()));
    }
    sql.push(&format!(
        " GROUP BY service, operation, entry, bin LIMIT {}",
        max_groups + 1
    ));
    let spans = async {
        let rows: Vec<Row> = store.query(&sql).fetch_all().await.map_err(Error::from)?;
        if rows.len() as u64 > max_groups {
            return Err(Error::LimitExceeded(format!(
                "{spans_field}: more than delta.max_groups ({max_groups}) groups of \
                 (service, operation, duration); narrow the cohort or name options.operations"
            )));
        }
        Ok(rows)
    };
    let window = conditions.window;
    let attributes = async {
        if options.has(Signal::Attributes) {
            read_attributes(store, &spans_field, &conditions.sql, options, max_groups).await
        } else {
            Ok(Vec::new())
        }
    };
    let logs = async {
        if options.has(Signal::Logs) {
            read_logs(store, tenant, &spans_field, filter, window, bounds).await
        } else {
            Ok((0, Vec::new()))
        }
    };
    let (rows, attributes, (log_total, logs)) = tokio::try_join!(spans, attributes, logs)?;
    let mut data = CohortData {
        label,
        seconds: window.seconds(),
        log_total,
        logs,
        ..Default::default()
    };
    for row in attributes {
        for (name, value) in compared_pairs(&row.combination) {
            data.add_attribute(&row.service, &row.operation, name, value, row.spans);
        }
    }
    // Rows of one (service, operation, entry) are gathered, then added
    // once, so each Bins is built in one sort.
    let mut groups: BTreeMap<Group, (Vec<(i32, u64)>, u64)> = BTreeMap::new();
    for row in rows {
        let group = groups
            .entry((row.service, row.operation, row.entry != 0))
            .or_default();
        group.0.push((row.bin, row.spans));
        group.1 += row.errors;
    }
    for ((service, operation, entry), (bins, errors)) in groups {
        let counts = Counts {
            durations: Bins::from_counts(bins),
            errors,
        };
        data.add(&service, &operation, entry, &counts);
    }
    Ok(data)
}

/// The cohort's spans counted by (service, operation, combination of the
/// compared attributes' values), in ClickHouse: each span's
/// [`SPAN_COMPARED_ATTRIBUTES`], computed when it was stored; the
/// combinations are split into (attribute, value) counts here.
async fn read_attributes(
    store: &Store,
    field: &str,
    conditions: &Sql,
    options: &Options,
    max_groups: u64,
) -> Result<Vec<AttributeRow>, Error> {
    let mut sql = Sql::new(&format!(
        "SELECT ServiceName AS service, SpanName AS operation, \
         {SPAN_COMPARED_ATTRIBUTES} AS combination, count() AS spans FROM {TRACES} WHERE "
    ));
    sql.extend(conditions);
    if !options.operations.is_empty() {
        sql.push_bind(" AND SpanName IN ?", Bind::Strs(options.operations.clone()));
    }
    sql.push(&format!(
        " GROUP BY service, operation, combination LIMIT {}",
        max_groups + 1
    ));
    let rows: Vec<AttributeRow> = store.query(&sql).fetch_all().await.map_err(Error::from)?;
    if rows.len() as u64 > max_groups {
        return Err(Error::LimitExceeded(format!(
            "{field}: more than delta.max_groups ({max_groups}) combinations of \
             (service, operation, attribute values); narrow the cohort, name \
             options.operations or leave SIGNAL_ATTRIBUTES out of options.signals"
        )));
    }
    Ok(rows)
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct AttributeRow {
    service: String,
    operation: String,
    /// The span's compared attributes, `key=value` lines.
    combination: String,
    spans: u64,
}

/// The cohort's log records: those of its time range, its service and its
/// resource-scoped attribute filters (log records have no span attributes,
/// operation or kind), grouped by shape ([`LOG_BODY_SHAPE`], variable words
/// masked when the record was stored) and service, the most frequent shapes
/// first.
async fn read_logs(
    store: &Store,
    tenant: &Tenant,
    field: &str,
    filter: &SpanFilter,
    window: Window,
    bounds: Bounds,
) -> Result<(u64, Vec<LogShape>), Error> {
    let mut conditions = Sql::default();
    conditions.tenant(tenant).push(" AND ");
    window.sql(&mut conditions, "Timestamp");
    if !filter.service_name.is_empty() {
        conditions.push_bind(" AND ServiceName = ?", filter.service_name.as_str());
    }
    for (i, attribute) in filter.attributes.iter().enumerate() {
        if attribute.scope == AttributeScope::Resource as i32 {
            push_map_match(
                &mut conditions,
                &format!("{field}.attributes[{i}]"),
                "ResourceAttributes",
                &attribute.key,
                attribute.operator,
                &attribute.value,
            )?;
        }
    }
    let mut total = Sql::new(&format!("SELECT count() FROM {LOGS} WHERE "));
    total.extend(&conditions);
    let log_total = store.query(&total).fetch_one().await.map_err(Error::from)?;
    let mut shapes = Sql::new(&format!(
        "SELECT {LOG_BODY_SHAPE} AS shape, \
         any(Body) AS example, max(SeverityNumber) AS severity, ServiceName AS service, \
         count() AS records FROM {LOGS} WHERE "
    ));
    shapes.extend(&conditions);
    shapes.push(&format!(
        " GROUP BY shape, service ORDER BY records DESC, shape LIMIT {}",
        bounds.max_log_shapes
    ));
    let rows: Vec<ShapeRow> = store
        .query(&shapes)
        .fetch_all()
        .await
        .map_err(Error::from)?;
    let shapes = rows
        .into_iter()
        .map(|r| LogShape {
            shape: r.shape,
            example: r.example,
            severity: r.severity,
            service: r.service,
            count: r.records,
        })
        .collect();
    Ok((log_total, shapes))
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct ShapeRow {
    shape: String,
    example: String,
    severity: u8,
    service: String,
    records: u64,
}

fn label(field: &str, cohort: &Cohort) -> Result<String, Error> {
    if cohort.label.len() > MAX_LABEL_BYTES {
        return Err(Error::InvalidArgument(format!(
            "{field}.label: {} bytes, at most {MAX_LABEL_BYTES}",
            cohort.label.len()
        )));
    }
    if cohort.label.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "{field}.label: control characters are not allowed"
        )));
    }
    Ok(if cohort.label.is_empty() {
        field.to_owned()
    } else {
        cohort.label.clone()
    })
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Row {
    service: String,
    operation: String,
    entry: u8,
    bin: i32,
    spans: u64,
    errors: u64,
}
