//! Change analysis benchmark: N spans of realistic multi-service traffic
//! (the `airis demo` generator) in the last hour, loaded through the
//! pipeline (OTLP receiver → Kafka → loader → ClickHouse, in this process),
//! then `airis.delta.v1.DeltaService/Compare` (in this process, release
//! build) timed for one service (checkout v1 against v2 over the hour) and
//! for every service (the first half hour against the second).
//!
//! Run with `scripts/bench.sh delta [args]`; `--help` lists the options.
//! See docs/benchmarks.md ("Change analysis").

#![allow(clippy::print_stdout, clippy::print_stderr)]

// The analytics bench's loader; what it reports of log records and sampled
// trace ids is not needed here.
#[path = "../analytics/data.rs"]
#[allow(dead_code)]
mod data;

use std::time::{Duration, Instant};

use airis_proto::airis::analytics::v1::{
    AttributeFilter, AttributeScope, MatchOperator, SpanFilter,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{
    Cohort, CompareRequest, CompareResponse, Verdict, delta_service_client::DeltaServiceClient,
};
use airis_proto::tonic::transport::Channel;
use airis_store::tables::{LOGS, TRACES};
use airis_tests::bench::{
    CargoBench, count, load, positive,
    sys::{self, cpu_seconds, infra_pid, port_of},
};
use airis_tests::{DeltaServer, Pipeline, Settings, TOKEN, otlp::authed, otlp::now_unix_nano};
use anyhow::{Context as _, bail};
use clap::Parser;

use data::HOUR_NS;
use load::quantile;

/// Compare on N spans of the last hour, loaded through the pipeline.
#[derive(Parser, Clone, Debug)]
#[command(
    name = "delta",
    override_usage = "cargo bench -p airis-tests --bench delta -- [OPTIONS]\n       \
                      (or scripts/bench.sh delta [OPTIONS])"
)]
struct Opts {
    /// Spans to load, all in the hour before the anchor
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = count)]
    spans: u64,
    /// Log records to load, all in the hour before the anchor
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = count)]
    logs: u64,
    /// Copies of the demo's 5-service graph, each with its own service
    /// names (8 → 40 services)
    #[arg(long, value_name = "N", default_value = "8", value_parser = positive::<u64>)]
    cells: u64,
    /// Spans per export request, at least
    #[arg(long, value_name = "N", default_value = "1000", value_parser = positive::<u64>)]
    batch: u64,
    /// Concurrent export requests
    #[arg(long, value_name = "N", default_value = "8", value_parser = positive::<usize>)]
    concurrency: usize,
    /// Timed repetitions of each comparison (after one untimed)
    #[arg(long, value_name = "N", default_value = "10", value_parser = positive::<usize>)]
    reps: usize,
    /// Skip loading: compare on the database DB left by an earlier run
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

async fn run(opts: Opts) -> anyhow::Result<()> {
    let mut settings = Settings::new("dbench");
    let ch_pid = infra_pid("clickhouse", port_of(&settings.clickhouse.url));
    let ch_cpu = || ch_pid.and_then(cpu_seconds).unwrap_or(f64::NAN);
    println!(
        "\n# Change analysis benchmark\n\n{} CPUs; ClickHouse at {} (engine pid {})",
        sys::nproc(),
        settings.clickhouse.url,
        ch_pid.map_or("unknown".to_owned(), |p| p.to_string())
    );
    let anchor = if let Some(db) = &opts.reuse {
        settings.clickhouse.database = db.clone();
        let anchor: u64 = settings
            .clickhouse()
            .query(&format!(
                "SELECT toUInt64(toUnixTimestamp64Nano(max(Timestamp))) + 1 FROM {TRACES}"
            ))
            .fetch_one()
            .await
            .context("anchor of the reused database")?;
        println!("\nReusing database `{db}` (no load).");
        anchor
    } else {
        let anchor = now_unix_nano() - 60 * 1_000_000_000;
        load_spans(&opts, &settings, anchor).await?;
        anchor
    };
    let ch = settings.clickhouse();
    let logs: u64 = ch
        .query(&format!(
            "SELECT count() FROM {LOGS} WHERE Timestamp >= fromUnixTimestamp64Nano(toInt64(?))"
        ))
        .bind(anchor - HOUR_NS)
        .fetch_one()
        .await?;
    let (spans, services, operations): (u64, u64, u64) = ch
        .query(&format!(
            "SELECT count(), uniqExact(ServiceName), uniqExact(ServiceName, SpanName) FROM {TRACES} \
             WHERE Timestamp >= fromUnixTimestamp64Nano(toInt64(?))"
        ))
        .bind(anchor - HOUR_NS)
        .fetch_one()
        .await?;
    println!(
        "\nIn the last hour: {spans} spans of {services} services, {operations} service/operation pairs, \
         {logs} log records. Database `{}`.",
        settings.clickhouse.database
    );

    let server = DeltaServer::start(&settings).await?;
    let mut client = DeltaServiceClient::connect(server.endpoint.clone()).await?;
    let hour = TimeRange {
        start_unix_nano: anchor - HOUR_NS,
        end_unix_nano: anchor,
    };
    let version = |v: &str| Cohort {
        spans: Some(SpanFilter {
            time_range: Some(hour),
            service_name: "checkout-c0".to_owned(),
            attributes: vec![AttributeFilter {
                key: "service.version".to_owned(),
                operator: MatchOperator::Equals as i32,
                value: v.to_owned(),
                scope: AttributeScope::Resource as i32,
            }],
            ..Default::default()
        }),
        label: v.to_owned(),
    };
    let half = |first: bool| {
        let middle = anchor - HOUR_NS / 2;
        let (start, end) = if first {
            (anchor - HOUR_NS, middle)
        } else {
            (middle, anchor)
        };
        Cohort {
            spans: Some(SpanFilter {
                time_range: Some(TimeRange {
                    start_unix_nano: start,
                    end_unix_nano: end,
                }),
                ..Default::default()
            }),
            label: if first { "first half" } else { "second half" }.to_owned(),
        }
    };
    println!(
        "\n## Compare ({} timed runs after one untimed, release build, no cache)\n\n\
         | comparison | spans, log records compared | operations, templates (verdict) | p50 | p99 | max | ClickHouse CPU per call | target |\n|---|---|---|---|---|---|---|---|",
        opts.reps
    );
    let cases = [
        (
            "one service: checkout-c0 v1 against v2, the hour",
            version("v1"),
            version("v2"),
            2000.0,
        ),
        (
            "every service: the first half hour against the second",
            half(true),
            half(false),
            5000.0,
        ),
    ];
    for (name, baseline, candidate, target_ms) in cases {
        let request = CompareRequest {
            baseline: Some(baseline),
            candidate: Some(candidate),
            options: None,
        };
        let warm = compare(&mut client, &request).await?;
        let (mut latencies, cpu0) = (Vec::with_capacity(opts.reps), ch_cpu());
        for _ in 0..opts.reps {
            let started = Instant::now();
            let answer = compare(&mut client, &request).await?;
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
            if answer.operations.len() != warm.operations.len() {
                bail!("{name}: answers differ between runs");
            }
        }
        let cpu = (ch_cpu() - cpu0) / opts.reps as f64 * 1e3;
        latencies.sort_by(f64::total_cmp);
        let compared = warm.baseline.as_ref().map_or(0, |c| c.spans)
            + warm.candidate.as_ref().map_or(0, |c| c.spans);
        let records = warm.baseline.as_ref().map_or(0, |c| c.logs)
            + warm.candidate.as_ref().map_or(0, |c| c.logs);
        println!(
            "| {name} | {compared}, {records} | {}, {} ({}) | {:.0} ms | {:.0} ms | {:.0} ms | {cpu:.0} ms | < {target_ms:.0} ms p99 |",
            warm.operations.len(),
            warm.templates.len(),
            Verdict::try_from(warm.verdict).map_or("?", |v| v.as_str_name()),
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN),
        );
    }
    server.stop().await
}

async fn compare(
    client: &mut DeltaServiceClient<Channel>,
    request: &CompareRequest,
) -> anyhow::Result<CompareResponse> {
    Ok(client
        .compare(authed(request.clone(), TOKEN))
        .await
        .context("Compare")?
        .into_inner())
}

/// Loads the spans through an in-process receiver and loader.
async fn load_spans(opts: &Opts, settings: &Settings, anchor: u64) -> anyhow::Result<()> {
    eprintln!(
        "bench: loading {} spans through the pipeline ...",
        opts.spans
    );
    let pipeline = Pipeline::start(settings.clone()).await?;
    load::wait_ready(&pipeline.endpoint, Duration::from_secs(10)).await?;
    let started = Instant::now();
    let plan = data::Plan {
        spans: opts.spans,
        logs: opts.logs,
        cells: opts.cells,
        batch: opts.batch,
        concurrency: opts.concurrency,
        anchor_ns: anchor,
        recent_share: 1.0,
        logs_in_last_hour: true,
        sample: 0,
    };
    let sent = data::send(&pipeline.endpoint, TOKEN, &plan).await?;
    let ch = settings.clickhouse();
    let deadline = Instant::now() + Duration::from_secs(120 + (sent.spans + sent.logs) / 20_000);
    loop {
        let stored: u64 = ch
            .query(&format!("SELECT count() FROM {TRACES}"))
            .fetch_one()
            .await?;
        if stored >= sent.spans {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "ClickHouse holds {stored} of {} spans after the deadline",
                sent.spans
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    pipeline.stop().await?;
    println!(
        "\n## Load\n\n{} spans ({} traces, {} cells × 5 demo services) and {} log records stored after {:.1} s.",
        sent.spans,
        sent.traces,
        opts.cells,
        sent.logs,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
