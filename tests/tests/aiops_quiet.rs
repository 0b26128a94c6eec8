//! An hour of demo traffic without incidents raises at most one anomaly
//! alert: the demo's generator (its diurnal load swings, errors, the
//! checkout canary; no payment incidents) makes an hour of traces ending
//! now, sent through the real pipeline; continuous detection judges the
//! hour as its backfill (causally, minute by minute, as it would have
//! live), and an anomaly rule on each demo service is asked what it would
//! have fired over that hour.

use std::time::{Duration, Instant};

use airis_demo::export;
use airis_demo::generate::{Conditions, Generator, Service};
use airis_demo::shape::diurnal_factor;
use airis_proto::airis::aiops::v1::{
    AlertRule, AnomalyCondition, AnomalyFilter, TestRuleRequest, alert_rule::Condition,
    alert_service_client::AlertServiceClient,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_store::tables::{DETECTOR_STATES, TRACES};
use airis_tests::{
    AiopsServer, Pipeline, Settings, TENANT, TOKEN,
    otlp::{authed, now_unix_nano, trace_client},
    wait_for_count,
};

const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const HOUR_MINUTES: u64 = 60;
/// The demo's defaults (`airis demo --help`).
const RATE: f64 = 20.0;
const PERIOD: Duration = Duration::from_secs(600);
const AMPLITUDE: f64 = 0.5;
const WAIT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_of_demo_traffic_without_incidents_raises_at_most_one_anomaly_alert()
-> anyhow::Result<()> {
    let mut settings = Settings::new("aiops_quiet");
    settings.aiops.watch.enabled = true;
    settings.aiops.watch.interval_secs = 1;
    settings.aiops.watch.settle_secs = 0;
    settings.aiops.watch.late_secs = 0;
    settings.aiops.watch.backfill_minutes = HOUR_MINUTES as u32;
    let pipeline = Pipeline::start(settings.clone()).await?;
    let clickhouse = settings.clickhouse();

    // An hour of the demo's traffic, second by second, ending with the
    // last whole minute.
    let end = now_unix_nano() / MIN * MIN;
    let start = end - HOUR_MINUTES * MIN;
    let mut generator = Generator::new(7);
    let conditions = Conditions::default();
    let mut client = trace_client(&pipeline.endpoint).await?;
    let mut sent = 0;
    let mut carry = 0.0;
    for second in 0..HOUR_MINUTES * 60 {
        let rate = RATE * diurnal_factor(Duration::from_secs(second), PERIOD, AMPLITUDE);
        carry += rate;
        let due = carry.floor() as u64;
        carry -= due as f64;
        let at = start + second * SEC;
        let batch: Vec<_> = (0..due)
            .map(|i| generator.trace(at + (i + 1) * SEC / (due + 1), &conditions))
            .collect();
        let (request, spans) = export::traces_request(&batch, "demo");
        if spans > 0 {
            client.export(authed(request, TOKEN)).await?;
            sent += spans;
        }
    }
    let count = format!("SELECT count() FROM {TRACES} WHERE TenantId = '{TENANT}'");
    assert_eq!(wait_for_count(&clickhouse, &count, sent, WAIT).await?, sent);

    // Continuous detection judges the hour; its states are stored once it
    // has.
    let server = AiopsServer::start(&settings).await?;
    let judged = format!(
        "SELECT count() FROM {DETECTOR_STATES} WHERE TenantId = '{TENANT}' \
         AND Minute >= toDateTime({})",
        (end - MIN) / SEC
    );
    let started = Instant::now();
    while clickhouse.query(&judged).fetch_one::<u64>().await? == 0 {
        anyhow::ensure!(
            started.elapsed() < WAIT,
            "the hour was not judged within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // What an anomaly rule per service (any operation, any signal) would
    // have fired over the hour.
    let mut alerts = AlertServiceClient::connect(server.endpoint.clone()).await?;
    let mut fired = Vec::new();
    for service in Service::ALL {
        let rule = AlertRule {
            name: format!("{} anomalous", service.name()),
            condition: Some(Condition::Anomaly(AnomalyCondition {
                filter: Some(AnomalyFilter {
                    service_name: service.name().to_owned(),
                    ..Default::default()
                }),
                k_of_n: None,
            })),
            ..Default::default()
        };
        let answer = alerts
            .test_rule(authed(
                TestRuleRequest {
                    rule: Some(rule),
                    time_range: Some(TimeRange {
                        start_unix_nano: start,
                        end_unix_nano: end,
                    }),
                    locale: String::new(),
                },
                TOKEN,
            ))
            .await?
            .into_inner();
        assert_eq!(answer.evaluations.len() as u64, HOUR_MINUTES);
        for alert in answer.alerts.iter().filter(|a| a.fired_unix_nano != 0) {
            fired.push(format!(
                "{} at minute {} (score {:.2})",
                service.name(),
                (alert.fired_unix_nano - start) / MIN,
                alert.value
            ));
        }
    }
    eprintln!("aiops-quiet: {sent} spans; anomaly alerts: {fired:?}");
    assert!(
        fired.len() <= 1,
        "an hour of normal demo traffic fired {} anomaly alerts: {fired:#?}",
        fired.len()
    );
    server.stop().await?;
    pipeline.stop().await?;
    Ok(())
}
