import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  // A stalled platform fails the run with its report instead of holding
  // the test command until the CI's own limit.
  globalTimeout: 40 * 60_000,
  retries: 0,
  // One platform, shared state (fault injection, tokens): one test at a time.
  workers: 1,
  fullyParallel: false,
  // e2e-results.json: the failures' messages, which tests/ui.rs repeats last in
  // its output (a CI log keeps only the end of it).
  reporter: [['list'], ['html', { open: 'never' }], ['json', { outputFile: 'e2e-results.json' }]],
  use: {
    baseURL: process.env.AIRIS_UI_URL ?? 'http://127.0.0.1:8080',
    // Debian's Chromium (scripts/infra.sh install browser); Playwright's own
    // browser download is not reachable here.
    launchOptions: { executablePath: process.env.AIRIS_CHROMIUM ?? '/usr/bin/chromium' },
    trace: 'retain-on-failure',
  },
});
