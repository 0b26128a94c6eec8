// Every page against the demo traffic: what it shows equals what the query
// service answers; each page in both languages is screenshotted for
// docs/ui/ and checked by axe-core.
import { equals } from '@bufbuild/protobuf';
import { expect, test, type Page } from '@playwright/test';
import { ServiceOverviewResponseSchema } from '../src/gen/airis/analytics/v1/query_pb';
import { setFormatLocale, formatCount, formatDurationNanos, formatPercent, formatRate, formatScore } from '../src/lib/format';
import { ADMIN, aiopsApi, api, expectAccessible, nanos, screenshot, signIn, preferLanguage, type Lang } from './support/platform';

/**
 * A settled window with the demo's traffic in it: whole minutes (the API
 * widens ranges to them), ending at least 20 s ago so late spans cannot
 * change the answers between the page and the test's own call. On a
 * platform just started, waits until such a window holds the demo's calls.
 */
async function settledWindow(minutes = 10): Promise<{ start: number; end: number }> {
  const client = await api();
  for (;;) {
    const end = Math.floor((Date.now() - 20_000) / 60_000) * 60_000;
    const start = end - minutes * 60_000;
    const map = await client.serviceMap({ timeRange: { startUnixNano: nanos(start), endUnixNano: nanos(end) } });
    const edges = new Set(map.edges.map((e) => `${e.caller}→${e.callee}`));
    if (edges.has('frontend→checkout') && edges.has('checkout→payment')) return { start, end };
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

// Waiting for a settled minute after the platform starts takes up to ~1.5 min.
test.setTimeout(240_000);

/** The page in the other language, for its screenshot and axe check. */
async function inKorean(page: Page, path: string, ready: (p: Page) => Promise<void>, name: string) {
  await preferLanguage(page, 'ko');
  await page.goto(path);
  await ready(page);
  await expectAccessible(page);
  await screenshot(page, name, 'ko');
}

async function shoot(page: Page, name: string, lang: Lang = 'en') {
  await expectAccessible(page);
  await screenshot(page, name, lang);
}

test("the services list shows the demo's services with the query service's numbers", async ({ page }) => {
  const client = await api();
  const { start, end } = await settledWindow();
  const path = `/services?from=${start}&to=${end}`;
  const overview = () =>
    client.serviceOverview({ timeRange: { startUnixNano: nanos(start), endUnixNano: nanos(end) }, entrySpansOnly: true });
  await signIn(page, ADMIN, 'en', '/services');
  // The answer must not change while the page loads (a late span in the
  // window would): asked before and after, the page between.
  let answer = await overview();
  for (let attempt = 0; ; attempt++) {
    await page.goto(path);
    await expect(page.getByTestId('service-row').first()).toBeVisible();
    await expect(page.getByTestId('service-row')).toHaveCount(answer.series.length);
    const after = await overview();
    if (equals(ServiceOverviewResponseSchema, after, answer) || attempt === 2) break;
    answer = after;
  }
  const names = answer.series.map((s) => s.serviceName);
  for (const demo of ['frontend', 'checkout', 'payment']) expect(names).toContain(demo);
  await expect(page.getByTestId('service-row')).toHaveCount(answer.series.length);
  setFormatLocale('en');
  for (const s of answer.series) {
    const row = page.getByTestId('service-row').filter({ has: page.getByRole('link', { name: s.serviceName, exact: true }) });
    await expect(row.locator('td')).toHaveText([
      s.serviceName,
      formatRate(s.requestRate),
      formatPercent(s.errorRate),
      formatDurationNanos(s.latency?.p95Nano ?? 0n),
      formatDurationNanos(s.latency?.p99Nano ?? 0n),
      formatCount(s.requestCount),
      /.*/,
      /.*/,
    ]);
  }
  // The canary: checkout's two versions side by side.
  const checkout = page.getByTestId('service-row').filter({ has: page.getByRole('link', { name: 'checkout', exact: true }) });
  await expect(checkout.getByRole('link', { name: /^v1 · / })).toBeVisible();
  await expect(checkout.getByRole('link', { name: /^v2 · / })).toBeVisible();
  await shoot(page, 'services');
  await inKorean(page, path, (p) => expect(p.getByTestId('service-row').first()).toBeVisible(), 'services');
});

test("a service's page: its operations' charts, neighbours and logs", async ({ page }) => {
  const { start, end } = await settledWindow();
  const path = `/services/checkout?from=${start}&to=${end}`;
  await signIn(page, ADMIN, 'en', path);
  await expect(page.getByRole('heading', { level: 1, name: 'checkout' })).toBeVisible();
  await expect(page.getByRole('figure', { name: 'Requests per second by operation' })).toBeVisible();
  // Its neighbours on the map: called by frontend, calling payment.
  const neighbours = page.locator('section.panel').filter({ has: page.getByRole('heading', { name: 'Neighbours', exact: true }) });
  await expect(neighbours.getByRole('link', { name: 'frontend', exact: true })).toBeVisible();
  await expect(neighbours.getByRole('link', { name: 'payment', exact: true })).toBeVisible();
  await expect(page.getByTestId('log-row').first()).toBeVisible();
  await shoot(page, 'service');
  await inKorean(page, path, (p) => expect(p.getByRole('heading', { level: 1, name: 'checkout' })).toBeVisible(), 'service');
});

test('an unknown address says so, in the shell', async ({ page }) => {
  await signIn(page, ADMIN, 'en', '/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main navigation' })).toBeVisible();
  await expectAccessible(page);
});

test("the service map shows the demo's edges; an edge leads to its traces", async ({ page }) => {
  const client = await api();
  const { start, end } = await settledWindow();
  const path = `/map?from=${start}&to=${end}`;
  await signIn(page, ADMIN, 'en', path);
  const answer = await client.serviceMap({ timeRange: { startUnixNano: nanos(start), endUnixNano: nanos(end) } });
  const edges = answer.edges.map((e) => `${e.caller}→${e.callee}`);
  for (const demo of ['frontend→checkout', 'checkout→payment']) expect(edges).toContain(demo);
  // Every edge of the answer is drawn, with its numbers in the table.
  await expect(page.getByRole('table').getByRole('row').nth(1)).toBeVisible();
  // The table's rows: caller, callee, requests, ...
  const cells = await page
    .getByRole('table')
    .getByRole('row')
    .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
  setFormatLocale('en');
  for (const e of answer.edges) {
    await expect(page.getByLabel(`Calls from ${e.caller} to ${e.callee}`, { exact: true })).toBeAttached();
    const row = cells.find((c) => c[0] === e.caller && c[1] === e.callee);
    expect(row?.[2], `${e.caller} → ${e.callee}`).toBe(formatCount(e.requestCount));
  }
  expect(cells.filter((c) => c.length > 0)).toHaveLength(answer.edges.length);
  await shoot(page, 'map');
  await page.getByLabel('Calls from frontend to checkout', { exact: true }).click();
  await expect(page).toHaveURL(/edge=/);
  await page.getByRole('link', { name: 'Traces of this call' }).click();
  await expect(page).toHaveURL(/\/traces\?.*service=checkout/);
  await expect(page).toHaveURL(/caller=frontend/);
  await expect(page.getByLabel('Called from')).toHaveValue('frontend');
  await expect(page.getByTestId('trace-row').first()).toBeVisible();
  await inKorean(page, path, (p) => expect(p.getByLabel('Calls from frontend to checkout').or(p.locator('.react-flow__edge').first())).toBeAttached(), 'map');
});

test('a trace search opens a waterfall spanning at least three services', async ({ page }) => {
  const { start, end } = await settledWindow();
  const path = `/traces?from=${start}&to=${end}&service=frontend`;
  await signIn(page, ADMIN, 'en', path);
  const rows = page.getByTestId('trace-row');
  await expect(rows.first()).toBeVisible();
  await shoot(page, 'traces');
  // The first trace through checkout and payment: frontend, checkout, payment at least.
  const deep = rows.filter({ hasText: 'payment' }).first();
  await deep.getByRole('link').first().click();
  await expect(page).toHaveURL(/\/traces\/[0-9a-f]{32}/);
  const waterfall = page.getByTestId('waterfall-row');
  await expect(waterfall.first()).toBeVisible();
  const services = await page.getByLabel('Services', { exact: true }).locator('.badge').allTextContents();
  expect(new Set(services.map((s) => s.trim())).size).toBeGreaterThanOrEqual(3);
  // The critical path is highlighted, and a span opens its details.
  await expect(page.locator('.wf-row.critical').first()).toBeVisible();
  await waterfall.nth(1).getByRole('button').last().click();
  await expect(page).toHaveURL(/span=/);
  await expect(page.getByRole('heading', { name: 'Attributes', exact: true })).toBeVisible();
  await shoot(page, 'trace');
  const traceUrl = page.url().replace(/^https?:\/\/[^/]+/, '');
  await inKorean(page, traceUrl, (p) => expect(p.getByTestId('waterfall-row').first()).toBeVisible(), 'trace');
});

test('a Korean log search highlights exactly the characters searched for', async ({ page }) => {
  const path = '/logs?q=%EA%B2%B0%EC%A0%9C&from=now-15m&to=now';
  await signIn(page, ADMIN, 'en', path);
  const rows = page.getByTestId('log-row');
  await expect(rows.first()).toBeVisible();
  const marks = page.getByTestId('log-highlight');
  await expect(marks.first()).toBeVisible();
  const texts = await marks.allTextContents();
  expect(texts.length).toBeGreaterThan(0);
  for (const t of texts) expect(t).toBe('결제');
  // Every row shown has its match highlighted.
  const count = await rows.count();
  for (let i = 0; i < count; i++) await expect(rows.nth(i).getByTestId('log-highlight').first()).toHaveText('결제');
  await shoot(page, 'logs');
  await inKorean(page, path, (p) => expect(p.getByTestId('log-highlight').first()).toBeVisible(), 'logs');
});

test('a metric chart draws from the picker, with a legend, anomalies and a forecast', async ({ page }) => {
  await signIn(page, ADMIN, 'en', '/metrics?from=now-15m&to=now');
  await page.getByLabel('Search metrics').fill('request.count');
  await page.getByRole('button', { name: /http\.server\.request\.count/ }).click();
  await expect(page).toHaveURL(/metric=http\.server\.request\.count/);
  const chart = page.getByRole('figure', { name: /http\.server\.request\.count/ });
  await expect(chart.locator('canvas')).toBeVisible();
  // Something was drawn: the plot's canvas is not blank.
  await expect
    .poll(async () =>
      chart.locator('canvas').first().evaluate((c: HTMLCanvasElement) => {
        const ctx = c.getContext('2d');
        if (!ctx) return 0;
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
        return painted;
      }),
    )
    .toBeGreaterThan(100);
  await expect(chart.locator('.u-legend, .chart-legend').first()).toBeVisible();
  // Anomalies and forecast: the chart draws again with what the aiops
  // service found, and the summary says it per series, whether or not the
  // demo's traffic holds an anomaly or is long enough to forecast yet.
  await page.evaluate(() => {
    const w = window as Window & { chartDraws?: number };
    w.chartDraws = 0;
    window.addEventListener('airis:chart-drawn', () => (w.chartDraws = (w.chartDraws ?? 0) + 1));
  });
  // The box follows the URL (`ai=1`), which the click updates: click, then
  // wait for the state rather than expect it at once.
  const toggle = page.getByRole('checkbox', { name: 'Anomalies and forecast' });
  await toggle.click();
  await expect(toggle).toBeChecked();
  await expect(page).toHaveURL(/[?&]ai=1/);
  const summary = page.getByRole('region', { name: 'Anomalies and forecast' });
  await expect(summary.getByText(/anomalous point/).first()).toBeVisible();
  await expect(summary.getByText(/^(Forecast for the next |Not enough points to forecast)/).first()).toBeVisible();
  await expect.poll(() => page.evaluate(() => (window as Window & { chartDraws?: number }).chartDraws ?? 0)).toBeGreaterThan(0);
  await shoot(page, 'metrics');
  await inKorean(page, page.url().replace(/^https?:\/\/[^/]+/, ''), (p) => expect(p.getByRole('figure').first()).toBeVisible(), 'metrics');
});

test('the anomalies page lists what continuous detection stored, or says why there is nothing', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const client = await aiopsApi();
  // A settled hour: the page and the test's own call see the same anomalies
  // (an absolute range: no live updates).
  const end = Math.floor((Date.now() - 90_000) / 60_000) * 60_000;
  const start = end - 60 * 60_000;
  const path = `/anomalies?from=${start}&to=${end}`;
  await signIn(page, ADMIN, 'en', path);
  await expect(page.getByRole('heading', { level: 1, name: 'Anomalies' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Anomalies' })).toBeVisible();
  // The filters.
  await expect(page.getByLabel('Service', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Operation', { exact: true })).toBeVisible();
  const signals = page.getByRole('group', { name: 'Signals' });
  for (const s of ['Rate', 'Error rate', 'p50 latency', 'p95 latency', 'p99 latency']) {
    await expect(signals.getByRole('checkbox', { name: s, exact: true })).toBeVisible();
  }
  await expect(page.getByLabel('Minimum score')).toBeVisible();
  // Live updates need a range that ends now.
  await expect(page.getByRole('checkbox', { name: 'Live' })).toBeDisabled();
  // The table, as ListAnomalies answers, or the empty state that explains.
  const answer = await client.listAnomalies({
    timeRange: { startUnixNano: nanos(start), endUnixNano: nanos(end) },
    page: { pageSize: 100 },
  });
  const rows = page.getByTestId('anomaly-row');
  if (answer.anomalies.length === 0) {
    await expect(page.getByText('Nothing unusual found in this time range')).toBeVisible();
    await expect(page.getByText(/watches the per-minute request rate, error rate and p50\/p95\/p99 latency/)).toBeVisible();
  } else {
    await expect(rows).toHaveCount(answer.anomalies.length);
    setFormatLocale('en');
    const first = answer.anomalies[0]!;
    const service = first.serviceName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expect(rows.first().getByRole('link', { name: new RegExp(`^${service}, 15 minutes either side of`) })).toBeVisible();
    await expect(rows.first().locator('td').nth(7)).toHaveText(formatScore(first.score));
    await expect(page.getByRole('figure', { name: /^Anomalies over time, one lane per series/ })).toBeVisible();
  }
  await expect(page.getByRole('alert')).toHaveCount(0);
  await shoot(page, 'anomalies');
  await inKorean(
    page,
    path,
    async (p) => {
      await expect(p.getByRole('heading', { level: 1, name: '이상 징후' })).toBeVisible();
      await expect(p.getByRole('group', { name: '신호' })).toBeVisible();
      await expect(p.getByTestId('anomaly-row').first().or(p.getByText('이 시간 범위에서 특이한 점을 찾지 못했습니다'))).toBeVisible();
      await expect(p.getByRole('alert')).toHaveCount(0);
    },
    'anomalies',
  );

  // A range that ends now: live updates on, and off at a click (in the URL).
  await preferLanguage(page, 'en');
  await page.goto('/anomalies?from=now-15m&to=now');
  const live = page.getByRole('checkbox', { name: 'Live' });
  await expect(live).toBeChecked();
  await expect(page.getByText(/^(Watching for new anomalies\.|\d+ new anomal)/)).toBeVisible();
  await live.click();
  await expect(page).toHaveURL(/[?&]live=off/);
  await expect(live).not.toBeChecked();

  // From a service's page, its anomalies.
  await page.goto('/services/checkout?from=now-15m&to=now');
  await page.getByRole('link', { name: 'Anomalies of this service' }).click();
  await expect(page).toHaveURL(/\/anomalies\?.*service=checkout/);
  await expect(page.getByLabel('Service', { exact: true })).toHaveValue('checkout');
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(failures).toEqual([]);
});

test('a deep link reproduces the view', async ({ page, browser }) => {
  const { start, end } = await settledWindow();
  await signIn(page, ADMIN, 'en', `/traces?from=${start}&to=${end}&service=checkout&status=error`);
  const rows = page.getByTestId('trace-row');
  await expect(rows.first()).toBeVisible();
  const ids = await rows.locator('.mono').allTextContents();
  const link = page.url();
  // Pasted into another browser: sign in, and the same list.
  const other = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  await preferLanguage(other, 'en');
  await other.goto(link);
  await other.getByLabel('Tenant').fill('demo');
  await other.getByLabel('User name').fill(ADMIN.username);
  await other.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other).toHaveURL(link);
  await expect(other.getByTestId('trace-row').first()).toBeVisible();
  expect(await other.getByTestId('trace-row').locator('.mono').allTextContents()).toEqual(ids);
  await expect(other.getByLabel('Service', { exact: true })).toHaveValue('checkout');
  await other.close();
});
