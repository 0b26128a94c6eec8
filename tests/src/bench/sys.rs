//! Processes and what /proc says about them: CPU seconds, peak RSS, the
//! infrastructure's pids, and `airis` child processes.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{Settings, unique};
use anyhow::{Context as _, bail};

/// Clock ticks per second of /proc/<pid>/stat times.
fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// User + system CPU seconds of a process (all its threads), or `None`
/// if it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields restart after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clk_tck())
}

/// A `Vm*` line of /proc/<pid>/status in MiB (`VmHWM` = peak RSS).
pub fn vm_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Busy and total jiffies of the whole machine (/proc/stat).
#[derive(Clone, Copy)]
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let values: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let total: u64 = values.iter().take(8).sum();
        let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
        Self {
            busy: total - idle,
            total,
        }
    }

    /// Share of the machine's CPU time that was busy since `earlier`, 0..1.
    pub fn busy_since(&self, earlier: &Self) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Where `scripts/infra.sh` keeps pid files.
fn state_dir() -> PathBuf {
    std::env::var_os("AIRIS_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::cache_dir().join("state"))
}

/// The pid of an infrastructure component (`kafka`, `clickhouse`) of the
/// instance in `$AIRIS_STATE`, if it runs and is the one on our port.
pub fn infra_pid(component: &str, port: Option<u16>) -> Option<u32> {
    let text = std::fs::read_to_string(state_dir().join(format!("{component}.pid"))).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    if let Some(port) = port
        && component == "clickhouse"
        && !cmdline.contains(&format!("--port {port}"))
        && !cmdline.contains("clickhouse server")
    {
        eprintln!(
            "bench: {component} pid {pid} does not serve port {port}; its CPU is not reported"
        );
        return None;
    }
    Some(pid)
}

/// The port of a `host:port` or `http://host:port` address.
pub fn port_of(address: &str) -> Option<u16> {
    address
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
}

/// The `airis` release binary next to this bench (target/release/airis).
pub fn airis_binary() -> anyhow::Result<PathBuf> {
    crate::airis_binary()
        .context("build it with `cargo build --release -p airis` (scripts/bench.sh does)")
}

/// Configuration overrides for every `airis` child: `AIRIS_<SECTION>__<KEY>`
/// variables of the bench's own environment, then `--set` values.
pub fn overrides() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AIRIS_") && k.contains("__"))
        .collect();
    vars.extend(SETS.get().cloned().unwrap_or_default());
    vars
}

/// `--set NAME=VALUE` options.
pub static SETS: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// An `airis` child process, killed if dropped without [`Airis::stop`].
pub struct Airis {
    child: tokio::process::Child,
    pub pid: u32,
    pub log: PathBuf,
}

impl Airis {
    /// `airis serve <role>` configured like `settings` plus `extra` env vars.
    pub fn spawn(
        settings: &Settings,
        role: &str,
        extra: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let log =
            std::env::temp_dir().join(format!("{}.log", unique(&format!("airis-bench-{role}"))));
        let file = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(airis_binary()?)
            .args(["serve", role])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(settings.env())
            .envs(extra.iter().cloned())
            .envs(overrides())
            .env("AIRIS_SERVER__DRAIN_DELAY_MS", "100")
            .env("RUST_LOG", "info")
            .envs(std::env::var_os("AIRIS_BENCH_LD_PRELOAD").map(|lib| ("LD_PRELOAD", lib)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().context("child has no pid")?;
        Ok(Self { child, pid, log })
    }

    pub fn cpu(&self) -> f64 {
        cpu_seconds(self.pid).unwrap_or(f64::NAN)
    }

    /// Fails with the log's tail if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            bail!(
                "airis exited ({status}); log {}:\n{}",
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not exited within 20 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        signal(self.pid, "TERM");
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                eprintln!("bench: airis pid {} ignored SIGTERM; killing it", self.pid);
                self.child.kill().await?;
            }
        }
        let _ = std::fs::remove_file(&self.log);
        Ok(())
    }
}

/// `kill -<sig> <pid>` (no libc binding in this crate: unsafe is forbidden).
pub fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status();
}

/// `perf record` of one process while a measurement runs, when the bench
/// was given `--perf DIR`.
pub struct Perf {
    child: Option<std::process::Child>,
}

impl Perf {
    pub fn start(dir: Option<&PathBuf>, name: &str, pid: u32) -> Self {
        let Some(dir) = dir else {
            return Self { child: None };
        };
        let _ = std::fs::create_dir_all(dir);
        let out = dir.join(format!("{name}.perf.data"));
        let child = std::process::Command::new("perf")
            .args(["record", "-q", "-F", "499", "-g", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(child) => {
                eprintln!(
                    "bench: perf recording {name} (pid {pid}) to {}",
                    out.display()
                );
                Self { child: Some(child) }
            }
            Err(error) => {
                eprintln!("bench: cannot run perf: {error}");
                Self { child: None }
            }
        }
    }

    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "INT");
            let _ = child.wait();
        }
    }
}
