//! AIRIS-MON ingestion.
//!
//! Two roles, run together or apart:
//! - the **receiver** ([`receiver`]) serves OTLP/gRPC, authenticates the
//!   tenant (`airis_runtime::tenant`), validates ([`validate`]) and produces each request to
//!   Kafka ([`producer`]), answering only after Kafka acknowledged it;
//! - the **loader** ([`loader`]) consumes the topics, flattens OTLP into rows
//!   ([`rows`]) of the ClickHouse schema ([`airis_store::schema`]) and inserts
//!   them in batches, committing offsets only after ClickHouse accepted a
//!   batch.

mod error;
pub mod loader;
pub mod producer;
pub mod receiver;
pub mod rows;
pub mod validate;

use std::time::Duration;

use airis_runtime::{
    Shutdown,
    grpc::{self, ServerConfig, Services},
    kafka::KafkaConfig,
    listen::Listener,
};

pub use error::Error;
use receiver::{Logs, Metrics, OtlpServer, Receiver, ReceiverConfig, Traces};

/// Configuration of the ingestion service (`[ingestion]`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestionConfig {
    pub receiver: ReceiverConfig,
    pub producer: producer::ProducerConfig,
    pub loader: loader::LoaderConfig,
    /// The tables' cluster and retention, applied by `airis migrate`.
    pub schema: airis_store::schema::SchemaConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Auth(#[from] airis_runtime::auth::AuthConfigError),
    #[error("cannot create kafka producer: {0}")]
    Producer(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Serve(#[from] grpc::ServeError),
}

/// Runs the receiver on `listener` until `shutdown`, then drains: health
/// goes NOT_SERVING, in-flight exports finish, and the producer is flushed.
pub async fn run_receiver(
    listener: impl Into<Listener>,
    config: &IngestionConfig,
    auth: &airis_runtime::auth::AuthConfig,
    kafka: &KafkaConfig,
    server: &ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let auth = airis_runtime::auth::Authenticator::new(auth)?;
    let producer = producer::Producer::new(kafka, &config.producer)?;
    let receiver = Receiver::new(
        auth,
        producer.clone(),
        kafka.topics.clone(),
        config.receiver.clone(),
    );
    let mut services = Services::new();
    services
        .add(OtlpServer::<Traces>::new(receiver.clone()))
        .add(OtlpServer::<Logs>::new(receiver.clone()))
        .add(OtlpServer::<Metrics>::new(receiver));
    let served = grpc::serve(listener, services, server, shutdown).await;
    // Every acknowledged request was already delivered; this only waits for
    // messages of requests that were cancelled mid-flight.
    let timeout = Duration::from_millis(config.producer.delivery_timeout_ms);
    if let Err(error) = tokio::task::spawn_blocking(move || producer.flush(timeout))
        .await
        .unwrap_or(Ok(()))
    {
        tracing::warn!(%error, "producer flush incomplete at shutdown");
    }
    served?;
    Ok(())
}
