//! Fusion of the component detectors into one score per point.
//!
//! Per point, five features of the series are compared with their own
//! running record ranges (see [`super::record`]): the value, a smoothed value
//! (level shifts within the value range), the fast roughness (variance up),
//! the slow roughness (variance down, flat lines) and the absolute step
//! (jumps). Each component's surprise is how far the feature went beyond
//! its record range, in units of that range (log units for roughness), so
//! it is scale-free and comparable across series. Two more components see
//! anomalies inside the normal value range: the smoothed residual against a
//! time-of-day profile and against an hour-of-week profile
//! (see [`super::seasonal`]), each scored against its own record range and
//! gated by how well its profile explains the series. The weighted surprises
//! are fused by a maximum; a suppression gate then damps repeated alarms
//! about the same event, because an operator (and NAB) only needs the first
//! one.
//!
//! After a confirmed level shift (a large smoothed-value surprise) a second
//! value record restarts on the new regime, so a spike that stays inside
//! the range stretched by the old level and the shift is still seen. The
//! step record arms the suppression gate at full strength but only
//! `jump_score` of it reaches the score: a lone step is rarely the anomaly,
//! while the value and smoothed records see the ones that matter.

use super::DetectorConfig;
use super::cadence::Cadence;
use super::level::LevelTracker;
use super::record::Record;
use super::seasonal::{SeasonalParams, SeasonalResidual};

/// What kind of anomaly a point most resembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    None,
    Spike,
    Dip,
    LevelShift,
    TrendChange,
    VarianceChange,
    MissingData,
}

/// Output for one input point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Anomaly score in [0, 1]; comparable across series.
    pub score: f64,
    /// Value the detector expected at this point.
    pub expected: f64,
    /// Lower edge of the normal band.
    pub lower: f64,
    /// Upper edge of the normal band.
    pub upper: f64,
    pub kind: Kind,
}

/// Component indices (also the order of `DetectorConfig::weights`).
const EXCESS: usize = 0;
const SMOOTH: usize = 1;
const ROUGH_HI: usize = 2;
const ROUGH_LO: usize = 3;
const JUMP: usize = 4;
const DAILY: usize = 5;
const WEEKLY: usize = 6;
/// Number of components.
pub const COMPONENTS: usize = 7;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// A component counts towards a kind when its rarity reaches this share of
/// `kind_rarity`.
const COMPONENT_KIND_SHARE: f64 = 0.5;
/// Points after an alarm during which deviating points still get a kind.
const EVENT_POINTS: u32 = 32;
/// Consecutive same-side deviations that make a level shift.
const SHIFT_RUN: i32 = 3;

/// Floor of the roughness, as a share of the value range.
const ROUGH_FLOOR: f64 = 1e-3;

/// State of one series. Plain data: can be cloned, compared and persisted.
#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    cfg: DetectorConfig,
    n: u64,
    cadence: Cadence,
    level: LevelTracker,
    /// Record ranges: value, smoothed value, log roughness (fast, slow),
    /// absolute step.
    value: Record,
    smooth: Record,
    rough_fast: Record,
    rough_slow: Record,
    jump: Record,
    /// Value record of the current regime: restarted after a confirmed
    /// level shift, so the old level and the shift itself no longer
    /// stretch it; `regime_age` is points since the restart (MAX: never).
    regime: Record,
    regime_age: u32,
    smooth_x: f64,
    rough_f: f64,
    rough_s: f64,
    last_x: f64,
    /// Time-of-day (15 min slots) and hour-of-week profiles, their
    /// smoothed residuals and the records of those.
    daily: SeasonalResidual<96>,
    weekly: SeasonalResidual<168>,
    /// Long-run mean and mean absolute deviation of the value, against
    /// which a profile's residual tells how seasonal the series is.
    long_mean: f64,
    spread: f64,
    first_ts: Option<i64>,
    strength: [f64; 2],
    /// Rarity an alarm must beat while a previous alarm is fresh.
    gate: f64,
    gate_decay: f64,

    /// Signed count of consecutive points deviating from the prediction in
    /// the same direction (positive: above), for telling spikes from shifts.
    deviation_run: i32,
    /// Points since the fused surprise last reached `kind_rarity`.
    event_age: u32,
    last_rarity: [f64; COMPONENTS],
}

super::codec::codec_fields!([] Detector {
    cfg,
    n,
    cadence,
    level,
    value,
    smooth,
    rough_fast,
    rough_slow,
    jump,
    regime,
    regime_age,
    smooth_x,
    rough_f,
    rough_s,
    last_x,
    daily,
    weekly,
    long_mean,
    spread,
    first_ts,
    strength,
    gate,
    gate_decay,
    deviation_run,
    event_age,
    last_rarity,
});

/// First byte of an encoded state; a new layout takes the next number.
const STATE_VERSION: u8 = 1;

impl Detector {
    /// The state as bytes, to store and [`decode`](Self::decode) later.
    pub fn encode(&self) -> Vec<u8> {
        use super::codec::Codec as _;
        let mut out = Vec::with_capacity(1 + self.state_bytes());
        out.push(STATE_VERSION);
        self.put(&mut out);
        out
    }

    /// A state [`encode`](Self::encode) wrote, if it has this version's
    /// layout, no byte more or less, and was made with `cfg`: a detector
    /// configured differently starts afresh rather than misread its past.
    pub fn decode(bytes: &[u8], cfg: &DetectorConfig) -> Option<Self> {
        use super::codec::Codec as _;
        let (&version, mut input) = bytes.split_first()?;
        if version != STATE_VERSION {
            return None;
        }
        let detector = Self::get(&mut input)?;
        (input.is_empty() && detector.cfg == *cfg).then_some(detector)
    }

    pub fn new(cfg: &DetectorConfig) -> Self {
        Detector {
            cfg: cfg.clone(),
            n: 0,
            cadence: Cadence::default(),
            level: LevelTracker::new(cfg.level_alpha),
            value: Record::new(),
            smooth: Record::new(),
            rough_fast: Record::new(),
            rough_slow: Record::new(),
            jump: Record::new(),
            regime: Record::new(),
            regime_age: u32::MAX,
            smooth_x: 0.0,
            rough_f: 0.0,
            rough_s: 0.0,
            last_x: 0.0,
            daily: SeasonalResidual::new(DAY),
            weekly: SeasonalResidual::new(WEEK),
            long_mean: 0.0,
            spread: 0.0,
            first_ts: None,
            strength: [0.0; 2],
            gate: 0.0,
            gate_decay: 0.5f64.powf(1.0 / cfg.suppress_half_life.max(1e-3)),
            deviation_run: 0,
            event_age: u32::MAX,
            last_rarity: [0.0; COMPONENTS],
        }
    }

    /// Weighted surprise of the last point per component: value record,
    /// smoothed-value record, roughness up, roughness down, step record,
    /// time-of-day residual, hour-of-week residual (the last two after the
    /// seasonal gate). Explains which test drove a score.
    pub fn rarities(&self) -> [f64; COMPONENTS] {
        self.last_rarity
    }

    /// How well the daily and weekly profiles explain the series, in
    /// [0, 1] (the gate applied to their surprises).
    pub fn season_strength(&self) -> [f64; 2] {
        self.strength
    }

    /// Memory held by this series' state, in bytes. All state is inline, so
    /// it is fixed and does not grow with the series.
    pub fn state_bytes(&self) -> usize {
        size_of::<Self>()
    }

    /// Number of finite values learned so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Scores one point, then learns from it. Never panics; a non-finite
    /// value is reported as missing data and leaves the state untouched
    /// (apart from the timestamp).
    pub fn update(&mut self, ts_unix: i64, value: f64) -> Point {
        let gap = self.cadence.observe(ts_unix) > self.cfg.gap_factor;
        let (expected, lower, upper) = self.band();
        if !value.is_finite() {
            return Point {
                score: 0.0,
                expected,
                lower,
                upper,
                kind: Kind::MissingData,
            };
        }
        self.n += 1;
        if self.n == 1 {
            self.smooth_x = value;
            self.last_x = value;
        }
        let floor = 1e-9 * (1.0 + value.abs());
        let resid = self.level.update(value, floor);
        let mut rarity = [0.0; COMPONENTS];
        let decay = self.cfg.range_decay;

        let width = self.value.width().max(floor);
        let (up, down) = self.value.update(value, decay);
        rarity[EXCESS] = up.max(down) / width;

        self.smooth_x += (value - self.smooth_x) / self.cfg.smooth_len.max(1.0);
        let sw = self.smooth.width().max(floor);
        let (up, down) = self.smooth.update(self.smooth_x, decay);
        rarity[SMOOTH] = up.max(down) / sw;

        if self.cfg.regime_reset > 0.0
            && self.n as usize > self.cfg.warmup
            && rarity[SMOOTH] >= self.cfg.regime_reset
        {
            self.regime = Record::new();
            self.regime_age = 0;
        }
        if self.regime_age != u32::MAX {
            self.regime_age = self.regime_age.saturating_add(1).min(u32::MAX - 1);
            // The shift itself and its transition are not part of the
            // new regime: learn once the smoothed value has settled.
            if f64::from(self.regime_age) > self.cfg.smooth_len {
                let rw = self.regime.width().max(floor);
                let (up, down) = self.regime.update(value, decay);
                if self.regime_age > self.cfg.regime_learn {
                    rarity[EXCESS] = rarity[EXCESS].max(up.max(down) / rw);
                }
            }
        }

        let step = (value - self.last_x).abs();
        self.last_x = value;
        let jw = self.jump.width().max(floor);
        rarity[JUMP] = self.jump.update(step, decay).0 / jw;
        self.rough_f += (step - self.rough_f) / self.cfg.rough_fast_len.max(1.0);
        self.rough_s += (step - self.rough_s) / self.cfg.rough_slow_len.max(1.0);
        // The roughness averages start from zero: learn their records once
        // they have settled.
        if self.n as f64 > 2.0 * self.cfg.rough_slow_len {
            let rf = ROUGH_FLOOR * width + floor;
            rarity[ROUGH_HI] = self.rough_fast.update((self.rough_f + rf).ln(), decay).0;
            rarity[ROUGH_LO] = self.rough_slow.update((self.rough_s + rf).ln(), decay).1;
        }

        let first = *self.first_ts.get_or_insert(ts_unix);
        let age = ts_unix.saturating_sub(first);
        let sp = SeasonalParams {
            smooth_len: self.cfg.season_smooth_len,
            learn: self.cfg.season_learn as i64,
            decay,
            mad_rate: self.cfg.season_mad_rate,
        };
        if self.n == 1 {
            self.long_mean = value;
        }
        self.long_mean += self.cfg.season_mad_rate * (value - self.long_mean);
        self.spread += self.cfg.season_mad_rate * ((value - self.long_mean).abs() - self.spread);
        rarity[DAILY] = self.daily.update(ts_unix, value, age, &sp, floor);
        rarity[WEEKLY] = self.weekly.update(ts_unix, value, age, &sp, floor);
        let gate = |mad: f64| {
            let s = 1.0 - mad / self.spread.max(floor);
            ((s - self.cfg.season_gate) / (1.0 - self.cfg.season_gate).max(1e-9)).clamp(0.0, 1.0)
        };
        self.strength = [gate(self.daily.mad()), gate(self.weekly.mad())];
        if self.cfg.season_gate > 0.0 {
            rarity[DAILY] *= self.strength[0];
            rarity[WEEKLY] *= self.strength[1];
        }

        for (r, w) in rarity.iter_mut().zip(self.cfg.weights) {
            // Values near f64's limits can overflow a feature to infinity
            // (or NaN): the most surprising finite value, not a poisoned
            // gate that would mute the series for good.
            *r = if r.is_nan() { 0.0 } else { r.min(f64::MAX) } * w;
        }
        self.last_rarity = rarity;
        let fused = rarity.iter().copied().fold(0.0, f64::max);
        let mut scored = rarity;
        scored[JUMP] *= self.cfg.jump_score;
        let fused_score = scored.iter().copied().fold(0.0, f64::max);
        let warm = (self.n as usize) > self.cfg.warmup;
        let alarm = if warm {
            self.suppress(fused_score, fused)
        } else {
            0.0
        };
        let score = alarm / (alarm + self.cfg.score_half);

        let deviating = resid.abs() > self.cfg.band_width * self.level.residual_scale();
        self.deviation_run = match (deviating, resid >= 0.0) {
            (false, _) => 0,
            (true, true) => self.deviation_run.max(0) + 1,
            (true, false) => self.deviation_run.min(0) - 1,
        };
        // A point keeps being described while it still deviates shortly after
        // an alarm, so a level shift announced by a jump becomes a shift.
        self.event_age = if warm && fused >= self.cfg.kind_rarity {
            0
        } else {
            self.event_age.saturating_add(1)
        };
        let in_event = self.event_age == 0 || (deviating && self.event_age <= EVENT_POINTS);
        let kind = if gap {
            Kind::MissingData
        } else if in_event {
            self.classify(&rarity, resid, deviating)
        } else {
            Kind::None
        };
        Point {
            score,
            expected,
            lower,
            upper,
            kind,
        }
    }

    /// Prediction and the band: `band_width` robust residual scales.
    fn band(&self) -> (f64, f64, f64) {
        let expected = self.level.expected();
        let half = self.cfg.band_width * self.level.residual_scale();
        (expected, expected - half, expected + half)
    }

    /// Damps alarms that do not beat the gate: the decaying maximum of
    /// earlier rarities at or above `detect_rarity`. A burst of anomalous
    /// points then yields one alarm (plus escalations), not one per point.
    fn suppress(&mut self, l: f64, arm: f64) -> f64 {
        self.gate *= self.gate_decay;
        let out = if l > self.gate {
            l
        } else {
            l * self.cfg.suppress_factor
        };
        let arm = arm.max(l);
        if arm >= self.cfg.detect_rarity {
            self.gate = self.gate.max(arm);
        }
        out
    }

    /// Heuristic kind of an anomalous point: a deviation from the
    /// prediction is a spike or dip unless it persists or the mean moved
    /// (level shift); otherwise a roughness change is a variance change, and
    /// anything else a trend/pattern change.
    fn classify(&self, rarity: &[f64; COMPONENTS], resid: f64, deviating: bool) -> Kind {
        let k = COMPONENT_KIND_SHARE * self.cfg.kind_rarity;
        // One far point moves the smoothed value too: a deviating point is
        // a level shift only once the deviation has lasted.
        let persisted = self.deviation_run.abs() >= SHIFT_RUN;
        let shifted = rarity[SMOOTH] >= k || persisted;
        if deviating || rarity[JUMP] >= k {
            if persisted {
                Kind::LevelShift
            } else if resid >= 0.0 {
                Kind::Spike
            } else {
                Kind::Dip
            }
        } else if shifted {
            Kind::LevelShift
        } else if rarity[ROUGH_HI] >= k || rarity[ROUGH_LO] >= k {
            Kind::VarianceChange
        } else {
            Kind::TrendChange
        }
    }
}
