//! The verdict on generated cohorts: calibration (two samples of one
//! distribution rarely fail), power (a regression of the size that matters
//! is found, its operation named first), and the cases that must never
//! pass.

use super::*;
use crate::stats::tests::Rng;

/// An operation of the generated service: name, share of requests, median
/// duration in ms, spread in log units.
const OPERATIONS: [(&str, f64, f64, f64); 5] = [
    ("POST /checkout", 0.30, 120.0, 0.35),
    ("GET /cart", 0.25, 25.0, 0.40),
    ("GET /product", 0.30, 40.0, 0.30),
    ("POST /cart", 0.10, 60.0, 0.45),
    ("price basket", 0.05, 15.0, 0.50),
];

const BASELINE: usize = 10_800;
const CANDIDATE: usize = 1_200;

/// A regression applied to one cohort.
#[derive(Clone, Copy, Default)]
struct Regression {
    operation: usize,
    latency_factor: f64,
    extra_error_rate: f64,
}

/// A cohort of `requests` spans of service "checkout" over ten minutes,
/// 2 % errors. The demo's canary traffic over ten minutes is about
/// [`BASELINE`] and [`CANDIDATE`]: 6 checkouts a second, 10 % of them on
/// the candidate, so 360 candidate spans of POST /checkout.
fn cohort(
    rng: &mut Rng,
    label: &str,
    requests: usize,
    regression: Option<Regression>,
) -> CohortData {
    let mut data = CohortData {
        label: label.to_owned(),
        seconds: 600.0,
        ..Default::default()
    };
    for (i, &(name, share, median, sigma)) in OPERATIONS.iter().enumerate() {
        let n = (requests as f64 * share).round() as usize;
        let hit = regression.filter(|r| r.operation == i);
        let factor = hit.map_or(1.0, |r| r.latency_factor.max(1.0));
        let error_rate = 0.02 + hit.map_or(0.0, |r| r.extra_error_rate);
        let durations = rng.durations(n, median, sigma, factor);
        let errors = (0..n).filter(|_| rng.uniform() < error_rate).count() as u64;
        data.add("checkout", name, i < 4, &Counts { durations, errors });
    }
    data
}

/// How the generated spans divide among attribute values.
#[derive(Clone, Copy)]
struct Mix {
    /// Of the errors, the share answered 503 (the rest 502).
    share_503: f64,
    /// Of GET /product, the share on its reviews route.
    reviews: f64,
}

const MIX: Mix = Mix {
    share_503: 0.3,
    reviews: 0.1,
};

/// Attribute values of `data`'s spans, drawn from a generator of their
/// own so that the durations and errors stay those of the cohort's seed:
/// every operation's status codes (200, its errors 502 or 503) and error
/// types, the route of GET /product, the peer of price basket.
fn attributes(data: &mut CohortData, seed: u64, mix: Mix) {
    let mut rng = Rng::new(seed);
    let mut split = |n: u64, share: f64| (0..n).filter(|_| rng.uniform() < share).count() as u64;
    let rows: Vec<_> = data
        .operations
        .iter()
        .map(|((s, o), c)| (s.clone(), o.clone(), c.total(), c.errors))
        .collect();
    for (service, operation, spans, errors) in rows {
        let add = |data: &mut CohortData, key: &str, value: &str, n: u64| {
            if n > 0 {
                data.add_attribute(&service, &operation, key, value, n);
            }
        };
        let status = "http.response.status_code";
        let unavailable = split(errors, mix.share_503);
        add(data, status, "200", spans - errors);
        add(data, status, "502", errors - unavailable);
        add(data, status, "503", unavailable);
        let timeouts = split(errors, 0.6);
        add(data, "error.type", "timeout", timeouts);
        add(
            data,
            "error.type",
            "ConnectionResetError",
            errors - timeouts,
        );
        if operation == "GET /product" {
            let reviews = split(spans, mix.reviews);
            add(data, "http.route", "/product/{id}/reviews", reviews);
            add(data, "http.route", "/product/{id}", spans - reviews);
        }
        if operation == "price basket" {
            let a = split(spans, 0.5);
            add(data, "server.address", "pricing-a", a);
            add(data, "server.address", "pricing-b", spans - a);
        }
    }
}

fn first_reason(answer: &pb::CompareResponse) -> &pb::Reason {
    &answer.reasons[0]
}

#[test]
fn same_distribution_fails_at_most_once_in_100() {
    // 2,000 comparisons of two samples of one distribution, at the demo's
    // canary traffic; the first 200 are also held to 1 % on their own.
    // Each is judged again with its spans' attribute values compared too:
    // those tests join the family but never fail a comparison that passed
    // without them, and rarely see a change that is not there.
    let options = Options::default();
    let mut fails = Vec::new();
    let (mut tested, mut changed) = (0, Vec::new());
    for seed in 0..2_000 {
        let mut rng = Rng::new(seed);
        let mut b = cohort(&mut rng, "v1", BASELINE, None);
        let mut c = cohort(&mut rng, "v2", CANDIDATE, None);
        let answer = compare(&b, &c, &options);
        assert_ne!(
            answer.verdict,
            Verdict::Inconclusive as i32,
            "every comparison has operations with enough data"
        );
        let failed = answer.verdict == Verdict::Fail as i32;
        if failed {
            fails.push((seed, answer.reasons[0].en.clone()));
        }
        attributes(&mut b, 1_000_000 + seed, MIX);
        attributes(&mut c, 2_000_000 + seed, MIX);
        let with = compare(&b, &c, &options);
        assert!(
            failed || with.verdict == Verdict::Pass as i32,
            "seed {seed} fails with attribute tests only: {:#?}",
            with.reasons
        );
        assert!(with.tests > answer.tests);
        for a in &with.attributes {
            tested += usize::from(a.test.is_some());
            if a.test.as_ref().is_some_and(|t| t.significant) {
                changed.push((seed, a.operation.clone(), a.key.clone()));
            }
        }
    }
    let first = fails.iter().filter(|(seed, _)| *seed < 200).count();
    assert!(first <= 2, "{first} of the first 200 failed: {fails:#?}");
    assert!(
        fails.len() <= 20,
        "{} of 2,000 failed: {fails:#?}",
        fails.len()
    );
    // 9 fail, 8 of them with the attribute tests too; 6 of 9,845
    // attribute tests are significant, each a status code test that
    // follows a chance excess of errors.
    assert!(tested > 9_000, "{tested} attribute tests");
    assert!(
        changed.len() <= 20,
        "{} attribute changes of {tested}: {changed:?}",
        changed.len()
    );
}

#[test]
fn a_slower_operation_fails_and_is_named_first() {
    let options = Options::default();
    let mut found = 0;
    for seed in 0..200 {
        let mut rng = Rng::new(10_000 + seed);
        let b = cohort(&mut rng, "v1", BASELINE, None);
        let regression = Regression {
            operation: 1,
            latency_factor: 1.2,
            ..Default::default()
        };
        let c = cohort(&mut rng, "v2", CANDIDATE, Some(regression));
        let answer = compare(&b, &c, &options);
        let first = first_reason(&answer);
        if answer.verdict == Verdict::Fail as i32
            && first.operation == "GET /cart"
            && first.signal == Signal::Latency as i32
        {
            found += 1;
        }
    }
    assert!(
        found >= 190,
        "+20 % on one operation found {found} times of 200"
    );
}

#[test]
fn more_errors_fail_with_the_operation_named() {
    // +1 percentage point needs about 8,700 requests per cohort to be found
    // 95 % of the time from a 2 % base (docs/delta.md); here the
    // operation's rate rises by 3 points on the canary's traffic.
    let options = Options::default();
    let mut found = 0;
    for seed in 0..200 {
        let mut rng = Rng::new(20_000 + seed);
        let b = cohort(&mut rng, "v1", 20_000, None);
        let regression = Regression {
            operation: 0,
            extra_error_rate: 0.03,
            ..Default::default()
        };
        let c = cohort(&mut rng, "v2", 10_000, Some(regression));
        let answer = compare(&b, &c, &options);
        let first = first_reason(&answer);
        if answer.verdict == Verdict::Fail as i32
            && first.operation == "POST /checkout"
            && first.signal == Signal::Errors as i32
        {
            found += 1;
        }
    }
    assert!(
        found >= 190,
        "+3 points of errors found {found} times of 200"
    );
}

#[test]
fn reasons_read_in_both_languages() {
    let mut rng = Rng::new(5);
    let b = cohort(&mut rng, "v1", 20_000, None);
    let regression = Regression {
        operation: 0,
        latency_factor: 1.3,
        extra_error_rate: 0.05,
    };
    let c = cohort(&mut rng, "v2", 10_000, Some(regression));
    let answer = compare(&b, &c, &Options::default());
    assert_eq!(answer.verdict, Verdict::Fail as i32);
    let fails: Vec<_> = answer
        .reasons
        .iter()
        .filter(|r| r.severity == Severity::Fail as i32)
        .collect();
    // Errors +5 points is ten times its threshold, latency +30 % three
    // times: errors first. The service as a whole fails too.
    assert_eq!(fails[0].signal, Signal::Errors as i32, "{fails:#?}");
    assert_eq!(fails[0].operation, "POST /checkout");
    assert!(
        fails[0].en.starts_with("checkout POST /checkout: ")
            && fails[0].en.contains(" % errors vs ")
            && fails[0].en.contains(" percentage points; "),
        "{}",
        fails[0].en
    );
    assert!(
        fails[0]
            .ko
            .starts_with("checkout POST /checkout: 오류율 7."),
        "{}",
        fails[0].ko
    );
    let latency = fails
        .iter()
        .find(|r| r.signal == Signal::Latency as i32 && r.operation == "POST /checkout")
        .unwrap();
    assert!(latency.en.contains("typical latency +3"), "{}", latency.en);
    assert!(
        latency.ko.contains("일반적인 지연 시간 +3"),
        "{}",
        latency.ko
    );
    // Judged tests: latency and errors of 5 operations and the service.
    assert_eq!(answer.operations.len(), 6);
    assert_eq!(answer.tests, 6 * 4);
    assert!(answer.score < 100.0 && answer.score > 0.0);
    let row = answer
        .operations
        .iter()
        .find(|r| r.operation == "POST /checkout")
        .unwrap();
    assert_eq!(row.verdict, Verdict::Fail as i32);
    let histogram = row.latency.as_ref().unwrap().histogram.as_ref().unwrap();
    assert!(histogram.baseline_counts.len() <= 64);
    assert_eq!(
        histogram.bounds_nano.len(),
        histogram.baseline_counts.len() + 1
    );
    assert_eq!(
        histogram.baseline_counts.iter().sum::<u64>(),
        row.latency.as_ref().unwrap().baseline.unwrap().count
    );
}

#[test]
fn empty_tiny_and_one_sided_cohorts_are_inconclusive() {
    let options = Options::default();
    let mut rng = Rng::new(3);
    let full = cohort(&mut rng, "v1", 3_600, None);
    let empty = CohortData {
        label: "v2".into(),
        seconds: 600.0,
        ..Default::default()
    };
    let answer = compare(&empty, &full, &options);
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    assert_eq!(first_reason(&answer).en, "the baseline (v2) has no spans");
    assert_eq!(answer.score, 0.0);
    let answer = compare(&full, &empty, &options);
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    assert_eq!(
        first_reason(&answer).ko,
        "후보 코호트(v2)에 스팬이 없습니다"
    );

    // Tiny: 40 requests give every operation, and the service's entry
    // spans as a whole, fewer than 50 spans.
    let tiny = cohort(&mut rng, "v2", 40, None);
    let answer = compare(&full, &tiny, &options);
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    let text = &first_reason(&answer).en;
    assert!(
        text.starts_with(
            "too little data: no operation has 50 spans in both cohorts (the most: checkout"
        ),
        "{text}"
    );
    assert!(
        answer
            .operations
            .iter()
            .all(|r| r.verdict == Verdict::Inconclusive as i32)
    );
    // Even a terrible tiny candidate is not failed on no evidence.
    let bad = cohort(
        &mut rng,
        "v2",
        40,
        Some(Regression {
            operation: 0,
            latency_factor: 5.0,
            extra_error_rate: 0.5,
        }),
    );
    assert_eq!(
        compare(&full, &bad, &options).verdict,
        Verdict::Inconclusive as i32
    );

    // One-sided: the candidate's spans belong to another service.
    let mut other = CohortData {
        label: "other".into(),
        seconds: 600.0,
        ..Default::default()
    };
    for (service, operation, counts) in full
        .operations
        .iter()
        .map(|((_, o), c)| ("payment", o.as_str(), c.clone()))
    {
        other.add(service, operation, true, &counts);
    }
    let answer = compare(&full, &other, &options);
    assert_eq!(answer.verdict, Verdict::Inconclusive as i32);
    assert_eq!(
        first_reason(&answer).en,
        "the cohorts share no operation: nothing to compare"
    );
    assert!(
        answer
            .reasons
            .iter()
            .any(|r| r.en.starts_with("only in the candidate: payment"))
    );
}

#[test]
fn faster_or_slightly_slower_is_not_a_failure() {
    let options = Options::default();
    let mut rng = Rng::new(9);
    let b = cohort(&mut rng, "v1", 20_000, None);
    // 20 % faster everywhere, and +5 % (below the 10 % threshold) on one.
    let mut c = CohortData {
        label: "v2".into(),
        seconds: 600.0,
        ..Default::default()
    };
    for (i, &(name, share, median, sigma)) in OPERATIONS.iter().enumerate() {
        let n = (20_000.0 * share) as usize;
        let factor = if i == 2 { 1.05 } else { 0.8 };
        let durations = rng.durations(n, median, sigma, factor);
        let errors = (n / 50) as u64;
        c.add("checkout", name, i < 4, &Counts { durations, errors });
    }
    let answer = compare(&b, &c, &options);
    assert_eq!(
        answer.verdict,
        Verdict::Pass as i32,
        "{:#?}",
        answer.reasons
    );
    // The changes are reported, not failed.
    assert!(
        answer
            .reasons
            .iter()
            .any(|r| r.severity == Severity::Info as i32
                && r.operation == "GET /product"
                && r.en.contains("typical latency +5 %"))
    );
}

#[test]
fn options_limit_what_is_judged() {
    let mut rng = Rng::new(4);
    let b = cohort(&mut rng, "v1", 3_600, None);
    let c = cohort(
        &mut rng,
        "v2",
        400,
        Some(Regression {
            operation: 1,
            latency_factor: 1.5,
            ..Default::default()
        }),
    );
    let errors_only = Options {
        signals: vec![Signal::Errors],
        ..Options::default()
    };
    let answer = compare(&b, &c, &errors_only);
    assert_eq!(answer.verdict, Verdict::Pass as i32);
    assert!(
        answer
            .operations
            .iter()
            .all(|r| r.latency.is_none() && r.throughput.is_none())
    );
    // Judged: three operations and the service (POST /cart and price
    // basket have fewer than 50 candidate spans).
    assert_eq!(answer.tests, 4);
    // A higher bar for latency: +50 % passes a threshold of 60 %.
    let lenient = Options {
        latency_increase: 0.6,
        ..Options::default()
    };
    assert_eq!(compare(&b, &c, &lenient).verdict, Verdict::Pass as i32);
    assert_eq!(
        compare(&b, &c, &Options::default()).verdict,
        Verdict::Fail as i32
    );
}

/// Log shapes as ClickHouse hands them over: `records` of each.
fn logs(data: &mut CohortData, shapes: &[(&str, u8, u64)]) {
    for &(shape, severity, count) in shapes {
        data.logs.push(LogShape {
            shape: shape.to_owned(),
            example: shape.replace("<*>", "42"),
            severity,
            service: "checkout".to_owned(),
            count,
        });
        data.log_total += count;
    }
}

#[test]
fn a_new_error_template_fails_and_is_named_first() {
    let mut rng = Rng::new(21);
    let mut b = cohort(&mut rng, "v1", BASELINE, None);
    let mut c = cohort(&mut rng, "v2", CANDIDATE, None);
    let usual = [
        ("POST /checkout <*> in <*> ms", 9, 0),
        (
            "slow request: POST /checkout took <*> ms (threshold <*> ms)",
            13,
            0,
        ),
        ("요청 실패: POST /checkout → <*> <*> ms)", 17, 0),
    ];
    let scaled = |n: u64| usual.map(|(s, sev, _)| (s, sev, n));
    logs(&mut b, &scaled(900));
    logs(&mut c, &scaled(100));
    // Same logs, in proportion: nothing changes.
    let answer = compare(&b, &c, &Options::default());
    assert_eq!(
        answer.verdict,
        Verdict::Pass as i32,
        "{:#?}",
        answer.reasons
    );
    assert_eq!(answer.templates.len(), 3);
    assert!(
        answer
            .templates
            .iter()
            .all(|t| t.change == pb::TemplateChange::Same as i32)
    );
    assert_eq!(answer.candidate.as_ref().unwrap().logs, 300);

    // The candidate logs a new error: FAIL, the template first.
    let mut bad = c.clone();
    logs(
        &mut bad,
        &[(
            "프로모션 엔진이 장바구니 <*> 거부했습니다: 규칙 <*> 없음",
            17,
            40,
        )],
    );
    let answer = compare(&b, &bad, &Options::default());
    assert_eq!(
        answer.verdict,
        Verdict::Fail as i32,
        "{:#?}",
        answer.reasons
    );
    let first = &answer.reasons[0];
    assert_eq!(
        (first.signal, first.severity),
        (Signal::Logs as i32, Severity::Fail as i32)
    );
    assert_eq!(
        first.template,
        "프로모션 엔진이 장바구니 <*> 거부했습니다: 규칙 <*> 없음"
    );
    assert_eq!(first.service_name, "checkout");
    assert!(
        first.en.starts_with("new error template \"프로모션"),
        "{}",
        first.en
    );
    assert!(
        first.ko.starts_with("새 오류 템플릿 \"프로모션"),
        "{}",
        first.ko
    );
    let listed = &answer.templates[0];
    assert_eq!(listed.change, pb::TemplateChange::New as i32);
    assert_eq!(
        listed.candidate_example,
        "프로모션 엔진이 장바구니 42 거부했습니다: 규칙 42 없음"
    );
    assert!(listed.baseline_example.is_empty());

    // A new line at INFO is reported, not failed.
    let mut info = c.clone();
    logs(&mut info, &[("cache warmed: <*> entries", 9, 40)]);
    let answer = compare(&b, &info, &Options::default());
    assert_eq!(answer.verdict, Verdict::Pass as i32);
    assert!(
        answer
            .reasons
            .iter()
            .any(|r| r.severity == Severity::Info as i32 && r.en.starts_with("new log template"))
    );

    // Errors three times as frequent fail; logs not judged when not asked.
    let mut more = c.clone();
    logs(
        &mut more,
        &[("요청 실패: POST /checkout → <*> <*> ms)", 17, 300)],
    );
    assert_eq!(
        compare(&b, &more, &Options::default()).verdict,
        Verdict::Fail as i32
    );
    let spans_only = Options {
        signals: vec![Signal::Latency, Signal::Errors],
        ..Options::default()
    };
    let answer = compare(&b, &more, &spans_only);
    assert_eq!(answer.verdict, Verdict::Pass as i32);
    assert!(answer.templates.is_empty());
}

#[test]
fn a_changed_route_mix_is_found_and_never_fails() {
    // GET /product's reviews route from 10 % to 22 % of its requests, at
    // the demo's canary traffic (3,240 and 360 spans of it), nothing else
    // changed: reported as information with the route named, in 200 of
    // 200 comparisons (to 18 %: 152); the verdict as without it.
    let options = Options::default();
    let (mut found, mut fails) = (0, 0);
    for seed in 0..200 {
        let mut rng = Rng::new(30_000 + seed);
        let mut b = cohort(&mut rng, "v1", BASELINE, None);
        let mut c = cohort(&mut rng, "v2", CANDIDATE, None);
        let spans_only = compare(&b, &c, &options).verdict;
        attributes(&mut b, 1_000_000 + seed, MIX);
        attributes(
            &mut c,
            2_000_000 + seed,
            Mix {
                reviews: 0.22,
                ..MIX
            },
        );
        let answer = compare(&b, &c, &options);
        assert_eq!(answer.verdict, spans_only, "seed {seed}");
        fails += usize::from(answer.verdict == Verdict::Fail as i32);
        let first = &answer.attributes[0];
        if first.operation == "GET /product"
            && first.key == "http.route"
            && first.test.as_ref().is_some_and(|t| t.significant)
            && answer.reasons.iter().any(|r| {
                r.signal == Signal::Attributes as i32
                    && r.severity == Severity::Info as i32
                    && r.attribute == "http.route"
                    && r.en.contains(": /product/{id}/reviews ")
            })
        {
            found += 1;
        }
    }
    assert!(found >= 190, "found {found} times of 200");
    assert!(fails <= 2, "{fails} of 200 failed");
}

#[test]
fn a_changed_status_code_mix_reads_in_both_languages() {
    // As many errors, but most of v2's answered 503 instead of 502.
    let mut rng = Rng::new(6);
    let mut b = cohort(&mut rng, "v1", 20_000, None);
    let mut c = cohort(&mut rng, "v2", 10_000, None);
    attributes(&mut b, 61, MIX);
    attributes(
        &mut c,
        62,
        Mix {
            share_503: 0.8,
            ..MIX
        },
    );
    let answer = compare(&b, &c, &Options::default());
    assert_eq!(
        answer.verdict,
        Verdict::Pass as i32,
        "{:#?}",
        answer.reasons
    );
    let reason = answer
        .reasons
        .iter()
        .find(|r| r.signal == Signal::Attributes as i32 && r.operation == "POST /checkout")
        .unwrap_or_else(|| panic!("{:#?}", answer.reasons));
    assert_eq!(reason.severity, Severity::Info as i32);
    assert_eq!(reason.attribute, "http.response.status_code");
    assert!(
        reason.en.starts_with(
            "checkout POST /checkout: http.response.status_code distribution changed (χ² "
        ) && reason.en.contains(", df 2, q ")
            && (reason.en.contains("): 503 1.") || reason.en.contains("): 502 0."))
            && reason.en.ends_with(" %"),
        "{}",
        reason.en
    );
    assert!(
        reason
            .ko
            .starts_with("checkout POST /checkout: http.response.status_code 값 분포 변화 (χ² ")
            && reason.ko.contains(", 자유도 2, q ")
            && reason.ko.contains(" % (기준 ")
            && reason.ko.ends_with(" %)"),
        "{}",
        reason.ko
    );
    let delta = answer
        .attributes
        .iter()
        .find(|a| a.operation == "POST /checkout" && a.key == "http.response.status_code")
        .unwrap();
    let test = delta.test.as_ref().unwrap();
    assert!(test.significant && test.q_value < 0.005, "{delta:#?}");
    assert_eq!(delta.degrees_of_freedom, 2);
    assert!(delta.cramers_v > 0.0 && delta.cramers_v < 0.2, "{delta:#?}");
    // The most frequent value first; each cohort's shares add up.
    assert_eq!(delta.values[0].value, "200");
    for side in [
        |v: &pb::AttributeValue| v.baseline,
        |v: &pb::AttributeValue| v.candidate,
    ] {
        let rates: Vec<pb::Rate> = delta.values.iter().filter_map(side).collect();
        let total = rates[0].total;
        assert_eq!(rates.iter().map(|r| r.count).sum::<u64>(), total);
        assert!(rates.iter().all(|r| r.lower <= r.rate && r.rate <= r.upper));
    }
    // Significant ones first, by q.
    let significant = answer
        .attributes
        .iter()
        .take_while(|a| a.test.as_ref().is_some_and(|t| t.significant))
        .count();
    assert!(significant >= 1);
    assert!(
        answer.attributes[significant..]
            .iter()
            .all(|a| !a.test.as_ref().is_some_and(|t| t.significant))
    );
    // Not asked for: not read, not tested.
    let spans_only = Options {
        signals: vec![Signal::Latency, Signal::Errors, Signal::Throughput],
        ..Options::default()
    };
    let without = compare(&b, &c, &spans_only);
    assert!(without.attributes.is_empty());
    assert!(without.tests < answer.tests);
}

#[test]
fn attribute_rows_are_bounded_and_skip_what_cannot_change() {
    let mut rng = Rng::new(8);
    let mut b = cohort(&mut rng, "v1", 3_600, None);
    let mut c = cohort(&mut rng, "v2", 3_600, None);
    for (data, shift) in [(&mut b, 0), (&mut c, 1)] {
        // 30 peers: the 19 most frequent and `other`.
        for i in 0..30u64 {
            data.add_attribute(
                "checkout",
                "POST /checkout",
                "server.address",
                &format!("10.0.0.{i}"),
                100 - 3 * i + shift,
            );
        }
        // One value in both: nothing to compare, not listed.
        data.add_attribute("checkout", "GET /cart", "http.route", "/cart", 900);
        // An operation of one cohort only: listed as such, not here.
        data.add_attribute("checkout", "GET /gone", "http.route", "/gone", 10);
        // Too few spans with the key in a cohort: listed, not tested.
        data.add_attribute(
            "checkout",
            "GET /product",
            "exception.type",
            "Timeout",
            3 + shift,
        );
        data.add_attribute("checkout", "GET /product", "exception.type", "IOError", 2);
        // 250 more rows than can be listed, last by name.
        for i in 0..250u64 {
            let key = format!("k{i:03}");
            data.add_attribute("checkout", "price basket", &key, "a", 60);
            data.add_attribute("checkout", "price basket", &key, "b", 60 + shift);
        }
    }
    b.operations
        .remove(&("checkout".to_owned(), "GET /gone".to_owned()));
    let answer = compare(&b, &c, &Options::default());
    assert_eq!(answer.attributes.len(), 200);
    let find = |operation: &str, key: &str| {
        answer
            .attributes
            .iter()
            .find(|a| a.operation == operation && a.key == key)
    };
    let peers = find("POST /checkout", "server.address").unwrap();
    assert_eq!(peers.values.len(), 20);
    assert_eq!(peers.values[0].value, "10.0.0.0");
    let other = &peers.values[19];
    assert!(other.other && other.value.is_empty());
    assert_eq!(
        other.baseline.unwrap().count,
        (19..30).map(|i| 100 - 3 * i).sum::<u64>()
    );
    assert_eq!(
        other.baseline.unwrap().total,
        (0..30).map(|i| 100 - 3 * i).sum::<u64>()
    );
    assert!(
        peers.test.is_some() && peers.degrees_of_freedom >= 19,
        "{peers:#?}"
    );
    assert!(find("GET /cart", "http.route").is_none());
    assert!(find("GET /gone", "http.route").is_none());
    // By name after the significant ones (none here): GET /product is
    // listed, its exceptions too few to test.
    let exceptions = find("GET /product", "exception.type").unwrap();
    assert!(exceptions.test.is_none() && exceptions.degrees_of_freedom == 0);
    assert_eq!(exceptions.values[0].candidate.unwrap().count, 4);
    // Every tested row counts in the family, listed or not: 251 here,
    // besides the spans' tests.
    let spans_only = Options {
        signals: vec![
            Signal::Latency,
            Signal::Errors,
            Signal::Throughput,
            Signal::Logs,
        ],
        ..Options::default()
    };
    assert_eq!(answer.tests, compare(&b, &c, &spans_only).tests + 251);
}

#[test]
fn attribute_tests_never_lower_another_q_value() {
    // An error test and a status code test seeing one excess of errors,
    // among three tests of nothing: plain BH over all six gives both
    // 0.001 · 6 / 2 = 0.003, below the error test's 0.004 of the four
    // alone; the error test keeps its 0.004.
    let slots = [
        (Slot::Errors(0), 0.001),
        (Slot::MannWhitney(0), 0.5),
        (Slot::KolmogorovSmirnov(0), 0.6),
        (Slot::Throughput(0), 0.7),
        (Slot::Attribute(0), 0.001),
        (Slot::Attribute(1), 0.9),
    ];
    let q = adjust(&slots);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(q[0], 0.004), "{q:?}");
    assert!(close(q[4], 0.003), "{q:?}");
    let alone = stats::benjamini_hochberg(&[0.001, 0.5, 0.6, 0.7]);
    assert!(q.iter().zip(&alone).all(|(q, a)| *q >= a - 1e-12), "{q:?}");
    // Without attribute tests: plain BH.
    assert_eq!(
        adjust(&slots[..4]),
        stats::benjamini_hochberg(&[0.001, 0.5, 0.6, 0.7])
    );
}

#[test]
fn weights_change_the_score_never_the_verdict() {
    let mut rng = Rng::new(77);
    let b = cohort(&mut rng, "v1", BASELINE, None);
    let regression = Regression {
        operation: 1,
        latency_factor: 1.5,
        ..Default::default()
    };
    let c = cohort(&mut rng, "v2", CANDIDATE, Some(regression));
    let plain = compare(&b, &c, &Options::default());
    assert_eq!(plain.verdict, Verdict::Fail as i32);
    // Twelve checks (latency and errors of the service and its five
    // operations); GET /cart's latency failed, and maybe the service's.
    let passed = plain.score * 12.0 / 100.0;
    assert!(
        (passed - passed.round()).abs() < 1e-9 && passed < 12.0,
        "{}",
        plain.score
    );
    let passed = passed.round();
    let weight = |signal: Signal, service: &str, operation: &str, weight: f64| pb::Weight {
        signal: signal as i32,
        service_name: service.into(),
        operation: operation.into(),
        weight,
    };
    let options = |weights: Vec<pb::Weight>| {
        Options::from_proto(
            "options",
            Some(&pb::CompareOptions {
                weights,
                ..Default::default()
            }),
        )
        .unwrap()
    };
    // The failed check of GET /cart weighs 5 instead of 1.
    let heavy = compare(
        &b,
        &c,
        &options(vec![weight(Signal::Latency, "checkout", "GET /cart", 5.0)]),
    );
    assert_eq!(heavy.verdict, Verdict::Fail as i32);
    assert!(
        (heavy.score - 100.0 * passed / 16.0).abs() < 1e-9,
        "{}",
        heavy.score
    );
    // Latency left out of the score: the verdict still fails on it.
    let errors_only = compare(&b, &c, &options(vec![weight(Signal::Latency, "", "", 0.0)]));
    assert_eq!(errors_only.verdict, Verdict::Fail as i32);
    assert!(
        (errors_only.score - 100.0).abs() < 1e-9,
        "{}",
        errors_only.score
    );
    // The most specific weight applies, and the options come back as given.
    let nested = options(vec![
        weight(Signal::Latency, "checkout", "GET /cart", 2.0),
        weight(Signal::Latency, "checkout", "", 3.0),
        weight(Signal::Latency, "", "", 0.5),
    ]);
    assert_eq!(nested.weight(Signal::Latency, "checkout", "GET /cart"), 2.0);
    assert_eq!(
        nested.weight(Signal::Latency, "checkout", "POST /cart"),
        3.0
    );
    assert_eq!(nested.weight(Signal::Latency, "checkout", ""), 3.0);
    assert_eq!(nested.weight(Signal::Latency, "cart", "GET /cart"), 0.5);
    assert_eq!(nested.weight(Signal::Errors, "checkout", "GET /cart"), 1.0);
    let answer = compare(&b, &c, &nested);
    assert_eq!(answer.options.unwrap().weights.len(), 3);
}
