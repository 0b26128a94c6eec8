//! Read planning: which minutes of a query's window the rollups answer and
//! which are read from the spans.

use std::collections::BTreeMap;

use airis_runtime::tenant::Tenant;

use super::rules::{MINUTE, NANOS_PER_SEC, minute_ceil, minute_floor, secs};
use crate::sql::{Bind, Sql, Window};
use crate::tables::{MINUTE_COUNTS, ROLLUP_BUILDS};

/// Live span counts and the newest build record of each minute near a window.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Minute start (ns) → spans in `otel_traces` now.
    live: BTreeMap<u64, u64>,
    /// Minute start (ns) → the newest build's (id, before, spans, after).
    builds: BTreeMap<u64, Build>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Build {
    id: u64,
    before: u64,
    spans: u64,
    after: u64,
}

/// A window split into what the rollups answer and what the spans do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `(first minute, end minute, build id)`: whole minutes read from a
    /// rollup, the rows of that build.
    pub rolled: Vec<(u64, u64, u64)>,
    /// Time ranges read from `otel_traces`.
    pub raw: Vec<Window>,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct CoverageRow {
    /// 0: a live count; 1: a build record.
    kind: u8,
    minute: u32,
    spans: u64,
    id: u64,
    before: u64,
    after: u64,
}

/// Which rollup rows are valid for a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The minute's own count must match (RED).
    Minute,
    /// The minute's and both neighbours' counts must match (edges).
    Neighbours,
}

impl Coverage {
    /// Reads the live counts and build records of `window`'s whole minutes
    /// (and one minute around them) for `tenant`: one statement.
    pub async fn read(
        client: &clickhouse::Client,
        tenant: &Tenant,
        window: &Window,
    ) -> Result<Self, clickhouse::error::Error> {
        let first = minute_ceil(window.start);
        let end = minute_floor(window.end);
        if first >= end {
            return Ok(Self::default());
        }
        let mut sql = Sql::new(&format!(
            "SELECT 0 AS kind, toUInt32(Minute) AS minute, sum(Spans) AS spans, \
             toUInt64(0) AS id, toUInt64(0) AS before, toUInt64(0) AS after \
             FROM {MINUTE_COUNTS} WHERE "
        ));
        sql.tenant(tenant).push_binds(
            " AND Minute >= toDateTime(?) AND Minute < toDateTime(?)",
            [secs(first - MINUTE), secs(end + MINUTE)],
        );
        sql.push(&format!(
            " GROUP BY minute UNION ALL SELECT 1, toUInt32(Minute), argMax(Spans, BuildId), \
             max(BuildId), argMax(SpansBefore, BuildId), argMax(SpansAfter, BuildId) \
             FROM {ROLLUP_BUILDS} WHERE "
        ));
        sql.tenant(tenant).push_binds(
            " AND Minute >= toDateTime(?) AND Minute < toDateTime(?) GROUP BY Minute",
            [secs(first), secs(end)],
        );
        let rows: Vec<CoverageRow> = sql.query(client).fetch_all().await?;
        let mut coverage = Self::default();
        for row in rows {
            let minute = u64::from(row.minute) * NANOS_PER_SEC;
            if row.kind == 0 {
                coverage.live.insert(minute, row.spans);
            } else {
                coverage.builds.insert(
                    minute,
                    Build {
                        id: row.id,
                        before: row.before,
                        spans: row.spans,
                        after: row.after,
                    },
                );
            }
        }
        Ok(coverage)
    }

    fn live(&self, minute: u64) -> u64 {
        self.live.get(&minute).copied().unwrap_or(0)
    }

    /// The build whose rows answer `minute`, if it is still valid; `Some(0)`
    /// when the minute has no spans at all (nothing to read).
    fn valid_build(&self, minute: u64, need: Need) -> Option<u64> {
        let spans = self.live(minute);
        if spans == 0 {
            return Some(0);
        }
        let build = self.builds.get(&minute)?;
        let neighbours_match = || {
            build.before == self.live(minute - MINUTE) && build.after == self.live(minute + MINUTE)
        };
        (build.spans == spans && (need == Need::Minute || neighbours_match())).then_some(build.id)
    }

    /// Splits `window`: whole minutes with a valid build come from the
    /// rollup, everything else from the spans. Adjacent pieces are merged.
    pub fn plan(&self, window: &Window, need: Need) -> Plan {
        let mut plan = Plan::default();
        let raw = |start: u64, end: u64, plan: &mut Plan| {
            if start >= end {
                return;
            }
            match plan.raw.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => plan.raw.push(Window { start, end }),
            }
        };
        let first = minute_ceil(window.start);
        let end = minute_floor(window.end);
        if first >= end {
            raw(window.start, window.end, &mut plan);
            return plan;
        }
        raw(window.start, first, &mut plan);
        let mut minute = first;
        while minute < end {
            match self.valid_build(minute, need) {
                // An empty minute needs nothing from anywhere.
                Some(0) => {}
                Some(id) => match plan.rolled.last_mut() {
                    Some(last) if last.1 == minute && last.2 == id => last.1 = minute + MINUTE,
                    _ => plan.rolled.push((minute, minute + MINUTE, id)),
                },
                None => raw(minute, minute + MINUTE, &mut plan),
            }
            minute += MINUTE;
        }
        raw(end, window.end, &mut plan);
        plan
    }
}

impl Plan {
    /// `TenantId = ? AND ((Minute >= ? AND Minute < ? AND BuildId = ?) OR ...)`
    /// for the rolled-up minutes.
    pub fn push_rolled(&self, sql: &mut Sql, tenant: &Tenant) {
        sql.tenant(tenant).push(" AND (");
        for (i, (start, end, id)) in self.rolled.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push_binds(
                "(Minute >= toDateTime(?) AND Minute < toDateTime(?) AND BuildId = ?)",
                [secs(*start), secs(*end), Bind::U64(*id)],
            );
        }
        sql.push(")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = MINUTE;

    fn coverage(live: &[(u64, u64)], builds: &[(u64, u64, [u64; 3])]) -> Coverage {
        Coverage {
            live: live.iter().map(|&(m, n)| (m * M, n)).collect(),
            builds: builds
                .iter()
                .map(|&(m, id, [before, spans, after])| {
                    (
                        m * M,
                        Build {
                            id,
                            before,
                            spans,
                            after,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn valid_minutes_come_from_rollups_the_rest_from_spans() {
        // Minutes 10..15; 13 has changed since its build, 14 was never built.
        let c = coverage(
            &[(9, 1), (10, 5), (11, 6), (12, 7), (13, 9), (14, 2), (15, 1)],
            &[
                (10, 1, [1, 5, 6]),
                (11, 1, [5, 6, 7]),
                (12, 2, [6, 7, 8]),
                (13, 2, [7, 8, 2]),
            ],
        );
        let window = Window {
            start: 10 * M - 5,
            end: 15 * M + 7,
        };
        let red = c.plan(&window, Need::Minute);
        assert_eq!(red.rolled, vec![(10 * M, 12 * M, 1), (12 * M, 13 * M, 2)]);
        assert_eq!(
            red.raw,
            vec![
                Window {
                    start: 10 * M - 5,
                    end: 10 * M
                },
                Window {
                    start: 13 * M,
                    end: 15 * M + 7
                }
            ]
        );
        // Edges of 12 need 13's count too, which changed.
        let edges = c.plan(&window, Need::Neighbours);
        assert_eq!(edges.rolled, vec![(10 * M, 12 * M, 1)]);
        assert_eq!(edges.raw[1].start, 12 * M);
    }

    #[test]
    fn empty_minutes_need_nothing_and_short_windows_are_raw() {
        let c = coverage(&[(11, 3)], &[(11, 4, [0, 3, 0])]);
        let plan = c.plan(
            &Window {
                start: 10 * M,
                end: 13 * M,
            },
            Need::Neighbours,
        );
        assert_eq!(plan.rolled, vec![(11 * M, 12 * M, 4)]);
        assert!(plan.raw.is_empty());
        let inside = Window {
            start: 10 * M + 1,
            end: 11 * M - 1,
        };
        let plan = c.plan(&inside, Need::Minute);
        assert_eq!(plan.raw, vec![inside]);
        assert!(plan.rolled.is_empty());
    }

    #[test]
    fn rolled_minutes_are_bound_not_spliced() {
        let plan = Plan {
            rolled: vec![(10 * M, 12 * M, 7), (12 * M, 13 * M, 9)],
            raw: Vec::new(),
        };
        let mut sql = Sql::default();
        plan.push_rolled(&mut sql, &Tenant::parse("acme").unwrap());
        assert_eq!(sql.binds.len(), 1 + 2 * 3);
        assert_eq!(sql.text.matches(" OR ").count(), 1);
        assert_eq!(sql.binds[1], Bind::I64(600));
        assert_eq!(sql.binds[3], Bind::U64(7));
    }
}
