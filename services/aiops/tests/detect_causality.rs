//! Causality: a point's output depends only on it and earlier points, so
//! scoring a truncated prefix reproduces the full run bit for bit.

mod detect_support;

use airis_aiops::detect::{Detector, DetectorConfig, Point};
use detect_support::{nab_files, read_nab, seasonal_series};

fn run(series: &[(i64, f64)]) -> Vec<Point> {
    let mut det = Detector::new(&DetectorConfig::default());
    series.iter().map(|&(t, v)| det.update(t, v)).collect()
}

fn same_bits(a: &Point, b: &Point) -> bool {
    a.score.to_bits() == b.score.to_bits()
        && a.expected.to_bits() == b.expected.to_bits()
        && a.lower.to_bits() == b.lower.to_bits()
        && a.upper.to_bits() == b.upper.to_bits()
        && a.kind == b.kind
}

fn assert_prefix_stable(name: &str, series: &[(i64, f64)]) {
    let full = run(series);
    for cut in [1, series.len() / 7, series.len() / 3, series.len() * 4 / 5] {
        let part = run(&series[..cut]);
        for (i, (a, b)) in part.iter().zip(&full).enumerate() {
            assert!(
                same_bits(a, b),
                "{name}: row {i} differs when cut at {cut}: {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn truncation_never_changes_earlier_outputs_synthetic() {
    let mut s = seasonal_series(5000, 7);
    s[3000].1 += 50.0;
    s[4000].1 = f64::NAN;
    assert_prefix_stable("synthetic", &s);
}

#[test]
fn truncation_never_changes_earlier_outputs_nab() {
    for f in nab_files(&[
        "realKnownCause/nyc_taxi.csv",
        "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
        "artificialWithAnomaly/art_daily_jumpsup.csv",
        "realKnownCause/rogue_agent_key_hold.csv",
    ]) {
        assert_prefix_stable(&f.display().to_string(), &read_nab(&f));
    }
}

#[test]
fn cloned_state_resumes_identically() {
    // Persisting and restoring the state (modelled by Clone) must not change
    // what follows.
    let s = seasonal_series(3000, 11);
    let full = run(&s);
    let mut det = Detector::new(&DetectorConfig::default());
    for &(t, v) in &s[..1700] {
        det.update(t, v);
    }
    let mut resumed = det.clone();
    for (i, &(t, v)) in s.iter().enumerate().skip(1700) {
        assert!(same_bits(&resumed.update(t, v), &full[i]), "row {i}");
    }
}

#[test]
fn encoded_state_resumes_identically() {
    // What a restarted watcher does: the state stored as bytes, read back,
    // continues exactly as the detector that never stopped.
    for f in nab_files(&[
        "realKnownCause/nyc_taxi.csv",
        "artificialWithAnomaly/art_daily_jumpsup.csv",
    ]) {
        let s = read_nab(&f);
        let full = run(&s);
        let cfg = DetectorConfig::default();
        for cut in [0, 50, s.len() / 2] {
            let mut det = Detector::new(&cfg);
            for &(t, v) in &s[..cut] {
                det.update(t, v);
            }
            let bytes = det.encode();
            let mut resumed = Detector::decode(&bytes, &cfg).expect("decodes");
            assert_eq!(resumed, det, "{}: cut at {cut}", f.display());
            for (i, &(t, v)) in s.iter().enumerate().skip(cut) {
                assert!(same_bits(&resumed.update(t, v), &full[i]), "row {i}");
            }
        }
    }
}

#[test]
fn a_state_of_another_layout_or_configuration_is_refused() {
    let cfg = DetectorConfig::default();
    let mut det = Detector::new(&cfg);
    for &(t, v) in &seasonal_series(500, 3) {
        det.update(t, v);
    }
    let bytes = det.encode();
    assert!(Detector::decode(&bytes, &cfg).is_some());
    assert!(Detector::decode(&bytes[..bytes.len() - 1], &cfg).is_none());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Detector::decode(&longer, &cfg).is_none());
    let mut other_version = bytes.clone();
    other_version[0] = other_version[0].wrapping_add(1);
    assert!(Detector::decode(&other_version, &cfg).is_none());
    let other = DetectorConfig {
        warmup: cfg.warmup + 1,
        ..cfg.clone()
    };
    assert!(Detector::decode(&bytes, &other).is_none());
    assert!(Detector::decode(&[], &cfg).is_none());
}
