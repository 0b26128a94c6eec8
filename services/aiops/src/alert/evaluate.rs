//! Judging a rule minute by minute: whether each minute broke its
//! condition, whether the condition holds (k of n, absence, burn rate),
//! and the alert's life (pending, firing, resolved). Pure: the minutes come
//! from [`super::data`].

use super::rule::Condition;

const MINUTE_SECS: u32 = 60;

/// The per-minute numbers a condition reads, one entry per minute from the
/// first minute fetched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Minutes {
    /// The series' value (threshold, absence) or the highest anomaly score
    /// (anomaly); `None` for a minute without one.
    Values(Vec<Option<f64>>),
    /// Requests and errors (burn rate).
    Counts(Vec<(u64, u64)>),
}

/// One minute as the condition saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Judged {
    /// Start of the minute, Unix seconds.
    pub(crate) minute: u32,
    pub(crate) value: Option<f64>,
    /// The minute itself broke the condition.
    pub(crate) breached: bool,
    /// The condition holds after this minute (k of n and the like).
    pub(crate) holds: bool,
}

/// Judges every minute of `minutes`, the first at `first` (Unix s).
/// Minutes before the first count as not breached.
pub(crate) fn judge(condition: &Condition, first: u32, minutes: &Minutes) -> Vec<Judged> {
    let at = |i: usize| first + i as u32 * MINUTE_SECS;
    match (condition, minutes) {
        (
            Condition::Threshold {
                above,
                threshold,
                k,
                n,
                ..
            },
            Minutes::Values(values),
        ) => {
            let breached: Vec<bool> = values
                .iter()
                .map(|v| {
                    v.is_some_and(|v| {
                        if *above {
                            v > *threshold
                        } else {
                            v < *threshold
                        }
                    })
                })
                .collect();
            k_of_n(&breached, *k, *n)
                .into_iter()
                .enumerate()
                .map(|(i, holds)| Judged {
                    minute: at(i),
                    value: values[i],
                    breached: breached[i],
                    holds,
                })
                .collect()
        }
        (Condition::Anomaly { k, n, .. }, Minutes::Values(scores)) => {
            let breached: Vec<bool> = scores.iter().map(Option::is_some).collect();
            k_of_n(&breached, *k, *n)
                .into_iter()
                .enumerate()
                .map(|(i, holds)| Judged {
                    minute: at(i),
                    value: scores[i],
                    breached: breached[i],
                    holds,
                })
                .collect()
        }
        (Condition::Absence { minutes: m, .. }, Minutes::Values(values)) => {
            let breached: Vec<bool> = values.iter().map(Option::is_none).collect();
            k_of_n(&breached, *m, *m)
                .into_iter()
                .enumerate()
                .map(|(i, holds)| Judged {
                    minute: at(i),
                    value: values[i],
                    breached: breached[i],
                    holds,
                })
                .collect()
        }
        (
            Condition::BurnRate {
                budget, windows, ..
            },
            Minutes::Counts(counts),
        ) => {
            // Prefix sums: a window's totals in O(1) whatever its length.
            let mut requests = vec![0u64; counts.len() + 1];
            let mut errors = vec![0u64; counts.len() + 1];
            for (i, &(r, e)) in counts.iter().enumerate() {
                requests[i + 1] = requests[i] + r;
                errors[i + 1] = errors[i] + e;
            }
            let burn = |i: usize, width: u32| {
                let from = (i + 1).saturating_sub(width as usize);
                let r = requests[i + 1] - requests[from];
                let e = errors[i + 1] - errors[from];
                (r > 0).then(|| e as f64 / r as f64 / budget)
            };
            (0..counts.len())
                .map(|i| {
                    let mut value: Option<f64> = None;
                    let mut breached = false;
                    for &(long, short, factor) in windows {
                        let long_burn = burn(i, long);
                        value = match (value, long_burn) {
                            (Some(a), Some(b)) => Some(a.max(b)),
                            (a, b) => a.or(b),
                        };
                        let fast = |b: Option<f64>| b.is_some_and(|b| b > factor);
                        breached |= fast(long_burn) && fast(burn(i, short));
                    }
                    Judged {
                        minute: at(i),
                        value,
                        breached,
                        holds: breached,
                    }
                })
                .collect()
        }
        // A condition with the other kind of minutes: data.rs fetches the
        // kind each condition reads, so this judges nothing.
        _ => Vec::new(),
    }
}

/// Whether at least `k` of the last `n` entries (each one included) are
/// true, for every entry.
fn k_of_n(breached: &[bool], k: u32, n: u32) -> Vec<bool> {
    let n = n as usize;
    let mut count = 0u32;
    breached
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            count += u32::from(b);
            if i >= n && breached[i - n] {
                count -= 1;
            }
            count >= k
        })
        .collect()
}

/// Where an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Inactive,
    Pending,
    Firing,
}

/// One alert: from the first minute its condition held to the first
/// minute it no longer did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Episode {
    /// Unix seconds of minutes.
    pub(crate) active: u32,
    pub(crate) fired: Option<u32>,
    pub(crate) resolved: Option<u32>,
    /// The value when it fired, or the last value while it was pending
    /// (0 when no minute of it had one).
    pub(crate) value: f64,
}

/// An alert's life, one judged minute at a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Machine {
    for_minutes: u32,
    open: Option<Episode>,
}

impl Machine {
    pub(crate) fn new(for_minutes: u32) -> Self {
        Self {
            for_minutes,
            open: None,
        }
    }

    pub(crate) fn state(&self) -> State {
        match &self.open {
            None => State::Inactive,
            Some(e) if e.fired.is_some() => State::Firing,
            Some(_) => State::Pending,
        }
    }

    /// The alert after `judged`; the episode that ended there, if one did.
    pub(crate) fn step(&mut self, judged: &Judged) -> Option<Episode> {
        if !judged.holds {
            let mut ended = self.open.take()?;
            ended.resolved = Some(judged.minute);
            return Some(ended);
        }
        // A minute without a value (absence, k of n) keeps the last one.
        let episode = self.open.get_or_insert(Episode {
            active: judged.minute,
            fired: None,
            resolved: None,
            value: judged.value.unwrap_or(0.0),
        });
        if episode.fired.is_none() {
            if let Some(value) = judged.value {
                episode.value = value;
            }
            if judged.minute - episode.active >= self.for_minutes * MINUTE_SECS {
                episode.fired = Some(judged.minute);
            }
        }
        None
    }

    /// A machine that goes on from `open` (a stored alert still open).
    pub(crate) fn resume(for_minutes: u32, open: Option<Episode>) -> Self {
        Self { for_minutes, open }
    }

    /// The episode still open, if any.
    pub(crate) fn open(&self) -> Option<&Episode> {
        self.open.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::rule::Series;
    use crate::watch::series::Signal;

    fn threshold(k: u32, n: u32) -> Condition {
        Condition::Threshold {
            series: Series::Red {
                service: "s".to_owned(),
                operation: String::new(),
                signal: Signal::LatencyP95,
            },
            above: true,
            threshold: 10.0,
            k,
            n,
        }
    }

    fn holds(judged: &[Judged]) -> Vec<bool> {
        judged.iter().map(|j| j.holds).collect()
    }

    #[test]
    fn k_of_n_counts_a_sliding_window() {
        let values = Minutes::Values([5.0, 20.0, 5.0, 20.0, 5.0, 5.0, 5.0].map(Some).to_vec());
        let judged = judge(&threshold(2, 3), 600, &values);
        assert_eq!(
            holds(&judged),
            [false, false, false, true, false, false, false]
        );
        assert_eq!(judged[3].minute, 600 + 3 * 60);
        assert!(judged[1].breached);
        let judged = judge(&threshold(1, 1), 0, &values);
        assert_eq!(
            holds(&judged),
            [false, true, false, true, false, false, false]
        );
    }

    #[test]
    fn a_minute_without_a_value_breaks_no_threshold_but_counts_as_absent() {
        let values = Minutes::Values(vec![None, None, Some(1.0), None, None, None]);
        assert_eq!(holds(&judge(&threshold(1, 1), 0, &values)), [false; 6]);
        let absence = Condition::Absence {
            series: Series::Red {
                service: "s".to_owned(),
                operation: String::new(),
                signal: Signal::RequestRate,
            },
            minutes: 3,
        };
        assert_eq!(
            holds(&judge(&absence, 0, &values)),
            [false, false, false, false, false, true]
        );
    }

    #[test]
    fn burn_rate_needs_both_windows_fast() {
        let condition = Condition::BurnRate {
            service: "s".to_owned(),
            operation: String::new(),
            budget: 0.01,
            windows: vec![(10, 2, 5.0)],
        };
        // 100 requests a minute; 10 % errors (a burn of 10) in minutes 5
        // to 7, none otherwise.
        let counts: Vec<(u64, u64)> = (0..12)
            .map(|i| (100, if (5..8).contains(&i) { 10 } else { 0 }))
            .collect();
        let judged = judge(&condition, 0, &Minutes::Counts(counts));
        // Minute 5: short window (4, 5) burns 5, not above 5; minute 6:
        // short 10, long 20/700 = 2.9; minute 7: long 30/800 = 3.75 ...
        // the long window never reaches 5 with 10 minutes of history.
        assert_eq!(holds(&judged), [false; 12]);
        let counts: Vec<(u64, u64)> = (0..12)
            .map(|i| (100, if i >= 4 { 10 } else { 0 }))
            .collect();
        let judged = judge(&condition, 0, &Minutes::Counts(counts));
        // Long burn at minute i: 10 * (i - 3) / (i + 1) errors per request
        // over the budget; above 5 from minute 8 (10 * 5 / 9 = 5.6).
        assert_eq!(
            holds(&judged),
            [
                false, false, false, false, false, false, false, false, true, true, true, true
            ]
        );
        let value = judged[8].value.unwrap();
        assert!((value - 50.0 / 9.0).abs() < 1e-9, "{value}");
    }

    #[test]
    fn alerts_pend_then_fire_after_for_and_resolve() {
        let mut machine = Machine::new(2);
        let minute = |i: u32, holds: bool| Judged {
            minute: i * 60,
            value: Some(f64::from(i)),
            breached: holds,
            holds,
        };
        let mut states = Vec::new();
        let mut ended = Vec::new();
        for (i, h) in [false, true, true, true, true, false, true, false]
            .into_iter()
            .enumerate()
        {
            ended.extend(machine.step(&minute(i as u32, h)));
            states.push(machine.state());
        }
        use State::*;
        assert_eq!(
            states,
            [
                Inactive, Pending, Pending, Firing, Firing, Inactive, Pending, Inactive
            ]
        );
        assert_eq!(
            ended,
            [
                Episode {
                    active: 60,
                    fired: Some(180),
                    resolved: Some(300),
                    value: 3.0
                },
                Episode {
                    active: 360,
                    fired: None,
                    resolved: Some(420),
                    value: 6.0
                },
            ]
        );
        let mut at_once = Machine::new(0);
        at_once.step(&minute(1, true));
        assert_eq!(at_once.state(), Firing);
        assert_eq!(at_once.open().unwrap().fired, Some(60));
    }
}
