//! `scripts/mesh.sh up`, the local platform, run as a user runs it but on
//! ports, a state directory, topics and a database of its own:
//! - a service killed with SIGKILL (the loader, the gateway) is started
//!   again within seconds, its log kept and the restart noted, while the
//!   ingress keeps serving;
//! - `token` hands out the same token while it is fresh, from a file only
//!   its user can read, and fails loudly when no login is possible;
//! - `status` shows the canary weights and fault injection in force,
//!   defaults included, and each upstream's health;
//! - SIGINT (ctrl-c) stops every process it started.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use airis_proto::airis::analytics::v1::{
    ListServicesRequest, query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::tonic::transport::Channel;
use airis_tests::otlp::{authed, now_unix_nano};
use airis_tests::{Settings, airis_binary, cache_dir, repo_root, unique};
use anyhow::{Context as _, bail, ensure};

/// The ports of a block below the kernel's ephemeral range, so no
/// outgoing connection of a parallel test takes one of them meanwhile:
/// the sidecars' admins (base + 1..8), the ingress's three, the sidecars.
fn free_block() -> anyhow::Result<u16> {
    let offsets = [
        1, 2, 3, 4, 5, 6, 7, 8, 101, 102, 103, 317, 320, 321, 330, 350, 360, 370,
    ];
    let first = u16::try_from(std::process::id() % 12)?;
    for i in 0..12 {
        let base = 20_000 + ((first + i) % 12) * 1_000;
        let free = offsets
            .iter()
            .all(|o| std::net::TcpListener::bind(("127.0.0.1", base + o)).is_ok());
        if free {
            return Ok(base);
        }
    }
    bail!("no free block of ports between 20000 and 32000")
}

/// The UI the launcher is given to serve.
const UI_INDEX: &str = "<!doctype html><title>AIRIS-MON launcher test</title>";

/// `scripts/mesh.sh up` in its own process group, stopped when dropped.
struct Platform {
    child: tokio::process::Child,
    env: Vec<(String, String)>,
    state: PathBuf,
    output: PathBuf,
    ingress: u16,
}

impl Platform {
    async fn up(settings: &Settings) -> anyhow::Result<Self> {
        let base = free_block()?;
        let state = std::env::temp_dir().join(unique("airis-mesh-launcher"));
        let output = state.with_extension("out");
        // A stand-in for web/dist, so this test needs no UI build; the
        // browser tests use the real one.
        let ui = state.with_extension("ui");
        std::fs::create_dir_all(&ui)?;
        std::fs::write(ui.join("index.html"), UI_INDEX)?;
        let mut env = settings.env();
        env.extend([
            ("AIRIS_CACHE".into(), cache_dir().display().to_string()),
            ("AIRIS_MESH_STATE".into(), state.display().to_string()),
            (
                "AIRIS_MESH_BINARY".into(),
                airis_binary()?.display().to_string(),
            ),
            ("AIRIS_MESH_UI_DIR".into(), ui.display().to_string()),
            ("AIRIS_MESH_PORT_BASE".into(), base.to_string()),
            ("AIRIS_MESH_INGRESS_PORT".into(), (base + 101).to_string()),
            ("AIRIS_MESH_OTLP_PORT".into(), (base + 102).to_string()),
            ("AIRIS_MESH_ADMIN_PORT".into(), (base + 103).to_string()),
        ]);
        let log = std::fs::File::create(&output)?;
        // As from a terminal, where ctrl-c reaches the platform: a shell
        // that starts with SIGINT ignored (any background job of a script,
        // so a test run started with `&`) can never trap it again.
        let child = tokio::process::Command::new("env")
            .arg("--default-signal=INT")
            .arg(repo_root().join("scripts/mesh.sh"))
            .arg("up")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let mut platform = Self {
            child,
            env,
            state,
            output,
            ingress: base + 101,
        };
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            let out = std::fs::read_to_string(&platform.output).unwrap_or_default();
            if out.contains("AIRIS-MON is up") {
                return Ok(platform);
            }
            if let Some(status) = platform.child.try_wait()? {
                bail!("scripts/mesh.sh up exited ({status}):\n{out}");
            }
            ensure!(
                Instant::now() < deadline,
                "scripts/mesh.sh up not up after 240 s:\n{out}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `scripts/mesh.sh <args>` against this platform: status and output.
    async fn mesh(&self, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
        let out = tokio::process::Command::new(repo_root().join("scripts/mesh.sh"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .await?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// `scripts/mesh.sh <args>`, which must succeed; its standard output.
    async fn mesh_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let (ok, stdout, stderr) = self.mesh(args).await?;
        ensure!(ok, "scripts/mesh.sh {args:?} failed: {stderr}");
        Ok(stdout)
    }

    fn run_dir(&self) -> PathBuf {
        self.state.join("run")
    }

    fn pid(&self, process: &str) -> anyhow::Result<u32> {
        let file = self.run_dir().join(format!("{process}.pid"));
        std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?
            .trim()
            .parse()
            .context("pid file")
    }

    fn log(&self, process: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.state.join("logs").join(format!("{process}.log")),
        )?)
    }

    async fn query(&self) -> anyhow::Result<QueryServiceClient<Channel>> {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", self.ingress))?
            .connect()
            .await?;
        Ok(QueryServiceClient::new(channel))
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // After a failed test: first as ctrl-c would (mesh.sh cleans up),
        // then whatever is left of the group.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_file(&self.output);
        let _ = std::fs::remove_dir_all(self.state.with_extension("ui"));
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
}

fn kill9(pid: u32) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()?;
    ensure!(status.success(), "kill -KILL {pid} failed");
    Ok(())
}

/// Waits until `process` runs under a pid other than `old`.
async fn restarted(platform: &Platform, process: &str, old: u32) -> anyhow::Result<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(pid) = platform.pid(process)
            && pid != old
            && alive(pid)
        {
            return Ok(pid);
        }
        ensure!(
            Instant::now() < deadline,
            "{process} not running again 10 s after kill -9"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The services seen in `[since, now + 1 min)` through the ingress.
async fn services_since(
    platform: &Platform,
    token: &str,
    since: u64,
) -> anyhow::Result<Vec<String>> {
    let request = ListServicesRequest {
        time_range: Some(TimeRange {
            start_unix_nano: since,
            end_unix_nano: now_unix_nano() + 60_000_000_000,
        }),
    };
    Ok(platform
        .query()
        .await?
        .list_services(authed(request, token))
        .await?
        .into_inner()
        .service_names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_rides_out_a_killed_service_and_stops_on_ctrl_c() -> anyhow::Result<()> {
    let settings = Settings::new("mesh_launcher");
    let platform = Platform::up(&settings).await?;

    // token: one login, then the same token again, kept private.
    let token = platform.mesh_ok(&["token"]).await?.trim().to_owned();
    ensure!(token.split('.').count() == 3, "not a JWT: {token:?}");
    assert_eq!(platform.mesh_ok(&["token"]).await?.trim(), token);
    let mode = std::fs::metadata(platform.state.join("token"))?
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");

    // The UI it was given, at / and at any client-side route, through the
    // ingress.
    for path in ["/", "/traces/abc"] {
        let (status, _, body) = airis_tests::http_exchange(
            ([127, 0, 0, 1], platform.ingress).into(),
            "GET",
            path,
            &[],
            &[],
        )
        .await?;
        assert_eq!(
            (status, String::from_utf8_lossy(&body).as_ref()),
            (200, UI_INDEX),
            "GET {path}"
        );
    }

    // status: the defaults of mesh/ingress.yaml, then overrides, plainly.
    let status = platform.mesh_ok(&["status"]).await?;
    for expected in [
        "analytics_v1     weight 90    90.0 % of calls  (default)",
        "analytics_v2     weight 10    10.0 % of calls  (default)",
        "abort            off",
        "delay            off",
    ] {
        assert!(status.contains(expected), "{expected:?} not in:\n{status}");
    }
    for service in ["gateway", "receiver", "analytics-v1", "analytics-v2"] {
        let line = status
            .lines()
            .find(|l| l.trim_start().starts_with(service) && l.contains("sidecar"))
            .with_context(|| format!("no health of {service} in:\n{status}"))?;
        assert!(line.ends_with("SERVING"), "{line}");
    }
    for cluster in ["analytics_v1", "analytics_v2", "gateway_grpc", "receiver"] {
        let line = status
            .lines()
            .find(|l| {
                l.trim_start().starts_with(&format!("{cluster} ")) && l.contains("127.0.0.1:")
            })
            .with_context(|| format!("no upstream {cluster} in:\n{status}"))?;
        assert!(line.contains(" healthy "), "{line}");
    }
    platform.mesh_ok(&["canary", "50"]).await?;
    platform.mesh_ok(&["chaos", "on"]).await?;
    let status = platform.mesh_ok(&["status"]).await?;
    for expected in [
        "analytics_v1     weight 50    50.0 % of calls  (runtime override)",
        "abort            20 % of calls",
        "delay            10 % of calls",
    ] {
        assert!(status.contains(expected), "{expected:?} not in:\n{status}");
    }
    platform.mesh_ok(&["chaos", "off"]).await?;
    platform.mesh_ok(&["canary", "10"]).await?;

    // Data flows end to end before anything is killed.
    let start = now_unix_nano() - 600_000_000_000;
    let deadline = Instant::now() + Duration::from_secs(60);
    while services_since(&platform, &token, start).await?.is_empty() {
        ensure!(Instant::now() < deadline, "no demo data after 60 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The loader dies: queries through the ingress go on, and it is
    // started again, its log kept. (It loads again once Kafka hands it the
    // partitions, after the killed member's session times out: 45 s.)
    let loader = platform.pid("loader")?;
    let first_line = platform.log("loader")?.lines().next().map(str::to_owned);
    kill9(loader)?;
    services_since(&platform, &token, start)
        .await
        .context("a query while the loader is down")?;
    let new_loader = restarted(&platform, "loader", loader).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = platform.log("loader")?;
        assert_eq!(
            log.lines().next().map(str::to_owned),
            first_line,
            "log kept"
        );
        let (before, after) = log
            .split_once("loader killed by SIGKILL")
            .with_context(|| format!("restart not noted:\n{log}"))?;
        assert!(before.contains("loader started"), "{log}");
        if after.contains("restart 1 in 1 s") && after.contains("loader started") {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the loader did not start again:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The gateway dies: the ingress keeps answering (the token check
    // cannot be made, so UNAVAILABLE), and a login works again soon.
    let gateway = platform.pid("gateway")?;
    kill9(gateway)?;
    let during = services_since(&platform, &token, start).await;
    if let Err(e) = &during {
        let status = e
            .downcast_ref::<airis_proto::tonic::Status>()
            .with_context(|| format!("the ingress did not answer: {e:#}"))?;
        assert_eq!(
            status.code(),
            airis_proto::tonic::Code::Unavailable,
            "{status:?}"
        );
    }
    restarted(&platform, "gateway", gateway).await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Not the cached token: a fresh login needs the gateway itself.
        std::fs::remove_file(platform.state.join("token"))?;
        match platform.mesh(&["token"]).await? {
            (true, fresh, _) if fresh.trim() != token => break,
            (_, _, stderr) => ensure!(
                Instant::now() < deadline,
                "no login 15 s after the gateway's kill: {stderr}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let status = platform.mesh_ok(&["status"]).await?;
    let line = status
        .lines()
        .find(|l| l.trim_start().starts_with("loader "))
        .with_context(|| format!("no loader in:\n{status}"))?;
    assert!(
        line.contains(&format!("running  pid {new_loader}")) && line.contains("restarts 1"),
        "{line}"
    );

    // Ctrl-c: every process it started stops, and the run directory goes.
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(platform.run_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pid") {
            pids.push(std::fs::read_to_string(&path)?.trim().parse::<u32>()?);
        }
    }
    assert!(pids.len() >= 11, "{pids:?}");
    let mut platform = platform;
    let pid = platform.child.id().context("mesh.sh pid")?;
    // As a terminal sends it: to the whole process group.
    std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{pid}")])
        .status()?;
    let exit = tokio::time::timeout(Duration::from_secs(30), platform.child.wait())
        .await
        .context("scripts/mesh.sh still running 30 s after SIGINT")??;
    assert_eq!(exit.code(), Some(130));
    let left: Vec<u32> = pids.into_iter().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "still running after ctrl-c: {left:?}");
    assert!(!platform.run_dir().exists());
    // Nothing but the two kills was taken for a crash.
    let output = std::fs::read_to_string(&platform.output)?;
    let restarts: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("; restart "))
        .collect();
    assert_eq!(restarts.len(), 2, "{restarts:#?}");
    Ok(())
}

#[tokio::test]
async fn token_without_a_login_fails_loudly() -> anyhow::Result<()> {
    let state = std::env::temp_dir().join(unique("airis-mesh-token"));
    let port = airis_tests::free_port()?;
    let out = tokio::process::Command::new(repo_root().join("scripts/mesh.sh"))
        .arg("token")
        .env("AIRIS_CACHE", cache_dir())
        .env("AIRIS_MESH_STATE", &state)
        .env("AIRIS_MESH_INGRESS_PORT", port.to_string())
        .output()
        .await?;
    let _ = std::fs::remove_dir_all(&state);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.starts_with(&format!(
            "mesh: login as admin (tenant demo) through 127.0.0.1:{port} failed: "
        )) && stderr.contains("connection refused"),
        "{stderr}"
    );
    Ok(())
}
