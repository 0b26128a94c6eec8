//! From two cohorts' aggregated spans to the answer: the tests of every
//! operation, adjusted together, the verdict and its reasons.
//!
//! Plain computation on [`CohortData`], without I/O, so the calibration
//! tests run it on generated cohorts exactly as the service does on stored
//! ones.

use std::collections::{BTreeMap, BTreeSet};

use airis_proto::airis::delta::v1 as pb;
use pb::{Severity, Signal, Verdict};

use crate::options::Options;
use crate::stats::{self, Bins, Tested};
use crate::templates::Miner;

/// The spans of one operation (or one service's entry spans) in a cohort.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub durations: Bins,
    pub errors: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.durations.total()
    }

    fn merge(&mut self, other: &Counts) {
        self.durations.merge(&other.durations);
        self.errors += other.errors;
    }
}

/// What one cohort holds, aggregated.
#[derive(Clone, Debug, Default)]
pub struct CohortData {
    pub label: String,
    /// Length of the cohort's time range.
    pub seconds: f64,
    /// Every span, by (service, operation).
    pub operations: BTreeMap<(String, String), Counts>,
    /// Entry spans (server and consumer) by service.
    pub entries: BTreeMap<String, Counts>,
    /// The operations of each service's entry spans.
    pub entry_operations: BTreeMap<String, BTreeSet<String>>,
    /// Log records by shape (their variable words already `<*>`).
    pub logs: Vec<LogShape>,
    /// Every log record of the cohort, including shapes beyond those read.
    pub log_total: u64,
    /// Spans by (service, operation, attribute key) and value of that
    /// attribute ([`airis_store::derived::COMPARED`]).
    pub attributes: BTreeMap<(String, String, String), BTreeMap<String, u64>>,
}

/// Log records of one shape and service.
#[derive(Clone, Debug, Default)]
pub struct LogShape {
    pub shape: String,
    /// One record as logged.
    pub example: String,
    pub severity: u8,
    pub service: String,
    pub count: u64,
}

impl CohortData {
    /// Adds spans of one (service, operation); `entry` when they are server
    /// or consumer spans.
    pub fn add(&mut self, service: &str, operation: &str, entry: bool, counts: &Counts) {
        self.operations
            .entry((service.to_owned(), operation.to_owned()))
            .or_default()
            .merge(counts);
        if entry {
            self.entries
                .entry(service.to_owned())
                .or_default()
                .merge(counts);
            self.entry_operations
                .entry(service.to_owned())
                .or_default()
                .insert(operation.to_owned());
        }
    }

    /// Adds `count` spans of (service, operation) whose attribute `key`
    /// holds `value`.
    pub fn add_attribute(
        &mut self,
        service: &str,
        operation: &str,
        key: &str,
        value: &str,
        count: u64,
    ) {
        *self
            .attributes
            .entry((service.to_owned(), operation.to_owned(), key.to_owned()))
            .or_default()
            .entry(value.to_owned())
            .or_default() += count;
    }

    fn spans(&self) -> u64 {
        self.operations.values().map(Counts::total).sum()
    }

    fn errors(&self) -> u64 {
        self.operations.values().map(|c| c.errors).sum()
    }

    fn service_spans(&self, service: &str) -> u64 {
        self.operations
            .range((service.to_owned(), String::new())..)
            .take_while(|((s, _), _)| s == service)
            .map(|(_, c)| c.total())
            .sum()
    }

    fn entry_spans(&self) -> u64 {
        self.entries.values().map(Counts::total).sum()
    }

    /// The counts of a row: an operation, or a service's entry spans when
    /// `operation` is empty.
    fn row(&self, service: &str, operation: &str) -> Option<&Counts> {
        if operation.is_empty() {
            self.entries.get(service)
        } else {
            self.operations
                .get(&(service.to_owned(), operation.to_owned()))
        }
    }

    /// The total a row's share is of: its service's spans for an operation,
    /// every entry span of the cohort for a service.
    fn share_of(&self, service: &str, operation: &str) -> u64 {
        if operation.is_empty() {
            self.entry_spans()
        } else {
            self.service_spans(service)
        }
    }
}

/// The quantile levels reported.
const LEVELS: [f64; 3] = [0.5, 0.95, 0.99];
/// Buckets of the histograms drawn.
const HISTOGRAM_BUCKETS: usize = 64;
/// Operations named in one "not judged" reason; the rest are counted.
const NAMED: usize = 5;
/// Fewest expected errors and non-errors per cohort for the z-test; below
/// it Fisher's exact test.
const Z_TEST_MIN: u64 = 5;

/// Templates an answer lists.
const MAX_TEMPLATES: usize = 200;
/// Severity numbers from here on are errors (OpenTelemetry's ERROR).
const ERROR_SEVERITY: u32 = 17;
/// A template logged this many times as often (or as seldom) has changed.
const TEMPLATE_FACTOR: f64 = 2.0;
/// How much a new error template weighs among the failures: ahead of a
/// regression ten times its threshold.
const NEW_ERROR_TEMPLATE_WEIGHT: f64 = 10.0;

/// Attribute deltas an answer lists.
const MAX_ATTRIBUTES: usize = 200;
/// Values an attribute delta lists, `other` included.
const MAX_VALUES: usize = 20;

/// A test awaiting its adjusted p-value: which row and which test.
#[derive(Clone, Copy)]
enum Slot {
    MannWhitney(usize),
    KolmogorovSmirnov(usize),
    Errors(usize),
    Throughput(usize),
    Template(usize),
    Attribute(usize),
}

/// Compares `candidate` with `baseline`.
pub fn compare(
    baseline: &CohortData,
    candidate: &CohortData,
    options: &Options,
) -> pb::CompareResponse {
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    let mut entry_operations: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for data in [baseline, candidate] {
        for (service, operations) in &data.entry_operations {
            entry_operations
                .entry(service)
                .or_default()
                .extend(operations.iter().map(String::as_str));
        }
        keys.extend(data.operations.keys().cloned());
    }
    // A service as a whole, where it has more than one entry operation
    // (with one, it would repeat that operation's row).
    keys.extend(
        entry_operations
            .iter()
            .filter(|(_, operations)| operations.len() > 1)
            .map(|(service, _)| ((*service).to_owned(), String::new())),
    );
    let empty = Counts::default();
    let mut rows = Vec::with_capacity(keys.len());
    let mut slots: Vec<(Slot, f64)> = Vec::new();
    let mut not_judged = Vec::new();
    let mut new_ops = Vec::new();
    let mut gone_ops = Vec::new();
    for (service, operation) in keys {
        let b = baseline.row(&service, &operation).unwrap_or(&empty);
        let c = candidate.row(&service, &operation).unwrap_or(&empty);
        let index = rows.len();
        let judged = b.total() >= options.min_samples && c.total() >= options.min_samples;
        let mut row = pb::OperationDelta {
            service_name: service.clone(),
            operation: operation.clone(),
            verdict: if judged {
                Verdict::Pass
            } else {
                Verdict::Inconclusive
            } as i32,
            ..Default::default()
        };
        if !judged {
            let name = row_name(&service, &operation);
            match (b.total(), c.total()) {
                (0, n) if n >= options.min_samples => new_ops.push(name),
                (n, 0) if n >= options.min_samples => gone_ops.push(name),
                (0, 0) => {}
                (nb, nc) => not_judged.push((name, nb, nc)),
            }
            // Counts only: too few spans for tests worth reading.
            row.latency = options.has(Signal::Latency).then(|| pb::LatencyDelta {
                baseline: Some(quantiles(&b.durations)),
                candidate: Some(quantiles(&c.durations)),
                ..Default::default()
            });
            row.errors = options.has(Signal::Errors).then(|| pb::ErrorDelta {
                baseline: Some(rate(b.errors, b.total(), options.alpha)),
                candidate: Some(rate(c.errors, c.total(), options.alpha)),
                ..Default::default()
            });
            rows.push(row);
            continue;
        }
        if options.has(Signal::Latency) {
            let (bd, cd) = (&b.durations, &c.durations);
            let mw = stats::mann_whitney(bd, cd).unwrap_or(NO_TEST);
            let ks = stats::kolmogorov_smirnov(bd, cd).unwrap_or(NO_TEST);
            slots.push((Slot::MannWhitney(index), mw.p_value));
            slots.push((Slot::KolmogorovSmirnov(index), ks.p_value));
            row.latency = Some(pb::LatencyDelta {
                baseline: Some(quantiles(bd)),
                candidate: Some(quantiles(cd)),
                shift: stats::hodges_lehmann(bd, cd, options.alpha).map(change),
                p99: stats::quantile_change(bd, cd, 0.99, options.alpha).map(change),
                mann_whitney: Some(test(mw)),
                kolmogorov_smirnov: Some(test(ks)),
                histogram: Some(histogram(bd, cd)),
            });
        }
        if options.has(Signal::Errors) {
            let (base, cand) = ((b.errors, b.total()), (c.errors, c.total()));
            let small = [
                b.errors,
                b.total() - b.errors,
                c.errors,
                c.total() - c.errors,
            ]
            .into_iter()
            .any(|n| n < Z_TEST_MIN);
            let (tested, method) = if small {
                (
                    stats::fisher_exact(base, cand),
                    pb::ProportionTest::FisherExact,
                )
            } else {
                (
                    stats::two_proportion_z(base, cand),
                    pb::ProportionTest::TwoProportionZ,
                )
            };
            slots.push((Slot::Errors(index), tested.p_value));
            let (rb, rc) = (
                rate(b.errors, b.total(), options.alpha),
                rate(c.errors, c.total(), options.alpha),
            );
            row.errors = Some(pb::ErrorDelta {
                difference: rc.rate - rb.rate,
                baseline: Some(rb),
                candidate: Some(rc),
                test: Some(test(tested)),
                method: method as i32,
            });
        }
        if options.has(Signal::Throughput) {
            let (ob, oc) = (
                baseline.share_of(&service, &operation),
                candidate.share_of(&service, &operation),
            );
            let tested = stats::two_proportion_z((b.total(), ob), (c.total(), oc));
            slots.push((Slot::Throughput(index), tested.p_value));
            row.throughput = Some(pb::ThroughputDelta {
                baseline_per_second: per_second(b.total(), baseline.seconds),
                candidate_per_second: per_second(c.total(), candidate.seconds),
                baseline_share: Some(rate(b.total(), ob, options.alpha)),
                candidate_share: Some(rate(c.total(), oc, options.alpha)),
                test: Some(test(tested)),
            });
        }
        rows.push(row);
    }

    let mut templates = if options.has(Signal::Logs) {
        template_rows(baseline, candidate, options.alpha)
    } else {
        Vec::new()
    };
    for (i, t) in templates.iter().enumerate() {
        slots.push((
            Slot::Template(i),
            t.test.as_ref().map_or(1.0, |t| t.p_value),
        ));
    }
    let mut attributes = if options.has(Signal::Attributes) {
        attribute_rows(baseline, candidate, options)
    } else {
        Vec::new()
    };
    for (i, a) in attributes.iter().enumerate() {
        if let Some(t) = &a.delta.test {
            slots.push((Slot::Attribute(i), t.p_value));
        }
    }

    // Every p-value of the answer adjusted together.
    let q = adjust(&slots);
    for (&(slot, _), q) in slots.iter().zip(q) {
        let significant = q < options.alpha;
        let target = match slot {
            Slot::MannWhitney(i) => rows[i]
                .latency
                .as_mut()
                .and_then(|l| l.mann_whitney.as_mut()),
            Slot::KolmogorovSmirnov(i) => rows[i]
                .latency
                .as_mut()
                .and_then(|l| l.kolmogorov_smirnov.as_mut()),
            Slot::Errors(i) => rows[i].errors.as_mut().and_then(|e| e.test.as_mut()),
            Slot::Throughput(i) => rows[i].throughput.as_mut().and_then(|t| t.test.as_mut()),
            Slot::Template(i) => templates[i].test.as_mut(),
            Slot::Attribute(i) => attributes[i].delta.test.as_mut(),
        };
        if let Some(t) = target {
            t.q_value = q;
            t.significant = significant;
        }
    }

    let cohort_names = Names {
        baseline: &baseline.label,
        candidate: &candidate.label,
    };
    let mut failures: Vec<(f64, bool, pb::Reason)> = Vec::new();
    let mut infos = Vec::new();
    // The judged checks' weights, and those that passed.
    let (mut checks, mut passed) = (0.0f64, 0.0f64);
    for row in &mut rows {
        if row.verdict != Verdict::Pass as i32 {
            continue;
        }
        let name = row_name(&row.service_name, &row.operation);
        let mut failed = false;
        if let Some(latency) = &row.latency {
            let counts = options.weight(Signal::Latency, &row.service_name, &row.operation);
            checks += counts;
            match judge_latency(latency, options) {
                Judged::Fail(weight) => {
                    failed = true;
                    failures.push((
                        weight,
                        !row.operation.is_empty(),
                        reason(
                            Severity::Fail,
                            Signal::Latency,
                            row,
                            latency_text(&name, latency),
                        ),
                    ));
                }
                Judged::Info => infos.push(reason(
                    Severity::Info,
                    Signal::Latency,
                    row,
                    latency_text(&name, latency),
                )),
                Judged::Same => passed += counts,
            }
        }
        if let Some(errors) = &row.errors {
            let counts = options.weight(Signal::Errors, &row.service_name, &row.operation);
            checks += counts;
            match judge_errors(errors, options) {
                Judged::Fail(weight) => {
                    failed = true;
                    failures.push((
                        weight,
                        !row.operation.is_empty(),
                        reason(
                            Severity::Fail,
                            Signal::Errors,
                            row,
                            error_text(&name, errors),
                        ),
                    ));
                }
                Judged::Info => infos.push(reason(
                    Severity::Info,
                    Signal::Errors,
                    row,
                    error_text(&name, errors),
                )),
                Judged::Same => passed += counts,
            }
        }
        if let Some(throughput) = &row.throughput
            && throughput.test.as_ref().is_some_and(|t| t.significant)
        {
            infos.push(reason(
                Severity::Info,
                Signal::Throughput,
                row,
                throughput_text(&name, throughput),
            ));
        }
        if failed {
            row.verdict = Verdict::Fail as i32;
        }
    }
    for template in &mut templates {
        let change = template_change(template);
        template.change = change as i32;
        let error = template.severity_number >= ERROR_SEVERITY;
        let text = template_text(template, change);
        let weight = match change {
            pb::TemplateChange::New if error => Some(NEW_ERROR_TEMPLATE_WEIGHT),
            pb::TemplateChange::More if error => Some(share_ratio(template) / TEMPLATE_FACTOR),
            _ => None,
        };
        let reason = pb::Reason {
            signal: Signal::Logs as i32,
            service_name: template.service_names.join(", "),
            template: template.template.clone(),
            en: text.en,
            ko: text.ko,
            ..Default::default()
        };
        match weight {
            Some(weight) => failures.push((
                weight,
                true,
                pb::Reason {
                    severity: Severity::Fail as i32,
                    ..reason
                },
            )),
            None if change != pb::TemplateChange::Same => infos.push(pb::Reason {
                severity: Severity::Info as i32,
                ..reason
            }),
            None => {}
        }
    }
    // Changed templates first, then the most logged.
    templates.sort_by_key(|t| {
        let rank = match pb::TemplateChange::try_from(t.change) {
            Ok(pb::TemplateChange::New) => 0,
            Ok(pb::TemplateChange::More) => 1,
            Ok(pb::TemplateChange::Vanished) => 2,
            Ok(pb::TemplateChange::Less) => 3,
            _ => 4,
        };
        let records = t.baseline.map_or(0, |r| r.count) + t.candidate.map_or(0, |r| r.count);
        (rank, std::cmp::Reverse(records))
    });
    templates.truncate(MAX_TEMPLATES);

    // Significant changes first, the strongest evidence first; the rest
    // stay in the order of their names.
    attributes.sort_by(|a, b| {
        let rank = |row: &AttributeRow| match &row.delta.test {
            Some(t) if t.significant => (0, t.q_value),
            _ => (1, 0.0),
        };
        let ((ra, qa), (rb, qb)) = (rank(a), rank(b));
        ra.cmp(&rb).then(qa.total_cmp(&qb))
    });
    attributes.truncate(MAX_ATTRIBUTES);
    for row in &attributes {
        if let Some((text, test)) = attribute_text(row).zip(row.delta.test.as_ref())
            && test.significant
        {
            infos.push(pb::Reason {
                severity: Severity::Info as i32,
                signal: Signal::Attributes as i32,
                service_name: row.delta.service_name.clone(),
                operation: row.delta.operation.clone(),
                attribute: row.delta.key.clone(),
                en: text.en,
                ko: text.ko,
                ..Default::default()
            });
        }
    }

    // The largest regression relative to its threshold first; an
    // operation before its service as a whole when they weigh the same.
    failures.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));

    let judged_rows = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Inconclusive as i32)
        .count();
    let mut blockers = Vec::new();
    let (nb, nc) = (baseline.spans(), candidate.spans());
    if nb == 0 {
        blockers.push(Text::new(
            format!("the baseline ({}) has no spans", cohort_names.baseline),
            format!("기준 코호트({})에 스팬이 없습니다", cohort_names.baseline),
        ));
    }
    if nc == 0 {
        blockers.push(Text::new(
            format!("the candidate ({}) has no spans", cohort_names.candidate),
            format!("후보 코호트({})에 스팬이 없습니다", cohort_names.candidate),
        ));
    }
    if nb > 0 && nc > 0 && judged_rows == 0 {
        let shared = rows
            .iter()
            .filter_map(|r| {
                let b = baseline.row(&r.service_name, &r.operation)?.total();
                let c = candidate.row(&r.service_name, &r.operation)?.total();
                Some((b.min(c), b, c, row_name(&r.service_name, &r.operation)))
            })
            .max_by_key(|&(least, ..)| least);
        blockers.push(match shared {
            None => Text::new(
                "the cohorts share no operation: nothing to compare".to_owned(),
                "두 코호트에 공통된 작업이 없어 비교할 것이 없습니다".to_owned(),
            ),
            Some((_, b, c, name)) => Text::new(
                format!(
                    "too little data: no operation has {min} spans in both cohorts \
                     (the most: {}, {b} and {c})",
                    name.en,
                    min = options.min_samples
                ),
                format!(
                    "데이터가 부족합니다: 두 코호트 모두에 스팬이 {min}개 이상인 작업이 없습니다 \
                     (가장 많은 작업: {}, {b}개와 {c}개)",
                    name.ko,
                    min = options.min_samples
                ),
            ),
        });
    }

    let verdict = if !blockers.is_empty() {
        Verdict::Inconclusive
    } else if !failures.is_empty() {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    let mut reasons: Vec<pb::Reason> = failures.into_iter().map(|(_, _, r)| r).collect();
    reasons.extend(
        blockers
            .into_iter()
            .map(|t| cohort_reason(Severity::Inconclusive, t)),
    );
    if !not_judged.is_empty() {
        reasons.push(cohort_reason(
            Severity::Inconclusive,
            not_judged_text(&not_judged, options.min_samples),
        ));
    }
    reasons.extend(infos);
    for (names, en, ko) in [
        (&new_ops, "only in the candidate", "후보 코호트에만 있음"),
        (&gone_ops, "only in the baseline", "기준 코호트에만 있음"),
    ] {
        if !names.is_empty() {
            let list_en = named_list(names.iter().map(|n| n.en.as_str()), names.len());
            let list_ko = named_list(names.iter().map(|n| n.ko.as_str()), names.len());
            reasons.push(cohort_reason(
                Severity::Info,
                Text::new(format!("{en}: {list_en}"), format!("{ko}: {list_ko}")),
            ));
        }
    }
    pb::CompareResponse {
        verdict: verdict as i32,
        score: if checks > 0.0 {
            100.0 * passed / checks
        } else {
            0.0
        },
        reasons,
        baseline: Some(summary(baseline)),
        candidate: Some(summary(candidate)),
        operations: rows,
        tests: slots.len() as u32,
        options: Some(options.to_proto()),
        templates,
        attributes: attributes.into_iter().map(|a| a.delta).collect(),
    }
}

/// The q-values of `slots`: Benjamini-Hochberg over all of them, except
/// that no other test's q-value falls below the one it has without the
/// attribute tests. A status code test repeats the error test's evidence
/// (a 5xx is an error), and two small p-values of one chance excess of
/// errors would let each other through: in 20,000 comparisons of one
/// distribution plain BH failed 93 times where 80 failed without the
/// attribute tests. So the attribute tests, which fail nothing, can make
/// the verdict stricter (a larger family), never flakier.
fn adjust(slots: &[(Slot, f64)]) -> Vec<f64> {
    let all = stats::benjamini_hochberg(&slots.iter().map(|&(_, p)| p).collect::<Vec<_>>());
    let judged: Vec<usize> = (0..slots.len())
        .filter(|&i| !matches!(slots[i].0, Slot::Attribute(_)))
        .collect();
    if judged.len() == slots.len() {
        return all;
    }
    let alone = stats::benjamini_hochberg(&judged.iter().map(|&i| slots[i].1).collect::<Vec<_>>());
    let mut q = all;
    for (&i, alone) in judged.iter().zip(alone) {
        q[i] = q[i].max(alone);
    }
    q
}

const NO_TEST: Tested = Tested {
    statistic: 0.0,
    p_value: 1.0,
};

enum Judged {
    /// Worse beyond the threshold; the weight is the effect over the
    /// threshold, for ordering.
    Fail(f64),
    /// A significant change that does not fail: below the threshold, or
    /// better.
    Info,
    Same,
}

/// Slower beyond the threshold, significantly: the typical duration (the
/// Hodges-Lehmann shift, by Mann-Whitney) or the p99 (its interval wholly
/// above the threshold, the shape changed by Kolmogorov-Smirnov).
fn judge_latency(latency: &pb::LatencyDelta, options: &Options) -> Judged {
    let significant = |t: &Option<pb::Test>| t.as_ref().is_some_and(|t| t.significant);
    let mw = significant(&latency.mann_whitney);
    let ks = significant(&latency.kolmogorov_smirnov);
    let threshold = options.latency_increase;
    let mut weight: f64 = 0.0;
    if let Some(shift) = &latency.shift
        && mw
        && shift.lower > 0.0
        && shift.estimate >= threshold
    {
        weight = weight.max(shift.estimate / threshold);
    }
    if let Some(p99) = &latency.p99
        && ks
        && p99.lower >= threshold
    {
        weight = weight.max(p99.estimate / threshold);
    }
    if weight > 0.0 {
        Judged::Fail(weight)
    } else if mw || ks {
        Judged::Info
    } else {
        Judged::Same
    }
}

/// A higher error rate, significantly and by at least the threshold.
fn judge_errors(errors: &pb::ErrorDelta, options: &Options) -> Judged {
    let significant = errors.test.as_ref().is_some_and(|t| t.significant);
    if significant && errors.difference >= options.error_rate_increase {
        Judged::Fail(errors.difference / options.error_rate_increase)
    } else if significant {
        Judged::Info
    } else {
        Judged::Same
    }
}

// === proto pieces ===

fn test(t: Tested) -> pb::Test {
    pb::Test {
        statistic: t.statistic,
        p_value: t.p_value,
        q_value: t.p_value,
        significant: false,
    }
}

fn change(c: stats::Change) -> pb::Change {
    pb::Change {
        estimate: c.estimate,
        lower: c.lower,
        upper: c.upper,
    }
}

fn quantiles(bins: &Bins) -> pb::Quantiles {
    let at = |level: f64| bins.quantile(level).map_or(0, |v| v.round() as u64);
    pb::Quantiles {
        count: bins.total(),
        p50_nano: at(LEVELS[0]),
        p95_nano: at(LEVELS[1]),
        p99_nano: at(LEVELS[2]),
    }
}

fn rate(count: u64, total: u64, alpha: f64) -> pb::Rate {
    let (lower, upper) = stats::wilson(count, total, alpha);
    pb::Rate {
        count,
        total,
        rate: if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        },
        lower,
        upper,
    }
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Both cohorts on one grid of up to [`HISTOGRAM_BUCKETS`] equal steps in
/// log duration, from the shortest span to the longest.
fn histogram(baseline: &Bins, candidate: &Bins) -> pb::Histogram {
    let all = || baseline.iter().chain(candidate.iter()).map(|(b, _)| b);
    let (Some(lo), Some(hi)) = (all().min(), all().max()) else {
        return pb::Histogram::default();
    };
    let span = (hi - lo + 1) as usize;
    let width = span.div_ceil(HISTOGRAM_BUCKETS).max(1);
    let buckets = span.div_ceil(width);
    let bucket = |bin: i32| ((bin - lo) as usize / width).min(buckets - 1);
    let count = |bins: &Bins| {
        let mut counts = vec![0u64; buckets];
        for (bin, n) in bins.iter() {
            counts[bucket(bin)] += n;
        }
        counts
    };
    pb::Histogram {
        bounds_nano: (0..=buckets)
            .map(|i| stats::bin_start(lo + (i * width) as i32).round() as u64)
            .collect(),
        baseline_counts: count(baseline),
        candidate_counts: count(candidate),
    }
}

fn summary(data: &CohortData) -> pb::CohortSummary {
    pb::CohortSummary {
        label: data.label.clone(),
        spans: data.spans(),
        errors: data.errors(),
        seconds: data.seconds,
        logs: data.log_total,
    }
}

// === log templates ===

/// Both cohorts' log records mined into one set of templates, each with
/// its counts, shares and test (p-value only; adjusted with the others).
fn template_rows(
    baseline: &CohortData,
    candidate: &CohortData,
    alpha: f64,
) -> Vec<pb::TemplateDelta> {
    let mut miner = Miner::new();
    for (cohort, data) in [baseline, candidate].into_iter().enumerate() {
        for log in &data.logs {
            miner.add(
                &log.shape,
                &log.example,
                cohort,
                log.severity,
                &log.service,
                log.count,
            );
        }
    }
    let (nb, nc) = (baseline.log_total, candidate.log_total);
    miner
        .into_templates()
        .into_iter()
        .map(|t| {
            let [b, c] = t.counts;
            let (nb, nc) = (nb.max(b), nc.max(c));
            let small = [b, nb - b, c, nc - c].into_iter().any(|n| n < Z_TEST_MIN);
            let tested = if small {
                stats::fisher_exact((b, nb), (c, nc))
            } else {
                stats::two_proportion_z((b, nb), (c, nc))
            };
            let [be, ce] = t.examples.clone();
            pb::TemplateDelta {
                template: t.text(),
                severity_number: u32::from(t.severity),
                baseline: Some(rate(b, nb, alpha)),
                candidate: Some(rate(c, nc, alpha)),
                test: Some(test(tested)),
                baseline_example: be.unwrap_or_default(),
                candidate_example: ce.unwrap_or_default(),
                service_names: t.services,
                change: pb::TemplateChange::Same as i32,
            }
        })
        .collect()
}

/// The candidate's share of records over the baseline's (infinite when
/// the baseline has none).
fn share_ratio(t: &pb::TemplateDelta) -> f64 {
    let (b, c) = (
        t.baseline.map_or(0.0, |r| r.rate),
        t.candidate.map_or(0.0, |r| r.rate),
    );
    if b > 0.0 { c / b } else { f64::INFINITY }
}

fn template_change(t: &pb::TemplateDelta) -> pb::TemplateChange {
    if !t.test.as_ref().is_some_and(|t| t.significant) {
        return pb::TemplateChange::Same;
    }
    let (b, c) = (
        t.baseline.map_or(0, |r| r.count),
        t.candidate.map_or(0, |r| r.count),
    );
    let ratio = share_ratio(t);
    if b == 0 {
        pb::TemplateChange::New
    } else if c == 0 {
        pb::TemplateChange::Vanished
    } else if ratio >= TEMPLATE_FACTOR {
        pb::TemplateChange::More
    } else if ratio <= 1.0 / TEMPLATE_FACTOR {
        pb::TemplateChange::Less
    } else {
        pb::TemplateChange::Same
    }
}

fn template_text(t: &pb::TemplateDelta, change: pb::TemplateChange) -> Text {
    let (b, c) = (
        t.baseline.unwrap_or_default(),
        t.candidate.unwrap_or_default(),
    );
    let level = if t.severity_number >= ERROR_SEVERITY {
        ("error", "오류")
    } else {
        ("log", "로그")
    };
    let (what_en, what_ko) = match change {
        pb::TemplateChange::New => ("new", "새"),
        pb::TemplateChange::Vanished => ("vanished", "사라진"),
        pb::TemplateChange::More => ("more frequent", "더 잦은"),
        pb::TemplateChange::Less => ("less frequent", "덜 잦은"),
        _ => ("unchanged", "변화 없는"),
    };
    let template = &t.template;
    Text::new(
        format!(
            "{what_en} {} template \"{template}\": {} records ({}) vs {} ({})",
            level.0,
            c.count,
            rate_text(c.rate),
            b.count,
            rate_text(b.rate)
        ),
        format!(
            "{what_ko} {} 템플릿 \"{template}\": {}건({}), 기준 {}건({})",
            level.1,
            c.count,
            rate_text(c.rate),
            b.count,
            rate_text(b.rate)
        ),
    )
}

// === attribute values ===

/// An attribute delta, with the value whose share changed most for its
/// reason: (value, baseline share, candidate share).
struct AttributeRow {
    delta: pb::AttributeDelta,
    changed_most: Option<(String, f64, f64)>,
}

/// Each (service, operation, attribute) of operations both cohorts hold,
/// unless every span of both has one and the same value, with its values'
/// counts and shares and, when both cohorts have `min_samples` spans with
/// the attribute, its chi-square test (p-value only; adjusted with the
/// others). In the order of their names.
fn attribute_rows(
    baseline: &CohortData,
    candidate: &CohortData,
    options: &Options,
) -> Vec<AttributeRow> {
    let keys: BTreeSet<&(String, String, String)> = baseline
        .attributes
        .keys()
        .chain(candidate.attributes.keys())
        .collect();
    let empty = BTreeMap::new();
    let mut rows = Vec::new();
    for key in keys {
        let (service, operation, name) = key;
        let operation_key = (service.clone(), operation.clone());
        // An operation in one cohort only is listed as new or vanished;
        // its attributes tell nothing more.
        if !baseline.operations.contains_key(&operation_key)
            || !candidate.operations.contains_key(&operation_key)
        {
            continue;
        }
        let b = baseline.attributes.get(key).unwrap_or(&empty);
        let c = candidate.attributes.get(key).unwrap_or(&empty);
        let mut values: Vec<(&str, u64, u64)> = b
            .keys()
            .chain(c.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|v| {
                let count = |m: &BTreeMap<String, u64>| m.get(v).copied().unwrap_or(0);
                (v.as_str(), count(b), count(c))
            })
            .collect();
        let (nb, nc) = (b.values().sum::<u64>(), c.values().sum::<u64>());
        if values.len() < 2 && nb > 0 && nc > 0 {
            continue;
        }
        // The most frequent first, then by value.
        values.sort_by_key(|&(v, cb, cc)| (std::cmp::Reverse(cb + cc), v));
        let share = |count: u64, total: u64| {
            if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            }
        };
        // The value named: the one whose share changed most for how
        // common it is, its term of χ² (a 502 going from 2 % to 5 %, not
        // the 200 going from 98 % to 95 %).
        let n = (nb + nc) as f64;
        let term = |cb: u64, cc: u64| {
            let (eb, ec) = (
                nb as f64 * (cb + cc) as f64 / n,
                nc as f64 * (cb + cc) as f64 / n,
            );
            (cb as f64 - eb).powi(2) / eb + (cc as f64 - ec).powi(2) / ec
        };
        let changed_most = values
            .iter()
            .filter(|_| nb > 0 && nc > 0)
            .max_by(|x, y| term(x.1, x.2).total_cmp(&term(y.1, y.2)))
            .map(|&(v, cb, cc)| (v.to_owned(), share(cb, nb), share(cc, nc)));
        let tested = (nb >= options.min_samples && nc >= options.min_samples)
            .then(|| {
                let counts: Vec<(u64, u64)> = values.iter().map(|&(_, b, c)| (b, c)).collect();
                stats::chi_square_homogeneity(&counts)
            })
            .flatten();
        let value = |v: &str, cb: u64, cc: u64, other: bool| pb::AttributeValue {
            value: v.to_owned(),
            baseline: Some(rate(cb, nb, options.alpha)),
            candidate: Some(rate(cc, nc, options.alpha)),
            other,
        };
        let mut listed: Vec<pb::AttributeValue> = Vec::new();
        if values.len() > MAX_VALUES {
            let (top, rest) = values.split_at(MAX_VALUES - 1);
            listed.extend(top.iter().map(|&(v, cb, cc)| value(v, cb, cc, false)));
            let (ob, oc) = rest
                .iter()
                .fold((0, 0), |(ob, oc), &(_, cb, cc)| (ob + cb, oc + cc));
            listed.push(value("", ob, oc, true));
        } else {
            listed.extend(values.iter().map(|&(v, cb, cc)| value(v, cb, cc, false)));
        }
        rows.push(AttributeRow {
            delta: pb::AttributeDelta {
                service_name: service.clone(),
                operation: operation.clone(),
                key: name.clone(),
                values: listed,
                test: tested.map(|t| test(t.tested)),
                degrees_of_freedom: tested.map_or(0, |t| t.degrees_of_freedom),
                cramers_v: tested.map_or(0.0, |t| t.cramers_v),
            },
            changed_most,
        });
    }
    rows
}

/// "checkout POST /checkout: http.response.status_code distribution
/// changed (χ² 41.2, df 3, q < 0.001): 502 3.1 % vs 0.2 %", for a tested
/// row.
fn attribute_text(row: &AttributeRow) -> Option<Text> {
    let d = &row.delta;
    let t = d.test.as_ref()?;
    let (value, b, c) = row.changed_most.as_ref()?;
    let name = row_name(&d.service_name, &d.operation);
    let q = if t.q_value < 0.001 {
        "q < 0.001".to_owned()
    } else {
        format!("q = {:.3}", t.q_value)
    };
    let value = if value.is_empty() { "\"\"" } else { value };
    let (key, df, chi2) = (&d.key, d.degrees_of_freedom, t.statistic);
    let (c, b) = (rate_text(*c), rate_text(*b));
    Some(Text::new(
        format!(
            "{}: {key} distribution changed (χ² {chi2:.1}, df {df}, {q}): {value} {c} vs {b}",
            name.en
        ),
        format!(
            "{}: {key} 값 분포 변화 (χ² {chi2:.1}, 자유도 {df}, {q}): {value} {c} (기준 {b})",
            name.ko
        ),
    ))
}

// === reasons ===

struct Names<'a> {
    baseline: &'a str,
    candidate: &'a str,
}

/// A text in English and Korean.
struct Text {
    en: String,
    ko: String,
}

impl Text {
    fn new(en: String, ko: String) -> Self {
        Self { en, ko }
    }
}

fn reason(severity: Severity, signal: Signal, row: &pb::OperationDelta, text: Text) -> pb::Reason {
    pb::Reason {
        severity: severity as i32,
        signal: signal as i32,
        service_name: row.service_name.clone(),
        operation: row.operation.clone(),
        en: text.en,
        ko: text.ko,
        ..Default::default()
    }
}

fn cohort_reason(severity: Severity, text: Text) -> pb::Reason {
    pb::Reason {
        severity: severity as i32,
        en: text.en,
        ko: text.ko,
        ..Default::default()
    }
}

/// "checkout POST /orders", or "checkout, all operations" for the
/// service as a whole (its entry spans).
fn row_name(service: &str, operation: &str) -> Text {
    if operation.is_empty() {
        Text::new(
            format!("{service}, all operations"),
            format!("{service} 전체 작업"),
        )
    } else {
        let name = format!("{service} {operation}");
        Text::new(name.clone(), name)
    }
}

/// A relative change as a signed whole percentage without its sign of
/// percent: "+23", "−5", "±0".
fn signed(x: f64) -> String {
    let p = (x * 100.0).round();
    if p > 0.0 {
        format!("+{p:.0}")
    } else if p < 0.0 {
        format!("−{:.0}", -p)
    } else {
        "±0".to_owned()
    }
}

/// "+23 %".
fn percent(x: f64) -> String {
    format!("{} %", signed(x))
}

/// An interval of changes: "+18..+29 %".
fn interval(c: &pb::Change) -> String {
    format!("{}..{} %", signed(c.lower), signed(c.upper))
}

/// A duration in the unit that reads best: "850 µs", "48.5 ms", "1.2 s".
fn duration(nanos: u64) -> String {
    let n = nanos as f64;
    if n >= 1e9 {
        format!("{:.2} s", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} ms", n / 1e6)
    } else {
        format!("{:.0} µs", n / 1e3)
    }
}

/// A rate in percent: "2.1 %".
fn rate_text(r: f64) -> String {
    let p = r * 100.0;
    if p > 0.0 && p < 0.1 {
        format!("{p:.2} %")
    } else {
        format!("{p:.1} %")
    }
}

fn latency_text(name: &Text, latency: &pb::LatencyDelta) -> Text {
    let mut en = format!("{}:", name.en);
    let mut ko = format!("{}:", name.ko);
    if let Some(shift) = &latency.shift {
        let (estimate, ci) = (percent(shift.estimate), interval(shift));
        en.push_str(&format!(" typical latency {estimate} (CI {ci})"));
        ko.push_str(&format!(" 일반적인 지연 시간 {estimate} (신뢰구간 {ci})"));
    }
    if let Some(p99) = &latency.p99 {
        let (estimate, ci) = (percent(p99.estimate), interval(p99));
        en.push_str(&format!(", p99 {estimate} (CI {ci})"));
        ko.push_str(&format!(", p99 {estimate} (신뢰구간 {ci})"));
    }
    if let (Some(b), Some(c)) = (&latency.baseline, &latency.candidate) {
        let (b50, c50) = (duration(b.p50_nano), duration(c.p50_nano));
        let (b99, c99) = (duration(b.p99_nano), duration(c.p99_nano));
        en.push_str(&format!(
            "; p50 {c50} vs {b50}, p99 {c99} vs {b99} ({} vs {} spans)",
            c.count, b.count
        ));
        ko.push_str(&format!(
            "; p50 {c50} (기준 {b50}), p99 {c99} (기준 {b99}), 스팬 {}개 대 {}개",
            c.count, b.count
        ));
    }
    Text::new(en, ko)
}

fn error_text(name: &Text, errors: &pb::ErrorDelta) -> Text {
    let (b, c) = (
        errors.baseline.unwrap_or_default(),
        errors.candidate.unwrap_or_default(),
    );
    let pp = errors.difference * 100.0;
    let sign = if pp >= 0.0 { "+" } else { "−" };
    Text::new(
        format!(
            "{}: {} errors vs {} ({sign}{:.1} percentage points; {} of {} vs {} of {})",
            name.en,
            rate_text(c.rate),
            rate_text(b.rate),
            pp.abs(),
            c.count,
            c.total,
            b.count,
            b.total
        ),
        format!(
            "{}: 오류율 {} (기준 {}, {sign}{:.1}%p; {}건 중 {}건, 기준 {}건 중 {}건)",
            name.ko,
            rate_text(c.rate),
            rate_text(b.rate),
            pp.abs(),
            c.total,
            c.count,
            b.total,
            b.count
        ),
    )
}

fn throughput_text(name: &Text, t: &pb::ThroughputDelta) -> Text {
    let share = |r: &Option<pb::Rate>| rate_text(r.as_ref().map_or(0.0, |r| r.rate));
    let (b, c) = (share(&t.baseline_share), share(&t.candidate_share));
    Text::new(
        format!(
            "{}: {c} of its requests vs {b} ({:.1}/s vs {:.1}/s)",
            name.en, t.candidate_per_second, t.baseline_per_second
        ),
        format!(
            "{}: 요청 비중 {c} (기준 {b}, 초당 {:.1}건 대 {:.1}건)",
            name.ko, t.candidate_per_second, t.baseline_per_second
        ),
    )
}

fn named_list<'a>(names: impl Iterator<Item = &'a str>, total: usize) -> String {
    // The first few names, then how many more.
    let mut list: Vec<&str> = names.take(NAMED).collect();
    let more;
    if total > NAMED {
        more = format!("… (+{})", total - NAMED);
        list.push(&more);
    }
    list.join(", ")
}

fn not_judged_text(rows: &[(Text, u64, u64)], min: u64) -> Text {
    let en = named_list(rows.iter().map(|(n, ..)| n.en.as_str()), rows.len());
    let ko = named_list(rows.iter().map(|(n, ..)| n.ko.as_str()), rows.len());
    Text::new(
        format!(
            "{} not judged, fewer than {min} spans in a cohort: {en}",
            if rows.len() == 1 {
                "1 operation".to_owned()
            } else {
                format!("{} operations", rows.len())
            }
        ),
        format!(
            "작업 {}개는 한 코호트의 스팬이 {min}개 미만이라 판정하지 않았습니다: {ko}",
            rows.len()
        ),
    )
}

#[cfg(test)]
mod tests;
