//! Bad input: non-finite values, non-increasing timestamps, broken files.

use std::fs;
use std::path::PathBuf;

use airis_aiops::detect::{Detector, DetectorConfig, Kind};
use airis_aiops::nab::parse_csv;
use airis_aiops::nab::{Columns, score_nab_dir};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nab-lab-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn non_finite_values_are_missing_and_do_not_poison_state() {
    let mut det = Detector::new(&DetectorConfig::default());
    for i in 0..500 {
        det.update(60 * i, 10.0 + (i % 5) as f64);
    }
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let p = det.update(60 * 500, bad);
        assert_eq!(p.kind, Kind::MissingData);
        assert_eq!(p.score, 0.0);
        assert!(p.expected.is_finite() && p.lower.is_finite() && p.upper.is_finite());
    }
    let p = det.update(60 * 501, 12.0);
    assert!(p.score.is_finite() && p.expected.is_finite(), "{p:?}");
    assert_eq!(det.count(), 501);
}

#[test]
fn non_increasing_timestamps_are_tolerated() {
    let mut det = Detector::new(&DetectorConfig::default());
    let mut t = 1_000_000;
    for i in 0..2000 {
        // Duplicates and steps backwards every so often.
        t += match i % 50 {
            0 => 0,
            1 => -600,
            _ => 60,
        };
        let p = det.update(t, (i % 7) as f64);
        assert!(p.score.is_finite() && (0.0..=1.0).contains(&p.score));
    }
}

#[test]
fn parse_errors_name_file_and_line() {
    let e = parse_csv("", "f.csv").unwrap_err().to_string();
    assert!(e.contains("f.csv") && e.contains("empty"), "{e}");
    let e = parse_csv("time,value\n", "f.csv").unwrap_err().to_string();
    assert!(e.contains("f.csv:1") && e.contains("timestamp"), "{e}");
    let text = "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,abc\n";
    let e = parse_csv(text, "f.csv").unwrap_err().to_string();
    assert!(e.contains("f.csv:3") && e.contains("abc"), "{e}");
    let text = "timestamp,value\n2014-01-01 00:00:00,1\nyesterday,2\n";
    let e = parse_csv(text, "f.csv").unwrap_err().to_string();
    assert!(e.contains("f.csv:3") && e.contains("yesterday"), "{e}");
    let text = "timestamp,value\n2014-01-01 00:00:00\n";
    let e = parse_csv(text, "f.csv").unwrap_err().to_string();
    assert!(e.contains("f.csv:2"), "{e}");
}

#[test]
fn header_only_and_non_finite_rows_are_accepted() {
    assert!(parse_csv("timestamp,value\n", "f.csv").unwrap().is_empty());
    let rows = parse_csv(
        "value,timestamp\r\nnan,2014-01-01 00:00:00\r\ninf,2014-01-01 00:00:00\r\n",
        "f",
    )
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].value.is_nan());
}

#[test]
fn score_nab_dir_writes_same_rows_and_reports_bad_files() {
    let data = temp_dir("data");
    let out = temp_dir("out");
    fs::create_dir_all(data.join("cat")).unwrap();
    let mut text = String::from("timestamp,value\n");
    for i in 0..300 {
        text.push_str(&format!(
            "2014-01-01 {:02}:{:02}:00,{}\n",
            i / 60,
            i % 60,
            i % 10
        ));
    }
    fs::write(data.join("cat/a.csv"), &text).unwrap();
    fs::write(data.join("cat/empty.csv"), "timestamp,value\n").unwrap();
    assert_eq!(score_nab_dir(&data, &out, Columns::Nab).unwrap(), 2);
    let written = fs::read_to_string(out.join("cat/a.csv")).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "timestamp,value,anomaly_score");
    assert_eq!(lines.len(), 301);
    assert!(lines[1].starts_with("2014-01-01 00:00:00,0,"));

    fs::write(
        data.join("cat/broken.csv"),
        "timestamp,value\n2014-01-01 00:00:00,x\n",
    )
    .unwrap();
    let e = score_nab_dir(&data, &out, Columns::Nab)
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.csv:2"), "{e}");
    let _ = fs::remove_dir_all(&data);
    let _ = fs::remove_dir_all(&out);
}
