//! Compact seasonal profile: the mean value per time slot of a fixed
//! calendar period (time of day, hour of week), learnt from the timestamps.
//!
//! Each slot keeps an `f64` running mean that is a plain average over its
//! first visits and an exponential average afterwards, plus a saturating
//! visit count. The residual against the profile exposes anomalies that
//! stay inside the series' normal value range (a missing daily peak, a
//! holiday), which the value records cannot see.

use super::record::Record;

/// Visits after which a slot's mean becomes an exponential average.
const MAX_AVERAGED: u8 = 8;
const NEIGHBOURS: bool = true;
/// Assumed points per passage through a slot (for the averaging rate).
const POINTS_PER_VISIT: f64 = 3.0;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Profile<const N: usize> {
    mean: [f64; N],
    visits: [u8; N],
    /// Index of the slot of the previous point, to count visits once per
    /// passage through a slot rather than once per point.
    last_slot: usize,
    /// Number of the period (ts / period) of the previous point.
    last_cycle: i64,
}

super::codec::codec_fields!([const N: usize] Profile<N> { mean, visits, last_slot, last_cycle });

impl<const N: usize> Profile<N> {
    pub(super) fn new() -> Self {
        Profile {
            mean: [0.0; N],
            visits: [0; N],
            last_slot: usize::MAX,
            last_cycle: i64::MIN,
        }
    }

    /// Slot of `ts` for a period of `period` seconds split into N slots.
    fn slot(ts: i64, period: i64) -> (usize, i64) {
        let cycle = ts.div_euclid(period);
        let within = ts.rem_euclid(period);
        ((within * N as i64 / period) as usize, cycle)
    }

    /// Residual of `x` against its slot's mean (None while the slot has not
    /// been seen in an earlier period), then learns `x`.
    pub(super) fn update(&mut self, ts: i64, x: f64, period: i64) -> Option<f64> {
        let (s, cycle) = Self::slot(ts, period);
        let new_passage = s != self.last_slot || cycle != self.last_cycle;
        let resid = if self.visits[s] > u8::from(!new_passage) {
            // The smallest residual against this slot and its learnt
            // neighbours, so a pattern that comes a little early or late
            // (a transition jittering across a slot edge) is not a surprise.
            let mut best = x - self.mean[s];
            for nb in [(s + N - 1) % N, (s + 1) % N] {
                if self.visits[nb] > 1 && NEIGHBOURS {
                    let r = x - self.mean[nb];
                    if r.abs() < best.abs() {
                        best = r;
                    }
                }
            }
            Some(best)
        } else {
            None
        };
        if new_passage {
            self.last_slot = s;
            self.last_cycle = cycle;
            self.visits[s] = self.visits[s].saturating_add(1);
            if self.visits[s] == 1 {
                self.mean[s] = x;
                return None;
            }
        }
        // Average over the first visits, then forget slowly.
        let k = self.visits[s].min(MAX_AVERAGED) as f64;
        self.mean[s] += (x - self.mean[s]) / (k * POINTS_PER_VISIT);
        resid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_daily_shape() {
        let mut p = Profile::<96>::new();
        let day = 86_400;
        let f = |t: i64| if (t % day) < day / 2 { 10.0 } else { 50.0 };
        for i in 0..288 {
            let t = 300 * i;
            let r = p.update(t, f(t), day);
            assert_eq!(r.is_some(), i >= 288, "point {i}");
        }
        for i in 288..288 * 3 {
            let t = 300 * i;
            let r = p.update(t, f(t), day).unwrap();
            assert!(r.abs() < 1e-9, "point {i}: {r}");
        }
        // A missing peak is a large residual though the value is normal.
        assert!(p.update(288 * 3 * 300 + day * 3 / 4, 10.0, day).unwrap() < -39.0);
        // Near an edge the neighbouring slot tolerates a slightly early step.
        assert!(
            p.update(288 * 3 * 300 + day * 3 / 4 + day / 4 - 300, 10.0, day)
                .unwrap()
                .abs()
                < 1e-9
        );
    }
}

/// A profile with the record of its smoothed residual and a running mean
/// absolute residual (how well the profile explains the series).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SeasonalResidual<const N: usize> {
    profile: Profile<N>,
    smooth: f64,
    rec: Record,
    mad: f64,
    period: i64,
}

super::codec::codec_fields!([const N: usize] SeasonalResidual<N> { profile, smooth, rec, mad, period });

/// Tuning shared by the seasonal residual components.
pub(super) struct SeasonalParams {
    pub(super) smooth_len: f64,
    pub(super) learn: i64,
    pub(super) decay: f64,
    pub(super) mad_rate: f64,
}

impl<const N: usize> SeasonalResidual<N> {
    pub(super) fn new(period: i64) -> Self {
        SeasonalResidual {
            profile: Profile::new(),
            smooth: 0.0,
            rec: Record::new(),
            mad: 0.0,
            period,
        }
    }

    /// Mean absolute residual (0 until the profile has seen a full period).
    pub(super) fn mad(&self) -> f64 {
        self.mad
    }

    /// Surprise of the smoothed residual: its excess over its own record
    /// range in units of that range, once the profile has seen
    /// `learn` periods and the record one more. `age` is seconds since the
    /// first point.
    pub(super) fn update(
        &mut self,
        ts: i64,
        x: f64,
        age: i64,
        p: &SeasonalParams,
        floor: f64,
    ) -> f64 {
        let Some(r) = self.profile.update(ts, x, self.period) else {
            return 0.0;
        };
        self.smooth += (r - self.smooth) / p.smooth_len.max(1.0);
        let cycles = age / self.period;
        if self.mad == 0.0 {
            self.mad = r.abs();
        }
        self.mad += p.mad_rate * (r.abs() - self.mad);
        if cycles < p.learn {
            return 0.0;
        }
        let w = self.rec.width().max(floor);
        let (up, down) = self.rec.update(self.smooth, p.decay);
        if cycles < p.learn + 1 {
            return 0.0;
        }
        up.max(down) / w
    }
}
