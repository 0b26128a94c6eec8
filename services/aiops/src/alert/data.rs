//! The per-minute numbers a rule's condition reads, from the stored data:
//! RED rows of entry spans, metric points, stored anomalies; fetched once
//! per tenant for all the rules judged together ([`Data`]).

use std::collections::{BTreeMap, HashMap};

use airis_analytics::query::{Bind, Sql, Store, Window};
use airis_analytics::red::{MinuteRed, minute_red};
use airis_proto::airis::aiops::v1 as pb;
use airis_proto::prost::Message as _;
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
    Data::fetch(store, tenant, field, &[rule], first, end)
        .await?
        .minutes(field, rule, first)
}

/// What rules of one tenant read over `[first, end)`, fetched once for all
/// of them: a minute's RED rows (one query for every service, or the one
/// service a single rule names), the anomalies stored (one query), and
/// the points of each distinct metric selector (one query each).
pub(crate) struct Data {
    end: u32,
    /// By (service, operation; empty for the service as a whole), then
    /// minute.
    red: HashMap<(String, String), BTreeMap<u32, MinuteRed>>,
    anomalies: Vec<ScoreRow>,
    /// By the encoded selector: the points, or why they could not be read.
    metrics: HashMap<Vec<u8>, Result<MinutePoints, String>>,
}

/// (minute, value) of a metric series.
type MinutePoints = Vec<(u32, f64)>;

impl Data {
    /// Fetches what `rules` read; `field` names a lone rule in errors.
    pub(crate) async fn fetch(
        store: &Store,
        tenant: &Tenant,
        field: &str,
        rules: &[&Rule],
        first: u32,
        end: u32,
    ) -> Result<Self, Error> {
        let mut red_services: Vec<&str> = Vec::new();
        let mut anomalies = false;
        let mut selectors: Vec<(&str, &pb::MetricSeriesSelector)> = Vec::new();
        for rule in rules {
            match &rule.condition {
                Condition::Threshold { series, .. } | Condition::Absence { series, .. } => {
                    match series {
                        Series::Red { service, .. } => red_services.push(service),
                        Series::Metric(selector) => {
                            let kind = match rule.condition {
                                Condition::Threshold { .. } => "threshold",
                                _ => "absence",
                            };
                            selectors.push((kind, selector));
                        }
                    }
                }
                Condition::Anomaly { .. } => anomalies = true,
                Condition::BurnRate { service, .. } => red_services.push(service),
            }
        }
        red_services.sort_unstable();
        red_services.dedup();
        let window = Window {
            start: u64::from(first) * NANOS_PER_SEC,
            end: u64::from(end) * NANOS_PER_SEC,
        };
        let mut red: HashMap<(String, String), BTreeMap<u32, MinuteRed>> = HashMap::new();
        if !red_services.is_empty() {
            let only = match red_services.as_slice() {
                [one] => Some(*one),
                _ => None,
            };
            for row in minute_red(store, tenant, window, only).await? {
                let operation = if row.whole == 1 {
                    String::new()
                } else {
                    row.operation.clone()
                };
                red.entry((row.service.clone(), operation))
                    .or_default()
                    .insert(row.minute, row);
            }
        }
        let anomalies = if anomalies {
            let mut sql = Sql::new(&format!(
                "SELECT toUInt32(Minute) AS minute, ServiceName AS service, Operation AS operation, \
                 toString(Signal) AS signal, Metric AS metric, max(Score) AS score \
                 FROM {ANOMALIES} WHERE "
            ));
            sql.tenant(tenant)
                .push_binds(
                    " AND Minute >= toDateTime(?) AND Minute < toDateTime(?)",
                    [Bind::U64(u64::from(first)), Bind::U64(u64::from(end))],
                )
                .push(" GROUP BY Minute, ServiceName, Operation, Signal, Metric");
            store
                .query(&sql)
                .fetch_all()
                .await
                .map_err(airis_analytics::Error::from)?
        } else {
            Vec::new()
        };
        let mut metrics = HashMap::new();
        for (kind, selector) in selectors {
            let key = selector.encode_to_vec();
            if metrics.contains_key(&key) {
                continue;
            }
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
                Ok(points) => Ok(points
                    .into_iter()
                    .map(|p| {
                        let minute =
                            u32::try_from(p.time_unix_nano / NANOS_PER_SEC).unwrap_or(u32::MAX);
                        (minute, p.value)
                    })
                    .collect()),
                Err(Error::Query(airis_analytics::Error::NotFound(_))) => Ok(Vec::new()),
                // One rule's selector failing is that rule's error, for a
                // lone rule the caller's.
                Err(error) if rules.len() == 1 => return Err(error),
                Err(error) => Err(error.to_string()),
            };
            metrics.insert(key, points);
        }
        Ok(Self {
            end,
            red,
            anomalies,
            metrics,
        })
    }

    /// The numbers `rule` reads, one entry per minute from `first` (not
    /// before the first minute fetched) to the end fetched.
    pub(crate) fn minutes(&self, field: &str, rule: &Rule, first: u32) -> Result<Minutes, Error> {
        let end = self.end;
        let count = (end.saturating_sub(first) / MINUTE_SECS) as usize;
        let index = |minute: u32| {
            (minute >= first && minute < end).then(|| ((minute - first) / MINUTE_SECS) as usize)
        };
        let red_rows = |service: &str, operation: &str| {
            self.red
                .get(&(service.to_owned(), operation.to_owned()))
                .into_iter()
                .flat_map(|rows| rows.range(first..end).map(|(_, row)| row))
        };
        match &rule.condition {
            Condition::Threshold { series, .. } | Condition::Absence { series, .. } => {
                let threshold = matches!(rule.condition, Condition::Threshold { .. });
                let mut values = vec![None; count];
                match series {
                    Series::Red {
                        service,
                        operation,
                        signal,
                    } => {
                        // A minute without requests has a request rate of 0
                        // for a threshold ("below 1 per second" is a
                        // traffic drop), and no value for absence.
                        if threshold && *signal == Signal::RequestRate {
                            values = vec![Some(0.0); count];
                        }
                        for row in red_rows(service, operation) {
                            if let Some(i) = index(row.minute) {
                                values[i] = signal.raw_value(row);
                            }
                        }
                    }
                    Series::Metric(selector) => {
                        let points = match self.metrics.get(&selector.encode_to_vec()) {
                            Some(Ok(points)) => points,
                            Some(Err(error)) => {
                                return Err(Error::Internal(format!("{field}: {error}")));
                            }
                            None => &Vec::new(),
                        };
                        for (minute, value) in points {
                            if let Some(i) = index(*minute) {
                                values[i] = Some(*value);
                            }
                        }
                    }
                }
                Ok(Minutes::Values(values))
            }
            Condition::Anomaly { filter, .. } => {
                let mut scores: Vec<Option<f64>> = vec![None; count];
                for row in &self.anomalies {
                    if let Some(i) = index(row.minute)
                        && filter.accepts(
                            &row.service,
                            &row.operation,
                            &row.signal,
                            &row.metric,
                            row.score,
                        )
                    {
                        scores[i] = Some(scores[i].map_or(row.score, |s| s.max(row.score)));
                    }
                }
                Ok(Minutes::Values(scores))
            }
            Condition::BurnRate {
                service, operation, ..
            } => {
                let mut counts = vec![(0, 0); count];
                for row in red_rows(service, operation) {
                    if let Some(i) = index(row.minute) {
                        counts[i] = (row.requests, row.errors);
                    }
                }
                Ok(Minutes::Counts(counts))
            }
        }
    }
}

/// The highest score stored in a minute for one series.
#[derive(clickhouse::Row, serde::Deserialize)]
struct ScoreRow {
    minute: u32,
    service: String,
    operation: String,
    signal: String,
    metric: String,
    score: f64,
}
