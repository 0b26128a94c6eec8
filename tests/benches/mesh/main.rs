//! What the local mesh costs per call: a unary RPC (`ListServices` of a
//! probe upstream that answers at once) called directly, and through the
//! ingress with everything a real call passes: jwt_authn, the gateway's
//! revocation check (ext_authz), the route's retry policy, mTLS to the
//! service's sidecar and the sidecar's RBAC; and through a second ingress
//! without the revocation check, to show its share. Reports latency one
//! call at a time and throughput with concurrent callers, with the CPU the
//! Envoys and this process spent per call.
//!
//! Run with `scripts/bench.sh mesh [args]`; `--help` lists the options.
//! See docs/benchmarks.md ("Mesh").

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::Instant;

use airis_gateway::{GatewayConfig, Role};
use airis_proto::airis::analytics::v1::{
    ListServicesRequest, query_service_client::QueryServiceClient,
};
use airis_proto::tonic::{Request, transport::Channel};
use airis_tests::bench::{CargoBench, load::quantile, positive, sys::cpu_seconds};
use airis_tests::mesh::{DevCa, Ingress, MeshGateway, Probe, Sidecar, Upstreams, login};
use airis_tests::{TENANT, gateway_user};
use anyhow::Context as _;
use clap::Parser;

/// What the local mesh adds per call: direct, through the ingress, and
/// through an ingress without the revocation check.
#[derive(Parser, Debug)]
#[command(
    name = "mesh",
    override_usage = "cargo bench -p airis-tests --bench mesh -- [OPTIONS]\n       \
                      (or scripts/bench.sh mesh [OPTIONS])"
)]
struct Opts {
    /// Calls one at a time, per path
    #[arg(long, value_name = "N", default_value = "5000", value_parser = positive::<usize>)]
    calls: usize,
    /// Calls in the throughput run, per path
    #[arg(long, value_name = "N", default_value = "40000", value_parser = positive::<usize>)]
    load_calls: usize,
    /// Concurrent callers in the throughput run
    #[arg(long, value_name = "N", default_value = "32", value_parser = positive::<usize>)]
    concurrency: usize,
    #[command(flatten)]
    _cargo: CargoBench,
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts))
}

#[derive(Clone)]
struct Path {
    client: QueryServiceClient<Channel>,
    bearer: Option<Arc<str>>,
}

impl Path {
    async fn call(&mut self) -> anyhow::Result<()> {
        let mut request = Request::new(ListServicesRequest::default());
        if let Some(bearer) = &self.bearer {
            request
                .metadata_mut()
                .insert("authorization", bearer.parse()?);
        }
        self.client.list_services(request).await?;
        Ok(())
    }
}

/// `mesh/ingress.yaml` without its `ext_authz` filters (the filter entries,
/// from their name to the next filter); fails if there were none.
fn without_revocation_check(config: &str) -> anyhow::Result<String> {
    const FILTER: &str = "          - name: envoy.filters.http.ext_authz\n";
    let mut out = String::with_capacity(config.len());
    let mut rest = config;
    let mut removed = 0;
    while let Some(start) = rest.find(FILTER) {
        out.push_str(&rest[..start]);
        let after = &rest[start + FILTER.len()..];
        let end = after
            .find("          - name: ")
            .context("ext_authz is not followed by another filter")?;
        rest = &after[end..];
        removed += 1;
    }
    out.push_str(rest);
    anyhow::ensure!(removed > 0, "no ext_authz filter in mesh/ingress.yaml");
    // The listener that defined the shared config anchor lost it: the
    // other listener's filter, which only referred to it, is gone as well.
    anyhow::ensure!(!out.contains("*revocation_check"), "dangling anchor");
    Ok(out)
}

/// CPU seconds of `pids` together.
fn cpu(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|&p| cpu_seconds(p)).sum()
}

struct Row {
    path: &'static str,
    p50_us: f64,
    p99_us: f64,
    calls_per_s: f64,
    envoy_cpu_us: f64,
    process_cpu_us: f64,
}

async fn measure(
    name: &'static str,
    path: &Path,
    opts: &Opts,
    envoys: &[u32],
) -> anyhow::Result<Row> {
    let me = std::process::id();
    // Warm-up: connections, JWKS fetch, caches.
    let mut one = path.clone();
    for _ in 0..200 {
        one.call().await?;
    }
    let mut latencies = Vec::with_capacity(opts.calls);
    for _ in 0..opts.calls {
        let start = Instant::now();
        one.call().await?;
        latencies.push(start.elapsed().as_secs_f64() * 1e6);
    }
    latencies.sort_by(f64::total_cmp);

    let (envoy_before, me_before) = (cpu(envoys), cpu(&[me]));
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..opts.concurrency {
        let mut path = path.clone();
        let n = opts.load_calls / opts.concurrency
            + usize::from(w < opts.load_calls % opts.concurrency);
        workers.spawn(async move {
            for _ in 0..n {
                path.call().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let wall = start.elapsed().as_secs_f64();
    let calls = opts.load_calls as f64;
    Ok(Row {
        path: name,
        p50_us: quantile(&latencies, 0.50),
        p99_us: quantile(&latencies, 0.99),
        calls_per_s: calls / wall,
        envoy_cpu_us: (cpu(envoys) - envoy_before) / calls * 1e6,
        process_cpu_us: (cpu(&[me]) - me_before) / calls * 1e6,
    })
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let ca = DevCa::new(&["ingress", "analytics", "gateway"])?;
    let gateway_config = GatewayConfig {
        redis_url: airis_tests::redis_url(),
        users: vec![gateway_user(TENANT, "bench", "pw", Role::Viewer)],
        ..GatewayConfig::default()
    };
    let gateway = MeshGateway::start(&ca, gateway_config).await?;
    let probe = Probe::start("probe").await?;
    let sidecar = Sidecar::start(&ca, "analytics", probe.port, probe.port).await?;
    let upstreams = Upstreams {
        analytics_v1: vec![sidecar.port()],
        analytics_v2: vec![sidecar.port()],
        gateway: gateway.sidecar.port(),
        receiver: vec![],
        aiops: vec![],
        delta: vec![],
        search: vec![],
    };
    let ingress = Ingress::start(&ca, &upstreams, &gateway.config).await?;
    // The same ingress without the revocation check, to see its share.
    let no_check = Ingress::start_from(
        without_revocation_check(&std::fs::read_to_string(
            airis_tests::repo_root().join("mesh/ingress.yaml"),
        )?)?,
        &ca,
        &upstreams,
        &gateway.config,
    )
    .await?;

    let channel = Channel::from_shared(ingress.api_url())?.connect().await?;
    let token = login(channel.clone(), TENANT, "bench", "pw").await?;
    let direct = Path {
        client: QueryServiceClient::connect(format!("http://127.0.0.1:{}", probe.port)).await?,
        bearer: None,
    };
    let edge = Path {
        client: QueryServiceClient::new(channel),
        bearer: Some(Arc::from(format!("Bearer {token}"))),
    };
    let unchecked = Path {
        client: QueryServiceClient::connect(no_check.api_url()).await?,
        bearer: edge.bearer.clone(),
    };
    let envoys: Vec<u32> = [
        &ingress.envoy,
        &no_check.envoy,
        &sidecar.envoy,
        &gateway.sidecar.envoy,
    ]
    .iter()
    .filter_map(|e| e.pid())
    .collect();

    let mut rows = vec![measure("direct (plaintext h2, no mesh)", &direct, &opts, &envoys).await?];
    rows.push(
        measure(
            "ingress → sidecar without the revocation check (jwt_authn, mTLS, RBAC)",
            &unchecked,
            &opts,
            &envoys,
        )
        .await?,
    );
    rows.push(
        measure(
            "ingress → sidecar (jwt_authn, ext_authz, mTLS, RBAC)",
            &edge,
            &opts,
            &envoys,
        )
        .await?,
    );

    println!(
        "\n{} calls one at a time, then {} calls from {} concurrent callers, per path; \
         Envoy CPU = both ingresses + service sidecar + gateway sidecar; this process = the \
         client, the probe and the gateway (revocation checks)\n",
        opts.calls, opts.load_calls, opts.concurrency
    );
    println!(
        "| path | p50 µs | p99 µs | calls/s ({} callers) | Envoy CPU µs/call | this process CPU µs/call |",
        opts.concurrency
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            r.path, r.p50_us, r.p99_us, r.calls_per_s, r.envoy_cpu_us, r.process_cpu_us
        );
    }
    let (full, bare) = (&rows[2], &rows[1]);
    println!(
        "\nadded by the mesh: p50 +{:.0} µs, p99 +{:.0} µs per call, of which the revocation \
         check p50 +{:.0} µs; the probe saw {} calls",
        full.p50_us - rows[0].p50_us,
        full.p99_us - rows[0].p99_us,
        full.p50_us - bare.p50_us,
        probe.calls()
    );

    drop((ingress, no_check, sidecar));
    probe.stop().await?;
    gateway.stop().await
}
