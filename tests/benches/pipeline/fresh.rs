//! End-to-end freshness: a fixed-rate (open-loop) exporter through receiver
//! → Kafka → loader → ClickHouse, and a poller that notes when each request
//! became queryable.
//!
//! Every request carries one marker span (named [`data::MARKER_NAME`]) whose
//! start time is the request's send time in ns, which identifies it. The
//! poller asks only for markers at or after the oldest one not seen yet:
//!
//! ```sql
//! SELECT toUnixTimestamp64Nano(Timestamp) FROM <tables::TRACES>
//! WHERE TenantId = 'bench' AND ServiceName IN (<the 4 services>)
//!   AND SpanName = 'bench.marker'
//!   AND Timestamp >= fromUnixTimestamp64Nano(<oldest unseen>)
//! ```
//!
//! which touches a handful of granules per part (the primary key is
//! `TenantId, ServiceName, SpanName, toDateTime(Timestamp)`) and returns
//! about rate/batch × freshness rows, so polling every 50 ms stays cheap.
//! Each marker is matched individually, so a partition whose batch lands late
//! is measured late (a `max(seq)` watermark would hide that). A request's
//! freshness is the poll response time that first showed its marker minus its
//! send time: an upper bound, at most one poll interval plus one query late.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airis_store::tables::TRACES;
use airis_tests::{Settings, otlp::now_unix_nano};
use anyhow::Context as _;

use crate::load::{self, TRACES_EXPORT, quantile};
use crate::sys::{MachineCpu, Perf, cpu_seconds};
use crate::{Opts, TENANT, TOKEN, clickhouse_pid, cpu_of, data, kafka_pid, self_cpu};

/// Requests in flight at most; more means the pipeline is not keeping up
/// (ack latency × rate), and the generator skips sends and says so.
const MAX_IN_FLIGHT: u64 = 2_000;
/// How long to wait after the send window for the last markers.
const DRAIN: Duration = Duration::from_secs(15);

pub(crate) struct Cores {
    pub(crate) receiver: f64,
    pub(crate) loader: f64,
    pub(crate) kafka: f64,
    pub(crate) clickhouse: f64,
    pub(crate) loadgen: f64,
    /// Busy cores of the machine not accounted to the processes above.
    pub(crate) other: f64,
}

pub(crate) struct FreshResult {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) skipped: u64,
    pub(crate) acked_items_per_sec: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) p50_first_third: f64,
    pub(crate) p50_last_third: f64,
    pub(crate) unseen: usize,
    pub(crate) sustained: bool,
    pub(crate) cores: Cores,
    pub(crate) polls_per_sec: f64,
    pub(crate) poll_p50_ms: f64,
    pub(crate) poll_max_ms: f64,
}

#[derive(Default)]
struct Book {
    /// Send times of markers not seen yet (acked or still in flight).
    pending: BTreeSet<u64>,
    /// Send time → freshness in ns, for markers seen.
    seen: HashMap<u64, u64>,
    /// Send times of acknowledged requests.
    acked: Vec<u64>,
}

pub(crate) async fn run(opts: &Opts, rate: u64) -> anyhow::Result<FreshResult> {
    let mut settings = Settings::new("bench_fr");
    settings.ingestion.loader.max_wait_ms = opts
        .max_wait_ms
        .unwrap_or(airis_ingestion::loader::LoaderConfig::default().max_wait_ms);
    let result = run_in(opts, rate, &settings).await;
    crate::drop_database(&settings).await;
    crate::delete_topics(&settings.kafka).await;
    result
}

async fn run_in(opts: &Opts, rate: u64, settings: &Settings) -> anyhow::Result<FreshResult> {
    settings.migrate().await?;
    let (mut receiver, endpoint) = crate::start_receiver(settings).await?;
    let mut loader = crate::sys::Airis::spawn(settings, "loader", &crate::child_env(None))?;

    let base = now_unix_nano();
    let mut gens: Vec<data::TraceGen> = (0..4)
        .map(|k| data::TraceGen::new(opts.batch, k, base + k as u64))
        .collect();
    let pool: Arc<Vec<data::Marked>> =
        Arc::new((0..32).map(|i| gens[i % 4].next_marked(base)).collect());
    let mut channels = Vec::new();
    for _ in 0..opts.connections {
        channels.push(load::connect(&endpoint).await?);
    }
    // Let the loader join its group before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    loader.check_alive()?;

    let book = Arc::new(Mutex::new(Book::default()));
    let poll_stop = Arc::new(AtomicBool::new(false));
    let polling_started = Instant::now();
    let poller = {
        let (book, stop, ch, every) = (
            book.clone(),
            poll_stop.clone(),
            settings.clickhouse(),
            opts.poll,
        );
        tokio::spawn(async move {
            let mut polls: Vec<f64> = Vec::new();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let Some(low) = book.lock().unwrap().pending.first().copied() else {
                    continue;
                };
                let started = Instant::now();
                let markers: Vec<i64> = ch
                    .query(&format!(
                        "SELECT toUnixTimestamp64Nano(Timestamp) FROM {TRACES} \
                         WHERE TenantId = ? AND ServiceName IN ? AND SpanName = ? \
                         AND Timestamp >= fromUnixTimestamp64Nano(toInt64(?))"
                    ))
                    .bind(TENANT)
                    .bind(data::SERVICES.as_slice())
                    .bind(data::MARKER_NAME)
                    .bind(low as i64)
                    .fetch_all()
                    .await
                    .context("poll markers")?;
                let now = now_unix_nano();
                polls.push(started.elapsed().as_secs_f64() * 1000.0);
                let mut book = book.lock().unwrap();
                for marker in markers {
                    let sent = marker as u64;
                    if book.pending.remove(&sent) {
                        book.seen.insert(sent, now.saturating_sub(sent));
                    }
                }
            }
            anyhow::Ok(polls)
        })
    };

    let (kafka, clickhouse) = (kafka_pid(), clickhouse_pid());
    let snap = |rx: u32, ld: u32| {
        (
            cpu_seconds(rx).unwrap_or(f64::NAN),
            cpu_seconds(ld).unwrap_or(f64::NAN),
            cpu_of(kafka),
            cpu_of(clickhouse),
            self_cpu(),
            MachineCpu::now(),
        )
    };
    let perf = (
        Perf::start(
            opts.perf.as_ref(),
            &format!("fresh-receiver-{rate}"),
            receiver.pid,
        ),
        Perf::start(
            opts.perf.as_ref(),
            &format!("fresh-loader-{rate}"),
            loader.pid,
        ),
    );
    let before = snap(receiver.pid, loader.pid);

    // Open loop: request i is due at start + i × interval, whatever the
    // acknowledgements do.
    let interval = Duration::from_secs_f64(opts.batch as f64 / rate as f64);
    let in_flight = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let mut skipped = 0u64;
    let mut requests = 0u64;
    let mut sends = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut last_sent = 0u64;
    let mut i = 0usize;
    loop {
        tick.tick().await;
        if started.elapsed() >= opts.freshness_secs {
            break;
        }
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            skipped += 1;
            continue;
        }
        let send_ns = now_unix_nano().max(last_sent + 1);
        last_sent = send_ns;
        let body = pool[i % pool.len()].with_send_time(send_ns);
        let channel = channels[i % channels.len()].clone();
        i += 1;
        requests += 1;
        book.lock().unwrap().pending.insert(send_ns);
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (book, in_flight, errors, first_error) = (
            book.clone(),
            in_flight.clone(),
            errors.clone(),
            first_error.clone(),
        );
        sends.spawn(async move {
            let result = load::export(&channel, TRACES_EXPORT, TOKEN, body).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let mut book = book.lock().unwrap();
            match result {
                Ok(()) => book.acked.push(send_ns),
                Err(status) => {
                    book.pending.remove(&send_ns);
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().unwrap().get_or_insert_with(|| {
                        format!("{:?}: {}", status.code(), status.message())
                    });
                }
            }
        });
        while sends.try_join_next().is_some() {}
    }
    let window = started.elapsed();
    while sends.join_next().await.is_some() {}
    let after = snap(receiver.pid, loader.pid);
    let after_secs = started.elapsed().as_secs_f64();
    let acked_in_window = book.lock().unwrap().acked.len() as u64;

    // Drain: wait for the markers still on their way.
    let deadline = Instant::now() + DRAIN;
    while !book.lock().unwrap().pending.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    poll_stop.store(true, Ordering::Relaxed);
    let mut polls = poller.await??;
    let polling = polling_started.elapsed();
    perf.0.stop();
    perf.1.stop();
    receiver.check_alive()?;
    loader.check_alive()?;
    receiver.stop().await?;
    loader.stop().await?;
    if let Some(error) = first_error.lock().unwrap().take() {
        eprintln!("bench: freshness at {rate}/s: first error: {error}");
    }

    let book = book.lock().unwrap();
    let mut acked = book.acked.clone();
    acked.sort_unstable();
    let unseen = acked.iter().filter(|s| !book.seen.contains_key(s)).count();
    let fresh_of = |sent: &u64| book.seen.get(sent).map(|ns| *ns as f64 / 1e9);
    let mut all: Vec<f64> = acked.iter().filter_map(fresh_of).collect();
    all.sort_by(f64::total_cmp);
    let third = |k: usize| {
        let n = acked.len();
        let mut part: Vec<f64> = acked[n * k / 3..n * (k + 1) / 3]
            .iter()
            .filter_map(fresh_of)
            .collect();
        part.sort_by(f64::total_cmp);
        quantile(&part, 0.5)
    };
    let (p50_first_third, p50_last_third) = (third(0), third(2));
    polls.sort_by(f64::total_cmp);

    let secs = window.as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    let acked_items_per_sec = (acked_in_window * opts.batch as u64) as f64 / secs;
    let sustained = errors == 0
        && skipped == 0
        && unseen == 0
        && acked_items_per_sec >= 0.97 * rate as f64
        && p50_last_third - p50_first_third < 1.0;
    let ours = (after.0 - before.0)
        + (after.1 - before.1)
        + (after.2 - before.2)
        + (after.3 - before.3)
        + (after.4 - before.4);
    let busy = after.5.busy_since(&before.5) * crate::sys::nproc() as f64;
    let cores = Cores {
        receiver: (after.0 - before.0) / after_secs,
        loader: (after.1 - before.1) / after_secs,
        kafka: (after.2 - before.2) / after_secs,
        clickhouse: (after.3 - before.3) / after_secs,
        loadgen: (after.4 - before.4) / after_secs,
        other: busy - ours / after_secs,
    };
    Ok(FreshResult {
        requests,
        errors,
        skipped,
        acked_items_per_sec,
        p50: quantile(&all, 0.5),
        p90: quantile(&all, 0.9),
        p99: quantile(&all, 0.99),
        max: all.last().copied().unwrap_or(f64::NAN),
        p50_first_third,
        p50_last_third,
        unseen,
        sustained,
        cores,
        polls_per_sec: polls.len() as f64 / polling.as_secs_f64(),
        poll_p50_ms: quantile(&polls, 0.5),
        poll_max_ms: polls.last().copied().unwrap_or(f64::NAN),
    })
}
