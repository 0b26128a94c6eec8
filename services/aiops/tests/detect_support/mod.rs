//! Shared helpers: deterministic synthetic series and NAB file access.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};

/// A few NAB series (MIT licence), kept with the crate so the tests need
/// nothing outside the repository.
pub(crate) const NAB_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/nab");

/// Deterministic pseudo-random numbers (xorshift), no dependencies.
pub(crate) struct Noise(u64);

impl Noise {
    pub(crate) fn new(seed: u64) -> Self {
        Noise(seed.max(1))
    }
    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately standard normal (sum of 12 uniforms).
    pub(crate) fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// A minute-cadence daily-seasonal series with unit noise around 100.
pub(crate) fn seasonal_series(n: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut noise = Noise::new(seed);
    (0..n)
        .map(|i| {
            let t = 1_700_000_000 + 60 * i as i64;
            let day = (t % 86_400) as f64 / 86_400.0;
            (
                t,
                100.0 + 20.0 * (day * std::f64::consts::TAU).sin() + noise.normal(),
            )
        })
        .collect()
}

/// NAB files of testdata/nab by their paths under it.
pub(crate) fn nab_files(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| Path::new(NAB_DATA).join(n)).collect()
}

pub(crate) fn read_nab(path: &Path) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    airis_aiops::nab::parse_csv(&text, &path.display().to_string())
        .unwrap()
        .into_iter()
        .map(|r| (r.ts, r.value))
        .collect()
}
