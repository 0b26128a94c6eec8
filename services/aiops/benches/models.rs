//! Speed and state size of the aiops models, single-threaded:
//!
//! ```text
//! cargo bench -p airis-aiops --bench models
//! ```
//!
//! - detector: points per second through `Detector::update` over many
//!   series at once (as the service watches them: each point touches a
//!   different series' state, so caches do not flatter the number), and
//!   the state size per series;
//! - watched series: what continuous detection keeps and does per RED
//!   series (the detector plus the short-memory baseline and the
//!   materiality check), round robin over 100,000 series, its state size,
//!   and the bytes a checkpoint stores per series;
//! - forecast: two weeks of per-minute points, one day ahead, with and
//!   without a weekly pattern.
#![allow(clippy::print_stdout)] // a report is what a bench binary is for

use std::hint::black_box;
use std::time::{Duration, Instant};

use airis_aiops::detect::{Detector, DetectorConfig};
use airis_aiops::forecast::{ForecastConfig, forecast};
use airis_aiops::watch::series::{SeriesState, Signal};

const MINUTE: i64 = 60;

/// Deterministic noise in [0, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn daily(t: i64) -> f64 {
    (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU
}

fn detector(series: usize, points_per_series: usize) {
    let config = DetectorConfig::default();
    let mut detectors: Vec<Detector> = (0..series).map(|_| Detector::new(&config)).collect();
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut checksum = 0.0;
    let started = Instant::now();
    for i in 0..points_per_series {
        let t = 1_700_000_000 + MINUTE * i as i64;
        let base = 100.0 + 20.0 * daily(t).sin();
        for detector in &mut detectors {
            checksum += detector.update(t, base + noise.next()).score;
        }
    }
    let elapsed = started.elapsed();
    let points = (series * points_per_series) as f64;
    println!(
        "detector: {series} series x {points_per_series} points: {:.2} M points/s, state {} bytes per series (checksum {:.1})",
        points / elapsed.as_secs_f64() / 1e6,
        detectors[0].state_bytes(),
        black_box(checksum),
    );
}

fn watched(series: usize, minutes: usize) {
    let config = DetectorConfig::default();
    let mut states: Vec<SeriesState> = (0..series).map(|_| SeriesState::new(&config)).collect();
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let mut found = 0usize;
    let started = Instant::now();
    for i in 0..minutes {
        let t = 1_700_000_000 + MINUTE * i as i64;
        for state in &mut states {
            let p95 = 120.0 * (1.0 + 0.1 * noise.next());
            found += usize::from(state.judge(Signal::LatencyP95, t, p95).is_some());
        }
    }
    let elapsed = started.elapsed();
    let points = (series * minutes) as f64;
    println!(
        "watched series: {series} series x {minutes} minutes: {:.2} M points/s, state {} bytes \
         per series in memory, {} bytes per series stored ({} anomalies)",
        points / elapsed.as_secs_f64() / 1e6,
        size_of::<SeriesState>(),
        states[0].encode().len(),
        black_box(found),
    );
}

fn forecast_case(name: &str, weekly: f64) {
    let mut noise = Noise(7);
    let points: Vec<(i64, f64)> = (0..20_160)
        .map(|i| {
            let t = 1_700_000_000 + MINUTE * i;
            let week = (t % 604_800) as f64 / 604_800.0 * std::f64::consts::TAU;
            (
                t,
                100.0 + 20.0 * daily(t).sin() + weekly * week.sin() + 3.0 * noise.next(),
            )
        })
        .collect();
    let runs = 5;
    let mut best = Duration::MAX;
    let mut method = "";
    for _ in 0..runs {
        let started = Instant::now();
        let answer = forecast(&points, 1_440, &ForecastConfig::default()).expect("forecast");
        best = best.min(started.elapsed());
        method = answer.method;
    }
    println!(
        "forecast {name}: 20160 points, horizon 1440: best of {runs} {:.1} ms ({method})",
        best.as_secs_f64() * 1e3
    );
}

fn main() {
    detector(1, 5_000_000);
    detector(100_000, 300);
    watched(100_000, 120);
    forecast_case("daily", 0.0);
    forecast_case("daily + weekly", 15.0);
}
