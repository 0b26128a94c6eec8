//! Notifications, as Alertmanager's dispatcher sends them: each firing
//! (and resolved) alert goes down the tenant's route tree
//! ([`super::policy`]) into groups; a group is flushed `group_wait` after
//! it starts and every `group_interval` after that, and a flush notifies
//! each of its receiver's webhooks when the group has something new for
//! it (an alert that joined or resolved) or `repeat_interval` has passed
//! (Alertmanager's `needsUpdate`). Alerts an active silence matches are
//! left out of a flush.
//!
//! What each webhook was last told is the notification log
//! (`aiops_notifications`), written after a webhook answers 2xx; a group
//! (re)created after a restart reads it before its first flush, so an
//! alert firing across a restart is not notified again until its repeat
//! interval. A crash between a webhook's answer and the log write sends
//! that notification once more (at least once, as Alertmanager).
//!
//! A policy's Alertmanagers get every alert of the tenant through their v2
//! API, as Prometheus sends them: the firing ones once a minute, ending
//! four minutes ahead unless sent again, and resolved ones for 15 minutes
//! with their end; grouping, timing and silences are then theirs.
//!
//! The evaluator hands over a [`Snapshot`] after each minute it judged;
//! the notifier runs in its own task so a slow webhook delays no rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use airis_proto::airis::aiops::v1::SilenceState;
use airis_runtime::Shutdown;
use airis_runtime::clock::{now_unix_nano, rfc3339};
use airis_runtime::tenant::Tenant;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::history::AlertRow;
use super::notify_store::{self, LogRow};
use super::policy::{self, Policy, Receiver, Timing, Webhook};
use super::silence::Silence;
use super::silence_store;

type Http = HttpClient<HttpConnector, Full<Bytes>>;

/// The most silences of one tenant applied to a flush.
const MAX_SILENCES: u64 = 20_000;
/// A failed flush is tried again after this, doubling up to the group
/// interval.
const FIRST_RETRY: Duration = Duration::from_secs(5);
/// How much of a refusing webhook's answer its log row keeps.
const MAX_ERROR_BODY: usize = 512;
/// A firing alert sent to an Alertmanager ends this long after, unless
/// sent again (Prometheus: four times its resend delay of a minute).
const ALERTMANAGER_VALID_SECS: u32 = 4 * 60;
/// A resolved alert is sent to Alertmanagers this long after it resolved
/// (as Prometheus does), so one that missed a send still hears of it.
const ALERTMANAGER_RESOLVED_SECS: u32 = 15 * 60;
/// The receiver name Alertmanager forwarding is logged under.
const ALERTMANAGER_RECEIVER: &str = policy::RESERVED_RECEIVER;

/// An alert as notifications see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice {
    pub(crate) tenant: String,
    pub(crate) rule_id: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations_en: BTreeMap<String, String>,
    pub(crate) annotations_ko: BTreeMap<String, String>,
    /// Unix s of the minute it fired.
    pub(crate) starts: u32,
    /// Unix s of the minute it resolved; 0 while firing.
    pub(crate) ends: u32,
}

impl Notice {
    /// The notice of a stored alert that fired; `None` for one that never
    /// did (pending alerts are not notified).
    pub(crate) fn of(row: &AlertRow) -> Option<Self> {
        (row.fired != 0).then(|| Self {
            tenant: row.tenant.clone(),
            rule_id: row.rule_id.clone(),
            labels: row.labels.clone(),
            annotations_en: row.annotations_en.clone(),
            annotations_ko: row.annotations_ko.clone(),
            starts: row.fired,
            ends: row.resolved,
        })
    }

    fn firing(&self) -> bool {
        self.ends == 0
    }
}

/// What one evaluation pass saw: every alert firing after it, and those
/// that resolved in it.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) firing: Vec<Notice>,
    pub(crate) resolved: Vec<Notice>,
}

/// `[aiops.watch]` settings of notifications.
#[derive(Debug, Clone)]
pub(crate) struct NotifyConfig {
    /// The UI's address, for links in notifications.
    pub(crate) external_url: String,
    /// How long a webhook has to answer.
    pub(crate) timeout: Duration,
}

/// What a webhook was last told.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    firing: BTreeSet<String>,
    resolved: BTreeSet<String>,
    /// Unix ns.
    at: i64,
}

/// Alertmanager's `needsUpdate`: whether a flush with `firing` and
/// `resolved` (fingerprints) has something to tell a webhook told `last`.
fn needs_update(
    last: Option<&Sent>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
    send_resolved: bool,
    repeat_secs: u32,
    now: i64,
) -> bool {
    let Some(last) = last else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&last.firing) {
        return true;
    }
    // Nothing firing: tell that it resolved only if it was told firing.
    if firing.is_empty() {
        return !last.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&last.resolved) {
        return true;
    }
    last.at
        .saturating_add(i64::from(repeat_secs) * 1_000_000_000)
        <= now
}

/// One group: the alerts a route took that share its group_by labels.
struct Group {
    tenant: String,
    receiver: String,
    key: String,
    labels: BTreeMap<String, String>,
    timing: Timing,
    /// By fingerprint.
    alerts: BTreeMap<String, Notice>,
    next: Instant,
    /// Per webhook of the receiver; `None` until read from the log.
    last: Option<Vec<Option<Sent>>>,
    failures: u32,
}

/// The notifier: every tenant's groups.
pub(crate) struct Notifier {
    client: clickhouse::Client,
    http: Http,
    config: Arc<NotifyConfig>,
    policies: HashMap<String, Arc<Policy>>,
    /// By (tenant, group key).
    groups: HashMap<(String, String), Group>,
    /// Per tenant, what Alertmanagers are sent: the alerts firing after
    /// the last pass, and those resolved in the last
    /// [`ALERTMANAGER_RESOLVED_SECS`], by fingerprint.
    forwarded: HashMap<String, BTreeMap<String, Notice>>,
    /// When Alertmanagers were last sent to: they are sent to every
    /// minute even when no snapshot comes (the evaluator failing), so
    /// that their alerts do not time out into false "resolved".
    forwarded_at: Option<Instant>,
    /// Unix s this notifier started: alerts that fired before are not
    /// new to the receivers (a restart), and their groups flush at once.
    started_s: u32,
}

/// Flushes of groups that run at once at most, so a restart (every group
/// due together) does not flood ClickHouse and the webhooks.
const MAX_CONCURRENT_FLUSHES: usize = 32;

impl Notifier {
    pub(crate) fn new(client: clickhouse::Client, config: NotifyConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.timeout));
        Self {
            client,
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
            config: Arc::new(config),
            policies: HashMap::new(),
            groups: HashMap::new(),
            forwarded: HashMap::new(),
            forwarded_at: None,
            started_s: u32::try_from(now_unix_nano() / 1_000_000_000).unwrap_or(u32::MAX),
        }
    }

    /// Takes snapshots and flushes due groups until `shutdown`.
    pub(crate) async fn run(mut self, mut snapshots: mpsc::Receiver<Snapshot>, shutdown: Shutdown) {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                snapshot = snapshots.recv() => match snapshot {
                    Some(mut snapshot) => {
                        // Resolved alerts of groups a new policy ended
                        // are told under the new one.
                        snapshot.resolved.extend(self.reload_policies().await);
                        let now_ns = now_unix_nano();
                        self.remember(&snapshot, now_ns);
                        self.update(snapshot, Instant::now(), now_ns);
                        self.forward(now_ns).await;
                    }
                    None => break,
                },
                _ = ticks.tick() => {}
                () = shutdown.signalled() => break,
            }
            if self
                .forwarded_at
                .is_some_and(|at| at.elapsed() >= Duration::from_secs(60))
            {
                self.forward(now_unix_nano()).await;
            }
            self.flush_due(Instant::now()).await;
        }
    }

    /// Every tenant's current policy; a tenant whose policy changed
    /// starts its groups again (as Alertmanager on a new configuration),
    /// and the resolved alerts they held, not told yet, are returned to
    /// be grouped again.
    async fn reload_policies(&mut self) -> Vec<Notice> {
        let stored = match notify_store::all(&self.client).await {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!(%error, "notification policies not read; the previous ones stay");
                return Vec::new();
            }
        };
        let mut policies = HashMap::with_capacity(stored.len());
        for (tenant, proto) in stored {
            let version = proto.version;
            match self.policies.get(&tenant) {
                Some(p) if p.version == version => {
                    policies.insert(tenant, Arc::clone(p));
                }
                _ => match Policy::check("policy", &proto) {
                    Ok(p) => {
                        policies.insert(tenant, Arc::new(p));
                    }
                    Err(error) => {
                        tracing::warn!(%tenant, %error, "a stored notification policy no longer checks; not used");
                    }
                },
            }
        }
        let mut resolved = Vec::new();
        self.groups.retain(|(tenant, _), group| {
            let kept = match (self.policies.get(tenant), policies.get(tenant)) {
                (Some(old), Some(new)) => old.version == new.version,
                _ => false,
            };
            if !kept {
                resolved.extend(group.alerts.values().filter(|a| !a.firing()).cloned());
            }
            kept
        });
        self.policies = policies;
        resolved
    }

    /// Puts the alerts of `snapshot` into their groups. A firing alert a
    /// group holds that the snapshot no longer has (its rule paused,
    /// deleted or routed elsewhere) resolves now.
    fn update(&mut self, snapshot: Snapshot, now: Instant, now_ns: u64) {
        let now_s = u32::try_from(now_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
        // Resolved first: the same alert firing again wins.
        for notice in snapshot.resolved.into_iter().chain(snapshot.firing) {
            let Some(policy) = self.policies.get(&notice.tenant) else {
                continue;
            };
            let fp = policy::fingerprint(&notice.labels);
            for route in policy.routes_for(&notice.labels) {
                let (labels, key) = route.group(&notice.labels);
                let group = self
                    .groups
                    .entry((notice.tenant.clone(), key.clone()))
                    .or_insert_with(|| {
                        // An alert that fired before this notifier started
                        // (a restart) waited already: flushed once its
                        // group_wait is over, as Alertmanager does. A new
                        // one waits the whole group_wait from now.
                        let wait = u64::from(route.timing.wait);
                        let waited = if notice.starts < self.started_s {
                            u64::from(now_s.saturating_sub(notice.starts))
                        } else {
                            0
                        };
                        let next = now + Duration::from_secs(wait.saturating_sub(waited));
                        Group {
                            tenant: notice.tenant.clone(),
                            receiver: route.receiver.clone(),
                            key: key.clone(),
                            labels,
                            timing: route.timing,
                            alerts: BTreeMap::new(),
                            next,
                            last: None,
                            failures: 0,
                        }
                    });
                group.alerts.insert(fp.clone(), notice.clone());
                seen.insert((notice.tenant.clone(), key, fp.clone()));
            }
        }
        for group in self.groups.values_mut() {
            for (fp, alert) in &mut group.alerts {
                if alert.firing()
                    && !seen.contains(&(group.tenant.clone(), group.key.clone(), fp.clone()))
                {
                    alert.ends = now_s / 60 * 60;
                }
            }
        }
    }

    /// What Alertmanagers are to be sent after `snapshot`: its firing
    /// alerts, and the resolved ones of the last minutes.
    fn remember(&mut self, snapshot: &Snapshot, now_ns: u64) {
        let now_s = u32::try_from(now_ns / 1_000_000_000).unwrap_or(u32::MAX);
        for alerts in self.forwarded.values_mut() {
            // Firing before and in no list now (a snapshot skipped):
            // resolved now.
            for alert in alerts.values_mut() {
                if alert.firing() {
                    alert.ends = now_s / 60 * 60;
                }
            }
            alerts.retain(|_, a| a.ends.saturating_add(ALERTMANAGER_RESOLVED_SECS) > now_s);
        }
        for notice in snapshot.resolved.iter().chain(&snapshot.firing) {
            self.forwarded
                .entry(notice.tenant.clone())
                .or_default()
                .insert(policy::fingerprint(&notice.labels), notice.clone());
        }
        self.forwarded.retain(|_, alerts| !alerts.is_empty());
    }

    /// Sends every tenant's alerts to its Alertmanagers (v2 API), all at
    /// once; a failure is logged and the next minute sends them again.
    async fn forward(&mut self, now_ns: u64) {
        self.forwarded_at = Some(Instant::now());
        let now_s = u32::try_from(now_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let mut sends = JoinSet::new();
        for (tenant, alerts) in &self.forwarded {
            let Some(policy) = self.policies.get(tenant) else {
                continue;
            };
            for (i, am) in policy.alertmanagers.iter().enumerate() {
                let body = alertmanager_alerts(tenant, alerts, am.korean, now_s, &self.config);
                let row = LogRow {
                    tenant: tenant.clone(),
                    receiver: ALERTMANAGER_RECEIVER.to_owned(),
                    webhook: i as u32,
                    group_key: String::new(),
                    group_labels: BTreeMap::new(),
                    // As the Alertmanager fingerprints them: with the
                    // tenant label.
                    firing: alerts
                        .values()
                        .filter(|a| a.firing())
                        .map(|a| policy::fingerprint(&with_tenant(a, tenant)))
                        .collect(),
                    resolved: alerts
                        .values()
                        .filter(|a| !a.firing())
                        .map(|a| policy::fingerprint(&with_tenant(a, tenant)))
                        .collect(),
                    alerts: alerts.len() as u32,
                    sent_at: i64::try_from(now_ns).unwrap_or(i64::MAX),
                    delivered: 0,
                    error: String::new(),
                };
                let (http, url, timeout, client) = (
                    self.http.clone(),
                    am.alerts_url.clone(),
                    self.config.timeout,
                    self.client.clone(),
                );
                sends.spawn(async move {
                    let outcome = post(&http, &url, body, timeout).await;
                    if let Err(error) = &outcome {
                        tracing::warn!(tenant = %row.tenant, alertmanager = %url, %error, "alerts not taken by an Alertmanager; sent again next minute");
                    }
                    let row = LogRow {
                        delivered: u8::from(outcome.is_ok()),
                        error: outcome.err().unwrap_or_default(),
                        ..row
                    };
                    if let Err(error) = notify_store::log(&client, &row).await {
                        tracing::warn!(%error, "Alertmanager send not logged");
                    }
                });
            }
        }
        while sends.join_next().await.is_some() {}
    }

    /// Flushes every group whose time came, concurrently.
    async fn flush_due(&mut self, now: Instant) {
        let due: Vec<(String, String)> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        let now_ns = now_unix_nano();
        let mut silences: HashMap<String, Arc<Vec<Silence>>> = HashMap::new();
        let mut flushes = JoinSet::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_FLUSHES));
        for key in due {
            let Some(group) = self.groups.remove(&key) else {
                continue;
            };
            let Some(receiver) = self
                .policies
                .get(&group.tenant)
                .and_then(|p| p.receiver(&group.receiver))
                .cloned()
            else {
                continue;
            };
            let muting = match silences.get(&group.tenant) {
                Some(s) => Arc::clone(s),
                None => match active_silences(&self.client, &group.tenant, now_ns).await {
                    Ok(s) => {
                        let s = Arc::new(s);
                        silences.insert(group.tenant.clone(), Arc::clone(&s));
                        s
                    }
                    Err(error) => {
                        // Unknown silences: notifying could wake someone
                        // who silenced it; wait for the store.
                        tracing::warn!(tenant = %group.tenant, %error, "silences not read; the flush waits");
                        let mut group = group;
                        group.next = now + FIRST_RETRY;
                        self.groups.insert(key, group);
                        continue;
                    }
                },
            };
            let flush = Flush {
                client: self.client.clone(),
                http: self.http.clone(),
                config: Arc::clone(&self.config),
                receiver,
                silences: muting,
                now_ns,
            };
            let permits = Arc::clone(&permits);
            flushes.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let mut group = group;
                let delivered = flush.run(&mut group).await;
                (key, group, delivered)
            });
        }
        while let Some(done) = flushes.join_next().await {
            let Ok((key, mut group, delivered)) = done else {
                continue;
            };
            if delivered {
                // Told: resolved alerts leave the group.
                group.alerts.retain(|_, a| a.firing());
                group.failures = 0;
                group.next = now + Duration::from_secs(u64::from(group.timing.interval));
            } else {
                let backoff = FIRST_RETRY * 2u32.saturating_pow(group.failures.min(16));
                group.failures += 1;
                group.next =
                    now + backoff.min(Duration::from_secs(u64::from(group.timing.interval)));
            }
            if !group.alerts.is_empty() {
                self.groups.insert(key, group);
            }
        }
    }
}

/// The tenant's silences active at `now`, compiled.
async fn active_silences(
    client: &clickhouse::Client,
    tenant: &str,
    now: u64,
) -> Result<Vec<Silence>, clickhouse::error::Error> {
    let Ok(tenant) = Tenant::parse(tenant) else {
        return Ok(Vec::new());
    };
    let stored = silence_store::list(
        client,
        &tenant,
        None,
        &[SilenceState::Active],
        now,
        None,
        MAX_SILENCES,
    )
    .await?;
    Ok(stored
        .iter()
        .filter_map(|s| Silence::check("silence", s).ok())
        .collect())
}

/// One flush of one group.
struct Flush {
    client: clickhouse::Client,
    http: Http,
    config: Arc<NotifyConfig>,
    receiver: Receiver,
    silences: Arc<Vec<Silence>>,
    now_ns: u64,
}

impl Flush {
    /// Notifies each webhook that has something new; whether every one of
    /// them was told (or had nothing to be told).
    async fn run(&self, group: &mut Group) -> bool {
        let now = i64::try_from(self.now_ns).unwrap_or(i64::MAX);
        let hooks = self.receiver.webhooks.len();
        if group.last.as_ref().is_none_or(|l| l.len() != hooks) {
            let mut last = Vec::with_capacity(hooks);
            for i in 0..hooks {
                let row = notify_store::last_delivered(
                    &self.client,
                    &group.tenant,
                    &group.receiver,
                    i as u32,
                    &group.key,
                )
                .await;
                match row {
                    Ok(row) => last.push(row.map(|r| Sent {
                        firing: r.firing.into_iter().collect(),
                        resolved: r.resolved.into_iter().collect(),
                        at: r.sent_at,
                    })),
                    Err(error) => {
                        tracing::warn!(%error, group = %group.key, "notification log not read; the flush waits");
                        return false;
                    }
                }
            }
            group.last = Some(last);
        }
        let shown: Vec<(&String, &Notice)> = group
            .alerts
            .iter()
            .filter(|(_, a)| !self.silences.iter().any(|s| s.matches(&a.labels)))
            .collect();
        // Everything silenced: nothing to tell, and the log stays as it
        // is (Alertmanager stops before its log too), so alerts still
        // firing when the silence ends are not told again before their
        // repeat interval.
        if shown.is_empty() {
            return true;
        }
        let firing: BTreeSet<String> = shown
            .iter()
            .filter(|(_, a)| a.firing())
            .map(|(fp, _)| (*fp).clone())
            .collect();
        let resolved: BTreeSet<String> = shown
            .iter()
            .filter(|(_, a)| !a.firing())
            .map(|(fp, _)| (*fp).clone())
            .collect();
        let mut all_told = true;
        for (i, hook) in self.receiver.webhooks.iter().enumerate() {
            let last = group.last.as_ref().and_then(|l| l[i].as_ref());
            if !needs_update(
                last,
                &firing,
                &resolved,
                hook.send_resolved,
                group.timing.repeat,
                now,
            ) {
                continue;
            }
            let sent: Vec<(&String, &Notice)> = shown
                .iter()
                .filter(|(_, a)| a.firing() || hook.send_resolved)
                .copied()
                .collect();
            let outcome = if sent.is_empty() {
                // Only resolved alerts, which this webhook does not take:
                // nothing to send, but the log moves on.
                Ok(())
            } else {
                let body = payload(group, &self.receiver.name, hook, &sent, &self.config);
                post(&self.http, &hook.url, body, self.config.timeout).await
            };
            let row = LogRow {
                tenant: group.tenant.clone(),
                receiver: group.receiver.clone(),
                webhook: i as u32,
                group_key: group.key.clone(),
                group_labels: group.labels.clone(),
                firing: firing.iter().cloned().collect(),
                resolved: resolved.iter().cloned().collect(),
                alerts: sent.len() as u32,
                sent_at: now,
                delivered: u8::from(outcome.is_ok()),
                error: outcome.clone().err().unwrap_or_default(),
            };
            if let Err(error) = notify_store::log(&self.client, &row).await {
                tracing::warn!(%error, group = %group.key, "notification sent but not logged; a restart may send it again");
            }
            match outcome {
                Ok(()) => {
                    if let Some(last) = group.last.as_mut() {
                        last[i] = Some(Sent {
                            firing: firing.clone(),
                            resolved: resolved.clone(),
                            at: now,
                        });
                    }
                    tracing::info!(receiver = %group.receiver, group = %group.key, webhook = i, firing = firing.len(), resolved = resolved.len(), "notified");
                }
                Err(error) => {
                    all_told = false;
                    tracing::warn!(receiver = %group.receiver, group = %group.key, webhook = i, %error, "webhook not told; tried again");
                }
            }
        }
        all_told
    }
}

/// Alertmanager's webhook JSON (version 4) for `alerts` of `group`.
fn payload(
    group: &Group,
    receiver: &str,
    hook: &Webhook,
    alerts: &[(&String, &Notice)],
    config: &NotifyConfig,
) -> Vec<u8> {
    use serde_json::{Value, json};
    let annotations = |a: &Notice| localized(a, hook.korean);
    let status = if alerts.iter().any(|(_, a)| a.firing()) {
        "firing"
    } else {
        "resolved"
    };
    let common = |pick: &dyn Fn(&Notice) -> BTreeMap<String, String>| {
        let mut iter = alerts.iter().map(|(_, a)| pick(a));
        let mut common = iter.next().unwrap_or_default();
        for other in iter {
            common.retain(|k, v| other.get(k) == Some(v));
        }
        common
    };
    let limit = match hook.max_alerts {
        0 => alerts.len(),
        n => (n as usize).min(alerts.len()),
    };
    let base = config.external_url.trim_end_matches('/');
    let listed: Vec<Value> = alerts[..limit]
        .iter()
        .map(|(fp, a)| {
            json!({
                "status": if a.firing() { "firing" } else { "resolved" },
                "labels": a.labels,
                "annotations": annotations(a),
                "startsAt": rfc3339(a.starts.into()),
                "endsAt": if a.firing() { "0001-01-01T00:00:00Z".to_owned() } else { rfc3339(a.ends.into()) },
                "generatorURL": format!("{base}/alerts/rules/{}", a.rule_id),
                "fingerprint": fp,
            })
        })
        .collect();
    let body = json!({
        "version": "4",
        "groupKey": group.key,
        "truncatedAlerts": alerts.len() - limit,
        "status": status,
        "receiver": receiver,
        "groupLabels": group.labels,
        "commonLabels": common(&|a| a.labels.clone()),
        "commonAnnotations": common(&annotations),
        "externalURL": base,
        "alerts": Value::Array(listed),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// What an Alertmanager's `POST /api/v2/alerts` takes: `alerts` with the
/// label `tenant`, a firing one ending [`ALERTMANAGER_VALID_SECS`] from
/// now unless sent again, a resolved one at its end.
fn alertmanager_alerts(
    tenant: &str,
    alerts: &BTreeMap<String, Notice>,
    korean: bool,
    now_s: u32,
    config: &NotifyConfig,
) -> Vec<u8> {
    use serde_json::{Value, json};
    let base = config.external_url.trim_end_matches('/');
    let list: Vec<Value> = alerts
        .values()
        .map(|a| {
            let labels = with_tenant(a, tenant);
            let ends = if a.firing() {
                now_s.saturating_add(ALERTMANAGER_VALID_SECS)
            } else {
                a.ends
            };
            json!({
                "labels": labels,
                "annotations": localized(a, korean),
                "startsAt": rfc3339(a.starts.into()),
                "endsAt": rfc3339(ends.into()),
                "generatorURL": format!("{base}/alerts/rules/{}", a.rule_id),
            })
        })
        .collect();
    serde_json::to_vec(&list).unwrap_or_default()
}

/// The labels of `a` with `tenant` (replacing a rule label of that name).
fn with_tenant(a: &Notice, tenant: &str) -> BTreeMap<String, String> {
    let mut labels = a.labels.clone();
    labels.insert("tenant".to_owned(), tenant.to_owned());
    labels
}

/// The annotations of `a` in Korean (where the rule has them, English
/// otherwise) or English.
fn localized(a: &Notice, korean: bool) -> BTreeMap<String, String> {
    let mut annotations = a.annotations_en.clone();
    if korean {
        annotations.extend(a.annotations_ko.clone());
    }
    annotations
}

/// POSTs `body` to `url`; a description of what went wrong unless
/// it answered 2xx within `timeout`.
async fn post(
    http: &Http,
    url: &http::Uri,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), String> {
    let request = http::Request::post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "airis-aiops")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let answer = async {
        let response = http.request(request).await.map_err(|e| {
            // The legacy client's own text says little; its source says why.
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            let text =
                String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]).into_owned();
            Err(format!("HTTP {status}: {}", text.trim()))
        }
    };
    match tokio::time::timeout(timeout, answer).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_webhook_is_told_what_is_new_and_reminded_after_the_repeat_interval() {
        // Firing, resolved, whether the webhook takes resolved alerts, now
        // (s); the repeat interval is 60 s.
        let check = |last: Option<&Sent>, firing: &[&str], resolved: &[&str], sends: bool, now| {
            needs_update(last, &set(firing), &set(resolved), sends, 60, now * S)
        };
        // Never told: only when something fires.
        assert!(check(None, &["a"], &[], true, 0));
        assert!(!check(None, &[], &["a"], true, 0));
        let told = Sent {
            firing: set(&["a", "b"]),
            resolved: set(&[]),
            at: 100 * S,
        };
        // Nothing new: not before the repeat interval, then again.
        assert!(!check(Some(&told), &["a", "b"], &[], true, 159));
        assert!(check(Some(&told), &["a", "b"], &[], true, 160));
        // One fewer firing, not resolved (silenced): nothing to say.
        assert!(!check(Some(&told), &["a"], &[], true, 101));
        // A new one.
        assert!(check(Some(&told), &["a", "c"], &[], true, 101));
        // One resolved: said if the webhook takes resolved alerts.
        assert!(check(Some(&told), &["a"], &["b"], true, 101));
        assert!(!check(Some(&told), &["a"], &["b"], false, 101));
        // All resolved: said (once), whatever send_resolved (the log moves on).
        assert!(check(Some(&told), &[], &["a", "b"], false, 101));
        let resolved = Sent {
            firing: set(&[]),
            resolved: set(&["a", "b"]),
            at: 101 * S,
        };
        assert!(!check(Some(&resolved), &[], &["a", "b"], true, 500));
        // Firing again after it resolved: new.
        assert!(check(Some(&resolved), &["a"], &[], true, 102));
    }

    fn notice(name: &str, starts: u32, ends: u32) -> Notice {
        Notice {
            tenant: "demo".into(),
            rule_id: format!("rule-{name}"),
            labels: [
                ("alertname".to_owned(), name.to_owned()),
                ("team".to_owned(), "pay".to_owned()),
            ]
            .into_iter()
            .collect(),
            annotations_en: [("summary".to_owned(), format!("{name} is slow"))]
                .into_iter()
                .collect(),
            annotations_ko: [("summary".to_owned(), format!("{name} 느림"))]
                .into_iter()
                .collect(),
            starts,
            ends,
        }
    }

    #[test]
    fn the_payload_is_alertmanagers_webhook_json() {
        let a = notice("a", 1_796_403_900, 0);
        let b = notice("b", 1_796_403_900, 1_796_404_020);
        let group = Group {
            tenant: "demo".into(),
            receiver: "team".into(),
            key: "{}:{team=\"pay\"}".into(),
            labels: [("team".to_owned(), "pay".to_owned())]
                .into_iter()
                .collect(),
            timing: Timing {
                wait: 0,
                interval: 60,
                repeat: 3_600,
            },
            alerts: BTreeMap::new(),
            next: Instant::now(),
            last: None,
            failures: 0,
        };
        let hook = Webhook {
            url: "http://hooks.local/x".parse().unwrap(),
            send_resolved: true,
            max_alerts: 1,
            korean: true,
        };
        let config = NotifyConfig {
            external_url: "http://ui.local/".into(),
            timeout: Duration::from_secs(1),
        };
        let (fa, fb) = ("f-a".to_owned(), "f-b".to_owned());
        let body = payload(&group, "team", &hook, &[(&fa, &a), (&fb, &b)], &config);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["version"], "4");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["receiver"], "team");
        assert_eq!(v["groupKey"], "{}:{team=\"pay\"}");
        assert_eq!(v["groupLabels"]["team"], "pay");
        assert_eq!(v["commonLabels"], serde_json::json!({"team": "pay"}));
        assert_eq!(v["commonAnnotations"], serde_json::json!({}));
        assert_eq!(v["truncatedAlerts"], 1);
        assert_eq!(v["externalURL"], "http://ui.local");
        let first = &v["alerts"][0];
        assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
        assert_eq!(first["status"], "firing");
        assert_eq!(first["annotations"]["summary"], "a 느림");
        assert_eq!(first["startsAt"], "2026-12-04T17:05:00Z");
        assert_eq!(first["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(first["generatorURL"], "http://ui.local/alerts/rules/rule-a");
        assert_eq!(first["fingerprint"], "f-a");
        // Only resolved ones: resolved.
        let body = payload(&group, "team", &hook, &[(&fb, &b)], &config);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "resolved");
        assert_eq!(v["alerts"][0]["endsAt"], "2026-12-04T17:07:00Z");
        assert_eq!(v["commonAnnotations"]["summary"], "b 느림");
    }
}
