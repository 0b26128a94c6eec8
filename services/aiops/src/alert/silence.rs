//! Silences, as Alertmanager has them: a [`pb::Silence`] checked field by
//! field into a [`Silence`], its matchers compiled, its state at a time,
//! and what an update may change in place.

use std::collections::BTreeMap;

use airis_proto::airis::aiops::v1::{self as pb, MatchOperator, SilenceState};
use regex::Regex;

use super::rule::{MAX_LABEL_VALUE_BYTES, MAX_NAME_CHARS, valid_name};
use crate::Error;

pub(crate) const MAX_MATCHERS: usize = 64;
pub(crate) const MAX_COMMENT_BYTES: usize = 4_096;
/// Compiled size of one matcher's expression: enough for a long
/// alternation of names, too little for a pathological pattern to cost
/// much memory per silence.
const MAX_REGEX_BYTES: usize = 256 * 1024;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// One matcher, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    name: String,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

impl Matcher {
    /// Checks and compiles `m`; `field` names it in errors.
    fn check(field: &str, m: &pb::LabelMatcher) -> Result<Self, Error> {
        if !valid_name(&m.name) {
            return Err(invalid(format!(
                "{field}.name: {:?} is not a label name (letters, digits and _, not starting \
                 with a digit)",
                m.name
            )));
        }
        if m.value.len() > MAX_LABEL_VALUE_BYTES {
            return Err(invalid(format!(
                "{field}.value: more than {MAX_LABEL_VALUE_BYTES} bytes"
            )));
        }
        let regex = || {
            // Anchored at both ends, as Alertmanager's and Prometheus' are.
            regex::RegexBuilder::new(&format!("^(?:{})$", m.value))
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map_err(|e| {
                    let reason = match e {
                        regex::Error::CompiledTooBig(_) => "too large once compiled".to_owned(),
                        e => e.to_string().lines().last().unwrap_or("").trim().to_owned(),
                    };
                    invalid(format!(
                        "{field}.value: {:?} is not a regular expression: {reason}",
                        m.value
                    ))
                })
        };
        let test = match MatchOperator::try_from(m.operator) {
            Ok(MatchOperator::Equal) => Test::Equal(m.value.clone()),
            Ok(MatchOperator::NotEqual) => Test::NotEqual(m.value.clone()),
            Ok(MatchOperator::Regex) => Test::Regex(regex()?),
            Ok(MatchOperator::NotRegex) => Test::NotRegex(regex()?),
            Ok(MatchOperator::Unspecified) | Err(_) => {
                return Err(invalid(format!(
                    "{field}.operator: required, one of EQUAL, NOT_EQUAL, REGEX, NOT_REGEX"
                )));
            }
        };
        Ok(Self {
            name: m.name.clone(),
            test,
        })
    }

    /// Whether `value` (empty for a label the alert lacks) passes.
    fn accepts(&self, value: &str) -> bool {
        match &self.test {
            Test::Equal(v) => value == v,
            Test::NotEqual(v) => value != v,
            Test::Regex(r) => r.is_match(value),
            Test::NotRegex(r) => !r.is_match(value),
        }
    }
}

/// A checked silence.
#[derive(Debug, Clone)]
pub(crate) struct Silence {
    matchers: Vec<Matcher>,
}

impl Silence {
    /// Checks every field a caller sets; `field` is how errors name the
    /// silence (`silence`). Times are checked against each other here, and
    /// against the clock by the RPCs.
    pub(crate) fn check(field: &str, s: &pb::Silence) -> Result<Self, Error> {
        if s.matchers.is_empty() {
            return Err(invalid(format!(
                "{field}.matchers: at least one is required"
            )));
        }
        let matchers = check_matchers(&format!("{field}.matchers"), &s.matchers)?;
        if matchers.iter().all(|m| m.accepts("")) {
            return Err(invalid(format!(
                "{field}.matchers: every matcher also matches an empty or missing label, so the \
                 silence would mute every alert; add one that needs a value (for example \
                 alertname=\"...\")"
            )));
        }
        if s.end_time_unix_nano == 0 {
            return Err(invalid(format!("{field}.end_time_unix_nano: required")));
        }
        if s.start_time_unix_nano != 0 && s.end_time_unix_nano <= s.start_time_unix_nano {
            return Err(invalid(format!(
                "{field}.end_time_unix_nano: must be after start_time_unix_nano"
            )));
        }
        if i64::try_from(s.end_time_unix_nano).is_err() {
            return Err(invalid(format!(
                "{field}.end_time_unix_nano: beyond the year 2262"
            )));
        }
        let creator = s.created_by.trim();
        if creator.is_empty() {
            return Err(invalid(format!(
                "{field}.created_by: required (who is silencing)"
            )));
        }
        if creator.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(format!(
                "{field}.created_by: more than {MAX_NAME_CHARS} characters"
            )));
        }
        if s.comment.trim().is_empty() {
            return Err(invalid(format!("{field}.comment: required (why)")));
        }
        if s.comment.len() > MAX_COMMENT_BYTES {
            return Err(invalid(format!(
                "{field}.comment: more than {MAX_COMMENT_BYTES} bytes"
            )));
        }
        Ok(Self { matchers })
    }

    /// Whether an alert with `labels` is one this silence mutes (when
    /// active).
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        all_match(&self.matchers, labels)
    }
}

/// Checks and compiles at most [`MAX_MATCHERS`] matchers; `field` names
/// the list in errors.
pub(crate) fn check_matchers(
    field: &str,
    matchers: &[pb::LabelMatcher],
) -> Result<Vec<Matcher>, Error> {
    if matchers.len() > MAX_MATCHERS {
        return Err(invalid(format!(
            "{field}: {}, at most {MAX_MATCHERS}",
            matchers.len()
        )));
    }
    matchers
        .iter()
        .enumerate()
        .map(|(i, m)| Matcher::check(&format!("{field}[{i}]"), m))
        .collect()
}

/// Whether `labels` (a missing label as empty) pass every matcher.
pub(crate) fn all_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers
        .iter()
        .all(|m| m.accepts(labels.get(&m.name).map_or("", String::as_str)))
}

/// A silence's state at `now` (Unix ns).
pub(crate) fn state(s: &pb::Silence, now: u64) -> SilenceState {
    if s.end_time_unix_nano <= now {
        SilenceState::Expired
    } else if s.start_time_unix_nano > now {
        SilenceState::Pending
    } else {
        SilenceState::Active
    }
}

/// What an update of `current` to `wanted` does at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Update {
    /// A new version of the same silence.
    InPlace,
    /// `wanted` becomes a new silence, and `current` ends now unless it
    /// has already: what was muted stays on record as muted by what was
    /// in force then.
    Replace,
}

/// Alertmanager's rule: matchers never change in place, nor does anything
/// of an expired silence; an active one keeps its start and cannot end in
/// the past; a pending one cannot start in the past.
pub(crate) fn update(current: &pb::Silence, wanted: &pb::Silence, now: u64) -> Update {
    if current.matchers != wanted.matchers {
        return Update::Replace;
    }
    let in_place = match state(current, now) {
        SilenceState::Active => {
            wanted.start_time_unix_nano == current.start_time_unix_nano
                && wanted.end_time_unix_nano > now
        }
        SilenceState::Pending => wanted.start_time_unix_nano >= now,
        SilenceState::Expired | SilenceState::Unspecified => false,
    };
    if in_place {
        Update::InPlace
    } else {
        Update::Replace
    }
}

/// `current` as ended at `now`: a pending silence never starts.
pub(crate) fn ended(current: pb::Silence, now: u64) -> pb::Silence {
    pb::Silence {
        start_time_unix_nano: current.start_time_unix_nano.min(now),
        end_time_unix_nano: now,
        version: current.version + 1,
        update_time_unix_nano: now,
        ..current
    }
}

/// Of `silences` (id, start, end in Unix ns), the ids of those active at
/// some time in the minute that starts at `minute`.
pub(crate) fn active_in_minute(silences: &[(String, u64, u64)], minute: u64) -> Vec<String> {
    const MINUTE_NANOS: u64 = 60_000_000_000;
    silences
        .iter()
        .filter(|(_, start, end)| *start < minute + MINUTE_NANOS && *end > minute)
        .map(|(id, ..)| id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    fn m(name: &str, operator: MatchOperator, value: &str) -> pb::LabelMatcher {
        pb::LabelMatcher {
            name: name.to_owned(),
            value: value.to_owned(),
            operator: operator as i32,
        }
    }

    fn silence(matchers: Vec<pb::LabelMatcher>) -> pb::Silence {
        pb::Silence {
            matchers,
            start_time_unix_nano: 10 * MIN,
            end_time_unix_nano: 70 * MIN,
            created_by: "미나".to_owned(),
            comment: "결제 점검".to_owned(),
            ..Default::default()
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn refusal(s: pb::Silence) -> String {
        match Silence::check("silence", &s) {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn matchers_follow_alertmanager() {
        let s = Silence::check(
            "silence",
            &silence(vec![
                m("alertname", MatchOperator::Equal, "slow"),
                m("service_name", MatchOperator::Regex, "pay.*|checkout"),
                m("severity", MatchOperator::NotEqual, "info"),
                m("operation", MatchOperator::NotRegex, "GET .*"),
            ]),
        )
        .unwrap();
        let base = [
            ("alertname", "slow"),
            ("service_name", "payment"),
            ("operation", "POST /charge"),
        ];
        assert!(s.matches(&labels(&base)));
        // Anchored: "payment-v2" matches pay.*, "my-checkout" not checkout.
        assert!(s.matches(&labels(&[("service_name", "payment-v2"), base[0], base[2]])));
        assert!(!s.matches(&labels(&[
            ("service_name", "my-checkout"),
            base[0],
            base[2]
        ])));
        assert!(!s.matches(&labels(&[base[0], base[1], ("operation", "GET /cart")])));
        assert!(!s.matches(&labels(&[base[0], base[1], base[2], ("severity", "info")])));
        assert!(!s.matches(&labels(&[("alertname", "fast"), base[1], base[2]])));
        // A missing label is the empty value: service_name is required.
        assert!(!s.matches(&labels(&[base[0], base[2]])));
    }

    #[test]
    fn states_at_a_time() {
        let s = silence(vec![m("alertname", MatchOperator::Equal, "x")]);
        assert_eq!(state(&s, 9 * MIN), SilenceState::Pending);
        assert_eq!(state(&s, 10 * MIN), SilenceState::Active);
        assert_eq!(state(&s, 70 * MIN - 1), SilenceState::Active);
        assert_eq!(state(&s, 70 * MIN), SilenceState::Expired);
    }

    #[test]
    fn updates_follow_alertmanager() {
        let current = silence(vec![m("alertname", MatchOperator::Equal, "x")]);
        // Pending (now 5): anything but the matchers, if it still starts
        // ahead.
        let mut longer = current.clone();
        longer.end_time_unix_nano += 60 * MIN;
        longer.comment = "더 길게".to_owned();
        assert_eq!(update(&current, &longer, 5 * MIN), Update::InPlace);
        let mut earlier = current.clone();
        earlier.start_time_unix_nano = 6 * MIN;
        assert_eq!(update(&current, &earlier, 5 * MIN), Update::InPlace);
        earlier.start_time_unix_nano = 4 * MIN;
        assert_eq!(update(&current, &earlier, 5 * MIN), Update::Replace);
        let mut other = current.clone();
        other.matchers[0].value = "y".to_owned();
        assert_eq!(update(&current, &other, 5 * MIN), Update::Replace);
        // Active (now 20): the end and the words, not the start.
        assert_eq!(update(&current, &longer, 20 * MIN), Update::InPlace);
        assert_eq!(update(&current, &other, 20 * MIN), Update::Replace);
        let mut later = current.clone();
        later.start_time_unix_nano = 30 * MIN;
        assert_eq!(update(&current, &later, 20 * MIN), Update::Replace);
        // Expired (now 70): nothing.
        assert_eq!(update(&current, &longer, 70 * MIN), Update::Replace);
        // Ending a pending silence: it never starts.
        let never = ended(current.clone(), 5 * MIN);
        assert_eq!(
            (never.start_time_unix_nano, never.end_time_unix_nano),
            (5 * MIN, 5 * MIN)
        );
        assert_eq!(state(&never, 5 * MIN), SilenceState::Expired);
        let stopped = ended(current, 20 * MIN);
        assert_eq!(
            (stopped.start_time_unix_nano, stopped.end_time_unix_nano),
            (10 * MIN, 20 * MIN)
        );
    }

    #[test]
    fn a_silence_mutes_the_minutes_it_overlaps() {
        let silences = vec![
            ("early".to_owned(), 0, 10 * MIN),
            ("late".to_owned(), 10 * MIN + 1, 20 * MIN),
        ];
        assert_eq!(active_in_minute(&silences, 9 * MIN), ["early"]);
        // The minute 10..11 holds the end of neither "early" (ended at its
        // start) and the start of "late".
        assert_eq!(active_in_minute(&silences, 10 * MIN), ["late"]);
        assert_eq!(active_in_minute(&silences, 19 * MIN), ["late"]);
        assert!(active_in_minute(&silences, 20 * MIN).is_empty());
    }

    #[test]
    fn refusals_name_the_field() {
        let ok = || silence(vec![m("alertname", MatchOperator::Equal, "x")]);
        let cases: Vec<(pb::Silence, &str)> = vec![
            (silence(vec![]), "silence.matchers: at least one"),
            (
                silence(vec![
                    m("alertname", MatchOperator::Equal, "x");
                    MAX_MATCHERS + 1
                ]),
                "silence.matchers: 65, at most 64",
            ),
            (
                silence(vec![m("9lives", MatchOperator::Equal, "x")]),
                "silence.matchers[0].name: \"9lives\" is not a label name",
            ),
            (
                silence(vec![
                    m("alertname", MatchOperator::Equal, "x"),
                    m("service_name", MatchOperator::Unspecified, "x"),
                ]),
                "silence.matchers[1].operator: required",
            ),
            (
                silence(vec![m("alertname", MatchOperator::Regex, "(unclosed")]),
                "silence.matchers[0].value: \"(unclosed\" is not a regular expression",
            ),
            (
                silence(vec![m(
                    "alertname",
                    MatchOperator::Equal,
                    &"x".repeat(MAX_LABEL_VALUE_BYTES + 1),
                )]),
                "silence.matchers[0].value: more than 1024 bytes",
            ),
            (
                silence(vec![
                    m("alertname", MatchOperator::Regex, ".*"),
                    m("severity", MatchOperator::NotEqual, "page"),
                ]),
                "silence.matchers: every matcher also matches an empty or missing label",
            ),
            (
                pb::Silence {
                    end_time_unix_nano: 0,
                    ..ok()
                },
                "silence.end_time_unix_nano: required",
            ),
            (
                pb::Silence {
                    end_time_unix_nano: 10 * MIN,
                    ..ok()
                },
                "silence.end_time_unix_nano: must be after start_time_unix_nano",
            ),
            (
                pb::Silence {
                    end_time_unix_nano: u64::MAX,
                    ..ok()
                },
                "silence.end_time_unix_nano: beyond the year 2262",
            ),
            (
                pb::Silence {
                    created_by: "  ".to_owned(),
                    ..ok()
                },
                "silence.created_by: required",
            ),
            (
                pb::Silence {
                    comment: String::new(),
                    ..ok()
                },
                "silence.comment: required",
            ),
            (
                pb::Silence {
                    comment: "가".repeat(MAX_COMMENT_BYTES),
                    ..ok()
                },
                "silence.comment: more than 4096 bytes",
            ),
        ];
        for (s, expected) in cases {
            let message = refusal(s);
            assert!(message.starts_with(expected), "{message:?} !~ {expected:?}");
        }
        // A pathological expression is refused for its size, not compiled.
        let huge = silence(vec![m(
            "alertname",
            MatchOperator::Regex,
            "(a{1000}){1000}",
        )]);
        assert!(refusal(huge).contains("too large once compiled"));
        // An empty start means now: only the end is checked.
        let from_now = pb::Silence {
            start_time_unix_nano: 0,
            ..ok()
        };
        assert!(Silence::check("silence", &from_now).is_ok());
    }
}
