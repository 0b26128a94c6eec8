//! Additive Holt–Winters with damped trend and zero, one or two seasonal
//! components, in innovations (error-correction) form:
//!
//! ```text
//! yhat_t = l_{t-1} + phi*b_{t-1} + sum_k s_k[t - m_k]
//! e_t    = y_t - yhat_t
//! l_t    = l_{t-1} + phi*b_{t-1} + alpha*e_t
//! b_t    = phi*b_{t-1} + beta*e_t
//! s_k[t] = s_k[t - m_k] + gamma_k*e_t
//! ```
//!
//! Two seasonal components (daily + weekly) follow Taylor (2003): each keeps
//! its own state and smoothing constant; the weekly one starts from the weekly
//! profile left after removing the daily one. Missing observations (long gaps)
//! only propagate the state, so gaps neither break the model nor count as errors.

use super::optimize::nelder_mead;
use super::seasonality::{profiles, smoothing_window};
use super::stats::finite_mean;

/// Smoothing parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub phi: f64,
    pub gammas: Vec<f64>,
}

/// Damping is kept in [0.8, 0.98]: at per-minute resolution an undamped trend
/// extrapolated over a day of steps is almost always wrong.
const PHI_MIN: f64 = 0.8;
const PHI_MAX: f64 = 0.98;
const ALPHA_MIN: f64 = 1e-3;
const ALPHA_MAX: f64 = 0.999;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl Params {
    /// Maps an unconstrained vector into the usual admissible region:
    /// `0 < beta < alpha`, `sum(gamma) < 1 - alpha`.
    fn from_unconstrained(x: &[f64]) -> Self {
        let alpha = ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) * sigmoid(x[0]);
        let k = (x.len() - 3).max(1) as f64;
        Self {
            alpha,
            beta: alpha * sigmoid(x[1]),
            phi: PHI_MIN + (PHI_MAX - PHI_MIN) * sigmoid(x[2]),
            gammas: x[3..]
                .iter()
                .map(|&g| (1.0 - alpha) / k * sigmoid(g))
                .collect(),
        }
    }
}

/// A model specification bound to a series: periods and initial state.
pub(crate) struct HoltWinters<'a> {
    y: &'a [f64],
    periods: Vec<usize>,
    init_seasonals: Vec<Vec<f64>>,
    init_level: f64,
}

impl<'a> HoltWinters<'a> {
    /// `y` has at least one finite value; `periods` are shortest first, each
    /// with at least two cycles in `y`.
    pub(crate) fn new(y: &'a [f64], periods: &[usize]) -> Self {
        let init_seasonals = profiles(y, periods);
        // Level: mean of the first cycle (or first few points), deseasonalised.
        let window = periods.last().copied().unwrap_or(10).min(y.len());
        let deseasonalised: Vec<f64> = (0..window)
            .map(|t| y[t] - init_seasonals.iter().map(|s| s[t % s.len()]).sum::<f64>())
            .collect();
        let init_level = finite_mean(&deseasonalised)
            .or_else(|| finite_mean(y))
            .unwrap_or(0.0);
        Self {
            y,
            periods: periods.to_vec(),
            init_seasonals,
            init_level,
        }
    }

    /// Sum of squared one-step-ahead errors; the fitting objective.
    fn sse(&self, p: &Params) -> f64 {
        let mut sse = 0.0;
        self.run(p, |e, _, _, _| {
            if let Some(e) = e {
                sse += e * e;
            }
        });
        if sse.is_finite() { sse } else { f64::MAX }
    }

    /// Runs the filter, calling `visit(error, level, trend, seasonals written)`
    /// after each step (error is `None` for a missing observation).
    fn run(&self, p: &Params, mut visit: impl FnMut(Option<f64>, f64, f64, &[f64])) {
        let mut level = self.init_level;
        let mut trend = 0.0;
        let mut rings = self.init_seasonals.clone();
        // Phase counters avoid a division per component per step.
        let mut phases = vec![0usize; rings.len()];
        let mut written = vec![0.0; rings.len()];
        for &y in self.y {
            let seasonal: f64 = rings.iter().zip(&phases).map(|(r, &ph)| r[ph]).sum();
            let base = level + p.phi * trend;
            let error = y.is_finite().then_some(y - base - seasonal);
            let e = error.unwrap_or(0.0);
            level = base + p.alpha * e;
            trend = p.phi * trend + p.beta * e;
            for (k, ring) in rings.iter_mut().enumerate() {
                let ph = phases[k];
                ring[ph] += p.gammas[k] * e;
                written[k] = ring[ph];
                phases[k] = if ph + 1 == ring.len() { 0 } else { ph + 1 };
            }
            visit(error, level, trend, &written);
        }
    }

    /// Fits the parameters by minimising the one-step SSE with Nelder–Mead,
    /// started from the best of a few typical settings, then runs the filter
    /// once more, keeping the state history for forecasts from any origin.
    pub(crate) fn fit(self) -> Fitted<'a> {
        let k = self.periods.len();
        let mut best_start: Option<(Vec<f64>, f64)> = None;
        for alpha in [0.05, 0.3, 0.8] {
            for gamma in [0.02, 0.2] {
                let mut x = vec![logit(alpha), logit(0.02), logit(0.5)];
                // Share of each gamma's admissible range, kept inside (0, 1).
                let share = (gamma * k as f64 / (1.0 - alpha)).min(0.9);
                x.extend(std::iter::repeat_n(logit(share), k));
                let fx = self.sse(&Params::from_unconstrained(&x));
                if best_start.as_ref().is_none_or(|b| fx < b.1) {
                    best_start = Some((x, fx));
                }
                if k == 0 {
                    break; // gamma is meaningless without a seasonal component
                }
            }
        }
        let start = best_start.map(|b| b.0).unwrap_or_default(); // always Some
        let objective = |x: &[f64]| self.sse(&Params::from_unconstrained(x));
        let (x, _) = nelder_mead(objective, &start, 1.0, 150 * (3 + k));
        self.into_fitted(Params::from_unconstrained(&x))
    }

    fn into_fitted(self, params: Params) -> Fitted<'a> {
        let n = self.y.len();
        let mut level = Vec::with_capacity(n);
        let mut trend = Vec::with_capacity(n);
        let mut seasonal_history = vec![Vec::with_capacity(n); self.periods.len()];
        let mut residuals = Vec::new();
        self.run(&params, |e, l, b, written| {
            level.push(l);
            trend.push(b);
            for (hist, &v) in seasonal_history.iter_mut().zip(written) {
                hist.push(v);
            }
            residuals.extend(e);
        });
        Fitted {
            y: self.y,
            periods: self.periods,
            init_seasonals: self.init_seasonals,
            params,
            level,
            trend,
            seasonal_history,
            residuals,
        }
    }
}

/// A fitted model with its full state history.
pub(crate) struct Fitted<'a> {
    pub y: &'a [f64],
    pub periods: Vec<usize>,
    init_seasonals: Vec<Vec<f64>>,
    pub params: Params,
    level: Vec<f64>,
    trend: Vec<f64>,
    /// `seasonal_history[k][t]`: component k's value for phase `t % m_k` after step t.
    seasonal_history: Vec<Vec<f64>>,
    /// One-step in-sample errors at observed steps.
    pub residuals: Vec<f64>,
}

impl Fitted<'_> {
    /// Forecast made at `origin` (after observing it) for `origin + h`, h >= 1.
    pub(crate) fn predict(&self, origin: usize, h: usize) -> f64 {
        let phi = self.params.phi;
        // phi + phi^2 + ... + phi^h
        let damped = phi * (1.0 - phi.powi(h.min(i32::MAX as usize) as i32)) / (1.0 - phi);
        let mut value = self.level[origin] + damped * self.trend[origin];
        for (k, &m) in self.periods.iter().enumerate() {
            // Latest update at or before the origin for the target's phase.
            let back = (m - h % m) % m;
            value += if origin >= back {
                self.seasonal_history[k][origin - back]
            } else {
                self.init_seasonals[k][(origin + h) % m]
            };
        }
        value
    }

    /// Share of each observation's variance absorbed in-sample by the initial
    /// seasonal profiles: a profile averaging `c` cycles over a window of `w`
    /// steps soaks up about `1/(c*w)` of the noise. Replayed errors are that
    /// much too small, and real forecasts carry that much extra profile noise.
    pub(crate) fn profile_noise_share(&self) -> f64 {
        let n = self.y.len() as f64;
        (0..self.periods.len())
            .map(|k| self.periods[k] as f64 / (n * smoothing_window(&self.periods, k) as f64))
            .sum()
    }

    /// Index of the last observed step (forecast origin for the future).
    pub(crate) fn last(&self) -> usize {
        self.y.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_pure_seasonal_pattern() {
        let pattern = [5.0, 9.0, 2.0, 7.0];
        let y: Vec<f64> = (0..40).map(|t| 10.0 + pattern[t % 4]).collect();
        let fitted = HoltWinters::new(&y, &[4]).fit();
        for h in 1..=8 {
            let want = 10.0 + pattern[(39 + h) % 4];
            assert!((fitted.predict(39, h) - want).abs() < 1e-6, "h={h}");
        }
    }

    #[test]
    fn start_points_map_to_admissible_parameters() {
        let y: Vec<f64> = (0..200).map(|t| (t % 4) as f64 + (t % 7) as f64).collect();
        let fitted = HoltWinters::new(&y, &[4, 28]).fit();
        let p = &fitted.params;
        assert!(p.alpha > 0.0 && p.alpha < 1.0 && p.beta >= 0.0 && p.beta < p.alpha);
        assert!((PHI_MIN..=PHI_MAX).contains(&p.phi));
        assert!(p.gammas.iter().all(|g| g.is_finite() && *g >= 0.0));
        assert!(p.gammas.iter().sum::<f64>() < 1.0 - p.alpha);
    }

    #[test]
    fn follows_linear_trend_with_damping() {
        let y: Vec<f64> = (0..200).map(|t| 2.0 * t as f64).collect();
        let fitted = HoltWinters::new(&y, &[]).fit();
        let one = fitted.predict(199, 1);
        assert!((one - 400.0).abs() < 1.0, "{one}");
        // Damped: far-ahead forecasts rise less than linearly but still rise.
        let far = fitted.predict(199, 100);
        assert!(far > one && far < 400.0 + 2.0 * 100.0, "{far}");
    }

    #[test]
    fn missing_values_do_not_poison_state() {
        let mut y: Vec<f64> = (0..100).map(|t| 3.0 + (t % 2) as f64).collect();
        y[40..60].iter_mut().for_each(|v| *v = f64::NAN);
        let fitted = HoltWinters::new(&y, &[2]).fit();
        assert!(fitted.residuals.iter().all(|e| e.is_finite()));
        assert!((fitted.predict(99, 1) - 3.0).abs() < 1e-3);
        assert!((fitted.predict(99, 2) - 4.0).abs() < 1e-3);
    }
}
