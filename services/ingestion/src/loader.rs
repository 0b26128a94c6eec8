//! The loader role: Kafka consumer group → batched ClickHouse inserts.
//!
//! Guarantees:
//! - **Nothing skipped.** Offsets are committed only after ClickHouse
//!   accepted a batch. When ClickHouse is down the loader retries the same
//!   batch with backoff until it succeeds (or the process stops, leaving the
//!   offsets where they were).
//! - **No visible duplicates.** A batch is the messages of one partition in
//!   an offset range, and its inserts carry a deduplication token derived
//!   from that range, so re-inserting it is a no-op in ClickHouse. For the
//!   token to repeat after a crash, the range must repeat too: before
//!   inserting, the loader commits the batch's *start* offset again with the
//!   batch's end offset in the commit metadata (a durable intent, kept by
//!   Kafka itself). Whoever resumes the partition — this process after a
//!   restart, or another group member after a rebalance — reads that intent
//!   and rebuilds exactly the same first batch.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airis_runtime::{Shutdown, kafka::KafkaConfig, kafka::TENANT_RECORD_HEADER};
use rdkafka::{
    ClientContext, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
    error::KafkaError,
    message::{BorrowedMessage, Headers},
};

use crate::rows::{Batch, LogBatch, MetricBatch, TraceBatch};

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoaderConfig {
    /// Kafka consumer group of the loaders.
    pub group_id: String,
    /// A batch is inserted once it holds this many rows ...
    pub max_rows: usize,
    /// ... or once its first message is this old.
    pub max_wait_ms: u64,
    /// Backoff between attempts while ClickHouse refuses a batch.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// Longest a single insert attempt may take before it counts as failed
    /// and is retried (the ClickHouse client itself has no deadline).
    pub insert_timeout_ms: u64,
    /// Bound on inserting and committing pending batches at shutdown; what
    /// is left is read again by the next loader.
    pub drain_timeout_ms: u64,
    /// Tenant for messages without the tenant header (for example written
    /// by an OpenTelemetry Collector's Kafka exporter). Unset: such
    /// messages are logged and skipped.
    pub default_tenant: Option<String>,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            group_id: "airis-loader".to_owned(),
            max_rows: 50_000,
            max_wait_ms: 500,
            retry_initial_ms: 200,
            retry_max_ms: 10_000,
            insert_timeout_ms: 60_000,
            drain_timeout_ms: 20_000,
            default_tenant: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoaderError {
    #[error("cannot create kafka consumer: {0}")]
    Consumer(#[source] KafkaError),
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: KafkaError,
    },
}

/// Prefix of the commit metadata that records a batch's end offset.
const INTENT_PREFIX: &str = "airis.batch.end=";

/// Runs the loader until `shutdown`; pending batches are inserted and
/// committed before it returns.
pub async fn run(
    kafka: &KafkaConfig,
    clickhouse: clickhouse::Client,
    config: LoaderConfig,
    shutdown: Shutdown,
) -> Result<(), LoaderError> {
    let revoked = Arc::new(Mutex::new(HashSet::new()));
    let mut client = kafka.client_config();
    client
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // max.poll.interval.ms stays at its default (5 min): a loader stuck
        // retrying a batch longer than that leaves the group, its partitions
        // move on, and the batch is rebuilt from the intent and deduplicated
        // wherever it is inserted again.
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864");
    let consumer: StreamConsumer<LoaderContext> = kafka
        .finish(client)
        .create_with_context(LoaderContext {
            revoked: revoked.clone(),
        })
        .map_err(LoaderError::Consumer)?;
    let consumer = Arc::new(consumer);
    let topics = [
        kafka.topics.traces.as_str(),
        kafka.topics.logs.as_str(),
        kafka.topics.metrics.as_str(),
    ];
    consumer
        .subscribe(&topics)
        .map_err(|source| LoaderError::Subscribe {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            source,
        })?;
    tracing::info!(group = %config.group_id, ?topics, "loader started");

    let mut loader = Loader {
        ctx: Ctx {
            consumer: consumer.clone(),
            clickhouse,
            config,
            shutdown: shutdown.clone(),
            meters: LoaderMeters::new(),
        },
        traces: Lane::new(&kafka.topics.traces),
        logs: Lane::new(&kafka.topics.logs),
        metrics: Lane::new(&kafka.topics.metrics),
        revoked,
    };

    let max_wait = Duration::from_millis(loader.ctx.config.max_wait_ms);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.signalled() => break,
            // Before recv: with a backlog recv is always ready, and quiet
            // partitions must still flush on age.
            _ = tick.tick() => loader.flush_older(max_wait).await,
            message = consumer.recv() => match message {
                Ok(message) => loader.handle(&message).await,
                Err(error) => {
                    // Broker-side trouble is transient from the consumer's
                    // point of view; librdkafka reconnects by itself.
                    tracing::warn!(%error, "kafka consume error");
                }
            },
        }
    }
    tracing::info!("loader draining pending batches");
    let drain = Duration::from_millis(loader.ctx.config.drain_timeout_ms);
    if tokio::time::timeout(drain, loader.flush_older(Duration::ZERO))
        .await
        .is_err()
    {
        // Safe to cut anywhere: uncommitted batches are read again and
        // deduplicated by their tokens.
        tracing::warn!(
            ?drain,
            "drain timed out, leaving batches to the next loader"
        );
    }
    tracing::info!("loader stopped");
    Ok(())
}

// === impl LoaderContext ===

/// Notes revoked partitions so their unflushed batches are dropped: the
/// new owner resumes them from the committed offset and intent.
struct LoaderContext {
    revoked: Arc<Mutex<HashSet<(String, i32)>>>,
}

impl ClientContext for LoaderContext {}

impl ConsumerContext for LoaderContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            for elem in list.elements() {
                revoked.insert((elem.topic().to_owned(), elem.partition()));
            }
            tracing::info!(partitions = list.count(), "partitions revoked");
        }
    }
}

// === impl Loader ===

struct Loader {
    ctx: Ctx,
    traces: Lane<TraceBatch>,
    logs: Lane<LogBatch>,
    metrics: Lane<MetricBatch>,
    revoked: Arc<Mutex<HashSet<(String, i32)>>>,
}

/// What flushing a batch needs, shared by the lanes.
struct Ctx {
    consumer: Arc<StreamConsumer<LoaderContext>>,
    clickhouse: clickhouse::Client,
    config: LoaderConfig,
    shutdown: Shutdown,
    meters: LoaderMeters,
}

/// Self-telemetry of the loader.
struct LoaderMeters {
    /// Rows inserted, by topic.
    rows: opentelemetry::metrics::Counter<u64>,
    /// Insert attempts that ClickHouse refused, by topic.
    insert_failures: opentelemetry::metrics::Counter<u64>,
    /// Seconds from a batch's first message to its commit, by topic.
    batch_seconds: opentelemetry::metrics::Histogram<f64>,
}

impl LoaderMeters {
    fn new() -> Self {
        let meter = opentelemetry::global::meter("airis.ingestion");
        Self {
            rows: meter
                .u64_counter("airis.loader.rows")
                .with_description("rows inserted into ClickHouse")
                .build(),
            insert_failures: meter
                .u64_counter("airis.loader.insert_failures")
                .with_description("ClickHouse insert attempts that failed and will be retried")
                .build(),
            batch_seconds: meter
                .f64_histogram("airis.loader.batch.duration")
                .with_unit("s")
                .with_description("time from a batch's first message to its commit")
                .build(),
        }
    }
}

/// The open batches of one topic, one per partition.
struct Lane<B> {
    topic: String,
    open: HashMap<i32, Pending<B>>,
    /// Partitions whose batch intent was read since they were assigned; only
    /// the first batch after an assignment can be an interrupted one.
    resumed: HashSet<i32>,
}

struct Pending<B> {
    first: i64,
    /// Broker timestamp of the first message, part of the token so that a
    /// recreated topic, whose offsets start again at 0, gets new tokens.
    first_ts: i64,
    last: i64,
    /// End offset recorded by an earlier attempt at this batch; the batch
    /// must end exactly there for its deduplication token to repeat.
    fence: Option<i64>,
    opened: Instant,
    batch: B,
}

impl<B: Batch> Lane<B> {
    /// Forgets a revoked partition; true if an open batch was dropped.
    fn revoke(&mut self, partition: i32) -> bool {
        self.resumed.remove(&partition);
        self.open.remove(&partition).is_some()
    }

    fn new(topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            open: HashMap::new(),
            resumed: HashSet::new(),
        }
    }
}

impl Loader {
    async fn handle(&mut self, message: &BorrowedMessage<'_>) {
        self.drop_revoked();
        let topic = message.topic();
        let ctx = &self.ctx;
        if topic == self.traces.topic {
            handle_in(&mut self.traces, message, ctx).await;
        } else if topic == self.logs.topic {
            handle_in(&mut self.logs, message, ctx).await;
        } else if topic == self.metrics.topic {
            handle_in(&mut self.metrics, message, ctx).await;
        }
    }

    /// Flushes batches older than `max_wait` (all of them for zero).
    async fn flush_older(&mut self, max_wait: Duration) {
        self.drop_revoked();
        let ctx = &self.ctx;
        flush_lane(&mut self.traces, max_wait, ctx).await;
        flush_lane(&mut self.logs, max_wait, ctx).await;
        flush_lane(&mut self.metrics, max_wait, ctx).await;
    }

    fn drop_revoked(&mut self) {
        let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
        if revoked.is_empty() {
            return;
        }
        for (topic, partition) in revoked.drain() {
            let dropped = if topic == self.traces.topic {
                self.traces.revoke(partition)
            } else if topic == self.logs.topic {
                self.logs.revoke(partition)
            } else {
                self.metrics.revoke(partition)
            };
            if dropped {
                tracing::info!(%topic, partition, "dropped unflushed batch of revoked partition");
            }
        }
    }
}

async fn flush_lane<B: Batch>(lane: &mut Lane<B>, max_wait: Duration, ctx: &Ctx) {
    let due: Vec<i32> = lane
        .open
        .iter()
        // A fenced batch waits for its end offset, however long that takes:
        // flushing it early would change its token.
        .filter(|(_, p)| p.fence.is_none() && p.opened.elapsed() >= max_wait)
        .map(|(partition, _)| *partition)
        .collect();
    for partition in due {
        if let Some(pending) = lane.open.remove(&partition)
            && !flush(&lane.topic, partition, pending, ctx).await
        {
            lane.resumed.remove(&partition);
        }
    }
}

async fn handle_in<B: Batch>(lane: &mut Lane<B>, message: &BorrowedMessage<'_>, ctx: &Ctx) {
    let partition = message.partition();
    let offset = message.offset();

    // A message past the fence closes the fenced batch first.
    if let Some(pending) = lane.open.get(&partition)
        && pending.fence.is_some_and(|end| offset > end)
        && let Some(pending) = lane.open.remove(&partition)
        && !flush(&lane.topic, partition, pending, ctx).await
    {
        // The partition was rewound to the batch's start; this message
        // comes again after it.
        lane.resumed.remove(&partition);
        return;
    }

    if !lane.open.contains_key(&partition) {
        let fence = if lane.resumed.contains(&partition) {
            None
        } else {
            match read_intent(&ctx.consumer, &lane.topic, partition, offset).await {
                Ok(fence) => {
                    lane.resumed.insert(partition);
                    fence
                }
                Err(error) => {
                    // Starting fresh boundaries here could re-batch an
                    // interrupted batch differently, so its rows would be
                    // inserted twice: read the partition again instead.
                    tracing::warn!(topic = %lane.topic, partition, %error, "cannot read batch intent, retrying");
                    rewind(ctx, &lane.topic, partition, offset);
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(ctx.config.retry_initial_ms)) => {}
                        _ = ctx.shutdown.signalled() => {}
                    }
                    return;
                }
            }
        };
        lane.open.insert(
            partition,
            Pending {
                first: offset,
                first_ts: message.timestamp().to_millis().unwrap_or(-1),
                last: offset,
                fence,
                opened: Instant::now(),
                batch: B::default(),
            },
        );
    }
    let pending = lane
        .open
        .get_mut(&partition)
        .expect("inserted above when missing");
    pending.last = offset;

    match tenant_of(message, &ctx.config) {
        Some(tenant) => {
            if let Err(error) = pending
                .batch
                .push_encoded(&tenant, message.payload().unwrap_or_default())
            {
                // Only a foreign producer can write this: the receiver
                // forwards decodable requests only. It can never be stored.
                tracing::error!(topic = %lane.topic, partition, offset, %error, "skipping undecodable message");
            }
        }
        None => {
            tracing::error!(topic = %lane.topic, partition, offset, "skipping message without tenant header");
        }
    }

    let full = match pending.fence {
        Some(end) => offset >= end,
        None => pending.batch.rows() >= ctx.config.max_rows,
    };
    if full
        && let Some(pending) = lane.open.remove(&partition)
        && !flush(&lane.topic, partition, pending, ctx).await
    {
        lane.resumed.remove(&partition);
    }
}

fn tenant_of(message: &BorrowedMessage<'_>, config: &LoaderConfig) -> Option<String> {
    message
        .headers()
        .and_then(|headers| {
            headers
                .iter()
                .find(|h| h.key == TENANT_RECORD_HEADER)
                .and_then(|h| h.value)
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_owned)
        })
        .or_else(|| config.default_tenant.clone())
}

/// Inserts one batch (retrying until ClickHouse takes it) and commits its
/// end. Returns false, with the partition rewound to the batch's start, if
/// the batch was not inserted: its intent could not be recorded, or
/// shutdown interrupted the retries. The partition then never moves past an
/// uninserted batch.
async fn flush<B: Batch>(topic: &str, partition: i32, pending: Pending<B>, ctx: &Ctx) -> bool {
    let Ctx {
        consumer,
        clickhouse,
        config,
        shutdown,
        meters,
    } = ctx;
    let Pending {
        first,
        first_ts,
        last,
        fence,
        batch,
        opened,
    } = pending;
    let topic_attr = [opentelemetry::KeyValue::new("topic", topic.to_owned())];
    let token = format!(
        "{}:{topic}:{partition}:{first}@{first_ts}-{last}",
        config.group_id
    );

    if fence.is_none() {
        let metadata = format!("{INTENT_PREFIX}{last}");
        if let Err(error) = commit(consumer, topic, partition, first, metadata).await {
            // Without a durable intent a crash could re-batch differently.
            tracing::warn!(%topic, partition, %error, "cannot record batch intent, reading the batch again");
            rewind(ctx, topic, partition, first);
            return false;
        }
    }

    let mut delay = Duration::from_millis(config.retry_initial_ms);
    let insert_timeout = Duration::from_millis(config.insert_timeout_ms);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let started = Instant::now();
        // An abandoned attempt is harmless: if it did land, the retry
        // carries the same token and is dropped.
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(insert_timeout, batch.insert(clickhouse, &token)) => outcome,
            _ = shutdown.signalled(), if attempt > 1 => {
                tracing::warn!(%topic, partition, first, last, "stopping with an uninserted batch; it will be read again");
                rewind(ctx, topic, partition, first);
                return false;
            }
        };
        let error = match outcome {
            Ok(Ok(())) => {
                meters.rows.add(batch.rows() as u64, &topic_attr);
                tracing::debug!(%topic, partition, first, last, rows = batch.rows(), elapsed = ?started.elapsed(), "batch inserted");
                break;
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {insert_timeout:?}"),
        };
        meters.insert_failures.add(1, &topic_attr);
        tracing::warn!(%topic, partition, first, last, attempt, retry_in = ?delay, %error, "clickhouse insert failed, retrying the same batch");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.signalled() => {
                tracing::warn!(%topic, partition, first, last, "stopping with an uninserted batch; it will be read again");
                rewind(ctx, topic, partition, first);
                return false;
            }
        }
        delay = (delay * 2).min(Duration::from_millis(config.retry_max_ms));
    }

    if let Err(error) = commit(consumer, topic, partition, last + 1, String::new()).await {
        // The rows are stored; whoever re-reads the range re-inserts it with
        // the same token, which ClickHouse drops.
        tracing::warn!(%topic, partition, %error, "cannot commit offset after insert");
    }
    meters
        .batch_seconds
        .record(opened.elapsed().as_secs_f64(), &topic_attr);
    true
}

/// Moves the partition's fetch position back to `offset`; messages already
/// fetched past it are discarded by librdkafka.
fn rewind(ctx: &Ctx, topic: &str, partition: i32, offset: i64) {
    if let Err(error) = ctx
        .consumer
        .seek(topic, partition, Offset::Offset(offset), Duration::ZERO)
    {
        // The partition was revoked meanwhile (seek needs an assignment);
        // its next owner starts from the committed offset anyway.
        tracing::warn!(%topic, partition, offset, %error, "cannot rewind partition");
    }
}

async fn commit(
    consumer: &Arc<StreamConsumer<LoaderContext>>,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: String,
) -> Result<(), KafkaError> {
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    if let Some(mut elem) = list.find_partition(topic, partition) {
        elem.set_metadata(metadata);
    }
    let consumer = consumer.clone();
    // A synchronous commit blocks its thread until the broker answers.
    tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
        .await
        .unwrap_or_else(|join| {
            Err(KafkaError::Canceled).inspect_err(|_| tracing::error!(%join, "commit task failed"))
        })
}

/// The end offset an earlier attempt recorded for the batch starting at
/// `offset`: `Ok(None)` when there is none (the committed offset is not
/// `offset`, or carries no intent), an error when Kafka could not say.
async fn read_intent(
    consumer: &Arc<StreamConsumer<LoaderContext>>,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Option<i64>, KafkaError> {
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    let consumer = consumer.clone();
    let committed = tokio::task::spawn_blocking(move || {
        consumer.committed_offsets(list, Duration::from_secs(10))
    })
    .await
    .map_err(|_| KafkaError::Canceled)??;
    let Some(elem) = committed.find_partition(topic, partition) else {
        return Ok(None);
    };
    if elem.offset() != Offset::Offset(offset) {
        return Ok(None);
    }
    let Some(end) = elem
        .metadata()
        .strip_prefix(INTENT_PREFIX)
        .and_then(|end| end.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    Ok((end >= offset).then(|| {
        tracing::info!(%topic, partition, start = offset, end, "resuming an interrupted batch");
        end
    }))
}
