//! An [`pb::AlertRule`] checked field by field into a [`Rule`], and its
//! annotation templates.

use std::collections::BTreeMap;

use airis_proto::airis::aiops::v1 as pb;

use crate::Error;
use crate::anomalies::Filter;
use crate::watch::series::Signal;

pub(crate) const MAX_NAME_CHARS: usize = 200;
pub(crate) const MAX_FOR_MINUTES: u32 = 1_440;
pub(crate) const MAX_LABELS: usize = 32;
pub(crate) const MAX_LABEL_VALUE_BYTES: usize = 1_024;
pub(crate) const MAX_ANNOTATIONS: usize = 16;
pub(crate) const MAX_ANNOTATION_BYTES: usize = 4_096;
pub(crate) const MAX_K_OF_N: u32 = 60;
pub(crate) const MAX_ABSENCE_MINUTES: u32 = 1_440;
pub(crate) const MAX_BURN_WINDOWS: usize = 4;
pub(crate) const MAX_BURN_LONG_MINUTES: u32 = 4_320;
/// The SRE workbook's paging windows: (long, short, factor).
pub(crate) const DEFAULT_BURN_WINDOWS: [(u32, u32, f64); 2] = [(60, 5, 14.4), (360, 30, 6.0)];

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// A checked rule: what evaluation needs, with the message it came from.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) proto: pb::AlertRule,
    pub(crate) condition: Condition,
    pub(crate) for_minutes: u32,
    pub(crate) annotations: Vec<Template>,
}

#[derive(Debug, Clone)]
pub(crate) enum Condition {
    Threshold {
        series: Series,
        above: bool,
        threshold: f64,
        k: u32,
        n: u32,
    },
    Anomaly {
        filter: Filter,
        k: u32,
        n: u32,
    },
    Absence {
        series: Series,
        minutes: u32,
    },
    BurnRate {
        service: String,
        operation: String,
        budget: f64,
        /// (long minutes, short minutes, factor)
        windows: Vec<(u32, u32, f64)>,
    },
}

/// The one series of a threshold or absence condition.
#[derive(Debug, Clone)]
pub(crate) enum Series {
    Red {
        service: String,
        operation: String,
        signal: Signal,
    },
    Metric(pb::MetricSeriesSelector),
}

impl Rule {
    /// Checks every field of `rule`; `field` is how errors name it (`rule`).
    pub(crate) fn check(field: &str, rule: &pb::AlertRule) -> Result<Self, Error> {
        let name = rule.name.trim();
        if name.is_empty() {
            return Err(invalid(format!("{field}.name: required")));
        }
        if rule.name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(format!(
                "{field}.name: more than {MAX_NAME_CHARS} characters"
            )));
        }
        if rule.name.chars().any(char::is_control) {
            return Err(invalid(format!(
                "{field}.name: control characters are not allowed"
            )));
        }
        if rule.for_minutes > MAX_FOR_MINUTES {
            return Err(invalid(format!(
                "{field}.for_minutes: {} is more than {MAX_FOR_MINUTES} (a day)",
                rule.for_minutes
            )));
        }
        check_labels(&format!("{field}.labels"), &rule.labels)?;
        let annotations = check_annotations(&format!("{field}.annotations"), &rule.annotations)?;
        let condition = match &rule.condition {
            None => {
                return Err(invalid(format!(
                    "{field}.condition: one of threshold, anomaly, absence, burn_rate is required"
                )));
            }
            Some(pb::alert_rule::Condition::Threshold(t)) => {
                let at = format!("{field}.threshold");
                let series = check_series(&format!("{at}.series"), t.series.as_ref())?;
                let above = match pb::Comparison::try_from(t.comparison) {
                    Ok(pb::Comparison::Above) => true,
                    Ok(pb::Comparison::Below) => false,
                    _ => {
                        return Err(invalid(format!(
                            "{at}.comparison: COMPARISON_ABOVE or COMPARISON_BELOW is required"
                        )));
                    }
                };
                if !t.threshold.is_finite() {
                    return Err(invalid(format!("{at}.threshold: not a finite number")));
                }
                let (k, n) = check_k_of_n(&format!("{at}.k_of_n"), t.k_of_n.as_ref())?;
                Condition::Threshold {
                    series,
                    above,
                    threshold: t.threshold,
                    k,
                    n,
                }
            }
            Some(pb::alert_rule::Condition::Anomaly(a)) => {
                let at = format!("{field}.anomaly");
                let Some(filter) = a
                    .filter
                    .as_ref()
                    .filter(|f| !f.service_name.is_empty() || f.metric.is_some())
                else {
                    return Err(invalid(format!(
                        "{at}.filter.service_name: required, or a metric series in filter.metric"
                    )));
                };
                let filter = Filter::from_proto(&format!("{at}.filter"), Some(filter))?;
                let (k, n) = check_k_of_n(&format!("{at}.k_of_n"), a.k_of_n.as_ref())?;
                Condition::Anomaly { filter, k, n }
            }
            Some(pb::alert_rule::Condition::Absence(a)) => {
                let at = format!("{field}.absence");
                let series = check_series(&format!("{at}.series"), a.series.as_ref())?;
                if a.minutes == 0 || a.minutes > MAX_ABSENCE_MINUTES {
                    return Err(invalid(format!(
                        "{at}.minutes: {} is not within 1 to {MAX_ABSENCE_MINUTES}",
                        a.minutes
                    )));
                }
                Condition::Absence {
                    series,
                    minutes: a.minutes,
                }
            }
            Some(pb::alert_rule::Condition::BurnRate(b)) => {
                check_burn_rate(&format!("{field}.burn_rate"), b)?
            }
        };
        Ok(Self {
            proto: rule.clone(),
            condition,
            for_minutes: rule.for_minutes,
            annotations,
        })
    }

    /// Minutes before a judged minute that judging it reads.
    pub(crate) fn lookback_minutes(&self) -> u32 {
        match &self.condition {
            Condition::Threshold { n, .. } | Condition::Anomaly { n, .. } => n - 1,
            Condition::Absence { minutes, .. } => minutes - 1,
            Condition::BurnRate { windows, .. } => {
                windows.iter().map(|w| w.0).max().unwrap_or(1) - 1
            }
        }
    }

    /// `alertname`, the labels of the rule's series, then the rule's own
    /// labels (which win).
    pub(crate) fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                labels.insert(k.to_owned(), v.to_owned());
            }
        };
        match &self.condition {
            Condition::Threshold { series, .. } | Condition::Absence { series, .. } => match series
            {
                Series::Red {
                    service,
                    operation,
                    signal,
                } => {
                    put("service_name", service);
                    put("operation", operation);
                    put("signal", signal.name());
                }
                Series::Metric(selector) => put("metric_name", &selector.metric_name),
            },
            Condition::Anomaly { filter, .. } => {
                put("service_name", filter.service());
                put("operation", filter.operation());
                if let Some(selector) = filter.metric().selector() {
                    put("metric_name", &selector.metric_name);
                }
            }
            Condition::BurnRate {
                service, operation, ..
            } => {
                put("service_name", service);
                put("operation", operation);
            }
        }
        for (k, v) in &self.proto.labels {
            labels.insert(k.clone(), v.clone());
        }
        labels.insert("alertname".to_owned(), self.proto.name.clone());
        labels
    }
}

/// A Prometheus-style label or annotation name.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_labels(
    field: &str,
    labels: &std::collections::HashMap<String, String>,
) -> Result<(), Error> {
    if labels.len() > MAX_LABELS {
        return Err(invalid(format!(
            "{field}: {} labels, at most {MAX_LABELS}",
            labels.len()
        )));
    }
    let mut names: Vec<&String> = labels.keys().collect();
    names.sort();
    for name in names {
        if !valid_name(name) || name.starts_with("__") {
            return Err(invalid(format!(
                "{field}[{name:?}]: a label name is letters, digits and _, not starting with a \
                 digit or __"
            )));
        }
        if name == "alertname" {
            return Err(invalid(format!(
                "{field}[{name:?}]: alertname is the rule's name"
            )));
        }
        if labels[name].len() > MAX_LABEL_VALUE_BYTES {
            return Err(invalid(format!(
                "{field}[{name:?}]: more than {MAX_LABEL_VALUE_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

fn check_annotations(field: &str, annotations: &[pb::Annotation]) -> Result<Vec<Template>, Error> {
    if annotations.len() > MAX_ANNOTATIONS {
        return Err(invalid(format!(
            "{field}: {} annotations, at most {MAX_ANNOTATIONS}",
            annotations.len()
        )));
    }
    let mut out = Vec::with_capacity(annotations.len());
    for (i, a) in annotations.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if !valid_name(&a.name) {
            return Err(invalid(format!(
                "{at}.name: letters, digits and _, not starting with a digit"
            )));
        }
        if annotations[..i].iter().any(|b| b.name == a.name) {
            return Err(invalid(format!("{at}.name: {:?} given twice", a.name)));
        }
        if a.en.is_empty() {
            return Err(invalid(format!("{at}.en: required")));
        }
        for (lang, text) in [("en", &a.en), ("ko", &a.ko)] {
            if text.len() > MAX_ANNOTATION_BYTES {
                return Err(invalid(format!(
                    "{at}.{lang}: more than {MAX_ANNOTATION_BYTES} bytes"
                )));
            }
        }
        let en = Template::parse(&format!("{at}.en"), &a.en)?;
        let ko = if a.ko.is_empty() {
            en.clone()
        } else {
            Template::parse(&format!("{at}.ko"), &a.ko)?
        };
        out.push(Template {
            name: a.name.clone(),
            ..Template::pair(en, ko)
        });
    }
    Ok(out)
}

fn check_k_of_n(field: &str, k_of_n: Option<&pb::KOfN>) -> Result<(u32, u32), Error> {
    match k_of_n.map_or((0, 0), |x| (x.k, x.n)) {
        (0, 0) => Ok((1, 1)),
        (k, n) if k >= 1 && k <= n && n <= MAX_K_OF_N => Ok((k, n)),
        (k, n) => Err(invalid(format!(
            "{field}: {k} of {n}; both 0 (1 of 1), or 1 <= k <= n <= {MAX_K_OF_N}"
        ))),
    }
}

fn check_series(field: &str, series: Option<&pb::RuleSeries>) -> Result<Series, Error> {
    match series.and_then(|s| s.series.as_ref()) {
        None => Err(invalid(format!("{field}: red or metric is required"))),
        Some(pb::rule_series::Series::Red(red)) => {
            let at = format!("{field}.red");
            if red.service_name.is_empty() {
                return Err(invalid(format!("{at}.service_name: required")));
            }
            let signal = pb::Signal::try_from(red.signal)
                .ok()
                .and_then(Signal::red_from_proto)
                .ok_or_else(|| {
                    invalid(format!(
                        "{at}.signal: {} is not a signal of entry spans",
                        red.signal
                    ))
                })?;
            if red.history_minutes != 0 {
                return Err(invalid(format!(
                    "{at}.history_minutes: rules read the minutes they judge; leave it 0"
                )));
            }
            Ok(Series::Red {
                service: red.service_name.clone(),
                operation: red.operation.clone(),
                signal,
            })
        }
        Some(pb::rule_series::Series::Metric(metric)) => {
            crate::stored::check_metric_selector(&format!("{field}.metric"), metric)?;
            Ok(Series::Metric(metric.clone()))
        }
    }
}

fn check_burn_rate(at: &str, b: &pb::BurnRateCondition) -> Result<Condition, Error> {
    if b.service_name.is_empty() {
        return Err(invalid(format!("{at}.service_name: required")));
    }
    if !(b.objective > 0.0 && b.objective < 1.0) {
        return Err(invalid(format!(
            "{at}.objective: {} is not within (0, 1), for example 0.999",
            b.objective
        )));
    }
    if b.windows.len() > MAX_BURN_WINDOWS {
        return Err(invalid(format!(
            "{at}.windows: {} windows, at most {MAX_BURN_WINDOWS}",
            b.windows.len()
        )));
    }
    let mut windows = Vec::new();
    for (i, w) in b.windows.iter().enumerate() {
        let wat = format!("{at}.windows[{i}]");
        if w.long_minutes == 0 || w.long_minutes > MAX_BURN_LONG_MINUTES {
            return Err(invalid(format!(
                "{wat}.long_minutes: {} is not within 1 to {MAX_BURN_LONG_MINUTES}",
                w.long_minutes
            )));
        }
        if w.short_minutes == 0 || w.short_minutes >= w.long_minutes {
            return Err(invalid(format!(
                "{wat}.short_minutes: {} is not within 1 to long_minutes - 1",
                w.short_minutes
            )));
        }
        if !(w.factor.is_finite() && w.factor > 0.0) {
            return Err(invalid(format!(
                "{wat}.factor: {} is not a finite number above 0",
                w.factor
            )));
        }
        windows.push((w.long_minutes, w.short_minutes, w.factor));
    }
    if windows.is_empty() {
        windows = DEFAULT_BURN_WINDOWS.to_vec();
    }
    Ok(Condition::BurnRate {
        service: b.service_name.clone(),
        operation: b.operation.clone(),
        budget: 1.0 - b.objective,
        windows,
    })
}

// === templates ===

/// One piece of an annotation text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Value,
    Label(String),
}

/// An annotation's English and Korean texts, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pub(crate) name: String,
    en: Vec<Piece>,
    ko: Vec<Piece>,
}

impl Template {
    fn pair(en: Vec<Piece>, ko: Vec<Piece>) -> Self {
        Self {
            name: String::new(),
            en,
            ko,
        }
    }

    /// `text` as pieces; `{{ $value }}` and `{{ $labels.<name> }}` are the
    /// only placeholders, anything else in `{{ }}` is refused.
    pub(crate) fn parse(field: &str, text: &str) -> Result<Vec<Piece>, Error> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(invalid(format!(
                    "{field}: a {{{{ without its }}}} at byte {open}"
                )));
            };
            let inner = after[..close].trim();
            if inner == "$value" {
                pieces.push(Piece::Value);
            } else if let Some(label) = inner.strip_prefix("$labels.").filter(|l| valid_name(l)) {
                pieces.push(Piece::Label(label.to_owned()));
            } else {
                return Err(invalid(format!(
                    "{field}: {{{{ {inner} }}}} is not {{{{ $value }}}} or {{{{ $labels.<name> }}}}"
                )));
            }
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(pieces)
    }

    /// The text in `locale` ("ko" or anything else for English), with the
    /// value and labels filled in; a label the alert lacks renders empty.
    pub(crate) fn render(
        &self,
        locale: &str,
        value: f64,
        labels: &BTreeMap<String, String>,
    ) -> String {
        let pieces = if locale == "ko" { &self.ko } else { &self.en };
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value => out.push_str(&format_value(value)),
                Piece::Label(name) => out.push_str(labels.get(name).map_or("", String::as_str)),
            }
        }
        out
    }
}

/// A value as people read it: whole numbers without decimals, others with
/// up to four significant decimals.
pub(crate) fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let digits = if value.abs() >= 1.0 { 2 } else { 4 };
    let text = format!("{value:.digits$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::airis::analytics::v1::Aggregation;

    fn red(signal: pb::Signal) -> pb::RuleSeries {
        pb::RuleSeries {
            series: Some(pb::rule_series::Series::Red(pb::RedSeriesSelector {
                service_name: "payment".to_owned(),
                operation: "POST /charge".to_owned(),
                signal: signal as i32,
                history_minutes: 0,
            })),
        }
    }

    fn threshold_rule() -> pb::AlertRule {
        pb::AlertRule {
            name: "slow charges".to_owned(),
            condition: Some(pb::alert_rule::Condition::Threshold(
                pb::ThresholdCondition {
                    series: Some(red(pb::Signal::LatencyP95)),
                    comparison: pb::Comparison::Above as i32,
                    threshold: 500.0,
                    k_of_n: None,
                },
            )),
            labels: [("severity".to_owned(), "page".to_owned())].into(),
            annotations: vec![pb::Annotation {
                name: "summary".to_owned(),
                en: "p95 of {{ $labels.service_name }} is {{$value}} ms".to_owned(),
                ko: "{{ $labels.service_name }}의 p95가 {{ $value }} ms입니다".to_owned(),
            }],
            ..Default::default()
        }
    }

    fn refusal(rule: pb::AlertRule) -> String {
        match Rule::check("rule", &rule) {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_good_rule_has_its_labels_and_renders_both_languages() {
        let rule = Rule::check("rule", &threshold_rule()).unwrap();
        let labels = rule.labels();
        assert_eq!(labels["alertname"], "slow charges");
        assert_eq!(labels["service_name"], "payment");
        assert_eq!(labels["operation"], "POST /charge");
        assert_eq!(labels["signal"], "latency_p95");
        assert_eq!(labels["severity"], "page");
        let summary = &rule.annotations[0];
        assert_eq!(summary.name, "summary");
        assert_eq!(
            summary.render("en", 612.5, &labels),
            "p95 of payment is 612.5 ms"
        );
        assert_eq!(
            summary.render("ko", 612.5, &labels),
            "payment의 p95가 612.5 ms입니다"
        );
        assert_eq!(rule.lookback_minutes(), 0);
    }

    #[test]
    fn refusals_name_the_field() {
        let mut r = threshold_rule();
        r.name = " ".to_owned();
        assert!(refusal(r).starts_with("rule.name: required"));
        let mut r = threshold_rule();
        r.condition = None;
        assert!(refusal(r).starts_with("rule.condition:"));
        let mut r = threshold_rule();
        r.for_minutes = 1_441;
        assert!(refusal(r).starts_with("rule.for_minutes:"));
        let mut r = threshold_rule();
        r.labels.insert("9lives".to_owned(), String::new());
        assert!(refusal(r).starts_with("rule.labels[\"9lives\"]"));
        let mut r = threshold_rule();
        r.labels.insert("alertname".to_owned(), "x".to_owned());
        assert!(refusal(r).starts_with("rule.labels[\"alertname\"]"));
        let mut r = threshold_rule();
        r.annotations[0].en = "{{ $valu }}".to_owned();
        assert!(refusal(r).starts_with("rule.annotations[0].en:"));
        let mut r = threshold_rule();
        r.annotations[0].ko = "{{ $value ".to_owned();
        assert!(refusal(r).starts_with("rule.annotations[0].ko:"));
        let mut r = threshold_rule();
        r.annotations.push(r.annotations[0].clone());
        assert!(refusal(r).starts_with("rule.annotations[1].name:"));
        let mut r = threshold_rule();
        if let Some(pb::alert_rule::Condition::Threshold(t)) = &mut r.condition {
            t.threshold = f64::NAN;
        }
        assert!(refusal(r).starts_with("rule.threshold.threshold:"));
        let mut r = threshold_rule();
        if let Some(pb::alert_rule::Condition::Threshold(t)) = &mut r.condition {
            t.k_of_n = Some(pb::KOfN { k: 3, n: 2 });
        }
        assert!(refusal(r).starts_with("rule.threshold.k_of_n:"));
        let mut r = threshold_rule();
        if let Some(pb::alert_rule::Condition::Threshold(t)) = &mut r.condition {
            t.series = Some(red(pb::Signal::Unspecified));
        }
        assert!(refusal(r).starts_with("rule.threshold.series.red.signal:"));
        let mut r = threshold_rule();
        r.condition = Some(pb::alert_rule::Condition::Absence(pb::AbsenceCondition {
            series: Some(pb::RuleSeries {
                series: Some(pb::rule_series::Series::Metric(pb::MetricSeriesSelector {
                    metric_name: "queue.depth".to_owned(),
                    aggregation: Aggregation::Quantile as i32,
                    ..Default::default()
                })),
            }),
            minutes: 5,
        }));
        assert!(refusal(r).starts_with("rule.absence.series.metric.quantile:"));
        let mut r = threshold_rule();
        r.condition = Some(pb::alert_rule::Condition::Anomaly(pb::AnomalyCondition {
            filter: Some(pb::AnomalyFilter::default()),
            k_of_n: None,
        }));
        assert!(refusal(r).starts_with("rule.anomaly.filter.service_name:"));
        let mut r = threshold_rule();
        r.condition = Some(pb::alert_rule::Condition::BurnRate(pb::BurnRateCondition {
            service_name: "payment".to_owned(),
            objective: 0.999,
            windows: vec![pb::BurnRateWindow {
                long_minutes: 60,
                short_minutes: 60,
                factor: 14.4,
            }],
            ..Default::default()
        }));
        assert!(refusal(r).starts_with("rule.burn_rate.windows[0].short_minutes:"));
    }

    #[test]
    fn defaults_fill_in() {
        let mut r = threshold_rule();
        r.condition = Some(pb::alert_rule::Condition::BurnRate(pb::BurnRateCondition {
            service_name: "payment".to_owned(),
            objective: 0.999,
            ..Default::default()
        }));
        let rule = Rule::check("rule", &r).unwrap();
        let Condition::BurnRate {
            windows, budget, ..
        } = &rule.condition
        else {
            panic!("{rule:?}");
        };
        assert_eq!(windows, &DEFAULT_BURN_WINDOWS.to_vec());
        assert!((budget - 0.001).abs() < 1e-12);
        assert_eq!(rule.lookback_minutes(), 359);
    }

    #[test]
    fn values_read_as_people_write_them() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(612.5), "612.5");
        assert_eq!(format_value(0.012_345), "0.0123");
        assert_eq!(format_value(14.456), "14.46");
    }
}
