//! Why an item was rejected: a [`Fault`] is the path below the item, the
//! [`Problem`] and the attribute key involved. Built only on the error
//! path, so a valid request allocates nothing.

use std::fmt;

use super::rules::{MAX_EXPONENTIAL_SCALE, MIN_EXPONENTIAL_SCALE};

/// One step of a path below the item being validated.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seg {
    Field(&'static str),
    Index(usize),
}

const MAX_SEGS: usize = 6;

/// Why an item was rejected: the path below the item, the problem, and the
/// attribute key involved when there is a valid one.
#[derive(Debug)]
pub(super) struct Fault {
    segs: [Seg; MAX_SEGS],
    len: usize,
    pub(super) key: Option<String>,
    problem: Problem,
}

/// Boxed so that the happy path returns a single null pointer.
pub(super) type Check = Result<(), Box<Fault>>;

impl Fault {
    pub(super) fn new(problem: Problem) -> Box<Self> {
        Box::new(Self {
            segs: [Seg::Field(""); MAX_SEGS],
            len: 0,
            key: None,
            problem,
        })
    }
}

/// Prefixes a fault's path with one more step (outermost last).
pub(super) trait Under {
    fn under(self, seg: Seg) -> Self;
    fn field(self, name: &'static str) -> Self;
    fn index(self, i: usize) -> Self;
}

impl Under for Box<Fault> {
    fn under(mut self, seg: Seg) -> Self {
        debug_assert!(self.len < MAX_SEGS, "fault path too deep");
        if self.len < MAX_SEGS {
            self.segs.copy_within(0..self.len, 1);
            self.segs[0] = seg;
            self.len += 1;
        }
        self
    }
    fn field(self, name: &'static str) -> Self {
        self.under(Seg::Field(name))
    }
    fn index(self, i: usize) -> Self {
        self.under(Seg::Index(i))
    }
}

impl<T> Under for Result<T, Box<Fault>> {
    fn under(self, seg: Seg) -> Self {
        self.map_err(|f| f.under(seg))
    }
    fn field(self, name: &'static str) -> Self {
        self.under(Seg::Field(name))
    }
    fn index(self, i: usize) -> Self {
        self.under(Seg::Index(i))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.segs[..self.len] {
            match seg {
                Seg::Field(name) => write!(f, ".{name}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        write!(f, ": {}", self.problem)?;
        if let Some(key) = &self.key {
            write!(f, " (key {key:?})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Problem {
    IdLen {
        want: usize,
        got: usize,
    },
    IdEmptyOrLen {
        want: usize,
        got: usize,
    },
    AllZero,
    Zero,
    Empty,
    Missing,
    TooLong {
        len: usize,
        limit: usize,
    },
    NestedKeyTooLong {
        len: usize,
        limit: usize,
    },
    TooMany {
        count: usize,
        limit: usize,
    },
    Future {
        ahead_secs: u64,
        limit_secs: u64,
    },
    EndBeforeStart {
        start: u64,
        end: u64,
    },
    UnknownEnum(i32),
    Unspecified,
    TooDeep {
        limit: usize,
    },
    ValueTooLong {
        kind: &'static str,
        len: usize,
        limit: usize,
    },
    BodyTooLarge {
        limit: usize,
    },
    StrIndex,
    KeyStrIndex,
    NoData,
    BucketCounts {
        counts: usize,
        bounds: usize,
    },
    NotIncreasing {
        index: usize,
    },
    Quantile(f64),
    Scale(i32),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::IdLen { want, got } => write!(f, "must be {want} bytes, got {got}"),
            Self::IdEmptyOrLen { want, got } => {
                write!(f, "must be empty or {want} bytes, got {got}")
            }
            Self::AllZero => f.write_str("must not be all zeros"),
            Self::Zero => f.write_str("must not be 0"),
            Self::Empty => f.write_str("must not be empty"),
            Self::Missing => f.write_str("missing"),
            Self::TooLong { len, limit } => write!(f, "{len} bytes exceeds limit of {limit}"),
            Self::NestedKeyTooLong { len, limit } => {
                write!(f, "nested key of {len} bytes exceeds limit of {limit}")
            }
            Self::TooMany { count, limit } => {
                write!(f, "{count} entries exceed limit of {limit}")
            }
            Self::Future {
                ahead_secs,
                limit_secs,
            } => write!(
                f,
                "{ahead_secs}s in the future exceeds limit of {limit_secs}s"
            ),
            Self::EndBeforeStart { start, end } => {
                write!(f, "{end} is before start_time_unix_nano {start}")
            }
            Self::UnknownEnum(v) => write!(f, "unknown value {v}"),
            Self::Unspecified => f.write_str("must not be unspecified"),
            Self::TooDeep { limit } => write!(f, "nested deeper than {limit} levels"),
            Self::ValueTooLong { kind, len, limit } => {
                write!(f, "{kind} of {len} bytes exceeds limit of {limit}")
            }
            Self::BodyTooLarge { limit } => write!(f, "larger than limit of {limit} bytes"),
            Self::StrIndex => f.write_str("string_value_strindex is only valid in profiles"),
            Self::KeyStrIndex => f.write_str("key_strindex is only valid in profiles"),
            Self::NoData => f.write_str(
                "missing: metric has no gauge, sum, histogram, exponential_histogram or summary",
            ),
            Self::BucketCounts { counts, bounds } => write!(
                f,
                "{counts} entries for {bounds} explicit_bounds, want {}",
                bounds + 1
            ),
            Self::NotIncreasing { index } => {
                write!(f, "not strictly increasing at index {index}")
            }
            Self::Quantile(q) => write!(f, "{q} outside [0, 1]"),
            Self::Scale(s) => write!(
                f,
                "{s} outside [{MIN_EXPONENTIAL_SCALE}, {MAX_EXPONENTIAL_SCALE}]"
            ),
        }
    }
}

pub(super) fn fail(field: &'static str, problem: Problem) -> Check {
    Err(Fault::new(problem).field(field))
}
