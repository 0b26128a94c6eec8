//! What continuous detection reads and writes in ClickHouse: the tenants
//! with recent spans, the detector states, the anomalies.

use std::collections::{HashMap, HashSet};

use airis_analytics::query::{Bind, Sql};
use airis_runtime::tenant::Tenant;
use airis_store::insert;
use airis_store::tables::{ANOMALIES, DETECTOR_STATES, MINUTE_COUNTS};

use super::series::SeriesKey;

/// One stored anomaly.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, serde::Serialize, serde::Deserialize)]
pub struct AnomalyRow {
    #[serde(rename = "TenantId")]
    pub tenant: String,
    #[serde(rename = "ServiceName")]
    pub service: String,
    #[serde(rename = "Operation")]
    pub operation: String,
    #[serde(rename = "Signal")]
    pub signal: String,
    /// A metric series' [`MetricKey`](super::series::MetricKey); empty for
    /// RED series.
    #[serde(rename = "Metric")]
    pub metric: String,
    /// Unix seconds of the minute's start.
    #[serde(rename = "Minute")]
    pub minute: u32,
    #[serde(rename = "Value")]
    pub value: f64,
    #[serde(rename = "Expected")]
    pub expected: f64,
    #[serde(rename = "Lower")]
    pub lower: f64,
    #[serde(rename = "Upper")]
    pub upper: f64,
    #[serde(rename = "Score")]
    pub score: f64,
    #[serde(rename = "Kind")]
    pub kind: String,
    /// Nanoseconds since the Unix epoch.
    #[serde(rename = "DetectedAt")]
    pub detected_at: i64,
}

#[derive(clickhouse::Row, serde::Serialize)]
struct StateRow<'a> {
    #[serde(rename = "TenantId")]
    tenant: &'a str,
    #[serde(rename = "Series")]
    series: String,
    #[serde(rename = "Minute")]
    minute: u32,
    /// Hex of the encoded state (a String column holds any bytes, but the
    /// client's text paths do not).
    #[serde(rename = "State")]
    state: String,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct LoadedState {
    series: String,
    minute: u32,
    state: String,
}

/// Tenants with spans in the minutes since `since` (Unix seconds), with
/// the newest minute up to `now` that has any (a span stamped in the
/// future says nothing of the minutes before it).
pub async fn active_tenants(
    client: &clickhouse::Client,
    since: u32,
    now: u32,
) -> Result<Vec<(String, u32)>, clickhouse::error::Error> {
    client
        .query(&format!(
            "SELECT toString(TenantId), toUInt32(max(Minute)) FROM {MINUTE_COUNTS} \
             WHERE Minute >= toDateTime(?) AND Minute <= toDateTime(?) GROUP BY TenantId ORDER BY 1"
        ))
        .bind(since)
        .bind(now)
        .fetch_all()
        .await
}

/// The newest stored state of every series of `tenant`, by series, with
/// the minute it was stored after; undecodable keys and states are left
/// to the caller.
pub async fn load_states(
    client: &clickhouse::Client,
    tenant: &Tenant,
) -> Result<HashMap<SeriesKey, (u32, Vec<u8>)>, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT Series AS series, toUInt32(max(Minute)) AS minute, \
         argMax(State, Minute) AS state FROM {DETECTOR_STATES} WHERE "
    ));
    sql.tenant(tenant).push(" GROUP BY Series");
    let rows: Vec<LoadedState> = sql.query(client).fetch_all().await?;
    let mut states = HashMap::with_capacity(rows.len());
    for row in rows {
        let (Some(key), Ok(state)) = (SeriesKey::decode(&row.series), hex::decode(&row.state))
        else {
            tracing::warn!(tenant = tenant.as_str(), series = %row.series, "unreadable detector state skipped");
            continue;
        };
        states.insert(key, (row.minute, state));
    }
    Ok(states)
}

/// A stored anomaly's key: service, operation, signal, metric series,
/// minute.
pub type AnomalyKey = (String, String, String, String, u32);

impl AnomalyRow {
    pub fn key(&self) -> AnomalyKey {
        (
            self.service.clone(),
            self.operation.clone(),
            self.signal.clone(),
            self.metric.clone(),
            self.minute,
        )
    }
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct StoredKey {
    service: String,
    operation: String,
    signal: String,
    metric: String,
    minute: u32,
}

/// The keys of `tenant`'s anomalies stored in the minutes `[first, last]`
/// (Unix s).
pub async fn stored_keys(
    client: &clickhouse::Client,
    tenant: &Tenant,
    first: u32,
    last: u32,
) -> Result<HashSet<AnomalyKey>, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT DISTINCT toString(ServiceName) AS service, toString(Operation) AS operation, \
         toString(Signal) AS signal, Metric AS metric, toUInt32(Minute) AS minute \
         FROM {ANOMALIES} WHERE "
    ));
    sql.tenant(tenant).push_binds(
        " AND Minute >= toDateTime(?) AND Minute <= toDateTime(?)",
        [Bind::U64(u64::from(first)), Bind::U64(u64::from(last))],
    );
    let rows: Vec<StoredKey> = sql.query(client).fetch_all().await?;
    Ok(rows
        .into_iter()
        .map(|k| (k.service, k.operation, k.signal, k.metric, k.minute))
        .collect())
}

/// Stores anomalies as one insert that ClickHouse deduplicates by `token`.
pub async fn write_anomalies(
    client: &clickhouse::Client,
    token: &str,
    rows: &[AnomalyRow],
) -> Result<(), clickhouse::error::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    insert::write_all::<AnomalyRow, _>(client, ANOMALIES, token, rows.iter().cloned()).await
}

/// Stores every series' state of `tenant` as of `minute`.
pub async fn write_states<'a>(
    client: &clickhouse::Client,
    tenant: &Tenant,
    minute: u32,
    states: impl Iterator<Item = (&'a SeriesKey, Vec<u8>)>,
) -> Result<(), clickhouse::error::Error> {
    let token = format!("{}:{minute}", tenant.as_str());
    let mut insert = insert::begin::<StateRow<'_>>(client, DETECTOR_STATES, &token).await?;
    for (key, state) in states {
        insert
            .write(&StateRow {
                tenant: tenant.as_str(),
                series: key.encode(),
                minute,
                state: hex::encode(state),
            })
            .await?;
    }
    insert.end().await
}
