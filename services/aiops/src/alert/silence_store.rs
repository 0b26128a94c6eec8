//! Silences in ClickHouse: every version of every silence is a row of
//! `aiops_silences`, the newest version the silence. Its start and end
//! are columns too, so listing by state needs no decoding; readers
//! aggregate (`argMax`), so what they see does not depend on merges.

use airis_analytics::query::{Bind, Sql};
use airis_proto::airis::aiops::v1::{self as pb, SilenceState};
use airis_proto::prost::Message as _;
use airis_runtime::tenant::Tenant;
use airis_store::insert;
use airis_store::tables::SILENCES;

#[derive(clickhouse::Row, serde::Serialize)]
struct SilenceRow<'a> {
    #[serde(rename = "TenantId")]
    tenant: &'a str,
    #[serde(rename = "SilenceId")]
    id: &'a str,
    #[serde(rename = "Version")]
    version: u64,
    /// Nanoseconds since the Unix epoch, as the other two times.
    #[serde(rename = "StartsAt")]
    starts_at: i64,
    #[serde(rename = "EndsAt")]
    ends_at: i64,
    /// Hex of the encoded Silence (its state left unset: it depends on
    /// when it is read).
    #[serde(rename = "Silence")]
    silence: String,
    #[serde(rename = "UpdatedAt")]
    updated_at: i64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct CurrentRow {
    id: String,
    silence: String,
    #[allow(dead_code)] // selected for the state filter
    starts: i64,
    #[allow(dead_code)] // selected for ordering, the state filter and paging
    ends: i64,
}

const NEWEST: &str = "(Version, UpdatedAt)";

/// The tenant's silences in `states` (all when empty) as of `now` (Unix
/// ns), or the one with `id`, latest end first, after `after` (end, id),
/// at most `limit`. Rows that cannot be decoded are skipped.
pub(crate) async fn list(
    client: &clickhouse::Client,
    tenant: &Tenant,
    id: Option<&str>,
    states: &[SilenceState],
    now: u64,
    after: Option<(i64, &str)>,
    limit: u64,
) -> Result<Vec<pb::Silence>, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT SilenceId AS id, argMax(Silence, {NEWEST}) AS silence, \
         toUnixTimestamp64Nano(argMax(StartsAt, {NEWEST})) AS starts, \
         toUnixTimestamp64Nano(argMax(EndsAt, {NEWEST})) AS ends FROM "
    ));
    sql.push(SILENCES).push(" WHERE ").tenant(tenant);
    if let Some(id) = id {
        sql.push_bind(" AND SilenceId = ?", id);
    }
    sql.push(" GROUP BY SilenceId HAVING 1");
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if !states.is_empty() {
        sql.push(" AND (0");
        for state in states {
            match state {
                SilenceState::Pending => sql.push_bind(" OR starts > ?", Bind::I64(now)),
                SilenceState::Active => sql.push_binds(
                    " OR (starts <= ? AND ends > ?)",
                    [Bind::I64(now), Bind::I64(now)],
                ),
                SilenceState::Expired => sql.push_bind(" OR ends <= ?", Bind::I64(now)),
                SilenceState::Unspecified => &mut sql,
            };
        }
        sql.push(")");
    }
    if let Some((ends, id)) = after {
        sql.push_binds(
            " AND (ends, id) < (?, ?)",
            [Bind::I64(ends), Bind::Str(id.to_owned())],
        );
    }
    sql.push_bind(" ORDER BY ends DESC, id DESC LIMIT ?", Bind::U64(limit));
    let rows: Vec<CurrentRow> = sql.query(client).fetch_all().await?;
    Ok(decode(tenant, rows))
}

/// Most silences [`during`] reads.
pub(crate) const MAX_DURING: u64 = 20_000;

/// The silences of `tenant` active at some time in `[start, end)` (Unix
/// ns), at most [`MAX_DURING`], the latest ending first.
pub(crate) async fn during(
    client: &clickhouse::Client,
    tenant: &Tenant,
    start: u64,
    end: u64,
) -> Result<Vec<pb::Silence>, clickhouse::error::Error> {
    let nanos = |n: u64| Bind::I64(i64::try_from(n).unwrap_or(i64::MAX));
    let mut sql = Sql::new(&format!(
        "SELECT SilenceId AS id, argMax(Silence, {NEWEST}) AS silence, \
         toUnixTimestamp64Nano(argMax(StartsAt, {NEWEST})) AS starts, \
         toUnixTimestamp64Nano(argMax(EndsAt, {NEWEST})) AS ends FROM "
    ));
    sql.push(SILENCES)
        .push(" WHERE ")
        .tenant(tenant)
        .push_binds(
            " GROUP BY SilenceId HAVING starts < ? AND ends > ?",
            [nanos(end), nanos(start)],
        )
        .push_bind(
            " ORDER BY ends DESC, id DESC LIMIT ?",
            Bind::U64(MAX_DURING),
        );
    let rows: Vec<CurrentRow> = sql.query(client).fetch_all().await?;
    Ok(decode(tenant, rows))
}

fn decode(tenant: &Tenant, rows: Vec<CurrentRow>) -> Vec<pb::Silence> {
    rows.into_iter()
        .filter_map(|row| {
            let silence = hex::decode(&row.silence)
                .ok()
                .and_then(|bytes| pb::Silence::decode(bytes.as_slice()).ok());
            if silence.is_none() {
                tracing::warn!(tenant = tenant.as_str(), silence = %row.id, "unreadable silence skipped");
            }
            silence
        })
        .collect()
}

/// How many silences of `tenant` have not expired at `now` (Unix ns).
pub(crate) async fn count_unexpired(
    client: &clickhouse::Client,
    tenant: &Tenant,
    now: u64,
) -> Result<u64, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT count() FROM (SELECT toUnixTimestamp64Nano(argMax(EndsAt, {NEWEST})) AS ends FROM "
    ));
    sql.push(SILENCES).push(" WHERE ").tenant(tenant).push_bind(
        " GROUP BY SilenceId HAVING ends > ?)",
        Bind::I64(i64::try_from(now).unwrap_or(i64::MAX)),
    );
    sql.query(client).fetch_one().await
}

/// Stores `silence` (its id, version and time set) as its newest version.
/// Acknowledged once ClickHouse has it; a retry of the same write is
/// deduplicated.
pub(crate) async fn write(
    client: &clickhouse::Client,
    tenant: &Tenant,
    silence: &pb::Silence,
) -> Result<(), clickhouse::error::Error> {
    let token = format!(
        "{}:{}:{}:{}",
        tenant.as_str(),
        silence.id,
        silence.version,
        silence.update_time_unix_nano
    );
    let nanos = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let stored = pb::Silence {
        state: SilenceState::Unspecified as i32,
        ..silence.clone()
    };
    let row = SilenceRow {
        tenant: tenant.as_str(),
        id: &silence.id,
        version: silence.version,
        starts_at: nanos(silence.start_time_unix_nano),
        ends_at: nanos(silence.end_time_unix_nano),
        silence: hex::encode(stored.encode_to_vec()),
        updated_at: nanos(silence.update_time_unix_nano),
    };
    insert::write_all::<SilenceRow<'_>, _>(client, SILENCES, &token, std::iter::once(row)).await
}
