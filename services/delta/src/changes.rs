//! ListChanges: the changes the telemetry itself shows, each with the
//! comparison that says whether it hurt.
//!
//! Two kinds are found, both by ClickHouse aggregates:
//! - a service's spans showing a new value of a change attribute
//!   (`service.version`, a pod template hash, a config checksum): per
//!   (service, attribute, value) the first and last span and the count,
//!   over the range asked and the window before it;
//! - a log record announcing a deployment (`EventName`, or the attribute
//!   `event.name`, is `deployment`).
//!
//! Finding them ([`detect`]) is plain computation on those rows, tested
//! without I/O; the comparisons are Compare's own.

use std::collections::BTreeMap;
use std::sync::Arc;

use airis_analytics::query::RequestWindow as _;
use airis_proto::airis::analytics::v1::{
    AttributeFilter, AttributeScope, MatchOperator, SpanFilter,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{
    AttributeChange, ChangeKind, Cohort, CompareRequest, DetectedChange, ListChangesRequest,
    ListChangesResponse,
};
use airis_runtime::{clock, tenant::Tenant};
use airis_store::{
    sql::{Bind, Sql, Window},
    tables::{LOGS, TRACES},
};

use crate::cohort::MAX_LABEL_BYTES;
use crate::options::Options;
use crate::{Delta, Error};

const MINUTE: u64 = 60 * 1_000_000_000;
/// Each side of a change's comparison when the request names none.
const DEFAULT_WINDOW: u64 = 10 * MINUTE;
const MIN_WINDOW: u64 = MINUTE;
const MAX_WINDOW: u64 = 360 * MINUTE;
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 50;
/// Attribute changes of one service this close to the first are one
/// change (a release changes the version and the pod template at once).
const SAME_CHANGE: u64 = MINUTE;
/// Comparisons run at once: each is two ClickHouse queries and some CPU.
const PARALLEL_COMPARISONS: usize = 4;
/// The event's body, cut at a character boundary.
const MAX_EVENT_BYTES: usize = 512;
/// What a log record announcing a deployment calls itself.
const DEPLOYMENT_EVENT: &str = "deployment";

/// Per (service, attribute, value): where it was seen.
#[derive(Clone, Debug, PartialEq, clickhouse::Row, serde::Deserialize)]
pub struct Seen {
    pub service: String,
    pub key: String,
    pub value: String,
    pub first: i64,
    pub last: i64,
    pub spans: u64,
}

/// A deployment announced in a log record.
#[derive(Clone, Debug, PartialEq, clickhouse::Row, serde::Deserialize)]
pub struct Event {
    pub service: String,
    pub time: i64,
    pub body: String,
}

/// The request, checked.
struct Ask {
    range: Window,
    service: String,
    window: u64,
    limit: usize,
    skip_comparison: bool,
}

impl Ask {
    fn parse(request: &ListChangesRequest, delta: &Delta) -> Result<Self, Error> {
        let range = Window::from_proto("time_range", request.time_range.as_ref(), delta.limits())?;
        let window = match request.window_nano {
            0 => DEFAULT_WINDOW,
            w if (MIN_WINDOW..=MAX_WINDOW).contains(&w) => w,
            w => {
                return Err(Error::InvalidArgument(format!(
                    "window_nano: {w} ns; between 1 minute ({MIN_WINDOW}) and 6 hours ({MAX_WINDOW})"
                )));
            }
        };
        // Checked once here rather than in every comparison.
        Options::from_proto("options", request.options.as_ref())?;
        let limit = match request.limit {
            0 => DEFAULT_LIMIT,
            l if l <= MAX_LIMIT => l,
            l => {
                return Err(Error::InvalidArgument(format!(
                    "limit: {l}; at most {MAX_LIMIT}"
                )));
            }
        } as usize;
        Ok(Self {
            range,
            service: request.service_name.clone(),
            window,
            limit,
            skip_comparison: request.skip_comparison,
        })
    }
}

/// Finds the changes of `request` for `tenant` and compares each.
pub async fn list(
    delta: &Delta,
    tenant: &Tenant,
    request: &ListChangesRequest,
) -> Result<ListChangesResponse, Error> {
    let ask = Ask::parse(request, delta)?;
    let keys = delta.change_attributes();
    let (seen, events) = tokio::try_join!(
        read_seen(delta, tenant, &ask, keys),
        read_events(delta, tenant, &ask),
    )?;
    let now = clock::now_unix_nano();
    let mut changes = detect(&seen, &events, keys, ask.range, ask.window, now);
    let truncated = changes.len() > ask.limit;
    changes.truncate(ask.limit);
    for change in &mut changes {
        if let Some(comparison) = change.comparison.as_mut() {
            comparison.options = request.options.clone();
        }
    }
    if !ask.skip_comparison {
        compare_all(delta, tenant, &mut changes).await;
    }
    Ok(ListChangesResponse { changes, truncated })
}

/// Every change attribute's values per service over the range and the
/// window before it, with where each was first and last seen.
async fn read_seen(
    delta: &Delta,
    tenant: &Tenant,
    ask: &Ask,
    keys: &[String],
) -> Result<Vec<Seen>, Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let max_groups = delta.bounds().max_groups;
    let mut sql = Sql::new(
        "SELECT ServiceName AS service, key, ResourceAttributes[key] AS value, \
         toUnixTimestamp64Nano(min(Timestamp)) AS first, \
         toUnixTimestamp64Nano(max(Timestamp)) AS last, count() AS spans \
         FROM ",
    );
    sql.push(TRACES)
        .push_bind(" ARRAY JOIN ? AS key WHERE ", Bind::Strs(keys.to_vec()))
        .tenant(tenant)
        .push(" AND ");
    Window {
        start: ask.range.start.saturating_sub(ask.window),
        end: ask.range.end,
    }
    .sql(&mut sql, "Timestamp");
    if !ask.service.is_empty() {
        sql.push_bind(" AND ServiceName = ?", ask.service.as_str());
    }
    sql.push(&format!(
        " AND mapContains(ResourceAttributes, key) GROUP BY service, key, value LIMIT {}",
        max_groups + 1
    ));
    let rows: Vec<Seen> = delta
        .store()
        .query(&sql)
        .fetch_all()
        .await
        .map_err(Error::from)?;
    if rows.len() as u64 > max_groups {
        return Err(Error::LimitExceeded(format!(
            "time_range: more than delta.max_groups ({max_groups}) (service, attribute, value) \
             groups; narrow the range or name service_name"
        )));
    }
    Ok(rows)
}

/// Log records announcing a deployment in the range, the newest first.
async fn read_events(delta: &Delta, tenant: &Tenant, ask: &Ask) -> Result<Vec<Event>, Error> {
    let mut sql = Sql::new(&format!(
        "SELECT ServiceName AS service, toUnixTimestamp64Nano(Timestamp) AS time, Body AS body \
         FROM {LOGS} WHERE "
    ));
    sql.tenant(tenant).push(" AND ");
    ask.range.sql(&mut sql, "Timestamp");
    if !ask.service.is_empty() {
        sql.push_bind(" AND ServiceName = ?", ask.service.as_str());
    }
    sql.push_binds(
        " AND (EventName = ? OR LogAttributes['event.name'] = ?)",
        [
            Bind::Str(DEPLOYMENT_EVENT.to_owned()),
            Bind::Str(DEPLOYMENT_EVENT.to_owned()),
        ],
    )
    .push(&format!(" ORDER BY Timestamp DESC LIMIT {}", ask.limit + 1));
    delta
        .store()
        .query(&sql)
        .fetch_all()
        .await
        .map_err(Error::from)
}

/// The changes in `range` that `seen` and `events` show, the newest
/// first, each with the comparison to make; `keys` in the order their
/// changes are compared by, `now` bounding every window.
pub fn detect(
    seen: &[Seen],
    events: &[Event],
    keys: &[String],
    range: Window,
    window: u64,
    now: u64,
) -> Vec<DetectedChange> {
    // A value is new at its first span when another value of the same
    // attribute of the service was seen in the window before.
    let mut by_attribute: BTreeMap<(&str, &str), Vec<&Seen>> = BTreeMap::new();
    for row in seen {
        by_attribute
            .entry((row.service.as_str(), row.key.as_str()))
            .or_default()
            .push(row);
    }
    struct Found<'a> {
        at: u64,
        key: &'a str,
        before: Option<&'a Seen>,
        after: &'a Seen,
    }
    let mut by_service: BTreeMap<&str, Vec<Found<'_>>> = BTreeMap::new();
    for ((service, key), values) in &by_attribute {
        for new in values {
            let at = new.first.max(0) as u64;
            if at < range.start || at >= range.end {
                continue;
            }
            let before = values
                .iter()
                .filter(|old| {
                    old.value != new.value
                        && old.first < new.first
                        && old.last.max(0) as u64 >= at.saturating_sub(window)
                })
                .max_by(|a, b| a.spans.cmp(&b.spans).then_with(|| b.value.cmp(&a.value)));
            if let Some(before) = before {
                by_service.entry(service).or_default().push(Found {
                    at,
                    key,
                    before: Some(before),
                    after: new,
                });
            }
        }
    }
    let rank = |key: &str| keys.iter().position(|k| k == key).unwrap_or(usize::MAX);
    let mut changes = Vec::new();
    for (service, mut found) in by_service {
        found.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| rank(a.key).cmp(&rank(b.key))));
        let mut groups: Vec<Vec<Found<'_>>> = Vec::new();
        for f in found {
            match groups.last_mut() {
                Some(group) if f.at - group[0].at <= SAME_CHANGE => group.push(f),
                _ => groups.push(vec![f]),
            }
        }
        for mut group in groups {
            group.sort_by_key(|f| rank(f.key));
            let first = &group[0];
            let at = group.iter().map(|f| f.at).min().unwrap_or(first.at);
            let comparison = attribute_comparison(
                service,
                first.key,
                first.before.expect("found with a value before"),
                first.after,
                at,
                window,
                now,
            );
            changes.push(DetectedChange {
                kind: ChangeKind::Attribute as i32,
                service_name: service.to_owned(),
                time_unix_nano: at,
                attributes: group
                    .iter()
                    .map(|f| AttributeChange {
                        key: f.key.to_owned(),
                        before: f.before.map(|b| b.value.clone()).unwrap_or_default(),
                        after: f.after.value.clone(),
                    })
                    .collect(),
                comparison: Some(comparison),
                ..Default::default()
            });
        }
    }
    for event in events {
        let at = event.time.max(0) as u64;
        changes.push(DetectedChange {
            kind: ChangeKind::Event as i32,
            service_name: event.service.clone(),
            time_unix_nano: at,
            event: truncate(&event.body, MAX_EVENT_BYTES).to_owned(),
            comparison: Some(CompareRequest {
                baseline: Some(cohort(
                    &event.service,
                    None,
                    at.saturating_sub(window),
                    at,
                    "before",
                )),
                candidate: Some(cohort(
                    &event.service,
                    None,
                    at,
                    (at + window).min(now.max(at + 1)),
                    "after",
                )),
                options: None,
            }),
            ..Default::default()
        });
    }
    // The newest first; at one time, attribute changes before events.
    changes.sort_by(|a, b| {
        b.time_unix_nano
            .cmp(&a.time_unix_nano)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.service_name.cmp(&b.service_name))
    });
    changes
}

/// A new value still running beside the old one is a canary: both over
/// the window after the change. One that replaced it: the old value over
/// the window before, the new one over the window after.
fn attribute_comparison(
    service: &str,
    key: &str,
    before: &Seen,
    after: &Seen,
    at: u64,
    window: u64,
    now: u64,
) -> CompareRequest {
    let end = (at + window).min(now.max(at + 1));
    let side_by_side = before.last.max(0) as u64 > at;
    let baseline_range = if side_by_side {
        (at, end)
    } else {
        (at.saturating_sub(window), at)
    };
    CompareRequest {
        baseline: Some(cohort(
            service,
            Some((key, &before.value)),
            baseline_range.0,
            baseline_range.1,
            "before",
        )),
        candidate: Some(cohort(service, Some((key, &after.value)), at, end, "after")),
        options: None,
    }
}

/// The spans of `service` in [start, end), with `key` = value when given;
/// labelled by the value when it fits, else by `side`.
fn cohort(
    service: &str,
    attribute: Option<(&str, &str)>,
    start: u64,
    end: u64,
    side: &str,
) -> Cohort {
    let label = match attribute {
        Some((_, value))
            if !value.is_empty()
                && value.len() <= MAX_LABEL_BYTES
                && !value.chars().any(char::is_control) =>
        {
            value.to_owned()
        }
        _ => side.to_owned(),
    };
    Cohort {
        spans: Some(SpanFilter {
            time_range: Some(TimeRange {
                start_unix_nano: start,
                end_unix_nano: end,
            }),
            service_name: service.to_owned(),
            attributes: attribute
                .map(|(key, value)| AttributeFilter {
                    key: key.to_owned(),
                    operator: MatchOperator::Equals as i32,
                    value: value.to_owned(),
                    scope: AttributeScope::Resource as i32,
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }),
        label,
    }
}

/// Compares every change, a few at a time; one that cannot be compared
/// says why in its `error`, the others are still answered.
async fn compare_all(delta: &Delta, tenant: &Tenant, changes: &mut [DetectedChange]) {
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_COMPARISONS));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, change) in changes.iter().enumerate() {
        let Some(comparison) = change.comparison.clone() else {
            continue;
        };
        let (delta, tenant, permits) = (delta.clone(), tenant.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, delta.compare(&tenant, comparison).await)
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, Ok(result))) => changes[i].result = Some(result),
            Ok((i, Err(error))) => {
                changes[i].error = airis_proto::tonic::Status::from(error).message().to_owned();
            }
            Err(e) => tracing::error!(error = %e, "a change's comparison did not finish"),
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_796_403_900 * 1_000_000_000;
    const M: i64 = MINUTE as i64;

    fn keys() -> Vec<String> {
        ["service.version", "k8s.pod.label.pod-template-hash"]
            .map(str::to_owned)
            .to_vec()
    }

    fn seen(service: &str, key: &str, value: &str, first: i64, last: i64, spans: u64) -> Seen {
        Seen {
            service: service.into(),
            key: key.into(),
            value: value.into(),
            first,
            last,
            spans,
        }
    }

    /// The last 20 minutes before T.
    fn range() -> Window {
        Window {
            start: (T - 20 * M) as u64,
            end: T as u64,
        }
    }

    fn times(request: &CompareRequest) -> [(u64, u64); 2] {
        [&request.baseline, &request.candidate].map(|c| {
            let r = c
                .as_ref()
                .unwrap()
                .spans
                .as_ref()
                .unwrap()
                .time_range
                .unwrap();
            (r.start_unix_nano, r.end_unix_nano)
        })
    }

    #[test]
    fn a_replacement_is_compared_before_and_after() {
        let rows = [
            seen(
                "inventory",
                "service.version",
                "v1",
                T - 40 * M,
                T - 15 * M,
                900,
            ),
            seen(
                "inventory",
                "service.version",
                "v2",
                T - 15 * M + 5,
                T - M,
                800,
            ),
            // The pod template changed with it: one change.
            seen(
                "inventory",
                "k8s.pod.label.pod-template-hash",
                "aaa",
                T - 40 * M,
                T - 15 * M,
                900,
            ),
            seen(
                "inventory",
                "k8s.pod.label.pod-template-hash",
                "bbb",
                T - 15 * M + 30,
                T - M,
                800,
            ),
        ];
        let changes = detect(&rows, &[], &keys(), range(), 10 * MINUTE, T as u64);
        assert_eq!(changes.len(), 1, "{changes:#?}");
        let change = &changes[0];
        assert_eq!(change.kind, ChangeKind::Attribute as i32);
        assert_eq!(change.time_unix_nano, (T - 15 * M + 5) as u64);
        let attributes: Vec<_> = change
            .attributes
            .iter()
            .map(|a| (a.key.as_str(), a.before.as_str(), a.after.as_str()))
            .collect();
        assert_eq!(
            attributes,
            [
                ("service.version", "v1", "v2"),
                ("k8s.pod.label.pod-template-hash", "aaa", "bbb")
            ]
        );
        let comparison = change.comparison.as_ref().unwrap();
        let at = (T - 15 * M + 5) as u64;
        assert_eq!(
            times(comparison),
            [(at - 10 * MINUTE, at), (at, at + 10 * MINUTE)]
        );
        let baseline = comparison.baseline.as_ref().unwrap();
        assert_eq!(baseline.label, "v1");
        let filter = &baseline.spans.as_ref().unwrap().attributes[0];
        assert_eq!(
            (filter.key.as_str(), filter.value.as_str()),
            ("service.version", "v1")
        );
    }

    #[test]
    fn a_canary_is_compared_side_by_side_up_to_now() {
        let rows = [
            seen("payment", "service.version", "v1", T - 40 * M, T - M, 900),
            seen("payment", "service.version", "v2", T - 5 * M, T - M, 90),
        ];
        let now = (T - M) as u64;
        let changes = detect(&rows, &[], &keys(), range(), 10 * MINUTE, now);
        assert_eq!(changes.len(), 1);
        let at = (T - 5 * M) as u64;
        assert_eq!(
            times(changes[0].comparison.as_ref().unwrap()),
            [(at, now), (at, now)]
        );
    }

    #[test]
    fn values_seen_from_the_start_or_long_gone_are_no_change() {
        let rows = [
            // Both versions before the range: a canary already running.
            seen("catalog", "service.version", "v1", T - 40 * M, T - M, 900),
            seen("catalog", "service.version", "v2", T - 30 * M, T - M, 90),
            // A first version ever: nothing before it.
            seen("search", "service.version", "v1", T - 10 * M, T - M, 90),
            // v0 ended an hour before v1 came: nothing in the window before.
            seen("cart", "service.version", "v0", T - 120 * M, T - 70 * M, 90),
            seen("cart", "service.version", "v1", T - 10 * M, T - M, 90),
            // After the range.
            seen("order", "service.version", "v1", T - 40 * M, T, 900),
            seen("order", "service.version", "v2", T + M, T + 2 * M, 9),
        ];
        let changes = detect(&rows, &[], &keys(), range(), 10 * MINUTE, T as u64);
        assert!(changes.is_empty(), "{changes:#?}");
    }

    #[test]
    fn the_previous_value_is_the_most_seen_and_changes_come_newest_first() {
        let rows = [
            seen("a", "service.version", "v1", T - 40 * M, T - 12 * M, 900),
            seen("a", "service.version", "v1.1", T - 30 * M, T - 12 * M, 50),
            seen("a", "service.version", "v2", T - 12 * M, T - M, 900),
            seen("b", "service.version", "v7", T - 40 * M, T - 3 * M, 900),
            seen("b", "service.version", "v8", T - 3 * M, T - M, 900),
        ];
        let events = [Event {
            service: "a".into(),
            time: T - 12 * M,
            body: "배포: a v2 ".repeat(100),
        }];
        let changes = detect(&rows, &events, &keys(), range(), 10 * MINUTE, T as u64);
        let summary: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.service_name.as_str(),
                    c.kind,
                    c.attributes.first().map(|a| a.before.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("b", ChangeKind::Attribute as i32, Some("v7")),
                ("a", ChangeKind::Attribute as i32, Some("v1")),
                ("a", ChangeKind::Event as i32, None),
            ]
        );
        let event = &changes[2];
        assert!(event.event.len() <= MAX_EVENT_BYTES && event.event.starts_with("배포"));
        let comparison = event.comparison.as_ref().unwrap();
        let at = (T - 12 * M) as u64;
        assert_eq!(
            times(comparison),
            [(at - 10 * MINUTE, at), (at, at + 10 * MINUTE)]
        );
        let baseline = comparison.baseline.as_ref().unwrap();
        assert_eq!(baseline.label, "before");
        assert!(baseline.spans.as_ref().unwrap().attributes.is_empty());
    }
}
