//! Kind classification on synthetic anomalies.

mod detect_support;

use airis_aiops::detect::{ANOMALY_THRESHOLD, Detector, DetectorConfig, Kind, Point};
use detect_support::seasonal_series;

const AT: usize = 11_000;

fn run(series: &[(i64, f64)]) -> Vec<Point> {
    let mut det = Detector::new(&DetectorConfig::default());
    series.iter().map(|&(t, v)| det.update(t, v)).collect()
}

fn kinds_after(out: &[Point], from: usize, len: usize) -> Vec<Kind> {
    out[from..from + len].iter().map(|p| p.kind).collect()
}

#[test]
fn spike_is_a_spike() {
    let mut s = seasonal_series(12_000, 1);
    s[AT].1 += 40.0;
    let out = run(&s);
    assert_eq!(out[AT].kind, Kind::Spike, "{:?}", out[AT]);
    assert!(out[AT].score > ANOMALY_THRESHOLD, "{:?}", out[AT]);
    assert!(s[AT].1 > out[AT].upper);
}

#[test]
fn dip_is_a_dip() {
    let mut s = seasonal_series(12_000, 2);
    s[AT].1 -= 40.0;
    let out = run(&s);
    assert_eq!(out[AT].kind, Kind::Dip, "{:?}", out[AT]);
    assert!(out[AT].score > ANOMALY_THRESHOLD);
    assert!(s[AT].1 < out[AT].lower);
}

#[test]
fn level_shift_is_a_level_shift() {
    let mut s = seasonal_series(12_000, 3);
    for p in &mut s[AT..] {
        p.1 += 40.0;
    }
    let out = run(&s);
    let kinds = kinds_after(&out, AT, 20);
    assert!(kinds.contains(&Kind::LevelShift), "{kinds:?}");
    assert!(out[AT..AT + 20].iter().any(|p| p.score > ANOMALY_THRESHOLD));
}

#[test]
fn variance_change_is_detected() {
    let mut s = seasonal_series(12_000, 4);
    let mut noise = detect_support::Noise::new(99);
    for p in &mut s[AT..] {
        p.1 += 8.0 * noise.normal();
    }
    let out = run(&s);
    let kinds = kinds_after(&out, AT, 60);
    assert!(kinds.contains(&Kind::VarianceChange), "{kinds:?}");
}

#[test]
fn gap_is_missing_data() {
    let mut s = seasonal_series(12_000, 5);
    for p in &mut s[AT..] {
        p.0 += 60 * 30;
    }
    let out = run(&s);
    assert_eq!(out[AT].kind, Kind::MissingData, "{:?}", out[AT]);
    assert_eq!(out[AT + 1].kind, Kind::None);
}

#[test]
fn quiet_series_has_few_kinds() {
    // The first day (one seasonal cycle) is still being learnt: its new
    // highs and lows are genuinely new to the detector.
    let out = run(&seasonal_series(12_000, 6));
    let flagged = out
        .iter()
        .skip(1440)
        .filter(|p| p.kind != Kind::None)
        .count();
    assert!(flagged < 50, "{flagged} points flagged on a normal series");
}

#[test]
fn quiet_series_scores_stay_below_the_operating_point() {
    // The NAB operating point of the default configuration is a score of
    // about 0.5; a normal series should cross it rarely.
    let out = run(&seasonal_series(12_000, 6));
    let over = out
        .iter()
        .skip(1000)
        .filter(|p| p.score >= ANOMALY_THRESHOLD)
        .count();
    assert!(over < 20, "{over} points over 0.5 on a normal series");
}

#[test]
fn missing_daily_peak_inside_the_normal_range_is_detected() {
    // Five days of a daily cycle, then the sixth day's peak (6 h around
    // the maximum) stays at the daily mean: every value is inside the
    // range already seen, only the time of day makes it anomalous.
    let n = 9 * 1440;
    let mut s = seasonal_series(n, 8);
    let peak = |t: i64| {
        let day = (t % 86_400) as f64 / 86_400.0;
        (day * std::f64::consts::TAU).sin() > 0.7
    };
    let start = 6 * 1440;
    let mut hit = Vec::new();
    for (i, p) in s.iter_mut().enumerate().skip(start).take(1440) {
        if peak(p.0) {
            p.1 -= 20.0;
            hit.push(i);
        }
    }
    let out = run(&s);
    let max_in = hit.iter().map(|&i| out[i].score).fold(0.0, f64::max);
    assert!(
        max_in > ANOMALY_THRESHOLD,
        "missing peak scored only {max_in}"
    );
    // The same series without the anomaly stays quiet on that day.
    let clean = run(&seasonal_series(n, 8));
    let max_clean = hit.iter().map(|&i| clean[i].score).fold(0.0, f64::max);
    assert!(
        max_clean < ANOMALY_THRESHOLD,
        "normal peak scored {max_clean}"
    );
}

#[test]
fn seasonal_components_ignore_non_seasonal_noise() {
    // Pure noise has no daily profile to speak of: the seasonal gate keeps
    // its residual surprises out of the score.
    let mut noise = detect_support::Noise::new(17);
    let s: Vec<_> = (0..20_000)
        .map(|i| (1_700_000_000 + 60 * i as i64, 50.0 + noise.normal()))
        .collect();
    let mut det = Detector::new(&DetectorConfig::default());
    for &(t, v) in &s {
        det.update(t, v);
        let [_, _, _, _, _, daily, weekly] = det.rarities();
        assert_eq!((daily, weekly), (0.0, 0.0));
    }
    assert!(
        det.season_strength()[0] < 0.2,
        "{:?}",
        det.season_strength()
    );
}
