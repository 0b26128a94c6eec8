//! A webhook receiver for notification tests: a real HTTP/1.1 server on
//! a loopback port that keeps every request's path, time and JSON body,
//! and answers 200 (or 500 to the first requests of a path told to fail).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub at: Instant,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Path → how many more requests get a 500.
    failing: HashMap<String, u32>,
}

/// The receiver; it stops when dropped.
pub struct WebhookReceiver {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Err(error) = serve(stream, state).await {
                        tracing::debug!(%error, "webhook connection ended");
                    }
                });
            }
        });
        Ok(Self {
            base_url,
            state,
            task,
        })
    }

    /// The next `n` requests to `path` are answered 500.
    pub fn fail_next(&self, path: &str, n: u32) {
        let mut state = self.state.lock().expect("webhook state");
        state.failing.insert(path.to_owned(), n);
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("webhook state").received.clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Requests on one connection (the client keeps it alive), one at a time.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        );
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().context("content-length")?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let status = {
            let mut state = state.lock().expect("webhook state");
            let fail = match state.failing.get_mut(&path) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            };
            if method == "POST" && !fail {
                state.received.push(Received {
                    path: path.clone(),
                    at: Instant::now(),
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                });
            }
            if fail {
                "500 Internal Server Error"
            } else {
                "200 OK"
            }
        };
        let answer = if status.starts_with("500") {
            "receiver down for a test"
        } else {
            ""
        };
        reader
            .get_mut()
            .write_all(
                format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{answer}",
                    answer.len()
                )
                .as_bytes(),
            )
            .await?;
    }
}

/// A real Alertmanager (`scripts/infra.sh install alertmanager`) whose
/// one route sends every alert on to `webhook_url` at once, as a team's
/// existing routing would; killed when dropped.
pub struct Alertmanager {
    /// Its base address, for a notification policy's `alertmanagers`.
    pub url: String,
    _child: tokio::process::Child,
    dir: std::path::PathBuf,
}

impl Alertmanager {
    pub async fn start(webhook_url: &str) -> anyhow::Result<Self> {
        let binary = crate::cache_dir().join("bin").join("alertmanager");
        anyhow::ensure!(
            binary.exists(),
            "{} not found: run scripts/infra.sh install alertmanager",
            binary.display()
        );
        let port = crate::free_port()?;
        let dir = std::env::temp_dir().join(crate::unique("alertmanager"));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: team\n  group_by: [tenant, alertname]\n  group_wait: 1s\n  \
                 group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: team\n  \
                 webhook_configs:\n  - url: {webhook_url}\n    send_resolved: true\n"
            ),
        )?;
        let log = std::fs::File::create(dir.join("alertmanager.log"))?;
        let child = tokio::process::Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // One instance: no gossip port.
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let started = Instant::now();
        loop {
            let ready =
                crate::http_exchange(([127, 0, 0, 1], port).into(), "GET", "/-/ready", &[], b"")
                    .await;
            if matches!(ready, Ok((200, ..))) {
                break;
            }
            if started.elapsed() > std::time::Duration::from_secs(30) {
                let log = std::fs::read_to_string(dir.join("alertmanager.log")).unwrap_or_default();
                anyhow::bail!("alertmanager not ready after 30 s: {log}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
            dir,
        })
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
