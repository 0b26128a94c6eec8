//! Running record range of a feature: the lowest and highest values seen,
//! expanding at once and contracting slowly towards the current value.
//!
//! A value beyond the record range is new for this series, and records get
//! rarer the longer a series runs (about ln n for independent noise), so
//! the false-alarm rate of "new record" falls with series length instead of
//! staying constant.

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Record {
    lo: f64,
    hi: f64,
    started: bool,
}

super::codec::codec_fields!([] Record { lo, hi, started });

impl Record {
    pub(super) fn new() -> Self {
        Record {
            lo: 0.0,
            hi: 0.0,
            started: false,
        }
    }

    pub(super) fn width(&self) -> f64 {
        self.hi - self.lo
    }

    /// How far `x` lies above and below the range before it, then takes it
    /// in; `decay` is the per-call contraction rate.
    pub(super) fn update(&mut self, x: f64, decay: f64) -> (f64, f64) {
        if !self.started {
            self.started = true;
            self.lo = x;
            self.hi = x;
            return (0.0, 0.0);
        }
        let out = ((x - self.hi).max(0.0), (self.lo - x).max(0.0));
        self.hi = self.hi.max(x);
        self.lo = self.lo.min(x);
        let w = self.hi - self.lo;
        self.hi -= decay * (self.hi - x).min(w);
        self.lo += decay * (x - self.lo).min(w);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_is_measured_against_the_earlier_range() {
        let mut r = Record::new();
        for i in 0..10 {
            r.update(i as f64, 0.0);
        }
        for i in 0..100 {
            assert_eq!(r.update((i % 10) as f64, 0.0), (0.0, 0.0));
        }
        assert_eq!(r.update(12.0, 0.0), (3.0, 0.0));
        assert_eq!(r.update(-1.0, 0.0), (0.0, 1.0));
        assert_eq!(r.width(), 13.0);
    }
}
