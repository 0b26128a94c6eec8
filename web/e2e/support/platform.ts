// What the browser tests need besides the browser: the platform's own API
// (to check the UI shows what the query service answers), sign-in, axe,
// screenshots for docs/ui/, the ingress admin (fault injection), the
// demo's run-time switch (scripts/mesh.sh regress) and the OpenTelemetry
// Python SDK as a real exporter.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import AxeBuilder from '@axe-core/playwright';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { expect, type Page } from '@playwright/test';
import { AlertService } from '../../src/gen/airis/aiops/v1/alert_pb';
import { AnomalyService } from '../../src/gen/airis/aiops/v1/anomaly_pb';
import { QueryService } from '../../src/gen/airis/analytics/v1/query_pb';
import { DeltaService } from '../../src/gen/airis/delta/v1/delta_pb';
import { AuthService } from '../../src/gen/airis/gateway/v1/auth_pb';

export const BASE_URL = process.env.AIRIS_UI_URL ?? 'http://127.0.0.1:8080';
export const ADMIN_URL = process.env.AIRIS_ADMIN_URL ?? 'http://127.0.0.1:9901';
/** Access token lifetime of the platform under test (tests/tests/ui.rs sets it). */
export const ACCESS_TTL_SECS = Number(process.env.AIRIS_UI_ACCESS_TTL_SECS ?? '0');
export const TENANT = 'demo';
export const ADMIN = { username: 'admin', password: 'admin' };
export const VIEWER = { username: 'viewer', password: 'viewer' };
export type Lang = 'en' | 'ko';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '../../..');
/**
 * Where screenshots go: test-results/screenshots, or the directory
 * AIRIS_UI_SCREENSHOTS names (docs/ui refreshes the committed set).
 */
const SCREENSHOTS = resolve(REPO, process.env.AIRIS_UI_SCREENSHOTS ?? 'web/test-results/screenshots');

/**
 * The platform's API as a gRPC client sees it, with an admin token, signed
 * in again when the token is about to expire (the UI test's platform gives
 * 20-second tokens).
 */
function adminTransport() {
  const auth = createClient(AuthService, createGrpcWebTransport({ baseUrl: BASE_URL }));
  let token = '';
  let expiresMs = 0;
  const bearer: Interceptor = (next) => async (req) => {
    if (Date.now() > expiresMs - 5_000) {
      const answer = await auth.login({ tenant: TENANT, ...ADMIN });
      token = answer.accessToken;
      expiresMs = Number(answer.token?.expiresAtUnix ?? 0n) * 1000;
    }
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  return createGrpcWebTransport({ baseUrl: BASE_URL, interceptors: [bearer] });
}

/** The query service, as an admin (see adminTransport). */
export async function api() {
  return createClient(QueryService, adminTransport());
}

/** The anomaly service, as an admin (see adminTransport). */
export async function aiopsApi() {
  return createClient(AnomalyService, adminTransport());
}

/** The alert service, as an admin (see adminTransport). */
export async function alertApi() {
  return createClient(AlertService, adminTransport());
}

/** The delta service, as an admin (see adminTransport). */
export async function deltaApi() {
  return createClient(DeltaService, adminTransport());
}

/** The page in `lang` from its first paint on (the stored choice wins over the browser's). */
export async function preferLanguage(page: Page, lang: Lang): Promise<void> {
  await page.addInitScript((l) => localStorage.setItem('airis.lang', l), lang);
}

const LABELS = {
  en: { tenant: 'Tenant', username: 'User name', password: 'Password', signIn: 'Sign in' },
  ko: { tenant: '테넌트', username: '사용자 이름', password: '비밀번호', signIn: '로그인' },
} as const;

/** Signs in through the login page as a person does, in `lang`. */
export async function signIn(
  page: Page,
  user: { username: string; password: string } = ADMIN,
  lang: Lang = 'en',
  next = '/',
): Promise<void> {
  await preferLanguage(page, lang);
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  const l = LABELS[lang];
  await page.getByLabel(l.tenant).fill(TENANT);
  await page.getByLabel(l.username).fill(user.username);
  await page.getByLabel(l.password, { exact: true }).fill(user.password);
  await page.getByRole('button', { name: l.signIn }).click();
  await expect(page).not.toHaveURL(/\/login/);
}

/** No serious or critical axe-core violation on the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
  ).toEqual([]);
}

/** <screenshots>/<name>.<lang>.png; docs/ui/ holds the set the README shows. */
export async function screenshot(page: Page, name: string, lang: Lang): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Settled: no spinner, fonts in.
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.${lang}.png`) });
}

/** Sets Envoy runtime keys on the ingress admin (fault injection, canary). */
export async function ingressRuntime(keys: Record<string, string | number>): Promise<void> {
  const query = new URLSearchParams(Object.entries(keys).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`${ADMIN_URL}/runtime_modify?${query}`, { method: 'POST' });
  expect(res.ok, `ingress admin runtime_modify ${query}`).toBe(true);
}

const run = promisify(execFile);

/**
 * `scripts/mesh.sh regress <settings>` (`off` restores it): changes the
 * demo's checkout v2 while it runs, within a second; the demo then logs a
 * deployment record of checkout v2, as a deployment tool would.
 */
export async function regress(...settings: string[]): Promise<void> {
  await run(resolve(REPO, 'scripts/mesh.sh'), ['regress', ...settings], { cwd: REPO, timeout: 30_000 });
}

/** The Python OpenTelemetry SDK of scripts/infra.sh's venv. */
function python(): string {
  return resolve(process.env.AIRIS_CACHE ?? resolve(REPO, '.cache'), 'venv/bin/python');
}

/**
 * Runs support/<script> with the environment an exporter snippet gives
 * (lines of NAME=value); resolves with its exit code and output.
 */
export async function withExporterEnv(
  snippet: string,
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = { ...process.env } as Record<string, string>;
  for (const line of snippet.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  try {
    const { stdout, stderr } = await run(python(), [resolve(here, script), ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Nanoseconds since the epoch, as the API wants them. */
export function nanos(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}
