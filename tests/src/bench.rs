//! What the benchmarks of `tests/benches/` share (docs/benchmarks.md): the
//! OTLP load generator, processes and what /proc says about them, and the
//! parsers of their command-line values.

pub mod load;
pub mod sys;

use std::time::Duration;

/// Arguments every benchmark accepts besides its own.
#[derive(clap::Args, Clone, Debug)]
pub struct CargoBench {
    /// `cargo bench` passes `--bench` to `harness = false` binaries.
    #[arg(long = "bench", hide = true)]
    _bench: bool,
}

/// A count such as `2000000` or `2_000_000`.
pub fn count(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|error| format!("not a count: {error}"))
}

/// A count of at least 1, as a `usize` or `u64`.
pub fn positive<T: TryFrom<u64>>(text: &str) -> Result<T, String>
where
    T::Error: std::fmt::Display,
{
    match count(text)? {
        0 => Err("must be at least 1".to_owned()),
        n => T::try_from(n).map_err(|error| error.to_string()),
    }
}

/// Seconds, fractions allowed (`2.5`).
pub fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|error| format!("not a number of seconds: {error}"))?;
    Duration::try_from_secs_f64(secs).map_err(|error| format!("not a duration: {error}"))
}

/// Whole milliseconds.
pub fn millis(text: &str) -> Result<Duration, String> {
    count(text).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_or_say_why_not() {
        assert_eq!(count("2_000_000"), Ok(2_000_000));
        assert!(count("2M").unwrap_err().starts_with("not a count"));
        assert_eq!(positive::<usize>("8"), Ok(8));
        assert_eq!(positive::<u64>("0"), Err("must be at least 1".to_owned()));
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert!(seconds("-1").unwrap_err().starts_with("not a duration"));
        assert!(
            seconds("x")
                .unwrap_err()
                .starts_with("not a number of seconds")
        );
        assert_eq!(millis("100"), Ok(Duration::from_millis(100)));
    }
}
