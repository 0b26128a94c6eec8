//! An interpretation in words, in Korean or English, so that the asker
//! reads back what will be searched.

use airis_proto::airis::analytics::v1::{AttributeScope, MatchOperator};
use airis_proto::airis::search::v1::{
    Aggregation, DurationBound, Interpretation, Order, Signal, Status,
};

use crate::canonical::duration;
use crate::clock::Clock;

/// `i` in Korean (`korean`) or English.
pub fn render(i: &Interpretation, clock: &Clock, korean: bool) -> String {
    let signal = Signal::try_from(i.signal).unwrap_or_default();
    let what = match (signal, korean) {
        (Signal::Logs, true) => "로그",
        (Signal::Logs, false) => "logs",
        (Signal::Spans, true) => "스팬",
        (Signal::Spans, false) => "spans",
        (Signal::Metrics, true) => "메트릭",
        (Signal::Metrics, false) => "metric",
        (Signal::Services, true) => "서비스",
        (Signal::Services, false) => "services",
        (Signal::Anomalies, true) => "이상 징후",
        (Signal::Anomalies, false) => "anomalies",
        (_, true) => "요청",
        (_, false) => "requests",
    };
    let mut filters: Vec<String> = Vec::new();
    if !i.service_names.is_empty() {
        let names = i.service_names.join(", ");
        filters.push(if korean {
            format!("서비스 {names}")
        } else {
            format!("service {names}")
        });
    }
    if !i.operations.is_empty() {
        let names = i.operations.join(", ");
        filters.push(if korean {
            format!("작업 {names}")
        } else {
            format!("operation {names}")
        });
    }
    match Status::try_from(i.status).unwrap_or_default() {
        // Anomalies of errors are those of the error rate.
        Status::Error if signal == Signal::Anomalies => filters.push(if korean {
            "오류율".into()
        } else {
            "error rate".into()
        }),
        Status::Error => filters.push(if korean {
            "에러".into()
        } else {
            "failed".into()
        }),
        Status::Ok => filters.push(if korean {
            "성공".into()
        } else {
            "succeeded".into()
        }),
        Status::Unspecified => {}
    }
    if i.min_severity_number != 0 || i.max_severity_number != 0 {
        let name = severity_name(i.min_severity_number);
        filters.push(match (i.max_severity_number == 0, korean) {
            (true, true) => format!("심각도 {name} 이상"),
            (true, false) => format!("severity {name} or above"),
            (false, true) => format!("심각도 {name}"),
            (false, false) => format!("severity {name}"),
        });
    }
    for (bound, min) in [(&i.min_duration, true), (&i.max_duration, false)] {
        if let Some(b) = bound {
            filters.push(bound_words(&duration(b), b, min, korean));
        }
    }
    if !i.metric_name.is_empty() {
        filters.push(i.metric_name.clone());
    }
    for (bound, min) in [(&i.min_value, true), (&i.max_value, false)] {
        if let Some(b) = bound {
            let d = DurationBound {
                nano: 0,
                inclusive: b.inclusive,
            };
            filters.push(bound_words(&b.value.to_string(), &d, min, korean));
        }
    }
    for a in &i.attributes {
        let op = match MatchOperator::try_from(a.operator).unwrap_or_default() {
            MatchOperator::NotEquals => " != ",
            MatchOperator::Contains => " ~ ",
            MatchOperator::Exists => "",
            _ => " = ",
        };
        let scope = if a.scope == AttributeScope::Resource as i32 && !korean {
            "resource "
        } else {
            ""
        };
        filters.push(format!("{scope}{}{op}{}", a.key, a.value));
    }
    if !i.text.is_empty() {
        filters.push(if korean {
            format!("본문에 {} 포함", i.text)
        } else {
            format!("containing {}", i.text)
        });
    }
    let range = i.time_range.as_ref().map(|r| {
        format!(
            "{} – {}",
            clock.readable(r.start_unix_nano),
            clock.readable(r.end_unix_nano)
        )
    });
    let aggregation = match Aggregation::try_from(i.aggregation).unwrap_or_default() {
        Aggregation::Unspecified => None,
        Aggregation::Count => Some(if korean { "개수" } else { "count" }.to_owned()),
        Aggregation::Rate => Some(
            if korean {
                "초당 건수"
            } else {
                "rate per second"
            }
            .to_owned(),
        ),
        Aggregation::ErrorRate => Some(if korean { "에러율" } else { "error rate" }.to_owned()),
        Aggregation::Quantile => Some(format!("p{}", (i.quantile * 1000.0).round() / 10.0)),
        Aggregation::Avg => Some(if korean { "평균" } else { "average" }.to_owned()),
        Aggregation::Min => Some(if korean { "최소" } else { "minimum" }.to_owned()),
        Aggregation::Max => Some(if korean { "최대" } else { "maximum" }.to_owned()),
        Aggregation::Sum => Some(if korean { "합계" } else { "sum" }.to_owned()),
    };
    let mut out = String::new();
    if korean {
        if !filters.is_empty() {
            out.push_str(&filters.join(", "));
            out.push_str("인 ");
        }
        out.push_str(what);
        if let Some(a) = aggregation {
            out.push_str(&format!("의 {a}"));
        }
        if !i.group_by.is_empty() {
            out.push_str(&format!(", {}별", i.group_by.join("·")));
        }
        if let Some(r) = range {
            out.push_str(&format!(", {r}"));
        }
    } else {
        if let Some(a) = aggregation {
            out.push_str(&format!("{a} of "));
        }
        out.push_str(what);
        if !filters.is_empty() {
            out.push_str(&format!(" where {}", filters.join(", ")));
        }
        if !i.group_by.is_empty() {
            out.push_str(&format!(", by {}", i.group_by.join(", ")));
        }
        if let Some(r) = range {
            out.push_str(&format!(", {r}"));
        }
    }
    let order = match (Order::try_from(i.order).unwrap_or_default(), korean) {
        (Order::LongestFirst, true) => Some("느린 순"),
        (Order::LongestFirst, false) => Some("slowest first"),
        (Order::OldestFirst, true) => Some("오래된 순"),
        (Order::OldestFirst, false) => Some("oldest first"),
        (Order::LargestFirst, true) => Some("큰 순"),
        (Order::LargestFirst, false) => Some("largest first"),
        (Order::SmallestFirst, true) => Some("작은 순"),
        (Order::SmallestFirst, false) => Some("smallest first"),
        (Order::Unspecified, _) => None,
    };
    if let Some(o) = order {
        out.push_str(&format!(", {o}"));
    }
    if i.limit != 0 {
        out.push_str(&if korean {
            format!(", {}개", i.limit)
        } else {
            format!(", {} at most", i.limit)
        });
    }
    if i.compare_shift_nano != 0 {
        let days = i.compare_shift_nano / (86_400 * 1_000_000_000);
        out.push_str(&match (days, korean) {
            (7, true) => ", 지난주와 비교".to_owned(),
            (7, false) => ", compared with a week before".to_owned(),
            (1, true) => ", 전날과 비교".to_owned(),
            (1, false) => ", compared with the day before".to_owned(),
            (d, true) => format!(", {d}일 전과 비교"),
            (d, false) => format!(", compared with {d} days before"),
        });
    }
    if let Some(v) = &i.compare_versions {
        let named = |v: &str, ko: &str, en: &str| match (v.is_empty(), korean) {
            (true, true) => ko.to_owned(),
            (true, false) => en.to_owned(),
            (false, true) => format!("{v} 버전"),
            (false, false) => format!("version {v}"),
        };
        let candidate = named(&v.candidate, "카나리 버전", "the canary version");
        let baseline = named(&v.baseline, "기준 버전", "the baseline version");
        out.push_str(&if korean {
            format!(", {candidate}을 {baseline}과 비교")
        } else {
            format!(", {candidate} compared with {baseline}")
        });
    }
    out
}

fn bound_words(value: &str, b: &DurationBound, min: bool, korean: bool) -> String {
    match (min, b.inclusive, korean) {
        (true, false, true) => format!("{value} 초과"),
        (true, true, true) => format!("{value} 이상"),
        (false, false, true) => format!("{value} 미만"),
        (false, true, true) => format!("{value} 이하"),
        (true, false, false) => format!("over {value}"),
        (true, true, false) => format!("at least {value}"),
        (false, false, false) => format!("under {value}"),
        (false, true, false) => format!("at most {value}"),
    }
}

fn severity_name(n: i32) -> &'static str {
    match n {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        _ => "FATAL",
    }
}
