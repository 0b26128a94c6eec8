//! Continuous detection on the whole local platform with `airis demo`
//! traffic, as `scripts/up.sh` starts it: each payment latency incident
//! (×10 for 30 s every three minutes) is found within two minutes of its
//! start, on `payment` and its `POST /payments/charge` operation, and
//! normal traffic around them raises at most one anomaly.
//!
//! When the incidents happened is read from the stored spans (the
//! operation's per-five-seconds median latency), not from the demo's
//! schedule: the test checks what the detector saw against what the data
//! shows.

#![allow(clippy::print_stderr)]

use std::process::Command;
use std::time::{Duration, Instant};

use airis_proto::airis::aiops::v1::{
    Anomaly, AnomalyFilter, ListAnomaliesRequest, Signal,
    anomaly_service_client::AnomalyServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_store::tables::{DETECTOR_STATES, TRACES};
use airis_tests::otlp::{authed, now_unix_nano};
use airis_tests::platform::{DEMO_TENANT, INGRESS_URL, LocalPlatform};
use airis_tests::{clickhouse_url, repo_root};
use anyhow::{Context as _, ensure};

const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
/// An incident must be found this soon after it starts.
const FOUND_WITHIN: u64 = 2 * MIN;
/// Incidents to see found (the first comes three minutes after the demo
/// starts, then one every three minutes).
const INCIDENTS: usize = 2;
const OPERATION: &str = "POST /payments/charge";
/// Buckets of the latency profile that tells when incidents happened.
const BUCKET: u64 = 5 * SEC;

/// Spans a bucket needs before its median says anything: the demo's first
/// bucket may hold one or two charges, and one of the issuer's slow
/// answers (2 % of them, ×6) would make it look like an incident.
const BUCKET_SPANS: u64 = 5;
/// Slow buckets in a row that make an incident (one lasts six).
const INCIDENT_BUCKETS: usize = 3;

/// Starts (ns) of the incidents in the stored spans: the first of each run
/// of [`INCIDENT_BUCKETS`] or more five-second buckets whose median latency
/// of the charge operation is above four times the median of all buckets.
fn incident_starts(since: u64) -> anyhow::Result<Vec<u64>> {
    let query = format!(
        "SELECT intDiv(toUnixTimestamp64Nano(Timestamp), {BUCKET}) AS b, \
         quantileExact(0.5)(Duration) FROM airis.{TRACES} \
         WHERE TenantId = '{DEMO_TENANT}' AND ServiceName = 'payment' AND SpanName = '{OPERATION}' \
         AND toUnixTimestamp64Nano(Timestamp) >= {since} \
         GROUP BY b HAVING count() >= {BUCKET_SPANS} ORDER BY b FORMAT TSV"
    );
    let buckets: Vec<(u64, f64)> = clickhouse(&query)?
        .lines()
        .filter_map(|line| {
            let (b, median) = line.split_once('\t')?;
            Some((b.parse().ok()?, median.parse().ok()?))
        })
        .collect();
    let mut medians: Vec<f64> = buckets.iter().map(|&(_, m)| m).collect();
    medians.sort_by(f64::total_cmp);
    let Some(&typical) = medians.get(medians.len() / 2) else {
        return Ok(Vec::new());
    };
    let mut starts = Vec::new();
    // The current run of slow buckets: its first bucket and length.
    let mut run: Option<(u64, usize)> = None;
    for (b, median) in buckets {
        if median > 4.0 * typical {
            let (first, length) = run.get_or_insert((b, 0));
            *length += 1;
            if *length == INCIDENT_BUCKETS {
                starts.push(*first * BUCKET);
            }
        } else {
            run = None;
        }
    }
    Ok(starts)
}

/// Runs `sql` on ClickHouse; its output.
fn clickhouse(sql: &str) -> anyhow::Result<String> {
    let output = Command::new("curl")
        .args(["-fsS", "--max-time", "60", "--data-binary", sql])
        .arg(clickhouse_url())
        .output()
        .context("run curl")?;
    ensure!(
        output.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// Forgets what the watcher learnt of the demo tenant on an earlier
/// platform of this machine: resumed from it, the minutes since it stopped
/// are silence, and traffic coming back is news on every series (rightly,
/// but not what this test is about).
fn forget_earlier_runs() -> anyhow::Result<()> {
    if clickhouse(&format!("EXISTS TABLE airis.{DETECTOR_STATES}"))?.trim() == "1" {
        clickhouse(&format!(
            "ALTER TABLE airis.{DETECTOR_STATES} DELETE WHERE TenantId = '{DEMO_TENANT}' \
             SETTINGS mutations_sync = 2"
        ))?;
    }
    Ok(())
}

/// An access token of the demo tenant's admin, as the docs get one.
fn token() -> anyhow::Result<String> {
    let root = repo_root();
    let output = Command::new(root.join("scripts/mesh.sh"))
        .arg("token")
        .current_dir(&root)
        .output()
        .context("scripts/mesh.sh token")?;
    ensure!(
        output.status.success(),
        "scripts/mesh.sh token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

async fn anomalies(range: TimeRange) -> anyhow::Result<Vec<Anomaly>> {
    let mut client = AnomalyServiceClient::connect(INGRESS_URL).await?;
    let token = token()?;
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let answer = client
            .list_anomalies(authed(
                ListAnomaliesRequest {
                    time_range: Some(range),
                    filter: Some(AnomalyFilter::default()),
                    page: Some(PageRequest {
                        page_size: 1000,
                        page_token,
                    }),
                },
                &token,
            ))
            .await?
            .into_inner();
        all.extend(answer.anomalies);
        page_token = answer.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() {
            return Ok(all);
        }
    }
}

fn describe(a: &Anomaly) -> String {
    format!(
        "{} {}/{} {:?} {:.1} (expected {:.1}) score {:.2} detected +{:.0} s",
        a.time_unix_nano / SEC,
        a.service_name,
        if a.operation.is_empty() {
            "-"
        } else {
            &a.operation
        },
        Signal::try_from(a.signal).unwrap_or_default(),
        a.value,
        a.expected,
        a.score,
        (a.detected_unix_nano.saturating_sub(a.time_unix_nano)) as f64 / SEC as f64,
    )
}

#[test]
fn demo_incidents_are_found_within_two_minutes() -> anyhow::Result<()> {
    forget_earlier_runs()?;
    let started = now_unix_nano();
    let mut platform = LocalPlatform::up("aiops-demo", &[])?;
    let runtime = tokio::runtime::Runtime::new()?;
    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    // Wait until INCIDENTS incidents started and the last one's two
    // minutes are over.
    let starts = loop {
        let starts = incident_starts(started)?;
        if starts.len() >= INCIDENTS && now_unix_nano() > starts[INCIDENTS - 1] + FOUND_WITHIN {
            break starts[..INCIDENTS].to_vec();
        }
        ensure!(
            Instant::now() < deadline,
            "the demo showed {} incidents in 15 minutes: {starts:?}; platform log {}",
            starts.len(),
            platform.log().display()
        );
        std::thread::sleep(Duration::from_secs(10));
    };
    let range = TimeRange {
        start_unix_nano: started / MIN * MIN,
        end_unix_nano: now_unix_nano(),
    };
    let found = runtime.block_on(anomalies(range))?;
    eprintln!(
        "aiops-demo: incidents at {:?}",
        starts.iter().map(|s| s / SEC).collect::<Vec<_>>()
    );
    for a in &found {
        eprintln!("aiops-demo: {}", describe(a));
    }
    // An incident's anomaly: on payment's charge operation, a latency
    // signal, in a minute the incident touched, stored in time. A start is
    // known to a bucket: the incident may have begun up to a bucket before
    // the first slow bucket (whose median turns once half of it is slow),
    // so a minute ending in that bucket was touched too.
    let is_incident_minute = |a: &Anomaly, s: u64| {
        a.time_unix_nano + MIN + BUCKET > s && a.time_unix_nano < s + 30 * SEC + BUCKET
    };
    for &start in &starts {
        let caught = found.iter().any(|a| {
            a.service_name == "payment"
                && a.operation == OPERATION
                && [Signal::LatencyP50 as i32, Signal::LatencyP95 as i32].contains(&a.signal)
                && is_incident_minute(a, start)
                && a.detected_unix_nano <= start + FOUND_WITHIN
        });
        ensure!(
            caught,
            "the incident at {} s was not found within two minutes on payment / {OPERATION}",
            start / SEC
        );
    }
    // Everything else: normal traffic, which should not raise more than
    // one anomaly. Minutes an incident touched are the incident's (its
    // callers' latency and its own request rate move too).
    let elsewhere: Vec<String> = found
        .iter()
        .filter(|a| !starts.iter().any(|&s| is_incident_minute(a, s)))
        .map(describe)
        .collect();
    ensure!(
        elsewhere.len() <= 1,
        "anomalies outside the incidents: {elsewhere:#?}"
    );
    platform.stop();
    Ok(())
}
