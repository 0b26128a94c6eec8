//! The gateway's errors and the gRPC status each one becomes.

use airis_proto::tonic::Status;

use crate::token_store::TokenStoreError;

/// What a refused caller is told, over gRPC and at the edge.
pub(crate) const UNAUTHENTICATED: &str = "invalid or missing credentials";
pub(crate) const REVOKED: &str = "token revoked";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Why stays in the log; callers learn only that they are refused.
    #[error("{0}")]
    Unauthenticated(String),
    /// A genuine token its tenant's admin revoked. Said plainly: whoever
    /// holds it learns nothing new, and the fix is a new token, not a retry.
    #[error("{REVOKED}")]
    Revoked,
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
    TokenStore(#[from] TokenStoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated(why) => {
                tracing::debug!(%why, "request refused");
                Status::unauthenticated(UNAUTHENTICATED)
            }
            Error::Revoked => Status::unauthenticated(REVOKED),
            Error::PermissionDenied(message) => Status::permission_denied(message),
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::NotFound(message) => Status::not_found(message),
            Error::TokenStore(error) => {
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
