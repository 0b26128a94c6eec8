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
    query::{self, Bind, RequestWindow as _, Sql, Store, Window},
};

/// Histogram buckets when the request leaves the step 0.
const TARGET_BUCKETS: u32 = 60;

/// The row identity used as the paging tie-breaker after `Timestamp`.
const TIE: &str = "cityHash64(TraceId, SpanId, SeverityText, SeverityNumber, ServiceName, Body, \
                   ScopeName, LogAttributes, ResourceAttributes)";

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

pub async fn search_logs(
    store: &Store,
    tenant: &Tenant,
    request: SearchLogsRequest,
) -> Result<SearchLogsResponse, Error> {
    let limits = store.limits();
    let window = Window::from_proto("time_range", request.time_range.as_ref(), limits)?;
    let step = window.step_secs(
        "histogram_step_seconds",
        request.histogram_step_seconds,
        TARGET_BUCKETS,
        limits,
    )?;
    let page_size = query::page_size("page", request.page.as_ref(), limits)?;
    let token = request.page.as_ref().map_or("", |p| p.page_token.as_str());
    let cursor = decode_cursor(token)?;
    let terms = parse_query(&request.query)?;
    // Conditions other than time, shared by both statements.
    let mut conditions = Sql::default();
    push_filters(&mut conditions, &request, &terms)?;
    let second = |nanos: u64| (nanos / 1_000_000_000).min(u64::from(u32::MAX)) as i64;
    let (first_sec, last_sec) = (second(window.start), second(window.end - 1));

    // One scan of the window gives the histogram (and the total) and, per
    // bucket, the newest match seconds the page can start from. The page
    // then reads whole records only from the `limit`-th newest match's
    // second on, instead of hashing every match of the window to sort them.
    // The scan reads the second-precision `TimestampTime` (also the primary
    // key's) instead of `Timestamp`, except in the window's first and last
    // second, where nanoseconds decide.
    let skip = cursor.as_ref().map_or(0, |c| c.skip);
    let limit = u64::from(page_size).saturating_add(1).saturating_add(skip);
    let step_nanos = i64::from(step) * 1_000_000_000;
    let mut seconds = Sql::default();
    let part = |seconds: &mut Sql, time: &str, binds: Vec<Bind>| {
        if !seconds.text.is_empty() {
            seconds.push(" UNION ALL ");
        }
        seconds
            .push(&format!(
                "SELECT toUInt32(TimestampTime) AS sec FROM {LOGS} WHERE "
            ))
            .tenant(tenant)
            .push_binds(time, binds)
            .extend(&conditions);
    };
    let edge = " AND TimestampTime = toDateTime(?) \
                AND Timestamp >= fromUnixTimestamp64Nano(?) AND Timestamp < fromUnixTimestamp64Nano(?)";
    let in_window = |sec: i64| {
        vec![
            Bind::I64(sec),
            Bind::I64(window.start as i64),
            Bind::I64(window.end as i64),
        ]
    };
    part(&mut seconds, edge, in_window(first_sec));
    if last_sec > first_sec {
        part(&mut seconds, edge, in_window(last_sec));
    }
    if last_sec > first_sec + 1 {
        part(
            &mut seconds,
            " AND TimestampTime > toDateTime(?) AND TimestampTime < toDateTime(?)",
            vec![Bind::I64(first_sec), Bind::I64(last_sec)],
        );
    }
    let mut counts = Sql::default();
    counts.push_binds(
        "SELECT toInt64(intDiv(sec, ?) * ?) AS bucket, count() AS n, ",
        [Bind::I64(i64::from(step)), Bind::I64(step_nanos)],
    );
    // Negated, so that the smallest `limit` values are the newest seconds.
    counts.push_bind(
        "groupArraySortedIf(?)(-toInt64(sec), ",
        limit.min(u64::from(u32::MAX)),
    );
    match &cursor {
        // Strictly older than the cursor's second: the page query reads all
        // rows of the cursor's own second, whatever the cutoff.
        Some(c) => counts.push_bind("sec < ?", Bind::I64(c.ts.div_euclid(1_000_000_000))),
        None => counts.push("1"),
    };
    counts.push(") AS newest FROM (");
    counts.extend(&seconds);
    counts.push(") GROUP BY bucket ORDER BY bucket");
    let buckets: Vec<BucketRow> = store.query(&counts).fetch_all().await?;
    let cutoff = page_cutoff(&buckets, limit);

    let mut filter = Sql::default();
    filter.tenant(tenant).push(" AND ");
    window.sql(&mut filter, "Timestamp");
    // The same bounds on the second-precision column the primary key and
    // the partitions are on, so that they prune.
    filter.push_binds(
        " AND TimestampTime >= toDateTime(?) AND TimestampTime <= toDateTime(?)",
        [Bind::I64(cutoff.unwrap_or(first_sec)), Bind::I64(last_sec)],
    );
    filter.extend(&conditions);

    // The page.
    let mut sql = Sql::new(&format!(
        "SELECT toUnixTimestamp64Nano(Timestamp) AS ts, {TIE} AS tie, TraceId AS trace_id, \
         SpanId AS span_id, toString(SeverityText) AS severity_text, \
         SeverityNumber AS severity_number, toString(ServiceName) AS service_name, Body AS body, \
         CAST(LogAttributes, 'Map(String, String)') AS log_attributes, \
         CAST(ResourceAttributes, 'Map(String, String)') AS resource_attributes, \
         ScopeName AS scope_name FROM {LOGS} WHERE "
    ));
    sql.extend(&filter);
    if let Some(cutoff) = cutoff {
        sql.push_binds(
            " AND Timestamp >= fromUnixTimestamp64Nano(?) AND TimestampTime >= toDateTime(?)",
            [
                Bind::I64(cutoff),
                Bind::I64(cutoff.div_euclid(1_000_000_000)),
            ],
        );
    }
    if let Some(c) = &cursor {
        sql.push_binds(
            " AND Timestamp <= fromUnixTimestamp64Nano(?) AND (ts, tie) <= (?, ?)",
            [Bind::I64(c.ts), Bind::I64(c.ts), Bind::U64(c.tie)],
        );
    }
    sql.push_bind(" ORDER BY ts DESC, tie DESC LIMIT ?", limit);
    let mut rows: Vec<Row> = store.query(&sql).fetch_all().await?;
    if let Some(c) = &cursor {
        // Drop the identical rows the previous pages already returned.
        let already = rows
            .iter()
            .take_while(|r| r.ts == c.ts && r.tie == c.tie)
            .count()
            .min(usize::try_from(c.skip).unwrap_or(usize::MAX));
        rows.drain(..already);
    }
    let more = rows.len() > page_size as usize;
    rows.truncate(page_size as usize);
    let next_page_token = match rows.last() {
        Some(last) if more => {
            // Rows of this page with the same (ts, tie) as its last one, plus
            // those skipped before when the page started inside that run.
            let mut same = rows
                .iter()
                .rev()
                .take_while(|r| r.ts == last.ts && r.tie == last.tie)
                .count() as u64;
            if let Some(c) = &cursor
                && c.ts == last.ts
                && c.tie == last.tie
                && same == rows.len() as u64
            {
                same = same.saturating_add(c.skip);
            }
            encode_cursor(last.ts, last.tie, same)
        }
        _ => String::new(),
    };

    let by_bucket: HashMap<i64, u64> = buckets.iter().map(|b| (b.bucket, b.n)).collect();
    let total_count = buckets.iter().map(|b| b.n).sum();
    let first = window.start as i64 / step_nanos * step_nanos;
    let last = (window.end as i64 - 1) / step_nanos * step_nanos;
    let histogram = (0..)
        .map(|i| first + i * step_nanos)
        .take_while(|b| *b <= last)
        .map(|b| HistogramBucket {
            time_unix_nano: b as u64,
            count: by_bucket.get(&b).copied().unwrap_or(0),
        })
        .collect();

    let records = rows
        .into_iter()
        .map(|r| LogRecord {
            time_unix_nano: r.ts as u64,
            highlights: highlights(&r.body, &terms),
            trace_id: r.trace_id,
            span_id: r.span_id,
            severity_text: r.severity_text,
            severity_number: i32::from(r.severity_number),
            service_name: r.service_name,
            body: r.body,
            attributes: r.log_attributes,
            resource_attributes: r.resource_attributes,
            scope_name: r.scope_name,
        })
        .collect();
    Ok(SearchLogsResponse {
        records,
        page: Some(PageInfo { next_page_token }),
        total_count,
        histogram,
        histogram_step_seconds: step,
    })
}

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

// === cursor ===

struct Cursor {
    ts: i64,
    tie: u64,
    skip: u64,
}

fn encode_cursor(ts: i64, tie: u64, skip: u64) -> String {
    query::encode_cursor(&[ts.to_string(), tie.to_string(), skip.to_string()])
}

fn decode_cursor(token: &str) -> Result<Option<Cursor>, Error> {
    let Some(fields) = query::decode_cursor("page", token, 3)? else {
        return Ok(None);
    };
    let invalid =
        || Error::InvalidArgument("page.page_token: not a token from this service".into());
    Ok(Some(Cursor {
        ts: fields[0].parse().map_err(|_| invalid())?,
        tie: fields[1].parse().map_err(|_| invalid())?,
        skip: fields[2].parse().map_err(|_| invalid())?,
    }))
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
