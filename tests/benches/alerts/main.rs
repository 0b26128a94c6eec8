//! How long the watcher takes to judge many alert rules each minute: N
//! rules of every kind stored through the AlertService, an hour of traffic
//! (services × operations) up to now through the real pipeline into
//! ClickHouse, then the watcher's passes timed as the service runs them
//! (RED detection first, then every rule): the first pass (the detectors'
//! backfill of the hour, every rule judged from the minute it was stored
//! on), then one pass per following minute (their traffic sent ahead, so
//! the passes run back to back).
//!
//! Run with `scripts/bench.sh alerts [args]`; `--help` lists the options.
//! See docs/benchmarks.md ("aiops").

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use airis_aiops::watch::{WatchConfig, Watcher};
use airis_analytics::query::Store;
use airis_proto::airis::aiops::v1::{
    AbsenceCondition, AlertRule, AnomalyCondition, AnomalyFilter, BurnRateCondition, Comparison,
    CreateRuleRequest, GetNotificationPolicyRequest, LabelMatcher, MatchOperator,
    MetricSeriesSelector, NotificationPolicy, Receiver, RedSeriesSelector, Route, RuleSeries,
    Signal, ThresholdCondition, UpdateNotificationPolicyRequest, WebhookConfig,
    alert_rule::Condition, alert_service_client::AlertServiceClient, rule_series,
};
use airis_proto::airis::analytics::v1::Aggregation;
use airis_proto::otlp::tonic::trace::v1::{Span, span::SpanKind};
use airis_runtime::Shutdown;
use airis_store::tables::TRACES;
use airis_tests::bench::{CargoBench, positive};
use airis_tests::otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request};
use airis_tests::webhook::WebhookReceiver;
use airis_tests::{AiopsServer, Pipeline, Settings, TENANT, TOKEN, wait_for_count};
use clap::Parser;

const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;

/// Alert rules judged every minute: how long the watcher's passes take.
#[derive(Parser, Debug)]
#[command(
    name = "alerts",
    override_usage = "cargo bench -p airis-tests --bench alerts -- [OPTIONS]\n       \
                      (or scripts/bench.sh alerts [OPTIONS])"
)]
struct Opts {
    /// Rules stored (of every kind, on every series)
    #[arg(long, value_name = "N", default_value = "10000", value_parser = positive::<usize>)]
    rules: usize,
    /// Services sending traffic
    #[arg(long, value_name = "N", default_value = "20", value_parser = positive::<usize>)]
    services: usize,
    /// Operations per service
    #[arg(long, value_name = "N", default_value = "5", value_parser = positive::<usize>)]
    operations: usize,
    /// Minutes of traffic before the first pass
    #[arg(long, value_name = "N", default_value = "60", value_parser = positive::<u64>)]
    minutes: u64,
    /// Passes after the first, one minute apart
    #[arg(long, value_name = "N", default_value = "5", value_parser = positive::<u32>)]
    passes: u32,
    /// Minutes of the live delivery check (a rule firing each minute,
    /// notified to a webhook by the watcher running as the service runs it)
    #[arg(long, value_name = "N", default_value = "3", value_parser = positive::<u32>)]
    delivery_minutes: u32,
    #[command(flatten)]
    _cargo: CargoBench,
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts))
}

fn service(s: usize) -> String {
    format!("svc-{s:02}")
}

fn operation(o: usize) -> String {
    format!("GET /api/{o}")
}

/// One minute of every operation of every service: 20 requests each,
/// about 50 ms, one in 50 failing.
fn minute_of_traffic(opts: &Opts, run: u64, minute: u64, start: u64) -> Vec<(String, Vec<Span>)> {
    let mut n = minute * 1_000_000;
    (0..opts.services)
        .map(|s| {
            let spans = (0..opts.operations)
                .flat_map(|o| (0..20u64).map(move |k| (o, k)))
                .map(|(o, k)| {
                    n += 1;
                    let begin = start + k * (55 * SEC / 20);
                    let latency = 50_000_000 * (90 + n * 7919 % 21) / 100;
                    let mut span = Span {
                        trace_id: trace_id(run, n),
                        span_id: span_id(n),
                        name: operation(o),
                        kind: SpanKind::Server as i32,
                        start_time_unix_nano: begin,
                        end_time_unix_nano: begin + latency,
                        ..Default::default()
                    };
                    if n.is_multiple_of(50) {
                        span.status = Some(airis_proto::otlp::tonic::trace::v1::Status {
                            code: 2,
                            ..Default::default()
                        });
                    }
                    span
                })
                .collect();
            (service(s), spans)
        })
        .collect()
}

/// Rule `i` of the mix: 40 % thresholds on RED series, 20 % anomaly
/// rules, 20 % absence, 10 % burn rate, 10 % thresholds on metrics (20
/// distinct selectors). Thresholds sit above what the traffic does, so
/// few alerts fire, as in a healthy system.
fn rule(opts: &Opts, i: usize) -> AlertRule {
    let s = service(i % opts.services);
    let o = if i.is_multiple_of(3) {
        String::new()
    } else {
        operation(i / opts.services % opts.operations)
    };
    let red = |signal: Signal| RuleSeries {
        series: Some(rule_series::Series::Red(RedSeriesSelector {
            service_name: s.clone(),
            operation: o.clone(),
            signal: signal as i32,
            history_minutes: 0,
        })),
    };
    let condition = match i % 10 {
        0..=3 => Condition::Threshold(ThresholdCondition {
            series: Some(red([
                Signal::LatencyP95,
                Signal::ErrorRate,
                Signal::RequestRate,
            ][i % 3])),
            comparison: Comparison::Above as i32,
            threshold: [500.0, 0.2, 1_000.0][i % 3],
            k_of_n: None,
        }),
        4 | 5 => Condition::Anomaly(AnomalyCondition {
            filter: Some(AnomalyFilter {
                service_name: s.clone(),
                operation: o.clone(),
                min_score: 0.5,
                ..Default::default()
            }),
            k_of_n: None,
        }),
        6 | 7 => Condition::Absence(AbsenceCondition {
            series: Some(red(Signal::RequestRate)),
            minutes: 5,
        }),
        8 => Condition::BurnRate(BurnRateCondition {
            service_name: s.clone(),
            operation: o.clone(),
            objective: 0.99,
            windows: Vec::new(),
        }),
        _ => Condition::Threshold(ThresholdCondition {
            series: Some(RuleSeries {
                series: Some(rule_series::Series::Metric(MetricSeriesSelector {
                    metric_name: format!("queue.depth.{}", i % 20),
                    aggregation: Aggregation::Avg as i32,
                    ..Default::default()
                })),
            }),
            comparison: Comparison::Above as i32,
            threshold: 100.0,
            k_of_n: None,
        }),
    };
    AlertRule {
        name: format!("rule {i}"),
        condition: Some(condition),
        ..Default::default()
    }
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let settings = Settings::new("bench_alerts");
    let pipeline = Pipeline::start(settings.clone()).await?;
    let clickhouse = settings.clickhouse();
    eprintln!("alerts: storing {} rules", opts.rules);
    let api = AiopsServer::start(&settings).await?;
    let alerts = AlertServiceClient::connect(api.endpoint.clone()).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let workers = 16;
    for w in 0..workers {
        let mut alerts = alerts.clone();
        // The delivery check adds its own rules, up to the tenant's limit.
        let bulk = opts.rules.saturating_sub(opts.delivery_minutes as usize);
        let rules: Vec<AlertRule> = (w..bulk).step_by(workers).map(|i| rule(&opts, i)).collect();
        tasks.spawn(async move {
            for rule in rules {
                alerts
                    .create_rule(authed(CreateRuleRequest { rule: Some(rule) }, TOKEN))
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let stored = started.elapsed();
    api.stop().await?;

    let run = now_unix_nano();
    let first = run / MIN * MIN - opts.minutes * MIN;
    eprintln!(
        "alerts: {} minutes of {} services × {} operations",
        opts.minutes, opts.services, opts.operations
    );
    let mut client = trace_client(&pipeline.endpoint).await?;
    let mut sent = 0u64;
    // The minutes of the later passes too (ahead of the clock), so that
    // every pass judges a minute of traffic.
    for minute in 0..opts.minutes + u64::from(opts.passes) {
        for (service, spans) in minute_of_traffic(&opts, run, minute, first + minute * MIN) {
            sent += spans.len() as u64;
            client
                .export(authed(traces_request(&service, spans), TOKEN))
                .await?;
        }
    }
    let count = format!("SELECT count() FROM {TRACES} WHERE TenantId = '{TENANT}'");
    wait_for_count(&clickhouse, &count, sent, Duration::from_secs(300)).await?;

    let store = Store::new(clickhouse.clone(), settings.aiops.limits.clone());
    let config = WatchConfig {
        enabled: true,
        settle_secs: 0,
        late_secs: 0,
        backfill_minutes: opts.minutes as u32,
        ..WatchConfig::default()
    };
    let mut watcher = Watcher::new(config, store);
    // The first pass ends with the hour of traffic (the current minute):
    // every rule is judged from the minute it was stored on.
    let now = u32::try_from((first + opts.minutes * MIN) / SEC)?;
    let started = Instant::now();
    watcher.pass(now).await?;
    let first_pass = started.elapsed();
    let mut passes = Vec::new();
    for k in 1..=opts.passes {
        let started = Instant::now();
        watcher.pass(now + 60 * k).await?;
        passes.push(started.elapsed());
    }
    let alerts_rows: u64 = clickhouse
        .query("SELECT count() FROM aiops_alerts")
        .fetch_one()
        .await?;
    let delays = delivery(&opts, &settings).await?;
    pipeline.stop().await?;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut sorted = passes.clone();
    sorted.sort();
    println!("| what | result |");
    println!("|---|---|");
    println!(
        "| data | {} minutes × {} services × {} operations, {sent} spans |",
        opts.minutes, opts.services, opts.operations
    );
    let bulk = opts.rules.saturating_sub(opts.delivery_minutes as usize);
    println!(
        "| rules stored through CreateRule (16 at a time; the delivery check adds {} more) | {bulk} in {:.1} s |",
        opts.delivery_minutes,
        stored.as_secs_f64()
    );
    println!(
        "| first pass (detectors' backfill of the hour, every rule from when it was stored) | {:.0} ms |",
        ms(first_pass)
    );
    println!(
        "| a minute's pass ({} passes): median, slowest | {:.0} ms, {:.0} ms |",
        passes.len(),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1])
    );
    println!("| alert rows stored | {alerts_rows} |");
    let secs: Vec<String> = delays
        .iter()
        .map(|d| format!("{:.1} s", d.as_secs_f64()))
        .collect();
    println!(
        "| end of the minute an alert fired in → its webhook notified (the watcher with its defaults, group_wait 0) | {} |",
        secs.join(", ")
    );
    Ok(())
}

/// The watcher running as the service runs it (defaults: a pass every
/// 10 s, a minute judged 15 s after it ends), every stored rule judged
/// each minute, and a webhook with `group_wait_seconds: 0`: each minute a
/// new rule that fires at once (absence of a service that never sends);
/// how long after the end of the minute it fired in its notification
/// arrived.
async fn delivery(opts: &Opts, settings: &Settings) -> anyhow::Result<Vec<Duration>> {
    eprintln!("alerts: delivery for {} minutes", opts.delivery_minutes);
    let hooks = WebhookReceiver::start().await?;
    let api = AiopsServer::start(settings).await?;
    let mut alerts = AlertServiceClient::connect(api.endpoint.clone()).await?;
    let version = alerts
        .get_notification_policy(authed(GetNotificationPolicyRequest {}, TOKEN))
        .await?
        .into_inner()
        .policy
        .map_or(0, |p| p.version);
    let policy = NotificationPolicy {
        version,
        receivers: vec![
            Receiver {
                name: "nobody".to_owned(),
                webhooks: Vec::new(),
            },
            Receiver {
                name: "bench".to_owned(),
                webhooks: vec![WebhookConfig {
                    url: format!("{}/bench", hooks.base_url),
                    ..Default::default()
                }],
            },
        ],
        route: Some(Route {
            receiver: "nobody".to_owned(),
            routes: vec![Route {
                receiver: "bench".to_owned(),
                matchers: vec![LabelMatcher {
                    name: "alertname".to_owned(),
                    value: "delivery .*".to_owned(),
                    operator: MatchOperator::Regex as i32,
                }],
                group_by: vec!["...".to_owned()],
                group_wait_seconds: Some(0),
                group_interval_seconds: Some(1),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    alerts
        .update_notification_policy(authed(
            UpdateNotificationPolicyRequest {
                policy: Some(policy),
            },
            TOKEN,
        ))
        .await?;
    let store = Store::new(settings.clickhouse(), settings.aiops.limits.clone());
    let shutdown = Shutdown::new();
    let watcher = tokio::spawn(Watcher::new(WatchConfig::default(), store).run(shutdown.clone()));
    let mut delays = Vec::new();
    let mut created = Vec::new();
    for k in 0..opts.delivery_minutes {
        let name = format!("delivery {k}");
        alerts
            .create_rule(authed(
                CreateRuleRequest {
                    rule: Some(AlertRule {
                        name: name.clone(),
                        condition: Some(Condition::Absence(AbsenceCondition {
                            series: Some(RuleSeries {
                                series: Some(rule_series::Series::Red(RedSeriesSelector {
                                    service_name: format!("nobody-{k}"),
                                    signal: Signal::RequestRate as i32,
                                    ..Default::default()
                                })),
                            }),
                            minutes: 1,
                        })),
                        ..Default::default()
                    }),
                },
                TOKEN,
            ))
            .await?;
        // It fires in the minute it was created in: known once that
        // minute ends.
        let minute_end = now_unix_nano() / MIN * MIN + MIN;
        created.push((name.clone(), minute_end));
        let wait_until = Instant::now() + Duration::from_secs(150);
        loop {
            let received = hooks.received();
            let got = created.iter().all(|(name, _)| {
                received
                    .iter()
                    .any(|r| r.body["groupLabels"]["alertname"] == name.as_str())
            });
            if got {
                break;
            }
            anyhow::ensure!(Instant::now() < wait_until, "no notification of {name}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let arrived = now_unix_nano();
        delays.push(Duration::from_nanos(arrived.saturating_sub(minute_end)));
        // The next rule in the next minute.
        let next = minute_end + 5 * SEC;
        tokio::time::sleep(Duration::from_nanos(next.saturating_sub(now_unix_nano()))).await;
    }
    shutdown.trigger();
    let _ = watcher.await;
    api.stop().await?;
    Ok(delays)
}
