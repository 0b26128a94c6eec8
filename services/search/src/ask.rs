//! Ask: an interpretation as the query service's request ([`plan`], pure),
//! sent with the caller's own credentials ([`Asker`]), so that search
//! reaches nothing the caller could not reach through the query service
//! itself. What no request can apply is named in `not_applied`, never
//! left out in silence (docs/search.md, "Ask").

use airis_proto::airis::aiops::v1::{
    self as aiops, AnomalyFilter, ListAnomaliesRequest,
    anomaly_service_client::AnomalyServiceClient,
};
use airis_proto::airis::analytics::v1::{
    self as query, LabelFilter, ListMetricsRequest, MetricType, QueryMetricsRequest,
    SearchLogsRequest, SearchSpansRequest, SearchTracesRequest, ServiceOverviewRequest, SpanFilter,
    SpanOrder, StatusCode, TopKDimension, TopKMetric, TopKRequest,
    query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::airis::delta::v1::{
    self as delta, Cohort, CompareOptions, CompareRequest, delta_service_client::DeltaServiceClient,
};
use airis_proto::airis::search::v1::{
    Aggregation, Answer, Interpretation, NotApplied, Order, Signal, Status, VersionComparison,
    answer,
};
use airis_proto::tonic::{self, metadata::MetadataMap, transport::Channel};

use crate::Error;
use crate::words::VERSION;

/// The most groups TopK gives, and what a smallest-first question asks
/// it for before ordering them here.
const TOP_K_MAX: u32 = 100;
/// TopK's own default.
const TOP_K_DEFAULT: u32 = 10;
/// The error logs' severity: ERROR (17) and above, as the parser reads
/// "error logs".
const ERROR_SEVERITY: i32 = 17;
/// The quantile of a histogram metric asked for without one (the Metrics
/// page's default).
const DEFAULT_METRIC_QUANTILE: f64 = 0.95;
/// ListMetrics pages read to learn a metric's type.
const METRIC_TYPE_PAGES: usize = 10;
/// The most anomalies ListAnomalies gives in a page, and what is asked
/// for when they are narrowed or reordered here.
const ANOMALIES_MAX: u32 = 1000;
/// ListAnomalies' own default page.
const ANOMALIES_DEFAULT: usize = 100;

/// What answers an interpretation, before it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub query: answer::Query,
    /// What is done to the answer before it is returned.
    pub narrow: Narrow,
    pub not_applied: Vec<NotApplied>,
    /// A QueryMetrics without an aggregation: it is chosen from the
    /// metric's type when sent (a gauge's average, a counter's rate, a
    /// histogram's p95), as the Metrics page does.
    pub metric_aggregation_from_type: bool,
}

/// The answer narrowed to what the interpretation asks beyond its request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Narrow {
    /// Only the series or groups of these services (empty: every one).
    pub services: Vec<String>,
    /// Only the series of these operations (empty: every one).
    pub operations: Vec<String>,
    /// Groups ordered by this, largest first unless `smallest`.
    pub by: Option<By>,
    pub smallest: bool,
    /// At most this many groups (0: all).
    pub limit: usize,
    /// Ordered or picked here among the most groups TopK gives: with that
    /// many, groups beyond them may be missing.
    pub among_top: bool,
}

impl Narrow {
    fn is_noop(&self) -> bool {
        *self == Self::default()
    }
}

/// What groups are ordered by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum By {
    Requests,
    Errors,
    ErrorRate,
    /// A latency percentile: 50, 95 or 99.
    Latency(u8),
    /// A metric series' mean value.
    Mean,
    /// An anomaly's score.
    Score,
    /// An anomaly's minute.
    Time,
}

/// The reasons, in the asker's language.
struct Notes {
    korean: bool,
    list: Vec<NotApplied>,
}

impl Notes {
    fn add(&mut self, field: impl Into<String>, en: &str, ko: &str) {
        self.list.push(NotApplied {
            field: field.into(),
            reason: if self.korean { ko } else { en }.to_owned(),
        });
    }

    /// Every part of `i` in `parts` that is set, with one reason.
    fn unsupported(&mut self, i: &Interpretation, parts: &[Part], en: &str, ko: &str) {
        for part in parts {
            for field in part.set_fields(i) {
                self.add(field, en, ko);
            }
        }
    }
}

/// Interpretation fields, for naming the ones a query has no place for.
#[derive(Clone, Copy)]
enum Part {
    Operations,
    Status,
    Severity,
    Durations,
    Values,
    Attributes,
    Text,
    Aggregation,
    GroupBy,
    Order,
}

impl Part {
    fn set_fields(self, i: &Interpretation) -> Vec<String> {
        let indexed = |name: &str, n: usize| (0..n).map(|k| format!("{name}[{k}]")).collect();
        let flag = |name: &str, set: bool| if set { vec![name.to_owned()] } else { vec![] };
        match self {
            Part::Operations => indexed("operations", i.operations.len()),
            Part::Status => flag("status", i.status != Status::Unspecified as i32),
            Part::Severity => {
                let mut out = flag("min_severity_number", i.min_severity_number != 0);
                out.extend(flag("max_severity_number", i.max_severity_number != 0));
                out
            }
            Part::Durations => {
                let mut out = flag("min_duration", i.min_duration.is_some());
                out.extend(flag("max_duration", i.max_duration.is_some()));
                out
            }
            Part::Values => {
                let mut out = flag("min_value", i.min_value.is_some());
                out.extend(flag("max_value", i.max_value.is_some()));
                out
            }
            Part::Attributes => indexed("attributes", i.attributes.len()),
            Part::Text => flag("text", !i.text.is_empty()),
            Part::Aggregation => flag(
                "aggregation",
                i.aggregation != Aggregation::Unspecified as i32,
            ),
            Part::GroupBy => indexed("group_by", i.group_by.len()),
            Part::Order => flag("order", i.order != Order::Unspecified as i32),
        }
    }
}

fn known<E: TryFrom<i32>>(field: &str, value: i32) -> Result<E, Error> {
    E::try_from(value).map_err(|_| {
        Error::InvalidArgument(format!("interpretation.{field}: unknown value {value}"))
    })
}

/// The query that answers `i`, and what it cannot apply; `korean` picks
/// the reasons' language.
pub fn plan(i: &Interpretation, korean: bool) -> Result<Plan, Error> {
    let Some(range) = i.time_range else {
        return Err(Error::InvalidArgument(
            "interpretation.time_range: required".into(),
        ));
    };
    let signal: Signal = known("signal", i.signal)?;
    let aggregation: Aggregation = known("aggregation", i.aggregation)?;
    known::<Status>("status", i.status)?;
    known::<Order>("order", i.order)?;
    let mut notes = Notes {
        korean,
        list: Vec::new(),
    };
    let summary = aggregation != Aggregation::Unspecified || !i.group_by.is_empty();
    let mut plan = if signal == Signal::Anomalies {
        anomalies(i, range, aggregation, &mut notes)?
    } else if signal == Signal::Metrics || !i.metric_name.is_empty() {
        metrics(i, range, aggregation, &mut notes)
    } else if signal == Signal::Logs {
        logs(i, range, aggregation, &mut notes)
    } else if signal == Signal::Services || summary {
        summarise(i, range, signal, aggregation, &mut notes)?
    } else {
        requests(i, range, signal, &mut notes)?
    };
    plan.not_applied = notes.list;
    Ok(plan)
}

fn page(limit: u32) -> Option<PageRequest> {
    (limit > 0).then(|| PageRequest {
        page_size: limit,
        page_token: String::new(),
    })
}

/// The first of a list the query takes one of; the others named.
fn first(list: &[String], field: &str, rpc: &str, notes: &mut Notes) -> String {
    for k in 1..list.len() {
        notes.add(
            format!("{field}[{k}]"),
            &format!("{rpc} takes one; the first is asked"),
            &format!("{rpc}는 하나만 받아 첫 번째 값만 조회했습니다"),
        );
    }
    list.first().cloned().unwrap_or_default()
}

/// A span filter from `i` (the single-valued parts' first values).
fn span_filter(
    i: &Interpretation,
    range: TimeRange,
    rpc: &str,
    notes: &mut Notes,
) -> Result<SpanFilter, Error> {
    let status_code = match Status::try_from(i.status) {
        Ok(Status::Error) => StatusCode::Error,
        Ok(Status::Ok) => {
            notes.add(
                "status",
                &format!(
                    "{rpc} filters one status code, and successful spans mostly have none (UNSET)"
                ),
                &format!("{rpc}는 상태 코드 하나로만 거르는데, 성공한 스팬은 대부분 상태 코드가 없습니다(UNSET)"),
            );
            StatusCode::Unspecified
        }
        _ => StatusCode::Unspecified,
    };
    // The query service's bounds are inclusive: "over 500 ms" starts a
    // nanosecond later. Its 0 means no bound, so a bound that leaves
    // nothing ("under 1 ns") is refused rather than dropped.
    let min_duration_nano = i.min_duration.map_or(0, |b| {
        if b.inclusive {
            b.nano
        } else {
            b.nano.saturating_add(1)
        }
    });
    let max_duration_nano = match i.max_duration {
        None => 0,
        Some(b) if b.inclusive && b.nano > 0 => b.nano,
        Some(b) if !b.inclusive && b.nano > 1 => b.nano - 1,
        Some(b) => {
            return Err(Error::InvalidArgument(format!(
                "interpretation.max_duration: {} ns{} leaves no request",
                b.nano,
                if b.inclusive { "" } else { " exclusive" }
            )));
        }
    };
    if max_duration_nano != 0 && min_duration_nano > max_duration_nano {
        return Err(Error::InvalidArgument(
            "interpretation.min_duration: more than max_duration".into(),
        ));
    }
    // A span's text filter is one substring; the interpretation's text is
    // a log search's words and phrases, all of which must appear.
    let (text, more) = first_term(&i.text);
    if more {
        notes.add(
            "text",
            &format!("{rpc} matches one word or phrase; the first is asked"),
            &format!("{rpc}는 단어나 구절 하나만 찾아 첫 번째 것만 조회했습니다"),
        );
    }
    Ok(SpanFilter {
        time_range: Some(range),
        service_name: first(&i.service_names, "service_names", rpc, notes),
        parent_service_name: String::new(),
        operation: first(&i.operations, "operations", rpc, notes),
        kind: query::SpanKind::Unspecified as i32,
        status_code: status_code as i32,
        min_duration_nano,
        max_duration_nano,
        attributes: i.attributes.clone(),
        text,
    })
}

/// The first word or quoted phrase of a log search's text, without its
/// quotes, and whether more follow.
fn first_term(text: &str) -> (String, bool) {
    let text = text.trim();
    let mut chars = text.chars();
    let close = match chars.next() {
        Some('"') => Some('"'),
        Some('\'') => Some('\''),
        Some('“') => Some('”'),
        Some('「') => Some('」'),
        _ => None,
    };
    let (term, rest) = match close {
        Some(close) => {
            let body = chars.as_str();
            match body.find(close) {
                Some(end) => (&body[..end], &body[end + close.len_utf8()..]),
                None => (body, ""),
            }
        }
        None => text.split_once(char::is_whitespace).unwrap_or((text, "")),
    };
    (term.trim().to_owned(), !rest.trim().is_empty())
}

fn plain(query: answer::Query) -> Plan {
    Plan {
        query,
        narrow: Narrow::default(),
        not_applied: Vec::new(),
        metric_aggregation_from_type: false,
    }
}

/// Traces or spans, as listed.
fn requests(
    i: &Interpretation,
    range: TimeRange,
    signal: Signal,
    notes: &mut Notes,
) -> Result<Plan, Error> {
    let rpc = if signal == Signal::Spans {
        "SearchSpans"
    } else {
        "SearchTraces"
    };
    let filter = span_filter(i, range, rpc, notes)?;
    let order = match Order::try_from(i.order).unwrap_or_default() {
        Order::OldestFirst => SpanOrder::OldestFirst,
        Order::LongestFirst => SpanOrder::LongestFirst,
        Order::Unspecified => SpanOrder::Unspecified,
        Order::LargestFirst | Order::SmallestFirst => {
            notes.add(
                "order",
                &format!("{rpc} orders by time or duration, not by groups"),
                &format!("{rpc}는 시간이나 소요 시간 순으로만 정렬합니다"),
            );
            SpanOrder::Unspecified
        }
    };
    notes.unsupported(
        i,
        &[Part::Severity, Part::Values],
        &format!("{rpc} has no such filter"),
        &format!("{rpc}에는 이 조건이 없습니다"),
    );
    let page = page(i.limit);
    Ok(plain(if signal == Signal::Spans {
        answer::Query::SearchSpans(SearchSpansRequest {
            filter: Some(filter),
            order: order as i32,
            page,
        })
    } else {
        answer::Query::SearchTraces(SearchTracesRequest {
            filter: Some(filter),
            order: order as i32,
            page,
        })
    }))
}

fn logs(i: &Interpretation, range: TimeRange, aggregation: Aggregation, notes: &mut Notes) -> Plan {
    let rpc = "SearchLogs";
    let mut min_severity_number = i.min_severity_number;
    match Status::try_from(i.status).unwrap_or_default() {
        // Errors at or above the severity asked: both bounds hold.
        Status::Error => min_severity_number = min_severity_number.max(ERROR_SEVERITY),
        Status::Ok => notes.add(
            "status",
            "a log record has a severity, not an outcome",
            "로그에는 성공·실패가 아니라 심각도가 있습니다",
        ),
        _ => {}
    }
    // A count is the answer's total_count; other summaries it has not.
    if !matches!(aggregation, Aggregation::Unspecified | Aggregation::Count) {
        notes.add(
            "aggregation",
            "SearchLogs counts records (total_count, histogram), nothing else",
            "SearchLogs는 로그 수(total_count, 히스토그램)만 셉니다",
        );
    }
    let order = Order::try_from(i.order).unwrap_or_default();
    if order != Order::Unspecified {
        notes.add(
            "order",
            "SearchLogs gives the newest first",
            "SearchLogs는 최신 로그부터 줍니다",
        );
    }
    notes.unsupported(
        i,
        &[
            Part::Operations,
            Part::Durations,
            Part::Values,
            Part::GroupBy,
        ],
        "SearchLogs has no such filter",
        "SearchLogs에는 이 조건이 없습니다",
    );
    plain(answer::Query::SearchLogs(SearchLogsRequest {
        time_range: Some(range),
        service_name: first(&i.service_names, "service_names", rpc, notes),
        min_severity_number,
        max_severity_number: i.max_severity_number,
        attributes: i.attributes.clone(),
        query: i.text.clone(),
        trace_id: String::new(),
        page: page(i.limit),
        histogram_step_seconds: 0,
    }))
}

fn metrics(
    i: &Interpretation,
    range: TimeRange,
    aggregation: Aggregation,
    notes: &mut Notes,
) -> Plan {
    let others = [
        Part::Operations,
        Part::Status,
        Part::Severity,
        Part::Durations,
        Part::Values,
        Part::Text,
    ];
    if i.metric_name.is_empty() {
        // "checkout 메트릭": which metrics there are.
        let rpc = "ListMetrics";
        notes.unsupported(
            i,
            &others,
            "no metric is named: ListMetrics lists them",
            "메트릭 이름이 없어 ListMetrics로 목록을 표시했습니다",
        );
        notes.unsupported(
            i,
            &[
                Part::Attributes,
                Part::Aggregation,
                Part::GroupBy,
                Part::Order,
            ],
            "no metric is named: ListMetrics lists them",
            "메트릭 이름이 없어 ListMetrics로 목록을 표시했습니다",
        );
        return plain(answer::Query::ListMetrics(ListMetricsRequest {
            time_range: Some(range),
            service_name: first(&i.service_names, "service_names", rpc, notes),
            page: page(i.limit),
        }));
    }
    let rpc = "QueryMetrics";
    notes.unsupported(
        i,
        &others,
        "QueryMetrics has no such filter",
        "QueryMetrics에는 이 조건이 없습니다",
    );
    let mut filters: Vec<LabelFilter> = i
        .attributes
        .iter()
        .map(|a| LabelFilter {
            key: a.key.clone(),
            operator: a.operator,
            value: a.value.clone(),
        })
        .collect();
    let service = first(&i.service_names, "service_names", rpc, notes);
    if !service.is_empty() {
        filters.push(LabelFilter {
            key: "service.name".into(),
            operator: query::MatchOperator::Equals as i32,
            value: service,
        });
    }
    let mut from_type = false;
    let (metric_aggregation, quantile) = match aggregation {
        Aggregation::Avg => (query::Aggregation::Avg, 0.0),
        Aggregation::Min => (query::Aggregation::Min, 0.0),
        Aggregation::Max => (query::Aggregation::Max, 0.0),
        Aggregation::Sum => (query::Aggregation::Sum, 0.0),
        Aggregation::Rate => (query::Aggregation::Rate, 0.0),
        Aggregation::Quantile => (query::Aggregation::Quantile, i.quantile),
        Aggregation::Unspecified => {
            from_type = true;
            (query::Aggregation::Unspecified, 0.0)
        }
        Aggregation::Count | Aggregation::ErrorRate => {
            notes.add(
                "aggregation",
                "a metric is summed, averaged, taken at its minimum, maximum or a quantile, or rated; the metric's usual summary is shown",
                "메트릭은 합·평균·최솟값·최댓값·처리율·분위수로만 요약해, 그 메트릭의 기본 요약을 표시했습니다",
            );
            from_type = true;
            (query::Aggregation::Unspecified, 0.0)
        }
    };
    let mut group_by = Vec::new();
    for (k, key) in i.group_by.iter().enumerate() {
        match key.as_str() {
            "service" => group_by.push("service.name".to_owned()),
            "operation" | "status" => notes.add(
                format!("group_by[{k}]"),
                "a metric's series have no operation or status",
                "메트릭 시계열에는 작업이나 상태가 없습니다",
            ),
            other => group_by.push(other.to_owned()),
        }
    }
    let mut narrow = Narrow::default();
    match Order::try_from(i.order).unwrap_or_default() {
        Order::LargestFirst | Order::SmallestFirst if !group_by.is_empty() => {
            narrow.by = Some(By::Mean);
            narrow.smallest = i.order == Order::SmallestFirst as i32;
        }
        Order::Unspecified => {}
        _ => notes.add(
            "order",
            "a metric's series are ordered by their mean, when grouped",
            "메트릭 시계열은 묶었을 때 평균값으로만 정렬합니다",
        ),
    }
    if i.limit > 0 {
        if group_by.is_empty() {
            notes.add(
                "limit",
                "one series: nothing to cut",
                "시계열이 하나라 자를 것이 없습니다",
            );
        } else {
            narrow.limit = i.limit as usize;
        }
    }
    Plan {
        query: answer::Query::QueryMetrics(QueryMetricsRequest {
            metric_name: i.metric_name.clone(),
            time_range: Some(range),
            filters,
            aggregation: metric_aggregation as i32,
            quantile,
            group_by,
            step_seconds: 0,
        }),
        narrow,
        not_applied: Vec::new(),
        metric_aggregation_from_type: from_type,
    }
}

/// The percentile `q` is, when the query service gives it.
/// Anomalies continuous detection found: ListAnomalies, with the signals
/// the question names (errors: the error rate; a rate or count: the
/// request rate; a percentile: that latency), newest first unless asked
/// otherwise.
fn anomalies(
    i: &Interpretation,
    range: TimeRange,
    aggregation: Aggregation,
    notes: &mut Notes,
) -> Result<Plan, Error> {
    let rpc = "ListAnomalies";
    let mut signals = Vec::new();
    match Status::try_from(i.status).unwrap_or_default() {
        Status::Error => signals.push(aiops::Signal::ErrorRate),
        Status::Ok => notes.add(
            "status",
            "anomalies are found in whole series, not in successful requests",
            "이상 징후는 성공한 요청만이 아니라 계열 전체에서 찾습니다",
        ),
        Status::Unspecified => {}
    }
    match aggregation {
        Aggregation::Count | Aggregation::Rate => signals.push(aiops::Signal::RequestRate),
        Aggregation::ErrorRate => signals.push(aiops::Signal::ErrorRate),
        Aggregation::Quantile => match percentile(i.quantile) {
            Some(50) => signals.push(aiops::Signal::LatencyP50),
            Some(95) => signals.push(aiops::Signal::LatencyP95),
            Some(_) => signals.push(aiops::Signal::LatencyP99),
            None => notes.add(
                "quantile",
                "latency is watched as p50, p95 and p99; anomalies of every signal are listed",
                "지연 시간은 p50, p95, p99로만 감시해 모든 신호의 이상 징후를 조회했습니다",
            ),
        },
        Aggregation::Avg | Aggregation::Min | Aggregation::Max | Aggregation::Sum => notes.add(
            "aggregation",
            "continuous detection watches request rate, error rate and p50/p95/p99 latency",
            "연속 탐지는 요청률, 오류율, p50/p95/p99 지연 시간만 감시합니다",
        ),
        Aggregation::Unspecified => {}
    }
    signals.dedup();
    if !i.metric_name.is_empty() {
        notes.add(
            "metric_name",
            "a metric series' anomalies are named by its aggregation and filters: see the Anomalies page",
            "메트릭 계열의 이상 징후는 집계와 필터로 지정합니다. 이상 징후 페이지에서 보세요",
        );
    }
    notes.unsupported(
        i,
        &[
            Part::Severity,
            Part::Durations,
            Part::Values,
            Part::Attributes,
            Part::Text,
            Part::GroupBy,
        ],
        "ListAnomalies has no such filter",
        "ListAnomalies에는 이 조건이 없습니다",
    );
    let mut narrow = Narrow::default();
    match Order::try_from(i.order).unwrap_or_default() {
        Order::LargestFirst => narrow.by = Some(By::Score),
        Order::SmallestFirst => {
            narrow.by = Some(By::Score);
            narrow.smallest = true;
        }
        Order::OldestFirst => {
            narrow.by = Some(By::Time);
            narrow.smallest = true;
        }
        Order::LongestFirst => notes.add(
            "order",
            "anomalies are ordered by time or score",
            "이상 징후는 시간이나 점수 순으로만 정렬합니다",
        ),
        Order::Unspecified => {}
    }
    // One service is ListAnomalies' filter; several are picked here.
    let service_name = match i.service_names.as_slice() {
        [one] => one.clone(),
        _ => {
            narrow.services = i.service_names.clone();
            String::new()
        }
    };
    let limit = i.limit as usize;
    let page_size = if narrow.is_noop() {
        limit.min(ANOMALIES_MAX as usize) as u32
    } else {
        narrow.limit = if limit == 0 { ANOMALIES_DEFAULT } else { limit };
        narrow.among_top = true;
        ANOMALIES_MAX
    };
    if limit > ANOMALIES_MAX as usize {
        notes.add(
            "limit",
            &format!("{rpc} gives at most {ANOMALIES_MAX} at a time"),
            &format!("{rpc}는 한 번에 최대 {ANOMALIES_MAX}개를 줍니다"),
        );
    }
    Ok(Plan {
        query: answer::Query::ListAnomalies(ListAnomaliesRequest {
            time_range: Some(range),
            filter: Some(AnomalyFilter {
                service_name,
                operation: first(&i.operations, "operations", rpc, notes),
                signals: signals.into_iter().map(|s| s as i32).collect(),
                min_score: 0.0,
                metric: None,
            }),
            page: page(page_size),
        }),
        narrow,
        not_applied: Vec::new(),
        metric_aggregation_from_type: false,
    })
}

fn percentile(q: f64) -> Option<u8> {
    [(0.5, 50), (0.95, 95), (0.99, 99)]
        .into_iter()
        .find(|(p, _)| (q - p).abs() < 1e-9)
        .map(|(_, n)| n)
}

/// Requests counted, rated or timed: ServiceOverview (the RED numbers of
/// services, or of one service's operations) when the interpretation has
/// nothing RED cannot say, TopK over any span filter otherwise.
fn summarise(
    i: &Interpretation,
    range: TimeRange,
    signal: Signal,
    aggregation: Aggregation,
    notes: &mut Notes,
) -> Result<Plan, Error> {
    notes.unsupported(
        i,
        &[Part::Severity, Part::Values],
        "requests have no severity or value",
        "요청에는 심각도나 값이 없습니다",
    );
    if aggregation == Aggregation::Quantile && !(i.quantile > 0.0 && i.quantile <= 1.0) {
        return Err(Error::InvalidArgument(format!(
            "interpretation.quantile: {}, expected (0, 1] with AGGREGATION_QUANTILE",
            i.quantile
        )));
    }
    let latency = percentile(i.quantile);
    let by = match aggregation {
        Aggregation::Count | Aggregation::Rate => Some(By::Requests),
        Aggregation::ErrorRate => Some(By::ErrorRate),
        Aggregation::Quantile => Some(By::Latency(latency.unwrap_or(99))),
        Aggregation::Avg | Aggregation::Min | Aggregation::Max | Aggregation::Sum => {
            Some(By::Latency(99))
        }
        Aggregation::Unspecified => None,
    };
    let needs_spans = i.status != Status::Unspecified as i32
        || i.min_duration.is_some()
        || i.max_duration.is_some()
        || !i.attributes.is_empty()
        || !i.text.is_empty()
        || i.group_by.len() > 1;
    let one = i.service_names.len() == 1;
    let key = i.group_by.first().map(String::as_str);
    let per_operation = one
        && (key == Some("operation")
            || (key.is_none() && signal == Signal::Services && by.is_none()));
    let per_service = matches!(key, None | Some("service")) && i.operations.is_empty();
    if !needs_spans && (per_operation || per_service) {
        return Ok(overview(i, range, aggregation, by, per_operation, notes));
    }
    top_k(i, range, aggregation, by, notes)
}

fn latency_note(aggregation: Aggregation, latency: Option<u8>, notes: &mut Notes) {
    let mismatch = match aggregation {
        Aggregation::Quantile => latency.is_none(),
        Aggregation::Avg | Aggregation::Min | Aggregation::Max | Aggregation::Sum => true,
        _ => false,
    };
    if mismatch {
        notes.add(
            "aggregation",
            "the query service summarises durations as p50, p95 and p99; ordered by p99",
            "쿼리 서비스는 소요 시간을 p50, p95, p99로만 요약해 p99로 정렬했습니다",
        );
    }
}

fn overview(
    i: &Interpretation,
    range: TimeRange,
    aggregation: Aggregation,
    by: Option<By>,
    per_operation: bool,
    notes: &mut Notes,
) -> Plan {
    latency_note(aggregation, percentile(i.quantile), notes);
    let mut narrow = Narrow {
        by,
        ..Narrow::default()
    };
    if per_operation {
        narrow.operations = i.operations.clone();
    } else {
        narrow.services = i.service_names.clone();
    }
    let order = Order::try_from(i.order).unwrap_or_default();
    // "Top 3 services" with no number named: by their requests.
    if narrow.by.is_none() && matches!(order, Order::LargestFirst | Order::SmallestFirst) {
        narrow.by = Some(By::Requests);
    }
    match order {
        Order::SmallestFirst => narrow.smallest = true,
        Order::LongestFirst => narrow.by = Some(By::Latency(99)),
        Order::OldestFirst => notes.add(
            "order",
            "services' numbers have no age to order by",
            "서비스 수치에는 시간 순서가 없습니다",
        ),
        Order::LargestFirst | Order::Unspecified => {}
    }
    narrow.limit = i.limit as usize;
    Plan {
        query: answer::Query::ServiceOverview(ServiceOverviewRequest {
            time_range: Some(range),
            service_name: if per_operation {
                i.service_names[0].clone()
            } else {
                String::new()
            },
            step_seconds: 0,
            entry_spans_only: true,
        }),
        narrow,
        not_applied: Vec::new(),
        metric_aggregation_from_type: false,
    }
}

fn top_k(
    i: &Interpretation,
    range: TimeRange,
    aggregation: Aggregation,
    by: Option<By>,
    notes: &mut Notes,
) -> Result<Plan, Error> {
    let rpc = "TopK";
    let mut narrow = Narrow::default();
    let key = i.group_by.first().map(String::as_str);
    let (dimension, attribute_key) = match key {
        None | Some("service") => (TopKDimension::Service, String::new()),
        Some("operation") => (TopKDimension::Operation, String::new()),
        Some("status") => {
            notes.add(
                "group_by[0]",
                "TopK groups by service, operation or an attribute; grouped by service",
                "TopK는 서비스, 작업, 속성으로만 묶어 서비스로 묶었습니다",
            );
            (TopKDimension::Service, String::new())
        }
        Some(attribute) => (TopKDimension::Attribute, attribute.to_owned()),
    };
    for k in 1..i.group_by.len() {
        notes.add(
            format!("group_by[{k}]"),
            "TopK groups by one key; the first is used",
            "TopK는 하나로만 묶어 첫 번째를 썼습니다",
        );
    }
    // Several services grouped by service: every service's groups, then
    // those named.
    let several = dimension == TopKDimension::Service && i.service_names.len() > 1;
    let filter = if several {
        let mut only = i.clone();
        only.service_names.clear();
        narrow.services = i.service_names.clone();
        span_filter(&only, range, rpc, notes)?
    } else {
        span_filter(i, range, rpc, notes)?
    };
    latency_note(aggregation, percentile(i.quantile), notes);
    let order = Order::try_from(i.order).unwrap_or_default();
    let metric = match (by, order) {
        (_, Order::LongestFirst) | (Some(By::Latency(_)), _) => TopKMetric::Latency,
        (Some(By::Errors | By::ErrorRate), _) => TopKMetric::Errors,
        _ => TopKMetric::Count,
    };
    if aggregation == Aggregation::Rate {
        notes.add(
            "aggregation",
            "TopK counts; the rate is the count over the time range",
            "TopK는 개수를 셉니다. 처리율은 개수를 시간 범위로 나눈 값입니다",
        );
    }
    if order == Order::OldestFirst {
        notes.add(
            "order",
            "groups have no age to order by",
            "묶음에는 시간 순서가 없습니다",
        );
    }
    let smallest = order == Order::SmallestFirst;
    let mut k = if i.limit == 0 { TOP_K_DEFAULT } else { i.limit };
    if k > TOP_K_MAX {
        notes.add(
            "limit",
            "TopK gives at most 100 groups",
            "TopK는 최대 100개 묶음을 줍니다",
        );
        k = TOP_K_MAX;
    }
    // TopK orders by count, errors or p99, largest first. Another order
    // (an error rate, p50 or p95, smallest first) or a pick of named
    // services is made here, among the most TopK gives.
    let own = match (metric, by) {
        (TopKMetric::Errors, Some(By::ErrorRate)) => Some(By::ErrorRate),
        (TopKMetric::Latency, Some(By::Latency(p))) if p != 99 => Some(By::Latency(p)),
        _ => None,
    };
    if smallest || several || own.is_some() {
        narrow.smallest = smallest;
        narrow.by = Some(own.unwrap_or(match metric {
            TopKMetric::Latency => By::Latency(99),
            TopKMetric::Errors => By::Errors,
            _ => By::Requests,
        }));
        narrow.limit = k as usize;
        narrow.among_top = true;
        k = TOP_K_MAX;
    }
    let attribute_scope = if crate::parse::is_resource_key(&attribute_key) {
        query::AttributeScope::Resource
    } else {
        query::AttributeScope::Unspecified
    };
    Ok(Plan {
        query: answer::Query::TopK(TopKRequest {
            filter: Some(filter),
            dimension: dimension as i32,
            attribute_key,
            metric: metric as i32,
            k,
            attribute_scope: attribute_scope as i32,
        }),
        narrow,
        not_applied: Vec::new(),
        metric_aggregation_from_type: false,
    })
}

/// The longest version compare_versions takes, in bytes.
const MAX_VERSION_BYTES: usize = 256;
/// Versions TopK is asked for when one is chosen when asked.
const VERSIONS_CHOSEN_AMONG: u32 = 10;

/// The checks of `i.compare_versions`: alone (not with a shift), each
/// version short, the two different.
pub fn check_versions(i: &Interpretation) -> Result<(), Error> {
    let Some(v) = &i.compare_versions else {
        return Ok(());
    };
    if i.compare_shift_nano != 0 {
        return Err(Error::InvalidArgument(
            "interpretation.compare_versions: at most one of compare_shift_nano and compare_versions"
                .into(),
        ));
    }
    for (field, version) in [("candidate", &v.candidate), ("baseline", &v.baseline)] {
        if version.len() > MAX_VERSION_BYTES {
            return Err(Error::InvalidArgument(format!(
                "interpretation.compare_versions.{field}: {} bytes, at most {MAX_VERSION_BYTES}",
                version.len()
            )));
        }
    }
    if !v.candidate.is_empty() && v.candidate == v.baseline {
        return Err(Error::InvalidArgument(format!(
            "interpretation.compare_versions: candidate and baseline are both {:?}",
            v.candidate
        )));
    }
    Ok(())
}

/// One side of a comparison of versions: `i` over the spans, logs or
/// metric points of `version` only (in place of any version filter `i`
/// has: a third version named, "v3 vs v2 vs v1").
pub fn versioned(i: &Interpretation, version: &str) -> Interpretation {
    let mut side = i.clone();
    side.compare_versions = None;
    side.attributes.retain(|a| a.key != VERSION);
    side.attributes.push(query::AttributeFilter {
        key: VERSION.to_owned(),
        operator: query::MatchOperator::Equals as i32,
        value: version.to_owned(),
        scope: query::AttributeScope::Resource as i32,
    });
    side
}

/// A side's plan: what it says of the version filter it adds is said of
/// compare_versions.
pub fn plan_versioned(i: &Interpretation, version: &str, korean: bool) -> Result<Plan, Error> {
    let side = versioned(i, version);
    // The side's attributes are `i`'s but its version filters, then the
    // version: what the plan says of them by index is said of `i`'s.
    let kept: Vec<usize> = (0..i.attributes.len())
        .filter(|&k| i.attributes[k].key != VERSION)
        .collect();
    let mut plan = plan(&side, korean)?;
    for note in &mut plan.not_applied {
        let index = note
            .field
            .strip_prefix("attributes[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|k| k.parse::<usize>().ok());
        match index {
            Some(k) if k < kept.len() => note.field = format!("attributes[{}]", kept[k]),
            Some(_) => note.field = "compare_versions".into(),
            None => {}
        }
    }
    let mut notes = Notes {
        korean,
        list: Vec::new(),
    };
    for (k, a) in i.attributes.iter().enumerate() {
        if a.key == VERSION {
            notes.add(
                format!("attributes[{k}]"),
                "the versions compared take the place of this version",
                "비교하는 두 버전이 이 버전 조건을 대신합니다",
            );
        }
    }
    plan.not_applied.extend(notes.list);
    Ok(plan)
}

/// The TopK that finds the versions of `i`'s spans (of its first service):
/// by spans, most first.
pub fn versions_query(i: &Interpretation) -> Option<TopKRequest> {
    let range = i.time_range?;
    Some(TopKRequest {
        filter: Some(SpanFilter {
            time_range: Some(range),
            service_name: i.service_names.first().cloned().unwrap_or_default(),
            attributes: i
                .attributes
                .iter()
                .filter(|a| a.key != VERSION)
                .cloned()
                .collect(),
            ..Default::default()
        }),
        dimension: TopKDimension::Attribute as i32,
        attribute_key: VERSION.to_owned(),
        metric: TopKMetric::Count as i32,
        k: VERSIONS_CHOSEN_AMONG,
        attribute_scope: query::AttributeScope::Resource as i32,
    })
}

/// The versions compared, those left empty chosen among `present` (the
/// versions of the spans, most spans first): of the two with the most
/// spans, the newer is the candidate (`v2` after `v1`, so that a rollout
/// past half is still judged the right way round), or, for versions that
/// are not numbers, the one with fewer (a canary's share). One given, the
/// other is the version with the most spans besides it. The error names
/// what is missing.
pub fn pick_versions(
    asked: &VersionComparison,
    present: &[(String, u64)],
    whose: &str,
    korean: bool,
) -> Result<VersionComparison, Error> {
    let others = |not: &str| {
        present
            .iter()
            .map(|(v, _)| v.as_str())
            .find(|v| *v != not)
            .map(str::to_owned)
    };
    let (candidate, baseline) = match (asked.candidate.as_str(), asked.baseline.as_str()) {
        ("", "") => match present {
            [(most, _), (next, _), ..] => {
                let (newer, older) = crate::parse::newer_first(next, most);
                (Some(newer), Some(older))
            }
            _ => (None, others("")),
        },
        ("", b) => (others(b), Some(b.to_owned())),
        (c, "") => (Some(c.to_owned()), others(c)),
        (c, b) => (Some(c.to_owned()), Some(b.to_owned())),
    };
    match (candidate, baseline) {
        (Some(candidate), Some(baseline)) => Ok(VersionComparison {
            candidate,
            baseline,
        }),
        _ => {
            let seen: Vec<&str> = present.iter().map(|(v, _)| v.as_str()).collect();
            let seen = match (seen.is_empty(), korean) {
                (true, true) => "버전이 없습니다".to_owned(),
                (true, false) => "no version".to_owned(),
                (false, true) => format!("버전이 {}뿐입니다", seen.join(", ")),
                (false, false) => format!("only {}", seen.join(", ")),
            };
            Err(Error::FailedPrecondition(if korean {
                format!(
                    "interpretation.compare_versions: 이 시간 범위의 {whose} 스팬에는 {seen}. 비교할 다른 버전이 없습니다"
                )
            } else {
                format!(
                    "interpretation.compare_versions: the spans of {whose} in the time range have {seen} (service.version); there is no other version to compare with"
                )
            }))
        }
    }
}

/// `query` over the time range moved `shift` back; `None` when that
/// reaches before 1970.
pub fn shifted(query: &answer::Query, shift: u64) -> Option<answer::Query> {
    let mut query = query.clone();
    let range = match &mut query {
        answer::Query::SearchTraces(r) => r.filter.as_mut().and_then(|f| f.time_range.as_mut()),
        answer::Query::SearchSpans(r) => r.filter.as_mut().and_then(|f| f.time_range.as_mut()),
        answer::Query::TopK(r) => r.filter.as_mut().and_then(|f| f.time_range.as_mut()),
        answer::Query::SearchLogs(r) => r.time_range.as_mut(),
        answer::Query::QueryMetrics(r) => r.time_range.as_mut(),
        answer::Query::ListMetrics(r) => r.time_range.as_mut(),
        answer::Query::ServiceOverview(r) => r.time_range.as_mut(),
        answer::Query::ListAnomalies(r) => r.time_range.as_mut(),
        // A judgement compares two ranges of its own.
        answer::Query::Compare(_) => None,
    }?;
    range.start_unix_nano = range.start_unix_nano.checked_sub(shift)?;
    range.end_unix_nano = range.end_unix_nano.checked_sub(shift)?;
    Some(query)
}

/// The delta service's Compare that judges a comparison of requests:
/// the spans of `i`'s range against those of the range moved
/// `compare_shift_nano` back, or the candidate version's spans against
/// the baseline version's over the range; `None` when `i` is no
/// comparison of traces, spans or services (or its versions are not both
/// known yet), or the earlier range reaches before 1970. What the cohorts
/// leave out of `i` is in the notes.
pub fn judgement(
    i: &Interpretation,
    korean: bool,
    now_unix_nano: u64,
) -> Option<(CompareRequest, Vec<NotApplied>)> {
    let shift = i.compare_shift_nano;
    let range = i.time_range?;
    let signal = Signal::try_from(i.signal).ok()?;
    let requests = i.metric_name.is_empty()
        && matches!(
            signal,
            Signal::Traces | Signal::Spans | Signal::Services | Signal::Unspecified
        );
    // The two cohorts: the range moved back, or the two versions (both
    // known by now) over the same range.
    let versions = i
        .compare_versions
        .as_ref()
        .filter(|v| !v.candidate.is_empty() && !v.baseline.is_empty());
    if shift == 0 && versions.is_none() || !requests {
        return None;
    }
    let before = TimeRange {
        start_unix_nano: range.start_unix_nano.checked_sub(shift)?,
        end_unix_nano: range.end_unix_nano.checked_sub(shift)?,
    };
    let mut notes = Notes {
        korean,
        list: Vec::new(),
    };
    let mut note = |field: String, en: &str, ko: &str| notes.add(field, en, ko);
    for k in 1..i.service_names.len() {
        note(
            format!("service_names[{k}]"),
            "Compare judges one service; the first is judged",
            "Compare는 서비스 하나만 판정해 첫 번째 서비스만 판정했습니다",
        );
    }
    let bias = (
        "the cohorts hold every request: a filter on it would bias what is compared",
        "코호트는 모든 요청을 담습니다. 이 조건으로 거르면 비교가 치우칩니다",
    );
    for field in Part::Durations.set_fields(i) {
        note(field, bias.0, bias.1);
    }
    if i.status == Status::Ok as i32 {
        note("status".into(), bias.0, bias.1);
    } else if i.status == Status::Error as i32 {
        note(
            "status".into(),
            "the errors among every request are judged, not the failed requests alone",
            "실패한 요청만 거르지 않고 모든 요청 중 오류를 판정합니다",
        );
    }
    if !i.text.is_empty() {
        note(
            "text".into(),
            "the cohorts are not narrowed by words",
            "코호트는 단어로 좁히지 않습니다",
        );
    }
    // What the question is about picks what is judged.
    let aggregation = Aggregation::try_from(i.aggregation).unwrap_or_default();
    let mut signals = Vec::new();
    if i.status == Status::Error as i32 || aggregation == Aggregation::ErrorRate {
        signals.push(delta::Signal::Errors);
    }
    if matches!(
        aggregation,
        Aggregation::Quantile | Aggregation::Avg | Aggregation::Min | Aggregation::Max
    ) || i.min_duration.is_some()
        || i.max_duration.is_some()
        || i.order == Order::LongestFirst as i32
    {
        signals.push(delta::Signal::Latency);
    }
    // A count or rate is judged on every signal: the delta service reports
    // an operation's share of the traffic and never fails it, so it alone
    // would pass anything.
    // Named from the asker's "now": "today" and "yesterday" only for a
    // range that ends about now.
    let current = range.end_unix_nano.saturating_add(CURRENT_SLACK_NANO) >= now_unix_nano;
    let cohort = |time_range, label: String, version: Option<&str>| Cohort {
        spans: Some(SpanFilter {
            time_range: Some(time_range),
            service_name: i.service_names.first().cloned().unwrap_or_default(),
            attributes: match version {
                Some(v) => versioned(i, v).attributes,
                None => i.attributes.clone(),
            },
            ..Default::default()
        }),
        label,
    };
    let (baseline, candidate) = match versions {
        Some(v) => (
            cohort(range, cohort_label(&v.baseline), Some(&v.baseline)),
            cohort(range, cohort_label(&v.candidate), Some(&v.candidate)),
        ),
        None => {
            let (now, earlier) = range_names(shift, korean, current);
            (cohort(before, earlier, None), cohort(range, now, None))
        }
    };
    let request = CompareRequest {
        baseline: Some(baseline),
        candidate: Some(candidate),
        options: Some(CompareOptions {
            signals: signals.into_iter().map(|s| s as i32).collect(),
            operations: i.operations.clone(),
            ..Default::default()
        }),
    };
    Some((request, notes.list))
}

/// A version as a cohort's label: the delta service takes 64 bytes.
fn cohort_label(version: &str) -> String {
    const MAX_LABEL_BYTES: usize = 64;
    let mut end = version.len().min(MAX_LABEL_BYTES);
    while !version.is_char_boundary(end) {
        end -= 1;
    }
    version[..end].to_owned()
}

/// A range ending this close to "now" (or later) is the current one.
const CURRENT_SLACK_NANO: u64 = 5 * 60_000_000_000;

/// How a comparison's two ranges are named: the asked one, and the one
/// `shift` before it; "오늘" and "어제", "this week" and "last week" when
/// the asked range is `current`.
fn range_names(shift: u64, korean: bool, current: bool) -> (String, String) {
    const SECOND: u64 = 1_000_000_000;
    const DAY: u64 = 86_400 * SECOND;
    let (asked, earlier) = match (current, korean, shift) {
        (true, true, DAY) => ("오늘", "어제".to_owned()),
        (true, false, DAY) => ("today", "yesterday".to_owned()),
        (true, true, s) if s == 7 * DAY => ("이번 주", "지난주".to_owned()),
        (true, false, s) if s == 7 * DAY => ("this week", "last week".to_owned()),
        (true, true, s) => ("지금", format!("{} 전", span_words(s, true))),
        (true, false, s) => ("now", format!("{} earlier", span_words(s, false))),
        (false, true, s) => ("요청한 범위", format!("그 {} 전", span_words(s, true))),
        (false, false, s) => (
            "the asked range",
            format!("{} before it", span_words(s, false)),
        ),
    };
    (asked.to_owned(), earlier)
}

/// A shift in its largest whole unit: "2일", "3 hours", "90 seconds".
fn span_words(shift: u64, korean: bool) -> String {
    const SECOND: u64 = 1_000_000_000;
    let units: [(u64, &str, &str); 4] = [
        (86_400 * SECOND, "일", "day"),
        (3_600 * SECOND, "시간", "hour"),
        (60 * SECOND, "분", "minute"),
        (SECOND, "초", "second"),
    ];
    let (size, ko, en) = units
        .into_iter()
        .find(|(size, _, _)| shift.is_multiple_of(*size))
        .unwrap_or(units[3]);
    let n = shift.div_ceil(size);
    match (korean, n) {
        (true, _) => format!("{n}{ko}"),
        (false, 1) => format!("1 {en}"),
        (false, _) => format!("{n} {en}s"),
    }
}

/// The query service's answer narrowed as `narrow` says.
pub fn narrowed(result: &mut answer::Result, narrow: &Narrow) {
    match result {
        answer::Result::Overview(o) => {
            o.series.retain(|s| {
                (narrow.services.is_empty() || narrow.services.contains(&s.service_name))
                    && (narrow.operations.is_empty() || narrow.operations.contains(&s.operation))
            });
            if let Some(by) = narrow.by {
                sort_by_key(&mut o.series, narrow.smallest, |s| {
                    let latency = s.latency.unwrap_or_default();
                    match by {
                        By::Requests => s.request_count as f64,
                        By::Errors => s.error_count as f64,
                        By::ErrorRate => s.error_rate,
                        By::Latency(p) => percentile_of(&latency, p),
                        By::Mean | By::Score | By::Time => 0.0,
                    }
                });
            }
            cut(&mut o.series, narrow.limit);
        }
        answer::Result::Top(t) => {
            t.entries
                .retain(|e| narrow.services.is_empty() || narrow.services.contains(&e.value));
            if let Some(by) = narrow.by {
                sort_by_key(&mut t.entries, narrow.smallest, |e| match by {
                    By::Errors => e.error_count as f64,
                    By::ErrorRate => e.error_count as f64 / e.count.max(1) as f64,
                    By::Latency(p) => percentile_of(&e.latency.unwrap_or_default(), p),
                    _ => e.count as f64,
                });
            }
            cut(&mut t.entries, narrow.limit);
        }
        answer::Result::Anomalies(a) => {
            a.anomalies.retain(|a| {
                narrow.services.is_empty() || narrow.services.contains(&a.service_name)
            });
            match narrow.by {
                Some(By::Time) => sort_by_key(&mut a.anomalies, narrow.smallest, |a| {
                    a.time_unix_nano as f64
                }),
                Some(_) => sort_by_key(&mut a.anomalies, narrow.smallest, |a| a.score),
                None => {}
            }
            cut(&mut a.anomalies, narrow.limit);
        }
        answer::Result::Metrics(m) => {
            if narrow.by.is_some() {
                sort_by_key(&mut m.series, narrow.smallest, |s| {
                    let n = s.points.len().max(1) as f64;
                    s.points.iter().map(|p| p.value).sum::<f64>() / n
                });
            }
            cut(&mut m.series, narrow.limit);
        }
        _ => {}
    }
}

fn percentile_of(l: &query::LatencyPercentiles, p: u8) -> f64 {
    (match p {
        50 => l.p50_nano,
        95 => l.p95_nano,
        _ => l.p99_nano,
    }) as f64
}

/// Largest first, or smallest first; ties keep their order.
fn sort_by_key<T>(list: &mut [T], smallest: bool, key: impl Fn(&T) -> f64) {
    list.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        if smallest {
            a.total_cmp(&b)
        } else {
            b.total_cmp(&a)
        }
    });
}

fn cut<T>(list: &mut Vec<T>, limit: usize) {
    if limit > 0 {
        list.truncate(limit);
    }
}

/// Sends plans to the query service (and questions about anomalies to
/// the anomaly service) as the caller.
#[derive(Clone)]
pub struct Asker {
    /// `None`: `search.query_endpoint` is empty.
    query: Option<QueryServiceClient<Channel>>,
    /// `None`: `search.aiops_endpoint` is empty.
    anomalies: Option<AnomalyServiceClient<Channel>>,
    /// `None`: `search.delta_endpoint` is empty.
    deltas: Option<DeltaServiceClient<Channel>>,
}

const QUERY_SERVICE: &str = "query service";

/// A service's refusal, as the caller's: its code, its message marked as
/// that service's.
fn upstream(service: &'static str) -> impl Fn(tonic::Status) -> tonic::Status {
    move |status| tonic::Status::new(status.code(), format!("{service}: {}", status.message()))
}

/// Why groups or anomalies may be missing from an answer `answer`
/// reported as capped.
pub fn capped_note(query: &answer::Query, korean: bool) -> NotApplied {
    let reason = match (query, korean) {
        (answer::Query::ListAnomalies(_), true) => {
            "ListAnomalies가 한 번에 주는 최근 1000개 안에서 정렬하고 골랐습니다. 그보다 오래된 이상 징후는 빠졌을 수 있습니다"
        }
        (answer::Query::ListAnomalies(_), false) => {
            "ordered and picked among the newest 1000 anomalies ListAnomalies gives at a time; older ones may be missing"
        }
        (_, true) => {
            "TopK가 준 최대 100개 묶음 안에서 정렬하고 골랐습니다. 그 밖의 묶음은 빠졌을 수 있습니다"
        }
        (_, false) => {
            "ordered and picked among the 100 groups TopK gives at most; groups beyond them may be missing"
        }
    };
    NotApplied {
        field: "order".into(),
        reason: reason.into(),
    }
}

impl Asker {
    pub fn new(
        query: Option<Channel>,
        anomalies: Option<Channel>,
        deltas: Option<Channel>,
    ) -> Self {
        Self {
            query: query.map(QueryServiceClient::new),
            anomalies: anomalies.map(AnomalyServiceClient::new),
            deltas: deltas.map(DeltaServiceClient::new),
        }
    }

    /// The delta service's judgement of `compare`, asked as the caller.
    pub async fn judge(
        &self,
        credentials: &MetadataMap,
        compare: CompareRequest,
    ) -> Result<Answer, tonic::Status> {
        let mut client = self.deltas.clone().ok_or_else(|| {
            tonic::Status::failed_precondition(
                "search.delta_endpoint is empty: this search service has no delta service to judge a comparison",
            )
        })?;
        let comparison = client
            .compare(Self::request(credentials, compare.clone()))
            .await
            .map_err(upstream("delta service"))?
            .into_inner();
        Ok(Answer {
            query: Some(answer::Query::Compare(compare)),
            result: Some(answer::Result::Comparison(comparison)),
            narrowed: false,
        })
    }

    fn query_client(&self) -> Result<QueryServiceClient<Channel>, tonic::Status> {
        self.query.clone().ok_or_else(|| {
            tonic::Status::failed_precondition(
                "search.query_endpoint is empty: this search service has no query service to ask",
            )
        })
    }

    fn request<T>(credentials: &MetadataMap, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = credentials.clone();
        // The call joins the trace of the question it answers.
        airis_runtime::telemetry::propagate(request.metadata_mut());
        request
    }

    /// The versions of the spans `versions_query` selects, most spans
    /// first, with their spans.
    pub async fn versions(
        &self,
        credentials: &MetadataMap,
        top: TopKRequest,
    ) -> Result<Vec<(String, u64)>, tonic::Status> {
        let answer::Result::Top(top) = self
            .ask_query(credentials, &answer::Query::TopK(top))
            .await?
        else {
            return Err(tonic::Status::internal("TopK answered with another result"));
        };
        Ok(top
            .entries
            .into_iter()
            .map(|e| (e.value, e.count))
            .collect())
    }

    /// The aggregation a metric is usually shown with, from its type
    /// (ListMetrics); `None` when the time range has no such metric.
    pub async fn metric_default(
        &self,
        credentials: &MetadataMap,
        name: &str,
        range: TimeRange,
    ) -> Result<Option<(query::Aggregation, f64)>, tonic::Status> {
        let mut client = self.query_client()?;
        let mut token = String::new();
        for _ in 0..METRIC_TYPE_PAGES {
            let page = client
                .list_metrics(Self::request(
                    credentials,
                    ListMetricsRequest {
                        time_range: Some(range),
                        service_name: String::new(),
                        page: Some(PageRequest {
                            page_size: 0,
                            page_token: token,
                        }),
                    },
                ))
                .await
                .map_err(upstream(QUERY_SERVICE))?
                .into_inner();
            if let Some(m) = page.metrics.iter().find(|m| m.name == name) {
                return Ok(Some(match MetricType::try_from(m.r#type) {
                    Ok(MetricType::Sum) if m.monotonic => (query::Aggregation::Rate, 0.0),
                    Ok(MetricType::Sum) => (query::Aggregation::Sum, 0.0),
                    Ok(MetricType::Histogram) => {
                        (query::Aggregation::Quantile, DEFAULT_METRIC_QUANTILE)
                    }
                    _ => (query::Aggregation::Avg, 0.0),
                }));
            }
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    /// The query service's answer to `query`.
    async fn ask_query(
        &self,
        credentials: &MetadataMap,
        query: &answer::Query,
    ) -> Result<answer::Result, tonic::Status> {
        let mut client = self.query_client()?;
        macro_rules! ask {
            ($rpc:ident, $q:expr, $result:ident) => {
                answer::Result::$result(
                    client
                        .$rpc(Self::request(credentials, $q.clone()))
                        .await
                        .map_err(upstream(QUERY_SERVICE))?
                        .into_inner(),
                )
            };
        }
        Ok(match query {
            answer::Query::SearchTraces(q) => ask!(search_traces, q, Traces),
            answer::Query::SearchSpans(q) => ask!(search_spans, q, Spans),
            answer::Query::SearchLogs(q) => ask!(search_logs, q, Logs),
            answer::Query::QueryMetrics(q) => ask!(query_metrics, q, Metrics),
            answer::Query::ListMetrics(q) => ask!(list_metrics, q, MetricList),
            answer::Query::ServiceOverview(q) => ask!(service_overview, q, Overview),
            answer::Query::TopK(q) => ask!(top_k, q, Top),
            answer::Query::ListAnomalies(_) | answer::Query::Compare(_) => {
                return Err(tonic::Status::internal(
                    "ListAnomalies and Compare are not the query service's",
                ));
            }
        })
    }

    /// Sends `query` with the caller's `credentials` and narrows the
    /// answer; whether it was ordered or picked among as many groups as
    /// TopK gives, so that groups beyond them may be missing.
    pub async fn answer(
        &self,
        credentials: &MetadataMap,
        query: answer::Query,
        narrow: &Narrow,
    ) -> Result<(Answer, bool), tonic::Status> {
        let mut result = match &query {
            answer::Query::ListAnomalies(q) => {
                let mut client = self.anomalies.clone().ok_or_else(|| {
                    tonic::Status::failed_precondition(
                        "search.aiops_endpoint is empty: this search service has no anomaly service to ask",
                    )
                })?;
                answer::Result::Anomalies(
                    client
                        .list_anomalies(Self::request(credentials, q.clone()))
                        .await
                        .map_err(upstream("anomaly service"))?
                        .into_inner(),
                )
            }
            query => self.ask_query(credentials, query).await?,
        };
        let capped = narrow.among_top
            && match &result {
                answer::Result::Top(t) => t.entries.len() >= TOP_K_MAX as usize,
                answer::Result::Anomalies(a) => a
                    .page
                    .as_ref()
                    .is_some_and(|p| !p.next_page_token.is_empty()),
                _ => false,
            };
        narrowed(&mut result, narrow);
        Ok((
            Answer {
                query: Some(query),
                result: Some(result),
                narrowed: !narrow.is_noop(),
            },
            capped,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::airis::analytics::v1::{
        LatencyPercentiles, RedSeries, ServiceOverviewResponse, TopKEntry, TopKResponse,
    };
    use airis_proto::airis::search::v1::DurationBound;

    const HOUR: u64 = 3_600_000_000_000;

    fn asked(edit: impl FnOnce(&mut Interpretation)) -> Interpretation {
        let mut i = Interpretation {
            time_range: Some(TimeRange {
                start_unix_nano: 10 * HOUR,
                end_unix_nano: 11 * HOUR,
            }),
            ..Default::default()
        };
        edit(&mut i);
        i
    }

    fn fields(plan: &Plan) -> Vec<&str> {
        plan.not_applied.iter().map(|n| n.field.as_str()).collect()
    }

    #[test]
    fn requests_become_a_trace_search_with_inclusive_bounds() {
        let i = asked(|i| {
            i.service_names = vec!["checkout".into(), "cart".into()];
            i.status = Status::Error as i32;
            i.min_duration = Some(DurationBound {
                nano: 500_000_000,
                inclusive: false,
            });
            i.max_duration = Some(DurationBound {
                nano: 2_000_000_000,
                inclusive: true,
            });
            i.order = Order::LongestFirst as i32;
            i.limit = 5;
            i.min_severity_number = 13;
        });
        let plan = plan(&i, false).unwrap();
        let answer::Query::SearchTraces(r) = &plan.query else {
            panic!("{plan:?}")
        };
        let f = r.filter.as_ref().unwrap();
        assert_eq!(f.service_name, "checkout");
        assert_eq!(f.status_code, StatusCode::Error as i32);
        assert_eq!(f.min_duration_nano, 500_000_001);
        assert_eq!(f.max_duration_nano, 2_000_000_000);
        assert_eq!(r.order, SpanOrder::LongestFirst as i32);
        assert_eq!(r.page.as_ref().unwrap().page_size, 5);
        assert_eq!(fields(&plan), ["service_names[1]", "min_severity_number"]);
        assert!(plan.narrow.is_noop());
    }

    #[test]
    fn successful_spans_are_named_not_filtered_as_ok() {
        let i = asked(|i| {
            i.signal = Signal::Spans as i32;
            i.status = Status::Ok as i32;
        });
        let plan = plan(&i, true).unwrap();
        let answer::Query::SearchSpans(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(
            r.filter.as_ref().unwrap().status_code,
            StatusCode::Unspecified as i32
        );
        assert_eq!(fields(&plan), ["status"]);
        assert!(plan.not_applied[0].reason.contains("UNSET"), "{plan:?}");
    }

    #[test]
    fn error_logs_are_error_severity_and_operations_are_named() {
        let i = asked(|i| {
            i.signal = Signal::Logs as i32;
            i.service_names = vec!["payment".into()];
            i.status = Status::Error as i32;
            i.operations = vec!["POST /pay".into()];
            i.text = "결제 실패".into();
            i.aggregation = Aggregation::Count as i32;
        });
        let plan = plan(&i, false).unwrap();
        let answer::Query::SearchLogs(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(
            (
                r.service_name.as_str(),
                r.min_severity_number,
                r.query.as_str()
            ),
            ("payment", ERROR_SEVERITY, "결제 실패")
        );
        assert_eq!(fields(&plan), ["operations[0]"]);
    }

    #[test]
    fn red_questions_are_the_overview_narrowed_and_ordered() {
        // "top 3 services by error rate among checkout, cart, payment"
        let i = asked(|i| {
            i.service_names = vec!["checkout".into(), "cart".into(), "payment".into()];
            i.aggregation = Aggregation::ErrorRate as i32;
            i.group_by = vec!["service".into()];
            i.order = Order::LargestFirst as i32;
            i.limit = 2;
        });
        let plan = plan(&i, false).unwrap();
        let answer::Query::ServiceOverview(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(r.service_name, "");
        assert!(r.entry_spans_only);
        assert!(plan.not_applied.is_empty(), "{plan:?}");
        let series = |name: &str, rate: f64| RedSeries {
            service_name: name.into(),
            error_rate: rate,
            ..Default::default()
        };
        let mut result = answer::Result::Overview(ServiceOverviewResponse {
            series: vec![
                series("cart", 0.01),
                series("frontend", 0.9),
                series("payment", 0.2),
                series("checkout", 0.05),
            ],
            step_seconds: 60,
        });
        narrowed(&mut result, &plan.narrow);
        let answer::Result::Overview(o) = result else {
            unreachable!()
        };
        let names: Vec<_> = o.series.iter().map(|s| s.service_name.as_str()).collect();
        assert_eq!(names, ["payment", "checkout"]);
    }

    #[test]
    fn one_service_by_operation_is_its_operations_overview() {
        let i = asked(|i| {
            i.service_names = vec!["checkout".into()];
            i.aggregation = Aggregation::Quantile as i32;
            i.quantile = 0.95;
            i.group_by = vec!["operation".into()];
        });
        let plan = plan(&i, true).unwrap();
        let answer::Query::ServiceOverview(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(r.service_name, "checkout");
        assert_eq!(plan.narrow.by, Some(By::Latency(95)));
        assert!(plan.not_applied.is_empty());
    }

    #[test]
    fn filtered_summaries_are_top_k_over_the_span_filter() {
        // "errors in checkout by operation"
        let i = asked(|i| {
            i.service_names = vec!["checkout".into()];
            i.status = Status::Error as i32;
            i.group_by = vec!["operation".into()];
            i.aggregation = Aggregation::Count as i32;
        });
        let plan = plan_of(&i);
        let answer::Query::TopK(r) = &plan.query else {
            panic!("{plan:?}")
        };
        let f = r.filter.as_ref().unwrap();
        assert_eq!(
            (f.service_name.as_str(), f.status_code),
            ("checkout", StatusCode::Error as i32)
        );
        assert_eq!(r.dimension, TopKDimension::Operation as i32);
        assert_eq!(r.metric, TopKMetric::Count as i32);
        assert_eq!(r.k, TOP_K_DEFAULT);
        // By an attribute, slowest p90: ordered by p99 and said so.
        let i = asked(|i| {
            i.group_by = vec!["http.route".into(), "status".into()];
            i.aggregation = Aggregation::Quantile as i32;
            i.quantile = 0.9;
            i.limit = 500;
        });
        let plan = plan_of(&i);
        let answer::Query::TopK(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(
            (r.dimension, r.attribute_key.as_str(), r.metric, r.k),
            (
                TopKDimension::Attribute as i32,
                "http.route",
                TopKMetric::Latency as i32,
                TOP_K_MAX
            )
        );
        assert_eq!(fields(&plan), ["group_by[1]", "aggregation", "limit"]);
    }

    #[test]
    fn smallest_first_and_several_services_are_picked_here() {
        let i = asked(|i| {
            i.service_names = vec!["cart".into(), "payment".into()];
            i.status = Status::Error as i32;
            i.aggregation = Aggregation::Count as i32;
            i.order = Order::SmallestFirst as i32;
            i.limit = 1;
        });
        let plan = plan(&i, false).unwrap();
        let answer::Query::TopK(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(r.filter.as_ref().unwrap().service_name, "");
        assert_eq!(r.k, TOP_K_MAX);
        assert!(plan.not_applied.is_empty(), "{plan:?}");
        let entry = |value: &str, count| TopKEntry {
            value: value.into(),
            count,
            error_count: 0,
            latency: Some(LatencyPercentiles::default()),
        };
        let mut result = answer::Result::Top(TopKResponse {
            entries: vec![entry("frontend", 1), entry("payment", 7), entry("cart", 9)],
        });
        narrowed(&mut result, &plan.narrow);
        let answer::Result::Top(t) = result else {
            unreachable!()
        };
        assert_eq!(t.entries.len(), 1);
        assert_eq!(t.entries[0].value, "payment");
    }

    #[test]
    fn metrics_take_their_labels_and_a_default_aggregation() {
        let i = asked(|i| {
            i.metric_name = "http.server.duration".into();
            i.service_names = vec!["checkout".into()];
            i.group_by = vec!["service".into(), "operation".into()];
            i.min_value = Some(airis_proto::airis::search::v1::ValueBound {
                value: 0.5,
                inclusive: true,
            });
        });
        let plan = plan(&i, false).unwrap();
        let answer::Query::QueryMetrics(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert!(plan.metric_aggregation_from_type);
        assert_eq!(r.group_by, ["service.name"]);
        assert_eq!(r.filters.len(), 1);
        assert_eq!(r.filters[0].key, "service.name");
        assert_eq!(fields(&plan), ["min_value", "group_by[1]"]);
        // A metric signal without a metric lists them.
        let i = asked(|i| i.signal = Signal::Metrics as i32);
        assert!(matches!(
            plan_of(&i).query,
            answer::Query::ListMetrics(ListMetricsRequest { .. })
        ));
    }

    #[test]
    fn extreme_interpretations_are_planned_or_refused_never_a_panic() {
        let bound = |nano, inclusive| Some(DurationBound { nano, inclusive });
        for signal in 0..=5 {
            for aggregation in 0..=8 {
                for order in 0..=4 {
                    let i = asked(|i| {
                        i.signal = signal;
                        i.aggregation = aggregation;
                        i.order = order;
                        i.quantile = f64::NAN;
                        i.min_duration = bound(u64::MAX, false);
                        i.max_duration = bound(0, false);
                        i.limit = u32::MAX;
                        i.service_names = vec![String::new(); 3];
                        i.group_by = vec!["status".into(), String::new()];
                        i.min_severity_number = i32::MIN;
                        i.compare_shift_nano = u64::MAX;
                    });
                    match plan(&i, true) {
                        Ok(plan) => {
                            assert!(shifted(&plan.query, u64::MAX).is_none());
                        }
                        Err(Error::InvalidArgument(m)) => {
                            assert!(m.starts_with("interpretation."), "{m}")
                        }
                        Err(other) => panic!("{other:?}"),
                    }
                    // And each side of a comparison of versions, one odd.
                    for version in ["", "\u{0}", "v2"] {
                        match plan_versioned(&i, version, false) {
                            Ok(_) => {}
                            Err(Error::InvalidArgument(m)) => {
                                assert!(m.starts_with("interpretation."), "{m}")
                            }
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn what_would_change_meaning_is_refused_reordered_or_named() {
        // A span text is one substring: the first word or phrase, the rest named.
        assert_eq!(
            first_term("\"card declined\" timeout"),
            ("card declined".into(), true)
        );
        assert_eq!(first_term("「결제 실패」"), ("결제 실패".into(), false));
        assert_eq!(first_term("timeout db"), ("timeout".into(), true));
        let texted = plan_of(&asked(|i| i.text = "timeout db".into()));
        let answer::Query::SearchTraces(r) = &texted.query else {
            panic!("{texted:?}")
        };
        assert_eq!(r.filter.as_ref().unwrap().text, "timeout");
        assert_eq!(fields(&texted), ["text"]);
        // A bound that leaves nothing, or bounds that cross: refused by name.
        for (max, inclusive) in [(0, true), (1, false)] {
            let err = plan(
                &asked(|i| {
                    i.max_duration = Some(DurationBound {
                        nano: max,
                        inclusive,
                    })
                }),
                false,
            )
            .unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument(ref m) if m.starts_with("interpretation.max_duration")),
                "{err:?}"
            );
        }
        let crossed = asked(|i| {
            i.min_duration = Some(DurationBound {
                nano: 10,
                inclusive: true,
            });
            i.max_duration = Some(DurationBound {
                nano: 5,
                inclusive: true,
            });
        });
        assert!(
            matches!(plan(&crossed, false), Err(Error::InvalidArgument(m)) if m.starts_with("interpretation.min_duration"))
        );
        // Error logs at or above a lower severity asked: error and above.
        let logs = plan_of(&asked(|i| {
            i.signal = Signal::Logs as i32;
            i.status = Status::Error as i32;
            i.min_severity_number = 13;
        }));
        assert!(
            matches!(logs.query, answer::Query::SearchLogs(ref r) if r.min_severity_number == ERROR_SEVERITY)
        );
        // "Bottom 2 services": by their requests.
        let bottom = plan_of(&asked(|i| {
            i.signal = Signal::Services as i32;
            i.order = Order::SmallestFirst as i32;
            i.limit = 2;
        }));
        assert_eq!(
            (bottom.narrow.by, bottom.narrow.smallest),
            (Some(By::Requests), true)
        );
    }

    #[test]
    fn top_k_by_error_rate_is_reordered_here_by_the_rate() {
        let i = asked(|i| {
            i.status = Status::Error as i32;
            i.aggregation = Aggregation::ErrorRate as i32;
            i.group_by = vec!["http.route".into()];
            i.limit = 1;
        });
        let plan = plan_of(&i);
        let answer::Query::TopK(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!((r.metric, r.k), (TopKMetric::Errors as i32, TOP_K_MAX));
        assert!(plan.narrow.among_top);
        let entry = |value: &str, count, errors| TopKEntry {
            value: value.into(),
            count,
            error_count: errors,
            latency: None,
        };
        // /a has more errors, /b the higher rate.
        let mut result = answer::Result::Top(TopKResponse {
            entries: vec![entry("/a", 100, 10), entry("/b", 4, 2)],
        });
        narrowed(&mut result, &plan.narrow);
        let answer::Result::Top(t) = result else {
            unreachable!()
        };
        assert_eq!(
            t.entries
                .iter()
                .map(|e| e.value.as_str())
                .collect::<Vec<_>>(),
            ["/b"]
        );
    }

    fn plan_of(i: &Interpretation) -> Plan {
        plan(i, false).unwrap()
    }

    #[test]
    fn bad_interpretations_are_named() {
        let err = |i: Interpretation| plan(&i, false).unwrap_err();
        let mut none = asked(|_| {});
        none.time_range = None;
        assert_eq!(
            err(none),
            Error::InvalidArgument("interpretation.time_range: required".into())
        );
        assert_eq!(
            err(asked(|i| i.signal = 42)),
            Error::InvalidArgument("interpretation.signal: unknown value 42".into())
        );
        assert!(matches!(
            err(asked(|i| {
                i.aggregation = Aggregation::Quantile as i32;
                i.quantile = 1.5;
            })),
            Error::InvalidArgument(m) if m.starts_with("interpretation.quantile: 1.5")
        ));
    }

    #[test]
    fn a_comparison_moves_the_range_back_and_not_before_1970() {
        let i = asked(|i| i.signal = Signal::Logs as i32);
        let query = plan_of(&i).query;
        let answer::Query::SearchLogs(before) = shifted(&query, HOUR).unwrap() else {
            unreachable!()
        };
        let range = before.time_range.unwrap();
        assert_eq!(
            (range.start_unix_nano, range.end_unix_nano),
            (9 * HOUR, 10 * HOUR)
        );
        assert!(shifted(&query, 11 * HOUR).is_none());
    }

    #[test]
    fn versions_are_picked_from_the_spans_or_the_gap_is_named() {
        let asked = |candidate: &str, baseline: &str| VersionComparison {
            candidate: candidate.into(),
            baseline: baseline.into(),
        };
        let present = [
            ("v1".to_owned(), 90),
            ("v2".to_owned(), 10),
            ("v0".to_owned(), 1),
        ];
        let pick = |a: VersionComparison| pick_versions(&a, &present, "checkout", false);
        let both = |c: &str, b: &str| Ok(asked(c, b));
        // A canary: the most spans are the baseline, the next the candidate.
        assert_eq!(pick(asked("", "")), both("v2", "v1"));
        assert_eq!(pick(asked("v0", "")), both("v0", "v1"));
        assert_eq!(pick(asked("v1", "")), both("v1", "v2"));
        assert_eq!(pick(asked("", "v2")), both("v1", "v2"));
        // Both named: as named, present or not.
        assert_eq!(pick(asked("v9", "v8")), both("v9", "v8"));
        // A rollout past half is still judged the new against the old; a
        // version that is no number, by its share.
        let rolled = [("v2".to_owned(), 90), ("v1".to_owned(), 10)];
        assert_eq!(
            pick_versions(&asked("", ""), &rolled, "checkout", false),
            both("v2", "v1")
        );
        let colours = [("blue".to_owned(), 90), ("green".to_owned(), 10)];
        assert_eq!(
            pick_versions(&asked("", ""), &colours, "checkout", false),
            both("green", "blue")
        );
        // One version, or none: nothing to compare, said in the asker's
        // language.
        let one = [("v1".to_owned(), 5)];
        let Err(Error::FailedPrecondition(why)) =
            pick_versions(&asked("", ""), &one, "checkout", false)
        else {
            panic!("one version compared")
        };
        assert!(
            why.starts_with("interpretation.compare_versions: "),
            "{why}"
        );
        assert!(why.contains("checkout") && why.contains("only v1"), "{why}");
        let Err(Error::FailedPrecondition(why)) =
            pick_versions(&asked("v1", ""), &one, "checkout", true)
        else {
            panic!("v1 compared with itself")
        };
        assert!(why.contains("버전이 v1뿐입니다"), "{why}");
        assert!(matches!(
            pick_versions(&asked("", ""), &[], "checkout", false),
            Err(Error::FailedPrecondition(why)) if why.contains("no version")
        ));
    }

    #[test]
    fn a_comparison_of_versions_asks_each_and_judges_them_over_one_range() {
        let i = asked(|i| {
            i.service_names = vec!["checkout".into()];
            i.aggregation = Aggregation::ErrorRate as i32;
            i.compare_versions = Some(VersionComparison {
                candidate: "v2".into(),
                baseline: "v1".into(),
            });
        });
        assert_eq!(check_versions(&i), Ok(()));
        // Each side is the question over its version's spans.
        let side = |version: &str| {
            let plan = plan_versioned(&i, version, false).unwrap();
            let answer::Query::TopK(top) = plan.query else {
                panic!("{plan:?}")
            };
            top.filter.unwrap().attributes
        };
        let v2 = side("v2");
        assert_eq!(v2.len(), 1);
        assert_eq!(
            (v2[0].key.as_str(), v2[0].value.as_str(), v2[0].scope),
            (
                "service.version",
                "v2",
                query::AttributeScope::Resource as i32
            )
        );
        assert_eq!(side("v1")[0].value, "v1");
        // A third version named ("v3 vs v2 vs v1") gives way, and is named.
        let mut third = i.clone();
        third.attributes = vec![
            query::AttributeFilter {
                key: "http.route".into(),
                value: "/pay".into(),
                ..Default::default()
            },
            versioned(&i, "v3").attributes[0].clone(),
        ];
        let plan = plan_versioned(&third, "v2", false).unwrap();
        let answer::Query::TopK(top) = &plan.query else {
            panic!("{plan:?}")
        };
        let values: Vec<&str> = top
            .filter
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .map(|a| a.value.as_str())
            .collect();
        assert_eq!(values, ["/pay", "v2"]);
        assert_eq!(
            plan.not_applied
                .iter()
                .map(|n| n.field.as_str())
                .collect::<Vec<_>>(),
            ["attributes[1]"]
        );
        // What a side cannot narrow by version is said of compare_versions.
        let mut anomalies = i.clone();
        anomalies.signal = Signal::Anomalies as i32;
        let plan = plan_versioned(&anomalies, "v2", false).unwrap();
        assert!(
            plan.not_applied
                .iter()
                .any(|n| n.field == "compare_versions"),
            "{plan:?}"
        );
        // Judged over the same range, each cohort named by its version.
        let (request, _) = judgement(&i, false, 0).unwrap();
        let (b, c) = (request.baseline.unwrap(), request.candidate.unwrap());
        assert_eq!((b.label.as_str(), c.label.as_str()), ("v1", "v2"));
        let (bs, cs) = (b.spans.unwrap(), c.spans.unwrap());
        assert_eq!(bs.time_range, i.time_range);
        assert_eq!(cs.time_range, i.time_range);
        assert_eq!(bs.service_name, "checkout");
        assert_eq!(bs.attributes[0].value, "v1");
        assert_eq!(cs.attributes[0].value, "v2");
        assert_eq!(
            request.options.unwrap().signals,
            [delta::Signal::Errors as i32]
        );
        // Not yet chosen: no judgement before the versions are known.
        let mut unchosen = i.clone();
        unchosen.compare_versions = Some(VersionComparison::default());
        assert!(judgement(&unchosen, false, 0).is_none());
        // A long version is cut to the 64 bytes a label takes.
        let mut long = i.clone();
        long.compare_versions = Some(VersionComparison {
            candidate: "가".repeat(40),
            baseline: "v1".into(),
        });
        let (request, _) = judgement(&long, false, 0).unwrap();
        assert_eq!(request.candidate.unwrap().label, "가".repeat(21));
        // The versions are found among the spans of the first service,
        // without the version filters the question may carry.
        let mut filtered = i.clone();
        filtered.compare_versions = Some(VersionComparison::default());
        filtered.attributes = versioned(&i, "v3").attributes;
        let top = versions_query(&filtered).unwrap();
        assert_eq!(top.attribute_key, "service.version");
        assert_eq!(top.attribute_scope, query::AttributeScope::Resource as i32);
        let f = top.filter.unwrap();
        assert_eq!(f.service_name, "checkout");
        assert!(f.attributes.is_empty(), "{f:?}");
    }

    #[test]
    fn bad_comparisons_of_versions_are_named() {
        let with = |edit: &dyn Fn(&mut VersionComparison), shift: u64| {
            let i = asked(|i| {
                let mut v = VersionComparison {
                    candidate: "v2".into(),
                    baseline: "v1".into(),
                };
                edit(&mut v);
                i.compare_versions = Some(v);
                i.compare_shift_nano = shift;
            });
            match check_versions(&i) {
                Err(Error::InvalidArgument(m)) => m,
                other => panic!("{other:?}"),
            }
        };
        assert!(with(&|_| {}, HOUR).contains("at most one of compare_shift_nano"));
        assert!(with(&|v| v.baseline = "v2".into(), 0).contains("both \"v2\""));
        assert!(
            with(&|v| v.candidate = "x".repeat(257), 0)
                .starts_with("interpretation.compare_versions.candidate: 257 bytes")
        );
    }

    #[test]
    fn a_comparison_of_requests_is_judged_on_what_was_asked() {
        const DAY: u64 = 24 * HOUR;
        let judged = |edit: &dyn Fn(&mut Interpretation), korean| {
            let i = asked(|i| {
                i.compare_shift_nano = DAY;
                i.time_range = Some(TimeRange {
                    start_unix_nano: 30 * DAY,
                    end_unix_nano: 30 * DAY + HOUR,
                });
                edit(i);
            });
            // Asked a minute after the range ends.
            judgement(&i, korean, 30 * DAY + HOUR + 60_000_000_000)
        };
        let signals = |edit: &dyn Fn(&mut Interpretation)| {
            let (r, _) = judged(edit, false).unwrap();
            r.options.unwrap().signals
        };
        use delta::Signal as D;
        // The error rate of one service, than yesterday.
        let (request, notes) = judged(
            &|i| {
                i.signal = Signal::Traces as i32;
                i.service_names = vec!["payment".into(), "cart".into()];
                i.operations = vec!["POST /pay".into()];
                i.aggregation = Aggregation::ErrorRate as i32;
                i.attributes = vec![query::AttributeFilter {
                    key: "http.route".into(),
                    value: "/pay".into(),
                    ..Default::default()
                }];
            },
            true,
        )
        .unwrap();
        let (before, now) = (request.baseline.unwrap(), request.candidate.unwrap());
        assert_eq!(
            (before.label.as_str(), now.label.as_str()),
            ("어제", "오늘")
        );
        let (b, n) = (before.spans.unwrap(), now.spans.unwrap());
        assert_eq!(b.time_range.unwrap().start_unix_nano, 29 * DAY);
        assert_eq!(n.time_range.unwrap().start_unix_nano, 30 * DAY);
        assert_eq!(
            (b.service_name.as_str(), n.service_name.as_str()),
            ("payment", "payment")
        );
        assert_eq!(n.attributes.len(), 1);
        assert_eq!(b.attributes, n.attributes);
        // Both cohorts hold every outcome and duration.
        assert_eq!((n.status_code, n.min_duration_nano), (0, 0));
        let options = request.options.unwrap();
        assert_eq!(options.signals, [D::Errors as i32]);
        assert_eq!(options.operations, ["POST /pay"]);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].field, "service_names[1]");
        assert!(notes[0].reason.starts_with("Compare는"), "{notes:?}");
        // Errors asked for: judged among every request, and said so.
        let (_, notes) = judged(&|i| i.status = Status::Error as i32, false).unwrap();
        assert_eq!(notes[0].field, "status");
        assert!(notes[0].reason.contains("every request"), "{notes:?}");

        // What the question is about picks the signals judged.
        assert_eq!(
            signals(&|i| i.status = Status::Error as i32),
            [D::Errors as i32]
        );
        assert_eq!(
            signals(&|i| {
                i.aggregation = Aggregation::Quantile as i32;
                i.quantile = 0.99;
            }),
            [D::Latency as i32]
        );
        // A count or rate: every signal (throughput alone never fails).
        assert!(signals(&|i| i.aggregation = Aggregation::Count as i32).is_empty());
        assert!(signals(&|i| i.aggregation = Aggregation::Rate as i32).is_empty());
        assert_eq!(
            signals(&|i| {
                i.status = Status::Error as i32;
                i.aggregation = Aggregation::Count as i32;
            }),
            [D::Errors as i32]
        );
        assert!(signals(&|i| i.signal = Signal::Services as i32).is_empty());

        // Filters that would bias the cohorts are named, not applied.
        let (request, notes) = judged(
            &|i| {
                i.min_duration = Some(DurationBound {
                    nano: 500_000_000,
                    inclusive: false,
                });
                i.status = Status::Ok as i32;
                i.text = "timeout".into();
                i.compare_shift_nano = 7 * DAY;
            },
            false,
        )
        .unwrap();
        let fields: Vec<_> = notes.iter().map(|n| n.field.as_str()).collect();
        assert_eq!(fields, ["min_duration", "status", "text"]);
        assert_eq!(request.options.unwrap().signals, [D::Latency as i32]);
        let labels = (
            request.baseline.unwrap().label,
            request.candidate.unwrap().label,
        );
        assert_eq!(labels, ("last week".to_owned(), "this week".to_owned()));

        // No comparison, not requests, or before 1970: nothing to judge.
        assert!(judged(&|i| i.compare_shift_nano = 0, false).is_none());
        for signal in [Signal::Logs, Signal::Metrics, Signal::Anomalies] {
            assert!(judged(&|i| i.signal = signal as i32, false).is_none());
        }
        assert!(judged(&|i| i.metric_name = "queue.depth".into(), false).is_none());
        assert!(
            judged(
                &|i| {
                    i.signal = Signal::Traces as i32;
                    i.metric_name = "queue.depth".into();
                },
                false
            )
            .is_none()
        );
        // A range of the past is named as asked, not as today.
        let i = asked(|i| {
            i.compare_shift_nano = DAY;
            i.time_range = Some(TimeRange {
                start_unix_nano: 30 * DAY,
                end_unix_nano: 31 * DAY,
            });
        });
        let (request, _) = judgement(&i, true, 31 * DAY + 12 * HOUR).unwrap();
        let labels = (
            request.baseline.unwrap().label,
            request.candidate.unwrap().label,
        );
        assert_eq!(labels, ("그 1일 전".to_owned(), "요청한 범위".to_owned()));
        assert!(judged(&|i| i.compare_shift_nano = 31 * DAY, false).is_none());
    }

    #[test]
    fn a_comparisons_ranges_are_named_in_the_askers_language() {
        const DAY: u64 = 24 * HOUR;
        let named = |shift, korean| {
            let (now, before) = range_names(shift, korean, true);
            format!("{now} / {before}")
        };
        assert_eq!(named(DAY, false), "today / yesterday");
        assert_eq!(named(7 * DAY, true), "이번 주 / 지난주");
        assert_eq!(named(3 * DAY, true), "지금 / 3일 전");
        assert_eq!(named(2 * HOUR, false), "now / 2 hours earlier");
        assert_eq!(named(90 * 60_000_000_000, true), "지금 / 90분 전");
        assert_eq!(named(HOUR, false), "now / 1 hour earlier");
        assert_eq!(named(30_000_000_000, false), "now / 30 seconds earlier");
        // Not whole seconds: rounded up, never "0".
        assert_eq!(named(1_500_000, true), "지금 / 1초 전");
        let past = range_names(DAY, false, false);
        assert_eq!(past, ("the asked range".into(), "1 day before it".into()));
    }

    #[test]
    fn questions_in_both_languages_plan_the_same_query() {
        let names = crate::Vocabulary {
            services: vec!["checkout".into(), "payment".into()],
            ..Default::default()
        }
        .index();
        let clock = crate::Clock::new("Asia/Seoul", 1_796_261_400_000_000_000).unwrap();
        let of = |q: &str| {
            let parsed = crate::parse(q, &names, &clock);
            plan(&parsed.interpretation, parsed.korean).unwrap().query
        };
        assert_eq!(
            of("errors in checkout in the last hour by operation"),
            of("지난 1시간 동안 checkout 서비스 에러 작업별")
        );
        assert_eq!(
            of("anomalies in payment in the last hour"),
            of("지난 1시간 결제 서비스 이상 징후")
        );
        assert!(matches!(
            of("checkout 에러 이상징후"),
            answer::Query::ListAnomalies(ListAnomaliesRequest { filter: Some(ref f), .. })
                if f.service_name == "checkout" && f.signals == [aiops::Signal::ErrorRate as i32]
        ));
        assert!(matches!(
            of("지난 1시간 결제 서비스 에러 로그"),
            answer::Query::SearchLogs(SearchLogsRequest { ref service_name, min_severity_number: ERROR_SEVERITY, .. }) if service_name == "payment"
        ));
    }

    #[test]
    fn anomalies_are_listed_with_the_signals_the_question_names() {
        let i = asked(|i| {
            i.signal = Signal::Anomalies as i32;
            i.service_names = vec!["checkout".into()];
            i.operations = vec!["POST /checkout".into(), "GET /cart".into()];
            i.status = Status::Error as i32;
            i.aggregation = Aggregation::Quantile as i32;
            i.quantile = 0.95;
            i.min_duration = Some(DurationBound {
                nano: 1,
                inclusive: true,
            });
            i.limit = 5;
        });
        let plan = plan(&i, false).unwrap();
        let answer::Query::ListAnomalies(r) = &plan.query else {
            panic!("{plan:?}")
        };
        let f = r.filter.as_ref().unwrap();
        assert_eq!(f.service_name, "checkout");
        assert_eq!(f.operation, "POST /checkout");
        assert_eq!(
            f.signals,
            [
                aiops::Signal::ErrorRate as i32,
                aiops::Signal::LatencyP95 as i32
            ]
        );
        assert_eq!(r.page.as_ref().unwrap().page_size, 5);
        assert_eq!(r.time_range, i.time_range);
        assert_eq!(fields(&plan), ["min_duration", "operations[1]"]);
        assert!(plan.narrow.is_noop());
    }

    #[test]
    fn anomalies_of_several_services_or_by_score_are_picked_here() {
        let i = asked(|i| {
            i.signal = Signal::Anomalies as i32;
            i.service_names = vec!["checkout".into(), "payment".into()];
            i.order = Order::LargestFirst as i32;
            i.limit = 2;
            i.aggregation = Aggregation::Avg as i32;
        });
        let plan = plan(&i, true).unwrap();
        let answer::Query::ListAnomalies(r) = &plan.query else {
            panic!("{plan:?}")
        };
        assert_eq!(r.filter.as_ref().unwrap().service_name, "");
        assert_eq!(r.page.as_ref().unwrap().page_size, ANOMALIES_MAX);
        assert_eq!(fields(&plan), ["aggregation"]);
        assert!(plan.not_applied[0].reason.contains("요청률"), "{plan:?}");
        let anomaly = |service: &str, minute: u64, score: f64| aiops::Anomaly {
            service_name: service.into(),
            time_unix_nano: minute * 60_000_000_000,
            score,
            ..Default::default()
        };
        let mut result = answer::Result::Anomalies(aiops::ListAnomaliesResponse {
            anomalies: vec![
                anomaly("cart", 3, 1.0),
                anomaly("payment", 3, 0.7),
                anomaly("checkout", 2, 0.9),
                anomaly("payment", 1, 0.8),
            ],
            ..Default::default()
        });
        narrowed(&mut result, &plan.narrow);
        let answer::Result::Anomalies(a) = result else {
            unreachable!()
        };
        let got: Vec<(&str, f64)> = a
            .anomalies
            .iter()
            .map(|a| (a.service_name.as_str(), a.score))
            .collect();
        assert_eq!(got, [("checkout", 0.9), ("payment", 0.8)]);
        // Oldest first is reordered by minute.
        let oldest = plan_of(&asked(|i| {
            i.signal = Signal::Anomalies as i32;
            i.order = Order::OldestFirst as i32;
        }));
        assert_eq!(oldest.narrow.by, Some(By::Time));
        assert!(oldest.narrow.smallest && oldest.narrow.limit == ANOMALIES_DEFAULT);
        assert_eq!(
            capped_note(&oldest.query, false).field,
            "order",
            "the note of a capped answer names the order"
        );
    }
}
