//! Where a client connects: `http://host:port`, or `unix:<path>` for a Unix
//! socket, the address form [`crate::listen`] serves on. Locally a
//! service's calls to another service leave through its sidecar's
//! outbound socket (mesh/outbound.yaml), in a directory only its user can
//! enter; in Kubernetes they go to the other service's name and the pod's
//! istio-proxy takes them.
//!
//! The channel connects lazily: a service starts while the one it calls
//! is still starting, and a call made before that one answers fails with
//! UNAVAILABLE rather than stopping the caller.

use airis_proto::tonic::transport::{Channel, Endpoint, Uri};

#[derive(Debug, thiserror::Error)]
#[error("{field}: {address:?} is not http://host:port or unix:<path> ({why})")]
pub struct ConnectError {
    field: String,
    address: String,
    why: String,
}

/// A lazily connecting channel to `address`; `field` names the setting it
/// came from, for the error.
pub fn channel(field: &str, address: &str) -> Result<Channel, ConnectError> {
    let error = |why: String| ConnectError {
        field: field.to_owned(),
        address: address.to_owned(),
        why,
    };
    if let Some(path) = address.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(error("no path".into()));
        }
        let path = std::path::PathBuf::from(path);
        // The URI is a placeholder: the connector ignores it.
        let endpoint = Endpoint::from_static("http://localhost");
        return Ok(
            endpoint.connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            })),
        );
    }
    if !address.starts_with("http://") {
        return Err(error("no http:// or unix: prefix".into()));
    }
    let endpoint = Endpoint::from_shared(address.to_owned()).map_err(|e| error(e.to_string()))?;
    Ok(endpoint.connect_lazy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_are_checked_and_named() {
        assert!(channel("search.query_endpoint", "http://127.0.0.1:4320").is_ok());
        assert!(channel("search.query_endpoint", "unix:/run/airis/out.sock").is_ok());
        for bad in ["127.0.0.1:4320", "unix:", "https://x:1", "http://a b"] {
            let err = channel("search.query_endpoint", bad)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("search.query_endpoint: "), "{bad}: {err}");
        }
    }
}
