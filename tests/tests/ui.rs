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

const ACCESS_TTL_SECS: &str = "20";

#[test]
fn the_ui_works_in_chromium_against_the_local_platform() -> anyhow::Result<()> {
    let root = repo_root();
    let mut platform =
        LocalPlatform::up("ui", &[("AIRIS_GATEWAY__ACCESS_TTL_SECS", ACCESS_TTL_SECS)])?;
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
         web/test-results; platform log {}",
        log.display()
    );
    let _ = std::fs::remove_file(&log);
    Ok(())
}
