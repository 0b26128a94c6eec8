//! The tonic service: the caller's tenant, its vocabulary (read on its
//! first question, refreshed in the background), then the parser.

use airis_proto::airis::search::v1::{
    AskRequest, AskResponse, InterpretRequest, InterpretResponse, Interpretation, NotApplied,
    SuggestRequest, SuggestResponse, answer, ask_request,
    search_service_server::{SearchService, SearchServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::auth::{Access, Authenticator};
use tracing::Instrument as _;

use crate::ask::{self, Asker};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::suggest::{DEFAULT_LIMIT, MAX_LIMIT, MAX_PREFIX_BYTES};
use crate::{Error, check, interpret};

/// The search service.
#[derive(Clone)]
pub struct Search {
    auth: Authenticator,
    catalog: Catalog,
    /// The query and anomaly services.
    asker: Asker,
}

impl Search {
    pub fn new(auth: Authenticator, catalog: Catalog, asker: Asker) -> Self {
        Self {
            auth,
            catalog,
            asker,
        }
    }

    pub fn into_server(self) -> SearchServiceServer<Self> {
        SearchServiceServer::new(self)
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::Unavailable(message) => Status::unavailable(message),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            Error::Internal(message) => {
                tracing::error!(%message, "search failed");
                Status::internal("the search failed; see the service's log")
            }
        }
    }
}

/// The checks of a Suggest request: its limit, 0 meaning the default.
fn suggest_limit(request: &SuggestRequest) -> Result<usize, Error> {
    if request.prefix.len() > MAX_PREFIX_BYTES {
        return Err(Error::InvalidArgument(format!(
            "prefix: {} bytes, at most {MAX_PREFIX_BYTES}",
            request.prefix.len()
        )));
    }
    match request.limit as usize {
        0 => Ok(DEFAULT_LIMIT),
        n if n > MAX_LIMIT => Err(Error::InvalidArgument(format!(
            "limit: {n}, at most {MAX_LIMIT}"
        ))),
        n => Ok(n),
    }
}

/// An interpretation sent as is, shown back in words: its rendering, no
/// sources, nothing unplaced, confidence 1.
fn as_sent(
    interpretation: Interpretation,
    request: &AskRequest,
    server_now: u64,
) -> Result<(InterpretResponse, Clock), Error> {
    let korean = crate::locale(&request.locale)?.unwrap_or(false);
    let now = if request.now_unix_nano == 0 {
        server_now
    } else {
        request.now_unix_nano
    };
    let clock = Clock::new(&request.time_zone, now)?;
    if interpretation.time_range.is_none() {
        return Err(Error::InvalidArgument(
            "interpretation.time_range: required".into(),
        ));
    }
    let understood = InterpretResponse {
        rendering: crate::render::render(&interpretation, &clock, korean),
        interpretation: Some(interpretation),
        locale: if korean { "ko" } else { "en" }.to_owned(),
        sources: Vec::new(),
        unplaced: Vec::new(),
        confidence: 1.0,
    };
    Ok((understood, clock))
}

impl Search {
    async fn ask(&self, request: Request<AskRequest>) -> Result<AskResponse, Status> {
        let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
        tracing::Span::current().record("tenant", tenant.as_str());
        let credentials = self.auth.credentials(request.metadata());
        let mut request = request.into_inner();
        let now = airis_runtime::clock::now_unix_nano();
        let (mut understood, clock) = match request.query.take() {
            Some(ask_request::Query::Question(question)) => {
                let question = InterpretRequest {
                    question,
                    locale: request.locale.clone(),
                    time_zone: request.time_zone.clone(),
                    now_unix_nano: request.now_unix_nano,
                };
                check(&question)?;
                let vocabulary = self.catalog.get(&tenant).await?;
                interpret(&question, &vocabulary.names, now)?
            }
            Some(ask_request::Query::Interpretation(sent)) => as_sent(sent, &request, now)?,
            None => {
                return Err(Error::InvalidArgument(
                    "query: a question or an interpretation is required".into(),
                )
                .into());
            }
        };
        let asker = &self.asker;
        let korean = understood.locale == "ko";
        let mut interpretation = understood.interpretation.clone().unwrap_or_default();
        ask::check_versions(&interpretation)?;
        // Versions left to be chosen: from the spans of the range, and
        // the interpretation as run names them.
        if let Some(asked) = interpretation.compare_versions.clone()
            && (asked.candidate.is_empty() || asked.baseline.is_empty())
            && let Some(top) = ask::versions_query(&interpretation)
        {
            let present = asker.versions(&credentials, top).await?;
            let whose = match (interpretation.service_names.first(), korean) {
                (Some(service), _) => service.clone(),
                (None, true) => "모든 서비스".to_owned(),
                (None, false) => "every service".to_owned(),
            };
            interpretation.compare_versions =
                Some(ask::pick_versions(&asked, &present, &whose, korean)?);
            understood.rendering = crate::render::render(&interpretation, &clock, korean);
            understood.interpretation = Some(interpretation.clone());
        }
        let (plan, versions_plan) = match &interpretation.compare_versions {
            Some(v) => (
                ask::plan_versioned(&interpretation, &v.candidate, korean)?,
                Some(ask::plan_versioned(&interpretation, &v.baseline, korean)?),
            ),
            None => (ask::plan(&interpretation, korean)?, None),
        };
        let mut query = plan.query;
        // A query the versions cannot narrow (anomalies, the list of
        // metrics) is asked once, as not_applied says.
        let mut baseline_query = versions_plan
            .filter(|_| {
                !plan
                    .not_applied
                    .iter()
                    .any(|n| n.field == "compare_versions")
            })
            .map(|p| p.query);
        if plan.metric_aggregation_from_type
            && let answer::Query::QueryMetrics(metrics) = &mut query
        {
            let range = metrics.time_range.unwrap_or_default();
            // A metric without data in the range: the query service says
            // so (NOT_FOUND) to the average it is asked for.
            let (aggregation, quantile) = asker
                .metric_default(&credentials, &metrics.metric_name, range)
                .await?
                .unwrap_or((airis_proto::airis::analytics::v1::Aggregation::Avg, 0.0));
            metrics.aggregation = aggregation as i32;
            metrics.quantile = quantile;
            if let Some(answer::Query::QueryMetrics(other)) = &mut baseline_query {
                other.aggregation = aggregation as i32;
                other.quantile = quantile;
            }
        }
        let shift = interpretation.compare_shift_nano;
        let baseline = if shift > 0 {
            Some(ask::shifted(&query, shift).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "interpretation.compare_shift_nano: {shift} reaches before 1970"
                ))
            })?)
        } else {
            baseline_query
        };
        let mut not_applied = plan.not_applied;
        // "Now" as the question was read: the request's, else the clock's.
        let asked_at = match request.now_unix_nano {
            0 => now,
            at => at,
        };
        let (judgement, mut not_judged) = match ask::judgement(&interpretation, korean, asked_at) {
            Some((compare, notes)) => (Some(compare), notes),
            None => (None, Vec::new()),
        };
        let ((answer, capped), baseline, judgement) = match baseline {
            Some(before) => {
                // The judgement is more than was asked: its failure leaves
                // the answer and says why, under compare_shift_nano.
                let judged = async {
                    let Some(compare) = judgement else {
                        return Ok::<_, Status>(None);
                    };
                    match asker.judge(&credentials, compare).await {
                        Ok(judged) => Ok(Some(judged)),
                        Err(status) => {
                            tracing::warn!(code = ?status.code(), message = status.message(), "comparison not judged");
                            not_judged.push(NotApplied {
                                field: if shift > 0 {
                                    "compare_shift_nano"
                                } else {
                                    "compare_versions"
                                }
                                .into(),
                                reason: if korean {
                                    format!("판정하지 못했습니다: {}", status.message())
                                } else {
                                    format!("not judged: {}", status.message())
                                },
                            });
                            Ok(None)
                        }
                    }
                };
                let (now, (before, _), judged) = tokio::try_join!(
                    asker.answer(&credentials, query, &plan.narrow),
                    asker.answer(&credentials, before, &plan.narrow),
                    judged,
                )?;
                (now, Some(before), judged)
            }
            None => (
                asker.answer(&credentials, query, &plan.narrow).await?,
                None,
                None,
            ),
        };
        if capped && let Some(query) = &answer.query {
            not_applied.push(ask::capped_note(query, korean));
        }
        Ok(AskResponse {
            interpretation: Some(understood),
            answer: Some(answer),
            baseline,
            not_applied,
            judgement,
            not_judged,
        })
    }
}

#[tonic::async_trait]
impl SearchService for Search {
    async fn ask(&self, request: Request<AskRequest>) -> Result<Response<AskResponse>, Status> {
        let span = tracing::info_span!("search", rpc = "Ask", tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        Search::ask(self, request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    async fn interpret(
        &self,
        request: Request<InterpretRequest>,
    ) -> Result<Response<InterpretResponse>, Status> {
        let span = tracing::info_span!("search", rpc = "Interpret", tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            let request = request.into_inner();
            check(&request)?;
            let vocabulary = self.catalog.get(&tenant).await?;
            let now = airis_runtime::clock::now_unix_nano();
            let (answer, _) = interpret(&request, &vocabulary.names, now)?;
            Ok(Response::new(answer))
        }
        .instrument(span)
        .await
    }

    async fn suggest(
        &self,
        request: Request<SuggestRequest>,
    ) -> Result<Response<SuggestResponse>, Status> {
        let span = tracing::info_span!("search", rpc = "Suggest", tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            let request = request.into_inner();
            let limit = suggest_limit(&request)?;
            let vocabulary = self.catalog.get(&tenant).await?;
            let suggestions = vocabulary.completions.complete(&request.prefix, limit);
            Ok(Response::new(SuggestResponse { suggestions }))
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suggest_request_is_checked_and_named() {
        let r = |prefix: &str, limit| SuggestRequest {
            prefix: prefix.to_owned(),
            limit,
        };
        assert_eq!(suggest_limit(&r("pay", 0)), Ok(DEFAULT_LIMIT));
        assert_eq!(suggest_limit(&r("pay", 3)), Ok(3));
        assert!(
            matches!(suggest_limit(&r("pay", 51)), Err(Error::InvalidArgument(m)) if m == "limit: 51, at most 50")
        );
        assert!(
            matches!(suggest_limit(&r(&"결".repeat(50), 0)), Err(Error::InvalidArgument(m)) if m.starts_with("prefix: 150 bytes"))
        );
    }
}
