//! Alert rules in ClickHouse: every version of every rule is a row of
//! `aiops_alert_rules`; the newest version of a rule is the rule, unless it
//! marks the rule deleted. Readers aggregate (`argMax`), so what they see
//! does not depend on merges.

use airis_analytics::query::{Bind, Sql};
use airis_proto::airis::aiops::v1 as pb;
use airis_proto::prost::Message as _;
use airis_runtime::tenant::Tenant;
use airis_store::insert;
use airis_store::tables::ALERT_RULES;

#[derive(clickhouse::Row, serde::Serialize)]
struct RuleRow<'a> {
    #[serde(rename = "TenantId")]
    tenant: &'a str,
    #[serde(rename = "RuleId")]
    id: &'a str,
    #[serde(rename = "Version")]
    version: u64,
    #[serde(rename = "Deleted")]
    deleted: u8,
    #[serde(rename = "Name")]
    name: &'a str,
    /// Hex of the encoded AlertRule.
    #[serde(rename = "Rule")]
    rule: String,
    /// Nanoseconds since the Unix epoch.
    #[serde(rename = "UpdatedAt")]
    updated_at: i64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct CurrentRow {
    id: String,
    rule: String,
    #[allow(dead_code)] // selected for ordering and HAVING
    name: String,
    #[allow(dead_code)]
    deleted: u8,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct VersionRow {
    version: u64,
    deleted: u8,
}

/// Where a rule stands: its current version, and whether that deleted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Current {
    pub(crate) version: u64,
    pub(crate) deleted: bool,
}

/// A stored rule (hex of the encoded message); `None`, with a warning,
/// when it cannot be read.
fn decode(tenant: &str, id: &str, hex_rule: &str) -> Option<pb::AlertRule> {
    let rule = hex::decode(hex_rule)
        .ok()
        .and_then(|bytes| pb::AlertRule::decode(bytes.as_slice()).ok());
    if rule.is_none() {
        tracing::warn!(tenant, rule = %id, "unreadable alert rule skipped");
    }
    rule
}

/// The current rules of `tenant` after `after` (name, id), by name then
/// id, at most `limit`; rows whose rule cannot be decoded are skipped.
pub(crate) async fn list(
    client: &clickhouse::Client,
    tenant: &Tenant,
    id: Option<&str>,
    after: Option<(&str, &str)>,
    limit: u64,
) -> Result<Vec<pb::AlertRule>, clickhouse::error::Error> {
    // Two writers of the same version (a race between two updates) are
    // ordered by their time, so every reader picks the same one.
    let mut sql = Sql::new(
        "SELECT RuleId AS id, argMax(Rule, (Version, UpdatedAt)) AS rule, \
         argMax(Name, (Version, UpdatedAt)) AS name, \
         argMax(Deleted, (Version, UpdatedAt)) AS deleted \
         FROM ",
    );
    sql.push(ALERT_RULES).push(" WHERE ").tenant(tenant);
    if let Some(id) = id {
        sql.push_bind(" AND RuleId = ?", id);
    }
    sql.push(" GROUP BY RuleId HAVING deleted = 0");
    if let Some((name, id)) = after {
        sql.push_binds(
            " AND (name, id) > (?, ?)",
            [Bind::Str(name.to_owned()), Bind::Str(id.to_owned())],
        );
    }
    sql.push_bind(" ORDER BY name, id LIMIT ?", Bind::U64(limit));
    let rows: Vec<CurrentRow> = sql.query(client).fetch_all().await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| decode(tenant.as_str(), &row.id, &row.rule))
        .collect())
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct TenantRuleRow {
    tenant: String,
    id: String,
    rule: String,
    #[allow(dead_code)] // selected for HAVING
    deleted: u8,
}

/// Every tenant's current rules (tenant, rule); rows whose rule cannot be
/// decoded are skipped.
pub(crate) async fn all_current(
    client: &clickhouse::Client,
) -> Result<Vec<(String, pb::AlertRule)>, clickhouse::error::Error> {
    let mut sql = Sql::new(
        "SELECT TenantId AS tenant, RuleId AS id, argMax(Rule, (Version, UpdatedAt)) AS rule, \
         argMax(Deleted, (Version, UpdatedAt)) AS deleted FROM ",
    );
    sql.push(ALERT_RULES)
        .push(" GROUP BY TenantId, RuleId HAVING deleted = 0 ORDER BY TenantId, RuleId");
    let rows: Vec<TenantRuleRow> = sql.query(client).fetch_all().await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| decode(&row.tenant, &row.id, &row.rule).map(|rule| (row.tenant, rule)))
        .collect())
}

/// The current version of rule `id`; `None` when there never was one.
pub(crate) async fn current(
    client: &clickhouse::Client,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<Current>, clickhouse::error::Error> {
    let mut sql = Sql::new(
        "SELECT max(Version) AS version, argMax(Deleted, (Version, UpdatedAt)) AS deleted FROM ",
    );
    sql.push(ALERT_RULES)
        .push(" WHERE ")
        .tenant(tenant)
        .push_bind(" AND RuleId = ? GROUP BY RuleId", id);
    let row: Option<VersionRow> = sql.query(client).fetch_optional().await?;
    Ok(row.map(|row| Current {
        version: row.version,
        deleted: row.deleted != 0,
    }))
}

/// How many rules `tenant` has.
pub(crate) async fn count(
    client: &clickhouse::Client,
    tenant: &Tenant,
) -> Result<u64, clickhouse::error::Error> {
    let mut sql = Sql::new(
        "SELECT count() FROM (SELECT argMax(Deleted, (Version, UpdatedAt)) AS deleted FROM ",
    );
    sql.push(ALERT_RULES)
        .push(" WHERE ")
        .tenant(tenant)
        .push(" GROUP BY RuleId HAVING deleted = 0)");
    sql.query(client).fetch_one().await
}

/// A fresh rule id (a random UUID, from ClickHouse: one source of
/// randomness for the whole platform's ids).
pub(crate) async fn new_id(
    client: &clickhouse::Client,
) -> Result<String, clickhouse::error::Error> {
    client
        .query("SELECT toString(generateUUIDv4())")
        .fetch_one()
        .await
}

/// An id in the same form as [`new_id`]'s, the same for the same `seed`,
/// so that a retried write makes the same thing again.
pub(crate) async fn derived_id(
    client: &clickhouse::Client,
    seed: &str,
) -> Result<String, clickhouse::error::Error> {
    client
        .query("SELECT toString(reinterpretAsUUID(sipHash128(?)))")
        .bind(seed)
        .fetch_one()
        .await
}

/// Stores `rule` (its id, version and time set) as its newest version, or
/// as a deletion. Acknowledged once ClickHouse has it; a retry of the same
/// write is deduplicated.
pub(crate) async fn write(
    client: &clickhouse::Client,
    tenant: &Tenant,
    rule: &pb::AlertRule,
    deleted: bool,
) -> Result<(), clickhouse::error::Error> {
    let token = format!(
        "{}:{}:{}:{}",
        tenant.as_str(),
        rule.id,
        rule.version,
        rule.update_time_unix_nano
    );
    let row = RuleRow {
        tenant: tenant.as_str(),
        id: &rule.id,
        version: rule.version,
        deleted: u8::from(deleted),
        name: &rule.name,
        rule: hex::encode(rule.encode_to_vec()),
        updated_at: i64::try_from(rule.update_time_unix_nano).unwrap_or(i64::MAX),
    };
    insert::write_all::<RuleRow<'_>, _>(client, ALERT_RULES, &token, std::iter::once(row)).await
}
