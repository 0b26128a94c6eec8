//! The ingestion service's errors and the gRPC status each one becomes.
//!
//! The status code decides what clients and the mesh do next: UNAVAILABLE
//! is retried (Kafka is down or slow), INVALID_ARGUMENT and
//! RESOURCE_EXHAUSTED are not (the same request would fail again), and
//! UNAUTHENTICATED asks for credentials.

use airis_proto::tonic::Status;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or unusable credentials, or credentials without the rights
    /// the RPC needs.
    #[error(transparent)]
    Auth(#[from] airis_runtime::auth::AuthError),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("kafka did not acknowledge the request: {0}")]
    Kafka(#[from] KafkaError),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Auth(error) => error.into(),
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::Kafka(error) => kafka_status(&error),
        }
    }
}

/// What a failed produce means for the caller. Details stay in the log.
fn kafka_status(error: &KafkaError) -> Status {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize) => {
            Status::resource_exhausted("request is larger than the kafka message size limit")
        }
        _ => {
            tracing::warn!(%error, "kafka produce failed");
            Status::unavailable("telemetry store is unavailable, retry later")
        }
    }
}
