//! Pipeline benchmarks against the real infrastructure of `scripts/infra.sh`:
//!
//! - `receiver`: release `airis serve receiver` process, closed-loop OTLP/gRPC
//!   load from this process; acknowledged spans (log records) per second and
//!   per CPU-second of the receiver, its peak RSS;
//! - `loader`: Kafka topics pre-filled through the receiver's producer, then
//!   a release `airis serve loader` process; rows/s into ClickHouse and per
//!   CPU-second of the loader, ClickHouse's CPU apart;
//! - `freshness`: receiver + loader processes, fixed-rate export, time from
//!   send to queryable (p50/p99).
//!
//! Run with `scripts/bench.sh [args]`; `--help` lists the options. See
//! docs/benchmarks.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod data;
mod fresh;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airis_ingestion::{
    loader::LoaderConfig,
    producer::{Producer, ProducerConfig},
};
use airis_runtime::{kafka::KafkaConfig, tenant::Tenant};
use airis_store::tables::{TRACE_ID_TS, TRACES};
use airis_tests::bench::{
    CargoBench, count, load, millis, positive, seconds,
    sys::{self, Airis, MachineCpu, Perf, cpu_seconds, infra_pid, port_of, vm_mib},
};
use airis_tests::{Settings, otlp::now_unix_nano, unique};
use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::{Parser, ValueEnum};

use load::{LOGS_EXPORT, Shape, TRACES_EXPORT, quantile};

/// The ingest token of the bench tenant. The config env overlay lowercases
/// keys, so a token set through `AIRIS_AUTH__TOKENS__<TOKEN>`
/// must be lowercase.
const TOKEN: &str = "benchtoken";
const TENANT: &str = "bench";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// receiver throughput, spans and log records, closed loop
    Receiver,
    /// loader throughput from pre-filled topics, per --max-rows value
    Loader,
    /// send-to-queryable latency at a fixed rate (tries --rates in order)
    Freshness,
    /// the three above, in this order
    All,
}

/// Receiver, loader and end-to-end freshness benchmarks against the
/// infrastructure of scripts/infra.sh.
#[derive(Parser, Clone, Debug)]
#[command(
    name = "pipeline",
    override_usage = "cargo bench -p airis-tests --bench pipeline -- [SCENARIO...] [OPTIONS]\n       \
                      (or scripts/bench.sh [SCENARIO...] [OPTIONS])",
    after_help = "Environment:\n  AIRIS_BENCH_LD_PRELOAD  LD_PRELOAD for the airis processes, e.g. an \
                  allocator:\n                          /usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
)]
struct Opts {
    /// Scenarios, run in the order given (default: all of them)
    #[arg(value_enum, value_name = "SCENARIO")]
    scenarios: Vec<Scenario>,
    /// Receiver measurement window per signal, seconds
    #[arg(long, value_name = "S", default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// Receiver warm-up before measuring, seconds
    #[arg(long, value_name = "S", default_value = "3", value_parser = seconds)]
    warmup: Duration,
    /// Spans / log records per export request
    #[arg(long, value_name = "N", default_value = "200", value_parser = positive::<usize>)]
    batch: usize,
    /// HTTP/2 connections of the load generator
    #[arg(long, value_name = "N", default_value = "4", value_parser = positive::<usize>)]
    connections: usize,
    /// Concurrent requests per connection, closed loop
    #[arg(long, value_name = "N", default_value = "16", value_parser = positive::<usize>)]
    streams: usize,
    /// Receiver signals
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "traces,logs",
          value_parser = ["traces", "logs"])]
    signals: Vec<String>,
    /// Spans pre-filled for the loader bench
    #[arg(long, value_name = "N", default_value = "2000000", value_parser = count)]
    loader_spans: u64,
    /// Loader max_rows values to try
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "50000,200000",
          value_parser = positive::<usize>)]
    max_rows: Vec<usize>,
    /// Freshness rates in spans/s, tried in order until one is sustained
    #[arg(long, value_name = "LIST", value_delimiter = ',',
          default_value = "50000,35000,20000,10000", value_parser = count)]
    rates: Vec<u64>,
    /// Freshness send window, seconds
    #[arg(long, value_name = "S", default_value = "30", value_parser = seconds)]
    freshness_secs: Duration,
    /// Freshness poll interval, milliseconds
    #[arg(long = "poll-ms", value_name = "MS", default_value = "100", value_parser = millis)]
    poll: Duration,
    /// Loader max_wait_ms in the freshness bench (default: the loader's)
    #[arg(long, value_name = "MS")]
    max_wait_ms: Option<u64>,
    /// Record `perf record -g` profiles of the measured processes into DIR
    #[arg(long, value_name = "DIR")]
    perf: Option<PathBuf>,
    /// Configuration override for the airis processes, e.g.
    /// --set AIRIS_INGESTION__PRODUCER__LINGER_MS=1 or
    /// --set 'AIRIS_KAFKA__PROPERTIES__SOCKET.NAGLE.DISABLE="true"'
    /// (values are read as TOML: quote strings that look like numbers or
    /// booleans); AIRIS_<SECTION>__<KEY> variables of the environment are
    /// passed on too
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = name_value)]
    sets: Vec<(String, String)>,
    #[command(flatten)]
    _cargo: CargoBench,
}

fn name_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| "NAME=VALUE expected".to_owned())
}

impl Opts {
    /// The scenarios to run: `all` and none given both mean every one.
    fn scenarios(&self) -> Vec<Scenario> {
        const ALL: [Scenario; 3] = [Scenario::Receiver, Scenario::Loader, Scenario::Freshness];
        if self.scenarios.is_empty() {
            return ALL.to_vec();
        }
        self.scenarios
            .iter()
            .flat_map(|&s| {
                if s == Scenario::All {
                    ALL.to_vec()
                } else {
                    vec![s]
                }
            })
            .collect()
    }
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    let _ = sys::SETS.set(opts.sets.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts))
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let started = Instant::now();
    print_machine();
    let mut summary = Summary::default();
    for scenario in opts.scenarios() {
        match scenario {
            Scenario::Receiver => {
                let mut table = Table::new(&[
                    "signal",
                    "items/req",
                    "req KiB",
                    "acked items/s",
                    "req/s",
                    "errors",
                    "ack p50 ms",
                    "ack p99 ms",
                    "rx cores",
                    "items/s per rx core",
                    "rx RSS idle MiB",
                    "rx RSS peak MiB",
                    "kafka cores",
                    "loadgen cores",
                    "other cores",
                ]);
                for signal in opts.signals.clone() {
                    eprintln!("bench: receiver / {signal} ...");
                    let r = receiver_bench(&opts, &signal).await?;
                    table.row(vec![
                        signal.clone(),
                        r.items_per_request.to_string(),
                        format!("{:.0}", r.request_bytes / 1024.0),
                        fmt_rate(r.items_per_sec),
                        format!("{:.0}", r.requests_per_sec),
                        r.errors.to_string(),
                        format!("{:.1}", r.ack_p50_ms),
                        format!("{:.1}", r.ack_p99_ms),
                        format!("{:.2}", r.rx_cores),
                        fmt_rate(r.items_per_core),
                        format!("{:.0}", r.rss_idle_mib),
                        format!("{:.0}", r.rss_peak_mib),
                        format!("{:.2}", r.kafka_cores),
                        format!("{:.2}", r.loadgen_cores),
                        format!("{:.2}", r.other_cores.max(0.0)),
                    ]);
                    if let Some(error) = &r.first_error {
                        eprintln!("bench: first error ({signal}): {error}");
                    }
                    if signal == "traces" {
                        summary.receiver = Some(r);
                    } else {
                        summary.receiver_logs = Some(r);
                    }
                }
                println!(
                    "\n## Receiver (closed loop, {} connections x {} streams, {:?} window)\n",
                    opts.connections, opts.streams, opts.duration
                );
                table.print();
            }
            Scenario::Loader => {
                eprintln!("bench: loader ...");
                let (prefill, results) = loader_bench(&opts).await?;
                println!(
                    "\n## Loader ({} spans pre-filled through the producer in {:.1} s = {} spans/s, {:.0} MiB of OTLP)\n",
                    prefill.spans,
                    prefill.secs,
                    fmt_rate(prefill.spans as f64 / prefill.secs),
                    prefill.bytes as f64 / (1024.0 * 1024.0)
                );
                let mut table = Table::new(&[
                    "max_rows",
                    "rows",
                    "wall s",
                    "rows/s (wall)",
                    "rows/s (first row → last)",
                    "loader cpu s",
                    "rows/s per loader core",
                    "loader RSS peak MiB",
                    "clickhouse cpu s",
                    "kafka cpu s",
                    "other cores",
                    "lookup rows",
                ]);
                for r in &results {
                    table.row(vec![
                        r.max_rows.to_string(),
                        r.rows.to_string(),
                        format!("{:.1}", r.wall_secs),
                        fmt_rate(r.rows as f64 / r.wall_secs),
                        fmt_rate(r.rows as f64 / r.steady_secs),
                        format!("{:.1}", r.loader_cpu),
                        fmt_rate(r.rows as f64 / r.loader_cpu),
                        format!("{:.0}", r.rss_peak_mib),
                        format!("{:.1}", r.clickhouse_cpu),
                        format!("{:.1}", r.kafka_cpu),
                        format!("{:.2}", r.other_cores.max(0.0)),
                        r.lookup_rows.to_string(),
                    ]);
                }
                table.print();
                summary.loader = results;
            }
            Scenario::Freshness => {
                let mut table = Table::new(&[
                    "target spans/s",
                    "acked spans/s",
                    "requests",
                    "errors",
                    "p50 s",
                    "p90 s",
                    "p99 s",
                    "max s",
                    "p50 first/last third s",
                    "unseen",
                    "sustained",
                    "rx cores",
                    "loader cores",
                    "kafka cores",
                    "clickhouse cores",
                    "loadgen cores",
                    "other cores",
                    "polls/s",
                    "poll p50/max ms",
                ]);
                for &rate in &opts.rates {
                    eprintln!("bench: freshness at {rate} spans/s ...");
                    let r = fresh::run(&opts, rate).await?;
                    table.row(vec![
                        fmt_rate(rate as f64),
                        fmt_rate(r.acked_items_per_sec),
                        r.requests.to_string(),
                        (r.errors + r.skipped).to_string(),
                        format!("{:.2}", r.p50),
                        format!("{:.2}", r.p90),
                        format!("{:.2}", r.p99),
                        format!("{:.2}", r.max),
                        format!("{:.2} / {:.2}", r.p50_first_third, r.p50_last_third),
                        r.unseen.to_string(),
                        if r.sustained { "yes" } else { "no" }.to_owned(),
                        format!("{:.2}", r.cores.receiver),
                        format!("{:.2}", r.cores.loader),
                        format!("{:.2}", r.cores.kafka),
                        format!("{:.2}", r.cores.clickhouse),
                        format!("{:.2}", r.cores.loadgen),
                        format!("{:.2}", r.cores.other.max(0.0)),
                        format!("{:.1}", r.polls_per_sec),
                        format!("{:.1} / {:.0}", r.poll_p50_ms, r.poll_max_ms),
                    ]);
                    let sustained = r.sustained;
                    summary.freshness.push((rate, r));
                    if sustained {
                        break;
                    }
                }
                println!(
                    "\n## Freshness (send → visible in ClickHouse; {:?} at each rate, {} spans/request, poll every {:?})\n",
                    opts.freshness_secs, opts.batch, opts.poll
                );
                table.print();
            }
            Scenario::All => unreachable!("expanded by Opts::scenarios"),
        }
    }
    summary.print();
    eprintln!("bench: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "# AIRIS-MON pipeline bench\n\nmachine: {} CPUs ({model}), {mem_gib:.1} GiB RAM; load average before: {}",
        sys::nproc(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "kafka {} , clickhouse {} (pid {:?}, engine + HTTP adapter)",
        airis_tests::kafka_brokers(),
        airis_tests::clickhouse_url(),
        clickhouse_pid()
    );
}

fn kafka_pid() -> Option<u32> {
    infra_pid("kafka", None)
}

fn clickhouse_pid() -> Option<u32> {
    infra_pid("clickhouse", port_of(&airis_tests::clickhouse_url()))
}

/// CPU seconds of an optional pid (0 when unknown).
fn cpu_of(pid: Option<u32>) -> f64 {
    pid.and_then(cpu_seconds).unwrap_or(0.0)
}

fn self_cpu() -> f64 {
    cpu_seconds(std::process::id()).unwrap_or(0.0)
}

/// Environment for an `airis` child beyond [`Settings::env`].
fn child_env(listen_port: Option<u16>) -> Vec<(String, String)> {
    let mut env = vec![(
        format!("AIRIS_AUTH__TOKENS__{}", TOKEN.to_ascii_uppercase()),
        TENANT.to_owned(),
    )];
    if let Some(port) = listen_port {
        env.push((
            "AIRIS_INGESTION__RECEIVER__LISTEN".to_owned(),
            format!("127.0.0.1:{port}"),
        ));
    }
    env
}

/// Starts `airis serve receiver` and waits until it accepts connections.
async fn start_receiver(settings: &Settings) -> anyhow::Result<(Airis, String)> {
    let port = airis_tests::free_port()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut receiver = Airis::spawn(settings, "receiver", &child_env(Some(port)))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while load::wait_ready(&endpoint, Duration::from_millis(500))
        .await
        .is_err()
    {
        receiver.check_alive()?;
        anyhow::ensure!(Instant::now() < deadline, "receiver did not start");
    }
    Ok((receiver, endpoint))
}

async fn delete_topics(kafka: &KafkaConfig) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: Result<AdminClient<DefaultClientContext>, _> =
        kafka.finish(kafka.client_config()).create();
    if let Ok(admin) = admin {
        let topics = [
            kafka.topics.traces.as_str(),
            kafka.topics.logs.as_str(),
            kafka.topics.metrics.as_str(),
        ];
        if let Err(error) = admin.delete_topics(&topics, &AdminOptions::new()).await {
            eprintln!("bench: cannot delete topics {topics:?}: {error}");
        }
    }
}

async fn drop_database(settings: &Settings) {
    let sql = format!("DROP DATABASE IF EXISTS `{}`", settings.clickhouse.database);
    if let Err(error) = settings
        .clickhouse
        .server_client()
        .query(&sql)
        .execute()
        .await
    {
        eprintln!("bench: {sql}: {error}");
    }
}

/// A pool of distinct pre-encoded requests of one signal.
fn request_pool(signal: &str, batch: usize, size: usize) -> Vec<Bytes> {
    let base = now_unix_nano();
    let run = base;
    (0..size)
        .map(|k| match signal {
            "traces" => data::TraceGen::new(batch, k, run + k as u64).next_encoded(base),
            _ => data::LogGen::new(batch, k, run + k as u64).next_encoded(base),
        })
        .collect()
}

// === receiver ===

struct ReceiverResult {
    items_per_request: usize,
    request_bytes: f64,
    items_per_sec: f64,
    requests_per_sec: f64,
    errors: u64,
    first_error: Option<String>,
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    rx_cores: f64,
    items_per_core: f64,
    rss_idle_mib: f64,
    rss_peak_mib: f64,
    kafka_cores: f64,
    loadgen_cores: f64,
    /// Busy cores of the machine not accounted to the processes above.
    other_cores: f64,
}

#[derive(Clone, Copy)]
struct Snap {
    process: f64,
    kafka: f64,
    me: f64,
    machine: MachineCpu,
}

async fn receiver_bench(opts: &Opts, signal: &str) -> anyhow::Result<ReceiverResult> {
    let settings = Settings::new(&format!("bench_rx_{signal}"));
    let result = receiver_run(opts, signal, &settings).await;
    delete_topics(&settings.kafka).await;
    result
}

async fn receiver_run(
    opts: &Opts,
    signal: &str,
    settings: &Settings,
) -> anyhow::Result<ReceiverResult> {
    airis_runtime::kafka::ensure_topics(&settings.kafka)
        .await
        .context("create topics")?;
    let (mut receiver, endpoint) = start_receiver(settings).await?;
    let rss_idle_mib = vm_mib(receiver.pid, "VmRSS").unwrap_or(f64::NAN);
    let pool = Arc::new(request_pool(signal, opts.batch, 32));
    let request_bytes = pool.iter().map(Bytes::len).sum::<usize>() as f64 / pool.len() as f64;
    let path = if signal == "traces" {
        TRACES_EXPORT
    } else {
        LOGS_EXPORT
    };
    let shape = Shape {
        connections: opts.connections,
        per_connection: opts.streams,
        warmup: opts.warmup,
        duration: opts.duration,
    };
    let kafka = kafka_pid();
    let pid = receiver.pid;
    let mut snaps: Vec<Snap> = Vec::new();
    let mut perf = None;
    let perf_dir = opts.perf.clone();
    let result = load::closed_loop(
        &endpoint,
        path,
        TOKEN,
        pool,
        opts.batch as u64,
        &shape,
        |start| {
            if start {
                perf = Some(Perf::start(
                    perf_dir.as_ref(),
                    &format!("receiver-{signal}"),
                    pid,
                ));
            } else if let Some(p) = perf.take() {
                p.stop();
            }
            snaps.push(Snap {
                process: cpu_seconds(pid).unwrap_or(f64::NAN),
                kafka: cpu_of(kafka),
                me: self_cpu(),
                machine: MachineCpu::now(),
            });
        },
    )
    .await?;
    receiver.check_alive()?;
    let rss_peak_mib = vm_mib(receiver.pid, "VmHWM").unwrap_or(f64::NAN);
    receiver.stop().await?;

    let (a, b) = (snaps[0], snaps[1]);
    let secs = result.elapsed.as_secs_f64();
    let rx_cpu = b.process - a.process;
    Ok(ReceiverResult {
        items_per_request: opts.batch,
        request_bytes,
        items_per_sec: result.items as f64 / secs,
        requests_per_sec: result.requests as f64 / secs,
        errors: result.errors,
        first_error: result.first_error,
        ack_p50_ms: quantile(&result.latencies_us, 0.5) as f64 / 1000.0,
        ack_p99_ms: quantile(&result.latencies_us, 0.99) as f64 / 1000.0,
        rx_cores: rx_cpu / secs,
        items_per_core: result.items as f64 / rx_cpu,
        rss_idle_mib,
        rss_peak_mib,
        kafka_cores: (b.kafka - a.kafka) / secs,
        loadgen_cores: (b.me - a.me) / secs,
        other_cores: b.machine.busy_since(&a.machine) * sys::nproc() as f64
            - (rx_cpu + b.kafka - a.kafka + b.me - a.me) / secs,
    })
}

// === loader ===

struct Prefill {
    spans: u64,
    bytes: u64,
    secs: f64,
}

struct LoaderResult {
    max_rows: usize,
    rows: u64,
    wall_secs: f64,
    steady_secs: f64,
    loader_cpu: f64,
    rss_peak_mib: f64,
    clickhouse_cpu: f64,
    kafka_cpu: f64,
    other_cores: f64,
    lookup_rows: u64,
}

/// Produces `spans` spans to the traces topic exactly as the receiver does
/// (same producer, same settings, tenant header).
async fn prefill(settings: &Settings, spans: u64, batch: usize) -> anyhow::Result<Prefill> {
    let producer = Producer::new(&settings.kafka, &ProducerConfig::default())?;
    let tenant = Tenant::parse(TENANT).map_err(anyhow::Error::msg)?;
    let requests = spans.div_ceil(batch as u64);
    let base = now_unix_nano();
    let mut gens: Vec<data::TraceGen> = (0..4)
        .map(|k| data::TraceGen::new(batch, k, base + k as u64))
        .collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(256));
    let mut sends = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut bytes = 0u64;
    for r in 0..requests {
        let permit = permits.clone().acquire_owned().await?;
        let n = gens.len();
        let payload = gens[r as usize % n].next_encoded(base + r * 1_000);
        bytes += payload.len() as u64;
        let (producer, tenant, topic) = (
            producer.clone(),
            tenant.clone(),
            settings.kafka.topics.traces.clone(),
        );
        sends.spawn(async move {
            let result = producer.send(&topic, &tenant, &payload).await;
            drop(permit);
            result
        });
        while let Some(done) = sends.try_join_next() {
            done?.context("produce")?;
        }
    }
    while let Some(done) = sends.join_next().await {
        done?.context("produce")?;
    }
    Ok(Prefill {
        spans: requests * batch as u64,
        bytes,
        secs: started.elapsed().as_secs_f64(),
    })
}

async fn loader_bench(opts: &Opts) -> anyhow::Result<(Prefill, Vec<LoaderResult>)> {
    let base = Settings::new("bench_ld");
    let result = loader_run(opts, &base).await;
    delete_topics(&base.kafka).await;
    result
}

async fn loader_run(opts: &Opts, base: &Settings) -> anyhow::Result<(Prefill, Vec<LoaderResult>)> {
    airis_runtime::kafka::ensure_topics(&base.kafka)
        .await
        .context("create topics")?;
    let prefilled = prefill(base, opts.loader_spans, opts.batch).await?;
    let expected = prefilled.spans;
    let mut results = Vec::new();
    for &max_rows in &opts.max_rows {
        results.push(loader_setting(opts, base, max_rows, expected).await?);
    }
    Ok((prefilled, results))
}

/// A fresh database and consumer group with `max_rows`, dropped afterwards.
async fn loader_setting(
    opts: &Opts,
    base: &Settings,
    max_rows: usize,
    expected: u64,
) -> anyhow::Result<LoaderResult> {
    let mut settings = base.clone();
    let id = unique("bench_ld");
    settings.clickhouse.database = format!("t_{id}");
    settings.ingestion.loader.group_id = format!("{id}_loader");
    settings.ingestion.loader.max_rows = max_rows;
    settings.ingestion.loader.max_wait_ms = LoaderConfig::default().max_wait_ms;
    let result = load_once(opts, &settings, max_rows, expected).await;
    drop_database(&settings).await;
    result
}

/// One loader run over the pre-filled topics into `settings`' database.
async fn load_once(
    opts: &Opts,
    settings: &Settings,
    max_rows: usize,
    expected: u64,
) -> anyhow::Result<LoaderResult> {
    airis_store::schema::migrate(
        &settings.clickhouse.server_client(),
        &settings.clickhouse.database,
        &settings.ingestion.schema,
    )
    .await
    .context("migrate")?;
    let ch = settings.clickhouse();
    let (kafka, clickhouse) = (kafka_pid(), clickhouse_pid());
    let (kafka0, ch0, machine0) = (cpu_of(kafka), cpu_of(clickhouse), MachineCpu::now());

    eprintln!("bench: loader max_rows={max_rows} ...");
    let started = Instant::now();
    let mut loader = Airis::spawn(settings, "loader", &child_env(None))?;
    let perf = Perf::start(
        opts.perf.as_ref(),
        &format!("loader-{max_rows}"),
        loader.pid,
    );
    let timeout = Duration::from_secs(60 + expected / 10_000);
    let mut first_row = None;
    let mut rss_peak_mib = 0.0;
    loop {
        let n: u64 = ch
            .query(&format!("SELECT count() FROM {TRACES}"))
            .fetch_one()
            .await
            .context("count rows")?;
        rss_peak_mib = vm_mib(loader.pid, "VmHWM").unwrap_or(rss_peak_mib);
        if n > 0 && first_row.is_none() {
            first_row = Some(started.elapsed());
        }
        if n >= expected {
            break;
        }
        loader.check_alive()?;
        if started.elapsed() > timeout {
            bail!("loader stored {n} of {expected} rows within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed();
    let loader_cpu = loader.cpu();
    perf.stop();
    let (kafka1, ch1, machine1) = (cpu_of(kafka), cpu_of(clickhouse), MachineCpu::now());
    loader.stop().await?;
    let lookup_rows: u64 = ch
        .query(&format!("SELECT count() FROM {TRACE_ID_TS}"))
        .fetch_one()
        .await
        .unwrap_or(0);
    let first = first_row.unwrap_or_default();
    Ok(LoaderResult {
        max_rows,
        rows: expected,
        wall_secs: wall.as_secs_f64(),
        steady_secs: (wall - first).as_secs_f64().max(1e-3),
        loader_cpu,
        rss_peak_mib,
        clickhouse_cpu: ch1 - ch0,
        kafka_cpu: kafka1 - kafka0,
        other_cores: machine1.busy_since(&machine0) * sys::nproc() as f64
            - (loader_cpu + ch1 - ch0 + kafka1 - kafka0) / wall.as_secs_f64(),
        lookup_rows,
    })
}

// === output ===

fn fmt_rate(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// A Markdown table with aligned columns.
    fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            println!("| {} |", cells.join(" | "));
        };
        line(&self.header);
        println!(
            "|{}|",
            widths
                .iter()
                .map(|w| format!("{}:", "-".repeat(w + 1)))
                .collect::<Vec<_>>()
                .join("|")
        );
        for row in &self.rows {
            line(row);
        }
    }
}

#[derive(Default)]
struct Summary {
    receiver: Option<ReceiverResult>,
    receiver_logs: Option<ReceiverResult>,
    loader: Vec<LoaderResult>,
    freshness: Vec<(u64, fresh::FreshResult)>,
}

impl Summary {
    fn print(&self) {
        let mut table = Table::new(&["target", "goal", "measured", "met"]);
        let yes = |ok: bool| if ok { "yes" } else { "NO" }.to_owned();
        if let Some(r) = &self.receiver {
            table.row(vec![
                "receiver spans/s per core".into(),
                ">= 500k".into(),
                fmt_rate(r.items_per_core),
                yes(r.items_per_core >= 500_000.0),
            ]);
            table.row(vec![
                "receiver RSS under load (traces)".into(),
                "< 150 MiB".into(),
                format!("{:.0} MiB", r.rss_peak_mib),
                yes(r.rss_peak_mib < 150.0),
            ]);
        }
        if let Some(r) = &self.receiver_logs {
            table.row(vec![
                "receiver log records/s per core".into(),
                "(>= 500k)".into(),
                fmt_rate(r.items_per_core),
                yes(r.items_per_core >= 500_000.0),
            ]);
            table.row(vec![
                "receiver RSS under load (logs)".into(),
                "< 150 MiB".into(),
                format!("{:.0} MiB", r.rss_peak_mib),
                yes(r.rss_peak_mib < 150.0),
            ]);
        }
        if let Some(best) = self.loader.iter().max_by(|a, b| {
            (a.rows as f64 / a.loader_cpu).total_cmp(&(b.rows as f64 / b.loader_cpu))
        }) {
            let per_core = best.rows as f64 / best.loader_cpu;
            table.row(vec![
                format!("loader rows/s per loader core (max_rows {})", best.max_rows),
                ">= 500k".into(),
                fmt_rate(per_core),
                yes(per_core >= 500_000.0),
            ]);
        }
        for (rate, r) in &self.freshness {
            table.row(vec![
                format!("freshness p99 at {} spans/s", fmt_rate(*rate as f64)),
                "< 2 s at 50k".into(),
                format!(
                    "{:.2} s{}",
                    r.p99,
                    if r.sustained { "" } else { " (not sustained)" }
                ),
                yes(*rate >= 50_000 && r.sustained && r.p99 < 2.0),
            ]);
        }
        if !table.rows.is_empty() {
            println!("\n## Targets\n");
            table.print();
            println!(
                "\nFor comparison (published): OpenTelemetry Collector ~137k spans/s per core into ClickHouse; Rotel ~462k."
            );
        }
    }
}
