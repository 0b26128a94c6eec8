//! The alerts of stored rules in ClickHouse (`aiops_alerts`): one row per
//! rule and first active minute each time it is judged while open, and
//! once when it resolves. Readers take the row judged last (`argMax` over
//! `EvaluatedAt`), so what they see does not depend on merges, and a
//! minute judged again writes the same row again.

use std::collections::BTreeMap;

use airis_analytics::query::{Bind, Sql};
use airis_runtime::tenant::Tenant;
use airis_store::insert;
use airis_store::tables::ALERTS;

use super::evaluate::Episode;

/// Where an alert stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Pending,
    Firing,
    Resolved,
}

impl Stage {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Pending => "pending",
            Stage::Firing => "firing",
            Stage::Resolved => "resolved",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Stage::Pending, Stage::Firing, Stage::Resolved]
            .into_iter()
            .find(|s| s.name() == name)
    }

    /// The stage of `episode`.
    pub(crate) fn of(episode: &Episode) -> Self {
        if episode.resolved.is_some() {
            Stage::Resolved
        } else if episode.fired.is_some() {
            Stage::Firing
        } else {
            Stage::Pending
        }
    }
}

/// One alert as judged at `evaluated` (Unix s of the last minute judged).
#[derive(Debug, Clone, PartialEq, clickhouse::Row, serde::Serialize, serde::Deserialize)]
pub(crate) struct AlertRow {
    #[serde(rename = "TenantId")]
    pub(crate) tenant: String,
    #[serde(rename = "RuleId")]
    pub(crate) rule_id: String,
    /// Unix seconds of minutes; 0: not yet.
    #[serde(rename = "ActiveAt")]
    pub(crate) active: u32,
    #[serde(rename = "RuleVersion")]
    pub(crate) rule_version: u64,
    #[serde(rename = "State")]
    pub(crate) state: String,
    #[serde(rename = "FiredAt")]
    pub(crate) fired: u32,
    #[serde(rename = "ResolvedAt")]
    pub(crate) resolved: u32,
    #[serde(rename = "Value")]
    pub(crate) value: f64,
    #[serde(rename = "Labels")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(rename = "AnnotationsEn")]
    pub(crate) annotations_en: BTreeMap<String, String>,
    #[serde(rename = "AnnotationsKo")]
    pub(crate) annotations_ko: BTreeMap<String, String>,
    #[serde(rename = "EvaluatedAt")]
    pub(crate) evaluated: u32,
}

impl AlertRow {
    pub(crate) fn stage(&self) -> Option<Stage> {
        Stage::parse(&self.state)
    }

    /// The episode this row records.
    pub(crate) fn episode(&self) -> Episode {
        let at = |m: u32| (m != 0).then_some(m);
        Episode {
            active: self.active,
            fired: at(self.fired),
            resolved: at(self.resolved),
            value: self.value,
        }
    }
}

/// Stores `rows` as one insert; a retry of the same `token` is
/// deduplicated.
pub(crate) async fn write(
    client: &clickhouse::Client,
    token: &str,
    rows: &[AlertRow],
) -> Result<(), clickhouse::error::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    insert::write_all::<AlertRow, _>(client, ALERTS, token, rows.iter().cloned()).await
}

/// The newest row of every alert of `tenant` matching `filter` (SQL on
/// the aggregated columns `state`, `active`, `resolved`, `rule_id`), in
/// the columns of [`AlertRow`], followed by `tail` (ordering).
///
/// The aggregates are named apart from the columns and renamed outside:
/// an alias equal to a column name would replace the column inside the
/// other aggregates (`argMax(..., EvaluatedAt)`).
fn latest(tenant: Option<&Tenant>, rule_id: &str, filter: &Sql, tail: &Sql) -> Sql {
    let mut inner = Sql::new(
        "SELECT TenantId AS tenant_id, RuleId AS rule_id, ActiveAt AS active, \
         argMax(RuleVersion, EvaluatedAt) AS rule_version, argMax(State, EvaluatedAt) AS state, \
         argMax(FiredAt, EvaluatedAt) AS fired, argMax(ResolvedAt, EvaluatedAt) AS resolved, \
         argMax(Value, EvaluatedAt) AS value, argMax(Labels, EvaluatedAt) AS labels, \
         argMax(AnnotationsEn, EvaluatedAt) AS annotations_en, \
         argMax(AnnotationsKo, EvaluatedAt) AS annotations_ko, \
         max(EvaluatedAt) AS evaluated FROM ",
    );
    inner.push(ALERTS).push(" WHERE ");
    match tenant {
        Some(tenant) => inner.tenant(tenant),
        None => inner.push("1"),
    };
    if !rule_id.is_empty() {
        inner.push_bind(" AND RuleId = ?", rule_id);
    }
    inner
        .push(" GROUP BY TenantId, RuleId, ActiveAt HAVING 1")
        .extend(filter);
    let mut sql = Sql::new(
        "SELECT tenant_id AS TenantId, rule_id AS RuleId, active AS ActiveAt, \
         rule_version AS RuleVersion, state AS State, fired AS FiredAt, resolved AS ResolvedAt, \
         value AS Value, labels AS Labels, annotations_en AS AnnotationsEn, \
         annotations_ko AS AnnotationsKo, evaluated AS EvaluatedAt FROM (",
    );
    sql.extend(&inner).push(")").extend(tail);
    sql
}

/// Every tenant's alerts still open when last judged.
pub(crate) async fn all_open(
    client: &clickhouse::Client,
) -> Result<Vec<AlertRow>, clickhouse::error::Error> {
    latest(
        None,
        "",
        &Sql::new(" AND state IN ('pending', 'firing')"),
        &Sql::new(""),
    )
    .query(client)
    .fetch_all()
    .await
}

/// What [`list`] returns.
pub(crate) struct Filter<'a> {
    pub(crate) stages: &'a [Stage],
    pub(crate) rule_id: &'a str,
    /// Unix ns: alerts active at some time in `[start, end)`.
    pub(crate) window: Option<(u64, u64)>,
    /// (active minute, rule id) of the last alert of the previous page.
    pub(crate) after: Option<(u32, &'a str)>,
    pub(crate) limit: u64,
}

/// The tenant's alerts as last judged, the most recently active first.
pub(crate) async fn list(
    client: &clickhouse::Client,
    tenant: &Tenant,
    filter: &Filter<'_>,
) -> Result<Vec<AlertRow>, clickhouse::error::Error> {
    let mut having = Sql::new("");
    if !filter.stages.is_empty() {
        let names: Vec<String> = filter.stages.iter().map(|s| s.name().to_owned()).collect();
        having.push_bind(" AND state IN ?", Bind::Strs(names));
    }
    if let Some((start, end)) = filter.window {
        let secs = |ns: u64| Bind::U64(ns / 1_000_000_000);
        // Active at some time in the range: became active before its end,
        // and resolved (if at all) after its start.
        having.push_binds(
            " AND active < ? AND (resolved = 0 OR resolved > ?)",
            [secs(end.saturating_add(999_999_999)), secs(start)],
        );
    }
    if let Some((active, rule_id)) = filter.after {
        having.push_binds(
            " AND (active, rule_id) < (?, ?)",
            [Bind::U64(u64::from(active)), Bind::Str(rule_id.to_owned())],
        );
    }
    let mut tail = Sql::new(" ORDER BY ActiveAt DESC, RuleId DESC");
    tail.push_bind(" LIMIT ?", Bind::U64(filter.limit));
    latest(Some(tenant), filter.rule_id, &having, &tail)
        .query(client)
        .fetch_all()
        .await
}
