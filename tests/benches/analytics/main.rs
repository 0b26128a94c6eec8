//! Analytics service benchmark: N spans and N log records of realistic
//! multi-service traffic (the `airis demo` generator) loaded through the
//! pipeline (OTLP receiver → Kafka → loader → ClickHouse, in this process),
//! then `airis.analytics.v1.QueryService` (in this process, release build)
//! measured with the result cache disabled (cold) and enabled (repeats):
//! GetTrace, ServiceOverview, ServiceMap and SearchLogs, p50/p99 and the
//! ClickHouse engine's CPU per query.
//!
//! Run with `scripts/bench.sh analytics [args]`; `--help` lists the options.
//! See docs/benchmarks.md ("Analytics service").

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod data;

use std::time::{Duration, Instant};

use airis_proto::airis::analytics::v1::{
    GetTraceRequest, SearchLogsRequest, ServiceMapRequest, ServiceOverviewRequest,
    query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::tonic::transport::Channel;
use airis_store::rollup::build::{RollupConfig, build_due};
use airis_store::tables::{EDGES_1M, LOGS, RED_1M, TRACES};
use airis_tests::bench::{
    CargoBench, count, load, positive,
    sys::{self, MachineCpu, cpu_seconds, infra_pid, port_of},
};
use airis_tests::{Pipeline, QueryServer, Settings, TOKEN, otlp::authed, otlp::now_unix_nano};
use anyhow::{Context as _, bail};
use clap::Parser;

use data::{HOUR_NS, WORD};
use load::quantile;

/// Query service latency on N spans and N log records loaded through the
/// pipeline.
#[derive(Parser, Clone, Debug)]
#[command(
    name = "analytics",
    override_usage = "cargo bench -p airis-tests --bench analytics -- [OPTIONS]\n       \
                      (or scripts/bench.sh analytics [OPTIONS])"
)]
struct Opts {
    /// Spans to load
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = count)]
    spans: u64,
    /// Log records to load
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = count)]
    logs: u64,
    /// Copies of the demo's 5-service graph, each with its own service
    /// names (8 → 40 services)
    #[arg(long, value_name = "N", default_value = "8", value_parser = positive::<u64>)]
    cells: u64,
    /// Spans / log records per export request, at least
    #[arg(long, value_name = "N", default_value = "1000", value_parser = positive::<u64>)]
    batch: u64,
    /// Concurrent export requests
    #[arg(long, value_name = "N", default_value = "8", value_parser = positive::<usize>)]
    concurrency: usize,
    /// Trace ids for GetTrace
    #[arg(long, value_name = "N", default_value = "200", value_parser = positive::<usize>)]
    traces: usize,
    /// Repetitions of each aggregate query, cold and cached
    #[arg(long, value_name = "N", default_value = "20", value_parser = positive::<usize>)]
    reps: usize,
    /// Keep the ClickHouse database (its name is printed)
    #[arg(long)]
    keep: bool,
    /// Skip loading: query the database DB left by --keep
    #[arg(long, value_name = "DB")]
    reuse: Option<String>,
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

/// One measured query kind.
struct Measured {
    name: String,
    target_ms: f64,
    /// Sorted latencies, ms.
    latencies: Vec<f64>,
    /// ClickHouse engine CPU per query, ms.
    ch_cpu_ms: f64,
    /// What the answers held.
    answer: String,
}

impl Measured {
    fn p(&self, q: f64) -> f64 {
        quantile(&self.latencies, q)
    }
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let mut settings = Settings::new("qbench");
    let ch_pid = infra_pid("clickhouse", port_of(&settings.clickhouse.url));
    let ch_cpu = || ch_pid.and_then(cpu_seconds).unwrap_or(f64::NAN);
    println!(
        "\n# Analytics service benchmark\n\n{} CPUs; ClickHouse at {} (engine pid {})",
        sys::nproc(),
        settings.clickhouse.url,
        ch_pid.map_or("unknown".to_owned(), |p| p.to_string())
    );

    let (anchor, trace_ids) = if let Some(db) = &opts.reuse {
        settings.clickhouse.database = db.clone();
        let ch = settings.clickhouse();
        let anchor: u64 = ch
            .query(&format!(
                "SELECT toUInt64(toUnixTimestamp64Nano(max(Timestamp))) + 1 FROM {TRACES}"
            ))
            .fetch_one()
            .await
            .context("anchor of the reused database")?;
        let half = (opts.traces / 2) as u64;
        let mut ids: Vec<String> = Vec::new();
        for (lo, hi) in [
            (anchor - HOUR_NS, anchor),
            (anchor - 24 * HOUR_NS, anchor - HOUR_NS),
        ] {
            let mut part: Vec<String> = ch
                .query(
                    &format!("SELECT DISTINCT TraceId FROM {TRACES} WHERE Timestamp >= fromUnixTimestamp64Nano(toInt64(?)) \
                     AND Timestamp < fromUnixTimestamp64Nano(toInt64(?)) AND cityHash64(TraceId) % 1000 = 7 LIMIT ?"),
                )
                .bind(lo)
                .bind(hi)
                .bind(half)
                .fetch_all()
                .await
                .context("sample trace ids")?;
            ids.append(&mut part);
        }
        println!("\nReusing database `{db}` (no load).");
        (anchor, ids)
    } else {
        // Five minutes old, so that answers about the last hour are settled
        // (cache.settle_secs = 120) and may be cached.
        let anchor = now_unix_nano() - 300 * 1_000_000_000;
        let (anchor, ids) = load(&opts, &settings, anchor, ch_cpu).await?;
        (anchor, ids)
    };
    let ch = settings.clickhouse();
    let (spans, logs): (u64, u64) = (
        ch.query(&format!("SELECT count() FROM {TRACES}"))
            .fetch_one()
            .await?,
        ch.query(&format!("SELECT count() FROM {LOGS}"))
            .fetch_one()
            .await?,
    );
    let services: u64 = ch
        .query(&format!("SELECT uniqExact(ServiceName) FROM {TRACES}"))
        .fetch_one()
        .await?;
    let operations: u64 = ch
        .query(&format!(
            "SELECT uniqExact(ServiceName, SpanName) FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    let last_hour: u64 = ch
        .query(&format!(
            "SELECT count() FROM {TRACES} WHERE Timestamp >= fromUnixTimestamp64Nano(toInt64(?))"
        ))
        .bind(anchor - HOUR_NS)
        .fetch_one()
        .await?;
    let parts: String = ch
        .query(&format!(
            "SELECT arrayStringConcat(groupArray(concat(table, ' ', toString(c))), ', ') FROM \
             (SELECT table, count() AS c FROM system.parts WHERE active AND database = ? \
              AND table IN ('{TRACES}', '{LOGS}') GROUP BY table ORDER BY table)"
        ))
        .bind(&settings.clickhouse.database)
        .fetch_one()
        .await
        .unwrap_or_default();
    println!(
        "\nStored: {spans} spans ({last_hour} in the last hour; {services} services, {operations} service/operation pairs), \
         {logs} log records over 24 h; active parts: {parts}. Database `{}`.",
        settings.clickhouse.database
    );
    // What the rollup builder of a running loader would have done by now:
    // every settled minute of the last day.
    let started = Instant::now();
    let rollup = RollupConfig {
        settle_secs: 0,
        lookback_secs: 25 * 3600,
        ..RollupConfig::default()
    };
    let minutes = build_due(&ch, &rollup, now_unix_nano()).await?;
    let rollup_rows: String = ch
        .query(&format!(
            "SELECT arrayStringConcat(groupArray(concat(table, ' ', toString(r), ' rows ', \
             formatReadableSize(b))), ', ') FROM (SELECT table, sum(rows) AS r, \
             sum(data_compressed_bytes) AS b FROM system.parts WHERE active AND database = ? \
             AND table IN ('{RED_1M}', '{EDGES_1M}') GROUP BY table ORDER BY table)"
        ))
        .bind(&settings.clickhouse.database)
        .fetch_one()
        .await
        .unwrap_or_default();
    println!(
        "Rollups: {minutes} minutes built in {:.1} s (all tenants); {rollup_rows}.",
        started.elapsed().as_secs_f64()
    );

    wait_for_merges(&settings).await;

    // Cold: no result cache.
    let mut cold_settings = settings.clone();
    cold_settings.analytics.cache.redis_url = None;
    let server = QueryServer::start(&cold_settings).await?;
    let mut client = connect(&server).await?;
    let cold = measure_all(&mut client, &opts, anchor, &trace_ids, &ch_cpu, false).await?;
    drop(client);
    server.stop().await?;

    // Cached: Redis result cache, each answer primed once.
    let mut cached_settings = settings.clone();
    cached_settings.analytics.cache.redis_url = Some(airis_tests::redis_url());
    let server = QueryServer::start(&cached_settings).await?;
    let mut client = connect(&server).await?;
    let cached = measure_all(&mut client, &opts, anchor, &trace_ids, &ch_cpu, true).await?;
    drop(client);
    server.stop().await?;

    print_results(&cold, &cached);

    if opts.keep || opts.reuse.is_some() {
        eprintln!("bench: database `{}` kept", settings.clickhouse.database);
    } else {
        let _ = settings
            .clickhouse
            .server_client()
            .query(&format!(
                "DROP DATABASE IF EXISTS `{}`",
                settings.clickhouse.database
            ))
            .execute()
            .await;
    }
    Ok(())
}

/// Loads the data through an in-process receiver and loader; returns the
/// anchor and the sampled trace ids.
async fn load(
    opts: &Opts,
    settings: &Settings,
    anchor: u64,
    ch_cpu: impl Fn() -> f64,
) -> anyhow::Result<(u64, Vec<String>)> {
    eprintln!(
        "bench: loading {} spans and {} log records through the pipeline ...",
        opts.spans, opts.logs
    );
    let pipeline = Pipeline::start(settings.clone()).await?;
    load::wait_ready(&pipeline.endpoint, Duration::from_secs(10)).await?;
    let (ch0, machine0, started) = (ch_cpu(), MachineCpu::now(), Instant::now());
    let plan = data::Plan {
        spans: opts.spans,
        logs: opts.logs,
        cells: opts.cells,
        batch: opts.batch,
        concurrency: opts.concurrency,
        anchor_ns: anchor,
        recent_share: 0.5,
        logs_in_last_hour: false,
        sample: opts.traces,
    };
    let sent = data::send(&pipeline.endpoint, TOKEN, &plan).await?;
    eprintln!(
        "bench: sent {} spans ({} traces) and {} log records in {:.1} s; waiting for ClickHouse ...",
        sent.spans, sent.traces, sent.logs, sent.secs
    );
    let ch = settings.clickhouse();
    let deadline = Instant::now() + Duration::from_secs(120 + (sent.spans + sent.logs) / 20_000);
    loop {
        let spans: u64 = ch
            .query(&format!("SELECT count() FROM {TRACES}"))
            .fetch_one()
            .await?;
        let logs: u64 = ch
            .query(&format!("SELECT count() FROM {LOGS}"))
            .fetch_one()
            .await?;
        if spans >= sent.spans && logs >= sent.logs {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "ClickHouse holds {spans} of {} spans and {logs} of {} log records after the deadline",
                sent.spans,
                sent.logs
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let (ch1, machine1) = (ch_cpu(), MachineCpu::now());
    pipeline.stop().await?;
    println!(
        "\n## Load (through the pipeline)\n\n{} spans ({} traces, {} cells × 5 demo services) + {} log records \
         ({} with `{WORD}`) in {} requests ({:.0} MiB OTLP), all stored after {wall:.1} s = {:.1}k rows/s; \
         ClickHouse {:.0} CPU s, machine {:.0}% busy.",
        sent.spans,
        sent.traces,
        opts.cells,
        sent.logs,
        sent.word_logs,
        sent.requests,
        sent.bytes as f64 / (1024.0 * 1024.0),
        (sent.spans + sent.logs) as f64 / wall / 1e3,
        ch1 - ch0,
        machine1.busy_since(&machine0) * 100.0
    );
    Ok((anchor, sent.trace_ids))
}

/// Waits (up to 180 s) until ClickHouse has had no merge or mutation
/// running for five polls in a row, so that the measurements do not compete
/// with background merges (one idle poll can fall between two merges).
async fn wait_for_merges(settings: &Settings) {
    let ch = settings.clickhouse();
    let started = Instant::now();
    let mut idle = 0;
    loop {
        let merges: u64 = ch
            .query(
                "SELECT (SELECT count() FROM system.merges) + \
                 (SELECT count() FROM system.mutations WHERE NOT is_done)",
            )
            .fetch_one()
            .await
            .unwrap_or(0);
        idle = if merges == 0 { idle + 1 } else { 0 };
        if idle == 5 || started.elapsed() > Duration::from_secs(180) {
            eprintln!(
                "bench: {merges} merges running after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connect(server: &QueryServer) -> anyhow::Result<QueryServiceClient<Channel>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match server.client().await {
            Ok(client) => return Ok(client.max_decoding_message_size(64 << 20)),
            Err(error) if Instant::now() > deadline => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` `reps` times after `prime` unmeasured runs; latencies and the
/// ClickHouse CPU of the measured runs.
async fn repeat<F, Fut>(
    reps: usize,
    prime: usize,
    ch_cpu: &impl Fn() -> f64,
    mut f: F,
) -> anyhow::Result<(Vec<f64>, f64, String)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    let mut answer = String::new();
    for i in 0..prime {
        answer = f(i).await?;
    }
    let ch0 = ch_cpu();
    let mut latencies = Vec::with_capacity(reps);
    for i in 0..reps {
        let started = Instant::now();
        answer = f(i).await?;
        latencies.push(ms(started.elapsed()));
    }
    let ch1 = ch_cpu();
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, (ch1 - ch0) * 1e3 / reps as f64, answer))
}

async fn measure_all(
    client: &mut QueryServiceClient<Channel>,
    opts: &Opts,
    anchor: u64,
    trace_ids: &[String],
    ch_cpu: &impl Fn() -> f64,
    cached: bool,
) -> anyhow::Result<Vec<Measured>> {
    let label = if cached { "cached" } else { "cold" };
    let hour = TimeRange {
        start_unix_nano: anchor - HOUR_NS,
        end_unix_nano: anchor,
    };
    let day = TimeRange {
        start_unix_nano: anchor - 24 * HOUR_NS,
        end_unix_nano: anchor,
    };
    let mut out = Vec::new();
    // Cold: one unmeasured call opens the connections (HTTP/2, ClickHouse
    // pool); cached: every measured answer is primed once.
    let prime = 1;

    eprintln!("bench: {label} GetTrace × {} ...", trace_ids.len());
    if cached {
        for id in trace_ids {
            client
                .get_trace(authed(
                    GetTraceRequest {
                        trace_id: id.clone(),
                    },
                    TOKEN,
                ))
                .await?;
        }
    } else if let Some(id) = trace_ids.last() {
        // Warm the connections with a trace that is measured last.
        client
            .get_trace(authed(
                GetTraceRequest {
                    trace_id: id.clone(),
                },
                TOKEN,
            ))
            .await?;
    }
    let mut spans_total = 0usize;
    let (latencies, cpu, _) = repeat(trace_ids.len(), 0, ch_cpu, |i| {
        let mut client = client.clone();
        let id = trace_ids[i].clone();
        async move {
            let r = client
                .get_trace(authed(GetTraceRequest { trace_id: id }, TOKEN))
                .await
                .context("GetTrace")?
                .into_inner();
            Ok(r.spans.len().to_string())
        }
    })
    .await?;
    // The span counts (for the answer column), outside the measurement.
    for id in trace_ids.iter().take(20) {
        spans_total += client
            .get_trace(authed(
                GetTraceRequest {
                    trace_id: id.clone(),
                },
                TOKEN,
            ))
            .await?
            .into_inner()
            .spans
            .len();
    }
    out.push(Measured {
        name: format!(
            "GetTrace ({} trace ids, each once{})",
            trace_ids.len(),
            if cached { " after priming" } else { "" }
        ),
        target_ms: if cached { 5.0 } else { 50.0 },
        latencies,
        ch_cpu_ms: cpu,
        answer: format!(
            "{:.1} spans/trace",
            spans_total as f64 / trace_ids.len().min(20) as f64
        ),
    });

    eprintln!("bench: {label} ServiceOverview ...");
    let (latencies, cpu, answer) = repeat(opts.reps, prime, ch_cpu, |_| {
        let mut client = client.clone();
        async move {
            let r = client
                .service_overview(authed(
                    ServiceOverviewRequest {
                        time_range: Some(hour),
                        service_name: String::new(),
                        step_seconds: 60,
                        entry_spans_only: false,
                    },
                    TOKEN,
                ))
                .await
                .context("ServiceOverview")?
                .into_inner();
            let requests: u64 = r.series.iter().map(|s| s.request_count).sum();
            Ok(format!("{} series, {requests} spans", r.series.len()))
        }
    })
    .await?;
    out.push(Measured {
        name: "ServiceOverview (all services, 1 h, 60 s step)".into(),
        target_ms: if cached { 5.0 } else { 300.0 },
        latencies,
        ch_cpu_ms: cpu,
        answer,
    });

    eprintln!("bench: {label} ServiceMap ...");
    let (latencies, cpu, answer) = repeat(opts.reps, prime, ch_cpu, |_| {
        let mut client = client.clone();
        async move {
            let r = client
                .service_map(authed(
                    ServiceMapRequest {
                        time_range: Some(hour),
                    },
                    TOKEN,
                ))
                .await
                .context("ServiceMap")?
                .into_inner();
            Ok(format!("{} nodes, {} edges", r.nodes.len(), r.edges.len()))
        }
    })
    .await?;
    out.push(Measured {
        name: "ServiceMap (1 h)".into(),
        target_ms: if cached { 5.0 } else { 500.0 },
        latencies,
        ch_cpu_ms: cpu,
        answer,
    });

    eprintln!("bench: {label} SearchLogs ...");
    let (latencies, cpu, answer) = repeat(opts.reps, prime, ch_cpu, |_| {
        let mut client = client.clone();
        async move {
            let r = client
                .search_logs(authed(
                    SearchLogsRequest {
                        time_range: Some(day),
                        query: WORD.to_owned(),
                        page: Some(PageRequest {
                            page_size: 100,
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    TOKEN,
                ))
                .await
                .context("SearchLogs")?
                .into_inner();
            Ok(format!(
                "{} records, total {}, {} buckets",
                r.records.len(),
                r.total_count,
                r.histogram.len()
            ))
        }
    })
    .await?;
    out.push(Measured {
        name: format!("SearchLogs (\"{WORD}\", 24 h, first page of 100)"),
        target_ms: if cached { 5.0 } else { 500.0 },
        latencies,
        ch_cpu_ms: cpu,
        answer,
    });
    Ok(out)
}

fn print_results(cold: &[Measured], cached: &[Measured]) {
    for (title, rows) in [
        ("Cold (result cache disabled)", cold),
        ("Cached repeats (Redis result cache, primed)", cached),
    ] {
        println!("\n## {title}\n");
        println!(
            "| query | n | p50 ms | p99 ms | max ms | target ms | met (p99) | ClickHouse CPU ms/query | answer |"
        );
        println!("|---|---:|---:|---:|---:|---:|:---:|---:|---|");
        for m in rows {
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | < {:.0} | {} | {:.1} | {} |",
                m.name,
                m.latencies.len(),
                m.p(0.5),
                m.p(0.99),
                m.latencies.last().copied().unwrap_or_default(),
                m.target_ms,
                if m.p(0.99) < m.target_ms { "yes" } else { "NO" },
                m.ch_cpu_ms,
                m.answer
            );
        }
    }
}
