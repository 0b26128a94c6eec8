//! Synthetic monitoring series shared by the integration tests and the
//! evaluation example. Deterministic: every generator takes a seed.
#![allow(dead_code)] // each test crate uses a different subset

use std::f64::consts::TAU;
use std::path::Path;

pub(crate) const MINUTE: i64 = 60;
pub(crate) const DAY: usize = 1440; // minutes

/// xorshift64* generator with Box–Muller normals.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (TAU * self.uniform()).cos()
    }
}

fn at_steps(values: Vec<f64>, step: i64) -> Vec<(i64, f64)> {
    let t0 = 1_700_000_000 - 1_700_000_000 % 604_800; // a Thursday 00:00 UTC
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (t0 + i as i64 * step, v))
        .collect()
}

fn day_phase(t: usize, per_day: usize) -> f64 {
    (TAU * t as f64 / per_day as f64).sin()
}

/// Per-minute rate with a daily sine: 100 + 20 sin + N(0, 3²).
pub(crate) fn daily_sine(days: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    let v = (0..days * DAY)
        .map(|t| 100.0 + 20.0 * day_phase(t, DAY) + 3.0 * r.normal())
        .collect();
    at_steps(v, MINUTE)
}

/// 5-minute series with a daily cycle and quieter weekends (days 5 and 6).
pub(crate) fn weekly_pattern(weeks: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    let per_day = 288;
    let v = (0..weeks * 7 * per_day)
        .map(|t| {
            let weekend = (t / per_day) % 7 >= 5;
            let base = if weekend { 120.0 } else { 200.0 };
            base + 50.0 * day_phase(t, per_day) + 8.0 * r.normal()
        })
        .collect();
    at_steps(v, 300)
}

/// Per-minute series with a linear trend and a daily cycle.
pub(crate) fn trend(days: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    let v = (0..days * DAY)
        .map(|t| 50.0 + 0.005 * t as f64 + 10.0 * day_phase(t, DAY) + 2.0 * r.normal())
        .collect();
    at_steps(v, MINUTE)
}

/// Per-minute series whose level jumps by +30 at 80 % of its length.
pub(crate) fn level_shift(days: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    let n = days * DAY;
    let v = (0..n)
        .map(|t| {
            let shift = if t >= n * 4 / 5 { 30.0 } else { 0.0 };
            60.0 + shift + 10.0 * day_phase(t, DAY) + 3.0 * r.normal()
        })
        .collect();
    at_steps(v, MINUTE)
}

/// White noise N(50, 5²) per minute.
pub(crate) fn noise(days: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    at_steps(
        (0..days * DAY).map(|_| 50.0 + 5.0 * r.normal()).collect(),
        MINUTE,
    )
}

/// A constant gauge.
pub(crate) fn constant(days: usize) -> Vec<(i64, f64)> {
    at_steps(vec![42.0; days * DAY], MINUTE)
}

/// A monotone counter (0..10 per minute) that resets to 0 about every 2000 minutes.
pub(crate) fn counter_with_resets(days: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut r = Rng::new(seed);
    let mut c = 0.0;
    let v = (0..days * DAY)
        .map(|_| {
            c = if r.uniform() < 1.0 / 2000.0 {
                0.0
            } else {
                c + 10.0 * r.uniform()
            };
            c
        })
        .collect();
    at_steps(v, MINUTE)
}

/// Reads a NAB CSV (`timestamp,value`, timestamps "YYYY-MM-DD HH:MM:SS").
/// A few files repeat timestamps around a DST change (exported in local
/// time); the forecaster rejects non-increasing timestamps, so repeats are
/// dropped here (first one kept).
pub(crate) fn read_nab(path: &Path) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path).expect("readable csv");
    let mut out: Vec<(i64, f64)> = Vec::new();
    for line in text.lines().skip(1) {
        let Some((ts, v)) = line.split_once(',') else {
            continue;
        };
        let (Some(ts), Ok(v)) = (parse_ts(ts), v.trim().parse()) else {
            continue;
        };
        if out.last().is_none_or(|&(prev, _)| ts > prev) {
            out.push((ts, v));
        }
    }
    out
}

fn parse_ts(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
