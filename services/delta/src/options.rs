//! A comparison's options, checked and with their defaults filled in.

use airis_proto::airis::delta::v1::{CompareOptions, Signal, Weight};

use crate::Error;

/// The signals judged when a request names none.
const ALL: [Signal; 5] = [
    Signal::Latency,
    Signal::Errors,
    Signal::Throughput,
    Signal::Logs,
    Signal::Attributes,
];
/// Operations one request may name.
pub const MAX_OPERATIONS: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub signals: Vec<Signal>,
    pub operations: Vec<String>,
    pub alpha: f64,
    pub latency_increase: f64,
    pub error_rate_increase: f64,
    pub min_samples: u64,
    pub weights: Vec<Weight>,
}

/// Most weights one comparison may give.
pub const MAX_WEIGHTS: usize = 100;
/// Heaviest weight.
pub const MAX_WEIGHT: f64 = 100.0;

impl Default for Options {
    fn default() -> Self {
        Self {
            signals: ALL.to_vec(),
            operations: Vec::new(),
            alpha: 0.005,
            latency_increase: 0.1,
            error_rate_increase: 0.005,
            min_samples: 50,
            weights: Vec::new(),
        }
    }
}

impl Options {
    /// Checks `options` (named `field` in errors); unset fields take their
    /// defaults.
    pub fn from_proto(field: &str, options: Option<&CompareOptions>) -> Result<Self, Error> {
        let defaults = Self::default();
        let Some(o) = options else {
            return Ok(defaults);
        };
        let invalid =
            |name: &str, why: &str| Err(Error::InvalidArgument(format!("{field}.{name}: {why}")));
        let mut signals = Vec::new();
        for (i, &value) in o.signals.iter().enumerate() {
            match Signal::try_from(value) {
                Ok(Signal::Unspecified) => {
                    return invalid(
                        &format!("signals[{i}]"),
                        "SIGNAL_UNSPECIFIED is not a signal",
                    );
                }
                Ok(signal) if !signals.contains(&signal) => signals.push(signal),
                Ok(_) => {}
                Err(_) => {
                    return invalid(&format!("signals[{i}]"), &format!("unknown value {value}"));
                }
            }
        }
        if signals.is_empty() {
            signals = defaults.signals;
        }
        if o.operations.len() > MAX_OPERATIONS {
            return invalid(
                "operations",
                &format!("{} given, at most {MAX_OPERATIONS}", o.operations.len()),
            );
        }
        for (i, operation) in o.operations.iter().enumerate() {
            if operation.is_empty() {
                return invalid(&format!("operations[{i}]"), "empty");
            }
        }
        let mut operations = o.operations.clone();
        operations.sort();
        operations.dedup();
        let bounded = |name: &str, value: f64, max: f64, default: f64| -> Result<f64, Error> {
            if value == 0.0 {
                Ok(default)
            } else if value.is_finite() && value > 0.0 && value <= max {
                Ok(value)
            } else {
                Err(Error::InvalidArgument(format!(
                    "{field}.{name}: {value} is not in (0, {max}]"
                )))
            }
        };
        let min_samples = match o.min_samples {
            0 => defaults.min_samples,
            n if n < 10 => {
                return invalid(
                    "min_samples",
                    &format!("{n} is below 10: tests on fewer spans mean nothing"),
                );
            }
            n => u64::from(n),
        };
        if o.weights.len() > MAX_WEIGHTS {
            return invalid(
                "weights",
                &format!("{} given, at most {MAX_WEIGHTS}", o.weights.len()),
            );
        }
        for (i, w) in o.weights.iter().enumerate() {
            let signal = Signal::try_from(w.signal).unwrap_or(Signal::Unspecified);
            if !matches!(signal, Signal::Latency | Signal::Errors) {
                return invalid(
                    &format!("weights[{i}].signal"),
                    "SIGNAL_LATENCY or SIGNAL_ERRORS: the score counts no other",
                );
            }
            if !w.operation.is_empty() && w.service_name.is_empty() {
                return invalid(
                    &format!("weights[{i}].service_name"),
                    "required with an operation",
                );
            }
            if !(w.weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&w.weight)) {
                return invalid(
                    &format!("weights[{i}].weight"),
                    &format!("{} is not in [0, {MAX_WEIGHT}]", w.weight),
                );
            }
        }
        Ok(Self {
            signals,
            operations,
            alpha: bounded("alpha", o.alpha, 0.2, defaults.alpha)?,
            latency_increase: bounded(
                "latency_increase",
                o.latency_increase,
                10.0,
                defaults.latency_increase,
            )?,
            error_rate_increase: bounded(
                "error_rate_increase",
                o.error_rate_increase,
                1.0,
                defaults.error_rate_increase,
            )?,
            min_samples,
            weights: o.weights.clone(),
        })
    }

    /// The weight of `signal`'s check of `operation` of `service` (empty:
    /// the service as a whole): the most specific weight naming it, else 1.
    pub fn weight(&self, signal: Signal, service: &str, operation: &str) -> f64 {
        self.weights
            .iter()
            .filter(|w| w.signal == signal as i32)
            .filter_map(|w| {
                let rank = match (w.service_name.as_str(), w.operation.as_str()) {
                    ("", _) => 0,
                    (s, "") if s == service => 1,
                    (s, o) if s == service && o == operation && !operation.is_empty() => 2,
                    _ => return None,
                };
                Some((rank, w.weight))
            })
            // The last of the most specific, as a later line overrides.
            .fold(None, |best: Option<(u8, f64)>, (rank, weight)| match best {
                Some((r, _)) if r > rank => best,
                _ => Some((rank, weight)),
            })
            .map_or(1.0, |(_, w)| w)
    }

    pub fn has(&self, signal: Signal) -> bool {
        self.signals.contains(&signal)
    }

    /// The options as applied.
    pub fn to_proto(&self) -> CompareOptions {
        CompareOptions {
            signals: self.signals.iter().map(|&s| s as i32).collect(),
            operations: self.operations.clone(),
            alpha: self.alpha,
            latency_increase: self.latency_increase,
            error_rate_increase: self.error_rate_increase,
            min_samples: u32::try_from(self.min_samples).unwrap_or(u32::MAX),
            weights: self.weights.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(o: CompareOptions) -> String {
        match Options::from_proto("options", Some(&o)) {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_unset_fields() {
        let o = Options::from_proto("options", Some(&CompareOptions::default())).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(
            Options::from_proto("options", None).unwrap(),
            Options::default()
        );
        let o = Options::from_proto(
            "options",
            Some(&CompareOptions {
                signals: vec![Signal::Errors as i32, Signal::Errors as i32],
                operations: vec!["b".into(), "a".into(), "b".into()],
                alpha: 0.05,
                min_samples: 10,
                ..Default::default()
            }),
        )
        .unwrap();
        assert_eq!(o.signals, vec![Signal::Errors]);
        assert_eq!(o.operations, vec!["a", "b"]);
        assert_eq!((o.alpha, o.min_samples), (0.05, 10));
        assert_eq!(
            Options::from_proto("options", Some(&o.to_proto())).unwrap(),
            o
        );
    }

    #[test]
    fn bad_options_name_the_field() {
        let weight = |signal: Signal, service: &str, operation: &str, weight: f64| Weight {
            signal: signal as i32,
            service_name: service.into(),
            operation: operation.into(),
            weight,
        };
        let weights = |w: Weight| CompareOptions {
            weights: vec![weight(Signal::Errors, "", "", 1.0), w],
            ..Default::default()
        };
        let many = CompareOptions {
            weights: vec![weight(Signal::Errors, "", "", 1.0); MAX_WEIGHTS + 1],
            ..Default::default()
        };
        for (o, expected) in [
            (
                weights(weight(Signal::Logs, "", "", 1.0)),
                "options.weights[1].signal: SIGNAL_LATENCY or SIGNAL_ERRORS",
            ),
            (
                weights(weight(Signal::Latency, "", "GET /", 1.0)),
                "options.weights[1].service_name: required with an operation",
            ),
            (
                weights(weight(Signal::Latency, "a", "", 101.0)),
                "options.weights[1].weight: 101 is not in [0, 100]",
            ),
            (
                weights(weight(Signal::Latency, "a", "", f64::NAN)),
                "options.weights[1].weight: NaN",
            ),
            (many, "options.weights: 101 given, at most 100"),
        ] {
            let message = refused(o);
            assert!(message.starts_with(expected), "{message}");
        }
        let cases: [(CompareOptions, &str); 8] = [
            (
                CompareOptions {
                    alpha: 0.5,
                    ..Default::default()
                },
                "options.alpha: 0.5 is not in (0, 0.2]",
            ),
            (
                CompareOptions {
                    alpha: f64::NAN,
                    ..Default::default()
                },
                "options.alpha",
            ),
            (
                CompareOptions {
                    alpha: -0.01,
                    ..Default::default()
                },
                "options.alpha",
            ),
            (
                CompareOptions {
                    latency_increase: 11.0,
                    ..Default::default()
                },
                "options.latency_increase",
            ),
            (
                CompareOptions {
                    error_rate_increase: f64::INFINITY,
                    ..Default::default()
                },
                "options.error_rate_increase",
            ),
            (
                CompareOptions {
                    min_samples: 3,
                    ..Default::default()
                },
                "options.min_samples: 3 is below 10",
            ),
            (
                CompareOptions {
                    signals: vec![1, 0],
                    ..Default::default()
                },
                "options.signals[1]: SIGNAL_UNSPECIFIED",
            ),
            (
                CompareOptions {
                    operations: vec!["a".into(), String::new()],
                    ..Default::default()
                },
                "options.operations[1]: empty",
            ),
        ];
        for (o, expected) in cases {
            let message = refused(o);
            assert!(message.starts_with(expected), "{message}");
        }
        assert!(
            refused(CompareOptions {
                signals: vec![42],
                ..Default::default()
            })
            .contains("signals[0]: unknown value 42")
        );
        let many = CompareOptions {
            operations: (0..101).map(|i| i.to_string()).collect(),
            ..Default::default()
        };
        assert!(refused(many).contains("options.operations: 101 given, at most 100"));
    }
}
