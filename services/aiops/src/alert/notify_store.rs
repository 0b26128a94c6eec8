//! Notification policies (`aiops_notification_policies`, every version
//! kept, the newest current) and the notification log
//! (`aiops_notifications`), in ClickHouse.

use std::collections::BTreeMap;

use airis_analytics::query::{Bind, Sql};
use airis_proto::airis::aiops::v1 as pb;
use airis_proto::prost::Message as _;
use airis_runtime::tenant::Tenant;
use airis_store::insert;
use airis_store::tables::{NOTIFICATION_POLICIES, NOTIFICATIONS};

#[derive(clickhouse::Row, serde::Serialize)]
struct PolicyRow<'a> {
    #[serde(rename = "TenantId")]
    tenant: &'a str,
    #[serde(rename = "Version")]
    version: u64,
    /// Hex of the encoded NotificationPolicy.
    #[serde(rename = "Policy")]
    policy: String,
    #[serde(rename = "UpdatedAt")]
    updated_at: i64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct CurrentRow {
    tenant: String,
    policy: String,
}

fn decode(tenant: &str, hex_policy: &str) -> Option<pb::NotificationPolicy> {
    let policy = hex::decode(hex_policy)
        .ok()
        .and_then(|bytes| pb::NotificationPolicy::decode(bytes.as_slice()).ok());
    if policy.is_none() {
        tracing::warn!(tenant, "unreadable notification policy skipped");
    }
    policy
}

/// The current policies of `tenant` (or every tenant's), by tenant.
async fn current(
    client: &clickhouse::Client,
    tenant: Option<&Tenant>,
) -> Result<Vec<(String, pb::NotificationPolicy)>, clickhouse::error::Error> {
    // Two writers of one version are ordered by their time, so every
    // reader picks the same one.
    let mut sql =
        Sql::new("SELECT TenantId AS tenant, argMax(Policy, (Version, UpdatedAt)) AS policy FROM ");
    sql.push(NOTIFICATION_POLICIES);
    if let Some(tenant) = tenant {
        sql.push(" WHERE ").tenant(tenant);
    }
    sql.push(" GROUP BY TenantId ORDER BY TenantId");
    let rows: Vec<CurrentRow> = sql.query(client).fetch_all().await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| decode(&row.tenant, &row.policy).map(|p| (row.tenant, p)))
        .collect())
}

/// The tenant's policy; the empty one (version 0) when it never stored one.
pub(crate) async fn get(
    client: &clickhouse::Client,
    tenant: &Tenant,
) -> Result<pb::NotificationPolicy, clickhouse::error::Error> {
    Ok(current(client, Some(tenant))
        .await?
        .pop()
        .map(|(_, p)| p)
        .unwrap_or_default())
}

/// Every tenant's policy.
pub(crate) async fn all(
    client: &clickhouse::Client,
) -> Result<Vec<(String, pb::NotificationPolicy)>, clickhouse::error::Error> {
    current(client, None).await
}

/// Stores `policy` (its version and time set) as the tenant's newest.
/// A retry of the same write is deduplicated.
pub(crate) async fn write(
    client: &clickhouse::Client,
    tenant: &Tenant,
    policy: &pb::NotificationPolicy,
) -> Result<(), clickhouse::error::Error> {
    let token = format!(
        "{}:policy:{}:{}",
        tenant.as_str(),
        policy.version,
        policy.update_time_unix_nano
    );
    let row = PolicyRow {
        tenant: tenant.as_str(),
        version: policy.version,
        policy: hex::encode(policy.encode_to_vec()),
        updated_at: i64::try_from(policy.update_time_unix_nano).unwrap_or(i64::MAX),
    };
    insert::write_all::<PolicyRow<'_>, _>(
        client,
        NOTIFICATION_POLICIES,
        &token,
        std::iter::once(row),
    )
    .await
}

/// One notification sent or attempted.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, serde::Serialize, serde::Deserialize)]
pub(crate) struct LogRow {
    #[serde(rename = "TenantId")]
    pub(crate) tenant: String,
    #[serde(rename = "Receiver")]
    pub(crate) receiver: String,
    #[serde(rename = "Webhook")]
    pub(crate) webhook: u32,
    #[serde(rename = "GroupKey")]
    pub(crate) group_key: String,
    #[serde(rename = "GroupLabels")]
    pub(crate) group_labels: BTreeMap<String, String>,
    /// Fingerprints of the alerts it named firing, sorted.
    #[serde(rename = "Firing")]
    pub(crate) firing: Vec<String>,
    /// And resolved, sorted.
    #[serde(rename = "Resolved")]
    pub(crate) resolved: Vec<String>,
    /// How many alerts the notification carried (0: nothing was sent, the
    /// log only moved on).
    #[serde(rename = "Alerts")]
    pub(crate) alerts: u32,
    /// Unix ns.
    #[serde(rename = "SentAt")]
    pub(crate) sent_at: i64,
    #[serde(rename = "Delivered")]
    pub(crate) delivered: u8,
    #[serde(rename = "Error")]
    pub(crate) error: String,
}

const LOG_COLUMNS: &str = "TenantId, Receiver, Webhook, GroupKey, GroupLabels, Firing, Resolved, Alerts, SentAt, Delivered, \
     Error";

/// Appends `row` to the log; a retry of the same row is deduplicated.
pub(crate) async fn log(
    client: &clickhouse::Client,
    row: &LogRow,
) -> Result<(), clickhouse::error::Error> {
    let token = format!(
        "{}:{}:{}:{}:{}",
        row.tenant, row.receiver, row.webhook, row.group_key, row.sent_at
    );
    insert::write_all::<LogRow, _>(client, NOTIFICATIONS, &token, std::iter::once(row.clone()))
        .await
}

/// The last delivered notification of a group to one webhook, if any.
pub(crate) async fn last_delivered(
    client: &clickhouse::Client,
    tenant: &str,
    receiver: &str,
    webhook: u32,
    group_key: &str,
) -> Result<Option<LogRow>, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!("SELECT {LOG_COLUMNS} FROM "));
    sql.push(NOTIFICATIONS)
        .push_binds(
            " WHERE TenantId = ? AND Receiver = ? AND GroupKey = ?",
            [
                Bind::Str(tenant.to_owned()),
                Bind::Str(receiver.to_owned()),
                Bind::Str(group_key.to_owned()),
            ],
        )
        .push_bind(
            " AND Webhook = ? AND Delivered = 1 ORDER BY SentAt DESC LIMIT 1",
            Bind::U64(u64::from(webhook)),
        );
    sql.query(client).fetch_optional().await
}

/// The tenant's notifications (of `receiver` when not empty), the newest
/// first, before `before` (sent at, group key, webhook), at most `limit`.
pub(crate) async fn list(
    client: &clickhouse::Client,
    tenant: &Tenant,
    receiver: &str,
    before: Option<(i64, &str, u32)>,
    limit: u64,
) -> Result<Vec<LogRow>, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!("SELECT {LOG_COLUMNS} FROM "));
    sql.push(NOTIFICATIONS)
        .push(" WHERE ")
        .tenant(tenant)
        .push(" AND Alerts > 0");
    if !receiver.is_empty() {
        sql.push_bind(" AND Receiver = ?", receiver);
    }
    if let Some((sent, key, webhook)) = before {
        sql.push_binds(
            " AND (SentAt, GroupKey, Webhook) < (fromUnixTimestamp64Nano(?), ?, ?)",
            [
                Bind::I64(sent),
                Bind::Str(key.to_owned()),
                Bind::U64(u64::from(webhook)),
            ],
        );
    }
    sql.push_bind(
        " ORDER BY SentAt DESC, GroupKey DESC, Webhook DESC LIMIT ?",
        Bind::U64(limit),
    );
    sql.query(client).fetch_all().await
}
