//! Realistic telemetry from the `airis demo` generator (frontend → checkout
//! → payment / cart / catalog traces with their logs), replicated over
//! `cells` copies of the service graph (`checkout-c3`, ...) so that there
//! are many services and operations, and sent through the OTLP receiver.
//!
//! - spans: a share of the traces (`Plan::recent_share`; half for the
//!   analytics bench) ends in the last hour before the anchor, the rest
//!   uniformly over the 23 hours before that;
//! - log records: uniformly over the 24 hours before the anchor (or, with
//!   `Plan::logs_in_last_hour`, over its last hour); one record in
//!   [`WORD_EVERY`] gets [`WORD`] appended to its body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airis_demo::{
    export::{logs_request, traces_request},
    generate::{Conditions, Generator},
    rng::Rng,
};
use airis_proto::otlp::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use airis_proto::prost::Message as _;
use anyhow::Context as _;
use bytes::Bytes;
use tokio::sync::{Mutex, mpsc};

use airis_tests::bench::load::{self, LOGS_EXPORT, TRACES_EXPORT};

pub(crate) const HOUR_NS: u64 = 3_600_000_000_000;
/// The full-text search word, in one log record of `WORD_EVERY`.
pub(crate) const WORD: &str = "quokka";
pub(crate) const WORD_EVERY: u64 = 100;

pub(crate) struct Plan {
    pub(crate) spans: u64,
    pub(crate) logs: u64,
    pub(crate) cells: u64,
    /// Items (spans or log records) per export request, at least.
    pub(crate) batch: u64,
    pub(crate) concurrency: usize,
    /// Data ends here (unix ns).
    pub(crate) anchor_ns: u64,
    /// Share of the traces that end in the last hour before the anchor.
    pub(crate) recent_share: f64,
    /// Every log record in the last hour before the anchor.
    pub(crate) logs_in_last_hour: bool,
    /// Trace ids to remember for GetTrace.
    pub(crate) sample: usize,
}

pub(crate) struct Sent {
    pub(crate) spans: u64,
    pub(crate) logs: u64,
    pub(crate) traces: u64,
    pub(crate) word_logs: u64,
    pub(crate) requests: u64,
    pub(crate) bytes: u64,
    pub(crate) secs: f64,
    /// Hex trace ids of traces with spans: half from the last hour, half older.
    pub(crate) trace_ids: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rename(attributes: &mut [KeyValue], suffix: &str) {
    for kv in attributes {
        if kv.key == "service.name"
            && let Some(AnyValue {
                value: Some(Value::StringValue(name)),
            }) = &mut kv.value
        {
            name.push_str(suffix);
        }
    }
}

struct Job {
    path: &'static str,
    body: Bytes,
    items: u64,
}

/// Generates the data on a blocking thread and exports it through
/// `plan.concurrency` concurrent requests to the receiver at `endpoint`.
pub(crate) async fn send(endpoint: &str, token: &str, plan: &Plan) -> anyhow::Result<Sent> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<Job>(plan.concurrency * 4);
    let recent_share = plan.recent_share;
    let log_hours = if plan.logs_in_last_hour { 1 } else { 24 };
    let (spans_target, logs_target, cells, batch, anchor, sample) = (
        plan.spans,
        plan.logs,
        plan.cells.max(1),
        plan.batch.max(1),
        plan.anchor_ns,
        plan.sample,
    );
    let generator = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let conditions = Conditions::default();
        let mut rng = Rng::new(7);
        let (mut spans, mut logs, mut traces, mut word_logs) = (0u64, 0u64, 0u64, 0u64);
        let mut recent_ids = Vec::new();
        let mut old_ids = Vec::new();
        // Spans, one request per cell at a time (service names differ per cell).
        let mut generator = Generator::new(1);
        let mut pending: Vec<Vec<_>> = vec![Vec::new(); cells as usize];
        let mut pending_spans = vec![0u64; cells as usize];
        let flush_spans = |batch: &mut Vec<_>, cell: u64| -> Job {
            let (mut request, count) = traces_request(batch, "bench");
            let suffix = format!("-c{cell}");
            for rs in &mut request.resource_spans {
                if let Some(resource) = &mut rs.resource {
                    rename(&mut resource.attributes, &suffix);
                }
            }
            batch.clear();
            Job {
                path: TRACES_EXPORT,
                body: Bytes::from(request.encode_to_vec()),
                items: count,
            }
        };
        while spans < spans_target {
            let recent = rng.chance(recent_share);
            let end = if recent {
                anchor - rng.below(HOUR_NS)
            } else {
                anchor - HOUR_NS - rng.below(23 * HOUR_NS)
            };
            let mut trace = generator.trace(end, &conditions);
            trace.logs.clear();
            let n = trace.spans.len() as u64;
            if n == 0 {
                continue;
            }
            let ids = if recent {
                &mut recent_ids
            } else {
                &mut old_ids
            };
            // Reservoir sample of `sample / 2` ids of each kind.
            let seen = traces / 2 + 1;
            if ids.len() < sample / 2 + 1 {
                ids.push(hex(&trace.trace_id));
            } else {
                let j = rng.below(seen) as usize;
                if j < ids.len() {
                    ids[j] = hex(&trace.trace_id);
                }
            }
            traces += 1;
            spans += n;
            let cell = rng.below(cells) as usize;
            pending[cell].push(trace);
            pending_spans[cell] += n;
            if pending_spans[cell] >= batch {
                pending_spans[cell] = 0;
                let job = flush_spans(&mut pending[cell], cell as u64);
                if tx.blocking_send(job).is_err() {
                    anyhow::bail!("senders gone");
                }
            }
        }
        for (cell, batch) in pending.iter_mut().enumerate() {
            if !batch.is_empty() {
                let job = flush_spans(batch, cell as u64);
                if tx.blocking_send(job).is_err() {
                    anyhow::bail!("senders gone");
                }
            }
        }
        // Log records.
        let mut generator = Generator::new(2);
        let mut pending: Vec<Vec<_>> = vec![Vec::new(); cells as usize];
        let mut pending_logs = vec![0u64; cells as usize];
        let flush_logs = |batch: &mut Vec<_>, cell: u64| -> Job {
            let (mut request, count) = logs_request(batch, "bench");
            let suffix = format!("-c{cell}");
            for rl in &mut request.resource_logs {
                if let Some(resource) = &mut rl.resource {
                    rename(&mut resource.attributes, &suffix);
                }
            }
            batch.clear();
            Job {
                path: LOGS_EXPORT,
                body: Bytes::from(request.encode_to_vec()),
                items: count,
            }
        };
        while logs < logs_target {
            let end = anchor - rng.below(log_hours * HOUR_NS);
            let mut trace = generator.trace(end, &conditions);
            trace.spans.clear();
            for log in &mut trace.logs {
                logs += 1;
                if logs % WORD_EVERY == 0
                    && let Some(AnyValue {
                        value: Some(Value::StringValue(body)),
                    }) = &mut log.item.body
                {
                    body.push(' ');
                    body.push_str(WORD);
                    word_logs += 1;
                }
            }
            let n = trace.logs.len() as u64;
            if n == 0 {
                continue;
            }
            let cell = rng.below(cells) as usize;
            pending[cell].push(trace);
            pending_logs[cell] += n;
            if pending_logs[cell] >= batch {
                pending_logs[cell] = 0;
                let job = flush_logs(&mut pending[cell], cell as u64);
                if tx.blocking_send(job).is_err() {
                    anyhow::bail!("senders gone");
                }
            }
        }
        for (cell, batch) in pending.iter_mut().enumerate() {
            if !batch.is_empty() {
                let job = flush_logs(batch, cell as u64);
                if tx.blocking_send(job).is_err() {
                    anyhow::bail!("senders gone");
                }
            }
        }
        let mut ids = recent_ids;
        ids.truncate(sample / 2);
        old_ids.truncate(sample - ids.len());
        ids.extend(old_ids);
        Ok((spans, logs, traces, word_logs, ids))
    });

    let rx = Arc::new(Mutex::new(rx));
    let requests = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let items = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    for _ in 0..plan.concurrency.max(1) {
        let channel = load::connect(endpoint).await?;
        let (rx, requests, bytes, items) =
            (rx.clone(), requests.clone(), bytes.clone(), items.clone());
        let token = token.to_owned();
        senders.push(tokio::spawn(async move {
            loop {
                let job = rx.lock().await.recv().await;
                let Some(job) = job else {
                    return anyhow::Ok(());
                };
                let mut attempt = 0;
                loop {
                    match load::export(&channel, job.path, &token, job.body.clone()).await {
                        Ok(()) => break,
                        Err(status) if attempt < 20 => {
                            attempt += 1;
                            if attempt == 1 {
                                eprintln!("bench: export failed ({status}); retrying");
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(status) => anyhow::bail!("export failed: {status}"),
                    }
                }
                requests.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(job.body.len() as u64, Ordering::Relaxed);
                items.fetch_add(job.items, Ordering::Relaxed);
            }
        }));
    }
    let progress = {
        let items = items.clone();
        let total = plan.spans + plan.logs;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                eprintln!(
                    "bench: sent {} of ~{total} items",
                    items.load(Ordering::Relaxed)
                );
            }
        })
    };
    let generated = generator.await.context("generator panicked")?;
    let mut result = Ok(());
    for sender in senders {
        if let Err(error) = sender.await.context("sender panicked")? {
            result = Err(error);
        }
    }
    progress.abort();
    let (spans, logs, traces, word_logs, trace_ids) = generated?;
    result?;
    Ok(Sent {
        spans,
        logs,
        traces,
        word_logs,
        requests: requests.load(Ordering::Relaxed),
        bytes: bytes.load(Ordering::Relaxed),
        secs: started.elapsed().as_secs_f64(),
        trace_ids,
    })
}
