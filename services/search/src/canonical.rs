//! An interpretation on one line (docs/search.md, "The canonical form"):
//! what the labelled questions are checked against, and what the docs
//! show.

use airis_proto::airis::analytics::v1::{AttributeScope, MatchOperator};
use airis_proto::airis::search::v1::{Aggregation, DurationBound, Order, Signal, Status};

use crate::clock::Clock;
use crate::parse::Parsed;

/// `parsed` in the canonical form, its times in `clock`'s zone.
pub fn canonical(parsed: &Parsed, clock: &Clock) -> String {
    let i = &parsed.interpretation;
    let mut parts: Vec<String> = Vec::new();
    let signal = match Signal::try_from(i.signal).unwrap_or_default() {
        Signal::Unspecified => None,
        Signal::Traces => Some("traces"),
        Signal::Spans => Some("spans"),
        Signal::Logs => Some("logs"),
        Signal::Metrics => Some("metrics"),
        Signal::Services => Some("services"),
        Signal::Anomalies => Some("anomalies"),
    };
    if let Some(s) = signal {
        parts.push(format!("signal={s}"));
    }
    if !i.service_names.is_empty() {
        parts.push(format!("service={}", list(&i.service_names)));
    }
    if !i.operations.is_empty() {
        parts.push(format!("operation={}", list(&i.operations)));
    }
    match Status::try_from(i.status).unwrap_or_default() {
        Status::Error => parts.push("status=error".into()),
        Status::Ok => parts.push("status=ok".into()),
        Status::Unspecified => {}
    }
    if i.min_severity_number != 0 || i.max_severity_number != 0 {
        let min = if i.min_severity_number == 0 {
            String::new()
        } else {
            i.min_severity_number.to_string()
        };
        let max = if i.max_severity_number == 0 {
            String::new()
        } else {
            i.max_severity_number.to_string()
        };
        parts.push(format!("severity={min}..{max}"));
    }
    if let Some(b) = &i.min_duration {
        parts.push(format!(
            "duration>{}{}",
            if b.inclusive { "=" } else { "" },
            duration(b)
        ));
    }
    if let Some(b) = &i.max_duration {
        parts.push(format!(
            "duration<{}{}",
            if b.inclusive { "=" } else { "" },
            duration(b)
        ));
    }
    if !i.metric_name.is_empty() {
        parts.push(format!("metric={}", i.metric_name));
    }
    if let Some(b) = &i.min_value {
        parts.push(format!(
            "value>{}{}",
            if b.inclusive { "=" } else { "" },
            b.value
        ));
    }
    if let Some(b) = &i.max_value {
        parts.push(format!(
            "value<{}{}",
            if b.inclusive { "=" } else { "" },
            b.value
        ));
    }
    for a in &i.attributes {
        let scope = if a.scope == AttributeScope::Resource as i32 {
            "resource"
        } else {
            "attr"
        };
        let value = quote(&a.value);
        let op = match MatchOperator::try_from(a.operator).unwrap_or_default() {
            MatchOperator::Unspecified | MatchOperator::Equals => format!("={value}"),
            MatchOperator::NotEquals => format!("!={value}"),
            MatchOperator::Contains => format!("~{value}"),
            MatchOperator::Exists => "?".to_owned(),
        };
        parts.push(format!("{scope}.{}{op}", a.key));
    }
    if !i.text.is_empty() {
        // A phrase is already quoted, as SearchLogs takes it.
        let quoted = i.text.len() >= 2 && i.text.starts_with('"') && i.text.ends_with('"');
        let text = if quoted {
            i.text.clone()
        } else {
            quote_always(&i.text)
        };
        parts.push(format!("text={text}"));
    }
    if let Some(range) = &i.time_range {
        parts.push(format!(
            "time={}..{}",
            clock.format(range.start_unix_nano),
            clock.format(range.end_unix_nano)
        ));
    }
    let aggregation = match Aggregation::try_from(i.aggregation).unwrap_or_default() {
        Aggregation::Unspecified => None,
        Aggregation::Count => Some("count".to_owned()),
        Aggregation::Rate => Some("rate".to_owned()),
        Aggregation::ErrorRate => Some("error_rate".to_owned()),
        Aggregation::Quantile => Some(format!("p{}", trim(i.quantile * 100.0))),
        Aggregation::Avg => Some("avg".to_owned()),
        Aggregation::Min => Some("min".to_owned()),
        Aggregation::Max => Some("max".to_owned()),
        Aggregation::Sum => Some("sum".to_owned()),
    };
    if let Some(a) = aggregation {
        parts.push(format!("agg={a}"));
    }
    if !i.group_by.is_empty() {
        parts.push(format!("by={}", i.group_by.join(",")));
    }
    let order = match Order::try_from(i.order).unwrap_or_default() {
        Order::Unspecified => None,
        Order::OldestFirst => Some("oldest"),
        Order::LongestFirst => Some("longest"),
        Order::LargestFirst => Some("largest"),
        Order::SmallestFirst => Some("smallest"),
    };
    if let Some(o) = order {
        parts.push(format!("order={o}"));
    }
    if i.limit != 0 {
        parts.push(format!("limit={}", i.limit));
    }
    if i.compare_shift_nano != 0 {
        parts.push(format!(
            "compare={}d",
            i.compare_shift_nano / (86_400 * 1_000_000_000)
        ));
    }
    if let Some(v) = &i.compare_versions {
        let or_asked = |v: &str| {
            if v.is_empty() {
                "?".to_owned()
            } else {
                quote(v)
            }
        };
        parts.push(format!(
            "versions={}/{}",
            or_asked(&v.candidate),
            or_asked(&v.baseline)
        ));
    }
    if !parsed.unplaced.is_empty() {
        let words: Vec<&str> = parsed.unplaced.iter().map(|u| u.text.as_str()).collect();
        parts.push(format!("unplaced={}", words.join(",")));
    }
    parts.join(" ")
}

fn list(names: &[String]) -> String {
    let mut names: Vec<String> = names.iter().map(|n| quote(n)).collect();
    names.sort();
    names.join(",")
}

fn quote(s: &str) -> String {
    if s.contains([' ', ',', '"']) {
        quote_always(s)
    } else {
        s.to_owned()
    }
}

fn quote_always(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

/// A number without a needless fraction: 99, 99.9.
fn trim(x: f64) -> String {
    let rounded = (x * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// A duration in the largest unit that keeps it whole.
pub fn duration(b: &DurationBound) -> String {
    let n = b.nano;
    for (unit, size) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    format!("{n}ns")
}
