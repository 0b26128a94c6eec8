//! Output invariants on every NAB file and on synthetic series.

mod detect_support;

use airis_aiops::detect::{Detector, DetectorConfig, Kind, Point};
use detect_support::{NAB_DATA, Noise, read_nab, seasonal_series};

fn check(name: &str, series: &[(i64, f64)]) -> Vec<Point> {
    let mut det = Detector::new(&DetectorConfig::default());
    let out: Vec<Point> = series.iter().map(|&(t, v)| det.update(t, v)).collect();
    for (i, p) in out.iter().enumerate() {
        let ok = p.score.is_finite()
            && (0.0..=1.0).contains(&p.score)
            && p.expected.is_finite()
            && p.lower.is_finite()
            && p.upper.is_finite()
            && p.lower <= p.expected
            && p.expected <= p.upper;
        assert!(ok, "{name}: row {i}: {p:?}");
    }
    out
}

fn all_nab_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(cats) = std::fs::read_dir(NAB_DATA) else {
        return files;
    };
    for c in cats.flatten() {
        if let Ok(fs) = std::fs::read_dir(c.path()) {
            files.extend(fs.flatten().map(|f| f.path()));
        }
    }
    files.sort();
    files
}

#[test]
fn outputs_are_bounded_finite_and_ordered_on_nab() {
    for f in all_nab_files() {
        check(&f.display().to_string(), &read_nab(&f));
    }
}

#[test]
fn band_contains_most_normal_points() {
    let s = seasonal_series(6000, 3);
    let out = check("seasonal", &s);
    let inside = s
        .iter()
        .zip(&out)
        .skip(1000)
        .filter(|((_, v), p)| p.lower <= *v && *v <= p.upper)
        .count();
    let frac = inside as f64 / 5000.0;
    assert!(frac > 0.95, "only {frac} of normal points inside the band");
}

#[test]
fn extreme_and_degenerate_series_stay_finite() {
    let t = |i: usize| 1_600_000_000 + 300 * i as i64;
    let flat: Vec<_> = (0..3000).map(|i| (t(i), 42.0)).collect();
    let out = check("flat", &flat);
    assert!(out.iter().all(|p| p.score < 0.2 && p.kind == Kind::None));

    let mut noise = Noise::new(5);
    let huge: Vec<_> = (0..3000).map(|i| (t(i), 1e300 * noise.uniform())).collect();
    check("huge", &huge);
    // Alternating signs at the largest magnitude the service accepts:
    // steps of twice that stay finite.
    let swinging: Vec<_> = (0..3000)
        .map(|i| (t(i), if i % 2 == 0 { 1e150 } else { -1e150 }))
        .collect();
    check("swinging", &swinging);
    let tiny: Vec<_> = (0..3000)
        .map(|i| (t(i), 1e-300 * noise.uniform()))
        .collect();
    check("tiny", &tiny);
    let sparse: Vec<_> = (0..3000)
        .map(|i| (t(i), if i % 97 == 0 { 1e6 } else { 0.0 }))
        .collect();
    check("sparse", &sparse);
    let ramp: Vec<_> = (0..3000).map(|i| (t(i), i as f64 * 1e3)).collect();
    check("ramp", &ramp);
}

/// The state is inline (no heap: `Detector` holds no Vec, Box or map), so
/// its size is the type's; the budget is what 100,000 series in 1 GiB allow.
#[test]
fn state_fits_the_per_series_budget() {
    let det = Detector::new(&DetectorConfig::default());
    assert!(
        det.state_bytes() <= 8192,
        "{} bytes per series",
        det.state_bytes()
    );
}
