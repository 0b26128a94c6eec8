//! Live span counts per tenant and minute: the loader writes them with
//! every batch, after its spans and under the batch's token, so a count
//! never covers spans that are not stored yet; the planner and the builder
//! compare them with what a build saw.

use std::collections::BTreeMap;

use super::rules::secs;
use crate::sql::Sql;
use crate::tables::MINUTE_COUNTS;

/// One row of the minute counts: spans of a tenant that start in one
/// minute, within one batch.
#[derive(Debug, PartialEq, Eq, clickhouse::Row, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinuteCountRow<'a> {
    pub tenant_id: &'a str,
    /// Minute start, seconds since the epoch.
    pub minute: u32,
    pub spans: u64,
}

/// The rows for a batch's spans, given as `(tenant, Timestamp)` with the
/// span start in ns as stored: spans per (tenant, minute), sorted, so a
/// retried batch repeats them.
pub fn minute_counts<'a>(
    spans: impl IntoIterator<Item = (&'a str, i64)>,
) -> Vec<MinuteCountRow<'a>> {
    let mut counts: BTreeMap<(&str, u32), u64> = BTreeMap::new();
    for (tenant, timestamp) in spans {
        // As ClickHouse's toStartOfMinute of the stored DateTime64(9).
        let secs = timestamp.div_euclid(1_000_000_000);
        let minute = u32::try_from(secs - secs.rem_euclid(60)).unwrap_or(u32::MAX);
        *counts.entry((tenant, minute)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((tenant_id, minute), spans)| MinuteCountRow {
            tenant_id,
            minute,
            spans,
        })
        .collect()
}

/// Live counts per (tenant, minute start in seconds).
pub(crate) type Counts = BTreeMap<(String, u32), u64>;

#[derive(clickhouse::Row, serde::Deserialize)]
struct LiveRow {
    tenant: String,
    minute: u32,
    spans: u64,
}

/// Live span counts of every tenant per minute in `[start, end)` (ns).
pub(crate) async fn read(
    client: &clickhouse::Client,
    start: u64,
    end: u64,
) -> Result<Counts, clickhouse::error::Error> {
    let mut sql = Sql::new(&format!(
        "SELECT toString(TenantId) AS tenant, toUInt32(Minute) AS minute, \
         sum(Spans) AS spans FROM {MINUTE_COUNTS} WHERE "
    ));
    sql.push_binds(
        "Minute >= toDateTime(?) AND Minute < toDateTime(?) GROUP BY TenantId, Minute",
        [secs(start), secs(end)],
    );
    let rows: Vec<LiveRow> = sql.query(client).fetch_all().await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.tenant, r.minute), r.spans))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_counted_per_tenant_and_start_minute() {
        let base = 1_700_000_000_000_000_000; // 20 s into its minute
        let minute = 1_699_999_980;
        let rows = minute_counts([
            ("globex", base),
            ("acme", base + 1),
            ("acme", base + 60_000_000_000),
            ("acme", base + 39_999_999_999),
            // Past what a DateTime holds: clamped, still counted.
            ("acme", i64::MAX),
        ]);
        let rows: Vec<_> = rows
            .iter()
            .map(|r| (r.tenant_id, r.minute, r.spans))
            .collect();
        assert_eq!(
            rows,
            [
                ("acme", minute, 2),
                ("acme", minute + 60, 1),
                ("acme", u32::MAX, 1),
                ("globex", minute, 1)
            ]
        );
    }
}
