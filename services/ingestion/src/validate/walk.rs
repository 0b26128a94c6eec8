//! The one walk over an export request, for every signal: resources →
//! scopes → items (spans, log records, metrics). An invalid resource or
//! scope takes every item under it along; containers left empty, or that
//! arrived empty, are removed.

use std::fmt::{self, Write as _};

use airis_proto::otlp::tonic::{
    collector::{
        logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
        trace::v1::ExportTraceServiceRequest,
    },
    common::v1::InstrumentationScope,
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    metrics::v1::{Metric, ResourceMetrics, ScopeMetrics},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span},
};

use super::report::{Rejected, Report};
use super::rules::{Ctx, metric_points};

/// An export request seen as resources → scopes → items.
pub(super) trait Export {
    type Resources;
    type Scopes;
    type Item;
    /// Field names, for the paths in messages.
    const RESOURCES: &'static str;
    const SCOPES: &'static str;
    const ITEMS: &'static str;

    fn resources(&self) -> &[Self::Resources];
    fn resources_mut(&mut self) -> &mut Vec<Self::Resources>;
    fn resource(resources: &Self::Resources) -> Option<&Resource>;
    fn scopes(resources: &Self::Resources) -> &[Self::Scopes];
    fn scopes_mut(resources: &mut Self::Resources) -> &mut Vec<Self::Scopes>;
    fn scope(scopes: &Self::Scopes) -> Option<&InstrumentationScope>;
    fn items(scopes: &Self::Scopes) -> &[Self::Item];
    fn items_mut(scopes: &mut Self::Scopes) -> &mut Vec<Self::Item>;
    /// How many counted items an item is: 1, or a metric's data points.
    fn weight(item: &Self::Item) -> usize;
    /// Validates one item, reporting what is removed under `path` (the
    /// item's own path); returns whether the item stays.
    fn keep(
        ctx: &Ctx<'_>,
        item: &mut Self::Item,
        report: &mut Report,
        path: impl Fn(&mut String) -> fmt::Result,
    ) -> bool;
}

/// Removes the invalid items of `request` in place and reports them.
pub(super) fn walk<E: Export>(request: &mut E, ctx: &Ctx<'_>) -> Rejected {
    let mut report = Report::default();
    let mut ri = 0;
    request.resources_mut().retain_mut(|resources| {
        let r = ri;
        ri += 1;
        if let Err(f) = ctx.resource(E::resource(resources)) {
            let n = E::scopes(resources).iter().map(scope_weight::<E>).sum();
            report.reject(n, |m| write!(m, "{}[{r}].resource", E::RESOURCES), &f);
            return false;
        }
        let mut si = 0;
        E::scopes_mut(resources).retain_mut(|scopes| {
            let s = si;
            si += 1;
            if let Err(f) = ctx.scope(E::scope(scopes)) {
                report.reject(
                    scope_weight::<E>(scopes),
                    |m| write!(m, "{}[{r}].{}[{s}].scope", E::RESOURCES, E::SCOPES),
                    &f,
                );
                return false;
            }
            let mut ii = 0;
            E::items_mut(scopes).retain_mut(|item| {
                let i = ii;
                ii += 1;
                E::keep(ctx, item, &mut report, |m| {
                    write!(
                        m,
                        "{}[{r}].{}[{s}].{}[{i}]",
                        E::RESOURCES,
                        E::SCOPES,
                        E::ITEMS
                    )
                })
            });
            !E::items(scopes).is_empty()
        });
        !E::scopes(resources).is_empty()
    });
    report.finish()
}

/// Counted items in a request.
pub(super) fn count<E: Export>(request: &E) -> usize {
    request
        .resources()
        .iter()
        .flat_map(E::scopes)
        .map(scope_weight::<E>)
        .sum()
}

fn scope_weight<E: Export>(scopes: &E::Scopes) -> usize {
    E::items(scopes).iter().map(E::weight).sum()
}

// === impl Export ===

impl Export for ExportTraceServiceRequest {
    type Resources = ResourceSpans;
    type Scopes = ScopeSpans;
    type Item = Span;
    const RESOURCES: &'static str = "resource_spans";
    const SCOPES: &'static str = "scope_spans";
    const ITEMS: &'static str = "spans";

    fn resources(&self) -> &[ResourceSpans] {
        &self.resource_spans
    }
    fn resources_mut(&mut self) -> &mut Vec<ResourceSpans> {
        &mut self.resource_spans
    }
    fn resource(resources: &ResourceSpans) -> Option<&Resource> {
        resources.resource.as_ref()
    }
    fn scopes(resources: &ResourceSpans) -> &[ScopeSpans] {
        &resources.scope_spans
    }
    fn scopes_mut(resources: &mut ResourceSpans) -> &mut Vec<ScopeSpans> {
        &mut resources.scope_spans
    }
    fn scope(scopes: &ScopeSpans) -> Option<&InstrumentationScope> {
        scopes.scope.as_ref()
    }
    fn items(scopes: &ScopeSpans) -> &[Span] {
        &scopes.spans
    }
    fn items_mut(scopes: &mut ScopeSpans) -> &mut Vec<Span> {
        &mut scopes.spans
    }
    fn weight(_: &Span) -> usize {
        1
    }
    fn keep(
        ctx: &Ctx<'_>,
        span: &mut Span,
        report: &mut Report,
        path: impl Fn(&mut String) -> fmt::Result,
    ) -> bool {
        report.keep(ctx.span(span), path)
    }
}

impl Export for ExportLogsServiceRequest {
    type Resources = ResourceLogs;
    type Scopes = ScopeLogs;
    type Item = LogRecord;
    const RESOURCES: &'static str = "resource_logs";
    const SCOPES: &'static str = "scope_logs";
    const ITEMS: &'static str = "log_records";

    fn resources(&self) -> &[ResourceLogs] {
        &self.resource_logs
    }
    fn resources_mut(&mut self) -> &mut Vec<ResourceLogs> {
        &mut self.resource_logs
    }
    fn resource(resources: &ResourceLogs) -> Option<&Resource> {
        resources.resource.as_ref()
    }
    fn scopes(resources: &ResourceLogs) -> &[ScopeLogs] {
        &resources.scope_logs
    }
    fn scopes_mut(resources: &mut ResourceLogs) -> &mut Vec<ScopeLogs> {
        &mut resources.scope_logs
    }
    fn scope(scopes: &ScopeLogs) -> Option<&InstrumentationScope> {
        scopes.scope.as_ref()
    }
    fn items(scopes: &ScopeLogs) -> &[LogRecord] {
        &scopes.log_records
    }
    fn items_mut(scopes: &mut ScopeLogs) -> &mut Vec<LogRecord> {
        &mut scopes.log_records
    }
    fn weight(_: &LogRecord) -> usize {
        1
    }
    fn keep(
        ctx: &Ctx<'_>,
        record: &mut LogRecord,
        report: &mut Report,
        path: impl Fn(&mut String) -> fmt::Result,
    ) -> bool {
        report.keep(ctx.log_record(record), path)
    }
}

impl Export for ExportMetricsServiceRequest {
    type Resources = ResourceMetrics;
    type Scopes = ScopeMetrics;
    type Item = Metric;
    const RESOURCES: &'static str = "resource_metrics";
    const SCOPES: &'static str = "scope_metrics";
    const ITEMS: &'static str = "metrics";

    fn resources(&self) -> &[ResourceMetrics] {
        &self.resource_metrics
    }
    fn resources_mut(&mut self) -> &mut Vec<ResourceMetrics> {
        &mut self.resource_metrics
    }
    fn resource(resources: &ResourceMetrics) -> Option<&Resource> {
        resources.resource.as_ref()
    }
    fn scopes(resources: &ResourceMetrics) -> &[ScopeMetrics] {
        &resources.scope_metrics
    }
    fn scopes_mut(resources: &mut ResourceMetrics) -> &mut Vec<ScopeMetrics> {
        &mut resources.scope_metrics
    }
    fn scope(scopes: &ScopeMetrics) -> Option<&InstrumentationScope> {
        scopes.scope.as_ref()
    }
    fn items(scopes: &ScopeMetrics) -> &[Metric] {
        &scopes.metrics
    }
    fn items_mut(scopes: &mut ScopeMetrics) -> &mut Vec<Metric> {
        &mut scopes.metrics
    }
    /// A metric counts its data points: OTLP reports rejected data points,
    /// not metrics.
    fn weight(metric: &Metric) -> usize {
        metric_points(metric)
    }
    fn keep(
        ctx: &Ctx<'_>,
        metric: &mut Metric,
        report: &mut Report,
        path: impl Fn(&mut String) -> fmt::Result,
    ) -> bool {
        ctx.metric(metric, report, path)
    }
}
