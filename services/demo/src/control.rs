//! The demo's run-time switch for checkout v2: a small file of `key=value`
//! lines (`v2=same`, `v2-slowdown=1.2`, `v2-extra-errors=0.01`,
//! `v2-error-log=on`) read again
//! every second, so a regression can be turned on and off while the demo
//! runs (`scripts/mesh.sh regress`). Keys the file leaves out keep the
//! values of the command line; a bad line is reported and skipped.

use std::path::Path;

use crate::generate::Canary;

/// `canary` with the file's settings applied, and a message for each line
/// that could not be used.
pub fn apply(text: &str, mut canary: Canary) -> (Canary, Vec<String>) {
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            problems.push(format!("line {}: expected key=value, got {line:?}", n + 1));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let applied = match key {
            "v2" => parse_v2(value).map(|v2| {
                canary.pricing_release = v2 == V2::Release;
            }),
            "v2-slowdown" => parse_slowdown(value).map(|f| canary.slowdown = f),
            "v2-extra-errors" => parse_extra_errors(value).map(|p| canary.extra_errors = p),
            "v2-error-log" => match value {
                "on" | "off" => {
                    canary.error_log = value == "on";
                    Ok(())
                }
                _ => Err(format!("v2-error-log must be `on` or `off`, not {value:?}")),
            },
            _ => Err(format!(
                "unknown key {key:?} (v2, v2-slowdown, v2-extra-errors, v2-error-log)"
            )),
        };
        if let Err(problem) = applied {
            problems.push(format!("line {}: {problem}", n + 1));
        }
    }
    (canary, problems)
}

/// Reads the switch file; a missing file means no change.
pub fn read(path: &Path, canary: Canary) -> (Canary, Vec<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => apply(&text, canary),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (canary, Vec::new()),
        Err(error) => (canary, vec![format!("{}: {error}", path.display())]),
    }
}

/// What checkout v2 is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum V2 {
    /// The release with the new pricing step: slower, failing three times
    /// as often.
    Release,
    /// v1 again.
    Same,
}

pub fn parse_v2(value: &str) -> Result<V2, String> {
    match value {
        "same" => Ok(V2::Same),
        "release" => Ok(V2::Release),
        _ => Err(format!("v2 must be `same` or `release`, not {value:?}")),
    }
}

pub fn parse_slowdown(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(f) if f.is_finite() && (1.0..=100.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "v2-slowdown must be a factor from 1 to 100, not {value:?}"
        )),
    }
}

pub fn parse_extra_errors(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "v2-extra-errors must be a probability from 0 to 1, not {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_overrides_what_it_names() {
        let (canary, problems) = apply(
            "# a regression\nv2 = same\nv2-slowdown=1.2\n\n",
            Canary::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            canary,
            Canary {
                pricing_release: false,
                slowdown: 1.2,
                extra_errors: 0.0,
                error_log: false,
            }
        );
        let (canary, _) = apply("v2-extra-errors=0.01\nv2-error-log=on", Canary::SAME);
        assert_eq!(canary.extra_errors, 0.01);
        assert!(canary.error_log);
        assert!(!canary.pricing_release);
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let (canary, problems) = apply(
            "v2=faster\nv2-slowdown=0.5\nv2-extra-errors=2\nspeed=1\nnonsense\nv2-slowdown=2",
            Canary::default(),
        );
        assert_eq!(canary.slowdown, 2.0);
        assert!(canary.pricing_release);
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].starts_with("line 1: v2 must be"));
        assert!(problems[3].contains("unknown key \"speed\""));
        assert!(problems[4].starts_with("line 5: expected key=value"));
        assert_eq!(
            read(Path::new("/nonexistent/switch"), Canary::SAME),
            (Canary::SAME, Vec::new())
        );
    }
}
