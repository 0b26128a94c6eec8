//! The rollout controllers' side of the delta service, over HTTP/1.1 and
//! JSON: Flagger's webhook (`POST /rollout/v1/flagger`, HTTP 200 lets the
//! rollout go on, 412 halts it) and Argo Rollouts' web metric
//! (`GET /rollout/v1/verdict`, always 200 with the verdict to match on).
//!
//! Both compare the same two cohorts: the spans of one service over the
//! last `window`, split by one resource attribute (`service.version` unless
//! named) into the baseline's value and the candidate's. A controller has
//! no token: who may call is decided by the mesh (only the controllers'
//! identities reach these paths, `mesh/sidecar.yaml` and the delta
//! AuthorizationPolicy in `istio/`), and the request names its tenant.
//! docs/canary.md has the parameters and answers.

use std::collections::BTreeMap;

use airis_proto::airis::analytics::v1::{AttributeFilter, AttributeScope, MatchOperator};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{
    Cohort, CohortSummary, CompareOptions, CompareRequest, CompareResponse, Severity, Signal,
    Verdict,
};
use airis_proto::tonic::{Code, Status};
use airis_runtime::{clock, tenant::Tenant};
use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tracing::Instrument as _;

use crate::cohort::MAX_LABEL_BYTES;
use crate::{Delta, Error};

/// Flagger's webhook.
pub const FLAGGER_PATH: &str = "/rollout/v1/flagger";
/// Argo Rollouts' web metric.
pub const VERDICT_PATH: &str = "/rollout/v1/verdict";

/// The attribute that tells the cohorts apart when none is named.
const DEFAULT_ATTRIBUTE: &str = "service.version";
/// The cohorts' length when none is named.
const DEFAULT_WINDOW_NANO: u64 = 10 * 60 * NANOS_PER_SECOND;
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The parameters, as both endpoints take them (Flagger's in its
/// `metadata`, Argo's in the query string).
const PARAMETERS: [&str; 12] = [
    "tenant",
    "service",
    "baseline",
    "candidate",
    "attribute",
    "window",
    "alpha",
    "latency_increase",
    "error_rate_increase",
    "min_samples",
    "signals",
    "operations",
];

/// The two endpoints, answering for `delta`.
pub fn router(delta: Delta) -> Router {
    Router::new()
        .route(FLAGGER_PATH, post(flagger))
        .route(VERDICT_PATH, get(verdict))
        .with_state(delta)
}

/// Flagger's webhook payload; only `metadata` carries what is compared,
/// the rest names the canary in the log.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct FlaggerPayload {
    name: String,
    namespace: String,
    phase: String,
    metadata: BTreeMap<String, String>,
}

async fn flagger(State(delta): State<Delta>, body: Bytes) -> Response {
    let payload: FlaggerPayload = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => {
            return refused(Error::InvalidArgument(format!(
                "body: not a Flagger webhook payload (JSON with a metadata object of strings): {e}"
            )));
        }
    };
    let span = tracing::info_span!(
        "delta",
        rpc = "rollout.flagger",
        canary = %format!("{}/{}", payload.namespace, payload.name),
        phase = %payload.phase,
        tenant = tracing::field::Empty,
    );
    let params = payload.metadata.into_iter().map(|(k, v)| (k, vec![v]));
    match judge(&delta, "metadata.", params).instrument(span).await {
        // Flagger goes on on any 2xx and halts on anything else, showing
        // the body in its events: the reasons say why.
        Ok(answer) if answer.verdict == "pass" => json(StatusCode::OK, &answer),
        Ok(answer) => json(StatusCode::PRECONDITION_FAILED, &answer),
        Err(error) => refused(error),
    }
}

async fn verdict(
    State(delta): State<Delta>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let span = tracing::info_span!(
        "delta",
        rpc = "rollout.verdict",
        tenant = tracing::field::Empty
    );
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in query {
        params.entry(key).or_default().push(value);
    }
    // Every verdict is a 200: Argo's success and failure conditions read
    // it, and an inconclusive one matches neither.
    match judge(&delta, "", params).instrument(span).await {
        Ok(answer) => json(StatusCode::OK, &answer),
        Err(error) => refused(error),
    }
}

/// Checks the parameters, compares, and shapes the answer.
async fn judge(
    delta: &Delta,
    prefix: &str,
    params: impl IntoIterator<Item = (String, Vec<String>)>,
) -> Result<Answer, Error> {
    let ask = Ask::parse(prefix, params, clock::now_unix_nano())?;
    tracing::Span::current().record("tenant", ask.tenant.as_str());
    let range = ask.range;
    let answer = delta.compare(&ask.tenant, ask.request).await?;
    let answer = Answer::new(&answer, range);
    tracing::info!(
        verdict = answer.verdict,
        score = answer.score,
        "rollout check"
    );
    Ok(answer)
}

/// A checked request of either endpoint.
#[derive(Debug)]
struct Ask {
    tenant: Tenant,
    request: CompareRequest,
    range: TimeRange,
}

impl Ask {
    /// From the parameters (each with the values it was given), named in
    /// errors as `prefix` + key; both cohorts end at `now`.
    fn parse(
        prefix: &str,
        params: impl IntoIterator<Item = (String, Vec<String>)>,
        now: u64,
    ) -> Result<Self, Error> {
        let invalid =
            |key: &str, why: String| Error::InvalidArgument(format!("{prefix}{key}: {why}"));
        let mut given: BTreeMap<&'static str, String> = BTreeMap::new();
        for (key, mut values) in params {
            let Some(&known) = PARAMETERS.iter().find(|p| **p == key) else {
                return Err(invalid(
                    &key,
                    format!("unknown parameter; known: {}", PARAMETERS.join(", ")),
                ));
            };
            if values.len() != 1 {
                return Err(invalid(&key, "given more than once".to_owned()));
            }
            given.insert(known, values.pop().unwrap_or_default());
        }
        let required = |key: &str| match given.get(key) {
            Some(value) if !value.is_empty() => Ok(value.clone()),
            _ => Err(invalid(key, "required".to_owned())),
        };
        let tenant = required("tenant")?;
        let tenant = Tenant::parse(&tenant).map_err(|why| invalid("tenant", why.to_owned()))?;
        let service = required("service")?;
        let baseline = required("baseline")?;
        let candidate = required("candidate")?;
        if baseline == candidate {
            // One cohort against itself always passes: a misconfigured
            // check must not.
            return Err(invalid(
                "candidate",
                format!("{candidate:?} is the baseline too; the cohorts must differ"),
            ));
        }
        let attribute = match given.get("attribute") {
            Some(key) if !key.is_empty() => key.clone(),
            Some(_) => return Err(invalid("attribute", "empty".to_owned())),
            None => DEFAULT_ATTRIBUTE.to_owned(),
        };
        let window = match given.get("window") {
            Some(text) => duration_nano(text).ok_or_else(|| {
                invalid(
                    "window",
                    format!("{text:?} is not a duration such as 90s, 10m or 1h30m"),
                )
            })?,
            None => DEFAULT_WINDOW_NANO,
        };
        let range = TimeRange {
            start_unix_nano: now.saturating_sub(window),
            end_unix_nano: now,
        };
        let number = |key: &str| -> Result<f64, Error> {
            given.get(key).map_or(Ok(0.0), |text| {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| invalid(key, format!("{text:?} is not a number")))
            })
        };
        let min_samples = given.get("min_samples").map_or(Ok(0), |text| {
            text.parse::<u32>()
                .map_err(|_| invalid("min_samples", format!("{text:?} is not a count")))
        })?;
        let list = |key: &str| -> Vec<String> {
            given.get(key).map_or_else(Vec::new, |text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
        };
        let mut signals = Vec::new();
        for name in list("signals") {
            let signal = Signal::from_str_name(&format!("SIGNAL_{}", name.to_ascii_uppercase()))
                .filter(|s| *s != Signal::Unspecified)
                .ok_or_else(|| {
                    invalid(
                        "signals",
                        format!("{name:?} is not a signal; known: {}", signal_names()),
                    )
                })?;
            signals.push(signal as i32);
        }
        let options = CompareOptions {
            signals,
            operations: list("operations"),
            alpha: number("alpha")?,
            latency_increase: number("latency_increase")?,
            error_rate_increase: number("error_rate_increase")?,
            min_samples,
            // A query string has no room for them; the score of a rollout
            // counts every check once.
            weights: Vec::new(),
        };
        let cohort = |value: &str, side: &str| Cohort {
            spans: Some(airis_proto::airis::analytics::v1::SpanFilter {
                time_range: Some(range),
                service_name: service.clone(),
                attributes: vec![AttributeFilter {
                    key: attribute.clone(),
                    operator: MatchOperator::Equals as i32,
                    value: value.to_owned(),
                    scope: AttributeScope::Resource as i32,
                }],
                ..Default::default()
            }),
            // The value names the cohort in the reasons when it fits.
            label: if value.len() <= MAX_LABEL_BYTES && !value.chars().any(char::is_control) {
                value.to_owned()
            } else {
                side.to_owned()
            },
        };
        Ok(Self {
            tenant,
            request: CompareRequest {
                baseline: Some(cohort(&baseline, "baseline")),
                candidate: Some(cohort(&candidate, "candidate")),
                options: Some(options),
            },
            range,
        })
    }
}

/// The signals' names as the parameter takes them.
fn signal_names() -> String {
    (1..)
        .map_while(|value| Signal::try_from(value).ok())
        .map(|s| short(s.as_str_name(), "SIGNAL_"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Go-style duration (`90s`, `10m`, `1h30m`, `1.5h`) in nanoseconds;
/// `None` for anything else, or for zero.
fn duration_nano(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    let nanos = total * NANOS_PER_SECOND as f64;
    (nanos >= 1.0 && nanos < u64::MAX as f64).then_some(nanos as u64)
}

/// `SIGNAL_LATENCY` → `latency`.
fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// What both endpoints answer.
#[derive(Debug, serde::Serialize)]
struct Answer {
    verdict: &'static str,
    score: f64,
    /// The verdict and its first reason, in English, for a controller's
    /// event log.
    summary: String,
    reasons: Vec<ReasonJson>,
    baseline: CohortJson,
    candidate: CohortJson,
    start: String,
    end: String,
}

#[derive(Debug, serde::Serialize)]
struct ReasonJson {
    severity: String,
    signal: String,
    service: String,
    operation: String,
    en: String,
    ko: String,
    template: String,
    attribute: String,
}

#[derive(Debug, Default, serde::Serialize)]
struct CohortJson {
    label: String,
    spans: u64,
    errors: u64,
    logs: u64,
}

impl From<Option<&CohortSummary>> for CohortJson {
    fn from(summary: Option<&CohortSummary>) -> Self {
        summary.map_or_else(Self::default, |s| Self {
            label: s.label.clone(),
            spans: s.spans,
            errors: s.errors,
            logs: s.logs,
        })
    }
}

impl Answer {
    fn new(answer: &CompareResponse, range: TimeRange) -> Self {
        let verdict = match answer.verdict() {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            // Nothing else is ever read as a pass.
            Verdict::Inconclusive | Verdict::Unspecified => "inconclusive",
        };
        let reasons: Vec<ReasonJson> = answer
            .reasons
            .iter()
            .map(|r| ReasonJson {
                severity: short(r.severity().as_str_name(), "SEVERITY_"),
                signal: short(r.signal().as_str_name(), "SIGNAL_"),
                service: r.service_name.clone(),
                operation: r.operation.clone(),
                en: r.en.clone(),
                ko: r.ko.clone(),
                template: r.template.clone(),
                attribute: r.attribute.clone(),
            })
            .collect();
        let summary = match answer.reasons.first() {
            Some(first) if verdict != "pass" && first.severity() != Severity::Info => {
                let more = answer
                    .reasons
                    .iter()
                    .filter(|r| r.severity() == first.severity())
                    .count()
                    - 1;
                if more == 0 {
                    format!("{verdict}: {}", first.en)
                } else {
                    format!("{verdict}: {} (and {more} more)", first.en)
                }
            }
            _ => format!(
                "{verdict}: score {:.1} over {} tests",
                answer.score, answer.tests
            ),
        };
        Self {
            verdict,
            score: answer.score,
            summary,
            reasons,
            baseline: answer.baseline.as_ref().into(),
            candidate: answer.candidate.as_ref().into(),
            start: clock::rfc3339(range.start_unix_nano / NANOS_PER_SECOND),
            end: clock::rfc3339(range.end_unix_nano / NANOS_PER_SECOND),
        }
    }
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the answer");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An error as the gRPC side would answer it, with the HTTP status of its
/// code and the message (which names the field) as `{"error": …}`.
fn refused(error: Error) -> Response {
    let status = Status::from(error);
    let http = match status.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::ResourceExhausted => StatusCode::UNPROCESSABLE_ENTITY,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if http.is_server_error() {
        tracing::warn!(code = ?status.code(), message = status.message(), "rollout check failed");
    }
    json(http, &serde_json::json!({ "error": status.message() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_403_900 * NANOS_PER_SECOND;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
            .collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("tenant", "demo"),
            ("service", "checkout"),
            ("baseline", "v1"),
            ("candidate", "v2"),
        ]
    }

    fn refusal(prefix: &str, pairs: &[(&str, &str)]) -> String {
        match Ask::parse(prefix, params(pairs), NOW) {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("{pairs:?}: {other:?}"),
        }
    }

    #[test]
    fn durations_read_as_go_writes_them() {
        let s = NANOS_PER_SECOND;
        assert_eq!(duration_nano("90s"), Some(90 * s));
        assert_eq!(duration_nano("10m"), Some(600 * s));
        assert_eq!(duration_nano("1h30m"), Some(5_400 * s));
        assert_eq!(duration_nano("1.5h"), Some(5_400 * s));
        assert_eq!(duration_nano("500ms"), Some(s / 2));
        for bad in ["", "10", "m", "10 m", "10d", "-5m", "0s", "1e9h", "1..5m"] {
            assert_eq!(duration_nano(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_cohorts_split_one_service_by_one_resource_attribute() {
        let ask = Ask::parse("", params(&base()), NOW).unwrap();
        assert_eq!(ask.tenant.as_str(), "demo");
        assert_eq!(ask.range.end_unix_nano, NOW);
        assert_eq!(ask.range.start_unix_nano, NOW - DEFAULT_WINDOW_NANO);
        let request = ask.request;
        for (cohort, value) in [(&request.baseline, "v1"), (&request.candidate, "v2")] {
            let cohort = cohort.as_ref().unwrap();
            assert_eq!(cohort.label, value);
            let spans = cohort.spans.as_ref().unwrap();
            assert_eq!(spans.service_name, "checkout");
            assert_eq!(spans.time_range, Some(ask.range));
            assert_eq!(
                spans.attributes,
                vec![AttributeFilter {
                    key: "service.version".into(),
                    operator: MatchOperator::Equals as i32,
                    value: value.into(),
                    scope: AttributeScope::Resource as i32,
                }]
            );
        }
        assert_eq!(request.options, Some(CompareOptions::default()));
    }

    #[test]
    fn options_come_through() {
        let mut pairs = base();
        pairs.extend([
            ("attribute", "k8s.deployment.name"),
            ("window", "30m"),
            ("alpha", "0.01"),
            ("latency_increase", "0.2"),
            ("error_rate_increase", "0.01"),
            ("min_samples", "100"),
            ("signals", "latency, errors"),
            ("operations", "POST /checkout,GET /cart"),
        ]);
        let ask = Ask::parse("metadata.", params(&pairs), NOW).unwrap();
        assert_eq!(ask.range.start_unix_nano, NOW - 1_800 * NANOS_PER_SECOND);
        let options = ask.request.options.unwrap();
        assert_eq!(
            options,
            CompareOptions {
                signals: vec![Signal::Latency as i32, Signal::Errors as i32],
                operations: vec!["POST /checkout".into(), "GET /cart".into()],
                alpha: 0.01,
                latency_increase: 0.2,
                error_rate_increase: 0.01,
                min_samples: 100,
                weights: Vec::new(),
            }
        );
        let spans = ask.request.baseline.unwrap().spans.unwrap();
        assert_eq!(spans.attributes[0].key, "k8s.deployment.name");
    }

    #[test]
    fn bad_parameters_are_named() {
        let without = |key: &str| -> Vec<(&str, &str)> {
            base().into_iter().filter(|(k, _)| *k != key).collect()
        };
        for key in ["tenant", "service", "baseline", "candidate"] {
            assert_eq!(
                refusal("metadata.", &without(key)),
                format!("metadata.{key}: required")
            );
        }
        let with = |pair: (&'static str, &'static str)| {
            let mut pairs = base();
            pairs.push(pair);
            pairs
        };
        for (pair, expected) in [
            (
                ("window", "ten minutes"),
                "window: \"ten minutes\" is not a duration",
            ),
            (("alpha", "often"), "alpha: \"often\" is not a number"),
            (("alpha", "NaN"), "alpha: \"NaN\" is not a number"),
            (("min_samples", "-1"), "min_samples: \"-1\" is not a count"),
            (
                ("signals", "latency,vibes"),
                "signals: \"vibes\" is not a signal; known: latency, errors",
            ),
            (("attribute", ""), "attribute: empty"),
            (
                ("verison", "v2"),
                "verison: unknown parameter; known: tenant, service",
            ),
        ] {
            let message = refusal("", &with(pair));
            assert!(message.starts_with(expected), "{pair:?}: {message}");
        }
        let mut same = base();
        same[3] = ("candidate", "v1");
        assert!(refusal("", &same).starts_with("candidate: \"v1\" is the baseline too"));
        let mut bad_tenant = base();
        bad_tenant[0] = ("tenant", "Demo");
        assert!(refusal("", &bad_tenant).starts_with("tenant: must start with a lowercase"));
        let mut twice = params(&base());
        twice[1].1.push("payment".into());
        match Ask::parse("", twice, NOW) {
            Err(Error::InvalidArgument(m)) => assert_eq!(m, "service: given more than once"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_values_name_the_cohort_by_its_side() {
        let long = "x".repeat(MAX_LABEL_BYTES + 1);
        let mut pairs = base();
        pairs[3] = ("candidate", long.as_str());
        let ask = Ask::parse("", params(&pairs), NOW).unwrap();
        let candidate = ask.request.candidate.unwrap();
        assert_eq!(candidate.label, "candidate");
        assert_eq!(candidate.spans.unwrap().attributes[0].value, long);
    }

    #[test]
    fn answers_say_the_verdict_and_why() {
        use airis_proto::airis::delta::v1::Reason;
        let reason = |severity: Severity, en: &str| Reason {
            severity: severity as i32,
            signal: Signal::Latency as i32,
            service_name: "checkout".into(),
            operation: "POST /checkout".into(),
            en: en.into(),
            ko: format!("{en} (ko)"),
            ..Default::default()
        };
        let range = TimeRange {
            start_unix_nano: NOW - DEFAULT_WINDOW_NANO,
            end_unix_nano: NOW,
        };
        let fail = CompareResponse {
            verdict: Verdict::Fail as i32,
            score: 50.0,
            reasons: vec![
                reason(Severity::Fail, "checkout POST /checkout: p99 +23 %"),
                reason(Severity::Fail, "checkout GET /cart: p99 +12 %"),
                reason(Severity::Info, "a change below its threshold"),
            ],
            tests: 8,
            ..Default::default()
        };
        let answer = Answer::new(&fail, range);
        assert_eq!(answer.verdict, "fail");
        assert_eq!(
            answer.summary,
            "fail: checkout POST /checkout: p99 +23 % (and 1 more)"
        );
        assert_eq!(answer.reasons[0].severity, "fail");
        assert_eq!(answer.reasons[0].signal, "latency");
        assert_eq!(answer.end, "2026-12-04T17:05:00Z");
        assert_eq!(answer.start, "2026-12-04T16:55:00Z");

        let unjudged = CompareResponse {
            verdict: Verdict::Unspecified as i32,
            ..Default::default()
        };
        assert_eq!(Answer::new(&unjudged, range).verdict, "inconclusive");
        let pass = CompareResponse {
            verdict: Verdict::Pass as i32,
            score: 100.0,
            reasons: vec![reason(Severity::Info, "faster")],
            tests: 12,
            ..Default::default()
        };
        assert_eq!(
            Answer::new(&pass, range).summary,
            "pass: score 100.0 over 12 tests"
        );
    }
}
