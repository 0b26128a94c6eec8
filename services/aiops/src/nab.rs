//! Numenta Anomaly Benchmark (NAB) file handling.
//!
//! Data files are CSV with a header naming `timestamp` and `value` columns;
//! timestamps are `YYYY-MM-DD HH:MM:SS` (optionally with fractional
//! seconds, which are ignored), read as UTC. Results files repeat the data
//! rows with an extra `anomaly_score` column.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::detect::{Detector, DetectorConfig};

/// One parsed data row, keeping the original text for faithful output.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub ts_text: String,
    pub value_text: String,
    pub ts: i64,
    pub value: f64,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD HH:MM:SS[.frac]` (or with a `T`) to unix seconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    let field = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (h, mi, s) = (field(11..13)?, field(14..16)?, field(17..19)?);
    let rest = &t[19..];
    if !(rest.is_empty()
        || (rest.starts_with('.') && rest[1..].bytes().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Parses NAB CSV text; errors name `origin` and the 1-based line.
pub fn parse_csv(text: &str, origin: &str) -> io::Result<Vec<Row>> {
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err(invalid(format!("{origin}: empty file (no header)"))),
        }
    };
    let cols: Vec<&str> = header.split(',').map(|c| c.trim()).collect();
    let find = |name: &str| {
        cols.iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                invalid(format!(
                    "{origin}:1: header has no {name:?} column: {header:?}"
                ))
            })
    };
    let (ti, vi) = (find("timestamp")?, find("value")?);
    let mut rows = Vec::new();
    for (idx, line) in lines {
        let line_no = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let get = |i: usize| {
            fields.get(i).map(|f| f.trim()).ok_or_else(|| {
                invalid(format!(
                    "{origin}:{line_no}: expected {} columns, found {}",
                    cols.len(),
                    fields.len()
                ))
            })
        };
        let (ts_text, value_text) = (get(ti)?, get(vi)?);
        let ts = parse_timestamp(ts_text).ok_or_else(|| {
            invalid(format!(
                "{origin}:{line_no}: bad timestamp {ts_text:?} (want YYYY-MM-DD HH:MM:SS)"
            ))
        })?;
        // Rust's parser also accepts "nan"/"inf"; the detector handles those.
        let value = value_text
            .parse::<f64>()
            .map_err(|_| invalid(format!("{origin}:{line_no}: bad value {value_text:?}")))?;
        rows.push(Row {
            ts_text: ts_text.to_string(),
            value_text: value_text.to_string(),
            ts,
            value,
        });
    }
    Ok(rows)
}

/// Output columns of [`score_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// `timestamp,value,anomaly_score` as NAB expects.
    Nab,
    /// Adds expected, band, kind, each component's surprise and the
    /// seasonal profiles' strengths: why a point scored what it did.
    Explain,
}

fn csv_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            csv_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "csv") {
            out.push(p);
        }
    }
    Ok(())
}

/// Scores one data file into `out` (timestamp,value,anomaly_score).
fn score_file(cfg: &DetectorConfig, data: &Path, out: &Path, cols: Columns) -> io::Result<()> {
    let origin = data.display().to_string();
    let text =
        fs::read_to_string(data).map_err(|e| io::Error::new(e.kind(), format!("{origin}: {e}")))?;
    let rows = parse_csv(&text, &origin)?;
    let mut det = Detector::new(cfg);
    let mut s = String::with_capacity(rows.len() * 40 + 32);
    s.push_str("timestamp,value,anomaly_score");
    if cols == Columns::Explain {
        s.push_str(",expected,lower,upper,kind,l_value,l_smooth,l_rough_hi,l_rough_lo,l_jump,l_daily,l_weekly,s_daily,s_weekly");
    }
    s.push('\n');
    for r in &rows {
        let p = det.update(r.ts, r.value);
        let _ = write!(s, "{},{},{}", r.ts_text, r.value_text, p.score);
        if cols == Columns::Explain {
            let l = det.rarities();
            let _ = write!(s, ",{},{},{},{:?}", p.expected, p.lower, p.upper, p.kind);
            for x in l.into_iter().chain(det.season_strength()) {
                let _ = write!(s, ",{x:.2}");
            }
        }
        s.push('\n');
    }
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(out, s)
}

/// Scores every CSV under `data` with [`DetectorConfig::default`], writing
/// the same relative path under `out`. Returns the number of files.
pub fn score_nab_dir(data: &Path, out: &Path, cols: Columns) -> io::Result<usize> {
    let cfg = DetectorConfig::default();
    let mut files = Vec::new();
    csv_files(data, &mut files)?;
    for f in &files {
        let rel = f.strip_prefix(data).map_err(|e| invalid(e.to_string()))?;
        score_file(&cfg, f, &out.join(rel), cols)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("2014-04-01 00:05:00"), Some(1_396_310_700));
        assert_eq!(
            parse_timestamp("2014-04-01T00:05:00.000000"),
            Some(1_396_310_700)
        );
        assert_eq!(parse_timestamp("2014-04-01 0:05:00"), None);
        assert_eq!(parse_timestamp("2014-13-01 00:05:00"), None);
        assert_eq!(parse_timestamp(""), None);
    }
}
