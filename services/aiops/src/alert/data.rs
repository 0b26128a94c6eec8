//! The per-minute numbers a rule's condition reads, from the stored data:
//! RED rows of entry spans, metric points, stored anomalies.

use std::collections::BTreeMap;

use airis_analytics::query::{Bind, Sql, Store, Window};
use airis_analytics::red::{MinuteRed, minute_red};
use airis_runtime::tenant::Tenant;
use airis_store::tables::ANOMALIES;

use super::evaluate::Minutes;
use super::rule::{Condition, Rule, Series};
use crate::Error;
use crate::stored::metric_points;
use crate::watch::MINUTE_SECS;
use crate::watch::series::Signal;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The numbers of every minute in `[first, end)` (Unix s, whole minutes)
/// that `rule` reads. `field` names the rule in errors (`rule`).
pub(crate) async fn minutes(
    store: &Store,
    tenant: &Tenant,
    field: &str,
    rule: &Rule,
    first: u32,
    end: u32,
) -> Result<Minutes, Error> {
    let count = (end.saturating_sub(first) / MINUTE_SECS) as usize;
    let index = |minute: u32| {
        (minute >= first && minute < end).then(|| ((minute - first) / MINUTE_SECS) as usize)
    };
    match &rule.condition {
        Condition::Threshold { series, .. } | Condition::Absence { series, .. } => {
            let kind = match rule.condition {
                Condition::Threshold { .. } => "threshold",
                _ => "absence",
            };
            let mut values = vec![None; count];
            match series {
                Series::Red {
                    service,
                    operation,
                    signal,
                } => {
                    // A minute without requests has a request rate of 0 for
                    // a threshold ("below 1 per second" is a traffic drop),
                    // and no value for absence.
                    if kind == "threshold" && *signal == Signal::RequestRate {
                        values = vec![Some(0.0); count];
                    }
                    for row in red_rows(store, tenant, service, operation, first, end).await? {
                        if let Some(i) = index(row.minute) {
                            values[i] = signal.raw_value(&row);
                        }
                    }
                }
                Series::Metric(selector) => {
                    let field = format!("{field}.{kind}.series.metric");
                    let points = match metric_points(
                        store,
                        tenant,
                        &field,
                        selector,
                        (u64::from(first), u64::from(end)),
                        MINUTE_SECS,
                    )
                    .await
                    {
                        Err(Error::Query(airis_analytics::Error::NotFound(_))) => Vec::new(),
                        other => other?,
                    };
                    for point in points {
                        let minute =
                            u32::try_from(point.time_unix_nano / NANOS_PER_SEC).unwrap_or(u32::MAX);
                        if let Some(i) = index(minute) {
                            values[i] = Some(point.value);
                        }
                    }
                }
            }
            Ok(Minutes::Values(values))
        }
        Condition::Anomaly { filter, .. } => {
            let mut sql = Sql::new(&format!(
                "SELECT toUInt32(Minute) AS minute, max(Score) AS score FROM {ANOMALIES} WHERE "
            ));
            sql.tenant(tenant).push_binds(
                " AND Minute >= toDateTime(?) AND Minute < toDateTime(?)",
                [Bind::U64(u64::from(first)), Bind::U64(u64::from(end))],
            );
            filter.push(&mut sql);
            sql.push(" GROUP BY Minute");
            let rows: Vec<ScoreRow> = store
                .query(&sql)
                .fetch_all()
                .await
                .map_err(airis_analytics::Error::from)?;
            let mut scores = vec![None; count];
            for row in rows {
                if let Some(i) = index(row.minute) {
                    scores[i] = Some(row.score);
                }
            }
            Ok(Minutes::Values(scores))
        }
        Condition::BurnRate {
            service, operation, ..
        } => {
            let mut counts = vec![(0, 0); count];
            for row in red_rows(store, tenant, service, operation, first, end).await? {
                if let Some(i) = index(row.minute) {
                    counts[i] = (row.requests, row.errors);
                }
            }
            Ok(Minutes::Counts(counts))
        }
    }
}

/// The highest score stored in a minute.
#[derive(clickhouse::Row, serde::Deserialize)]
struct ScoreRow {
    minute: u32,
    score: f64,
}

/// The RED rows of one service (operation empty) or one of its operations.
async fn red_rows(
    store: &Store,
    tenant: &Tenant,
    service: &str,
    operation: &str,
    first: u32,
    end: u32,
) -> Result<Vec<MinuteRed>, Error> {
    let rows = minute_red(
        store,
        tenant,
        Window {
            start: u64::from(first) * NANOS_PER_SEC,
            end: u64::from(end) * NANOS_PER_SEC,
        },
        Some(service),
    )
    .await?;
    let by_minute: BTreeMap<u32, MinuteRed> = rows
        .into_iter()
        .filter(|row| row.operation == operation && (row.whole == 1) == operation.is_empty())
        .map(|row| (row.minute, row))
        .collect();
    Ok(by_minute.into_values().collect())
}
