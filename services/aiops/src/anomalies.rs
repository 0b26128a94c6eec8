//! ListAnomalies and WatchAnomalies: what continuous detection stored
//! ([`crate::watch`]), filtered for a caller.

use airis_analytics::page::{Fields, Page, PageKey};
use airis_analytics::query::{Bind, RequestWindow as _, Sql, Store, Window};
use airis_proto::airis::aiops::v1::{
    Anomaly, AnomalyFilter, AnomalyKind, ListAnomaliesRequest, ListAnomaliesResponse,
    Signal as ProtoSignal,
};
use airis_runtime::tenant::Tenant;
use airis_store::tables::ANOMALIES;

use crate::Error;
use crate::detect::ANOMALY_THRESHOLD;
use crate::watch::series::{MetricKey, Signal};
use crate::watch::store::AnomalyRow;

/// Tag of ListAnomalies' page tokens.
const PAGE_TAG: &str = "anomalies:minute-desc:2";

/// A checked [`AnomalyFilter`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filter {
    service: String,
    operation: String,
    signals: Vec<Signal>,
    min_score: f64,
    /// One metric series' anomalies only; empty for any.
    metric: MetricKey,
}

impl Filter {
    /// `field` names the filter in errors (`filter`, `rule.anomaly.filter`).
    pub(crate) fn from_proto(field: &str, filter: Option<&AnomalyFilter>) -> Result<Self, Error> {
        let Some(filter) = filter else {
            return Ok(Self::default());
        };
        if !(0.0..=1.0).contains(&filter.min_score) {
            return Err(Error::InvalidArgument(format!(
                "{field}.min_score: {} is not within [0, 1]",
                filter.min_score
            )));
        }
        let signals = filter
            .signals
            .iter()
            .enumerate()
            .map(|(i, &raw)| {
                ProtoSignal::try_from(raw)
                    .ok()
                    .and_then(Signal::from_proto)
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "{field}.signals[{i}]: {raw} is not a watched signal"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metric = match &filter.metric {
            None => MetricKey::default(),
            Some(selector) => {
                for (name, value) in [
                    ("service_name", &filter.service_name),
                    ("operation", &filter.operation),
                ] {
                    if !value.is_empty() {
                        return Err(Error::InvalidArgument(format!(
                            "{field}.{name}: a metric series has none; leave it empty with metric"
                        )));
                    }
                }
                if signals.iter().any(|&s| s != Signal::Metric) {
                    return Err(Error::InvalidArgument(format!(
                        "{field}.signals: a metric series' anomalies are SIGNAL_METRIC; leave \
                         the others out with metric"
                    )));
                }
                crate::stored::check_metric_selector(&format!("{field}.metric"), selector)?;
                MetricKey::of(selector)
            }
        };
        Ok(Self {
            service: filter.service_name.clone(),
            operation: filter.operation.clone(),
            signals,
            min_score: filter.min_score,
            metric,
        })
    }

    pub(crate) fn service(&self) -> &str {
        &self.service
    }

    pub(crate) fn operation(&self) -> &str {
        &self.operation
    }

    /// The metric series it names, if any.
    pub(crate) fn metric(&self) -> &MetricKey {
        &self.metric
    }

    /// Whether a stored anomaly passes the filter (WatchAnomalies).
    pub(crate) fn matches(&self, row: &AnomalyRow) -> bool {
        self.accepts(
            &row.service,
            &row.operation,
            &row.signal,
            &row.metric,
            row.score,
        )
    }

    /// Whether an anomaly of that series (signal by its stored name, a
    /// metric series by its stored key) and score passes the filter.
    pub(crate) fn accepts(
        &self,
        service: &str,
        operation: &str,
        signal: &str,
        metric: &str,
        score: f64,
    ) -> bool {
        (self.service.is_empty() || service == self.service)
            && (self.operation.is_empty() || operation == self.operation)
            && (self.signals.is_empty() || self.signals.iter().any(|s| s.name() == signal))
            && (self.metric.is_empty() || metric == self.metric.0)
            && score >= self.min_score
    }

    /// ` AND ...` conditions on the stored columns.
    pub(crate) fn push(&self, sql: &mut Sql) {
        if !self.service.is_empty() {
            sql.push_bind(" AND ServiceName = ?", self.service.as_str());
        }
        if !self.operation.is_empty() {
            sql.push_bind(" AND Operation = ?", self.operation.as_str());
        }
        if !self.signals.is_empty() {
            sql.push_bind(
                " AND Signal IN ?",
                Bind::Strs(self.signals.iter().map(|s| s.name().to_owned()).collect()),
            );
        }
        if self.min_score > 0.0 {
            sql.push_bind(" AND Score >= ?", Bind::F64(self.min_score));
        }
        if !self.metric.is_empty() {
            sql.push_bind(" AND Metric = ?", self.metric.0.as_str());
        }
    }
}

/// Where a page of ListAnomalies stops: its last anomaly's sort key.
#[derive(Debug, Clone, PartialEq)]
struct Cursor {
    minute: u32,
    service: String,
    operation: String,
    signal: String,
    metric: String,
}

impl PageKey for Cursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([
            self.minute.to_string(),
            hex::encode(&self.service),
            hex::encode(&self.operation),
            hex::encode(&self.signal),
            hex::encode(&self.metric),
        ]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            minute: fields.number()?,
            service: fields.hex_text()?,
            operation: fields.hex_text()?,
            signal: fields.hex_text()?,
            metric: fields.hex_text()?,
        })
    }
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Listed {
    service: String,
    operation: String,
    signal: String,
    metric: String,
    minute: u32,
    value: f64,
    expected: f64,
    lower: f64,
    upper: f64,
    score: f64,
    kind: String,
    detected: i64,
}

pub(crate) async fn list(
    store: &Store,
    tenant: &Tenant,
    request: ListAnomaliesRequest,
) -> Result<ListAnomaliesResponse, Error> {
    let window = Window::from_proto("time_range", request.time_range.as_ref(), store.limits())?;
    let filter = Filter::from_proto("filter", request.filter.as_ref())?;
    let page: Page<Cursor> = Page::new(PAGE_TAG, request.page.as_ref(), store.limits())?;
    let sql = list_sql(tenant, &window, &filter, page.after.as_ref(), page.fetch());
    let mut rows: Vec<Listed> = store
        .query(&sql)
        .fetch_all()
        .await
        .map_err(airis_analytics::Error::from)?;
    let info = page.finish(&mut rows, |last| Cursor {
        minute: last.minute,
        service: last.service.clone(),
        operation: last.operation.clone(),
        signal: last.signal.clone(),
        metric: last.metric.clone(),
    });
    Ok(ListAnomaliesResponse {
        anomalies: rows
            .into_iter()
            .map(|row| {
                row_to_proto(&AnomalyRow {
                    tenant: String::new(),
                    service: row.service,
                    operation: row.operation,
                    signal: row.signal,
                    metric: row.metric,
                    minute: row.minute,
                    value: row.value,
                    expected: row.expected,
                    lower: row.lower,
                    upper: row.upper,
                    score: row.score,
                    kind: row.kind,
                    detected_at: row.detected,
                })
            })
            .collect(),
        page: Some(info),
        anomaly_threshold: ANOMALY_THRESHOLD,
    })
}

/// One row per key (a replayed minute may have stored its anomaly twice:
/// the earliest detection is kept), newest minute first.
fn list_sql(
    tenant: &Tenant,
    window: &Window,
    filter: &Filter,
    after: Option<&Cursor>,
    limit: u64,
) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT toString(ServiceName) AS service, toString(Operation) AS operation, \
         toString(Signal) AS signal, Metric AS metric, toUInt32(Minute) AS minute, \
         argMin(Value, DetectedAt) AS value, argMin(Expected, DetectedAt) AS expected, \
         argMin(Lower, DetectedAt) AS lower, argMin(Upper, DetectedAt) AS upper, \
         argMin(Score, DetectedAt) AS score, toString(argMin(Kind, DetectedAt)) AS kind, \
         toInt64(toUnixTimestamp64Nano(min(DetectedAt))) AS detected FROM {ANOMALIES} WHERE "
    ));
    sql.tenant(tenant).push_binds(
        " AND Minute >= toDateTime(?) AND Minute < toDateTime(?)",
        [
            Bind::U64(window.start.div_ceil(1_000_000_000)),
            Bind::U64(window.end.div_ceil(1_000_000_000)),
        ],
    );
    filter.push(&mut sql);
    if let Some(after) = after {
        sql.push_binds(
            " AND (Minute < toDateTime(?) OR (Minute = toDateTime(?) AND \
             (ServiceName, Operation, Signal, Metric) > (?, ?, ?, ?)))",
            [
                Bind::U64(u64::from(after.minute)),
                Bind::U64(u64::from(after.minute)),
                Bind::Str(after.service.clone()),
                Bind::Str(after.operation.clone()),
                Bind::Str(after.signal.clone()),
                Bind::Str(after.metric.clone()),
            ],
        );
    }
    sql.push_bind(
        " GROUP BY ServiceName, Operation, Signal, Metric, Minute \
         ORDER BY minute DESC, service, operation, signal, metric LIMIT ?",
        Bind::U64(limit),
    );
    sql
}

/// A stored anomaly as the API gives it.
pub(crate) fn row_to_proto(row: &AnomalyRow) -> Anomaly {
    Anomaly {
        service_name: row.service.clone(),
        operation: row.operation.clone(),
        signal: Signal::from_name(&row.signal).map_or(ProtoSignal::Unspecified, Signal::to_proto)
            as i32,
        time_unix_nano: u64::from(row.minute) * 1_000_000_000,
        value: row.value,
        expected: row.expected,
        lower: row.lower,
        upper: row.upper,
        score: row.score,
        kind: kind_from_name(&row.kind) as i32,
        detected_unix_nano: u64::try_from(row.detected_at).unwrap_or(0),
        metric: MetricKey(row.metric.clone()).selector(),
    }
}

fn kind_from_name(name: &str) -> AnomalyKind {
    match name {
        "spike" => AnomalyKind::Spike,
        "dip" => AnomalyKind::Dip,
        "level_shift" => AnomalyKind::LevelShift,
        "trend_change" => AnomalyKind::TrendChange,
        "variance_change" => AnomalyKind::VarianceChange,
        "missing_data" => AnomalyKind::MissingData,
        _ => AnomalyKind::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Kind;
    use crate::watch::kind_name;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in [
            Kind::Spike,
            Kind::Dip,
            Kind::LevelShift,
            Kind::TrendChange,
            Kind::VarianceChange,
            Kind::MissingData,
        ] {
            assert_ne!(kind_from_name(kind_name(kind)), AnomalyKind::Unspecified);
        }
    }

    #[test]
    fn filters_are_checked_and_bound() {
        let bad = Filter::from_proto(
            "filter",
            Some(&AnomalyFilter {
                min_score: 1.5,
                ..Default::default()
            }),
        )
        .unwrap_err();
        assert!(bad.to_string().contains("filter.min_score"), "{bad}");
        let bad = Filter::from_proto(
            "filter",
            Some(&AnomalyFilter {
                signals: vec![ProtoSignal::Unspecified as i32],
                ..Default::default()
            }),
        )
        .unwrap_err();
        assert!(bad.to_string().contains("filter.signals[0]"), "{bad}");
        let hostile = "x'; DROP TABLE t; --";
        let filter = Filter::from_proto(
            "filter",
            Some(&AnomalyFilter {
                service_name: hostile.to_owned(),
                operation: "op".to_owned(),
                signals: vec![ProtoSignal::LatencyP95 as i32],
                min_score: 0.7,
                metric: None,
            }),
        )
        .unwrap();
        let tenant = Tenant::parse("acme").unwrap();
        let cursor = Cursor {
            minute: 120,
            service: hostile.to_owned(),
            operation: String::new(),
            signal: "latency_p95".to_owned(),
            metric: String::new(),
        };
        let sql = list_sql(
            &tenant,
            &Window {
                start: 0,
                end: 600_000_000_000,
            },
            &filter,
            Some(&cursor),
            101,
        );
        assert!(!sql.text.contains("DROP"));
        assert_eq!(sql.text.matches('?').count(), sql.binds.len());
        let row = AnomalyRow {
            tenant: "acme".to_owned(),
            service: hostile.to_owned(),
            operation: "op".to_owned(),
            signal: "latency_p95".to_owned(),
            metric: String::new(),
            minute: 60,
            value: 1.0,
            expected: 0.5,
            lower: 0.0,
            upper: 0.7,
            score: 0.8,
            kind: "spike".to_owned(),
            detected_at: 1,
        };
        assert!(filter.matches(&row));
        assert!(!filter.matches(&AnomalyRow {
            score: 0.6,
            ..row.clone()
        }));
        assert!(!filter.matches(&AnomalyRow {
            signal: "latency_p99".to_owned(),
            ..row
        }));
    }
}
