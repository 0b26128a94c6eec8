//! Round 5: the regime value record and the step record's reduced share of
//! the score.

mod detect_support;

use airis_aiops::detect::{ANOMALY_THRESHOLD, Detector, DetectorConfig, Point};
use detect_support::Noise;

const SHIFT: usize = 3_000;
const SPIKE: usize = 4_000;

/// Minute series: noise around 10, a level shift to 30 announced by an
/// overshoot to 60, then (optionally) a spike to 42 inside the range that
/// the old regime and the overshoot left in the value record.
fn shifted_series(spike: bool) -> Vec<(i64, f64)> {
    let mut noise = Noise::new(7);
    (0..5_000)
        .map(|i| {
            let t = 1_700_000_000 + 60 * i as i64;
            let base = if i < SHIFT { 10.0 } else { 30.0 };
            let mut v = base + noise.normal();
            if i == SHIFT {
                v = 60.0;
            }
            if spike && i == SPIKE {
                v = 42.0;
            }
            (t, v)
        })
        .collect()
}

fn run(cfg: &DetectorConfig, s: &[(i64, f64)]) -> Vec<Point> {
    let mut det = Detector::new(cfg);
    s.iter().map(|&(t, v)| det.update(t, v)).collect()
}

#[test]
fn spike_inside_the_old_range_after_a_level_shift_is_detected() {
    let cfg = DetectorConfig::default();
    let out = run(&cfg, &shifted_series(true));
    assert!(
        out[SHIFT].score > ANOMALY_THRESHOLD,
        "shift: {:?}",
        out[SHIFT]
    );
    assert!(
        out[SPIKE].score > ANOMALY_THRESHOLD,
        "spike: {:?}",
        out[SPIKE]
    );
    // The new regime itself stays quiet once its record has formed.
    let calm = &out[SHIFT + 400..SPIKE];
    let worst = calm.iter().map(|p| p.score).fold(0.0, f64::max);
    assert!(worst < 0.5, "false alarm in the new regime: {worst}");
    // Without the spike, the restarted record raises no more alarms in the
    // new regime than the first record did in the old one (new records of
    // plain noise get rarer with age in both).
    let quiet = run(&cfg, &shifted_series(false));
    let alarms = |r: std::ops::Range<usize>| {
        quiet[r]
            .iter()
            .filter(|p| p.score > ANOMALY_THRESHOLD)
            .count()
    };
    let before = alarms(cfg.warmup + 1..SHIFT);
    let after = alarms(SHIFT + 20..quiet.len());
    assert!(
        after <= before.min(2),
        "{after} alarms after, {before} before"
    );
    // The regime record is what sees it: without it the spike is hidden
    // by the range that the overshoot stretched.
    let mut off = cfg.clone();
    off.set("regime_reset", "0").unwrap();
    let out = run(&off, &shifted_series(true));
    assert!(out[SPIKE].score < 0.5, "{:?}", out[SPIKE]);
}

#[test]
fn regime_record_is_causal() {
    let s = shifted_series(true);
    let cfg = DetectorConfig::default();
    let full = run(&cfg, &s);
    for cut in [SHIFT + 1, SHIFT + 200, SPIKE + 1] {
        assert_eq!(run(&cfg, &s[..cut]), full[..cut]);
    }
}

#[test]
fn a_step_inside_the_range_scores_only_its_share_but_still_suppresses() {
    // A slow triangle wave 0..100 (period 400 points), then one step across
    // the range that breaks the record of absolute steps only.
    let s: Vec<(i64, f64)> = (0..6_000)
        .map(|i| {
            let t = 1_700_000_000 + 60 * i as i64;
            let p = (i % 400) as f64 / 200.0;
            let v = if p < 1.0 {
                100.0 * p
            } else {
                100.0 * (2.0 - p)
            };
            (t, if i == 5_000 { 100.0 - v } else { v })
        })
        .collect();
    let mut full = DetectorConfig::default();
    full.set("jump_score", "1").unwrap();
    let mut det_full = Detector::new(&full);
    let mut det = Detector::new(&DetectorConfig::default());
    let mut at = (0.0, 0.0, [0.0; 7], [0.0; 7]);
    for (i, &(t, v)) in s.iter().enumerate() {
        let a = det.update(t, v);
        let b = det_full.update(t, v);
        if i == 5_000 {
            at = (a.score, b.score, det.rarities(), det_full.rarities());
        }
    }
    let (shared, whole, r_shared, r_whole) = at;
    // `rarities()` still reports the full weighted step surprise.
    assert_eq!(r_shared, r_whole);
    assert!(r_whole[4] > 0.1, "{r_whole:?}");
    assert!(whole > 0.5 && shared < whole, "{shared} vs {whole}");
}
