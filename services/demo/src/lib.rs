//! `airis demo`: a synthetic web shop (frontend, checkout, payment, cart,
//! catalog, postgres, redis) that sends realistic OTLP traces, correlated
//! logs and RED metrics to an OTLP/gRPC endpoint.
//!
//! Generation ([`generate`], [`shape`], [`metrics`]) is pure and seeded;
//! [`run`] paces it, batches it every 200 ms and exports it with the tonic
//! clients generated from opentelemetry-proto.

pub mod control;
pub mod export;
pub mod generate;
pub mod metrics;
pub mod rng;
pub mod shape;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use airis_proto::tonic::transport::Endpoint;
use airis_runtime::Shutdown;
use airis_runtime::clock::now_unix_nano;
use tokio::task::JoinSet;

use crate::export::{Exporter, Stats};
use crate::generate::{Canary, Conditions, GeneratedTrace, Generator};
use crate::metrics::MetricsState;

/// How often generated traces are sent.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Requests in flight beyond which new batches are dropped (and counted).
const MAX_IN_FLIGHT: usize = 64;

/// Options of `airis demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoConfig {
    /// OTLP/gRPC endpoint to send to.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub endpoint: String,
    /// Ingest token, sent as `authorization: Bearer <token>`.
    #[arg(long, default_value = "dev-token")]
    pub token: String,
    /// Mean traces per second (the diurnal shape moves around it).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// How long to run, e.g. `30s`, `10m`, `1h`; until ctrl-c when unset.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Probability that a trace fails (checkout v2 fails 3× as often).
    #[arg(long, default_value_t = 0.02)]
    pub error_rate: f64,
    /// Seed of the generator; random when unset.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Period of the diurnal load sinusoid.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub period: Duration,
    /// Relative amplitude of the diurnal sinusoid, 0..1.
    #[arg(long, default_value_t = 0.5)]
    pub amplitude: f64,
    /// A payment latency incident (×10) starts this often; `0s` disables them.
    #[arg(long, value_parser = parse_duration, default_value = "3m")]
    pub incident_every: Duration,
    /// How long each incident lasts.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub incident_length: Duration,
    /// Share of checkout traffic served by the v2 canary.
    #[arg(long, default_value_t = 0.1)]
    pub canary_share: f64,
    /// What checkout v2 is: `release` (a new pricing step: slower, and
    /// failing three times as often) or `same` (v1 again).
    #[arg(long, value_enum, default_value_t = control::V2::Release)]
    pub v2: control::V2,
    /// A regression on demand: every v2 checkout request takes this many
    /// times as long (1.2: +20 %).
    #[arg(long, default_value_t = 1.0, value_parser = control::parse_slowdown)]
    pub v2_slowdown: f64,
    /// A regression on demand: this probability is added to a v2 trace's
    /// chance to fail (0.01: one percentage point more).
    #[arg(long, default_value_t = 0.0, value_parser = control::parse_extra_errors)]
    pub v2_extra_errors: f64,
    /// A regression on demand: v2 logs a new error (a promotion rule not
    /// found) on a fifth of its requests.
    #[arg(long)]
    pub v2_error_log: bool,
    /// A file of `v2=`, `v2-slowdown=`, `v2-extra-errors=` and
    /// `v2-error-log=` lines read every second, to change v2 while the demo
    /// runs.
    #[arg(long)]
    pub control: Option<std::path::PathBuf>,
    /// `deployment.environment` of every resource.
    #[arg(long, default_value = "demo")]
    pub environment: String,
    /// How often metrics are exported.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub metrics_interval: Duration,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:4317".to_owned(),
            token: "dev-token".to_owned(),
            rate: 20.0,
            duration: None,
            error_rate: 0.02,
            seed: None,
            period: Duration::from_secs(600),
            amplitude: 0.5,
            incident_every: Duration::from_secs(180),
            incident_length: Duration::from_secs(30),
            canary_share: 0.1,
            v2: control::V2::Release,
            v2_slowdown: 1.0,
            v2_extra_errors: 0.0,
            v2_error_log: false,
            control: None,
            environment: "demo".to_owned(),
            metrics_interval: Duration::from_secs(5),
            quiet: false,
        }
    }
}

impl DemoConfig {
    fn validate(&self) -> Result<(), DemoError> {
        let invalid = |what: &str| Err(DemoError::InvalidConfig(what.to_owned()));
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return invalid("--rate must be a positive number");
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return invalid("--error-rate must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.canary_share) {
            return invalid("--canary-share must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.amplitude) {
            return invalid("--amplitude must be between 0 and 1");
        }
        if self.metrics_interval.is_zero() {
            return invalid("--metrics-interval must be positive");
        }
        if self
            .token
            .parse::<airis_proto::tonic::metadata::AsciiMetadataValue>()
            .is_err()
        {
            return invalid("--token must be printable ASCII");
        }
        Ok(())
    }
}

/// Parses a duration as `humantime` does (`500ms`, `30s`, `1.5s`, `10m`,
/// `1h 30m`, `2d`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string()),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string()),
    };
    parsed.map_err(|e| format!("invalid duration {text:?}: {e} (e.g. 30s, 10m, 1h)"))
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("invalid endpoint {endpoint:?}: {source}")]
    InvalidEndpoint {
        endpoint: String,
        source: airis_proto::tonic::transport::Error,
    },
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// What a run sent: counts of what the endpoint accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub seed: u64,
    /// Traces generated.
    pub generated_traces: u64,
    /// Traces whose spans were accepted.
    pub traces: u64,
    pub spans: u64,
    pub logs: u64,
    pub points: u64,
    /// Failed export requests.
    pub errors: u64,
    /// Batches dropped because the endpoint could not keep up.
    pub dropped: u64,
    pub elapsed: Duration,
}

/// Runs the demo until `config.duration` passes or `shutdown` triggers,
/// waits for the requests in flight, and returns what was sent.
pub async fn run(config: DemoConfig, shutdown: Shutdown) -> Result<Summary, DemoError> {
    config.validate()?;
    let channel = Endpoint::from_shared(config.endpoint.clone())
        .map_err(|source| DemoError::InvalidEndpoint {
            endpoint: config.endpoint.clone(),
            source,
        })?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .connect_lazy();
    let authorization = format!("Bearer {}", config.token)
        .parse()
        .map_err(|_| DemoError::InvalidConfig("--token must be printable ASCII".to_owned()))?;
    let stats = Arc::new(Stats::default());
    let exporter = Exporter::new(channel, authorization, stats.clone());
    let seed = config.seed.unwrap_or_else(now_unix_nano);
    let mut generator = Generator::new(seed);
    let start = Instant::now();
    let mut metrics = MetricsState::new(now_unix_nano());
    let deadline = config.duration.map(|d| start + d);
    tracing::info!(
        endpoint = %config.endpoint,
        rate = config.rate,
        seed,
        "demo traffic starting"
    );

    let progress = (!config.quiet).then(|| tokio::spawn(progress(stats.clone())));
    let flags = Canary {
        pricing_release: config.v2 == control::V2::Release,
        slowdown: config.v2_slowdown,
        extra_errors: config.v2_extra_errors,
        error_log: config.v2_error_log,
    };
    let mut canary = flags;
    let mut last_control: Option<Instant> = None;
    let mut reported: Vec<String> = Vec::new();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut ticker = tokio::time::interval(BATCH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut generated = 0u64;
    let mut carry = 0.0f64;
    let mut last = start;
    let mut last_metrics = start;
    loop {
        let signalled = tokio::select! {
            () = shutdown.signalled() => true,
            _ = ticker.tick() => false,
        };
        let now = Instant::now();
        let until = deadline.map_or(now, |d| now.min(d));
        let elapsed = until.saturating_duration_since(start);
        let rate = config.rate * shape::diurnal_factor(elapsed, config.period, config.amplitude);
        let incident =
            shape::incident_active(elapsed, config.incident_every, config.incident_length);
        stats.target_rate.store(rate.to_bits(), Ordering::Relaxed);
        if incident != stats.incident.swap(incident, Ordering::Relaxed) {
            tracing::info!(
                incident,
                "payment latency incident {}",
                if incident { "started" } else { "ended" }
            );
        }
        if let Some(path) = &config.control
            && last_control.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            last_control = Some(now);
            let (read, problems) = control::read(path, flags);
            if read != canary {
                tracing::info!(?read, "checkout v2 changed by {}", path.display());
                canary = read;
                // Announced as a deployment tool would, so the change shows
                // in the delta service's ListChanges with its comparison.
                let origin = generate::Origin {
                    service: generate::Service::Checkout,
                    version: generate::CHECKOUT_V2,
                };
                let body = format!(
                    "checkout {} deployed: pricing release {}, slowdown {}, extra errors {}, \
                     error log {}",
                    generate::CHECKOUT_V2,
                    on_off(canary.pricing_release),
                    canary.slowdown,
                    canary.extra_errors,
                    on_off(canary.error_log),
                );
                let request =
                    export::deployment_request(origin, &config.environment, now_unix_nano(), &body);
                in_flight.spawn(exporter.clone().send_logs(request, 1));
            }
            // Each problem once, until the file changes.
            if problems != reported {
                for problem in &problems {
                    tracing::warn!(%problem, "ignored a line of {}", path.display());
                }
                reported = problems;
            }
        }
        let conditions = Conditions {
            error_rate: config.error_rate,
            canary_share: config.canary_share,
            payment_slowdown: if incident { 10.0 } else { 1.0 },
            canary,
        };
        carry += rate * until.saturating_duration_since(last).as_secs_f64();
        last = until;
        let due = carry.floor();
        carry -= due;
        let due = due as u64;

        // Spread the traces' end times over the tick just passed.
        let end = now_unix_nano();
        let step = BATCH_INTERVAL.as_nanos() as u64 / due.max(1);
        let batch: Vec<GeneratedTrace> = (0..due)
            .map(|i| generator.trace(end - (due - 1 - i) * step, &conditions))
            .collect();
        generated += due;
        for trace in &batch {
            metrics.record(trace);
        }
        while in_flight.try_join_next().is_some() {}
        if !batch.is_empty() {
            if in_flight.len() >= MAX_IN_FLIGHT {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                let (traces, spans) = export::traces_request(&batch, &config.environment);
                let (logs, log_count) = export::logs_request(&batch, &config.environment);
                in_flight.spawn(exporter.clone().send_traces(traces, spans, due));
                if log_count > 0 {
                    in_flight.spawn(exporter.clone().send_logs(logs, log_count));
                }
            }
        }
        let done = signalled || deadline.is_some_and(|d| now >= d);
        if done || now.duration_since(last_metrics) >= config.metrics_interval {
            last_metrics = now;
            let (request, points) = metrics.export(now_unix_nano());
            if points > 0 {
                let request = export::metrics_request(request, &config.environment);
                in_flight.spawn(exporter.clone().send_metrics(request, points));
            }
        }
        if done {
            break;
        }
    }
    while in_flight.join_next().await.is_some() {}
    if let Some(progress) = progress {
        progress.abort();
    }
    let summary = Summary {
        seed,
        generated_traces: generated,
        traces: Stats::get(&stats.traces),
        spans: Stats::get(&stats.spans),
        logs: Stats::get(&stats.logs),
        points: Stats::get(&stats.points),
        errors: Stats::get(&stats.errors),
        dropped: Stats::get(&stats.dropped),
        elapsed: start.elapsed(),
    };
    if !config.quiet {
        let terminal = std::io::stderr().is_terminal();
        eprintln!(
            "{}airis demo done in {:.1}s (seed {}): {} traces, {} spans, {} logs, {} points sent; {} export errors, {} dropped batches",
            if terminal { "\r\x1b[2K" } else { "" },
            summary.elapsed.as_secs_f64(),
            summary.seed,
            summary.traces,
            summary.spans,
            summary.logs,
            summary.points,
            summary.errors,
            summary.dropped,
        );
    }
    Ok(summary)
}

/// Prints the progress line every second (in place on a terminal), or a
/// line every 5 s otherwise.
async fn progress(stats: Arc<Stats>) {
    let terminal = std::io::stderr().is_terminal();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut last_traces = 0;
    let mut last_at = Instant::now();
    let mut seconds = 0u64;
    loop {
        ticker.tick().await;
        seconds += 1;
        let traces = Stats::get(&stats.traces);
        let now = Instant::now();
        let current = (traces - last_traces) as f64 / now.duration_since(last_at).as_secs_f64();
        last_traces = traces;
        last_at = now;
        let line = format!(
            "airis demo: {} traces, {} spans, {} logs, {} points sent | {} errors, {} dropped | {:.1} traces/s (target {:.1}/s){}",
            traces,
            Stats::get(&stats.spans),
            Stats::get(&stats.logs),
            Stats::get(&stats.points),
            Stats::get(&stats.errors),
            Stats::get(&stats.dropped),
            current,
            f64::from_bits(stats.target_rate.load(Ordering::Relaxed)),
            if stats.incident.load(Ordering::Relaxed) {
                " | INCIDENT: payment latency x10"
            } else {
                ""
            },
        );
        if terminal {
            eprint!("\r\x1b[2K{line}");
        } else if seconds.is_multiple_of(5) {
            eprintln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests;

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
