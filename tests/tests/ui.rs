//! The UI as a person uses it: the browser tests of web/e2e (Playwright
//! driving Debian's Chromium) against the whole local platform behind the
//! mesh with demo traffic, started here by `scripts/up.sh`.
//!
//! Access tokens live [`ACCESS_TTL_SECS`] here instead of 15 minutes, so
//! the tests see a session outlive several of them. The tests write their
//! screenshots to docs/ui/.

#![allow(clippy::print_stderr)]

use std::process::Command;

use airis_tests::platform::{INGRESS_URL, LocalPlatform};
use airis_tests::repo_root;
use anyhow::{Context as _, ensure};
use serde_json::Value;

const ACCESS_TTL_SECS: &str = "20";

#[test]
fn the_ui_works_in_chromium_against_the_local_platform() -> anyhow::Result<()> {
    let root = repo_root();
    let mut platform =
        LocalPlatform::up("ui", &[("AIRIS_GATEWAY__ACCESS_TTL_SECS", ACCESS_TTL_SECS)])?;
    let _ = std::fs::remove_file(root.join("web/e2e-results.json"));
    let status = Command::new(root.join("scripts/web.sh"))
        .arg("e2e")
        .current_dir(&root)
        .env("AIRIS_UI_URL", INGRESS_URL)
        .env("AIRIS_UI_ACCESS_TTL_SECS", ACCESS_TTL_SECS)
        .status()
        .context("run scripts/web.sh e2e")?;
    let log = platform.log().to_owned();
    platform.stop();
    ensure!(
        status.success(),
        "browser tests failed ({status}); their report: web/playwright-report \
         (npx playwright show-report in web/), traces and screenshots in \
         web/test-results; platform log {}\n{}",
        log.display(),
        failures(&root.join("web/e2e-results.json"))
    );
    let _ = std::fs::remove_file(&log);
    Ok(())
}

/// Each failed browser test with the first lines of its error, from
/// Playwright's JSON report: the list reporter prints them far above the
/// end of the output, which is all a long log may keep.
const LINES: usize = 12;

fn failures(report: &std::path::Path) -> String {
    let Ok(text) = std::fs::read_to_string(report) else {
        return format!("(no {})", report.display());
    };
    let Ok(report) = serde_json::from_str::<Value>(&text) else {
        return format!("({} is not JSON)", report.display());
    };
    let mut out = Vec::new();
    collect(&report, "", &mut out);
    for error in report["errors"].as_array().into_iter().flatten() {
        out.push(format!("run: {}", first_lines(&error["message"], LINES)));
    }
    out.join("\n")
}

fn collect(suite: &Value, file: &str, out: &mut Vec<String>) {
    let file = suite["file"].as_str().unwrap_or(file);
    for spec in suite["specs"].as_array().into_iter().flatten() {
        let results = spec["tests"].as_array().into_iter().flatten();
        for result in results.flat_map(|t| t["results"].as_array().into_iter().flatten()) {
            if matches!(result["status"].as_str(), Some("passed" | "skipped")) {
                continue;
            }
            let title = spec["title"].as_str().unwrap_or("?");
            let line = spec["line"].as_u64().unwrap_or(0);
            // A timeout's errors: the timeout, then the step it stopped in.
            let errors: Vec<String> = result["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| first_lines(&e["message"], LINES))
                .collect();
            out.push(format!(
                "FAILED {file}:{line} {title}\n{}",
                errors.join("\n")
            ));
        }
    }
    for inner in suite["suites"].as_array().into_iter().flatten() {
        collect(inner, file, out);
    }
}

/// The first `n` lines of a message, without its terminal colours.
fn first_lines(message: &Value, n: usize) -> String {
    let text = message.as_str().unwrap_or("(no message)");
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.lines().take(n).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_failure_in_playwrights_report_is_named_with_its_errors() {
    let dir = std::env::temp_dir().join(format!("airis-ui-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("e2e-results.json");
    let json = serde_json::json!({
        "suites": [{ "title": "a.spec.ts", "file": "a.spec.ts", "specs": [
            { "title": "passes", "line": 3, "tests": [{ "results": [{ "status": "passed", "errors": [] }] }] },
        ], "suites": [{ "title": "group", "specs": [
            { "title": "waits", "line": 9, "tests": [{ "results": [{ "status": "timedOut", "errors": [
                { "message": "\u{1b}[31mTest timeout of 1500ms exceeded.\u{1b}[39m" },
                { "message": "Error: expect(locator).toBeVisible() failed\nLocator: getByRole('alert')" },
            ] }] }] },
        ] }] }],
        "errors": [],
    });
    std::fs::write(&report, json.to_string()).unwrap();
    assert_eq!(
        failures(&report),
        "FAILED a.spec.ts:9 waits\nTest timeout of 1500ms exceeded.\n\
         Error: expect(locator).toBeVisible() failed\nLocator: getByRole('alert')"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures(&report).starts_with("(no "));
}
