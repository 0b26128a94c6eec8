//! The whole local platform (`scripts/up.sh`: release build,
//! infrastructure, every service behind the mesh, demo traffic) for tests
//! that use it as a person would: the docs' commands, the UI in a browser.
//!
//! It runs in its own process group under `flock /tmp/airis-platform.lock`
//! (its ports are fixed, so one at a time), is ready once the demo's spans,
//! logs and metrics are queryable, and is stopped at the end, leaving the
//! shared infrastructure running. If the test process dies with it up, the
//! lock holder stops it.

#![allow(clippy::print_stderr)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use airis_store::tables::{LOGS, METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, TRACES};
use anyhow::{Context as _, bail, ensure};

use crate::{clickhouse_url, repo_root, unique};

/// Longest `scripts/up.sh` may take to serve data, release build included.
const READY_TIMEOUT: Duration = Duration::from_secs(3600);
/// Taken while the platform is up: one local platform at a time.
const PLATFORM_LOCK: &str = "/tmp/airis-platform.lock";
/// The fixed ports of `scripts/up.sh`: ingress API, OTLP and admin, the
/// sidecars and their admins.
const PLATFORM_PORTS: [u16; 17] = [
    8080, 4317, 9901, 15317, 15320, 15321, 15330, 15350, 15360, 15370, 15001, 15002, 15003, 15004,
    15005, 15006, 15007,
];
/// The tenant of `scripts/up.sh`'s demo traffic.
pub const DEMO_TENANT: &str = "demo";
/// Where the platform's ingress serves the API and the UI.
pub const INGRESS_URL: &str = "http://127.0.0.1:8080";

/// A running `scripts/up.sh`, stopped when dropped.
pub struct LocalPlatform {
    platform: Platform,
    lock: Option<PlatformLock>,
}

impl LocalPlatform {
    /// Waits for the lock, starts `scripts/up.sh` with `env` added to its
    /// environment (e.g. `AIRIS_GATEWAY__ACCESS_TTL_SECS`), and waits
    /// until its demo data is queryable. `label` prefixes what it prints.
    pub fn up(label: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut lock = PlatformLock::take(label)?;
        let since_ns = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let mut platform = Platform::start(&repo_root(), label, env)?;
        lock.watch(platform.child.id())?;
        platform.wait_ready(since_ns)?;
        Ok(Self {
            platform,
            lock: Some(lock),
        })
    }

    /// The log of `scripts/up.sh`.
    pub fn log(&self) -> &Path {
        &self.platform.log
    }

    /// Stops the platform and releases the lock.
    pub fn stop(&mut self) {
        self.platform.stop();
        if let Some(lock) = self.lock.take() {
            lock.release();
        }
    }
}

impl Drop for LocalPlatform {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `limit` bytes of `text`, from a line start.
pub fn tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let start = text[start..].find('\n').map_or(start, |i| start + i + 1);
    format!("[… {start} bytes cut]\n{}", &text[start..])
}

/// What a failed start's log says: its lines that report an error (a
/// compiler's or a build script's message may be far from the end, under
/// pages of build output), then its tail.
pub fn excerpt(log: &str) -> String {
    const ERROR_LINES: usize = 30;
    const LINE_LIMIT: usize = 300;
    let errors: Vec<&str> = log
        .lines()
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            ["error:", "error[", "no space left", "(signal:", "killed"]
                .iter()
                .any(|needle| lower.contains(needle))
        })
        .collect();
    let mut out = String::new();
    if !errors.is_empty() {
        out.push_str("lines with errors:\n");
        let skipped = errors.len().saturating_sub(ERROR_LINES);
        if skipped > 0 {
            out.push_str(&format!("[… {skipped} earlier lines]\n"));
        }
        for line in &errors[skipped..] {
            let mut end = line.len().min(LINE_LIMIT);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&line[..end]);
            out.push('\n');
        }
        out.push_str("the log's end:\n");
    }
    out.push_str(&tail(log, 3000));
    out
}

/// `kill -<sig> -- -<pgid>` (no libc binding in this crate: unsafe is
/// forbidden); a group that is gone is fine.
pub fn signal_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), "--".to_owned(), format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

fn group_alive(pgid: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `flock` on [`PLATFORM_LOCK`], held by a `flock` process that also
/// watches this one: if this process dies with the platform up (ctrl-c,
/// a kill), its stdin closes and it stops the platform's process group
/// before the lock goes.
struct PlatformLock {
    holder: Child,
}

/// Run by the lock holder: waits for the platform's process group id, then
/// for "stopped" (the test stopped it) or end of input (the test died).
const WATCHDOG: &str = r#"echo locked
read -r pgid || exit 0
read -r done || true
[ "$done" != stopped ] || exit 0
kill -TERM -- "-$pgid" 2>/dev/null || exit 0
for _ in $(seq 60); do kill -0 -- "-$pgid" 2>/dev/null || exit 0; sleep 1; done
kill -KILL -- "-$pgid" 2>/dev/null || true
"#;

impl PlatformLock {
    fn take(label: &str) -> anyhow::Result<Self> {
        eprintln!("{label}: taking {PLATFORM_LOCK} (waits while another local platform is up)");
        let mut holder = Command::new("flock")
            .args(["-o", PLATFORM_LOCK, "bash", "-c", WATCHDOG])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("run flock")?;
        let mut line = String::new();
        BufReader::new(holder.stdout.take().context("flock stdout")?).read_line(&mut line)?;
        ensure!(line.trim() == "locked", "flock {PLATFORM_LOCK} failed");
        Ok(Self { holder })
    }

    /// From now on a death of this process stops process group `pgid`.
    fn watch(&mut self, pgid: u32) -> anyhow::Result<()> {
        let stdin = self.holder.stdin.as_mut().context("flock stdin")?;
        writeln!(stdin, "{pgid}")?;
        stdin.flush()?;
        Ok(())
    }

    /// The platform is stopped: the lock goes.
    fn release(mut self) {
        if let Some(mut stdin) = self.holder.stdin.take() {
            let _ = writeln!(stdin, "stopped");
        }
    }
}

impl Drop for PlatformLock {
    fn drop(&mut self) {
        drop(self.holder.stdin.take());
        let _ = self.holder.wait();
    }
}

/// `scripts/up.sh` in its own process group.
struct Platform {
    child: Child,
    log: PathBuf,
    label: String,
    stopped: bool,
}

impl Platform {
    fn start(root: &Path, label: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        for port in PLATFORM_PORTS {
            ensure!(
                std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
                "127.0.0.1:{port} is taken: a local platform (scripts/up.sh) or something else \
                 runs there; stop it first"
            );
        }
        let log =
            std::env::temp_dir().join(format!("{}.log", unique(&format!("airis-{label}-up"))));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(root.join("scripts/up.sh"))
            .current_dir(root)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .context("start scripts/up.sh")?;
        eprintln!(
            "{label}: scripts/up.sh started (pid {}, log {})",
            child.id(),
            log.display()
        );
        Ok(Self {
            child,
            log,
            label: label.to_owned(),
            stopped: false,
        })
    }

    fn log_tail(&self) -> String {
        excerpt(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Until demo spans, logs and metric points of every kind sent after
    /// `since_ns` are in ClickHouse: the blocks query all of them, and each
    /// signal reaches its table through its own topic and batch.
    fn wait_ready(&mut self, since_ns: u128) -> anyhow::Result<()> {
        let started = Instant::now();
        let signals = [
            (TRACES, "Timestamp"),
            (LOGS, "Timestamp"),
            (METRICS_SUM, "TimeUnix"),
            (METRICS_GAUGE, "TimeUnix"),
            (METRICS_HISTOGRAM, "TimeUnix"),
        ];
        // 1 once every table has a row of the demo tenant since `since_ns`.
        let query = signals
            .iter()
            .map(|(table, time)| {
                format!(
                    "(SELECT count() > 0 FROM airis.{table} WHERE TenantId = '{DEMO_TENANT}' \
                     AND toUnixTimestamp64Nano({time}) >= {since_ns})"
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let query = format!("SELECT {query}");
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "scripts/up.sh exited ({status}) before the platform served data; log {}:\n{}",
                    self.log.display(),
                    self.log_tail()
                );
            }
            ensure!(
                started.elapsed() < READY_TIMEOUT,
                "no demo spans, logs and metrics in ClickHouse {} s after scripts/up.sh started; log {}:\n{}",
                READY_TIMEOUT.as_secs(),
                self.log.display(),
                self.log_tail()
            );
            let output = Command::new("curl")
                .args(["-fsS", "--max-time", "10", "--data-binary", &query])
                .arg(clickhouse_url())
                .output()
                .context("run curl")?;
            if String::from_utf8_lossy(&output.stdout).trim() == "1" {
                eprintln!(
                    "{}: platform up, demo spans, logs and metrics queryable after {:.0} s",
                    self.label,
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// SIGTERM to the group (scripts/up.sh stops what it started), SIGKILL
    /// to whatever is left after a grace period.
    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pgid = self.child.id();
        signal_group(pgid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() && !group_alive(pgid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        signal_group(pgid, "KILL");
        let _ = self.child.wait();
        eprintln!("{}: platform stopped", self.label);
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpt_puts_errors_far_from_the_end_first() {
        let mut log = String::from("   Compiling thiserror v2.0.0\n");
        log.push_str("gcc: fatal error: writing to rdkafka.o: No space left on device\n");
        for i in 0..500 {
            log.push_str(&format!("gcc -c file{i}.c -o file{i}.o\n"));
        }
        log.push_str("error: failed to run custom build command for `rdkafka-sys`\n");
        let out = excerpt(&log);
        let (errors, end) = out.split_once("the log's end:\n").expect("two parts");
        assert!(errors.contains("No space left on device"), "{errors}");
        assert!(errors.contains("custom build command"), "{errors}");
        assert!(
            !errors.contains("thiserror"),
            "a crate name is not an error: {errors}"
        );
        assert!(end.ends_with("`rdkafka-sys`\n"), "{end}");
        assert!(end.len() < 3100);
    }

    #[test]
    fn excerpt_of_a_log_without_errors_is_its_tail() {
        assert_eq!(excerpt("a\nb\n"), "a\nb\n");
    }
}
