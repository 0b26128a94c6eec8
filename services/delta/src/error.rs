//! The delta service's errors and the gRPC status each one becomes.

use airis_proto::tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or unusable credentials.
    #[error(transparent)]
    Auth(#[from] airis_runtime::auth::AuthError),
    /// A malformed request field; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    /// A configured limit was exceeded; the message names it.
    #[error("{0}")]
    LimitExceeded(String),
    /// Reading the cohorts (time range, filters, ClickHouse): the query
    /// service's errors and statuses, which it shares.
    #[error(transparent)]
    Query(#[from] airis_analytics::Error),
    /// A comparison failed where it should not have; details stay in the
    /// log.
    #[error("{0}")]
    Internal(String),
}

impl From<clickhouse::error::Error> for Error {
    fn from(error: clickhouse::error::Error) -> Self {
        Self::Query(error.into())
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Auth(error) => error.into(),
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::LimitExceeded(message) => Status::resource_exhausted(message),
            Error::Query(error) => error.into(),
            Error::Internal(message) => {
                tracing::error!(%message, "comparison failed");
                Status::internal("the comparison failed; see the service's log")
            }
        }
    }
}
