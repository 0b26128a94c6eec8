//! Reading a cohort: its spans aggregated by ClickHouse into counts per
//! (service, operation, entry or not, duration bin), errors alongside.
//! One query per cohort; the spans themselves never leave ClickHouse.

use std::collections::BTreeMap;

use airis_analytics::{query::Store, red::IS_ENTRY, traces::SpanConditions};
use airis_proto::airis::delta::v1::Cohort;
use airis_runtime::tenant::Tenant;
use airis_store::{rollup::rules::IS_ERROR, sql::Bind, tables::TRACES};

use crate::Error;
use crate::judge::{CohortData, Counts};
use crate::options::Options;
use crate::stats::{BIN_WIDTH, Bins};

/// (service, operation, entry span or not).
type Group = (String, String, bool);

/// Longest label a cohort may carry.
pub const MAX_LABEL_BYTES: usize = 64;

/// Checks `cohort` (named `field` in errors) and reads its spans.
/// `max_groups` bounds the rows of the aggregate: (service, operation,
/// bin) groups.
pub async fn read(
    store: &Store,
    tenant: &Tenant,
    field: &str,
    cohort: Option<&Cohort>,
    options: &Options,
    max_groups: u64,
) -> Result<CohortData, Error> {
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
    let mut sql = airis_store::sql::Sql::default();
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
    let rows: Vec<Row> = store.query(&sql).fetch_all().await.map_err(Error::from)?;
    if rows.len() as u64 > max_groups {
        return Err(Error::LimitExceeded(format!(
            "{spans_field}: more than delta.max_groups ({max_groups}) groups of \
             (service, operation, duration); narrow the cohort or name options.operations"
        )));
    }
    let window = conditions.window;
    let mut data = CohortData {
        label,
        seconds: window.seconds(),
        ..Default::default()
    };
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
