//! The tonic service: the caller's tenant, both cohorts read at once, then
//! the comparison on a blocking thread (it is CPU work: bins of every
//! operation).

use airis_analytics::query::Store;
use std::sync::Arc;

use airis_analytics::Limits;
use airis_proto::airis::delta::v1::{
    CompareRequest, CompareResponse, ListChangesRequest, ListChangesResponse,
    delta_service_server::{DeltaService, DeltaServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::auth::{Access, Authenticator};
use tracing::Instrument as _;

use crate::cohort::Bounds;
use crate::options::Options;
use crate::{Error, changes, cohort, judge};

/// The delta service.
#[derive(Clone)]
pub struct Delta {
    auth: Authenticator,
    store: Store,
    bounds: Bounds,
    /// ListChanges' resource attributes, in the order their changes are
    /// compared by.
    change_attributes: Arc<[String]>,
}

impl Delta {
    pub fn new(
        auth: Authenticator,
        store: Store,
        bounds: Bounds,
        change_attributes: &[String],
    ) -> Self {
        Self {
            auth,
            store,
            bounds,
            change_attributes: change_attributes.into(),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn limits(&self) -> &Limits {
        self.store.limits()
    }

    pub(crate) fn bounds(&self) -> Bounds {
        self.bounds
    }

    pub(crate) fn change_attributes(&self) -> &[String] {
        &self.change_attributes
    }

    pub fn into_server(self) -> DeltaServiceServer<Self> {
        DeltaServiceServer::new(self)
    }

    /// Compares for `tenant` (the gRPC side and the rollout endpoints).
    pub(crate) async fn compare(
        &self,
        tenant: &airis_runtime::tenant::Tenant,
        request: CompareRequest,
    ) -> Result<CompareResponse, Error> {
        let options = Options::from_proto("options", request.options.as_ref())?;
        let (baseline, candidate) = tokio::try_join!(
            cohort::read(
                &self.store,
                tenant,
                "baseline",
                request.baseline.as_ref(),
                &options,
                self.bounds
            ),
            cohort::read(
                &self.store,
                tenant,
                "candidate",
                request.candidate.as_ref(),
                &options,
                self.bounds
            ),
        )?;
        tokio::task::spawn_blocking(move || judge::compare(&baseline, &candidate, &options))
            .await
            .map_err(|e| Error::Internal(format!("Compare: {e}")))
    }
}

#[tonic::async_trait]
impl DeltaService for Delta {
    async fn compare(
        &self,
        request: Request<CompareRequest>,
    ) -> Result<Response<CompareResponse>, Status> {
        let span = tracing::info_span!("delta", rpc = "Compare", tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            let answer = Delta::compare(self, &tenant, request.into_inner()).await?;
            Ok(Response::new(answer))
        }
        .instrument(span)
        .await
        .map_err(|error: Error| error.into())
    }

    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        let span =
            tracing::info_span!("delta", rpc = "ListChanges", tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), Access::Read)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            let answer = changes::list(self, &tenant, request.get_ref()).await?;
            Ok(Response::new(answer))
        }
        .instrument(span)
        .await
        .map_err(|error: Error| error.into())
    }
}
