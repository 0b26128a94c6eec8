//! The tonic service: the caller's tenant, its vocabulary (read on its
//! first question, refreshed in the background), then the parser.

use airis_proto::airis::search::v1::{
    InterpretRequest, InterpretResponse, SuggestRequest, SuggestResponse,
    search_service_server::{SearchService, SearchServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::auth::{Access, Authenticator};
use tracing::Instrument as _;

use crate::catalog::Catalog;
use crate::suggest::{DEFAULT_LIMIT, MAX_LIMIT, MAX_PREFIX_BYTES};
use crate::{Error, check, interpret};

/// The search service.
#[derive(Clone)]
pub struct Search {
    auth: Authenticator,
    catalog: Catalog,
}

impl Search {
    pub fn new(auth: Authenticator, catalog: Catalog) -> Self {
        Self { auth, catalog }
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

#[tonic::async_trait]
impl SearchService for Search {
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
