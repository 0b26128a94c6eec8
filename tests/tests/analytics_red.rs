//! ServiceMap and ServiceOverview end to end: a known topology goes through
//! the real pipeline (OTLP → Kafka → loader → ClickHouse), then the query
//! service's answers are compared with the same figures computed here from
//! the spans that were sent.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::time::Duration;

use airis_analytics::Limits;
use airis_analytics::query::Store;
use airis_proto::airis::analytics::v1::{
    LatencyPercentiles, RedSeries, ServiceMapRequest, ServiceOverviewRequest,
    query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::otlp::tonic::trace::v1::{Span, Status, span::SpanKind, status::StatusCode};
use airis_proto::tonic::{Code, Request, transport::Channel};
use airis_runtime::tenant::Tenant;
use airis_store::rollup::build::{RollupConfig, build_due};
use airis_store::rollup::plan::{Coverage, Need};
use airis_store::sql::Window;
use airis_store::tables::{MINUTE_COUNTS, TRACES};
use airis_tests::{
    OTHER_TOKEN, Pipeline, QueryServer, Settings, TENANT, TOKEN,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(60);
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const STEP_SECS: u32 = 600;
/// The queried window: [now - WINDOW_BACK, now + 1 min).
const WINDOW_BACK: u64 = 40 * MIN;
/// A service name that must travel as a literal.
static HOSTILE: LazyLock<String> =
    LazyLock::new(|| format!("결제 'svc'; DROP TABLE {TRACES}; -- ?"));

/// One span as sent, and what the model computes from.
#[derive(Clone)]
struct Sent {
    token: &'static str,
    trace: u64,
    id: u64,
    parent: Option<u64>,
    service: String,
    name: String,
    kind: SpanKind,
    start: u64,
    duration: u64,
    error: bool,
}

#[derive(Default, Clone)]
struct Topology {
    run: u64,
    next_trace: u64,
    next_span: u64,
    spans: Vec<Sent>,
}

impl Topology {
    fn trace(&mut self) -> u64 {
        self.next_trace += 1;
        self.next_trace
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        token: &'static str,
        trace: u64,
        parent: Option<u64>,
        service: &str,
        name: &str,
        kind: SpanKind,
        start: u64,
        duration: u64,
        error: bool,
    ) -> u64 {
        self.next_span += 1;
        let id = self.next_span;
        self.spans.push(Sent {
            token,
            trace,
            id,
            parent,
            service: service.to_owned(),
            name: name.to_owned(),
            kind,
            start,
            duration,
            error,
        });
        id
    }

    fn otlp(&self, sent: &Sent) -> Span {
        Span {
            trace_id: trace_id(self.run, sent.trace),
            span_id: span_id(sent.id),
            parent_span_id: sent.parent.map(span_id).unwrap_or_default(),
            name: sent.name.clone(),
            kind: sent.kind as i32,
            start_time_unix_nano: sent.start,
            end_time_unix_nano: sent.start + sent.duration,
            status: Some(Status {
                code: if sent.error {
                    StatusCode::Error
                } else {
                    StatusCode::Ok
                } as i32,
                message: String::new(),
            }),
            ..Default::default()
        }
    }

    /// A root span of catalog, sent after the rest: it changes catalog's
    /// counts but no edge.
    fn add_late_span(&mut self, start: u64) {
        let tr = self.trace();
        self.add(
            TOKEN,
            tr,
            None,
            "catalog",
            "warm cache",
            SpanKind::Internal,
            start,
            3 * MS,
            false,
        );
    }

    fn of(&self, token: &str) -> impl Iterator<Item = &Sent> {
        self.spans.iter().filter(move |s| s.token == token)
    }
}

/// acme: frontend → checkout → payment (client/server pairs), checkout →
/// shipping over messaging, frontend → catalog (with and without a client
/// span), one service with a hostile name; globex: its own "frontend" →
/// ledger. Three groups ten minutes apart, so at least three 10-minute
/// buckets hold data.
fn topology(run: u64, now: u64) -> Topology {
    let mut t = Topology {
        run,
        ..Default::default()
    };
    let bases = [now - 25 * MIN, now - 15 * MIN, now - 5 * MIN];
    let checkout_traces = [4u64, 6, 10];
    let catalog_traces = [3u64, 2, 5];
    let (mut g, mut h) = (0u64, 0u64);
    for (k, &base) in bases.iter().enumerate() {
        for i in 0..checkout_traces[k] {
            let tr = t.trace();
            let start = base + i * SEC;
            let pay = (g % 7 + 1) * 3 * MS + g * 10_000;
            let fail = g.is_multiple_of(5);
            let fs = t.add(
                TOKEN,
                tr,
                None,
                "frontend",
                "GET /checkout",
                SpanKind::Server,
                start,
                pay + 6 * MS,
                g.is_multiple_of(10),
            );
            let fc = t.add(
                TOKEN,
                tr,
                Some(fs),
                "frontend",
                "POST /checkout",
                SpanKind::Client,
                start + 100_000,
                pay + 4 * MS,
                fail,
            );
            let cs = t.add(
                TOKEN,
                tr,
                Some(fc),
                "checkout",
                "POST /checkout",
                SpanKind::Server,
                start + 200_000,
                pay + 3 * MS + g * 1_000,
                fail,
            );
            t.add(
                TOKEN,
                tr,
                Some(cs),
                "checkout",
                "compute-total",
                SpanKind::Internal,
                start + 300_000,
                100_000,
                false,
            );
            let cc = t.add(
                TOKEN,
                tr,
                Some(cs),
                "checkout",
                "POST /pay",
                SpanKind::Client,
                start + 400_000,
                pay + 500_000,
                fail,
            );
            t.add(
                TOKEN,
                tr,
                Some(cc),
                "payment",
                "POST /pay",
                SpanKind::Server,
                start + 500_000,
                pay,
                fail,
            );
            if g.is_multiple_of(2) {
                let pr = t.add(
                    TOKEN,
                    tr,
                    Some(cs),
                    "checkout",
                    "orders publish",
                    SpanKind::Producer,
                    start + 600_000,
                    200_000,
                    false,
                );
                t.add(
                    TOKEN,
                    tr,
                    Some(pr),
                    "shipping",
                    "orders process",
                    SpanKind::Consumer,
                    start + 900_000,
                    5 * MS + g * 1_000,
                    g.is_multiple_of(4),
                );
            }
            g += 1;
        }
        for i in 0..catalog_traces[k] {
            let tr = t.trace();
            let start = base + 30 * SEC + i * SEC;
            let fs = t.add(
                TOKEN,
                tr,
                None,
                "frontend",
                "GET /products",
                SpanKind::Server,
                start,
                20 * MS + h * MS,
                h == 0,
            );
            if h.is_multiple_of(2) {
                let fc = t.add(
                    TOKEN,
                    tr,
                    Some(fs),
                    "frontend",
                    "GET /catalog",
                    SpanKind::Client,
                    start + 100_000,
                    10 * MS + h * MS,
                    h.is_multiple_of(3),
                );
                t.add(
                    TOKEN,
                    tr,
                    Some(fc),
                    "catalog",
                    "GET /catalog",
                    SpanKind::Server,
                    start + 200_000,
                    (h + 1) * 2 * MS,
                    h.is_multiple_of(3),
                );
            } else {
                // An uninstrumented client: the server span's parent is the
                // frontend's server span.
                t.add(
                    TOKEN,
                    tr,
                    Some(fs),
                    "catalog",
                    "GET /search",
                    SpanKind::Server,
                    start + 200_000,
                    (h + 1) * 2 * MS + 7,
                    false,
                );
            }
            h += 1;
        }
    }
    // Calls into inventory whose caller started before the window: matched
    // when the parent is within the lookback, not when it is older.
    let window_start = now - WINDOW_BACK;
    for (i, parent_start) in [window_start - 20 * SEC, window_start - 150 * SEC]
        .into_iter()
        .enumerate()
    {
        let tr = t.trace();
        let fc = t.add(
            TOKEN,
            tr,
            None,
            "frontend",
            "GET /inventory",
            SpanKind::Client,
            parent_start,
            40 * SEC,
            false,
        );
        t.add(
            TOKEN,
            tr,
            Some(fc),
            "inventory",
            "GET /inventory",
            SpanKind::Server,
            window_start + (5 + i as u64) * SEC,
            2 * MS,
            false,
        );
    }
    let tr = t.trace();
    let hs = t.add(
        TOKEN,
        tr,
        None,
        &HOSTILE,
        "결제 처리",
        SpanKind::Server,
        bases[1] + 45 * SEC,
        3 * MS,
        true,
    );
    t.add(
        TOKEN,
        tr,
        Some(hs),
        &HOSTILE,
        "검증 'x'",
        SpanKind::Internal,
        bases[1] + 45 * SEC + 1,
        MS,
        false,
    );
    for i in 0..3u64 {
        let tr = t.trace();
        let start = bases[2] + 50 * SEC + i * SEC;
        let fs = t.add(
            OTHER_TOKEN,
            tr,
            None,
            "frontend",
            "GET /",
            SpanKind::Server,
            start,
            9 * MS,
            i == 0,
        );
        t.add(
            OTHER_TOKEN,
            tr,
            Some(fs),
            "ledger",
            "SELECT",
            SpanKind::Server,
            start + 1_000,
            4 * MS,
            false,
        );
    }
    t
}

// === the model ===

/// quantileExact: the element at floor(level * n) of the sorted values.
fn exact(mut values: Vec<u64>) -> LatencyPercentiles {
    if values.is_empty() {
        return LatencyPercentiles::default();
    }
    values.sort_unstable();
    let at = |level: f64| values[((level * values.len() as f64) as usize).min(values.len() - 1)];
    LatencyPercentiles {
        p50_nano: at(0.5),
        p95_nano: at(0.95),
        p99_nano: at(0.99),
    }
}

#[derive(Default, Clone)]
struct Agg {
    count: u64,
    errors: u64,
    durations: Vec<u64>,
}

impl Agg {
    fn add(&mut self, s: &Sent) {
        self.count += 1;
        self.errors += u64::from(s.error);
        self.durations.push(s.duration);
    }
    fn rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }
}

/// Children starting in the window whose parent (in another service)
/// starts from one minute before the child's minute to one minute after it.
fn model_edges(spans: &[&Sent], range: &TimeRange) -> BTreeMap<(String, String), Agg> {
    let by_id: BTreeMap<(u64, u64), &Sent> = spans.iter().map(|s| ((s.trace, s.id), *s)).collect();
    let mut edges: BTreeMap<(String, String), Agg> = BTreeMap::new();
    for s in spans {
        if !in_window(s, range) {
            continue;
        }
        let Some(parent) = s.parent.and_then(|p| by_id.get(&(s.trace, p))) else {
            continue;
        };
        let minute = s.start - s.start % MIN;
        if parent.start < minute - MIN || parent.start >= minute + 2 * MIN {
            continue;
        }
        if parent.service != s.service {
            edges
                .entry((parent.service.clone(), s.service.clone()))
                .or_default()
                .add(s);
        }
    }
    edges
}

fn in_window(s: &Sent, range: &TimeRange) -> bool {
    s.start >= range.start_unix_nano && s.start < range.end_unix_nano
}

/// Per series key: the total and the per-bucket aggregates.
type Model = BTreeMap<(String, String), (Agg, BTreeMap<u64, Agg>)>;

fn model_overview(
    spans: &[&Sent],
    service: Option<&str>,
    entry_only: bool,
    step_secs: u32,
) -> Model {
    let step = u64::from(step_secs) * SEC;
    let mut model = Model::new();
    for s in spans {
        if service.is_some_and(|name| name != s.service) {
            continue;
        }
        if entry_only && !matches!(s.kind, SpanKind::Server | SpanKind::Consumer) {
            continue;
        }
        let key = (
            s.service.clone(),
            service.map_or(String::new(), |_| s.name.clone()),
        );
        let entry = model.entry(key).or_default();
        entry.0.add(s);
        entry.1.entry(s.start / step * step).or_default().add(s);
    }
    model
}

/// Checks a ServiceOverview answer against the model, point by point.
fn assert_overview(series: &[RedSeries], model: &Model, range: &TimeRange, step_secs: u32) {
    let step = u64::from(step_secs) * SEC;
    let seconds = (range.end_unix_nano - range.start_unix_nano) as f64 / 1e9;
    let got: Vec<(String, String)> = series
        .iter()
        .map(|s| (s.service_name.clone(), s.operation.clone()))
        .collect();
    let want: Vec<(String, String)> = model.keys().cloned().collect();
    assert_eq!(got, want, "series keys and order");
    let first = range.start_unix_nano / step * step;
    let last = (range.end_unix_nano - 1) / step * step;
    let times: Vec<u64> = (first..=last).step_by(step as usize).collect();
    for s in series {
        let (total, buckets) = &model[&(s.service_name.clone(), s.operation.clone())];
        let label = format!("{}/{}", s.service_name, s.operation);
        assert_eq!(s.request_count, total.count, "{label} requests");
        assert_eq!(s.error_count, total.errors, "{label} errors");
        assert_eq!(s.error_rate, total.rate(), "{label} error rate");
        assert_eq!(
            s.request_rate,
            total.count as f64 / seconds,
            "{label} request rate"
        );
        assert_eq!(
            s.latency,
            Some(exact(total.durations.clone())),
            "{label} latency"
        );
        let point_times: Vec<u64> = s.points.iter().map(|p| p.time_unix_nano).collect();
        assert_eq!(point_times, times, "{label} point times (filled, aligned)");
        for p in &s.points {
            let empty = Agg::default();
            let want = buckets.get(&p.time_unix_nano).unwrap_or(&empty);
            assert_eq!(
                p.request_count, want.count,
                "{label} @{} requests",
                p.time_unix_nano
            );
            assert_eq!(
                p.error_count, want.errors,
                "{label} @{} errors",
                p.time_unix_nano
            );
            assert_eq!(
                p.latency,
                Some(exact(want.durations.clone())),
                "{label} @{} latency",
                p.time_unix_nano
            );
        }
        assert_eq!(
            s.points.iter().map(|p| p.request_count).sum::<u64>(),
            s.request_count,
            "{label}: points add up to the total"
        );
    }
}

fn overview(range: &TimeRange, service: &str, step: u32, entry: bool) -> ServiceOverviewRequest {
    ServiceOverviewRequest {
        time_range: Some(*range),
        service_name: service.to_owned(),
        step_seconds: step,
        entry_spans_only: entry,
    }
}

async fn ingest(pipeline: &Pipeline, topology: &Topology) -> anyhow::Result<()> {
    ingest_spans(pipeline, topology, &topology.spans).await
}

/// Sends `spans` of `topology` and waits until all of the topology's spans
/// are stored.
async fn ingest_spans(
    pipeline: &Pipeline,
    topology: &Topology,
    spans: &[Sent],
) -> anyhow::Result<()> {
    let mut client = trace_client(&pipeline.endpoint).await?;
    let mut batches: BTreeMap<(&str, &str), Vec<Span>> = BTreeMap::new();
    for s in spans {
        batches
            .entry((s.token, s.service.as_str()))
            .or_default()
            .push(topology.otlp(s));
    }
    for ((token, service), spans) in batches {
        let response = client
            .export(authed(traces_request(service, spans), token))
            .await?
            .into_inner();
        assert_eq!(response.partial_success, None);
    }
    let ch = pipeline.settings.clickhouse();
    let sent = topology.spans.len() as u64;
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {TRACES}"), sent, WAIT).await?;
    assert_eq!(seen, sent, "spans landed");
    // The loader counts a batch's spans per minute right after storing them.
    let counted = wait_for_count(
        &ch,
        &format!("SELECT sum(Spans) FROM {MINUTE_COUNTS}"),
        sent,
        WAIT,
    )
    .await?;
    assert_eq!(counted, sent, "spans counted per minute");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_map_and_red_match_the_sent_topology() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("red")).await?;
    let now = now_unix_nano();
    let topology = topology(now, now);
    ingest(&pipeline, &topology).await?;

    let server = QueryServer::start(&pipeline.settings).await?;
    let mut client = server.client().await?;
    let range = TimeRange {
        start_unix_nano: now - WINDOW_BACK,
        end_unix_nano: now + MIN,
    };
    let window = Window {
        start: range.start_unix_nano,
        end: range.end_unix_nano,
    };
    let store = Store::new(pipeline.settings.clickhouse(), Limits::default());
    let acme = Tenant::parse(TENANT).map_err(anyhow::Error::msg)?;

    // Nothing rolled up yet: every answer comes from the spans.
    let coverage = Coverage::read(store.client(), &acme, &window).await?;
    assert!(coverage.plan(&window, Need::Minute).rolled.is_empty());
    assert_answers(&mut client, &topology, now).await?;

    // Roll up everything (as if ten minutes had passed): the same answers,
    // now from the rollups for every whole minute of the window.
    let rollup = RollupConfig {
        settle_secs: 0,
        lookback_secs: 3600,
        ..RollupConfig::default()
    };
    let built = build_due(&pipeline.settings.clickhouse(), &rollup, now + 10 * MIN).await?;
    assert!(built >= 6, "minutes with spans of both tenants: {built}");
    let coverage = Coverage::read(store.client(), &acme, &window).await?;
    for need in [Need::Minute, Need::Neighbours] {
        let plan = coverage.plan(&window, need);
        assert!(!plan.rolled.is_empty(), "{need:?}");
        // Only the partial minutes at both ends are read from the spans.
        assert_eq!(plan.raw.len(), 2, "{need:?}: {:?}", plan.raw);
        assert!(plan.raw.iter().all(|r| r.end - r.start < MIN));
    }
    assert_eq!(
        build_due(&pipeline.settings.clickhouse(), &rollup, now + 10 * MIN).await?,
        0,
        "nothing changed, nothing to build"
    );
    assert_answers(&mut client, &topology, now).await?;

    // A late call into a built minute: the minute no longer matches its
    // build, so it is read from the spans (and counted) until rebuilt.
    // The late span's minute holds checkout spans sent before (at base + 2 s
    // and base + 3 s), so it was built.
    let late_start = now - 15 * MIN + 2 * SEC + 500 * MS;
    let mut late = topology.clone();
    late.add_late_span(late_start);
    ingest_spans(&pipeline, &late, &late.spans[topology.spans.len()..]).await?;
    let coverage = Coverage::read(store.client(), &acme, &window).await?;
    let stale = late_start - late_start % MIN;
    assert!(
        coverage
            .plan(&window, Need::Minute)
            .raw
            .iter()
            .any(|r| r.start <= stale && stale < r.end),
        "the changed minute is read from the spans"
    );
    assert_answers(&mut client, &late, now).await?;
    // The changed minute, and the neighbours of it that hold spans.
    let rebuilt = build_due(&pipeline.settings.clickhouse(), &rollup, now + 10 * MIN).await?;
    assert!((1..=3).contains(&rebuilt), "{rebuilt}");
    let coverage = Coverage::read(store.client(), &acme, &window).await?;
    assert_eq!(coverage.plan(&window, Need::Neighbours).raw.len(), 2);
    assert_answers(&mut client, &late, now).await?;

    // max_series: seven services is more than five.
    let mut limited = pipeline.settings.clone();
    limited.analytics.limits.max_series = 5;
    let small = QueryServer::start(&limited).await?;
    let mut small_client = small.client().await?;
    let status = small_client
        .service_overview(authed(overview(&range, "", STEP_SECS, true), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("analytics.limits.max_series"),
        "{status:?}"
    );
    // Four operations fit.
    let answer = small_client
        .service_overview(authed(
            overview(&range, "checkout", STEP_SECS, false),
            TOKEN,
        ))
        .await?
        .into_inner();
    assert_eq!(answer.series.len(), 4);
    small.stop().await?;

    bad_requests_get_clear_errors(&mut client).await?;

    server.stop().await?;
    pipeline.stop().await
}

/// Every ServiceMap and ServiceOverview answer for the topology, checked
/// against the model.
async fn assert_answers(
    client: &mut QueryServiceClient<Channel>,
    topology: &Topology,
    now: u64,
) -> anyhow::Result<()> {
    let range = TimeRange {
        start_unix_nano: now - WINDOW_BACK,
        end_unix_nano: now + MIN,
    };
    // Everything sent, for the edges (parents may precede the window), and
    // what starts in the window, for everything else.
    let acme_all: Vec<&Sent> = topology.of(TOKEN).collect();
    let acme: Vec<&Sent> = acme_all
        .iter()
        .copied()
        .filter(|s| in_window(s, &range))
        .collect();
    assert_eq!(
        acme_all.len() - acme.len(),
        2,
        "two callers before the window"
    );
    let globex: Vec<&Sent> = topology.of(OTHER_TOKEN).collect();

    // --- ServiceMap ---
    // The map widens the range to whole minutes.
    let map_range = TimeRange {
        start_unix_nano: range.start_unix_nano - range.start_unix_nano % MIN,
        end_unix_nano: range.end_unix_nano.div_ceil(MIN) * MIN,
    };
    let map = client
        .service_map(authed(
            ServiceMapRequest {
                time_range: Some(range),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    let edges = model_edges(&acme_all, &map_range);
    let edge_keys: BTreeSet<(&str, &str)> = edges
        .keys()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        edge_keys,
        BTreeSet::from([
            ("checkout", "payment"),
            ("checkout", "shipping"),
            ("frontend", "catalog"),
            ("frontend", "checkout"),
            ("frontend", "inventory"),
        ]),
        "the model itself"
    );
    let got: Vec<(&str, &str)> = map
        .edges
        .iter()
        .map(|e| (e.caller.as_str(), e.callee.as_str()))
        .collect();
    assert_eq!(
        got,
        edge_keys.iter().copied().collect::<Vec<_>>(),
        "edges, sorted"
    );
    for edge in &map.edges {
        let want = &edges[&(edge.caller.clone(), edge.callee.clone())];
        let label = format!("{} -> {}", edge.caller, edge.callee);
        assert_eq!(edge.request_count, want.count, "{label} requests");
        assert_eq!(edge.error_count, want.errors, "{label} errors");
        assert_eq!(edge.error_rate, want.rate(), "{label} error rate");
        assert_eq!(
            edge.latency,
            Some(exact(want.durations.clone())),
            "{label} latency"
        );
    }
    // Client → server pairs count once per request: 20 checkouts, 10 catalog
    // calls (5 through a client span, 5 without one), 10 payments.
    let count = |a: &str, b: &str| {
        map.edges
            .iter()
            .find(|e| e.caller == a && e.callee == b)
            .map(|e| e.request_count)
    };
    assert_eq!(count("frontend", "checkout"), Some(20));
    assert_eq!(count("checkout", "payment"), Some(20));
    assert_eq!(count("checkout", "shipping"), Some(10));
    assert_eq!(count("frontend", "catalog"), Some(10));
    // Only the call whose caller started within the lookback.
    assert_eq!(count("frontend", "inventory"), Some(1));
    let payment = map.edges.iter().find(|e| e.callee == "payment").unwrap();
    assert_eq!(payment.error_count, 4);
    assert_eq!(payment.error_rate, 0.2);

    let mut nodes: BTreeMap<String, Agg> = BTreeMap::new();
    for s in acme_all.iter().filter(|s| in_window(s, &map_range)) {
        nodes.entry(s.service.clone()).or_default().add(s);
    }
    let got: Vec<(String, u64, u64)> = map
        .nodes
        .iter()
        .map(|n| (n.service_name.clone(), n.span_count, n.error_count))
        .collect();
    let want: Vec<(String, u64, u64)> = nodes
        .iter()
        .map(|(name, agg)| (name.clone(), agg.count, agg.errors))
        .collect();
    assert_eq!(got, want, "nodes");
    assert!(
        map.nodes.iter().all(|n| n.service_name != "ledger"),
        "globex leaked"
    );

    // globex sees only its own services and edge.
    let other = client
        .service_map(authed(
            ServiceMapRequest {
                time_range: Some(range),
            },
            OTHER_TOKEN,
        ))
        .await?
        .into_inner();
    let names: Vec<&str> = other
        .nodes
        .iter()
        .map(|n| n.service_name.as_str())
        .collect();
    assert_eq!(names, ["frontend", "ledger"]);
    assert_eq!(other.nodes[0].span_count, 3);
    assert_eq!(other.nodes[0].error_count, 1);
    assert_eq!(other.edges.len(), 1);
    assert_eq!(
        (
            other.edges[0].caller.as_str(),
            other.edges[0].callee.as_str()
        ),
        ("frontend", "ledger")
    );
    assert_eq!(other.edges[0].request_count, 3);
    assert_eq!(
        model_edges(&globex, &map_range)[&("frontend".into(), "ledger".into())].count,
        3
    );

    // A window before the data: nothing.
    let empty = client
        .service_map(authed(
            ServiceMapRequest {
                time_range: Some(TimeRange {
                    start_unix_nano: now - 120 * MIN,
                    end_unix_nano: now - 100 * MIN,
                }),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert!(empty.nodes.is_empty() && empty.edges.is_empty());

    // --- ServiceOverview ---
    // Whole minutes too.
    let minutes = map_range;
    let acme_minutes: Vec<&Sent> = acme_all
        .iter()
        .copied()
        .filter(|s| in_window(s, &minutes))
        .collect();
    let globex_minutes: Vec<&Sent> = globex
        .iter()
        .copied()
        .filter(|s| in_window(s, &minutes))
        .collect();
    // Per service, entry spans only.
    let answer = client
        .service_overview(authed(overview(&range, "", STEP_SECS, true), TOKEN))
        .await?
        .into_inner();
    assert_eq!(answer.step_seconds, STEP_SECS);
    let model = model_overview(&acme_minutes, None, true, STEP_SECS);
    let non_empty: BTreeSet<u64> = model
        .values()
        .flat_map(|(_, b)| b.keys().copied())
        .collect();
    assert!(non_empty.len() >= 3, "data spans at least three buckets");
    assert_overview(&answer.series, &model, &minutes, STEP_SECS);
    let names: Vec<&str> = answer
        .series
        .iter()
        .map(|s| s.service_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "catalog",
            "checkout",
            "frontend",
            "inventory",
            "payment",
            "shipping",
            &HOSTILE
        ]
    );
    let checkout = &answer.series[1];
    assert_eq!((checkout.request_count, checkout.error_count), (20, 4));

    // All spans.
    let answer = client
        .service_overview(authed(overview(&range, "", STEP_SECS, false), TOKEN))
        .await?
        .into_inner();
    assert_overview(
        &answer.series,
        &model_overview(&acme_minutes, None, false, STEP_SECS),
        &minutes,
        STEP_SECS,
    );
    // checkout: 20 server + 20 internal + 20 client + 10 producer spans.
    assert_eq!(answer.series[1].request_count, 70);

    // Per operation of one service, all spans and entry spans only.
    for entry in [false, true] {
        let answer = client
            .service_overview(authed(
                overview(&range, "checkout", STEP_SECS, entry),
                TOKEN,
            ))
            .await?
            .into_inner();
        let model = model_overview(&acme_minutes, Some("checkout"), entry, STEP_SECS);
        assert_overview(&answer.series, &model, &minutes, STEP_SECS);
        let ops: Vec<&str> = answer.series.iter().map(|s| s.operation.as_str()).collect();
        if entry {
            assert_eq!(ops, ["POST /checkout"]);
        } else {
            assert_eq!(
                ops,
                [
                    "POST /checkout",
                    "POST /pay",
                    "compute-total",
                    "orders publish"
                ]
            );
        }
        assert!(answer.series.iter().all(|s| s.service_name == "checkout"));
    }

    // A hostile service name is matched literally.
    let answer = client
        .service_overview(authed(overview(&range, &HOSTILE, STEP_SECS, false), TOKEN))
        .await?
        .into_inner();
    assert_overview(
        &answer.series,
        &model_overview(&acme_minutes, Some(&HOSTILE), false, STEP_SECS),
        &minutes,
        STEP_SECS,
    );
    let ops: Vec<&str> = answer.series.iter().map(|s| s.operation.as_str()).collect();
    assert_eq!(ops, ["검증 'x'", "결제 처리"]);
    for name in [
        &format!("'; DROP TABLE {TRACES}; --"),
        "checkout'",
        "frontend\\",
        "\u{0}",
    ] {
        let answer = client
            .service_overview(authed(overview(&range, name, STEP_SECS, false), TOKEN))
            .await?
            .into_inner();
        assert!(answer.series.is_empty(), "{name:?}");
    }

    // Step 0 picks whole minutes, the fewest giving at most about 60
    // points: 41 minutes, widened to 41 or 42 whole minutes → one minute,
    // which the per-minute rollups answer.
    let answer = client
        .service_overview(authed(overview(&range, "payment", 0, true), TOKEN))
        .await?
        .into_inner();
    let whole_minutes = (minutes.end_unix_nano - minutes.start_unix_nano) / (60 * SEC);
    assert!(
        whole_minutes == 41 || whole_minutes == 42,
        "{whole_minutes}"
    );
    let step = 60;
    assert_eq!(answer.step_seconds, step);
    assert_overview(
        &answer.series,
        &model_overview(&acme_minutes, Some("payment"), true, step),
        &minutes,
        step,
    );

    // Tenant isolation: globex's frontend is not acme's.
    let answer = client
        .service_overview(authed(overview(&range, "", STEP_SECS, false), OTHER_TOKEN))
        .await?
        .into_inner();
    assert_overview(
        &answer.series,
        &model_overview(&globex_minutes, None, false, STEP_SECS),
        &minutes,
        STEP_SECS,
    );
    assert_eq!(answer.series.len(), 2);
    assert_eq!(answer.series[0].request_count, 3);

    Ok(())
}

async fn expect_error(
    client: &mut QueryServiceClient<Channel>,
    range: Option<TimeRange>,
    step: u32,
    code: Code,
    needle: &str,
) {
    let status = client
        .service_map(authed(ServiceMapRequest { time_range: range }, TOKEN))
        .await;
    if step == 0 {
        let status = status.unwrap_err();
        assert_eq!(status.code(), code, "ServiceMap {range:?}: {status:?}");
        assert!(status.message().contains(needle), "{status:?}");
    }
    let status = client
        .service_overview(authed(
            ServiceOverviewRequest {
                time_range: range,
                service_name: "x'; DROP".to_owned(),
                step_seconds: step,
                entry_spans_only: true,
            },
            TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), code, "ServiceOverview {range:?}: {status:?}");
    assert!(status.message().contains(needle), "{status:?}");
}

/// Validation and authentication errors, and valid requests over a window
/// without data. Runs after the data landed: the chdb adapter used in
/// development applies per-query settings to one shared session.
async fn bad_requests_get_clear_errors(
    client: &mut QueryServiceClient<Channel>,
) -> anyhow::Result<()> {
    let now = now_unix_nano();
    let range = |start, end| {
        Some(TimeRange {
            start_unix_nano: start,
            end_unix_nano: end,
        })
    };

    expect_error(
        client,
        None,
        0,
        Code::InvalidArgument,
        "time_range: required",
    )
    .await;
    expect_error(
        client,
        range(now, now - MIN),
        0,
        Code::InvalidArgument,
        "time_range: start_unix_nano must be before end_unix_nano",
    )
    .await;
    expect_error(
        client,
        range(now, now),
        0,
        Code::InvalidArgument,
        "time_range",
    )
    .await;
    expect_error(
        client,
        range(now - 40 * 86_400 * SEC, now),
        0,
        Code::ResourceExhausted,
        "analytics.limits.max_time_range_secs",
    )
    .await;
    expect_error(
        client,
        range(u64::MAX - 10 * SEC, u64::MAX),
        0,
        Code::InvalidArgument,
        "2262",
    )
    .await;
    // One-second steps over a day: 86 400 points.
    expect_error(
        client,
        range(now - 86_400 * SEC, now),
        1,
        Code::ResourceExhausted,
        "analytics.limits.max_points",
    )
    .await;

    // No token.
    let status = client
        .service_map(Request::new(ServiceMapRequest {
            time_range: range(now - MIN, now),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = client
        .service_overview(Request::new(overview(
            &range(now - MIN, now).unwrap(),
            "",
            60,
            false,
        )))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = client
        .service_overview(authed(
            overview(&range(now - MIN, now).unwrap(), "", 60, false),
            "wrong-token",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Valid requests over an empty store: empty answers, not errors.
    let map = client
        .service_map(authed(
            ServiceMapRequest {
                time_range: range(now - 120 * MIN, now - 110 * MIN),
            },
            TOKEN,
        ))
        .await?
        .into_inner();
    assert!(map.nodes.is_empty() && map.edges.is_empty());
    for name in [
        "",
        &format!("'; DROP TABLE {TRACES}; --"),
        "서비스 ✓ \"q\" ?",
    ] {
        let answer = client
            .service_overview(authed(
                overview(
                    &range(now - 120 * MIN, now - 110 * MIN).unwrap(),
                    name,
                    0,
                    true,
                ),
                TOKEN,
            ))
            .await?
            .into_inner();
        assert!(answer.series.is_empty(), "{name:?}");
        // Ten minutes, widened to ten or eleven whole minutes: one-minute
        // buckets.
        assert_eq!(answer.step_seconds, 60);
    }

    Ok(())
}
