//! The tonic service: tenant, cache, then the query module of each RPC.

use std::future::Future;

use airis_proto::airis::analytics::v1::{
    GetTraceRequest, GetTraceResponse, ListMetricsRequest, ListMetricsResponse,
    ListOperationsRequest, ListOperationsResponse, ListServicesRequest, ListServicesResponse,
    QueryMetricsRequest, QueryMetricsResponse, SearchLogsRequest, SearchLogsResponse,
    SearchSpansRequest, SearchSpansResponse, SearchTracesRequest, SearchTracesResponse,
    ServiceMapRequest, ServiceMapResponse, ServiceOverviewRequest, ServiceOverviewResponse,
    SpanFilter, TopKRequest, TopKResponse,
    query_service_server::{QueryService, QueryServiceServer},
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::prost::Message;
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::auth::{Access, Authenticator};
use airis_runtime::tenant::Tenant;
use tracing::Instrument as _;

use crate::{Error, cache::Cache, logs, metrics, query::Store, red, traces};

/// The analytics service.
#[derive(Clone)]
pub struct Analytics {
    auth: Authenticator,
    store: Store,
    cache: Cache,
}

impl Analytics {
    pub fn new(auth: Authenticator, store: Store, cache: Cache) -> Self {
        Self { auth, store, cache }
    }

    pub fn into_server(self) -> QueryServiceServer<Self> {
        QueryServiceServer::new(self)
    }

    /// Runs one RPC: resolves the tenant, answers from the cache when it
    /// can, otherwise runs `query` and caches its answer if the data it
    /// covers (up to `data_end`) has settled.
    async fn run<Req, Resp, Fut>(
        &self,
        rpc: &'static str,
        request: Request<Req>,
        data_end: impl FnOnce(&Req, &Resp) -> Option<u64>,
        query: impl FnOnce(Store, Tenant, Req) -> Fut,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message + Clone,
        Resp: Message + Default,
        Fut: Future<Output = Result<Resp, Error>>,
    {
        let span =
            tracing::info_span!("query", rpc, tenant = tracing::field::Empty, cached = false);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            let request = request.into_inner();
            let key = self.cache.key(rpc, &tenant, &request);
            if let Some(hit) = self.cache.get::<Resp>(&key).await {
                tracing::Span::current().record("cached", true);
                return Ok(Response::new(hit));
            }
            let kept = request.clone();
            let response = query(self.store.clone(), tenant, request).await?;
            if data_end(&kept, &response).is_some_and(|end| self.cache.settled(end)) {
                self.cache.put(&key, &response).await;
            }
            Ok(Response::new(response))
        }
        .instrument(span)
        .await
    }
}

fn range_end(range: Option<&TimeRange>) -> Option<u64> {
    range.map(|r| r.end_unix_nano)
}

fn filter_end(filter: Option<&SpanFilter>) -> Option<u64> {
    range_end(filter.and_then(|f| f.time_range.as_ref()))
}

#[tonic::async_trait]
impl QueryService for Analytics {
    async fn get_trace(
        &self,
        request: Request<GetTraceRequest>,
    ) -> Result<Response<GetTraceResponse>, Status> {
        self.run(
            "GetTrace",
            request,
            // A trace is settled once its latest span ended long enough ago
            // that no late span can still be on its way.
            |_, response: &GetTraceResponse| {
                response
                    .spans
                    .iter()
                    .map(|s| s.start_time_unix_nano.saturating_add(s.duration_nano))
                    .max()
            },
            |store, tenant, request| async move { traces::get_trace(&store, &tenant, request).await },
        )
        .await
    }

    async fn search_traces(
        &self,
        request: Request<SearchTracesRequest>,
    ) -> Result<Response<SearchTracesResponse>, Status> {
        self.run(
            "SearchTraces",
            request,
            |r, _| filter_end(r.filter.as_ref()),
            |store, tenant, request| async move {
                traces::search_traces(&store, &tenant, request).await
            },
        )
        .await
    }

    async fn search_spans(
        &self,
        request: Request<SearchSpansRequest>,
    ) -> Result<Response<SearchSpansResponse>, Status> {
        self.run(
            "SearchSpans",
            request,
            |r, _| filter_end(r.filter.as_ref()),
            |store, tenant, request| async move { traces::search_spans(&store, &tenant, request).await },
        )
        .await
    }

    async fn service_map(
        &self,
        request: Request<ServiceMapRequest>,
    ) -> Result<Response<ServiceMapResponse>, Status> {
        self.run(
            "ServiceMap",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move { red::service_map(&store, &tenant, request).await },
        )
        .await
    }

    async fn service_overview(
        &self,
        request: Request<ServiceOverviewRequest>,
    ) -> Result<Response<ServiceOverviewResponse>, Status> {
        self.run(
            "ServiceOverview",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move {
                red::service_overview(&store, &tenant, request).await
            },
        )
        .await
    }

    async fn list_services(
        &self,
        request: Request<ListServicesRequest>,
    ) -> Result<Response<ListServicesResponse>, Status> {
        self.run(
            "ListServices",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move {
                traces::list_services(&store, &tenant, request).await
            },
        )
        .await
    }

    async fn list_operations(
        &self,
        request: Request<ListOperationsRequest>,
    ) -> Result<Response<ListOperationsResponse>, Status> {
        self.run(
            "ListOperations",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move {
                traces::list_operations(&store, &tenant, request).await
            },
        )
        .await
    }

    async fn query_metrics(
        &self,
        request: Request<QueryMetricsRequest>,
    ) -> Result<Response<QueryMetricsResponse>, Status> {
        self.run(
            "QueryMetrics",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move {
                metrics::query_metrics(&store, &tenant, request).await
            },
        )
        .await
    }

    async fn list_metrics(
        &self,
        request: Request<ListMetricsRequest>,
    ) -> Result<Response<ListMetricsResponse>, Status> {
        self.run(
            "ListMetrics",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move {
                metrics::list_metrics(&store, &tenant, request).await
            },
        )
        .await
    }

    async fn search_logs(
        &self,
        request: Request<SearchLogsRequest>,
    ) -> Result<Response<SearchLogsResponse>, Status> {
        self.run(
            "SearchLogs",
            request,
            |r, _| range_end(r.time_range.as_ref()),
            |store, tenant, request| async move { logs::search_logs(&store, &tenant, request).await },
        )
        .await
    }

    async fn top_k(&self, request: Request<TopKRequest>) -> Result<Response<TopKResponse>, Status> {
        self.run(
            "TopK",
            request,
            |r, _| filter_end(r.filter.as_ref()),
            |store, tenant, request| async move { traces::top_k(&store, &tenant, request).await },
        )
        .await
    }
}
