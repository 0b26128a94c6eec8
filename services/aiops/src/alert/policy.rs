//! A tenant's notification policy, as Alertmanager's configuration has
//! it: receivers, and a route tree that picks the routes of an alert and
//! splits its alerts into groups. Checked field by field from a
//! [`pb::NotificationPolicy`]; pure.

use std::collections::{BTreeMap, HashSet};

use airis_proto::airis::aiops::v1 as pb;

use super::rule::{MAX_NAME_CHARS, valid_name};
use super::silence::{Matcher, all_match, check_matchers};
use crate::Error;

pub(crate) const MAX_RECEIVERS: usize = 64;
pub(crate) const MAX_WEBHOOKS: usize = 8;
const MAX_ALERTMANAGERS: usize = 8;
/// The receiver name the notification log lists Alertmanager forwarding
/// under.
pub(crate) const RESERVED_RECEIVER: &str = "alertmanager";
const MAX_CHILDREN: usize = 64;
const MAX_DEPTH: usize = 8;
const MAX_URL_BYTES: usize = 2_048;
const MAX_GROUP_BY: usize = 32;
/// Alertmanager's defaults at the root.
const DEFAULT_TIMING: Timing = Timing {
    wait: 30,
    interval: 300,
    repeat: 4 * 3_600,
};
const MAX_WAIT_SECS: u32 = 86_400;
const MAX_INTERVAL_SECS: u32 = 86_400;
const MAX_REPEAT_SECS: u32 = 7 * 86_400;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// Seconds, as a route has them once inherited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) wait: u32,
    pub(crate) interval: u32,
    pub(crate) repeat: u32,
}

/// Where a webhook posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    pub(crate) url: http::Uri,
    pub(crate) send_resolved: bool,
    /// 0: no limit.
    pub(crate) max_alerts: u32,
    pub(crate) korean: bool,
}

/// An Alertmanager alerts are forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alertmanager {
    /// `<url>/api/v2/alerts`.
    pub(crate) alerts_url: http::Uri,
    pub(crate) korean: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    pub(crate) name: String,
    pub(crate) webhooks: Vec<Webhook>,
}

/// How a route splits its alerts into groups.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupBy {
    /// `...`: every label; each alert its own group.
    All,
    Labels(Vec<String>),
}

/// A route with everything inherited filled in.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// Alertmanager's route key: the matchers of every route from the root.
    pub(crate) key: String,
    pub(crate) receiver: String,
    group_by: GroupBy,
    matchers: Vec<Matcher>,
    next_too: bool,
    pub(crate) timing: Timing,
    routes: Vec<Route>,
}

/// A checked policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) version: u64,
    receivers: Vec<Receiver>,
    root: Route,
    pub(crate) alertmanagers: Vec<Alertmanager>,
}

impl Policy {
    /// Checks every field a caller sets; `field` names the policy in
    /// errors (`policy`).
    pub(crate) fn check(field: &str, p: &pb::NotificationPolicy) -> Result<Self, Error> {
        if p.receivers.len() > MAX_RECEIVERS {
            return Err(invalid(format!(
                "{field}.receivers: {}, at most {MAX_RECEIVERS}",
                p.receivers.len()
            )));
        }
        let mut names = HashSet::new();
        let mut receivers = Vec::with_capacity(p.receivers.len());
        for (i, r) in p.receivers.iter().enumerate() {
            let at = format!("{field}.receivers[{i}]");
            let receiver = check_receiver(&at, r)?;
            if receiver.name == RESERVED_RECEIVER {
                return Err(invalid(format!(
                    "{at}.name: \"{RESERVED_RECEIVER}\" is where the policy's Alertmanagers are \
                     logged; choose another name"
                )));
            }
            if !names.insert(receiver.name.clone()) {
                return Err(invalid(format!(
                    "{at}.name: {:?} is used by another receiver",
                    receiver.name
                )));
            }
            receivers.push(receiver);
        }
        let Some(route) = &p.route else {
            return Err(invalid(format!("{field}.route: required")));
        };
        let at = format!("{field}.route");
        if route.receiver.is_empty() {
            return Err(invalid(format!(
                "{at}.receiver: required at the root (where alerts no other route takes go)"
            )));
        }
        if !route.matchers.is_empty() {
            return Err(invalid(format!(
                "{at}.matchers: the root takes every alert; put matchers on its routes"
            )));
        }
        if route.r#continue {
            return Err(invalid(format!(
                "{at}.continue: the root has no siblings to continue to"
            )));
        }
        let root_parent = Parent {
            key: "",
            receiver: "",
            group_by: &GroupBy::Labels(Vec::new()),
            timing: DEFAULT_TIMING,
            depth: 0,
            receivers: &names,
        };
        let root = check_route(&at, route, &root_parent, "{}".to_owned())?;
        if p.alertmanagers.len() > MAX_ALERTMANAGERS {
            return Err(invalid(format!(
                "{field}.alertmanagers: {}, at most {MAX_ALERTMANAGERS}",
                p.alertmanagers.len()
            )));
        }
        let alertmanagers = p
            .alertmanagers
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let at = format!("{field}.alertmanagers[{i}]");
                let url = check_url(&format!("{at}.url"), &a.url)?;
                if url.query().is_some() {
                    return Err(invalid(format!(
                        "{at}.url: {:?} has a query; give the Alertmanager's base address",
                        a.url
                    )));
                }
                let alerts_url = format!("{}/api/v2/alerts", a.url.trim_end_matches('/'))
                    .parse()
                    .map_err(|e| invalid(format!("{at}.url: {:?}: {e}", a.url)))?;
                Ok(Alertmanager {
                    alerts_url,
                    korean: check_locale(&format!("{at}.locale"), &a.locale)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            version: p.version,
            receivers,
            root,
            alertmanagers,
        })
    }

    pub(crate) fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// The routes that take an alert with `labels`, as Alertmanager's
    /// `Route.Match`: from the root down to the first matching child (and
    /// the siblings after it when it continues), the deepest routes.
    pub(crate) fn routes_for<'a>(&'a self, labels: &BTreeMap<String, String>) -> Vec<&'a Route> {
        let mut out = Vec::new();
        self.root.collect(labels, &mut out);
        out
    }
}

impl Route {
    fn collect<'a>(&'a self, labels: &BTreeMap<String, String>, out: &mut Vec<&'a Route>) -> bool {
        if !all_match(&self.matchers, labels) {
            return false;
        }
        let before = out.len();
        for child in &self.routes {
            if child.collect(labels, out) && !child.next_too {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
        true
    }

    /// The labels of `labels` this route groups by, and its group key (as
    /// Alertmanager's: `<route key>:{name="value", ...}`).
    pub(crate) fn group(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, String) {
        let group: BTreeMap<String, String> = match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => names
                .iter()
                .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        };
        let key = format!("{}:{}", self.key, label_set(&group));
        (group, key)
    }
}

/// `{a="x", b="y"}`, as Prometheus prints a label set.
pub(crate) fn label_set(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn check_receiver(at: &str, r: &pb::Receiver) -> Result<Receiver, Error> {
    let name = r.name.trim();
    if name.is_empty() {
        return Err(invalid(format!("{at}.name: required")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "{at}.name: more than {MAX_NAME_CHARS} characters"
        )));
    }
    if r.webhooks.len() > MAX_WEBHOOKS {
        return Err(invalid(format!(
            "{at}.webhooks: {}, at most {MAX_WEBHOOKS}",
            r.webhooks.len()
        )));
    }
    let webhooks = r
        .webhooks
        .iter()
        .enumerate()
        .map(|(i, w)| check_webhook(&format!("{at}.webhooks[{i}]"), w))
        .collect::<Result<_, _>>()?;
    Ok(Receiver {
        name: name.to_owned(),
        webhooks,
    })
}

/// An http:// URL with a host; `field` names it in errors.
fn check_url(field: &str, text: &str) -> Result<http::Uri, Error> {
    if text.is_empty() {
        return Err(invalid(format!("{field}: required")));
    }
    if text.len() > MAX_URL_BYTES {
        return Err(invalid(format!("{field}: more than {MAX_URL_BYTES} bytes")));
    }
    let url: http::Uri = text
        .parse()
        .map_err(|e| invalid(format!("{field}: {text:?} is not a URL: {e}")))?;
    match url.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(format!(
                "{field}: https is not sent directly; give the http:// address your sidecar's \
                 egress originates TLS for (docs/aiops.md, Notifications)"
            )));
        }
        _ => return Err(invalid(format!("{field}: {text:?} is not an http:// URL"))),
    }
    if url.host().is_none_or(str::is_empty) {
        return Err(invalid(format!("{field}: {text:?} has no host")));
    }
    Ok(url)
}

/// Korean (`ko`) or English (`en`, empty).
fn check_locale(field: &str, locale: &str) -> Result<bool, Error> {
    match locale {
        "" | "en" => Ok(false),
        "ko" => Ok(true),
        other => Err(invalid(format!(
            "{field}: {other:?}, expected \"ko\" or \"en\""
        ))),
    }
}

fn check_webhook(at: &str, w: &pb::WebhookConfig) -> Result<Webhook, Error> {
    Ok(Webhook {
        url: check_url(&format!("{at}.url"), &w.url)?,
        send_resolved: w.send_resolved.unwrap_or(true),
        max_alerts: w.max_alerts,
        korean: check_locale(&format!("{at}.locale"), &w.locale)?,
    })
}

/// What a route inherits.
struct Parent<'a> {
    key: &'a str,
    receiver: &'a str,
    group_by: &'a GroupBy,
    timing: Timing,
    depth: usize,
    receivers: &'a HashSet<String>,
}

fn check_route(at: &str, r: &pb::Route, parent: &Parent<'_>, key: String) -> Result<Route, Error> {
    let receiver = if r.receiver.is_empty() {
        parent.receiver.to_owned()
    } else if parent.receivers.contains(&r.receiver) {
        r.receiver.clone()
    } else {
        return Err(invalid(format!(
            "{at}.receiver: no receiver named {:?}",
            r.receiver
        )));
    };
    if r.group_by.len() > MAX_GROUP_BY {
        return Err(invalid(format!(
            "{at}.group_by: {}, at most {MAX_GROUP_BY}",
            r.group_by.len()
        )));
    }
    let group_by = if r.group_by.is_empty() {
        parent.group_by.clone()
    } else if r.group_by.iter().any(|n| n == "...") {
        if r.group_by.len() > 1 {
            return Err(invalid(format!(
                "{at}.group_by: \"...\" (every label) stands alone"
            )));
        }
        GroupBy::All
    } else {
        let mut seen = HashSet::new();
        for (i, name) in r.group_by.iter().enumerate() {
            if !valid_name(name) {
                return Err(invalid(format!(
                    "{at}.group_by[{i}]: {name:?} is not a label name"
                )));
            }
            if !seen.insert(name) {
                return Err(invalid(format!("{at}.group_by[{i}]: {name:?} twice")));
            }
        }
        GroupBy::Labels(r.group_by.clone())
    };
    let matchers = check_matchers(&format!("{at}.matchers"), &r.matchers)?;
    let wait = r.group_wait_seconds.unwrap_or(parent.timing.wait);
    if wait > MAX_WAIT_SECS {
        return Err(invalid(format!(
            "{at}.group_wait_seconds: {wait}, at most {MAX_WAIT_SECS}"
        )));
    }
    let interval = r.group_interval_seconds.unwrap_or(parent.timing.interval);
    if !(1..=MAX_INTERVAL_SECS).contains(&interval) {
        return Err(invalid(format!(
            "{at}.group_interval_seconds: {interval}, expected 1 to {MAX_INTERVAL_SECS}"
        )));
    }
    let repeat = r.repeat_interval_seconds.unwrap_or(parent.timing.repeat);
    if !(1..=MAX_REPEAT_SECS).contains(&repeat) {
        return Err(invalid(format!(
            "{at}.repeat_interval_seconds: {repeat}, expected 1 to {MAX_REPEAT_SECS}"
        )));
    }
    if repeat < interval {
        return Err(invalid(format!(
            "{at}.repeat_interval_seconds: {repeat}, shorter than the group interval \
             ({interval}); a group is only looked at every group interval"
        )));
    }
    if r.routes.len() > MAX_CHILDREN {
        return Err(invalid(format!(
            "{at}.routes: {}, at most {MAX_CHILDREN}",
            r.routes.len()
        )));
    }
    if !r.routes.is_empty() && parent.depth + 1 >= MAX_DEPTH {
        return Err(invalid(format!(
            "{at}.routes: the tree is at most {MAX_DEPTH} deep"
        )));
    }
    let timing = Timing {
        wait,
        interval,
        repeat,
    };
    let me = Parent {
        key: &key,
        receiver: &receiver,
        group_by: &group_by,
        timing,
        depth: parent.depth + 1,
        receivers: parent.receivers,
    };
    let mut keys = HashSet::new();
    let mut routes = Vec::with_capacity(r.routes.len());
    for (i, child) in r.routes.iter().enumerate() {
        let mut child_key = format!("{}/{}", me.key, matchers_text(&child.matchers));
        // Siblings with the same matchers stay apart.
        if !keys.insert(child_key.clone()) {
            child_key = format!("{child_key}/{i}");
        }
        routes.push(check_route(
            &format!("{at}.routes[{i}]"),
            child,
            &me,
            child_key,
        )?);
    }
    Ok(Route {
        key,
        receiver,
        group_by,
        matchers,
        next_too: r.r#continue,
        timing,
        routes,
    })
}

fn matchers_text(matchers: &[pb::LabelMatcher]) -> String {
    let op = |o: i32| match pb::MatchOperator::try_from(o) {
        Ok(pb::MatchOperator::NotEqual) => "!=",
        Ok(pb::MatchOperator::Regex) => "=~",
        Ok(pb::MatchOperator::NotRegex) => "!~",
        _ => "=",
    };
    let parts: Vec<String> = matchers
        .iter()
        .map(|m| format!("{}{}{:?}", m.name, op(m.operator), m.value))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Prometheus' fingerprint of a label set (FNV-1a 64 over the sorted
/// names and values, each followed by 0xff), as 16 hex digits: the same
/// alert has the same fingerprint here and in Alertmanager.
pub(crate) fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (k, v) in labels {
        add(k.as_bytes());
        add(v.as_bytes());
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn eq(name: &str, value: &str) -> pb::LabelMatcher {
        pb::LabelMatcher {
            name: name.into(),
            value: value.into(),
            operator: pb::MatchOperator::Equal as i32,
        }
    }

    fn receiver(name: &str) -> pb::Receiver {
        pb::Receiver {
            name: name.into(),
            webhooks: vec![pb::WebhookConfig {
                url: format!("http://hooks.local/{name}"),
                ..Default::default()
            }],
        }
    }

    fn policy() -> pb::NotificationPolicy {
        pb::NotificationPolicy {
            receivers: vec![receiver("default"), receiver("pager"), receiver("audit")],
            route: Some(pb::Route {
                receiver: "default".into(),
                group_by: vec!["alertname".into()],
                group_wait_seconds: Some(0),
                routes: vec![
                    pb::Route {
                        receiver: "audit".into(),
                        r#continue: true,
                        group_by: vec!["...".into()],
                        ..Default::default()
                    },
                    pb::Route {
                        receiver: "pager".into(),
                        matchers: vec![eq("severity", "page")],
                        repeat_interval_seconds: Some(3_600),
                        routes: vec![pb::Route {
                            matchers: vec![eq("service_name", "checkout")],
                            group_by: vec!["service_name".into()],
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn routes_go_to_the_first_match_and_continue_on_request() {
        let p = Policy::check("policy", &policy()).unwrap();
        let names = |l: &BTreeMap<String, String>| -> Vec<(String, String)> {
            p.routes_for(l)
                .iter()
                .map(|r| (r.receiver.clone(), r.key.clone()))
                .collect()
        };
        // Audit continues; nothing else matches: the root too.
        assert_eq!(
            names(&labels(&[("alertname", "a")])),
            [("audit".into(), "{}/{}".into())]
        );
        let paged = labels(&[("alertname", "a"), ("severity", "page")]);
        assert_eq!(
            names(&paged),
            [
                ("audit".into(), "{}/{}".into()),
                ("pager".into(), "{}/{severity=\"page\"}".into())
            ]
        );
        // The deepest match, its receiver inherited.
        let checkout = labels(&[
            ("alertname", "a"),
            ("severity", "page"),
            ("service_name", "checkout"),
        ]);
        let routes = p.routes_for(&checkout);
        let last = routes.last().unwrap();
        assert_eq!(last.receiver, "pager");
        assert_eq!(
            last.key,
            "{}/{severity=\"page\"}/{service_name=\"checkout\"}"
        );
        // Timing inherited down the tree, each override from where it is set.
        assert_eq!(
            last.timing,
            Timing {
                wait: 0,
                interval: 300,
                repeat: 3_600
            }
        );
        let (group, key) = last.group(&checkout);
        assert_eq!(group, labels(&[("service_name", "checkout")]));
        assert_eq!(
            key,
            "{}/{severity=\"page\"}/{service_name=\"checkout\"}:{service_name=\"checkout\"}"
        );
        // "...": every label.
        let (group, _) = routes[0].group(&checkout);
        assert_eq!(group, checkout);
    }

    #[test]
    fn a_route_without_children_matching_is_its_own_match() {
        let mut p = policy();
        p.route.as_mut().unwrap().routes.remove(0);
        let p = Policy::check("policy", &p).unwrap();
        let routes = p.routes_for(&labels(&[("alertname", "a")]));
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].key, "{}");
        let (group, key) = routes[0].group(&labels(&[("alertname", "a"), ("x", "y")]));
        assert_eq!(group, labels(&[("alertname", "a")]));
        assert_eq!(key, "{}:{alertname=\"a\"}");
    }

    #[test]
    fn bad_policies_name_the_field() {
        let err = |f: &dyn Fn(&mut pb::NotificationPolicy)| {
            let mut p = policy();
            f(&mut p);
            match Policy::check("policy", &p) {
                Err(Error::InvalidArgument(m)) => m,
                other => panic!("{other:?}"),
            }
        };
        assert!(err(&|p| p.route = None).starts_with("policy.route: required"));
        assert!(
            err(&|p| p.route.as_mut().unwrap().routes[1].receiver = "nobody".into())
                .starts_with("policy.route.routes[1].receiver: no receiver named \"nobody\"")
        );
        assert!(
            err(&|p| p.receivers[1].name = "default".into())
                .starts_with("policy.receivers[1].name: \"default\" is used")
        );
        assert!(
            err(&|p| p.receivers[0].webhooks[0].url = "https://hooks.local/x".into())
                .starts_with("policy.receivers[0].webhooks[0].url: https is not sent directly")
        );
        assert!(
            err(&|p| p.receivers[0].webhooks[0].url = "hooks.local/x".into())
                .starts_with("policy.receivers[0].webhooks[0].url:")
        );
        assert!(
            err(&|p| p.receivers[0].webhooks[0].locale = "jp".into())
                .starts_with("policy.receivers[0].webhooks[0].locale")
        );
        assert!(
            err(&|p| p.alertmanagers.push(pb::AlertmanagerConfig {
                url: "alertmanager:9093".into(),
                locale: String::new(),
            }))
            .starts_with("policy.alertmanagers[0].url:")
        );
        assert!(
            err(&|p| p.route.as_mut().unwrap().receiver.clear())
                .starts_with("policy.route.receiver: required")
        );
        assert!(
            err(&|p| p.route.as_mut().unwrap().matchers.push(eq("a", "b")))
                .starts_with("policy.route.matchers")
        );
        assert!(
            err(&|p| p.route.as_mut().unwrap().routes[1].repeat_interval_seconds = Some(60))
                .starts_with("policy.route.routes[1].repeat_interval_seconds: 60, shorter")
        );
        assert!(
            err(&|p| p.route.as_mut().unwrap().routes[1].group_interval_seconds = Some(0))
                .starts_with("policy.route.routes[1].group_interval_seconds: 0")
        );
        assert!(
            err(&|p| p.route.as_mut().unwrap().routes[0].group_by = vec!["...".into(), "a".into()])
                .starts_with("policy.route.routes[0].group_by")
        );
        assert!(
            err(&|p| p.route.as_mut().unwrap().routes[1].routes[0].matchers[0].operator = 0)
                .starts_with("policy.route.routes[1].routes[0].matchers[0].operator")
        );
    }

    #[test]
    fn alerts_go_to_an_alertmanagers_v2_api() {
        let mut p = policy();
        p.alertmanagers.push(pb::AlertmanagerConfig {
            url: "http://alertmanager:9093/".into(),
            locale: "ko".into(),
        });
        let p = Policy::check("policy", &p).unwrap();
        assert_eq!(
            p.alertmanagers,
            [Alertmanager {
                alerts_url: "http://alertmanager:9093/api/v2/alerts".parse().unwrap(),
                korean: true
            }]
        );
    }

    #[test]
    fn fingerprints_are_prometheus_ones() {
        // Prometheus' model: the empty set's fingerprint is FNV-1a's offset.
        assert_eq!(fingerprint(&BTreeMap::new()), "cbf29ce484222325");
        let a = fingerprint(&labels(&[("alertname", "x"), ("severity", "page")]));
        assert_eq!(a.len(), 16);
        assert_ne!(a, fingerprint(&labels(&[("alertname", "x")])));
        // Name and value boundaries matter.
        assert_ne!(
            fingerprint(&labels(&[("ab", "c")])),
            fingerprint(&labels(&[("a", "bc")]))
        );
    }
}
