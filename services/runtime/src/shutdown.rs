//! One shutdown signal shared by every task of a process.
//!
//! [`Shutdown`] is cheap to clone; [`Shutdown::signalled`] resolves once
//! [`Shutdown::trigger`] was called, by [`Shutdown::on_signals`] for SIGTERM
//! or ctrl-c in `main`, or directly by a test.

use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self {
            tx: std::sync::Arc::new(tx),
            rx,
        }
    }

    /// Returns a shutdown that triggers on SIGTERM or ctrl-c.
    pub fn on_signals() -> Self {
        let shutdown = Self::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            trigger.trigger();
        });
        shutdown
    }

    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_signalled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been triggered (at once if it already was).
    pub async fn signalled(&self) {
        let mut rx = self.rx.clone();
        // The sender lives as long as any clone of self, so wait_for only
        // fails if every handle is gone, and then nobody can trigger anyway.
        let _ = rx.wait_for(|v| *v).await;
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for sigterm, only ctrl-c will stop the process");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_see_the_trigger() {
        let a = Shutdown::new();
        let b = a.clone();
        assert!(!b.is_signalled());
        let waiter = tokio::spawn(async move { b.signalled().await });
        a.trigger();
        waiter.await.unwrap();
        assert!(a.is_signalled());
        // Already triggered: resolves immediately.
        a.signalled().await;
    }
}
