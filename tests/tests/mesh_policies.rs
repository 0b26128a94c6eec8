//! The mesh's traffic policies on real Envoy (`mesh/ingress.yaml`,
//! `mesh/sidecar.yaml`), measured at probe upstreams whose behaviour the
//! test sets:
//! - sidecars refuse plaintext, clients without a certificate, clients of
//!   another CA, and mesh identities other than the ingress;
//! - the 90/10 analytics canary splits 2,000 calls within ±3 %;
//! - 20 % fault injection aborts 20 % ± 3 % of calls;
//! - retries hide an upstream that fails 30 % of calls transiently;
//! - outlier detection ejects an instance that keeps failing;
//! - load past the connection-pool limit is shed by Envoy, the upstream
//!   never sees more than the limit and stays healthy.

use std::collections::BTreeMap;
use std::sync::Arc;

use airis_gateway::{GatewayConfig, Role};
use airis_proto::airis::analytics::v1::{
    ListServicesRequest, query_service_client::QueryServiceClient,
};
use airis_proto::tonic::{Code, Request, transport::Channel};
use airis_tests::mesh::{
    Behaviour, DevCa, Ingress, MeshGateway, Probe, Sidecar, Upstreams, login, tls_exchange,
};
use airis_tests::{TENANT, gateway_user};

/// The analytics route's limits, as in mesh/ingress.yaml (and istio/).
const MAX_REQUESTS: u64 = 64;

/// A gRPC ListServices call written as HTTP/1.1 (Envoy bridges it to the
/// service's HTTP/2).
fn grpc_over_http1() -> Vec<u8> {
    let mut request = b"POST /airis.analytics.v1.QueryService/ListServices HTTP/1.1\r\n\
        Host: analytics.airis.local\r\ncontent-type: application/grpc\r\nte: trailers\r\n\
        connection: close\r\ncontent-length: 5\r\n\r\n"
        .to_vec();
    request.extend_from_slice(&[0, 0, 0, 0, 0]);
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecars_admit_only_the_ingress_over_mutual_tls() -> anyhow::Result<()> {
    let ca = DevCa::new(&["ingress", "analytics", "receiver"])?;
    // Another CA issuing a certificate with the ingress's very name.
    let rogue = DevCa::new(&["ingress"])?;
    let probe = Probe::start("analytics").await?;
    let sidecar = Sidecar::start(&ca, "analytics", probe.port, probe.port).await?;

    // Plaintext gRPC and plaintext HTTP/1.1: no answer from the service.
    let plaintext = async {
        let channel = Channel::from_shared(format!("http://{}", sidecar.inbound))?
            .connect()
            .await?;
        QueryServiceClient::new(channel)
            .list_services(ListServicesRequest::default())
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    assert!(plaintext.is_err(), "plaintext gRPC got {plaintext:?}");
    let http = airis_tests::http_exchange(sidecar.inbound, "GET", "/", &[], &[]).await;
    assert!(http.is_err(), "plaintext HTTP got {http:?}");

    let request = grpc_over_http1();
    let ca_file = ca.path("ca.crt");
    let answered = |out: &[u8]| String::from_utf8_lossy(out).starts_with("HTTP/1.1");
    // No client certificate; a certificate of another CA.
    let out = tls_exchange(sidecar.inbound, &ca_file, None, &request).await?;
    assert!(!answered(&out), "no client certificate: {out:?}");
    let (crt, key) = (rogue.path("ingress.crt"), rogue.path("ingress.key"));
    let out = tls_exchange(sidecar.inbound, &ca_file, Some((&crt, &key)), &request).await?;
    assert!(!answered(&out), "wrong CA: {out:?}");
    assert_eq!(probe.calls(), 0, "nothing reached the service");
    // Refused by the sidecar's certificate checks, not by accident.
    let ssl = "listener.inbound.ssl";
    let envoy = &sidecar.envoy;
    assert!(envoy.stat(&format!("{ssl}.fail_verify_no_cert")).await? >= 1);
    assert!(envoy.stat(&format!("{ssl}.fail_verify_error")).await? >= 1);

    // The mesh's CA, but not the ingress: RBAC says no.
    let (crt, key) = (ca.path("receiver.crt"), ca.path("receiver.key"));
    let out = tls_exchange(sidecar.inbound, &ca_file, Some((&crt, &key)), &request).await?;
    // RBAC answers a gRPC call with PERMISSION_DENIED.
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 403") || text.contains("grpc-status: 7"),
        "another identity: {text}"
    );
    assert_eq!(probe.calls(), 0);

    // The ingress's certificate goes through to the service.
    let (crt, key) = (ca.path("ingress.crt"), ca.path("ingress.key"));
    let out = tls_exchange(sidecar.inbound, &ca_file, Some((&crt, &key)), &request).await?;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "the ingress: {text}");
    assert!(text.contains("analytics"), "the service's answer: {text}");
    assert_eq!(probe.calls(), 1);

    drop(sidecar);
    probe.stop().await
}

/// Outcomes of calls through the ingress: answering instance or gRPC code.
#[derive(Debug, Default)]
struct Tally {
    by_instance: BTreeMap<String, u64>,
    by_code: BTreeMap<String, u64>,
}

impl Tally {
    fn total(&self) -> u64 {
        self.by_instance.values().sum::<u64>() + self.by_code.values().sum::<u64>()
    }
    fn instance(&self, name: &str) -> u64 {
        self.by_instance.get(name).copied().unwrap_or(0)
    }
    fn code(&self, code: Code) -> u64 {
        self.by_code.get(&format!("{code:?}")).copied().unwrap_or(0)
    }
    fn failed(&self) -> u64 {
        self.by_code.values().sum()
    }
}

struct Caller {
    client: QueryServiceClient<Channel>,
    bearer: Arc<str>,
}

impl Caller {
    async fn call(&mut self, tally: &mut Tally) {
        let mut request = Request::new(ListServicesRequest::default());
        request
            .metadata_mut()
            .insert("authorization", self.bearer.parse().expect("ascii"));
        match self.client.list_services(request).await {
            Ok(answer) => {
                let name = answer.into_inner().service_names.join(",");
                *tally.by_instance.entry(name).or_default() += 1;
            }
            Err(status) => {
                *tally
                    .by_code
                    .entry(format!("{:?}", status.code()))
                    .or_default() += 1
            }
        }
    }

    /// `total` calls, `concurrency` at a time.
    async fn calls(&self, total: usize, concurrency: usize) -> anyhow::Result<Tally> {
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..concurrency {
            let mut caller = Caller {
                client: self.client.clone(),
                bearer: self.bearer.clone(),
            };
            let n = total / concurrency + usize::from(w < total % concurrency);
            workers.spawn(async move {
                let mut tally = Tally::default();
                for _ in 0..n {
                    caller.call(&mut tally).await;
                }
                tally
            });
        }
        let mut all = Tally::default();
        while let Some(tally) = workers.join_next().await {
            let tally = tally?;
            for (k, v) in tally.by_instance {
                *all.by_instance.entry(k).or_default() += v;
            }
            for (k, v) in tally.by_code {
                *all.by_code.entry(k).or_default() += v;
            }
        }
        Ok(all)
    }
}

fn within(observed: u64, total: u64, expected_percent: f64, tolerance: f64) -> bool {
    let percent = 100.0 * observed as f64 / total as f64;
    (percent - expected_percent).abs() <= tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_faults_retries_ejection_and_overflow_behave_as_configured() -> anyhow::Result<()> {
    let ca = DevCa::new(&["ingress", "analytics", "gateway", "receiver"])?;
    let gateway_config = GatewayConfig {
        redis_url: airis_tests::redis_url(),
        users: vec![gateway_user(TENANT, "kim", "pw", Role::Viewer)],
        ..GatewayConfig::default()
    };
    let gateway = MeshGateway::start(&ca, gateway_config).await?;
    let (v1a, v1b, v2) = (
        Probe::start("v1-a").await?,
        Probe::start("v1-b").await?,
        Probe::start("v2").await?,
    );
    let mut sidecars = Vec::new();
    for probe in [&v1a, &v1b, &v2] {
        sidecars.push(Sidecar::start(&ca, "analytics", probe.port, probe.port).await?);
    }
    let ingress = Ingress::start(
        &ca,
        &Upstreams {
            analytics_v1: vec![sidecars[0].port(), sidecars[1].port()],
            analytics_v2: vec![sidecars[2].port()],
            gateway: gateway.sidecar.port(),
            receiver: vec![],
            aiops: vec![],
            delta: vec![],
            search: vec![],
        },
        &gateway.config,
    )
    .await?;
    let channel = Channel::from_shared(ingress.api_url())?.connect().await?;
    let token = login(channel.clone(), TENANT, "kim", "pw").await?;
    let caller = Caller {
        client: QueryServiceClient::new(channel),
        bearer: Arc::from(format!("Bearer {token}")),
    };
    let envoy = &ingress.envoy;

    // The canary split as configured: 90/10.
    let tally = caller.calls(2000, 16).await?;
    assert_eq!(tally.failed(), 0, "{tally:?}");
    let v2_calls = tally.instance("v2");
    assert!(
        within(v2_calls, 2000, 10.0, 3.0),
        "v2 got {v2_calls} of 2000: {tally:?}"
    );
    assert_eq!(
        tally.instance("v1-a") + tally.instance("v1-b") + v2_calls,
        2000
    );

    // Fault injection switched on at 20 % aborts.
    envoy
        .runtime(&[("fault.analytics.abort_percent", "20")])
        .await?;
    let before = v1a.calls() + v1b.calls() + v2.calls();
    let tally = caller.calls(2000, 16).await?;
    let aborted = tally.code(Code::Unavailable);
    assert!(
        within(aborted, 2000, 20.0, 3.0),
        "aborted {aborted} of 2000: {tally:?}"
    );
    assert_eq!(tally.total(), 2000);
    let reached = v1a.calls() + v1b.calls() + v2.calls() - before;
    assert_eq!(
        reached,
        2000 - aborted,
        "aborted calls never reach a service"
    );
    envoy
        .runtime(&[("fault.analytics.abort_percent", "0")])
        .await?;

    // All traffic to v1, whose instances fail 30 % of calls transiently:
    // retries on UNAVAILABLE make every call succeed.
    envoy
        .runtime(&[
            ("routing.analytics.analytics_v1", "100"),
            ("routing.analytics.analytics_v2", "0"),
        ])
        .await?;
    v1a.set(Behaviour::Flaky);
    v1b.set(Behaviour::Flaky);
    let (calls_before, failed_before) = (v1a.calls() + v1b.calls(), v1a.failed() + v1b.failed());
    let retries_before = envoy.stat("cluster.analytics_v1.upstream_rq_retry").await?;
    let tally = caller.calls(300, 1).await?;
    assert_eq!(tally.failed(), 0, "{tally:?}");
    let calls = v1a.calls() + v1b.calls() - calls_before;
    let failed = v1a.failed() + v1b.failed() - failed_before;
    assert!(
        within(failed, calls, 30.0, 5.0),
        "the instances failed {failed} of {calls} calls"
    );
    let retries = envoy.stat("cluster.analytics_v1.upstream_rq_retry").await? - retries_before;
    assert_eq!(retries, failed, "each failure was retried once");

    // One instance keeps failing: outlier detection ejects it after three
    // consecutive errors and the healthy one takes all calls.
    v1a.set(Behaviour::Failing);
    v1b.set(Behaviour::Healthy);
    let tally = caller.calls(20, 1).await?;
    assert_eq!(
        tally.failed(),
        0,
        "retries cover the failing instance: {tally:?}"
    );
    let ejections = envoy
        .stat("cluster.analytics_v1.outlier_detection.ejections_enforced_total")
        .await?;
    assert!(ejections >= 1, "no ejection");
    let a_calls = v1a.calls();
    let tally = caller.calls(40, 1).await?;
    assert_eq!(tally.instance("v1-b"), 40, "{tally:?}");
    assert_eq!(v1a.calls(), a_calls, "the ejected instance got calls");

    // Past the pool limit: the slow healthy instance gets at most
    // MAX_REQUESTS at once, Envoy sheds the rest at once, and afterwards
    // everything works.
    v1b.set(Behaviour::Slow);
    let overflow_before = envoy
        .stat("cluster.analytics_v1.upstream_rq_active_overflow")
        .await?;
    let tally = caller
        .calls(3 * MAX_REQUESTS as usize, 3 * MAX_REQUESTS as usize)
        .await?;
    let shed = tally.code(Code::Unavailable);
    let overflowed = envoy
        .stat("cluster.analytics_v1.upstream_rq_active_overflow")
        .await?
        - overflow_before;
    assert!(
        v1b.max_in_flight() <= MAX_REQUESTS,
        "{} in flight",
        v1b.max_in_flight()
    );
    assert!(shed > 0, "nothing shed: {tally:?}");
    assert_eq!(
        shed, overflowed,
        "every failure is Envoy's overflow: {tally:?}"
    );
    assert!(tally.instance("v1-b") >= MAX_REQUESTS / 2, "{tally:?}");
    assert_eq!(tally.instance("v1-b") + shed, 3 * MAX_REQUESTS, "{tally:?}");
    v1b.set(Behaviour::Healthy);
    let tally = caller.calls(20, 4).await?;
    assert_eq!(tally.instance("v1-b"), 20, "{tally:?}");

    // Every call above passed the edge's token check: what failed, failed
    // where the test meant it to.
    assert_eq!(envoy.stat("http.ingress.ext_authz.error").await?, 0);

    drop(ingress);
    drop(sidecars);
    for probe in [v1a, v1b, v2] {
        probe.stop().await?;
    }
    gateway.stop().await
}
