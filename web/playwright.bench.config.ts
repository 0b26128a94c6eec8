import { defineConfig } from '@playwright/test';

// The UI benchmarks (bench/): `scripts/web.sh bench` against a running platform.
export default defineConfig({
  testDir: 'bench',
  testMatch: '*.bench.ts',
  timeout: 600_000,
  retries: 0,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: process.env.AIRIS_UI_URL ?? 'http://127.0.0.1:8080',
    launchOptions: { executablePath: process.env.AIRIS_CHROMIUM ?? '/usr/bin/chromium' },
    viewport: { width: 1440, height: 900 },
  },
});
