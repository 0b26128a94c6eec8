//! The series continuous detection watches, and how one of their points is
//! judged: pure logic, no I/O.
//!
//! Every service and every operation of a service has five per-minute
//! series of its entry spans ([`Signal::RED`]); every metric series an
//! alert rule names is one more ([`Signal::Metric`]). A point is an anomaly when its
//! score reaches [`ANOMALY_THRESHOLD`] *and* the change is material for an
//! operator ([`material`]): a p95 that moves from 100 to 112 ms may be
//! statistically rare on a quiet series, but nobody should be told.

use airis_analytics::red::MinuteRed;
use airis_proto::airis::aiops::v1 as pb;

use airis_proto::prost::Message as _;

use crate::detect::codec::Codec as _;
use crate::detect::{ANOMALY_THRESHOLD, Baseline, Detector, DetectorConfig, Kind};

/// A watched per-minute signal: of entry spans, or a metric series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    RequestRate,
    ErrorRate,
    LatencyP50,
    LatencyP95,
    LatencyP99,
    Metric,
}

impl Signal {
    /// The signals of entry spans, which every service and operation has.
    pub const RED: [Signal; 5] = [
        Signal::RequestRate,
        Signal::ErrorRate,
        Signal::LatencyP50,
        Signal::LatencyP95,
        Signal::LatencyP99,
    ];
    const ALL: [Signal; 6] = [
        Signal::RequestRate,
        Signal::ErrorRate,
        Signal::LatencyP50,
        Signal::LatencyP95,
        Signal::LatencyP99,
        Signal::Metric,
    ];

    /// The name stored in ClickHouse.
    pub fn name(self) -> &'static str {
        match self {
            Signal::RequestRate => "request_rate",
            Signal::ErrorRate => "error_rate",
            Signal::LatencyP50 => "latency_p50",
            Signal::LatencyP95 => "latency_p95",
            Signal::LatencyP99 => "latency_p99",
            Signal::Metric => "metric",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn to_proto(self) -> pb::Signal {
        match self {
            Signal::RequestRate => pb::Signal::RequestRate,
            Signal::ErrorRate => pb::Signal::ErrorRate,
            Signal::LatencyP50 => pb::Signal::LatencyP50,
            Signal::LatencyP95 => pb::Signal::LatencyP95,
            Signal::LatencyP99 => pb::Signal::LatencyP99,
            Signal::Metric => pb::Signal::Metric,
        }
    }

    pub fn from_proto(signal: pb::Signal) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.to_proto() == signal)
    }

    /// One of [`Signal::RED`]: what a RED series selector may name.
    pub fn red_from_proto(signal: pb::Signal) -> Option<Self> {
        Self::RED.into_iter().find(|s| s.to_proto() == signal)
    }

    /// Requests a minute needs before the signal means something: a
    /// percentile of few requests is the luck of a handful of them (the
    /// p99 of 50 requests is their slowest).
    fn min_requests(self) -> u64 {
        match self {
            Signal::RequestRate => 0,
            Signal::ErrorRate => 20,
            Signal::LatencyP50 => 10,
            Signal::LatencyP95 => 40,
            Signal::LatencyP99 => 200,
            Signal::Metric => 0,
        }
    }

    /// The signal's value in a minute (requests per second, errors per
    /// request, milliseconds), `None` when the minute has too few requests.
    pub fn value(self, row: &MinuteRed) -> Option<f64> {
        if row.requests < self.min_requests() {
            return None;
        }
        self.raw_value(row)
    }

    /// The signal's value in a minute with any request at all, as alert
    /// rules read it (a rule's author chose the threshold knowing the
    /// traffic).
    pub fn raw_value(self, row: &MinuteRed) -> Option<f64> {
        if row.requests == 0 && self != Signal::RequestRate {
            return None;
        }
        let ms = |i: usize| row.latency.get(i).map(|&ns| ns as f64 / 1e6);
        match self {
            Signal::RequestRate => Some(row.requests as f64 / 60.0),
            Signal::ErrorRate => Some(row.errors as f64 / row.requests as f64),
            Signal::LatencyP50 => ms(0),
            Signal::LatencyP95 => ms(1),
            Signal::LatencyP99 => ms(2),
            Signal::Metric => None,
        }
    }

    /// The smallest spread the baseline assumes: a flat series (a constant
    /// latency, no errors at all) would make any change infinitely rare.
    /// A metric's unit is unknown: 5 % of its level, and a flat zero may
    /// move by a millionth unremarked.
    fn spread_floor(self, expected: f64) -> f64 {
        match self {
            Signal::RequestRate => (0.05 * expected.abs()).max(0.01),
            Signal::ErrorRate => 0.01,
            Signal::Metric => (0.05 * expected.abs()).max(1e-6),
            _ => (0.05 * expected.abs()).max(1.0),
        }
    }
}

/// Whether moving from `expected` to `value` matters to an operator:
/// request rate doubled or fell below 40 % (by at least 0.2 requests per
/// second), error rate up by 5 percentage points, median latency up by
/// half and p95 / p99 doubled (by at least 5 ms). A minute's p95 and p99
/// rest on its few slowest requests, so they swing far more than the
/// median from one minute to the next: an hour of the demo's normal
/// traffic has p95 minutes 1.7 times the usual. Errors or latency falling
/// is good news nobody acts on, and a series recovering (after a slow
/// start, after an incident its baseline learned) would otherwise be
/// reported as a dip. A metric's meaning is unknown, so either way counts
/// once it moved by a quarter of its level (from a level of 0, any move).
pub fn material(signal: Signal, value: f64, expected: f64) -> bool {
    let change = value - expected;
    match signal {
        Signal::RequestRate => {
            change.abs() >= 0.2 && (value >= 2.0 * expected || value <= 0.4 * expected)
        }
        Signal::ErrorRate => change >= 0.05,
        Signal::LatencyP50 => change >= 5.0 && value >= 1.5 * expected,
        Signal::LatencyP95 | Signal::LatencyP99 => change >= 5.0 && value >= 2.0 * expected,
        Signal::Metric => change != 0.0 && change.abs() >= 0.25 * expected.abs(),
    }
}

/// Which series: a signal of a service as a whole (`operation` empty) or of
/// one of its operations, or a metric series (`signal` [`Signal::Metric`],
/// `service` and `operation` empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub service: String,
    pub operation: String,
    pub signal: Signal,
    /// A metric series' [`MetricKey`]; empty for the others.
    pub metric: MetricKey,
}

/// A metric series as stored: its selector in one canonical form (filters
/// sorted and deduplicated, step and history cleared, the quantile only
/// for quantiles), protobuf-encoded and hex-encoded, so that two rules
/// naming the same series in different words share it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricKey(pub String);

impl MetricKey {
    pub fn of(selector: &pb::MetricSeriesSelector) -> Self {
        let mut canonical = selector.clone();
        canonical
            .filters
            .sort_by(|a, b| (&a.key, a.operator, &a.value).cmp(&(&b.key, b.operator, &b.value)));
        canonical.filters.dedup();
        canonical.step_seconds = 0;
        canonical.history_minutes = 0;
        if canonical.aggregation != airis_proto::airis::analytics::v1::Aggregation::Quantile as i32
        {
            canonical.quantile = 0.0;
        }
        Self(hex::encode(canonical.encode_to_vec()))
    }

    /// The selector it stands for; `None` for an empty key or anything
    /// else.
    pub fn selector(&self) -> Option<pb::MetricSeriesSelector> {
        if self.is_empty() {
            return None;
        }
        let bytes = hex::decode(&self.0).ok()?;
        pb::MetricSeriesSelector::decode(bytes.as_slice()).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Separates the parts of a stored series key; span and service names
/// never contain it.
const KEY_SEPARATOR: char = '\u{1f}';

impl SeriesKey {
    /// A metric series'.
    pub fn metric(metric: MetricKey) -> Self {
        Self {
            service: String::new(),
            operation: String::new(),
            signal: Signal::Metric,
            metric,
        }
    }

    /// The key as stored with the series' state: signal, service and
    /// operation, and a metric series' key after them.
    pub fn encode(&self) -> String {
        let mut text = format!(
            "{}{KEY_SEPARATOR}{}{KEY_SEPARATOR}{}",
            self.signal.name(),
            self.service,
            self.operation
        );
        if !self.metric.is_empty() {
            text.push(KEY_SEPARATOR);
            text.push_str(&self.metric.0);
        }
        text
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split(KEY_SEPARATOR);
        let signal = Signal::from_name(parts.next()?)?;
        let service = parts.next()?.to_owned();
        let operation = parts.next()?.to_owned();
        let metric = MetricKey(parts.next().unwrap_or_default().to_owned());
        if (signal == Signal::Metric) == metric.is_empty() {
            return None;
        }
        parts.next().is_none().then_some(Self {
            service,
            operation,
            signal,
            metric,
        })
    }
}

/// A point judged an anomaly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    pub value: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    pub score: f64,
    pub kind: Kind,
}

/// The detectors of one series: the NAB-validated [`Detector`] (silent
/// for its first 100 minutes, then sensitive to changes of shape and
/// variance) and the short-memory [`Baseline`] (every recurrence, from the
/// fourth minute). The score is the higher of the two.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesState {
    detector: Detector,
    baseline: Baseline,
    /// Consecutive findings on the same side of the baseline: three or
    /// more make a level shift rather than a spike or dip.
    run: i32,
}

/// Consecutive reports on the same side after which the series is taken
/// to have a new level.
const NEW_LEVEL_RUN: i32 = 5;

/// First byte of an encoded series state.
const SERIES_STATE_VERSION: u8 = 1;

impl SeriesState {
    pub fn new(cfg: &DetectorConfig) -> Self {
        Self {
            detector: Detector::new(cfg),
            baseline: Baseline::default(),
            run: 0,
        }
    }

    /// Judges the point of `minute` (Unix seconds), then learns from it.
    /// The baseline does not learn a point it reported, so that frequent
    /// incidents never become its normal, unless reports on the same side
    /// went on for [`NEW_LEVEL_RUN`] points: then the series has a new
    /// level, and the baseline starts again from it.
    pub fn judge(&mut self, signal: Signal, minute: i64, value: f64) -> Option<Finding> {
        let point = self.detector.update(minute, value);
        let Some(judgement) = self
            .baseline
            .judge(value, |expected| signal.spread_floor(expected))
        else {
            self.baseline.learn(value);
            return None;
        };
        let score = judgement.score.max(point.score);
        let side = if value >= judgement.expected { 1 } else { -1 };
        if score < ANOMALY_THRESHOLD || !material(signal, value, judgement.expected) {
            self.run = 0;
            self.baseline.learn(value);
            return None;
        }
        self.run = if self.run.signum() == side {
            self.run + side
        } else {
            side
        };
        if self.run.abs() >= NEW_LEVEL_RUN {
            self.baseline.clear();
            self.baseline.learn(value);
        }
        let kind = if self.run.abs() >= 3 {
            Kind::LevelShift
        } else if point.score >= ANOMALY_THRESHOLD && point.kind != Kind::None {
            point.kind
        } else if side > 0 {
            Kind::Spike
        } else {
            Kind::Dip
        };
        Some(Finding {
            value,
            expected: judgement.expected,
            lower: judgement.lower,
            upper: judgement.upper,
            score,
            kind,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![SERIES_STATE_VERSION];
        let detector = self.detector.encode();
        (detector.len() as u64).put(&mut out);
        out.extend_from_slice(&detector);
        self.baseline.put_state(&mut out);
        self.run.put(&mut out);
        out
    }

    /// A state [`encode`](Self::encode) wrote with a detector configured
    /// as `cfg`; `None` for anything else.
    pub fn decode(bytes: &[u8], cfg: &DetectorConfig) -> Option<Self> {
        let (&version, mut input) = bytes.split_first()?;
        if version != SERIES_STATE_VERSION {
            return None;
        }
        let len = usize::try_from(u64::get(&mut input)?).ok()?;
        let (detector, mut input) = (input.get(..len)?, input.get(len..)?);
        let detector = Detector::decode(detector, cfg)?;
        let baseline = Baseline::get_state(&mut input)?;
        let run = i32::get(&mut input)?;
        input.is_empty().then_some(Self {
            detector,
            baseline,
            run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiggle(i: i64) -> f64 {
        1.0 + 0.1 * ((i * 7919 % 13) as f64 / 6.0 - 1.0)
    }

    #[test]
    fn incidents_every_few_minutes_are_each_reported() {
        // The demo's pattern: two minutes of ten times the latency in every
        // three, for an hour.
        let mut state = SeriesState::new(&DetectorConfig::default());
        let mut reported = 0;
        let mut incidents = 0;
        for i in 0..60 {
            let incident = i >= 5 && i % 3 != 0;
            let p95 = 250.0 * wiggle(i) * if incident { 10.0 } else { 1.0 };
            let finding = state.judge(Signal::LatencyP95, i * 60, p95);
            if incident {
                incidents += 1;
                reported += usize::from(finding.is_some());
            } else {
                assert_eq!(finding, None, "minute {i}");
            }
        }
        assert_eq!(reported, incidents);
    }

    #[test]
    fn a_lasting_new_level_stops_being_reported() {
        let mut state = SeriesState::new(&DetectorConfig::default());
        let mut kinds = Vec::new();
        for i in 0..40 {
            let p95 = if i < 10 { 200.0 } else { 600.0 } * wiggle(i);
            kinds.push(state.judge(Signal::LatencyP95, i * 60, p95).map(|f| f.kind));
        }
        assert!(kinds[..10].iter().all(Option::is_none), "{kinds:?}");
        assert_eq!(kinds[10], Some(Kind::Spike));
        assert_eq!(kinds[12], Some(Kind::LevelShift));
        assert!(kinds[20..].iter().all(Option::is_none), "{kinds:?}");
    }

    #[test]
    fn small_changes_are_not_material() {
        assert!(!material(Signal::LatencyP50, 140.0, 100.0));
        assert!(material(Signal::LatencyP50, 150.0, 100.0));
        // Tail percentiles swing more.
        assert!(!material(Signal::LatencyP95, 170.0, 100.0));
        assert!(material(Signal::LatencyP95, 200.0, 100.0));
        assert!(
            !material(Signal::LatencyP95, 6.0, 2.0),
            "4 ms is not worth telling"
        );
        assert!(material(Signal::ErrorRate, 0.08, 0.02));
        assert!(!material(Signal::ErrorRate, 0.05, 0.02));
        // Better is not news: errors or latency falling.
        assert!(!material(Signal::ErrorRate, 0.02, 0.08));
        assert!(!material(Signal::LatencyP99, 20.0, 2000.0));
        assert!(material(Signal::LatencyP99, 4000.0, 2000.0));
        assert!(material(Signal::RequestRate, 0.0, 3.0));
        assert!(!material(Signal::RequestRate, 4.5, 3.0));
        assert!(
            !material(Signal::RequestRate, 0.2, 0.3),
            "0.1 requests/s is too little"
        );
    }

    #[test]
    fn percentiles_of_few_requests_are_not_judged() {
        let row = MinuteRed {
            service: "s".to_owned(),
            operation: String::new(),
            whole: 1,
            minute: 60,
            requests: 50,
            errors: 5,
            latency: vec![1_000_000, 2_000_000, 9_000_000],
        };
        assert_eq!(Signal::RequestRate.value(&row), Some(50.0 / 60.0));
        assert_eq!(Signal::ErrorRate.value(&row), Some(0.1));
        assert_eq!(Signal::LatencyP50.value(&row), Some(1.0));
        assert_eq!(Signal::LatencyP95.value(&row), Some(2.0));
        assert_eq!(Signal::LatencyP99.value(&row), None);
    }

    #[test]
    fn a_metric_series_has_one_key_however_it_is_written() {
        use airis_proto::airis::analytics::v1::{Aggregation, LabelFilter, MatchOperator};
        let filter = |key: &str, value: &str| LabelFilter {
            key: key.to_owned(),
            operator: MatchOperator::Equals as i32,
            value: value.to_owned(),
        };
        let one = pb::MetricSeriesSelector {
            metric_name: "queue_depth".to_owned(),
            filters: vec![filter("queue", "orders"), filter("region", "kr")],
            aggregation: Aggregation::Avg as i32,
            quantile: 0.5,
            ..Default::default()
        };
        let other = pb::MetricSeriesSelector {
            filters: vec![
                filter("region", "kr"),
                filter("queue", "orders"),
                filter("region", "kr"),
            ],
            quantile: 0.0,
            step_seconds: 60,
            ..one.clone()
        };
        assert_eq!(MetricKey::of(&one), MetricKey::of(&other));
        let read = MetricKey::of(&one).selector().unwrap();
        assert_eq!(read.filters[0].key, "queue");
        assert_eq!(read.quantile, 0.0, "only a quantile keeps its quantile");
        let quantile = pb::MetricSeriesSelector {
            aggregation: Aggregation::Quantile as i32,
            quantile: 0.9,
            ..one.clone()
        };
        assert_ne!(
            MetricKey::of(&quantile),
            MetricKey::of(&pb::MetricSeriesSelector {
                quantile: 0.99,
                ..quantile.clone()
            })
        );
        assert_ne!(
            MetricKey::of(&one),
            MetricKey::of(&pb::MetricSeriesSelector {
                filters: vec![filter("queue", "orders")],
                ..one.clone()
            })
        );
    }

    #[test]
    fn metric_changes_count_both_ways_from_a_quarter() {
        assert!(material(Signal::Metric, 125.0, 100.0));
        assert!(material(Signal::Metric, 75.0, 100.0));
        assert!(!material(Signal::Metric, 120.0, 100.0));
        assert!(material(Signal::Metric, 1.0, 0.0));
        assert!(!material(Signal::Metric, 0.0, 0.0));
        assert!(material(Signal::Metric, -130.0, -100.0));
    }

    #[test]
    fn keys_and_states_round_trip() {
        let key = SeriesKey {
            service: "결제".to_owned(),
            operation: "POST /charge".to_owned(),
            signal: Signal::LatencyP99,
            metric: MetricKey::default(),
        };
        assert_eq!(SeriesKey::decode(&key.encode()), Some(key));
        assert_eq!(SeriesKey::decode("latency_p99\u{1f}a"), None);
        let metric = SeriesKey::metric(MetricKey::of(&pb::MetricSeriesSelector {
            metric_name: "queue_depth".to_owned(),
            ..Default::default()
        }));
        assert_eq!(SeriesKey::decode(&metric.encode()), Some(metric));
        assert_eq!(
            SeriesKey::decode("metric\u{1f}\u{1f}"),
            None,
            "a metric series without its key"
        );
        assert_eq!(SeriesKey::decode("latency_p99\u{1f}s\u{1f}\u{1f}0a"), None);
        let cfg = DetectorConfig::default();
        let mut state = SeriesState::new(&cfg);
        for i in 0..30 {
            state.judge(Signal::LatencyP95, i * 60, 100.0 * wiggle(i));
        }
        let bytes = state.encode();
        assert_eq!(SeriesState::decode(&bytes, &cfg), Some(state.clone()));
        assert_eq!(SeriesState::decode(&bytes[..bytes.len() - 1], &cfg), None);
    }
}
