//! The aiops service's errors and the gRPC status each one becomes.

use airis_proto::tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or unusable credentials.
    #[error(transparent)]
    Auth(#[from] airis_runtime::auth::AuthError),
    /// A malformed request field; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    /// A documented limit was exceeded; the message names it.
    #[error("{0}")]
    LimitExceeded(String),
    /// The caller's view is out of date (a rule changed since it was
    /// read); the message says what to do.
    #[error("{0}")]
    Aborted(String),
    /// A stored-data query (time range, paging, ClickHouse): the query
    /// service's errors and statuses, which it shares.
    #[error(transparent)]
    Query(#[from] airis_analytics::Error),
    /// A model failed where it should not have; details stay in the log.
    #[error("{0}")]
    Internal(String),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Auth(error) => error.into(),
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::LimitExceeded(message) => Status::resource_exhausted(message),
            Error::Aborted(message) => Status::aborted(message),
            Error::Query(error) => error.into(),
            Error::Internal(message) => {
                tracing::error!(%message, "aiops model failed");
                Status::internal("the model failed on this input; see the service's log")
            }
        }
    }
}
