//! SearchLogs: filtered, full-text log search over [`LOGS`].
//!
//! - Filters: the time range (required), service name, severity range,
//!   attribute filters on `LogAttributes` (scope UNSPECIFIED) or
//!   `ResourceAttributes` (RESOURCE), trace id. EQUALS and CONTAINS need the
//!   key present (so EQUALS "" matches a present, empty value); NOT_EQUALS
//!   also matches records without the key; EXISTS refuses a value.
//! - Full text: `query` holds words and `"quoted phrases"`; every term must
//!   occur in `Body`, compared case-insensitively
//!   (`positionCaseInsensitiveUTF8`, which matches Korean and other
//!   caseless scripts as typed). Inside the query, `\"` is a literal double
//!   quote and `\\` a literal backslash; any other character, including `'`,
//!   `%`, `_` and `;`, is literal. Terms only ever travel as bound values.
//!   The `tokenbf_v1` index on `Body` is case-sensitive, so it cannot answer
//!   a case-insensitive term exactly and is not used.
//! - Order: newest first, with a keyset cursor `(Timestamp, tie, skip)`:
//!   `tie` is a hash of the record's other fields, `skip` the number of rows
//!   with exactly this `(Timestamp, tie)` already returned (identical
//!   duplicates), so paging returns every record exactly once and new
//!   records never shift pages already returned.
//! - Two statements: the histogram scan also collects, per bucket, the
//!   newest match times (`groupArraySorted`), which give the time of the
//!   page's oldest possible record; the page query then reads whole records
//!   (and hashes `tie`) only from that time on, not for every match of the
//!   range.
//! - Highlights: byte ranges of `body` of every occurrence of every term,
//!   found case-insensitively in Rust (non-overlapping per term, then sorted
//!   by start with overlapping ranges merged). Always on UTF-8 boundaries.
//! - `total_count` and `histogram` cover the whole time range (not just the
//!   page). Buckets start at multiples of the step since the Unix epoch (as
//!   `toStartOfInterval` aligns them), from the bucket holding the range's
//!   start to the one holding its end; empty buckets are 0.

use std::collections::HashMap;

use airis_proto::airis::analytics::v1::{
    AttributeFilter, AttributeScope, Highlight, HistogramBucket, LogRecord, SearchLogsRequest,
    SearchLogsResponse,
};
use airis_proto::airis::common::v1::PageInfo;
use airis_runtime::tenant::Tenant;

use airis_store::tables::LOGS;

use crate::{
    Error,
    page::{Fields, Page, PageKey},
    query::{self, Bind, RequestWindow as _, Sql, Store, Window},
};

/// Histogram buckets when the request leaves the step 0.
const TARGET_BUCKETS: u32 = 60;

/// The row identity used as the paging tie-breaker after `Timestamp`.
const TIE: &str = "cityHash64(TraceId, SpanId, SeverityText, SeverityNumber, ServiceName, Body, \
                   ScopeName, LogAttributes, ResourceAttributes)";

pub async fn search_logs(
    store: &Store,
    tenant: &Tenant,
    request: SearchLogsRequest,
) -> Result<SearchLogsResponse, Error> {
    let plan = Plan::new(tenant, &request, store.limits())?;
    let buckets: Vec<BucketRow> = store.query(&plan.scan_sql()).fetch_all().await?;
    let cutoff = page_cutoff(&buckets, plan.limit());
    let rows: Vec<Row> = store.query(&plan.page_sql(cutoff)).fetch_all().await?;
    let (rows, page) = plan.page(rows);
    Ok(plan.response(&buckets, rows, page))
}

// === plan ===

/// A validated request: what both statements read and how to page.
struct Plan<'a> {
    tenant: &'a Tenant,
    window: Window,
    /// Histogram bucket width in seconds.
    step: u32,
    page: Page<LogCursor>,
    terms: Vec<String>,
    /// Conditions other than tenant and time, shared by both statements.
    conditions: Sql,
}

impl<'a> Plan<'a> {
    fn new(
        tenant: &'a Tenant,
        request: &SearchLogsRequest,
        limits: &query::Limits,
    ) -> Result<Self, Error> {
        let window = Window::from_proto("time_range", request.time_range.as_ref(), limits)?;
        let step = window.step_secs(
            "histogram_step_seconds",
            request.histogram_step_seconds,
            TARGET_BUCKETS,
            1,
            limits,
        )?;
        let page = Page::new(LogCursor::TAG, request.page.as_ref(), limits)?;
        let terms = parse_query(&request.query)?;
        let mut conditions = Sql::default();
        push_filters(&mut conditions, request, &terms)?;
        Ok(Self {
            tenant,
            window,
            step,
            page,
            terms,
            conditions,
        })
    }

    /// Rows the page statement reads: the page, one more to know whether
    /// another follows, and the identical rows the previous pages already
    /// returned.
    fn limit(&self) -> u64 {
        let skip = self.page.after.as_ref().map_or(0, |c| c.skip);
        self.page.fetch().saturating_add(skip)
    }

    fn step_nanos(&self) -> i64 {
        i64::from(self.step) * 1_000_000_000
    }

    /// The seconds of the window's first and last nanosecond.
    fn seconds(&self) -> (i64, i64) {
        let second = |nanos: u64| (nanos / 1_000_000_000).min(u64::from(u32::MAX)) as i64;
        (second(self.window.start), second(self.window.end - 1))
    }

    // === scan ===

    /// One scan of the window: per histogram bucket the matches and the
    /// newest match seconds the page can start from ([`BucketRow`]).
    ///
    /// It reads the second-precision `TimestampTime` (also the primary
    /// key's) instead of `Timestamp`, except in the window's first and last
    /// second, where nanoseconds decide.
    fn scan_sql(&self) -> Sql {
        let (first_sec, last_sec) = self.seconds();
        let mut seconds = Sql::default();
        let mut part = |time: &str, binds: Vec<Bind>| {
            if !seconds.text.is_empty() {
                seconds.push(" UNION ALL ");
            }
            seconds
                .push(&format!(
                    "SELECT toUInt32(TimestampTime) AS sec FROM {LOGS} WHERE "
                ))
                .tenant(self.tenant)
                .push_binds(time, binds)
                .extend(&self.conditions);
        };
        let edge = " AND TimestampTime = toDateTime(?) \
                    AND Timestamp >= fromUnixTimestamp64Nano(?) AND Timestamp < fromUnixTimestamp64Nano(?)";
        let in_window = |sec: i64| {
            vec![
                Bind::I64(sec),
                Bind::I64(self.window.start as i64),
                Bind::I64(self.window.end as i64),
            ]
        };
        part(edge, in_window(first_sec));
        if last_sec > first_sec {
            part(edge, in_window(last_sec));
        }
        if last_sec > first_sec + 1 {
            part(
                " AND TimestampTime > toDateTime(?) AND TimestampTime < toDateTime(?)",
                vec![Bind::I64(first_sec), Bind::I64(last_sec)],
            );
        }
        let mut sql = Sql::default();
        sql.push_binds(
            "SELECT toInt64(intDiv(sec, ?) * ?) AS bucket, count() AS n, ",
            [
                Bind::I64(i64::from(self.step)),
                Bind::I64(self.step_nanos()),
            ],
        );
        // Negated, so that the smallest `limit` values are the newest seconds.
        sql.push_bind(
            "groupArraySortedIf(?)(-toInt64(sec), ",
            self.limit().min(u64::from(u32::MAX)),
        );
        match &self.page.after {
            // Strictly older than the cursor's second: the page statement
            // reads all rows of the cursor's own second, whatever the cutoff.
            Some(c) => sql.push_bind("sec < ?", Bind::I64(c.ts.div_euclid(1_000_000_000))),
            None => sql.push("1"),
        };
        sql.push(") AS newest FROM (");
        sql.extend(&seconds);
        sql.push(") GROUP BY bucket ORDER BY bucket");
        sql
    }

    // === page ===

    /// Whole records, newest first, from the cursor on and, when the scan
    /// found one, not older than `cutoff` (the `limit`-th newest match).
    fn page_sql(&self, cutoff: Option<i64>) -> Sql {
        let (first_sec, last_sec) = self.seconds();
        let mut sql = Sql::new(&format!(
            "SELECT toUnixTimestamp64Nano(Timestamp) AS ts, {TIE} AS tie, TraceId AS trace_id, \
             SpanId AS span_id, toString(SeverityText) AS severity_text, \
             SeverityNumber AS severity_number, toString(ServiceName) AS service_name, Body AS body, \
             CAST(LogAttributes, 'Map(String, String)') AS log_attributes, \
             CAST(ResourceAttributes, 'Map(String, String)') AS resource_attributes, \
             ScopeName AS scope_name FROM {LOGS} WHERE "
        ));
        sql.tenant(self.tenant).push(" AND ");
        self.window.sql(&mut sql, "Timestamp");
        // The same bounds on the second-precision column the primary key and
        // the partitions are on, so that they prune.
        sql.push_binds(
            " AND TimestampTime >= toDateTime(?) AND TimestampTime <= toDateTime(?)",
            [Bind::I64(cutoff.unwrap_or(first_sec)), Bind::I64(last_sec)],
        );
        sql.extend(&self.conditions);
        if let Some(cutoff) = cutoff {
            sql.push_binds(
                " AND Timestamp >= fromUnixTimestamp64Nano(?) AND TimestampTime >= toDateTime(?)",
                [
                    Bind::I64(cutoff),
                    Bind::I64(cutoff.div_euclid(1_000_000_000)),
                ],
            );
        }
        if let Some(c) = &self.page.after {
            sql.push_binds(
                " AND Timestamp <= fromUnixTimestamp64Nano(?) AND (ts, tie) <= (?, ?)",
                [Bind::I64(c.ts), Bind::I64(c.ts), Bind::U64(c.tie)],
            );
        }
        sql.push_bind(" ORDER BY ts DESC, tie DESC LIMIT ?", self.limit());
        sql
    }

    /// The page among `rows` (read by [`Plan::page_sql`]) and the token of
    /// the next one.
    fn page<R: Keyed>(&self, mut rows: Vec<R>) -> (Vec<R>, PageInfo) {
        let cursor = self.page.after.as_ref();
        if let Some(c) = cursor {
            // Drop the identical rows the previous pages already returned.
            let already = rows
                .iter()
                .take_while(|r| r.key() == (c.ts, c.tie))
                .count()
                .min(usize::try_from(c.skip).unwrap_or(usize::MAX));
            rows.drain(..already);
        }
        let size = self.page.size as usize;
        let more = rows.len() > size;
        rows.truncate(size);
        let next_page_token = match rows.last() {
            Some(last) if more => {
                let (ts, tie) = last.key();
                // Rows of this page with the same (ts, tie) as its last one,
                // plus those skipped before when the page started inside
                // that run.
                let mut skip = rows
                    .iter()
                    .rev()
                    .take_while(|r| r.key() == (ts, tie))
                    .count() as u64;
                if let Some(c) = cursor
                    && (c.ts, c.tie) == (ts, tie)
                    && skip == rows.len() as u64
                {
                    skip = skip.saturating_add(c.skip);
                }
                self.page.token(&LogCursor { ts, tie, skip })
            }
            _ => String::new(),
        };
        (rows, PageInfo { next_page_token })
    }

    // === response ===

    /// Every bucket from the one holding the window's start to the one
    /// holding its last nanosecond, empty ones 0.
    fn histogram(&self, buckets: &[BucketRow]) -> Vec<HistogramBucket> {
        let step = self.step_nanos();
        let by_bucket: HashMap<i64, u64> = buckets.iter().map(|b| (b.bucket, b.n)).collect();
        let first = self.window.start as i64 / step * step;
        let last = (self.window.end as i64 - 1) / step * step;
        (0..)
            .map(|i| first + i * step)
            .take_while(|b| *b <= last)
            .map(|b| HistogramBucket {
                time_unix_nano: b as u64,
                count: by_bucket.get(&b).copied().unwrap_or(0),
            })
            .collect()
    }

    fn response(
        &self,
        buckets: &[BucketRow],
        rows: Vec<Row>,
        page: PageInfo,
    ) -> SearchLogsResponse {
        SearchLogsResponse {
            records: rows
                .into_iter()
                .map(|r| r.into_proto(&self.terms))
                .collect(),
            page: Some(page),
            total_count: buckets.iter().map(|b| b.n).sum(),
            histogram: self.histogram(buckets),
            histogram_step_seconds: self.step,
        }
    }
}

// === rows ===

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct BucketRow {
    bucket: i64,
    n: u64,
    /// The bucket's newest match seconds (below the cursor's), negated,
    /// ascending.
    newest: Vec<i64>,
}

/// The second of the `limit`-th newest match, when there are that many: the
/// page needs no older record. `None`: fewer matches, the page reads them all.
fn page_cutoff(buckets: &[BucketRow], limit: u64) -> Option<i64> {
    let limit = usize::try_from(limit).ok()?;
    let mut newest: Vec<i64> = buckets
        .iter()
        .flat_map(|b| b.newest.iter().copied())
        .collect();
    if newest.len() < limit || limit == 0 {
        return None;
    }
    let (_, kth, _) = newest.select_nth_unstable(limit - 1);
    Some(-*kth)
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Row {
    ts: i64,
    tie: u64,
    trace_id: String,
    span_id: String,
    severity_text: String,
    severity_number: u8,
    service_name: String,
    body: String,
    log_attributes: HashMap<String, String>,
    resource_attributes: HashMap<String, String>,
    scope_name: String,
}

/// A record's place in the page order.
trait Keyed {
    /// `(ts, tie)`.
    fn key(&self) -> (i64, u64);
}

impl Keyed for Row {
    fn key(&self) -> (i64, u64) {
        (self.ts, self.tie)
    }
}

impl Row {
    fn into_proto(self, terms: &[String]) -> LogRecord {
        LogRecord {
            time_unix_nano: self.ts as u64,
            highlights: highlights(&self.body, terms),
            trace_id: self.trace_id,
            span_id: self.span_id,
            severity_text: self.severity_text,
            severity_number: i32::from(self.severity_number),
            service_name: self.service_name,
            body: self.body,
            attributes: self.log_attributes,
            resource_attributes: self.resource_attributes,
            scope_name: self.scope_name,
        }
    }
}

/// Where the previous page stopped: `(Timestamp, tie)` of its last record
/// and how many records with exactly that key the pages so far returned.
#[derive(Debug, Clone, PartialEq)]
struct LogCursor {
    ts: i64,
    tie: u64,
    skip: u64,
}

impl LogCursor {
    const TAG: &str = "logs";
}

impl PageKey for LogCursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([
            self.ts.to_string(),
            self.tie.to_string(),
            self.skip.to_string(),
        ]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            ts: fields.number()?,
            tie: fields.number()?,
            skip: fields.number()?,
        })
    }
}

// === filters ===

/// Appends ` AND ...` for every filter of the request.
fn push_filters(sql: &mut Sql, request: &SearchLogsRequest, terms: &[String]) -> Result<(), Error> {
    if !request.service_name.is_empty() {
        sql.push_bind(" AND ServiceName = ?", request.service_name.as_str());
    }
    let severity = |field: &str, value: i32| {
        if (0..=24).contains(&value) {
            Ok(value)
        } else {
            Err(Error::InvalidArgument(format!(
                "{field}: {value} is not a severity number (1 to 24, or 0 for no bound)"
            )))
        }
    };
    let min = severity("min_severity_number", request.min_severity_number)?;
    let max = severity("max_severity_number", request.max_severity_number)?;
    if min != 0 && max != 0 && min > max {
        return Err(Error::InvalidArgument(format!(
            "min_severity_number: {min} is greater than max_severity_number {max}"
        )));
    }
    if min != 0 {
        sql.push_bind(" AND SeverityNumber >= ?", min as u64);
    }
    if max != 0 {
        sql.push_bind(" AND SeverityNumber <= ?", max as u64);
    }
    for (i, filter) in request.attributes.iter().enumerate() {
        push_attribute(sql, i, filter)?;
    }
    if !request.trace_id.is_empty() {
        let id = query::trace_id("trace_id", &request.trace_id)?;
        sql.push_bind(" AND TraceId = ?", id);
    }
    for term in terms {
        sql.push_bind(
            " AND positionCaseInsensitiveUTF8(Body, ?) > 0",
            term.as_str(),
        );
    }
    Ok(())
}

fn push_attribute(sql: &mut Sql, i: usize, filter: &AttributeFilter) -> Result<(), Error> {
    let field = format!("attributes[{i}]");
    let scope: AttributeScope = query::known_enum(&format!("{field}.scope"), filter.scope)?;
    let column = match scope {
        AttributeScope::Unspecified => "LogAttributes",
        AttributeScope::Resource => "ResourceAttributes",
    };
    query::push_map_match(
        sql,
        &field,
        column,
        &filter.key,
        filter.operator,
        &filter.value,
    )
}

// === query parsing ===

/// Splits a query into words and quoted phrases. `\"` and `\\` escape a
/// quote and a backslash; an unterminated quote is refused.
pub fn parse_query(query: &str) -> Result<Vec<String>, Error> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut in_phrase = false;
    let mut chars = query.chars().peekable();
    let finish = |current: &mut String, terms: &mut Vec<String>| {
        if !current.is_empty() && !terms.contains(current) {
            terms.push(std::mem::take(current));
        }
        current.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                current.push(chars.next().unwrap_or('\\'));
            }
            '"' => {
                finish(&mut current, &mut terms);
                in_phrase = !in_phrase;
            }
            c if c.is_whitespace() && !in_phrase => finish(&mut current, &mut terms),
            c => current.push(c),
        }
    }
    if in_phrase {
        return Err(Error::InvalidArgument(
            "query: unterminated quoted phrase (a \" without its closing \")".to_owned(),
        ));
    }
    finish(&mut current, &mut terms);
    Ok(terms)
}

// === highlights ===

/// Byte ranges of every case-insensitive occurrence of every term in
/// `body`, sorted, overlapping ranges merged.
pub fn highlights(body: &str, terms: &[String]) -> Vec<Highlight> {
    if terms.is_empty() {
        return Vec::new();
    }
    // The body folded to lowercase, each folded char with the byte range of
    // the original char it came from.
    let folded: Vec<(char, usize, usize)> = body
        .char_indices()
        .flat_map(|(at, c)| {
            let end = at + c.len_utf8();
            c.to_lowercase().map(move |l| (l, at, end))
        })
        .collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for term in terms {
        let needle: Vec<char> = term.chars().flat_map(char::to_lowercase).collect();
        if needle.is_empty() || needle.len() > folded.len() {
            continue;
        }
        let mut i = 0;
        while i + needle.len() <= folded.len() {
            if folded[i..i + needle.len()]
                .iter()
                .zip(&needle)
                .all(|((c, _, _), n)| c == n)
            {
                ranges.push((folded[i].1, folded[i + needle.len() - 1].2));
                i += needle.len();
            } else {
                i += 1;
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(start, end)| Highlight {
            start: start as u32,
            end: end as u32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_cutoff_is_the_limit_th_newest_match() {
        let bucket = |newest: &[i64]| BucketRow {
            bucket: 0,
            n: newest.len() as u64,
            newest: newest.iter().map(|t| -t).collect(),
        };
        let buckets = [bucket(&[5, 3, 1]), bucket(&[9, 8]), bucket(&[])];
        assert_eq!(page_cutoff(&buckets, 1), Some(9));
        assert_eq!(page_cutoff(&buckets, 3), Some(5));
        assert_eq!(page_cutoff(&buckets, 5), Some(1));
        assert_eq!(page_cutoff(&buckets, 6), None);
        assert_eq!(page_cutoff(&buckets, 0), None);
    }

    /// A record reduced to its page key and an identity.
    #[derive(Debug, Clone, PartialEq)]
    struct Item {
        ts: i64,
        tie: u64,
        id: usize,
    }

    impl Keyed for Item {
        fn key(&self) -> (i64, u64) {
            (self.ts, self.tie)
        }
    }

    #[test]
    fn pages_return_identical_records_exactly_once() {
        use airis_proto::airis::common::v1::{PageRequest, TimeRange};
        let tenant = Tenant::parse("acme").unwrap();
        // Newest first: one record, a run of five identical ones, two more.
        let keys = [
            (9, 1),
            (5, 7),
            (5, 7),
            (5, 7),
            (5, 7),
            (5, 7),
            (5, 3),
            (2, 8),
        ];
        let all: Vec<Item> = keys
            .iter()
            .enumerate()
            .map(|(id, &(ts, tie))| Item { ts, tie, id })
            .collect();
        for size in 1..=4 {
            let mut seen = Vec::new();
            let mut token = String::new();
            for _ in 0..all.len() + 1 {
                let request = SearchLogsRequest {
                    time_range: Some(TimeRange {
                        start_unix_nano: 1,
                        end_unix_nano: 10,
                    }),
                    page: Some(PageRequest {
                        page_size: size,
                        page_token: token.clone(),
                    }),
                    ..Default::default()
                };
                let plan = Plan::new(&tenant, &request, &query::Limits::default()).unwrap();
                // What the page statement reads: (ts, tie) at or below the
                // cursor's, newest first, `limit` rows.
                let read: Vec<Item> = all
                    .iter()
                    .filter(|r| {
                        plan.page
                            .after
                            .as_ref()
                            .is_none_or(|c| r.key() <= (c.ts, c.tie))
                    })
                    .take(plan.limit() as usize)
                    .cloned()
                    .collect();
                let (rows, info) = plan.page(read);
                assert!(rows.len() <= size as usize);
                seen.extend(rows.into_iter().map(|r| r.id));
                token = info.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            assert_eq!(seen, (0..all.len()).collect::<Vec<_>>(), "page size {size}");
        }
    }

    fn spans<'a>(body: &'a str, terms: &[&str]) -> Vec<&'a str> {
        let terms: Vec<String> = terms.iter().map(|t| (*t).to_owned()).collect();
        highlights(body, &terms)
            .iter()
            .map(|h| &body[h.start as usize..h.end as usize])
            .collect()
    }

    #[test]
    fn queries_split_into_words_and_phrases() {
        assert_eq!(
            parse_query(r#"  결제 "payment failed"  x'y; "#).unwrap(),
            vec!["결제", "payment failed", "x'y;"]
        );
        assert_eq!(
            parse_query(r#"say \"hi\" a\\b c\d"#).unwrap(),
            vec!["say", "\"hi\"", "a\\b", "c\\d"]
        );
        assert_eq!(parse_query(r#"a"b c"d"#).unwrap(), vec!["a", "b c", "d"]);
        assert_eq!(parse_query(r#""" a a"#).unwrap(), vec!["a"]);
        let err = parse_query(r#"ok "open"#).unwrap_err();
        assert!(err.to_string().starts_with("query:"), "{err}");
    }

    #[test]
    fn highlights_fold_case_on_char_boundaries() {
        assert_eq!(
            spans("Timeout after TIMEOUT", &["timeout"]),
            vec!["Timeout", "TIMEOUT"]
        );
        assert_eq!(
            spans("결제 실패 timeout 결제", &["결제", "TimeOut"]),
            vec!["결제", "timeout", "결제"]
        );
        assert_eq!(spans("ÄRGER ärger", &["Ärger"]), vec!["ÄRGER", "ärger"]);
        // Overlapping matches of two terms merge.
        assert_eq!(spans("abcdef", &["abc", "cde"]), vec!["abcde"]);
        assert_eq!(spans("aaaa", &["aa"]), vec!["aa", "aa"]);
        assert!(spans("nothing", &["zzz"]).is_empty());
        let body = "İstanbul";
        let h = highlights(body, &["i̇stanbul".to_owned()]);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].start, h[0].end), (0, body.len() as u32));
    }
}
