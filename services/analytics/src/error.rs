//! The analytics service's errors and the gRPC status each one becomes.

use airis_proto::tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or unusable credentials, or credentials without the rights
    /// the RPC needs.
    #[error(transparent)]
    Auth(#[from] airis_runtime::auth::AuthError),
    /// A malformed request field; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// A configured limit was exceeded; the message names the limit.
    #[error("{0}")]
    LimitExceeded(String),
    #[error("clickhouse query failed: {0}")]
    Store(#[from] clickhouse::error::Error),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Auth(error) => error.into(),
            Error::InvalidArgument(message) => Status::invalid_argument(message),
            Error::NotFound(message) => Status::not_found(message),
            Error::LimitExceeded(message) => Status::resource_exhausted(message),
            Error::Store(error) => store_status(&error),
        }
    }
}

/// ClickHouse exception codes that mean a query limit was hit.
const TIMEOUT_EXCEEDED: u32 = 159;
const TOO_MANY_ROWS: u32 = 158;
const TOO_MANY_BYTES: u32 = 307;
const TOO_MANY_ROWS_OR_BYTES: u32 = 396;
const SET_SIZE_LIMIT_EXCEEDED: u32 = 191;

/// What a failed query means for the caller. Query text and server
/// details stay in the log: they are not the caller's business.
fn store_status(error: &clickhouse::error::Error) -> Status {
    use clickhouse::error::Error as E;
    match error {
        E::Network(_) | E::TimedOut => {
            tracing::warn!(%error, "clickhouse unreachable");
            Status::unavailable("telemetry store is unavailable, retry later")
        }
        E::BadResponse(text) => match exception_code(text) {
            Some(TIMEOUT_EXCEEDED) => Status::resource_exhausted(
                "query took longer than analytics.limits.max_query_time_ms; narrow the time range or filters",
            ),
            Some(SET_SIZE_LIMIT_EXCEEDED) => Status::resource_exhausted(
                "the filter.parent_service_name subquery would hold more spans than \
                 analytics.limits.max_rows_in_set; narrow the time range",
            ),
            Some(TOO_MANY_ROWS | TOO_MANY_BYTES | TOO_MANY_ROWS_OR_BYTES) => {
                Status::resource_exhausted(
                    "query would read more than analytics.limits.max_rows_to_read; narrow the time range or filters",
                )
            }
            _ => {
                tracing::error!(%error, "clickhouse query failed");
                Status::internal("query failed")
            }
        },
        _ => {
            tracing::error!(%error, "clickhouse query failed");
            Status::internal("query failed")
        }
    }
}

/// `Code: 159. DB::Exception: ...` → 159.
fn exception_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::tonic::Code;

    #[test]
    fn limit_errors_are_resource_exhausted() {
        let e = clickhouse::error::Error::BadResponse(
            "Code: 159. DB::Exception: Timeout exceeded: elapsed 10.1 seconds".into(),
        );
        let status = Status::from(Error::Store(e));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("max_query_time_ms"));
        assert_eq!(exception_code("Code: 396. DB::Exception"), Some(396));
        assert_eq!(exception_code("no code here"), None);
    }

    #[test]
    fn other_store_errors_hide_details() {
        let e = clickhouse::error::Error::BadResponse(
            "Code: 62. DB::Exception: Syntax error near SELECT secret".into(),
        );
        let status = Status::from(Error::Store(e));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
