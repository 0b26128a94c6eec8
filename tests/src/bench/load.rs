//! The load generator: tonic clients over a few HTTP/2 connections sending
//! pre-encoded export requests, closed-loop (as fast as acknowledged) or
//! open-loop at a fixed rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use airis_proto::tonic::{
    self, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::{Channel, Endpoint},
};
use anyhow::Context as _;
use bytes::{Buf, BufMut, Bytes};

pub const TRACES_EXPORT: &str = crate::otlp::TRACES_EXPORT;
pub const LOGS_EXPORT: &str = crate::otlp::LOGS_EXPORT;

/// Sends bytes as they are and ignores the response message.
#[derive(Clone, Copy)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = ();
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

/// One HTTP/2 connection to the receiver.
pub async fn connect(endpoint: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(endpoint.to_owned())?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connect {endpoint}"))
}

/// Waits until the receiver accepts connections.
pub async fn wait_ready(endpoint: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match connect(endpoint).await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() >= deadline => return Err(error),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One unary export of pre-encoded `body`.
pub async fn export(
    channel: &Channel,
    path: &'static str,
    token: &str,
    body: Bytes,
) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = Request::new(body);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request.set_timeout(Duration::from_secs(10));
    grpc.unary(request, PathAndQuery::from_static(path), Raw)
        .await
        .map(|_| ())
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    items: AtomicU64,
    errors: AtomicU64,
}

/// What a closed-loop run measured over its measurement window.
pub struct ClosedLoop {
    pub requests: u64,
    pub items: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Ack latencies of the requests completed in the window, in µs, sorted.
    pub latencies_us: Vec<u32>,
}

/// Load shape of a closed-loop run.
pub struct Shape {
    pub connections: usize,
    pub per_connection: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// `shape.connections × shape.per_connection` clients, each sending the
/// next request of `pool` as soon as the previous one is acknowledged.
/// `on_window(start)` is called when the measurement window opens and
/// `on_window(end)` when it closes (to snapshot CPU counters).
pub async fn closed_loop(
    endpoint: &str,
    path: &'static str,
    token: &str,
    pool: Arc<Vec<Bytes>>,
    items_per_request: u64,
    shape: &Shape,
    mut on_window: impl FnMut(bool),
) -> anyhow::Result<ClosedLoop> {
    let stop = Arc::new(AtomicBool::new(false));
    let recording = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut workers = tokio::task::JoinSet::new();
    for c in 0..shape.connections {
        let channel = connect(endpoint).await?;
        for k in 0..shape.per_connection {
            let (channel, pool, stop, recording, counters, first_error, token) = (
                channel.clone(),
                pool.clone(),
                stop.clone(),
                recording.clone(),
                counters.clone(),
                first_error.clone(),
                token.to_owned(),
            );
            let mut next = c * shape.per_connection + k;
            workers.spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let body = pool[next % pool.len()].clone();
                    next += 7;
                    let started = Instant::now();
                    let result = export(&channel, path, &token, body).await;
                    let rec = recording.load(Ordering::Relaxed);
                    match result {
                        Ok(()) if rec => {
                            latencies.push(started.elapsed().as_micros() as u32);
                            counters.requests.fetch_add(1, Ordering::Relaxed);
                            counters
                                .items
                                .fetch_add(items_per_request, Ordering::Relaxed);
                        }
                        Ok(()) => {}
                        Err(status) => {
                            if rec {
                                counters.errors.fetch_add(1, Ordering::Relaxed);
                            }
                            first_error.lock().unwrap().get_or_insert_with(|| {
                                format!("{:?}: {}", status.code(), status.message())
                            });
                            // Do not spin on a dead receiver.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                latencies
            });
        }
    }
    tokio::time::sleep(shape.warmup).await;
    on_window(true);
    recording.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(shape.duration).await;
    let (requests, items, errors) = (
        counters.requests.load(Ordering::Relaxed),
        counters.items.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed),
    );
    let elapsed = started.elapsed();
    on_window(false);
    recording.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    while let Some(joined) = workers.join_next().await {
        latencies_us.extend(joined?);
    }
    latencies_us.sort_unstable();
    let first_error = first_error.lock().unwrap().take();
    Ok(ClosedLoop {
        requests,
        items,
        errors,
        first_error,
        elapsed,
        latencies_us,
    })
}

/// The `q` quantile (0..=1) of sorted values.
pub fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
