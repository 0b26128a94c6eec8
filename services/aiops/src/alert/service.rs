//! The tonic AlertService: rules CRUD, TestRule, ListAlerts, silences,
//! and the notification policy and log.

use airis_analytics::page::{Fields, Page, PageKey};
use airis_analytics::query::{RequestWindow as _, Store, Window};
use airis_proto::airis::aiops::v1::{
    self as pb, AlertEpisode, AlertState, CreateRuleRequest, CreateRuleResponse,
    CreateSilenceRequest, CreateSilenceResponse, DeleteRuleRequest, DeleteRuleResponse,
    ExpireSilenceRequest, ExpireSilenceResponse, GetNotificationPolicyRequest,
    GetNotificationPolicyResponse, GetRuleRequest, GetRuleResponse, GetSilenceRequest,
    GetSilenceResponse, ListAlertsRequest, ListAlertsResponse, ListNotificationsRequest,
    ListNotificationsResponse, ListRulesRequest, ListRulesResponse, ListSilencesRequest,
    ListSilencesResponse, RuleEvaluation, SilenceState, TestRuleRequest, TestRuleResponse,
    UpdateNotificationPolicyRequest, UpdateNotificationPolicyResponse, UpdateRuleRequest,
    UpdateRuleResponse, UpdateSilenceRequest, UpdateSilenceResponse,
    alert_service_server::{AlertService, AlertServiceServer},
};
use airis_proto::tonic::{self, Request, Response, Status};
use airis_runtime::auth::{Access, Authenticator};
use airis_runtime::clock::now_unix_nano;
use airis_runtime::tenant::Tenant;
use tracing::Instrument as _;

use super::data;
use super::evaluate::{Episode, Machine, State, judge};
use super::evaluator;
use super::history::{self, Stage};
use super::notify_store;
use super::policy::Policy;
use super::rule::Rule;
use super::silence::{self, Silence, Update};
use super::silence_store;
use super::store::{self, Current};
use crate::Error;
use crate::watch::MINUTE_SECS;

/// Most rules one tenant may have.
pub const MAX_RULES_PER_TENANT: u64 = 10_000;
/// Longest window TestRule judges, in minutes (a week).
pub const MAX_TEST_MINUTES: u64 = 10_080;
/// Most silences one tenant may have that have not expired.
pub const MAX_SILENCES_PER_TENANT: u64 = 10_000;
/// Tag of ListRules' page tokens.
const PAGE_TAG: &str = "rules:name";
/// Tag of ListAlerts' page tokens.
const ALERT_PAGE_TAG: &str = "alerts:active";
/// Tag of ListSilences' page tokens.
const SILENCE_PAGE_TAG: &str = "silences:end";
/// Tag of ListNotifications' page tokens.
const NOTIFICATION_PAGE_TAG: &str = "notifications:sent";
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The alert service.
#[derive(Clone)]
pub struct Alerts {
    auth: Authenticator,
    store: Store,
}

impl Alerts {
    pub fn new(auth: Authenticator, store: Store) -> Self {
        Self { auth, store }
    }

    pub fn into_server(self) -> AlertServiceServer<Self> {
        AlertServiceServer::new(self)
    }

    /// Runs one RPC for the caller's tenant, with the access it needs.
    async fn run<Req, Resp, F>(
        &self,
        rpc: &'static str,
        access: Access,
        request: Request<Req>,
        work: impl FnOnce(Tenant, Req) -> F,
    ) -> Result<Response<Resp>, Status>
    where
        F: Future<Output = Result<Resp, Error>>,
    {
        let span = tracing::info_span!("aiops", rpc, tenant = tracing::field::Empty);
        airis_runtime::telemetry::continue_trace(&span, request.metadata());
        async move {
            let tenant = self.auth.tenant(request.metadata(), access)?;
            tracing::Span::current().record("tenant", tenant.as_str());
            Ok(Response::new(work(tenant, request.into_inner()).await?))
        }
        .instrument(span)
        .await
        .map_err(|error: Error| error.into())
    }

    fn client(&self) -> &clickhouse::Client {
        self.store.client()
    }

    async fn get(&self, tenant: &Tenant, id: &str) -> Result<pb::AlertRule, Error> {
        if id.is_empty() {
            return Err(Error::InvalidArgument("id: required".to_owned()));
        }
        store::list(self.client(), tenant, Some(id), None, 1)
            .await
            .map_err(store_error)?
            .pop()
            .ok_or_else(|| not_found(id))
    }

    /// The current version of a rule that exists; NOT_FOUND otherwise, and
    /// ABORTED when `expected` (unless 0) is not it.
    async fn check_version(
        &self,
        tenant: &Tenant,
        field: &str,
        id: &str,
        expected: u64,
    ) -> Result<u64, Error> {
        match store::current(self.client(), tenant, id)
            .await
            .map_err(store_error)?
        {
            None | Some(Current { deleted: true, .. }) => Err(not_found(id)),
            Some(Current { version, .. }) if expected != 0 && expected != version => {
                Err(Error::Aborted(format!(
                    "{field}: {expected} is not the current version {version}; read the rule again"
                )))
            }
            Some(Current { version, .. }) => Ok(version),
        }
    }
}

impl Alerts {
    async fn get_silence_by_id(&self, tenant: &Tenant, id: &str) -> Result<pb::Silence, Error> {
        if id.is_empty() {
            return Err(Error::InvalidArgument("id: required".to_owned()));
        }
        silence_store::list(self.client(), tenant, Some(id), &[], 0, None, 1)
            .await
            .map_err(store_error)?
            .pop()
            .ok_or_else(|| {
                Error::Query(airis_analytics::Error::NotFound(format!(
                    "id: no silence {id:?} in this tenant"
                )))
            })
    }

    /// Stores `silence` as a new silence starting no earlier than `now`,
    /// with a fresh id unless it has one.
    async fn create_silence_at(
        &self,
        tenant: &Tenant,
        mut silence: pb::Silence,
        now: u64,
    ) -> Result<pb::Silence, Error> {
        let count = silence_store::count_unexpired(self.client(), tenant, now)
            .await
            .map_err(store_error)?;
        if count >= MAX_SILENCES_PER_TENANT {
            return Err(Error::LimitExceeded(format!(
                "silence: the tenant has {count} silences that have not expired, at most \
                 {MAX_SILENCES_PER_TENANT}"
            )));
        }
        // As Alertmanager: a start in the past is now, so a silence never
        // claims to have muted what was already sent.
        silence.start_time_unix_nano = silence.start_time_unix_nano.max(now);
        if silence.id.is_empty() {
            silence.id = store::new_id(self.client()).await.map_err(store_error)?;
        }
        silence.version = 1;
        silence.update_time_unix_nano = now;
        silence.created_by = silence.created_by.trim().to_owned();
        silence_store::write(self.client(), tenant, &silence)
            .await
            .map_err(store_error)?;
        Ok(with_state(silence, now))
    }
}

/// `silence` with its state as of `now`.
fn with_state(mut silence: pb::Silence, now: u64) -> pb::Silence {
    silence.state = silence::state(&silence, now) as i32;
    silence
}

fn required_silence(silence: Option<pb::Silence>) -> Result<pb::Silence, Error> {
    silence.ok_or_else(|| Error::InvalidArgument("silence: required".to_owned()))
}

/// An end that has passed cannot be set: ExpireSilence ends a silence.
fn check_end_ahead(silence: &pb::Silence, now: u64) -> Result<(), Error> {
    if silence.end_time_unix_nano <= now {
        return Err(Error::InvalidArgument(
            "silence.end_time_unix_nano: already past; to end a silence now, expire it".to_owned(),
        ));
    }
    Ok(())
}

/// Where a page of ListAlerts stops: its last alert's active minute and
/// rule.
#[derive(Debug, Clone, PartialEq)]
struct AlertCursor {
    active: u32,
    rule_id: String,
}

impl PageKey for AlertCursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([self.active.to_string(), hex::encode(&self.rule_id)]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            active: fields.number()?,
            rule_id: fields.hex_text()?,
        })
    }
}

/// Where a page of ListSilences stops: its last silence's end and id.
#[derive(Debug, Clone, PartialEq)]
struct SilenceCursor {
    end: i64,
    id: String,
}

impl PageKey for SilenceCursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([self.end.to_string(), hex::encode(&self.id)]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            end: fields.number()?,
            id: fields.hex_text()?,
        })
    }
}

/// Where a page of ListNotifications stops: its last notification's time,
/// group and webhook.
#[derive(Debug, Clone, PartialEq)]
struct NotificationCursor {
    sent: i64,
    group_key: String,
    webhook: u32,
}

impl PageKey for NotificationCursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([
            self.sent.to_string(),
            hex::encode(&self.group_key),
            self.webhook.to_string(),
        ]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            sent: fields.number()?,
            group_key: fields.hex_text()?,
            webhook: fields.number()?,
        })
    }
}

fn not_found(id: &str) -> Error {
    Error::Query(airis_analytics::Error::NotFound(format!(
        "id: no rule {id:?} in this tenant"
    )))
}

fn store_error(error: clickhouse::error::Error) -> Error {
    Error::Query(error.into())
}

fn required_rule(rule: Option<pb::AlertRule>) -> Result<pb::AlertRule, Error> {
    rule.ok_or_else(|| Error::InvalidArgument("rule: required".to_owned()))
}

/// Where a page of ListRules stops: its last rule's name and id.
#[derive(Debug, Clone, PartialEq)]
struct Cursor {
    name: String,
    id: String,
}

impl PageKey for Cursor {
    fn write(&self, fields: &mut Vec<String>) {
        fields.extend([hex::encode(&self.name), hex::encode(&self.id)]);
    }

    fn read(fields: &mut Fields) -> Option<Self> {
        Some(Self {
            name: fields.hex_text()?,
            id: fields.hex_text()?,
        })
    }
}

#[tonic::async_trait]
impl AlertService for Alerts {
    async fn create_rule(
        &self,
        request: Request<CreateRuleRequest>,
    ) -> Result<Response<CreateRuleResponse>, Status> {
        self.run(
            "CreateRule",
            Access::Edit,
            request,
            |tenant, request| async move {
                let mut rule = required_rule(request.rule)?;
                if !rule.id.is_empty() {
                    return Err(Error::InvalidArgument(
                        "rule.id: the service assigns it; leave it empty".to_owned(),
                    ));
                }
                if rule.version != 0 {
                    return Err(Error::InvalidArgument(
                        "rule.version: the service assigns it; leave it 0".to_owned(),
                    ));
                }
                Rule::check("rule", &rule)?;
                let count = store::count(self.client(), &tenant)
                    .await
                    .map_err(store_error)?;
                if count >= MAX_RULES_PER_TENANT {
                    return Err(Error::LimitExceeded(format!(
                        "rule: the tenant has {count} rules, at most {MAX_RULES_PER_TENANT}"
                    )));
                }
                rule.id = store::new_id(self.client()).await.map_err(store_error)?;
                rule.version = 1;
                rule.update_time_unix_nano = now_unix_nano();
                store::write(self.client(), &tenant, &rule, false)
                    .await
                    .map_err(store_error)?;
                Ok(CreateRuleResponse { rule: Some(rule) })
            },
        )
        .await
    }

    async fn get_rule(
        &self,
        request: Request<GetRuleRequest>,
    ) -> Result<Response<GetRuleResponse>, Status> {
        self.run(
            "GetRule",
            Access::Read,
            request,
            |tenant, request| async move {
                Ok(GetRuleResponse {
                    rule: Some(self.get(&tenant, &request.id).await?),
                })
            },
        )
        .await
    }

    async fn list_rules(
        &self,
        request: Request<ListRulesRequest>,
    ) -> Result<Response<ListRulesResponse>, Status> {
        self.run(
            "ListRules",
            Access::Read,
            request,
            |tenant, request| async move {
                let page: Page<Cursor> =
                    Page::new(PAGE_TAG, request.page.as_ref(), self.store.limits())?;
                let after = page
                    .after
                    .as_ref()
                    .map(|c| (c.name.as_str(), c.id.as_str()));
                let mut rules = store::list(self.client(), &tenant, None, after, page.fetch())
                    .await
                    .map_err(store_error)?;
                let info = page.finish(&mut rules, |last| Cursor {
                    name: last.name.clone(),
                    id: last.id.clone(),
                });
                Ok(ListRulesResponse {
                    rules,
                    page: Some(info),
                })
            },
        )
        .await
    }

    async fn update_rule(
        &self,
        request: Request<UpdateRuleRequest>,
    ) -> Result<Response<UpdateRuleResponse>, Status> {
        self.run(
            "UpdateRule",
            Access::Edit,
            request,
            |tenant, request| async move {
                let mut rule = required_rule(request.rule)?;
                if rule.id.is_empty() {
                    return Err(Error::InvalidArgument("rule.id: required".to_owned()));
                }
                if rule.version == 0 {
                    return Err(Error::InvalidArgument(
                        "rule.version: required, the version the rule was read at".to_owned(),
                    ));
                }
                Rule::check("rule", &rule)?;
                let current = self
                    .check_version(&tenant, "rule.version", &rule.id, rule.version)
                    .await?;
                rule.version = current + 1;
                rule.update_time_unix_nano = now_unix_nano();
                store::write(self.client(), &tenant, &rule, false)
                    .await
                    .map_err(store_error)?;
                Ok(UpdateRuleResponse { rule: Some(rule) })
            },
        )
        .await
    }

    async fn delete_rule(
        &self,
        request: Request<DeleteRuleRequest>,
    ) -> Result<Response<DeleteRuleResponse>, Status> {
        self.run(
            "DeleteRule",
            Access::Edit,
            request,
            |tenant, request| async move {
                if request.id.is_empty() {
                    return Err(Error::InvalidArgument("id: required".to_owned()));
                }
                let current = self
                    .check_version(&tenant, "version", &request.id, request.version)
                    .await?;
                // The tombstone keeps the rule's last content, so its history
                // stays readable in the table.
                let mut rule = self.get(&tenant, &request.id).await?;
                rule.version = current + 1;
                rule.update_time_unix_nano = now_unix_nano();
                store::write(self.client(), &tenant, &rule, true)
                    .await
                    .map_err(store_error)?;
                Ok(DeleteRuleResponse {})
            },
        )
        .await
    }

    async fn list_alerts(
        &self,
        request: Request<ListAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        self.run(
            "ListAlerts",
            Access::Read,
            request,
            |tenant, request| async move {
                let stages = request
                    .states
                    .iter()
                    .enumerate()
                    .map(|(i, &state)| match AlertState::try_from(state) {
                        Ok(AlertState::Pending) => Ok(Stage::Pending),
                        Ok(AlertState::Firing) => Ok(Stage::Firing),
                        Ok(AlertState::Resolved) => Ok(Stage::Resolved),
                        _ => Err(Error::InvalidArgument(format!(
                            "states[{i}]: {state} is not one of PENDING, FIRING, RESOLVED"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let window = match &request.time_range {
                    Some(range) => {
                        let w = Window::from_proto("time_range", Some(range), self.store.limits())?;
                        Some((w.start, w.end))
                    }
                    None => None,
                };
                let page: Page<AlertCursor> =
                    Page::new(ALERT_PAGE_TAG, request.page.as_ref(), self.store.limits())?;
                let filter = history::Filter {
                    stages: &stages,
                    rule_id: &request.rule_id,
                    window,
                    after: page.after.as_ref().map(|c| (c.active, c.rule_id.as_str())),
                    limit: page.fetch(),
                };
                let mut rows = history::list(self.client(), &tenant, &filter)
                    .await
                    .map_err(store_error)?;
                let info = page.finish(&mut rows, |last| AlertCursor {
                    active: last.active,
                    rule_id: last.rule_id.clone(),
                });
                // The silences in force when each alert fired.
                let fired = rows.iter().filter(|r| r.fired != 0).map(|r| r.fired);
                let silences: Vec<(String, u64, u64, Silence)> =
                    match (fired.clone().min(), fired.max()) {
                        (Some(first), Some(last)) => silence_store::during(
                            self.client(),
                            &tenant,
                            u64::from(first) * NANOS_PER_SEC,
                            (u64::from(last) + u64::from(MINUTE_SECS)) * NANOS_PER_SEC,
                        )
                        .await
                        .map_err(store_error)?
                        .into_iter()
                        .filter_map(|s| {
                            let checked = Silence::check("silence", &s).ok()?;
                            Some((s.id, s.start_time_unix_nano, s.end_time_unix_nano, checked))
                        })
                        .collect(),
                        _ => Vec::new(),
                    };
                let alerts = rows
                    .into_iter()
                    .map(|row| {
                        let silenced_by = if row.fired == 0 {
                            Vec::new()
                        } else {
                            let matching: Vec<(String, u64, u64)> = silences
                                .iter()
                                .filter(|(.., s)| s.matches(&row.labels))
                                .map(|(id, start, end, _)| (id.clone(), *start, *end))
                                .collect();
                            silence::active_in_minute(
                                &matching,
                                u64::from(row.fired) * NANOS_PER_SEC,
                            )
                        };
                        evaluator::to_proto(row, &request.locale, silenced_by)
                    })
                    .collect();
                Ok(ListAlertsResponse {
                    alerts,
                    page: Some(info),
                })
            },
        )
        .await
    }

    async fn create_silence(
        &self,
        request: Request<CreateSilenceRequest>,
    ) -> Result<Response<CreateSilenceResponse>, Status> {
        self.run(
            "CreateSilence",
            Access::Edit,
            request,
            |tenant, request| async move {
                let silence = required_silence(request.silence)?;
                if !silence.id.is_empty() {
                    return Err(Error::InvalidArgument(
                        "silence.id: the service assigns it; leave it empty".to_owned(),
                    ));
                }
                if silence.version != 0 {
                    return Err(Error::InvalidArgument(
                        "silence.version: the service assigns it; leave it 0".to_owned(),
                    ));
                }
                Silence::check("silence", &silence)?;
                let now = now_unix_nano();
                check_end_ahead(&silence, now)?;
                let silence = self.create_silence_at(&tenant, silence, now).await?;
                Ok(CreateSilenceResponse {
                    silence: Some(silence),
                })
            },
        )
        .await
    }

    async fn get_silence(
        &self,
        request: Request<GetSilenceRequest>,
    ) -> Result<Response<GetSilenceResponse>, Status> {
        self.run(
            "GetSilence",
            Access::Read,
            request,
            |tenant, request| async move {
                let silence = self.get_silence_by_id(&tenant, &request.id).await?;
                Ok(GetSilenceResponse {
                    silence: Some(with_state(silence, now_unix_nano())),
                })
            },
        )
        .await
    }

    async fn list_silences(
        &self,
        request: Request<ListSilencesRequest>,
    ) -> Result<Response<ListSilencesResponse>, Status> {
        self.run(
            "ListSilences",
            Access::Read,
            request,
            |tenant, request| async move {
                let states = request
                    .states
                    .iter()
                    .enumerate()
                    .map(|(i, &state)| match SilenceState::try_from(state) {
                        Ok(SilenceState::Unspecified) | Err(_) => Err(Error::InvalidArgument(
                            format!("states[{i}]: {state} is not one of PENDING, ACTIVE, EXPIRED"),
                        )),
                        Ok(state) => Ok(state),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let page: Page<SilenceCursor> =
                    Page::new(SILENCE_PAGE_TAG, request.page.as_ref(), self.store.limits())?;
                let now = now_unix_nano();
                let after = page.after.as_ref().map(|c| (c.end, c.id.as_str()));
                let mut silences = silence_store::list(
                    self.client(),
                    &tenant,
                    None,
                    &states,
                    now,
                    after,
                    page.fetch(),
                )
                .await
                .map_err(store_error)?;
                let info = page.finish(&mut silences, |last| SilenceCursor {
                    end: i64::try_from(last.end_time_unix_nano).unwrap_or(i64::MAX),
                    id: last.id.clone(),
                });
                Ok(ListSilencesResponse {
                    silences: silences.into_iter().map(|s| with_state(s, now)).collect(),
                    page: Some(info),
                })
            },
        )
        .await
    }

    async fn update_silence(
        &self,
        request: Request<UpdateSilenceRequest>,
    ) -> Result<Response<UpdateSilenceResponse>, Status> {
        self.run(
            "UpdateSilence",
            Access::Edit,
            request,
            |tenant, request| async move {
                let mut wanted = required_silence(request.silence)?;
                if wanted.id.is_empty() {
                    return Err(Error::InvalidArgument("silence.id: required".to_owned()));
                }
                if wanted.version == 0 {
                    return Err(Error::InvalidArgument(
                        "silence.version: required, the version the silence was read at".to_owned(),
                    ));
                }
                Silence::check("silence", &wanted)?;
                let current = self.get_silence_by_id(&tenant, &wanted.id).await?;
                if current.version != wanted.version {
                    return Err(Error::Aborted(format!(
                        "silence.version: {} is not the current version {}; read the silence again",
                        wanted.version, current.version
                    )));
                }
                let now = now_unix_nano();
                check_end_ahead(&wanted, now)?;
                let silence = match silence::update(&current, &wanted, now) {
                    Update::InPlace => {
                        wanted.version = current.version + 1;
                        wanted.update_time_unix_nano = now;
                        wanted.created_by = wanted.created_by.trim().to_owned();
                        silence_store::write(self.client(), &tenant, &wanted)
                            .await
                            .map_err(store_error)?;
                        with_state(wanted, now)
                    }
                    Update::Replace if silence::state(&current, now) == SilenceState::Expired => {
                        wanted.id = store::new_id(self.client()).await.map_err(store_error)?;
                        self.create_silence_at(&tenant, wanted, now).await?
                    }
                    Update::Replace => {
                        // The new silence first: should the second write
                        // fail, both mute for a while rather than neither,
                        // and a retry (the same version again) finds the
                        // same new id, so it makes no second silence.
                        let seed =
                            format!("{}:{}:{}", tenant.as_str(), current.id, current.version);
                        wanted.id = store::derived_id(self.client(), &seed)
                            .await
                            .map_err(store_error)?;
                        let new = self.create_silence_at(&tenant, wanted, now).await?;
                        silence_store::write(self.client(), &tenant, &silence::ended(current, now))
                            .await
                            .map_err(store_error)?;
                        new
                    }
                };
                Ok(UpdateSilenceResponse {
                    silence: Some(silence),
                })
            },
        )
        .await
    }

    async fn expire_silence(
        &self,
        request: Request<ExpireSilenceRequest>,
    ) -> Result<Response<ExpireSilenceResponse>, Status> {
        self.run(
            "ExpireSilence",
            Access::Edit,
            request,
            |tenant, request| async move {
                let current = self.get_silence_by_id(&tenant, &request.id).await?;
                let now = now_unix_nano();
                if silence::state(&current, now) == SilenceState::Expired {
                    return Ok(ExpireSilenceResponse {
                        silence: Some(with_state(current, now)),
                    });
                }
                let ended = silence::ended(current, now);
                silence_store::write(self.client(), &tenant, &ended)
                    .await
                    .map_err(store_error)?;
                Ok(ExpireSilenceResponse {
                    silence: Some(with_state(ended, now)),
                })
            },
        )
        .await
    }

    async fn get_notification_policy(
        &self,
        request: Request<GetNotificationPolicyRequest>,
    ) -> Result<Response<GetNotificationPolicyResponse>, Status> {
        self.run(
            "GetNotificationPolicy",
            Access::Read,
            request,
            |tenant, _| async move {
                let policy = notify_store::get(self.client(), &tenant)
                    .await
                    .map_err(store_error)?;
                Ok(GetNotificationPolicyResponse {
                    policy: Some(policy),
                })
            },
        )
        .await
    }

    async fn update_notification_policy(
        &self,
        request: Request<UpdateNotificationPolicyRequest>,
    ) -> Result<Response<UpdateNotificationPolicyResponse>, Status> {
        self.run(
            "UpdateNotificationPolicy",
            Access::Edit,
            request,
            |tenant, request| async move {
                let Some(mut policy) = request.policy else {
                    return Err(Error::InvalidArgument("policy: required".to_owned()));
                };
                Policy::check("policy", &policy)?;
                let current = notify_store::get(self.client(), &tenant)
                    .await
                    .map_err(store_error)?;
                if current.version != policy.version {
                    return Err(Error::Aborted(format!(
                        "policy.version: {} is not the current version {}; read the policy again",
                        policy.version, current.version
                    )));
                }
                policy.version = current.version + 1;
                policy.update_time_unix_nano = now_unix_nano();
                notify_store::write(self.client(), &tenant, &policy)
                    .await
                    .map_err(store_error)?;
                Ok(UpdateNotificationPolicyResponse {
                    policy: Some(policy),
                })
            },
        )
        .await
    }

    async fn list_notifications(
        &self,
        request: Request<ListNotificationsRequest>,
    ) -> Result<Response<ListNotificationsResponse>, Status> {
        self.run(
            "ListNotifications",
            Access::Read,
            request,
            |tenant, request| async move {
                let page: Page<NotificationCursor> = Page::new(
                    NOTIFICATION_PAGE_TAG,
                    request.page.as_ref(),
                    self.store.limits(),
                )?;
                let before = page
                    .after
                    .as_ref()
                    .map(|c| (c.sent, c.group_key.as_str(), c.webhook));
                let mut rows = notify_store::list(
                    self.client(),
                    &tenant,
                    &request.receiver,
                    before,
                    page.fetch(),
                )
                .await
                .map_err(store_error)?;
                let info = page.finish(&mut rows, |last| NotificationCursor {
                    sent: last.sent_at,
                    group_key: last.group_key.clone(),
                    webhook: last.webhook,
                });
                let notifications = rows
                    .into_iter()
                    .map(|row| {
                        let firing = row.firing.len() as u32;
                        pb::Notification {
                            receiver: row.receiver,
                            webhook: row.webhook,
                            group_key: row.group_key,
                            group_labels: row.group_labels.into_iter().collect(),
                            status: if firing > 0 {
                                AlertState::Firing
                            } else {
                                AlertState::Resolved
                            } as i32,
                            firing,
                            resolved: row.resolved.len() as u32,
                            time_unix_nano: u64::try_from(row.sent_at).unwrap_or(0),
                            delivered: row.delivered != 0,
                            error: row.error,
                        }
                    })
                    .collect();
                Ok(ListNotificationsResponse {
                    notifications,
                    page: Some(info),
                })
            },
        )
        .await
    }

    async fn test_rule(
        &self,
        request: Request<TestRuleRequest>,
    ) -> Result<Response<TestRuleResponse>, Status> {
        self.run(
            "TestRule",
            Access::Read,
            request,
            |tenant, request| async move {
                let rule = Rule::check("rule", &required_rule(request.rule)?)?;
                let window = Window::from_proto(
                    "time_range",
                    request.time_range.as_ref(),
                    self.store.limits(),
                )?;
                let minutes = (window.end - window.start) / NANOS_PER_SEC / u64::from(MINUTE_SECS);
                if minutes > MAX_TEST_MINUTES {
                    return Err(Error::LimitExceeded(format!(
                        "time_range: {minutes} minutes, at most {MAX_TEST_MINUTES} (a week)"
                    )));
                }
                test(&self.store, &tenant, &rule, window, &request.locale).await
            },
        )
        .await
    }
}

/// Judges `rule` over the whole minutes of `window` (and before, as far as
/// its condition and `for_minutes` look back).
async fn test(
    store: &Store,
    tenant: &Tenant,
    rule: &Rule,
    window: Window,
    locale: &str,
) -> Result<TestRuleResponse, Error> {
    let minute = |nanos: u64| {
        u32::try_from(nanos / NANOS_PER_SEC / u64::from(MINUTE_SECS) * u64::from(MINUTE_SECS))
            .unwrap_or(u32::MAX)
    };
    let start = minute(window.start);
    let end = minute(window.end.min(now_unix_nano()));
    if end <= start {
        return Ok(TestRuleResponse::default());
    }
    let warmup = (rule.lookback_minutes() + rule.for_minutes) * MINUTE_SECS;
    let first = start.saturating_sub(warmup);
    let minutes = data::minutes(store, tenant, "rule", rule, first, end).await?;
    let judged = judge(&rule.condition, first, &minutes);
    let labels = rule.labels();
    // Silences are matched once, against the rule's labels (every alert
    // of a rule has the same), then by time per alert.
    let silences: Vec<(String, u64, u64)> = silence_store::during(
        store.client(),
        tenant,
        u64::from(first) * NANOS_PER_SEC,
        window.end,
    )
    .await
    .map_err(store_error)?
    .into_iter()
    .filter(|s| Silence::check("silence", s).is_ok_and(|c| c.matches(&labels)))
    .map(|s| (s.id, s.start_time_unix_nano, s.end_time_unix_nano))
    .collect();
    let episode = |e: &Episode| AlertEpisode {
        active_unix_nano: u64::from(e.active) * NANOS_PER_SEC,
        fired_unix_nano: e.fired.map_or(0, |m| u64::from(m) * NANOS_PER_SEC),
        resolved_unix_nano: e.resolved.map_or(0, |m| u64::from(m) * NANOS_PER_SEC),
        value: e.value,
        labels: labels.clone().into_iter().collect(),
        annotations: rule
            .annotations
            .iter()
            .map(|a| (a.name.clone(), a.render(locale, e.value, &labels)))
            .collect(),
        silenced_by: e.fired.map_or_else(Vec::new, |m| {
            silence::active_in_minute(&silences, u64::from(m) * NANOS_PER_SEC)
        }),
    };
    let mut machine = Machine::new(rule.for_minutes);
    let mut response = TestRuleResponse::default();
    for j in &judged {
        if let Some(ended) = machine.step(j)
            && ended.resolved.is_some_and(|r| r > start)
        {
            response.alerts.push(episode(&ended));
        }
        if j.minute >= start {
            response.evaluations.push(RuleEvaluation {
                time_unix_nano: u64::from(j.minute) * NANOS_PER_SEC,
                has_value: j.value.is_some(),
                value: j.value.unwrap_or(0.0),
                breached: j.breached,
                state: match machine.state() {
                    State::Inactive => AlertState::Inactive,
                    State::Pending => AlertState::Pending,
                    State::Firing => AlertState::Firing,
                } as i32,
            });
        }
    }
    if let Some(open) = machine.open() {
        response.alerts.push(episode(open));
    }
    Ok(response)
}
