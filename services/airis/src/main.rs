//! `airis`: runs any set of AIRIS-MON services in one process.
//!
//! ```text
//! airis migrate                 # ClickHouse schema + Kafka topics
//! airis serve ingestion         # receiver and loader
//! airis serve receiver loader   # the two ingestion roles, named apart
//! airis all-in-one              # migrate, then every service
//! airis demo --rate 20          # synthetic web-shop telemetry
//! airis hash-password < pw      # Argon2id hash for [[gateway.users]]
//! airis aiops nab --data D --out R  # score a NAB-style folder
//! ```

use std::path::PathBuf;

use airis::app;
use clap::{Parser, Subcommand};

/// The receiver and loader allocate and free many small objects per
/// request (decoded protobuf); glibc malloc spent ~40% of their CPU there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// AIRIS-MON observability platform.
#[derive(Parser)]
#[command(name = "airis", version)]
struct Cli {
    /// TOML config file; `AIRIS_<SECTION>__<KEY>` environment variables
    /// override it. Defaults suit a local machine.
    #[arg(long, short, env = "AIRIS_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the chosen services until SIGTERM or ctrl-c.
    Serve {
        /// Services: `ingestion` (= `receiver` + `loader`), `receiver`, `loader`, `analytics`, `aiops`, `delta`, `search`, `gateway`, `ui`.
        #[arg(required = true)]
        services: Vec<app::Service>,
    },
    /// Applies migrations, then runs every service in this process.
    AllInOne,
    /// Applies ClickHouse migrations and creates the Kafka topics.
    Migrate,
    /// Prints the effective configuration (defaults, file and environment merged).
    Config,
    /// Sends synthetic web-shop traces, logs and metrics to an OTLP endpoint.
    Demo(airis_demo::DemoConfig),
    /// Reads a password from standard input and prints its Argon2id hash,
    /// for `password_hash` of `[[gateway.users]]`.
    HashPassword,
    /// The anomaly detector's offline tools.
    #[command(subcommand)]
    Aiops(AiopsCommand),
    /// The local mesh's tooling (scripts/mesh.sh).
    #[command(hide = true, subcommand)]
    Mesh(MeshCommand),
}

#[derive(Subcommand)]
enum AiopsCommand {
    /// Scores every CSV under --data (columns `timestamp,value`, times
    /// `YYYY-MM-DD HH:MM:SS` UTC, oldest first) with the default detector,
    /// row by row in file order, and writes `timestamp,value,anomaly_score` to the same
    /// relative path under --out: the layout of the Numenta Anomaly
    /// Benchmark's data and results.
    Nab {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Also write each point's expected value, band, kind and the
        /// surprise of each of the detector's components.
        #[arg(long)]
        explain: bool,
    },
}

/// In this binary rather than a tool of its own because `scripts/mesh.sh`
/// builds it anyway: rendering costs the launcher no second build.
#[derive(Subcommand)]
enum MeshCommand {
    /// Fills a `mesh/` Envoy template's `{{NAME}}` placeholders
    /// (airis_runtime::mesh); refuses blanks left and names it lacks.
    Render {
        template: PathBuf,
        out: PathBuf,
        /// NAME=value pairs.
        values: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::HashPassword => return hash_password(),
        Command::Mesh(MeshCommand::Render {
            template,
            out,
            values,
        }) => return render(template, out, values),
        Command::Aiops(AiopsCommand::Nab { data, out, explain }) => {
            return nab(data, out, *explain);
        }
        _ => {}
    }
    let config = app::Config::load(cli.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let _telemetry = airis_runtime::telemetry::init(&config.telemetry)?;
        match cli.command {
            Command::Serve { services } => app::serve(&config, &services).await,
            Command::AllInOne => {
                app::migrate(&config, true).await?;
                app::serve(&config, app::Service::ALL).await
            }
            Command::Migrate => app::migrate(&config, false).await,
            Command::Demo(demo) => {
                airis_demo::run(demo, airis_runtime::Shutdown::on_signals()).await?;
                Ok(())
            }
            Command::HashPassword | Command::Mesh(_) | Command::Aiops(_) => Ok(()),
            Command::Config => {
                let mut out = std::io::stdout().lock();
                use std::io::Write as _;
                writeln!(out, "{config:#?}")?;
                Ok(())
            }
        }
    });
    // Blocking tasks (Kafka commits against an unreachable broker) must not
    // keep a terminating process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    result
}

fn hash_password() -> anyhow::Result<()> {
    use std::io::{BufRead as _, Write as _};
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    let hash = airis_gateway::users::hash_password(password).map_err(anyhow::Error::msg)?;
    writeln!(std::io::stdout().lock(), "{hash}")?;
    Ok(())
}

fn nab(data: &std::path::Path, out: &std::path::Path, explain: bool) -> anyhow::Result<()> {
    use airis_aiops::nab::{Columns, score_nab_dir};
    use std::io::Write as _;
    let started = std::time::Instant::now();
    let columns = if explain {
        Columns::Explain
    } else {
        Columns::Nab
    };
    let files = score_nab_dir(data, out, columns)?;
    anyhow::ensure!(files > 0, "no .csv file under {}", data.display());
    writeln!(
        std::io::stderr().lock(),
        "scored {files} files in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        out.display()
    )?;
    Ok(())
}

fn render(
    template: &std::path::Path,
    out: &std::path::Path,
    values: &[String],
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(template)
        .with_context(|| format!("reading {}", template.display()))?;
    let rendered = values
        .iter()
        .map(|pair| airis_runtime::mesh::parse_pair(pair))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|values| airis_runtime::mesh::render(&text, &values))
        .map_err(|e| anyhow::anyhow!("{}: {e}", template.display()))?;
    std::fs::write(out, rendered).with_context(|| format!("writing {}", out.display()))
}
