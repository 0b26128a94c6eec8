//! The receiver's Kafka producer: idempotent, `acks=all`, and a request is
//! acknowledged to the exporter only after Kafka acknowledged its message.

use std::time::Duration;

use airis_runtime::kafka::{KafkaConfig, TENANT_RECORD_HEADER};
use rdkafka::{
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord, Producer as _},
    util::Timeout,
};

use airis_runtime::tenant::Tenant;

use crate::Error;

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerConfig {
    /// How long a message may wait for Kafka before the request fails with
    /// UNAVAILABLE (librdkafka `message.timeout.ms`). Keep it below the
    /// exporters' own timeout (10 s for OpenTelemetry SDKs).
    pub delivery_timeout_ms: u64,
    /// librdkafka `linger.ms`: small batches trade latency for throughput.
    pub linger_ms: u64,
    /// Largest message the producer will send (`message.max.bytes`); the
    /// brokers' `message.max.bytes` must be at least this.
    pub max_message_bytes: usize,
    /// Memory the producer may buffer before requests wait
    /// (`queue.buffering.max.kbytes`).
    pub buffer_kbytes: usize,
    pub compression: String,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            delivery_timeout_ms: 5_000,
            linger_ms: 5,
            max_message_bytes: 16 * 1024 * 1024,
            buffer_kbytes: 256 * 1024,
            compression: "lz4".to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    queue_timeout: Duration,
    /// The whole time a request may wait for Kafka.
    budget: Duration,
}

impl Producer {
    pub fn new(kafka: &KafkaConfig, config: &ProducerConfig) -> Result<Self, KafkaError> {
        // The whole budget covers waiting for room in the local queue and
        // then for the broker's acknowledgement, so a request never outlives
        // delivery_timeout_ms (and the exporter's own deadline).
        let queue_timeout = config.delivery_timeout_ms / 5;
        let message_timeout = config.delivery_timeout_ms - queue_timeout;
        let mut client = kafka.client_config();
        client
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", message_timeout.max(1).to_string())
            // A produce request in flight to a broker that stopped answering
            // is not covered by message.timeout.ms; bound it as well.
            .set("request.timeout.ms", message_timeout.max(1).to_string())
            .set("linger.ms", config.linger_ms.to_string())
            .set("compression.type", &config.compression)
            .set("message.max.bytes", config.max_message_bytes.to_string())
            .set(
                "queue.buffering.max.kbytes",
                config.buffer_kbytes.to_string(),
            );
        let inner: FutureProducer = kafka.finish(client).create()?;
        Ok(Self {
            inner,
            queue_timeout: Duration::from_millis(queue_timeout),
            budget: Duration::from_millis(config.delivery_timeout_ms),
        })
    }

    /// Produces one OTLP export request and waits for Kafka's acknowledgement.
    pub async fn send(&self, topic: &str, tenant: &Tenant, payload: &[u8]) -> Result<(), Error> {
        let headers = OwnedHeaders::new_with_capacity(1).insert(Header {
            key: TENANT_RECORD_HEADER,
            value: Some(tenant.as_str()),
        });
        let record = FutureRecord::<(), [u8]>::to(topic)
            .payload(payload)
            .headers(headers);
        // librdkafka reports most failures within the budget; this bound
        // keeps the promise to the exporter whatever its internals do (an
        // answer past the budget would outlive the exporter's deadline).
        match tokio::time::timeout(
            self.budget,
            self.inner.send(record, Timeout::After(self.queue_timeout)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _message))) => Err(Error::Kafka(error)),
            Err(_) => Err(Error::Kafka(KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageTimedOut,
            ))),
        }
    }

    /// Waits for every queued message to be delivered, for shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.inner.flush(Timeout::After(timeout))
    }
}
