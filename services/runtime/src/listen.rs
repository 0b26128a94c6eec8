//! Where a server listens: a TCP address (`127.0.0.1:4320`) or, with
//! `unix:<path>`, a Unix socket. The local mesh puts each service on a
//! socket in a directory only its user can enter, so from this machine too
//! the service is reached through its sidecar and not by any process that
//! can open a loopback port.

use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, UnixListener};

/// A bound listener of either kind.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    /// The socket file is removed when the listener is dropped.
    Unix(UnixListener, SocketFile),
}

/// A Unix socket's path, unlinked on drop.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Listener {
    /// Binds `address`: `unix:<path>` or a TCP `host:port`. A socket file
    /// left by an earlier run is replaced.
    pub async fn bind(address: &str) -> std::io::Result<Self> {
        match address.strip_prefix("unix:") {
            Some(path) => {
                let path = Path::new(path);
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                let listener = UnixListener::bind(path)?;
                Ok(Self::Unix(listener, SocketFile(path.to_owned())))
            }
            None => Ok(Self::Tcp(TcpListener::bind(address).await?)),
        }
    }

    /// The bound address, for logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| format!("tcp (unknown: {e})"), |a| a.to_string()),
            Self::Unix(_, file) => format!("unix:{}", file.0.display()),
        }
    }
}

/// Serves `router` over HTTP/1.1 on `listener` until `shutdown`: the HTTP
/// side of the services that have one (the gateway's JWKS, token check and
/// UI; the delta service's rollout endpoints).
pub async fn serve_http(
    listener: Listener,
    router: axum::Router,
    shutdown: crate::Shutdown,
) -> std::io::Result<()> {
    let stop = async move { shutdown.signalled().await };
    match listener {
        Listener::Tcp(l) => axum::serve(l, router).with_graceful_shutdown(stop).await,
        Listener::Unix(l, _file) => axum::serve(l, router).with_graceful_shutdown(stop).await,
    }
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Self::Tcp(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unix_sockets_replace_stale_files_and_clean_up() {
        let dir = std::env::temp_dir().join(format!("airis-listen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("svc.sock");
        std::fs::write(&path, b"stale").unwrap();
        let address = format!("unix:{}", path.display());
        let listener = Listener::bind(&address).await.unwrap();
        assert_eq!(listener.describe(), address);
        tokio::net::UnixStream::connect(&path).await.unwrap();
        drop(listener);
        assert!(!path.exists());
        let tcp = Listener::bind("127.0.0.1:0").await.unwrap();
        assert!(tcp.describe().starts_with("127.0.0.1:"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
