//! The single detector configuration shared by every series.

/// Tuning knobs of [`Detector`](super::Detector). `Default` is the one configuration
/// that is validated on NAB; lengths are in points, not seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// Points seen before any non-zero score is emitted.
    pub warmup: usize,
    /// Interval (in typical intervals) above which a point follows a gap.
    pub gap_factor: f64,
    /// Smoothing of the level used as the one-step prediction.
    pub level_alpha: f64,
    /// Half-width of the band around `expected`, in mean absolute residuals.
    pub band_width: f64,
    /// Per-point contraction rate of the running range (range excess).
    pub range_decay: f64,
    /// Smoothing (points) of the smoothed-value record.
    pub smooth_len: f64,
    /// Smoothing (points) of the roughness whose record high is tracked.
    pub rough_fast_len: f64,
    /// Smoothing (points) of the roughness whose record low is tracked.
    pub rough_slow_len: f64,
    /// Weights of the components: value record, smoothed-value record,
    /// roughness up, roughness down, step record, time-of-day residual, hour-of-week residual.
    pub weights: [f64; 7],
    /// Smoothing (points) of the seasonal residuals.
    pub season_smooth_len: f64,
    /// Periods a seasonal profile learns before its residual record starts.
    pub season_learn: usize,
    /// Rate of the running residual and spread that measure seasonality.
    pub season_mad_rate: f64,
    /// Seasonal strength (1 - residual / spread) below which a seasonal
    /// surprise is ignored; 0 disables the gate.
    pub season_gate: f64,
    /// Raw smoothed-value surprise that confirms a level shift and restarts
    /// the regime value record (0 disables the regime record).
    pub regime_reset: f64,
    /// Points the regime record learns after a restart before it scores.
    pub regime_learn: u32,
    /// Share of the step-record surprise that reaches the score; the full
    /// surprise still arms the suppression gate (1: ordinary component).
    pub jump_score: f64,
    /// Fused surprise that counts as a detection and arms suppression.
    pub detect_rarity: f64,
    /// Half-life (points) of the suppression after a detection.
    pub suppress_half_life: f64,
    /// Factor applied to rarities that do not beat the suppression gate.
    pub suppress_factor: f64,
    /// Fused surprise at which the score is 0.5.
    pub score_half: f64,
    /// Minimum fused surprise for a kind other than None/MissingData.
    pub kind_rarity: f64,
}

super::codec::codec_fields!([] DetectorConfig {
    warmup,
    gap_factor,
    level_alpha,
    band_width,
    range_decay,
    smooth_len,
    rough_fast_len,
    rough_slow_len,
    weights,
    season_smooth_len,
    season_learn,
    season_mad_rate,
    season_gate,
    regime_reset,
    regime_learn,
    jump_score,
    detect_rarity,
    suppress_half_life,
    suppress_factor,
    score_half,
    kind_rarity,
});

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            warmup: 100,
            gap_factor: 4.0,
            level_alpha: 0.1,
            band_width: 4.0,
            range_decay: 2e-5,
            smooth_len: 16.0,
            rough_fast_len: 4.0,
            rough_slow_len: 64.0,
            weights: [1.0, 0.5, 0.3, 0.3, 0.7, 0.5, 2.0],
            season_smooth_len: 12.0,
            season_learn: 2,
            season_mad_rate: 1e-3,
            season_gate: 0.4,
            jump_score: 0.2,
            regime_reset: 0.5,
            regime_learn: 300,
            detect_rarity: 0.03,
            suppress_half_life: 150.0,
            suppress_factor: 0.1,
            score_half: 0.03,
            kind_rarity: 0.03,
        }
    }
}

impl DetectorConfig {
    /// Sets one field by name from text (`"range_decay"`, `"weights.2"`,
    /// ...), for configuration files and experiments.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let num = || -> Result<f64, String> {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{key}: {value:?} is not a finite number"))
        };
        let int = || -> Result<usize, String> {
            value
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("{key}: {value:?} is not a count"))
        };
        match key {
            "warmup" => self.warmup = int()?,
            "gap_factor" => self.gap_factor = num()?,
            "level_alpha" => self.level_alpha = num()?,
            "band_width" => self.band_width = num()?,
            "range_decay" => self.range_decay = num()?,
            "smooth_len" => self.smooth_len = num()?,
            "rough_fast_len" => self.rough_fast_len = num()?,
            "rough_slow_len" => self.rough_slow_len = num()?,
            "detect_rarity" => self.detect_rarity = num()?,
            "jump_score" => self.jump_score = num()?,
            "regime_reset" => self.regime_reset = num()?,
            "regime_learn" => {
                self.regime_learn = u32::try_from(int()?).map_err(|e| format!("{key}: {e}"))?
            }
            "suppress_half_life" => self.suppress_half_life = num()?,
            "suppress_factor" => self.suppress_factor = num()?,
            "score_half" => self.score_half = num()?,
            "kind_rarity" => self.kind_rarity = num()?,
            "season_smooth_len" => self.season_smooth_len = num()?,
            "season_learn" => self.season_learn = int()?,
            "season_mad_rate" => self.season_mad_rate = num()?,
            "season_gate" => self.season_gate = num()?,
            _ => {
                let w = key
                    .strip_prefix("weights.")
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|&i| i < self.weights.len())
                    .ok_or_else(|| format!("unknown setting {key:?}"))?;
                self.weights[w] = num()?;
            }
        }
        Ok(())
    }
}
