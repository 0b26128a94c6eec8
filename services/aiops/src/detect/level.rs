//! One-step prediction by a robust exponentially weighted level.
//!
//! The residual is clipped before it moves the level, so a single spike does
//! not drag the prediction (and the following residuals) along with it,
//! while a genuine level shift is still followed within a few dozen points.

/// Residuals larger than this many mean absolute residuals are clipped.
const CLIP: f64 = 3.0;
/// Mean absolute residual adapts this many times slower than the level.
const MAR_SLOWDOWN: f64 = 10.0;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct LevelTracker {
    alpha: f64,
    level: f64,
    mar: f64,
    started: bool,
}

super::codec::codec_fields!([] LevelTracker { alpha, level, mar, started });

impl LevelTracker {
    pub(super) fn new(alpha: f64) -> Self {
        LevelTracker {
            alpha: alpha.clamp(1e-4, 1.0),
            level: 0.0,
            mar: 0.0,
            started: false,
        }
    }

    /// Current prediction of the next value.
    pub(super) fn expected(&self) -> f64 {
        self.level
    }

    /// Mean absolute (clipped) residual: the typical prediction error.
    pub(super) fn residual_scale(&self) -> f64 {
        self.mar
    }

    /// Returns the residual of `x` against the prediction, then learns `x`.
    /// `floor` keeps the clip width positive on flat series.
    pub(super) fn update(&mut self, x: f64, floor: f64) -> f64 {
        if !self.started {
            self.started = true;
            self.level = x;
            return 0.0;
        }
        let r = x - self.level;
        let width = CLIP * self.mar.max(floor);
        let clipped = r.clamp(-width, width);
        self.level += self.alpha * clipped;
        self.mar += self.alpha / MAR_SLOWDOWN * (clipped.abs() - self.mar);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spike_does_not_drag_level() {
        let mut t = LevelTracker::new(0.3);
        for i in 0..200 {
            t.update(10.0 + (i % 2) as f64, 1e-9);
        }
        let before = t.expected();
        let r = t.update(100.0, 1e-9);
        assert!(r > 85.0);
        assert!((t.expected() - before).abs() < 1.0);
    }
}
