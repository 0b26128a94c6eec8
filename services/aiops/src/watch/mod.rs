//! Continuous detection: every tenant's per-minute RED series and the
//! metric series its alert rules name, judged as each minute completes,
//! anomalies stored in ClickHouse and announced to WatchAnomalies streams.
//!
//! Each pass (every `interval_secs`) takes the tenants that sent spans
//! recently or have rules naming metric series and, per tenant, the
//! minutes that completed since its cursor (a minute counts as complete
//! `settle_secs` after it ends, so its data is stored): it reads their RED
//! numbers through the query service's rollup-or-spans path
//! ([`airis_analytics::red::minute_red`]) and each metric series as
//! QueryMetrics aggregates it per minute, feeds each series' detectors
//! minute by minute ([`series`]), and stores what they find;
//! WatchAnomalies streams learn of it from the store ([`crate::feed`]), in
//! whichever process serves them. A metric series new to the watcher (a
//! rule naming it was just created) first learns from its last
//! `backfill_minutes`; one no rule names any more is dropped.
//!
//! The rules are read first and judged last in a pass, so an anomaly rule
//! on a metric series reads the minutes just judged.
//!
//! Restarts: every `checkpoint_minutes` (and at shutdown) the state of
//! every series is stored with the minute it covers. A restarted watcher
//! loads it and replays the minutes since from the stored RED numbers, so
//! its detectors end up exactly where they would have been; what a
//! replay finds again is stored already and not written twice (it keeps
//! its first detection time, and streams never announce it again). A tenant seen for the first time is backfilled over
//! `backfill_minutes`.
//!
//! One watcher per deployment: a second one would do the same work and
//! write the same rows (harmless, wasted). The process runs it when
//! `aiops.watch.enabled` is set.

pub mod series;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::time::Duration;

use tokio::sync::mpsc;

use airis_analytics::query::{Store, Window};
use airis_analytics::red::{MinuteRed, minute_red};
use airis_runtime::clock::{now_unix_nano, now_unix_secs};
use airis_runtime::{Shutdown, tenant::Tenant};

use airis_proto::airis::aiops::v1::MetricSeriesSelector;

use crate::detect::{DetectorConfig, Kind};
use crate::stored::metric_points;
use series::{Finding, MetricKey, SeriesKey, SeriesState, Signal};
use store::AnomalyRow;

/// `[aiops.watch]`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Run continuous detection in this process.
    pub enabled: bool,
    /// Seconds between passes.
    pub interval_secs: u64,
    /// Seconds after a minute ends before it is judged, so that its spans
    /// are stored.
    pub settle_secs: u64,
    /// Seconds after a minute ends by which it is judged even though no
    /// later data of the tenant was stored (a tenant that went quiet).
    /// Before that, a minute is judged only once data of a later minute
    /// is stored, so a loader running behind delays judging instead of
    /// cutting minutes short. At most `settle_secs` means no such wait.
    pub late_secs: u64,
    /// Minutes of history a tenant seen for the first time is judged over
    /// (its detectors learn from them), and the most a restart replays.
    pub backfill_minutes: u32,
    /// Minutes between stored states.
    pub checkpoint_minutes: u32,
    /// A tenant is watched while it sent spans within this many minutes.
    pub active_minutes: u32,
    /// Most series watched per tenant; new series beyond it are not
    /// watched (and a warning says so).
    pub max_series_per_tenant: usize,
    /// The UI's address as people open it, for the links in
    /// notifications (`generatorURL`, `externalURL`).
    pub external_url: String,
    /// Seconds a webhook has to answer a notification.
    pub webhook_timeout_secs: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 10,
            settle_secs: 15,
            late_secs: 120,
            backfill_minutes: 60,
            checkpoint_minutes: 10,
            active_minutes: 120,
            max_series_per_tenant: 100_000,
            external_url: "http://127.0.0.1:8080".to_owned(),
            webhook_timeout_secs: 10,
        }
    }
}

pub(crate) const MINUTE_SECS: u32 = 60;

/// Minutes of alerts waiting for the notifier at most.
const SNAPSHOTS_QUEUED: usize = 16;

/// One tenant's detectors and where they are.
struct TenantWatch {
    tenant: Tenant,
    series: HashMap<SeriesKey, SeriesState>,
    /// Start (Unix s) of the first minute not judged yet.
    cursor: u32,
    /// Cursor at the last stored state.
    checkpointed: u32,
    warned_full: bool,
    /// Metric series whose points QueryMetrics refused, said so once.
    refused: std::collections::HashSet<MetricKey>,
}

/// The watcher: owns every tenant's detectors.
pub struct Watcher {
    config: WatchConfig,
    detector: DetectorConfig,
    store: Store,
    tenants: BTreeMap<String, TenantWatch>,
    /// Stored alert rules, judged after the RED series of the same
    /// minutes (anomaly rules read what those found).
    alerts: crate::alert::Evaluator,
    /// Where what the rules found goes to be notified, once running.
    notices: Option<mpsc::Sender<crate::alert::Snapshot>>,
}

impl Watcher {
    pub fn new(config: WatchConfig, store: Store) -> Self {
        Self {
            config,
            detector: DetectorConfig::default(),
            store,
            tenants: BTreeMap::new(),
            alerts: crate::alert::Evaluator::default(),
            notices: None,
        }
    }

    /// Runs passes (and notifications, in a task of their own) until
    /// `shutdown`, then stores every state.
    pub async fn run(mut self, shutdown: Shutdown) {
        let (notices, snapshots) = mpsc::channel(SNAPSHOTS_QUEUED);
        let notifier = crate::alert::Notifier::new(
            self.store.client().clone(),
            crate::alert::NotifyConfig {
                external_url: self.config.external_url.clone(),
                timeout: Duration::from_secs(self.config.webhook_timeout_secs.max(1)),
            },
        );
        let notifying = tokio::spawn(notifier.run(snapshots, shutdown.clone()));
        self.notices = Some(notices);
        let mut ticks =
            tokio::time::interval(Duration::from_secs(self.config.interval_secs.max(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = shutdown.signalled() => break,
            }
            if let Err(error) = self.pass(now_secs()).await {
                tracing::warn!(%error, "anomaly detection pass failed; retried next pass");
            }
        }
        for watch in self.tenants.values_mut() {
            if let Err(error) = checkpoint(&self.store, watch).await {
                tracing::warn!(%error, tenant = watch.tenant.as_str(), "detector states not stored at shutdown");
            }
        }
        self.notices = None;
        let _ = notifying.await;
    }

    /// One pass at `now` (Unix s): every active tenant's completed minutes.
    pub async fn pass(&mut self, now: u32) -> Result<(), crate::Error> {
        let end = now.saturating_sub(self.config.settle_secs as u32) / MINUTE_SECS * MINUTE_SECS;
        let late_end = now.saturating_sub(self.config.late_secs as u32) / MINUTE_SECS * MINUTE_SECS;
        let since = end.saturating_sub(self.config.active_minutes * MINUTE_SECS);
        // The rules first, for the metric series they name (the ones read
        // before, if they cannot be read now).
        let rules_due = self
            .alerts
            .load(&self.store, end)
            .await
            .inspect_err(|error| {
                tracing::warn!(%error, "alert rules not read; retried next pass");
            })
            .unwrap_or(false);
        let mut metrics = self.alerts.metric_series();
        let active: BTreeMap<String, u32> = store::active_tenants(self.store.client(), since, now)
            .await
            .map_err(airis_analytics::Error::from)?
            .into_iter()
            .collect();
        let tenant_end = |id: &str| complete_end(end, late_end, active.get(id).copied());
        let tenants: BTreeSet<String> = active
            .keys()
            .chain(metrics.iter().flat_map(BTreeMap::keys))
            .cloned()
            .collect();
        for id in tenants {
            let Ok(tenant) = Tenant::parse(&id) else {
                continue;
            };
            let selectors = metrics.as_mut().map(|m| m.remove(&id).unwrap_or_default());
            if let Err(error) = self
                .pass_tenant(
                    tenant,
                    tenant_end(&id),
                    active.contains_key(&id),
                    selectors.as_ref(),
                )
                .await
            {
                tracing::warn!(%error, tenant = %id, "anomaly detection of a tenant failed; retried next pass");
            }
        }
        // Every tenant's rules, active or not: an absence rule fires
        // precisely when a tenant went quiet.
        if rules_due {
            let snapshot = self.alerts.judge(&self.store, end, tenant_end).await;
            if let Some(notices) = &self.notices
                && notices.try_send(snapshot).is_err()
            {
                // The next snapshot has every firing alert; one that
                // resolved in this one is resolved by the notifier when it
                // finds it gone (at that minute, not this).
                tracing::warn!(
                    "notifications lag behind by {SNAPSHOTS_QUEUED} minutes; one minute's alerts skipped"
                );
            }
        }
        Ok(())
    }

    /// Judges a tenant's minutes up to `end`: its RED series when it sent
    /// spans recently (`red`), and the metric series its rules name (none
    /// judged, none dropped, while the rules were never read).
    async fn pass_tenant(
        &mut self,
        tenant: Tenant,
        end: u32,
        red: bool,
        metrics: Option<&BTreeMap<MetricKey, MetricSeriesSelector>>,
    ) -> Result<(), crate::Error> {
        let id = tenant.as_str().to_owned();
        if !self.tenants.contains_key(&id) {
            let watch = self.load(tenant, end).await?;
            self.tenants.insert(id.clone(), watch);
        }
        let Some(watch) = self.tenants.get_mut(&id) else {
            return Ok(());
        };
        // After a long outage, judge only the last backfill_minutes.
        let oldest = end.saturating_sub(self.config.backfill_minutes * MINUTE_SECS);
        let start = watch.cursor.max(oldest);
        let detected_at = now_nanos();
        let mut found = Vec::new();
        if red && start < end {
            let rows = minute_red(
                &self.store,
                &watch.tenant,
                Window {
                    start: u64::from(start) * 1_000_000_000,
                    end: u64::from(end) * 1_000_000_000,
                },
                None,
            )
            .await?;
            found = judge_minutes(
                watch,
                &self.detector,
                self.config.max_series_per_tenant,
                start,
                end,
                &rows,
                detected_at,
            );
        }
        if let Some(metrics) = metrics {
            watch
                .series
                .retain(|key, _| key.metric.is_empty() || metrics.contains_key(&key.metric));
        }
        for (metric, selector) in metrics.into_iter().flatten() {
            let key = SeriesKey::metric(metric.clone());
            // New to the watcher: it learns from the backfill first.
            let from = if watch.series.contains_key(&key) {
                start
            } else {
                oldest
            };
            if from >= end {
                continue;
            }
            let points = match metric_points(
                &self.store,
                &watch.tenant,
                "metric",
                selector,
                (u64::from(from), u64::from(end)),
                MINUTE_SECS,
            )
            .await
            {
                Ok(points) => points,
                Err(crate::Error::Query(airis_analytics::Error::NotFound(_))) => Vec::new(),
                // The RED series of these minutes are judged already, so
                // the pass goes on: a series that cannot be read (the
                // store failing on it, or QueryMetrics refusing it, as an
                // aggregation its type does not have) misses these minutes
                // and is tried again from the next; said once.
                Err(error) => {
                    if watch.refused.insert(metric.clone()) {
                        tracing::warn!(
                            tenant = watch.tenant.as_str(),
                            metric = %selector.metric_name,
                            %error,
                            "a metric series a rule names could not be read; its minutes are skipped"
                        );
                    }
                    Vec::new()
                }
            };
            // Known from now on (read from the cursor, not the backfill),
            // with or without points.
            if !watch.series.contains_key(&key)
                && watch.series.len() < self.config.max_series_per_tenant
            {
                watch
                    .series
                    .insert(key.clone(), SeriesState::new(&self.detector));
            }
            for point in points {
                let minute =
                    u32::try_from(point.time_unix_nano / 1_000_000_000).unwrap_or(u32::MAX);
                if minute < from || minute >= end {
                    continue;
                }
                if let Some(finding) = judge(
                    watch,
                    &self.detector,
                    self.config.max_series_per_tenant,
                    &key,
                    minute,
                    point.value,
                ) {
                    found.push(anomaly_row(watch, &key, minute, finding, detected_at));
                }
            }
        }
        // Minutes judged again (a replay after a crash) find what is
        // stored already: it stays as first found, with its detection
        // time, and is not written again (a newer copy would replace it
        // when ClickHouse merges, and look new to streams).
        if let (Some(first), Some(last)) = (
            found.iter().map(|r| r.minute).min(),
            found.iter().map(|r| r.minute).max(),
        ) {
            // Unreadable: written all the same (a copy at worst), as the
            // detectors have judged these minutes.
            match store::stored_keys(self.store.client(), &watch.tenant, first, last).await {
                Ok(stored) => found.retain(|row| !stored.contains(&row.key())),
                Err(error) => tracing::warn!(
                    tenant = watch.tenant.as_str(),
                    %error,
                    "stored anomalies not read; what was found is written as it is"
                ),
            }
        }
        // The token tells this insert from others of the same minutes (a
        // metric series judged from its backfill).
        let mut hasher = DefaultHasher::new();
        for row in &found {
            (
                &row.service,
                &row.operation,
                &row.signal,
                &row.metric,
                row.minute,
            )
                .hash(&mut hasher);
        }
        let token = format!("{id}:{start}:{end}:{:016x}", hasher.finish());
        store::write_anomalies(self.store.client(), &token, &found)
            .await
            .map_err(airis_analytics::Error::from)?;
        watch.cursor = watch.cursor.max(end);
        if end.saturating_sub(watch.checkpointed) >= self.config.checkpoint_minutes * MINUTE_SECS {
            checkpoint(&self.store, watch)
                .await
                .map_err(airis_analytics::Error::from)?;
        }
        Ok(())
    }

    /// A tenant's stored states (or none), and where to resume.
    async fn load(&self, tenant: Tenant, end: u32) -> Result<TenantWatch, crate::Error> {
        let client = self.store.client();
        let stored = store::load_states(client, &tenant)
            .await
            .map_err(airis_analytics::Error::from)?;
        // Every series of a checkpoint has the same minute; the newest one
        // is where the stored states are.
        let checkpoint = stored.values().map(|(minute, _)| *minute).max();
        let mut series = HashMap::with_capacity(stored.len());
        for (key, (minute, bytes)) in stored {
            if Some(minute) != checkpoint {
                continue;
            }
            match SeriesState::decode(&bytes, &self.detector) {
                Some(state) => {
                    series.insert(key, state);
                }
                None => tracing::warn!(
                    tenant = tenant.as_str(),
                    "a detector state of another layout or configuration: the series starts afresh"
                ),
            }
        }
        let cursor = match checkpoint {
            Some(minute) => minute + MINUTE_SECS,
            None => end.saturating_sub(self.config.backfill_minutes * MINUTE_SECS),
        };
        tracing::info!(
            tenant = tenant.as_str(),
            series = series.len(),
            resume_at = cursor,
            "watching a tenant's series"
        );
        Ok(TenantWatch {
            tenant,
            series,
            cursor,
            checkpointed: cursor,
            warned_full: false,
            refused: Default::default(),
        })
    }
}

/// Where a tenant's judged minutes end (Unix s, exclusive): at `end`
/// (settled) once data of that minute or a later one is stored, so every
/// minute before it is complete; else at the newest minute with data, but
/// never before `late_end` (a tenant that went quiet is judged all the
/// same).
fn complete_end(end: u32, late_end: u32, newest: Option<u32>) -> u32 {
    newest.unwrap_or(0).max(late_end).min(end)
}

/// Stores every series' state as of the last judged minute.
async fn checkpoint(
    store: &Store,
    watch: &mut TenantWatch,
) -> Result<(), clickhouse::error::Error> {
    if watch.series.is_empty() || watch.cursor == watch.checkpointed {
        return Ok(());
    }
    let minute = watch.cursor - MINUTE_SECS;
    store::write_states(
        store.client(),
        &watch.tenant,
        minute,
        watch
            .series
            .iter()
            .map(|(key, state)| (key, state.encode())),
    )
    .await?;
    watch.checkpointed = watch.cursor;
    Ok(())
}

/// Feeds the minutes `[start, end)` (Unix s, whole minutes) of `rows` to
/// the tenant's series in time order, and returns the anomalies found.
/// A service or operation seen before with no requests in a minute gets a
/// request rate of 0 for it (a stop is news); its other signals have no
/// value then.
fn judge_minutes(
    watch: &mut TenantWatch,
    cfg: &DetectorConfig,
    max_series: usize,
    start: u32,
    end: u32,
    rows: &[MinuteRed],
    detected_at: i64,
) -> Vec<AnomalyRow> {
    let mut by_minute: BTreeMap<u32, Vec<&MinuteRed>> = BTreeMap::new();
    for row in rows {
        by_minute.entry(row.minute).or_default().push(row);
    }
    let mut found = Vec::new();
    let mut minute = start;
    while minute < end {
        let rows = by_minute.get(&minute).map_or(&[][..], Vec::as_slice);
        let mut seen: Vec<SeriesKey> = Vec::with_capacity(rows.len());
        for row in rows {
            for signal in Signal::RED {
                let Some(value) = signal.value(row) else {
                    continue;
                };
                let key = SeriesKey {
                    service: row.service.clone(),
                    operation: row.operation.clone(),
                    signal,
                    metric: MetricKey::default(),
                };
                if signal == Signal::RequestRate {
                    seen.push(key.clone());
                }
                if let Some(finding) = judge(watch, cfg, max_series, &key, minute, value) {
                    found.push(anomaly_row(watch, &key, minute, finding, detected_at));
                }
            }
        }
        seen.sort_unstable();
        let silent: Vec<SeriesKey> = watch
            .series
            .keys()
            .filter(|key| key.signal == Signal::RequestRate && seen.binary_search(key).is_err())
            .cloned()
            .collect();
        for key in silent {
            if let Some(finding) = judge(watch, cfg, max_series, &key, minute, 0.0) {
                found.push(anomaly_row(watch, &key, minute, finding, detected_at));
            }
        }
        minute += MINUTE_SECS;
    }
    found
}

fn judge(
    watch: &mut TenantWatch,
    cfg: &DetectorConfig,
    max_series: usize,
    key: &SeriesKey,
    minute: u32,
    value: f64,
) -> Option<Finding> {
    if !watch.series.contains_key(key) {
        if watch.series.len() >= max_series {
            if !watch.warned_full {
                watch.warned_full = true;
                tracing::warn!(
                    tenant = watch.tenant.as_str(),
                    max_series,
                    "aiops.watch.max_series_per_tenant reached: new series are not watched"
                );
            }
            return None;
        }
        watch.series.insert(key.clone(), SeriesState::new(cfg));
    }
    watch
        .series
        .get_mut(key)?
        .judge(key.signal, i64::from(minute), value)
}

fn anomaly_row(
    watch: &TenantWatch,
    key: &SeriesKey,
    minute: u32,
    finding: Finding,
    detected_at: i64,
) -> AnomalyRow {
    AnomalyRow {
        tenant: watch.tenant.as_str().to_owned(),
        service: key.service.clone(),
        operation: key.operation.clone(),
        signal: key.signal.name().to_owned(),
        metric: key.metric.0.clone(),
        minute,
        value: finding.value,
        expected: finding.expected,
        lower: finding.lower,
        upper: finding.upper,
        score: finding.score,
        kind: kind_name(finding.kind).to_owned(),
        detected_at,
    }
}

/// The name stored in ClickHouse.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::None => "",
        Kind::Spike => "spike",
        Kind::Dip => "dip",
        Kind::LevelShift => "level_shift",
        Kind::TrendChange => "trend_change",
        Kind::VarianceChange => "variance_change",
        Kind::MissingData => "missing_data",
    }
}

fn now_secs() -> u32 {
    u32::try_from(now_unix_secs()).unwrap_or(0)
}

fn now_nanos() -> i64 {
    i64::try_from(now_unix_nano()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::complete_end;

    #[test]
    fn minutes_wait_for_later_data_until_they_are_late() {
        let (end, late_end) = (600, 540);
        // Data of the current minute (or later): every settled minute.
        assert_eq!(complete_end(end, late_end, Some(600)), 600);
        assert_eq!(complete_end(end, late_end, Some(660)), 600);
        // The loader behind: only the minutes before the newest one with
        // data, and never before the late end.
        assert_eq!(complete_end(end, 420, Some(480)), 480);
        assert_eq!(complete_end(end, late_end, Some(480)), 540);
        // A tenant without recent spans: the late end.
        assert_eq!(complete_end(end, late_end, None), 540);
        // Late no later than settled.
        assert_eq!(complete_end(end, 660, None), 600);
    }
}
