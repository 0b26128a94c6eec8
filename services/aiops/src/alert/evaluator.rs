//! Continuous evaluation of stored rules: in the watcher's process, each
//! rule that is not paused is judged on every minute that completed since
//! it was last judged (from its last change on), as TestRule judges it,
//! and its alerts are stored ([`super::history`]) whenever one is open and
//! when it resolves. A tenant's rules are judged together: the data they
//! read is fetched once ([`Data`]: one RED query, one anomaly query, one
//! query per distinct metric selector) and their alerts stored in one
//! insert, so the cost of a pass grows with tenants, not with rules.
//!
//! Restarts: a rule's open alert is read back from the store (every
//! tenant's at once) and goes on
//! from the minute after the one last judged; a rule without one is judged
//! again over the last [`REPLAY_MINUTES`] (never before its last change),
//! which writes the same rows for the alerts already stored and the
//! missing ones for the minutes the process was down. The data of a
//! completed minute does not change, so judging it again gives the same
//! answer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};

use airis_analytics::query::Store;
use airis_proto::airis::aiops::v1 as pb;
use airis_runtime::tenant::Tenant;

use super::data::Data;
use super::evaluate::{Episode, Machine, judge};
use super::history::{self, AlertRow, Stage};
use super::notify::{Notice, Snapshot};
use super::rule::{Condition, Rule, Series};
use super::store;
use crate::Error;
use crate::watch::MINUTE_SECS;
use crate::watch::series::MetricKey;

/// Minutes judged again for a rule without an open alert when it is
/// (re)loaded: what a restart within this long leaves unjudged is caught
/// up.
pub(crate) const REPLAY_MINUTES: u32 = 60;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// One rule being judged.
struct Watched {
    tenant: Tenant,
    rule: Rule,
    machine: Machine,
    /// Start (Unix s) of the first minute not judged yet.
    cursor: u32,
}

/// Every tenant's rules and where each is.
#[derive(Default)]
pub(crate) struct Evaluator {
    rules: HashMap<(String, String), Watched>,
    /// The rules stored, unpaused and valid at the last [`load`](Self::load).
    live: HashSet<(String, String)>,
    /// Whether the rules were read at all since the process started.
    loaded: bool,
    /// The end of the last pass: rules are read again once per minute.
    judged_to: u32,
    /// The alerts of rules removed while no process ran were resolved.
    orphans_resolved: bool,
}

impl Evaluator {
    /// Reads the stored rules again when `end` (Unix s, a whole minute:
    /// the first minute not complete) has minutes not judged yet; whether
    /// it has, and so [`judge`](Self::judge) is due.
    pub(crate) async fn load(&mut self, store: &Store, end: u32) -> Result<bool, Error> {
        if end <= self.judged_to {
            return Ok(false);
        }
        let client = store.client();
        let current = store::all_current(client)
            .await
            .map_err(airis_analytics::Error::from)?;
        let mut live = HashSet::with_capacity(current.len());
        let mut changed = Vec::new();
        for (tenant_id, proto) in current {
            if proto.paused {
                continue;
            }
            let Ok(tenant) = Tenant::parse(&tenant_id) else {
                continue;
            };
            let rule = match Rule::check("rule", &proto) {
                Ok(rule) => rule,
                Err(error) => {
                    tracing::warn!(tenant = %tenant_id, rule = %proto.id, %error, "a stored rule no longer checks; not judged");
                    continue;
                }
            };
            let key = (tenant_id, proto.id.clone());
            live.insert(key.clone());
            if self
                .rules
                .get(&key)
                .is_none_or(|w| w.rule.proto.version != proto.version)
            {
                changed.push((key, tenant, rule));
            }
        }
        // Rules new to this process go on from their open alerts, read
        // once for all of them.
        let open = if changed
            .iter()
            .any(|(key, ..)| !self.rules.contains_key(key))
        {
            let mut open: HashMap<(String, String), AlertRow> = HashMap::new();
            for row in history::all_open(client)
                .await
                .map_err(airis_analytics::Error::from)?
            {
                let key = (row.tenant.clone(), row.rule_id.clone());
                if open.get(&key).is_none_or(|o| o.active < row.active) {
                    open.insert(key, row);
                }
            }
            open
        } else {
            HashMap::new()
        };
        for (key, tenant, rule) in changed {
            let previous = self.rules.remove(&key).map(|w| (w.machine, w.cursor));
            let watched = load(tenant, rule, previous, open.get(&key), end);
            self.rules.insert(key, watched);
        }
        self.live = live;
        self.loaded = true;
        Ok(true)
    }

    /// The metric series the loaded rules name, by tenant and
    /// [`MetricKey`]: what continuous detection watches besides RED series.
    /// `None` until the rules were read once (a store down at start is
    /// not every rule deleted).
    pub(crate) fn metric_series(
        &self,
    ) -> Option<BTreeMap<String, BTreeMap<MetricKey, pb::MetricSeriesSelector>>> {
        if !self.loaded {
            return None;
        }
        let mut series: BTreeMap<String, BTreeMap<MetricKey, pb::MetricSeriesSelector>> =
            BTreeMap::new();
        for (key, watched) in &self.rules {
            if !self.live.contains(key) {
                continue;
            }
            let selector = match &watched.rule.condition {
                Condition::Threshold {
                    series: Series::Metric(selector),
                    ..
                }
                | Condition::Absence {
                    series: Series::Metric(selector),
                    ..
                } => Some(selector.clone()),
                Condition::Anomaly { filter, .. } => filter.metric().selector(),
                _ => None,
            };
            if let Some(selector) = selector {
                series
                    .entry(key.0.clone())
                    .or_default()
                    .insert(MetricKey::of(&selector), selector);
            }
        }
        Some(series)
    }

    /// Judges every loaded rule up to `end`, which [`load`](Self::load)
    /// said was due, or the earlier end of its tenant's complete minutes
    /// (`tenant_end`); what notifications need to know of it.
    pub(crate) async fn judge(
        &mut self,
        store: &Store,
        end: u32,
        tenant_end: impl Fn(&str) -> u32,
    ) -> Snapshot {
        let client = store.client();
        // A copy: the metric series the rules name are asked for again by
        // every pass until the next load.
        let live = self.live.clone();
        let mut resolved = Vec::new();
        // Judged a tenant at a time, on data read once for its rules.
        let mut due: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (key, watched) in &self.rules {
            if live.contains(key) && watched.cursor < tenant_end(&key.0).min(end) {
                due.entry(key.0.clone()).or_default().push(key.clone());
            }
        }
        for (tenant, keys) in due {
            let end = tenant_end(&tenant).min(end);
            if let Err(error) = self.judge_tenant(store, &keys, end, &mut resolved).await {
                tracing::warn!(%tenant, rules = keys.len(), %error, "a tenant's rules could not be judged; retried next minute");
            }
        }
        // Rules deleted or paused while no process judged them: their
        // alerts still open end now (tried again each pass until done).
        if !self.orphans_resolved {
            match resolve_orphans(client, &live, end).await {
                Ok(notices) => {
                    resolved.extend(notices);
                    self.orphans_resolved = true;
                }
                Err(error) => {
                    tracing::warn!(%error, "alerts of rules removed while no watcher ran not resolved yet; tried again next minute");
                }
            }
        }
        // Deleted or paused: an open alert ends at the minute it stopped
        // being judged.
        let gone: Vec<_> = self
            .rules
            .keys()
            .filter(|k| !live.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(mut watched) = self.rules.remove(&key)
                && let Some(mut open) = watched.machine.open().copied()
            {
                open.resolved = Some(watched.cursor);
                let row = watched.row(&open, watched.cursor);
                let token = format!("{}:{}:gone:{}", key.0, key.1, watched.cursor);
                resolved.extend(Notice::of(&row));
                if let Err(error) = history::write(client, &token, &[row]).await {
                    tracing::warn!(rule = %key.1, %error, "the alert of a removed rule was not resolved");
                    watched.cursor = end;
                    self.rules.insert(key, watched);
                }
            }
        }
        self.judged_to = end;
        let firing = self
            .rules
            .values()
            .filter_map(|w| {
                let open = w.machine.open()?;
                Notice::of(&w.row(open, w.cursor.saturating_sub(MINUTE_SECS)))
            })
            .collect();
        Snapshot { firing, resolved }
    }

    /// Judges the rules `keys` of one tenant up to `end` on data fetched
    /// once for all of them, and stores their alerts in one insert; if
    /// that fails, every rule stays where it was.
    async fn judge_tenant(
        &mut self,
        store: &Store,
        keys: &[(String, String)],
        end: u32,
        resolved: &mut Vec<Notice>,
    ) -> Result<(), Error> {
        let watched: Vec<&Watched> = keys.iter().filter_map(|k| self.rules.get(k)).collect();
        let Some(tenant) = watched.first().map(|w| w.tenant.clone()) else {
            return Ok(());
        };
        let first = watched.iter().map(|w| w.first()).min().unwrap_or(end);
        let rules: Vec<&Rule> = watched.iter().map(|w| &w.rule).collect();
        let data = Data::fetch(store, &tenant, "rule", &rules, first, end).await?;
        let mut rows = Vec::new();
        let mut ended = Vec::new();
        let mut before = Vec::with_capacity(keys.len());
        let mut token = DefaultHasher::new();
        for key in keys {
            let Some(w) = self.rules.get_mut(key) else {
                continue;
            };
            (key, w.cursor).hash(&mut token);
            before.push((key, w.machine.clone(), w.cursor));
            match w.judge(&data, end) {
                Ok(judged) => {
                    ended.extend(
                        judged
                            .iter()
                            .filter(|r| r.stage() == Some(Stage::Resolved))
                            .filter_map(Notice::of),
                    );
                    rows.extend(judged);
                }
                Err(error) => {
                    tracing::warn!(rule = %key.1, %error, "a rule could not be judged; retried next minute");
                }
            }
        }
        let token = format!("{}:rules:{end}:{:016x}", tenant.as_str(), token.finish());
        if let Err(error) = history::write(store.client(), &token, &rows).await {
            for (key, machine, cursor) in before {
                if let Some(w) = self.rules.get_mut(key) {
                    w.machine = machine;
                    w.cursor = cursor;
                }
            }
            return Err(airis_analytics::Error::from(error).into());
        }
        resolved.extend(ended);
        Ok(())
    }
}

/// Resolves the alerts still open of rules no longer `live` (deleted or
/// paused while no process judged them), at the first minute not judged;
/// their notices.
async fn resolve_orphans(
    client: &clickhouse::Client,
    live: &HashSet<(String, String)>,
    end: u32,
) -> Result<Vec<Notice>, clickhouse::error::Error> {
    let orphans: Vec<AlertRow> = history::all_open(client)
        .await?
        .into_iter()
        .filter(|row| !live.contains(&(row.tenant.clone(), row.rule_id.clone())))
        .map(|mut row| {
            // As for a rule removed while judged.
            row.resolved = row.evaluated + MINUTE_SECS;
            row.evaluated = row.resolved;
            row.state = Stage::Resolved.name().to_owned();
            row
        })
        .collect();
    history::write(client, &format!("orphans:{end}"), &orphans).await?;
    Ok(orphans.iter().filter_map(Notice::of).collect())
}

/// A rule to judge from where it was: its open alert, from the machine
/// that was judging it (an edited rule) or as stored (`open`, a restart).
fn load(
    tenant: Tenant,
    rule: Rule,
    previous: Option<(Machine, u32)>,
    open: Option<&AlertRow>,
    end: u32,
) -> Watched {
    // From the minute of the change on, that minute included.
    let changed = u32::try_from(rule.proto.update_time_unix_nano / NANOS_PER_SEC)
        .unwrap_or(u32::MAX)
        / MINUTE_SECS
        * MINUTE_SECS;
    let replay_from = end.saturating_sub(REPLAY_MINUTES * MINUTE_SECS);
    let (open, cursor) = match (previous, open) {
        // An edited rule: its alert goes on under the new condition from
        // the change on.
        (Some((machine, cursor)), _) => (machine.open().copied(), cursor.max(changed)),
        // After the minute last judged.
        (None, Some(row)) => (
            Some(row.episode()),
            (row.evaluated + MINUTE_SECS).max(replay_from),
        ),
        (None, None) => (None, changed.max(replay_from)),
    };
    tracing::debug!(
        tenant = tenant.as_str(),
        rule = %rule.proto.id,
        open = open.is_some(),
        resume_at = cursor,
        "judging an alert rule"
    );
    Watched {
        machine: Machine::resume(rule.for_minutes, open),
        tenant,
        rule,
        cursor,
    }
}

impl Watched {
    /// The first minute its next judgement reads.
    fn first(&self) -> u32 {
        self.cursor
            .saturating_sub(self.rule.lookback_minutes() * MINUTE_SECS)
    }

    /// Judges the minutes from the cursor to `end` on `data`: the rows to
    /// store, every alert that resolved in them and the open one.
    fn judge(&mut self, data: &Data, end: u32) -> Result<Vec<AlertRow>, Error> {
        let first = self.first();
        let minutes = data.minutes("rule", &self.rule, first)?;
        let mut rows = Vec::new();
        for judged in judge(&self.rule.condition, first, &minutes) {
            if judged.minute < self.cursor {
                continue;
            }
            if let Some(ended) = self.machine.step(&judged) {
                rows.push(self.row(&ended, judged.minute));
            }
        }
        let last = end - MINUTE_SECS;
        if let Some(open) = self.machine.open().copied() {
            rows.push(self.row(&open, last));
        }
        self.cursor = end;
        Ok(rows)
    }

    /// The stored row of `episode` as judged at `evaluated`.
    fn row(&self, episode: &Episode, evaluated: u32) -> AlertRow {
        let labels = self.rule.labels();
        let render = |locale: &str| {
            self.rule
                .annotations
                .iter()
                .map(|a| (a.name.clone(), a.render(locale, episode.value, &labels)))
                .collect()
        };
        AlertRow {
            tenant: self.tenant.as_str().to_owned(),
            rule_id: self.rule.proto.id.clone(),
            active: episode.active,
            rule_version: self.rule.proto.version,
            state: Stage::of(episode).name().to_owned(),
            fired: episode.fired.unwrap_or(0),
            resolved: episode.resolved.unwrap_or(0),
            value: episode.value,
            annotations_en: render("en"),
            annotations_ko: render("ko"),
            labels,
            evaluated,
        }
    }
}

/// The proto of a stored alert, its annotations in `locale`.
pub(crate) fn to_proto(row: AlertRow, locale: &str, silenced_by: Vec<String>) -> pb::Alert {
    let state = match row.stage() {
        Some(Stage::Pending) => pb::AlertState::Pending,
        Some(Stage::Firing) => pb::AlertState::Firing,
        Some(Stage::Resolved) => pb::AlertState::Resolved,
        None => pb::AlertState::Unspecified,
    };
    let nanos = |m: u32| u64::from(m) * NANOS_PER_SEC;
    let annotations = if locale == "ko" {
        row.annotations_ko
    } else {
        row.annotations_en
    };
    pb::Alert {
        rule_id: row.rule_id,
        rule_version: row.rule_version,
        state: state as i32,
        episode: Some(pb::AlertEpisode {
            active_unix_nano: nanos(row.active),
            fired_unix_nano: nanos(row.fired),
            resolved_unix_nano: nanos(row.resolved),
            value: row.value,
            labels: row.labels.into_iter().collect(),
            annotations: annotations.into_iter().collect(),
            silenced_by,
        }),
        evaluated_unix_nano: nanos(row.evaluated),
    }
}
