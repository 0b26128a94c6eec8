//! The gateway's errors and the gRPC status each one becomes.

use airis_proto::tonic::Status;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Why stays in the log; callers learn only that they are refused.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// A malformed request field; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// Redis did not answer: revocation state unknown, so nothing is issued
    /// or accepted.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated(why) => {
                tracing::debug!(%why, "request refused");
                Status::unauthenticated("invalid or missing credentials")
            }
            Error::PermissionDenied(message) => Status::permission_denied(message),
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::NotFound(message) => Status::not_found(message),
            Error::Store(error) => {
                tracing::warn!(%error, "token store unavailable");
                Status::unavailable("token store unavailable")
            }
            Error::Internal(error) => {
                tracing::error!(%error, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
