// Every page against the demo traffic: what it shows equals what the query
// service answers; each page in both languages is screenshotted for
// docs/ui/ and checked by axe-core.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create, equals } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { expect, test, type Page } from '@playwright/test';
import {
  AbsenceConditionSchema,
  AlertRuleSchema,
  AlertState,
  Comparison,
  MatchOperator,
  RuleSeriesSchema,
  SilenceState,
  ThresholdConditionSchema,
  type AlertRule,
} from '../src/gen/airis/aiops/v1/alert_pb';
import { RedSeriesSelectorSchema, Signal } from '../src/gen/airis/aiops/v1/anomaly_pb';
import { ServiceOverviewResponseSchema } from '../src/gen/airis/analytics/v1/query_pb';
import { setFormatLocale, formatCount, formatDurationNanos, formatPercent, formatRate, formatScore, formatShortDateTime } from '../src/lib/format';
import { nanosToMs } from '../src/lib/time';
import { formatSilenceTime } from '../src/pages/alerts/silences';
import { metricSeriesText } from '../src/pages/anomalies/anomalies';
import { ADMIN, VIEWER, aiopsApi, alertApi, api, expectAccessible, nanos, screenshot, signIn, preferLanguage, type Lang } from './support/platform';

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
  for (const s of ['Rate', 'Error rate', 'p50 latency', 'p95 latency', 'p99 latency', 'Metric']) {
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
    // A service's series links its page; a metric series (one cell for service and operation) the Metrics page.
    const series = (first.metric ? metricSeriesText(first.metric) : first.serviceName).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const around = first.metric ? `^${series} on the Metrics page, 15 minutes either side of` : `^${series}, 15 minutes either side of`;
    await expect(rows.first().getByRole('link', { name: new RegExp(around) })).toBeVisible();
    await expect(rows.first().locator('td').nth(first.metric ? 6 : 7)).toHaveText(formatScore(first.score));
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

test('an alert rule is created with a preview of what it would have fired, listed, opened again and deleted', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const client = await alertApi();
  // A settled half hour with the demo's traffic: the preview and the test's
  // own TestRule judge the same minutes on the same data.
  await settledWindow();
  const end = Math.floor((Date.now() - 90_000) / 60_000) * 60_000;
  const start = end - 30 * 60_000;
  const range = `from=${start}&to=${end}`;
  const name = `ui e2e checkout traffic ${Date.now()}`;
  const rows = page.getByTestId('rule-row');
  const row = rows.filter({ has: page.getByRole('link', { name, exact: true }) });
  // What the editor sends for the rule below (its labels and annotations do
  // not change what it judges).
  const expected = create(AlertRuleSchema, {
    name,
    forMinutes: 1,
    condition: {
      case: 'threshold',
      value: create(ThresholdConditionSchema, {
        series: create(RuleSeriesSchema, {
          series: { case: 'red', value: create(RedSeriesSelectorSchema, { serviceName: 'checkout', signal: Signal.REQUEST_RATE }) },
        }),
        comparison: Comparison.ABOVE,
        threshold: 0.1,
      }),
    },
  });

  try {
    await signIn(page, ADMIN, 'en', `/alerts/rules?${range}`);
    await expect(page.getByRole('heading', { level: 1, name: 'Alert rules' })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Alert rules' })).toBeVisible();
    await expect(rows.first().or(page.getByText('No alert rules yet'))).toBeVisible();

    // A new threshold rule: checkout's request rate above 0.1/s for a minute.
    await page.getByRole('link', { name: 'New rule', exact: true }).first().click();
    await expect(page).toHaveURL(/\/alerts\/rules\/new\?/);
    await expect(page).toHaveURL(new RegExp(`from=${start}&to=${end}`));
    await expect(page.getByRole('heading', { level: 1, name: 'New alert rule' })).toBeVisible();
    const preview = page.getByRole('region', { name: 'What would this have fired?' });
    // Nothing to judge before the service is chosen: the preview says why.
    await expect(preview.getByText('The rule is not complete yet')).toBeVisible();
    await page.getByLabel('Name', { exact: true }).fill(name);
    await expect(page.getByRole('radio', { name: 'Threshold', exact: true })).toBeChecked();
    await expect(page.getByRole('radio', { name: 'Service (RED)' })).toBeChecked();
    await page.getByLabel('Service', { exact: true }).selectOption('checkout');
    await page.getByLabel('Signal', { exact: true }).selectOption('rate');
    await page.getByLabel('When the value is', { exact: true }).selectOption('above');
    await page.getByLabel('Threshold (/s)', { exact: true }).fill('0.1');
    await page.getByLabel('Pending for (min)', { exact: true }).fill('1');
    await page.getByLabel('Korean', { exact: true }).fill('{{ $labels.service_name }} 처리율 {{ $value }}');

    // The preview, as TestRule answers for the same rule and window.
    const answer = await client.testRule({
      rule: expected,
      timeRange: { startUnixNano: nanos(start), endUnixNano: nanos(end) },
      locale: 'en',
    });
    const count = (state: AlertState) => answer.evaluations.filter((e) => e.state === state).length;
    setFormatLocale('en');
    const counts =
      `${formatCount(answer.evaluations.length)} minutes judged: ${formatCount(answer.evaluations.filter((e) => e.breached).length)} broke the condition, ` +
      `${formatCount(count(AlertState.PENDING))} pending, ${formatCount(count(AlertState.FIRING))} firing.`;
    const fired = answer.alerts.filter((a) => a.firedUnixNano !== 0n).length;
    // TestRule reads 30 minutes of stored data: more than expect's default 5 s may pass.
    const judging = { timeout: 20_000 };
    const expectPreview = async () => {
      await expect(preview.getByTestId('preview-running')).toHaveText('', judging);
      if (answer.evaluations.length === 0) {
        await expect(preview.getByText('No whole minute to judge')).toBeVisible(judging);
        return;
      }
      await expect(preview.getByTestId('preview-counts')).toHaveText(counts, judging);
      await expect(preview.getByTestId('preview-verdict')).toContainText(
        fired > 0 ? `Would have fired ${formatCount(fired)} alert` : 'Would not have fired in this time range.',
      );
      await expect(preview.getByTestId('episode-row')).toHaveCount(answer.alerts.length);
      await expect(preview.getByRole('figure', { name: /^The value the rule judged each minute/ })).toBeVisible();
    };
    await expectPreview();
    // Run again on demand: one more TestRule, the same answer.
    const asked = page.waitForResponse((r) => r.url().includes('/airis.aiops.v1.AlertService/TestRule'));
    await preview.getByRole('button', { name: 'Run preview' }).click();
    expect((await asked).ok()).toBe(true);
    await expectPreview();

    // Saved: back on the list, which shows it.
    await page.getByRole('button', { name: 'Create rule' }).click();
    await expect(page).toHaveURL(/\/alerts\/rules\?/);
    await expect(page.getByText(`Rule "${name}" saved.`)).toBeVisible();
    await expect(row).toHaveCount(1);
    setFormatLocale('en');
    await expect(row.locator('td')).toHaveText([
      name,
      'Threshold',
      'checkout · whole service · Rate',
      `Rate > ${formatRate(0.1)} for 1 min`,
      'severity=warning',
      'Active',
      /Edit.*Delete/,
    ]);
    // "Silence" opens a new silence of the rule's alerts.
    const silenceLink = new URL((await row.getByRole('link', { name: `Silence the alerts of rule ${name}` }).getAttribute('href'))!, 'http://ui');
    expect([silenceLink.pathname, silenceLink.searchParams.getAll('matcher')]).toEqual(['/alerts/silences/new', [`alertname="${name}"`]]);
    const stored = (await client.listRules({ page: { pageSize: 1000 } })).rules.find((r) => r.name === name);
    expect(stored?.version).toBe(1n);
    expect(stored?.condition).toMatchObject({
      case: 'threshold',
      value: {
        comparison: Comparison.ABOVE,
        threshold: 0.1,
        series: { series: { case: 'red', value: { serviceName: 'checkout', operation: '', signal: Signal.REQUEST_RATE } } },
      },
    });
    expect(stored?.forMinutes).toBe(1);
    expect(stored?.labels).toEqual({ severity: 'warning' });
    expect(stored?.annotations.map((a) => [a.name, a.en, a.ko])).toEqual([
      ['summary', '{{ $labels.alertname }}: {{ $value }}', '{{ $labels.service_name }} 처리율 {{ $value }}'],
    ]);
    await shoot(page, 'alert-rules');
    const listPath = `/alerts/rules?${range}`;
    await inKorean(
      page,
      listPath,
      async (p) => {
        await expect(p.getByRole('heading', { level: 1, name: '알림 규칙' })).toBeVisible();
        await expect(row).toContainText('임계값');
      },
      'alert-rules',
    );
    const editorPath = `/alerts/rules/${encodeURIComponent(stored!.id)}?${range}`;
    await inKorean(
      page,
      editorPath,
      async (p) => {
        await expect(p.getByRole('heading', { level: 1, name: `알림 규칙: ${name}` })).toBeVisible();
        const judged = p.getByRole('region', { name: '발생했을 알림 미리 보기' });
        await expect(judged.getByTestId('preview-running')).toHaveText('', { timeout: 20_000 });
        await expect(judged.getByTestId('preview-verdict').or(judged.getByText('판정할 온전한 1분이 없습니다'))).toBeVisible();
        await judged.scrollIntoViewIfNeeded();
      },
      'alert-rule',
    );

    // Opened again from the list: the form holds what was saved.
    await preferLanguage(page, 'en');
    await page.goto(listPath);
    await row.getByRole('link', { name, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: `Alert rule: ${name}` })).toBeVisible();
    expect(new URL(page.url()).pathname).toBe(`/alerts/rules/${encodeURIComponent(stored!.id)}`);
    await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
    await expect(page.getByLabel('Service', { exact: true })).toHaveValue('checkout');
    await expect(page.getByLabel('Signal', { exact: true })).toHaveValue('rate');
    await expect(page.getByLabel('Threshold (/s)', { exact: true })).toHaveValue('0.1');
    await expect(page.getByLabel('Pending for (min)', { exact: true })).toHaveValue('1');
    await expect(page.getByLabel('Korean', { exact: true })).toHaveValue('{{ $labels.service_name }} 처리율 {{ $value }}');
    await expectPreview();
    await preview.scrollIntoViewIfNeeded();
    await shoot(page, 'alert-rule');

    // Deleted, after the question.
    await page.getByRole('link', { name: 'All alert rules' }).click();
    await row.getByRole('button', { name: `Delete rule ${name}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this rule?' });
    await expect(dialog).toContainText(`The rule "${name}" is deleted for everyone in the tenant.`);
    await expectAccessible(page);
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(dialog).toHaveCount(0);
    await expect(page.getByText(`Rule "${name}" deleted.`)).toBeVisible();
    await expect(row).toHaveCount(0);
    const gone = await client.getRule({ id: stored!.id }).then(
      () => null,
      (e: unknown) => ConnectError.from(e).code,
    );
    expect(gone).toBe(Code.NotFound);
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(failures).toEqual([]);
  } finally {
    // A run that failed half-way leaves no rule behind.
    const left = (await client.listRules({ page: { pageSize: 1000 } })).rules.filter((r) => r.name === name);
    for (const r of left) await client.deleteRule({ id: r.id });
  }
});

test('a viewer reads and previews alert rules, and is told which role changes them', async ({ page }) => {
  await signIn(page, VIEWER, 'en', '/alerts/rules');
  await expect(page.getByRole('heading', { level: 1, name: 'Alert rules' })).toBeVisible();
  await expect(page.getByText('Creating, changing and deleting rules needs the editor role; you are signed in as viewer.')).toBeVisible();
  await expect(page.getByRole('button', { name: /^Delete rule / })).toHaveCount(0);
  await page.getByRole('link', { name: 'New rule', exact: true }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'New alert rule' })).toBeVisible();
  await expect(page.getByRole('note')).toContainText('This needs the editor role.');
  await expect(page.getByRole('button', { name: 'Create rule' })).toBeDisabled();
  // The preview of an anomaly rule on a metric series (the demo's): TestRule
  // judges it; nothing watches the series, so nothing would have fired.
  await page.getByRole('radio', { name: 'Anomaly', exact: true }).check();
  await page.getByRole('radio', { name: 'Metric', exact: true }).check();
  const preview = page.getByRole('region', { name: 'What would this have fired?' });
  await expect(preview.getByText('The rule is not complete yet')).toBeVisible();
  const asked = page.waitForResponse((r) => r.url().includes('/airis.aiops.v1.AlertService/TestRule'));
  await page.getByRole('combobox', { name: 'Metric', exact: true }).fill('http.server.request.count');
  expect((await asked).ok()).toBe(true);
  await expect(preview.getByTestId('preview-running')).toHaveText('', { timeout: 20_000 });
  await expect(preview.getByTestId('preview-verdict').or(preview.getByText('No whole minute to judge'))).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expectAccessible(page);
});

/** The silences whose alertname matcher is `name`, in any state. */
async function silencesNamed(client: Awaited<ReturnType<typeof alertApi>>, name: string) {
  const all = await client.listSilences({ page: { pageSize: 1000 } });
  return all.silences.filter((s) => s.matchers.some((m) => m.name === 'alertname' && m.value === name));
}

test('a silence is created from a link, listed as active, extended in place, replaced by a change of matcher and expired', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const client = await alertApi();
  const name = `e2e-silence-${Date.now()}`;
  const comment = 'ui e2e: 결제 점검 / payment maintenance';
  const rows = page.getByTestId('silence-row');
  const rowOf = (id: string) => page.locator(`[data-testid="silence-row"][data-id="${id}"]`);
  const idInUrl = () => decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  const HOUR_NS = 3_600_000_000_000n;

  try {
    // A new silence as a "silence this" link opens it: alertname prefilled.
    await signIn(page, ADMIN, 'en', `/alerts/silences/new?matcher=${encodeURIComponent(`alertname="${name}"`)}`);
    await expect(page.getByRole('heading', { level: 1, name: 'New silence' })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Silences' })).toBeVisible();
    await expect(page.getByLabel('Matcher 1 label', { exact: true })).toHaveValue('alertname');
    await expect(page.getByLabel('Matcher 1 operator', { exact: true })).toHaveValue('=');
    await expect(page.getByLabel('Matcher 1 value', { exact: true })).toHaveValue(name);
    await expect(page.getByLabel('Start', { exact: true })).toHaveValue('now');
    await expect(page.getByLabel('Duration', { exact: true })).toHaveValue('2h');
    await expect(page.getByLabel('Created by', { exact: true })).toHaveValue(ADMIN.username);
    await page.getByRole('button', { name: /Add matcher/ }).click();
    await page.getByLabel('Matcher 2 label', { exact: true }).fill('service_name');
    await page.getByLabel('Matcher 2 operator', { exact: true }).selectOption('=~');
    await page.getByLabel('Matcher 2 value', { exact: true }).fill('check.*');
    // Required fields are named when missing.
    await page.getByRole('button', { name: 'Create silence' }).click();
    await expect(page.getByText('Comment: required (why).')).toBeVisible();
    await expect(page.getByLabel('Comment', { exact: true })).toBeFocused();
    await page.getByLabel('Comment', { exact: true }).fill(comment);
    await page.getByRole('button', { name: 'Create silence' }).click();

    // Created: its own page, which says so.
    await expect(page).toHaveURL(/\/alerts\/silences\/(?!new\b)[^/?]+/);
    await expect(page.getByText('Silence created.')).toBeVisible();
    const firstId = idInUrl();
    const created = (await client.getSilence({ id: firstId })).silence!;
    expect(created.version).toBe(1n);
    expect(created.state).toBe(SilenceState.ACTIVE);
    expect(created.matchers.map((m) => [m.name, m.operator, m.value])).toEqual([
      ['alertname', MatchOperator.EQUAL, name],
      ['service_name', MatchOperator.REGEX, 'check.*'],
    ]);
    expect([created.createdBy, created.comment]).toEqual([ADMIN.username, comment]);
    const twoHours = Number(created.endTimeUnixNano - created.startTimeUnixNano) / 3.6e12;
    expect(twoHours).toBeGreaterThan(1.99);
    expect(twoHours).toBeLessThanOrEqual(2);

    // Listed as active, with its matchers, times, author and comment.
    await page.getByRole('link', { name: 'All silences' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Silences' })).toBeVisible();
    await expect(page.getByRole('radio', { name: 'Active and pending', exact: true })).toBeChecked();
    const first = rowOf(firstId);
    await expect(first).toHaveCount(1);
    setFormatLocale('en');
    const cells = first.locator('td');
    await expect(cells.nth(0)).toContainText(`alertname="${name}"`);
    await expect(cells.nth(0)).toContainText('service_name=~"check.*"');
    await expect(cells.nth(1)).toContainText('Active');
    await expect(cells.nth(1)).toContainText(/ends in (1 h 5\d min|2 h)/);
    await expect(cells.nth(2)).toContainText(formatSilenceTime(nanosToMs(created.startTimeUnixNano)));
    await expect(cells.nth(3)).toHaveText(formatSilenceTime(nanosToMs(created.endTimeUnixNano)));
    await expect(cells.nth(4)).toHaveText(ADMIN.username);
    await expect(cells.nth(5)).toHaveText(comment);
    await shoot(page, 'silences');
    await inKorean(
      page,
      '/alerts/silences',
      async (p) => {
        await expect(p.getByRole('heading', { level: 1, name: '사일런스' })).toBeVisible();
        await expect(rowOf(firstId)).toContainText('활성');
      },
      'silences',
    );

    // Opened and extended: 4 hours from its start, the same silence, version 2.
    await preferLanguage(page, 'en');
    await page.goto('/alerts/silences');
    const matchersOf = (value: string) => `alertname="${name}", service_name=~"${value}"`;
    await first.getByRole('link', { name: `Edit silence ${matchersOf('check.*')}` }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Silence' })).toBeVisible();
    expect(idInUrl()).toBe(firstId);
    await expect(page.getByLabel('Matcher 2 value', { exact: true })).toHaveValue('check.*');
    await page.getByRole('group', { name: 'Duration:' }).getByRole('button', { name: '4h', exact: true }).click();
    await expect(page.getByLabel('Duration', { exact: true })).toHaveValue('4h');
    await expect(page.getByText(/saving expires it now/)).toHaveCount(0);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByText('Silence saved (version 2).')).toBeVisible();
    expect(idInUrl()).toBe(firstId);
    const extended = (await client.getSilence({ id: firstId })).silence!;
    expect(extended.version).toBe(2n);
    expect(extended.startTimeUnixNano).toBe(created.startTimeUnixNano);
    // The start is sent back as read; the end is whole milliseconds after it.
    expect(Number(extended.endTimeUnixNano - extended.startTimeUnixNano - 4n * HOUR_NS) / 1e6).toBeLessThan(1);
    expect(Number(extended.endTimeUnixNano - extended.startTimeUnixNano - 4n * HOUR_NS) / 1e6).toBeGreaterThan(-1);
    await expect(page.getByText(`ID ${firstId} · version 2`)).toBeVisible();
    await shoot(page, 'silence');
    const firstPath = `/alerts/silences/${encodeURIComponent(firstId)}`;
    await inKorean(
      page,
      firstPath,
      async (p) => {
        await expect(p.getByRole('heading', { level: 1, name: '사일런스' })).toBeVisible();
        await expect(p.getByLabel('매처 2 값', { exact: true })).toHaveValue('check.*');
      },
      'silence',
    );

    // A matcher changed on a silence that has started: it expires, and a new one takes its place.
    await preferLanguage(page, 'en');
    await page.goto(firstPath);
    await expect(page.getByLabel('Matcher 2 value', { exact: true })).toHaveValue('check.*');
    await page.getByLabel('Matcher 2 value', { exact: true }).fill('checkout.*');
    await expect(page.getByRole('note')).toContainText('saving expires it now and creates a new silence with a new ID');
    await page.getByRole('button', { name: 'Save as a new silence' }).click();
    await expect(page.getByText(`Saved as a new silence; the previous one (${firstId}) has expired.`)).toBeVisible();
    const secondId = idInUrl();
    expect(secondId).not.toBe(firstId);
    await expect(page.getByLabel('Matcher 2 value', { exact: true })).toHaveValue('checkout.*');

    // The old one, under the Expired filter (in the URL).
    await page.getByRole('link', { name: 'All silences' }).click();
    // A click, not check(): the radio follows the URL, which a router transition
    // updates a moment after the click, and check() looks at once.
    await page.getByRole('radio', { name: 'Expired', exact: true }).click();
    await expect(page.getByRole('radio', { name: 'Expired', exact: true })).toBeChecked();
    await expect(page).toHaveURL(/[?&]state=expired\b/);
    await expect(rowOf(firstId)).toHaveCount(1);
    await expect(rowOf(firstId).locator('td').nth(1)).toContainText('Expired');
    await expect(rowOf(firstId).getByRole('link', { name: `Recreate silence ${matchersOf('check.*')}` })).toBeVisible();
    await expect(rowOf(secondId)).toHaveCount(0);

    // The new one is active; expired after the question.
    await page.getByRole('radio', { name: 'Active and pending', exact: true }).click();
    await expect(page.getByRole('radio', { name: 'Active and pending', exact: true })).toBeChecked();
    await expect(page).not.toHaveURL(/state=/);
    await expect(rowOf(firstId)).toHaveCount(0);
    const second = rowOf(secondId);
    await expect(second.locator('td').nth(1)).toContainText('Active');
    await second.getByRole('button', { name: `Expire silence ${matchersOf('checkout.*')}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Expire this silence?' });
    await expect(dialog).toContainText(`The silence ${matchersOf('checkout.*')} ends now`);
    await expectAccessible(page);
    await dialog.getByRole('button', { name: 'Expire', exact: true }).click();
    await expect(dialog).toHaveCount(0);
    await expect(page.getByText(`Silence ${matchersOf('checkout.*')} expired.`)).toBeVisible();
    await expect(second).toHaveCount(0);
    await expect(rows.filter({ hasText: name })).toHaveCount(0);

    // What the alert service holds: both expired, the old one ended by the replacement.
    const [old, replacement] = await Promise.all([client.getSilence({ id: firstId }), client.getSilence({ id: secondId })]);
    expect(old.silence?.state).toBe(SilenceState.EXPIRED);
    expect(old.silence?.version).toBe(3n);
    expect(old.silence?.matchers.map((m) => m.value)).toEqual([name, 'check.*']);
    expect(replacement.silence?.state).toBe(SilenceState.EXPIRED);
    expect(replacement.silence?.version).toBe(2n);
    expect(replacement.silence?.matchers.map((m) => [m.name, m.operator, m.value])).toEqual([
      ['alertname', MatchOperator.EQUAL, name],
      ['service_name', MatchOperator.REGEX, 'checkout.*'],
    ]);
    expect([replacement.silence?.createdBy, replacement.silence?.comment]).toEqual([ADMIN.username, comment]);
    const current = await client.listSilences({ states: [SilenceState.ACTIVE, SilenceState.PENDING], page: { pageSize: 1000 } });
    expect(current.silences.filter((s) => s.id === firstId || s.id === secondId)).toEqual([]);
    const expired = await client.listSilences({ states: [SilenceState.EXPIRED], page: { pageSize: 1000 } });
    expect(expired.silences.filter((s) => s.id === firstId || s.id === secondId).map((s) => s.id).sort()).toEqual([firstId, secondId].sort());
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(failures).toEqual([]);
  } finally {
    // A run that failed half-way leaves nothing muted.
    for (const s of await silencesNamed(client, name)) if (s.state !== SilenceState.EXPIRED) await client.expireSilence({ id: s.id });
  }
});

test('a viewer reads silences, and is told which role changes them', async ({ page }) => {
  const client = await alertApi();
  const name = `e2e-silence-viewer-${Date.now()}`;
  const { silence } = await client.createSilence({
    silence: {
      matchers: [{ name: 'alertname', operator: MatchOperator.EQUAL, value: name }],
      endTimeUnixNano: nanos(Date.now() + 3_600_000),
      createdBy: 'ui e2e',
      comment: 'viewer check',
    },
  });
  try {
    await signIn(page, VIEWER, 'en', '/alerts/silences');
    await expect(page.getByRole('heading', { level: 1, name: 'Silences' })).toBeVisible();
    await expect(page.getByText('Creating, changing and expiring silences needs the editor role; you are signed in as viewer.')).toBeVisible();
    await expect(page.getByRole('button', { name: /^Expire silence / })).toHaveCount(0);
    const row = page.locator(`[data-testid="silence-row"][data-id="${silence!.id}"]`);
    await expect(row.locator('td').nth(1)).toContainText('Active');
    await row.getByRole('link', { name: `Open silence alertname="${name}"` }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Silence' })).toBeVisible();
    await expect(page.getByRole('note')).toContainText('This needs the editor role.');
    await expect(page.getByLabel('Matcher 1 value', { exact: true })).toHaveValue(name);
    await expect(page.getByLabel('Matcher 1 value', { exact: true })).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Save changes' })).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Expire now' })).toHaveCount(0);
    await expectAccessible(page);
    await page.getByRole('link', { name: 'All silences' }).click();
    await page.getByRole('link', { name: 'New silence', exact: true }).first().click();
    await expect(page.getByRole('heading', { level: 1, name: 'New silence' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Create silence' })).toBeDisabled();
  } finally {
    await client.expireSilence({ id: silence!.id });
  }
});

/**
 * A rule that fires at its next evaluation: the request rate of a service
 * that never sends has had no value for a minute. Annotated in both
 * languages.
 */
function absenceRule(name: string, service: string): AlertRule {
  return create(AlertRuleSchema, {
    name,
    condition: {
      case: 'absence',
      value: create(AbsenceConditionSchema, {
        series: create(RuleSeriesSchema, {
          series: { case: 'red', value: create(RedSeriesSelectorSchema, { serviceName: service, signal: Signal.REQUEST_RATE }) },
        }),
        minutes: 1,
      }),
    },
    labels: { severity: 'e2e' },
    annotations: [{ name: 'summary', en: '{{ $labels.service_name }} sent nothing for a minute', ko: '{{ $labels.service_name }}에서 1분 동안 데이터 없음' }],
  });
}

/** Rules are judged once a minute, ~15 s after it ends: an alert shows up or resolves within about two. */
const EVALUATION = { timeout: 150_000, intervals: [5_000] };

test('the alerts page shows what a rule raised: firing with its annotations in the language of the page, then resolved', async ({ page }) => {
  test.setTimeout(420_000);
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const client = await alertApi();
  const unique = Date.now();
  const name = `e2e-alerts-${unique}`;
  const service = `nobody-${unique}`;
  let ruleId = '';
  try {
    ruleId = (await client.createRule({ rule: absenceRule(name, service) })).rule!.id;
    await expect
      .poll(async () => (await client.listAlerts({ ruleId, states: [AlertState.FIRING] })).alerts.length, EVALUATION)
      .toBeGreaterThan(0);
    const [stored] = (await client.listAlerts({ ruleId, states: [AlertState.FIRING] })).alerts;

    // Firing and pending by default: the alert, its rule, labels, annotation, times and value.
    await signIn(page, ADMIN, 'en', '/alerts');
    await expect(page.getByRole('heading', { level: 1, name: 'Alerts' })).toBeVisible();
    const nav = page.getByRole('navigation', { name: 'Main navigation' });
    await expect(nav.getByRole('link', { name: 'Alerts', exact: true })).toHaveAttribute('aria-current', 'page');
    await expect(nav.getByRole('link', { name: 'Alert rules', exact: true })).not.toHaveAttribute('aria-current', 'page');
    await expect(page.getByRole('radio', { name: 'Firing and pending', exact: true })).toBeChecked();
    const row = page.locator(`[data-testid="alert-row"][data-rule="${ruleId}"]`);
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute('data-state', 'firing');
    const cells = row.locator('td');
    await expect(cells.nth(0)).toContainText('Firing');
    await expect(cells.nth(0)).toContainText(/firing for \d+ (s|min)/);
    const ruleLink = cells.nth(1).getByRole('link', { name, exact: true });
    expect(new URL((await ruleLink.getAttribute('href'))!, 'http://ui').pathname).toBe(`/alerts/rules/${encodeURIComponent(ruleId)}`);
    await expect(cells.nth(1)).toContainText(`${service} sent nothing for a minute`);
    await expect(cells.nth(2).locator('.badge')).toHaveText([`service_name=${service}`, 'severity=e2e', 'signal=request_rate']);
    setFormatLocale('en');
    await expect(cells.nth(3)).toContainText(formatShortDateTime(nanosToMs(stored!.episode!.activeUnixNano)));
    await expect(cells.nth(5)).toHaveText('–');
    // "Silence" opens a new silence of the rule's alerts, as the rules list does.
    const silenceLink = new URL((await row.getByRole('link', { name: `Silence the alerts of rule ${name}` }).getAttribute('href'))!, 'http://ui');
    expect([silenceLink.pathname, silenceLink.searchParams.getAll('matcher')]).toEqual(['/alerts/silences/new', [`alertname="${name}"`]]);
    await shoot(page, 'alerts');
    await inKorean(
      page,
      '/alerts',
      async (p) => {
        await expect(p.getByRole('heading', { level: 1, name: '알림' })).toBeVisible();
        await expect(row.locator('td').nth(0)).toContainText('발생 중');
        await expect(row.locator('td').nth(1)).toContainText(`${service}에서 1분 동안 데이터 없음`);
      },
      'alerts',
    );

    // One rule's alerts (the rules list links them), and back to every rule's.
    await preferLanguage(page, 'en');
    await page.goto('/alerts/rules');
    await page.getByRole('link', { name: `Alerts of rule ${name}`, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/alerts\\?.*rule=${ruleId}`));
    await expect(page.getByTestId('rule-filter')).toContainText(`Only the alerts of rule ${name}`);
    await expect(page.getByTestId('alert-row')).toHaveCount(1);
    await page.getByRole('button', { name: "Show every rule's alerts" }).click();
    await expect(page).not.toHaveURL(/rule=/);
    await expect(row).toHaveCount(1);

    // Deleted, the rule resolves its alert at the next evaluation: the history shows it.
    await client.deleteRule({ id: ruleId });
    ruleId = '';
    // A click, not check(): the radio follows the URL, which a router transition updates a moment later.
    await page.getByRole('radio', { name: 'Resolved', exact: true }).click();
    await expect(page.getByRole('radio', { name: 'Resolved', exact: true })).toBeChecked();
    await expect(page).toHaveURL(/[?&]state=resolved\b/);
    const resolvedRow = page.locator(`[data-testid="alert-row"][data-rule="${stored!.ruleId}"]`);
    await expect(async () => {
      await page.reload();
      await expect(resolvedRow).toHaveAttribute('data-state', 'resolved', { timeout: 10_000 });
    }).toPass(EVALUATION);
    await expect(resolvedRow.locator('td').nth(0)).toContainText('Resolved');
    await expect(resolvedRow.locator('td').nth(0)).toContainText(/fired for \d+ (s|min)/);
    await expect(resolvedRow.locator('td').nth(3)).not.toContainText(/Resolved\s*–/);
    await page.getByRole('radio', { name: 'Firing and pending', exact: true }).click();
    await expect(page.getByRole('radio', { name: 'Firing and pending', exact: true })).toBeChecked();
    await expect(page).not.toHaveURL(/state=/);
    await expect(resolvedRow).toHaveCount(0);
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(failures).toEqual([]);
  } finally {
    if (ruleId) await client.deleteRule({ id: ruleId });
  }
});

/** A policy that notifies nobody: one receiver without webhooks, taking every alert. */
async function quietPolicy(client: Awaited<ReturnType<typeof alertApi>>) {
  const { policy } = await client.getNotificationPolicy({});
  await client.updateNotificationPolicy({
    policy: { version: policy?.version ?? 0n, receivers: [{ name: 'nobody', webhooks: [] }], route: { receiver: 'nobody' } },
  });
}

test('a notification policy is made in the form, its webhook gets the alert as Alertmanager sends it, and the log says it was delivered', async ({ page }) => {
  test.setTimeout(480_000);
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const client = await alertApi();
  const unique = Date.now();
  const receiver = `e2e-hook-${unique}`;
  const name = `e2e-notify-${unique}`;
  const service = `nobody-${unique}`;
  // A webhook receiver of our own, as an incident tool would be.
  const bodies: { version?: string; status?: string; receiver?: string; groupLabels?: Record<string, string>; alerts?: { status: string; labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string }[] }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      if (req.method === 'POST') bodies.push(JSON.parse(text) as (typeof bodies)[number]);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  let ruleId = '';
  try {
    // Whatever is stored (other runs leave a quiet policy behind), the form starts from it.
    const read = (await client.getNotificationPolicy({})).policy;
    const before = read?.version ?? 0n;
    await signIn(page, ADMIN, 'en', '/alerts/notifications');
    await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
    await page.getByRole('button', { name: before === 0n ? 'Create a policy' : 'Edit policy' }).click();
    await expect(page).toHaveURL(/[?&]edit=1\b/);
    const form = page.getByRole('form', { name: 'Notification policy' });
    const receivers = form.getByTestId('receiver-form');
    let mine = receivers.first();
    if (before !== 0n) {
      await form.getByRole('button', { name: 'Add receiver' }).click();
      mine = receivers.last();
    }
    await mine.getByLabel('Name', { exact: true }).fill(receiver);
    await mine.getByLabel('URL', { exact: true }).fill(url);
    await expect(mine.getByLabel('Send resolved')).toBeChecked();
    const root = form.getByRole('group', { name: 'Root route' });
    await root.getByLabel('Receiver', { exact: true }).selectOption(receiver);
    await root.getByLabel('Group by', { exact: true }).fill('alertname');
    await root.getByLabel('Group wait', { exact: true }).fill('0s');
    await root.getByLabel('Group interval', { exact: true }).fill('1s');
    await root.getByLabel('Repeat interval', { exact: true }).fill('');
    await expect(root.getByText('Empty: 4 h (default)')).toBeVisible();
    // A child route for paging alerts (ours carry severity=e2e: the root takes them).
    await root.getByRole('button', { name: 'Add route' }).click();
    const child = form.getByRole('group', { name: `Route ${(read?.route?.routes.length ?? 0) + 1}` });
    await child.getByLabel('Matcher 1 label', { exact: true }).fill('severity');
    await child.getByLabel('Matcher 1 value', { exact: true }).fill('page');
    await child.getByLabel('Repeat interval', { exact: true }).fill('1h');
    await expect(child.getByText('Empty: 0 s (inherited)')).toBeVisible();
    await expect(child.getByText('Empty: 1 s (inherited)')).toBeVisible();
    await expect(child.getByLabel('Receiver', { exact: true })).toHaveValue('');
    await form.getByRole('button', { name: 'Save policy' }).click();

    // Saved: the tree, with the version after the one read.
    await expect(page.getByText(`Notification policy saved (version ${before + 1n}). It applies from the next minute.`)).toBeVisible();
    await expect(page).not.toHaveURL(/edit=1/);
    const saved = (await client.getNotificationPolicy({})).policy!;
    expect(saved.version).toBe(before + 1n);
    const hook = saved.receivers.find((r) => r.name === receiver);
    expect(hook?.webhooks.map((w) => [w.url, w.sendResolved, w.locale])).toEqual([[url, undefined, '']]);
    expect([saved.route?.receiver, saved.route?.groupBy, saved.route?.groupWaitSeconds, saved.route?.groupIntervalSeconds]).toEqual([receiver, ['alertname'], 0, 1]);
    expect(saved.route?.repeatIntervalSeconds).toBeUndefined();
    const added = saved.route!.routes[saved.route!.routes.length - 1]!;
    expect([added.receiver, added.matchers.map((m) => [m.name, m.operator, m.value]), added.repeatIntervalSeconds]).toEqual([
      '',
      [['severity', MatchOperator.EQUAL, 'page']],
      3600,
    ]);
    const policy = page.getByRole('region', { name: 'Notification policy' });
    await expect(policy.getByTestId('policy-version')).toContainText(`Version ${before + 1n}`);
    await expect(policy.locator(`[data-testid="receiver-rows"][data-receiver="${receiver}"]`)).toContainText(url);
    const tree = policy.getByRole('list', { name: 'Route tree' });
    const rootNode = tree.getByTestId('route-node').first();
    await expect(rootNode.locator('.route-card').first()).toContainText(`Receiver${receiver}`);
    await expect(rootNode.locator('.route-card').first()).toContainText('Repeat interval4 h (default)');
    await expect(tree.getByTestId('route-node').last()).toContainText('severity="page"');
    await expect(tree.getByTestId('route-node').last()).toContainText(`Receiver${receiver} (inherited)`);

    // Refusals: the service's message next to the field its path names.
    await page.getByRole('button', { name: 'Edit policy' }).click();
    await root.getByLabel('Group interval', { exact: true }).fill('0');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await expect(root.getByLabel('Group interval', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    await expect(root.getByText('0, expected 1 to 86400')).toBeVisible();
    await expect(root.getByLabel('Group interval', { exact: true })).toBeFocused();
    await expectAccessible(page);
    await root.getByLabel('Group interval', { exact: true }).fill('1s');
    // A receiver removed while the routes still name it.
    await form.getByRole('button', { name: `Remove receiver ${await receivers.count()}` }).click();
    await form.getByRole('button', { name: 'Save policy' }).click();
    await expect(root.getByText(`no receiver named "${receiver}"`)).toBeVisible();
    await expect(root.getByLabel('Receiver', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    expect((await client.getNotificationPolicy({})).policy?.version).toBe(before + 1n);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await expect(page).not.toHaveURL(/edit=1/);

    // An alert: the webhook gets Alertmanager's webhook JSON.
    ruleId = (await client.createRule({ rule: absenceRule(name, service) })).rule!.id;
    const ours = () => bodies.find((b) => b.alerts?.some((a) => a.labels['alertname'] === name));
    await expect.poll(() => !!ours(), { timeout: 240_000, intervals: [2_000] }).toBe(true);
    const body = ours()!;
    expect([body.version, body.status, body.receiver, body.groupLabels]).toEqual(['4', 'firing', receiver, { alertname: name }]);
    const sent = body.alerts!.find((a) => a.labels['alertname'] === name)!;
    expect(sent.status).toBe('firing');
    expect(sent.labels).toMatchObject({ alertname: name, service_name: service, severity: 'e2e', signal: 'request_rate' });
    expect(sent.annotations['summary']).toBe(`${service} sent nothing for a minute`);
    expect(sent.fingerprint).toMatch(/^[0-9a-f]{16}$/);

    // The log says so, for that receiver (in the URL).
    const log = page.getByRole('region', { name: 'Notification log' });
    await log.getByLabel('Receiver', { exact: true }).selectOption(receiver);
    await expect(page).toHaveURL(new RegExp(`[?&]receiver=${receiver}\\b`));
    const entry = log.locator(`[data-testid="notification-row"][data-receiver="${receiver}"]`).filter({ hasText: `alertname=${name}` });
    await expect(async () => {
      await page.reload();
      await expect(entry.first()).toBeVisible({ timeout: 10_000 });
    }).toPass({ timeout: 90_000, intervals: [3_000] });
    const cells = entry.first().locator('td');
    await expect(cells.nth(1)).toHaveText(receiver);
    await expect(cells.nth(2)).toHaveText('#1');
    await expect(cells.nth(3)).toHaveAttribute('title', new RegExp(`alertname="${name}"`));
    await expect(cells.nth(4)).toHaveText('Firing');
    await expect(cells.nth(5)).toHaveText('1');
    await expect(cells.nth(7)).toHaveText('Delivered');
    await expect(log.locator(`[data-testid="notification-row"]:not([data-receiver="${receiver}"])`)).toHaveCount(0);
    // The route tree and the log in one picture.
    await log.scrollIntoViewIfNeeded();
    await shoot(page, 'notifications');
    await inKorean(
      page,
      `/alerts/notifications?receiver=${encodeURIComponent(receiver)}`,
      async (p) => {
        await expect(p.getByRole('heading', { level: 1, name: '알림 전송' })).toBeVisible();
        const logKo = p.getByRole('region', { name: '전송 기록' });
        await expect(logKo.locator(`[data-testid="notification-row"][data-receiver="${receiver}"]`).filter({ hasText: `alertname=${name}` }).first().locator('td').nth(7)).toHaveText('전달됨');
        await expect(p.getByRole('list', { name: '라우트 트리' })).toContainText('기본값');
        await logKo.scrollIntoViewIfNeeded();
      },
      'notifications',
    );
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(failures).toEqual([]);
  } finally {
    // Nobody notified first, so that the alert resolving is sent nowhere.
    await quietPolicy(client);
    if (ruleId) await client.deleteRule({ id: ruleId });
    server.close();
  }
});

test('an Alertmanager is added to the policy in the form, shown after a reload, and removed', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const client = await alertApi();
  // Nothing listens there: the service only checks the URL when saving; a send that fails is logged and tried again the next minute.
  const url = `http://127.0.0.1:1/e2e-am-${Date.now()}`;
  const withoutOurs = async () => {
    const { policy } = await client.getNotificationPolicy({});
    if (policy?.alertmanagers.some((a) => a.url === url)) {
      await client.updateNotificationPolicy({ policy: { ...policy, alertmanagers: policy.alertmanagers.filter((a) => a.url !== url) } });
    }
  };
  try {
    if (((await client.getNotificationPolicy({})).policy?.version ?? 0n) === 0n) await quietPolicy(client);
    const read = (await client.getNotificationPolicy({})).policy!;
    const before = read.version;
    // Alertmanagers already there (set up by someone else) stay, ours goes after them.
    const n = read.alertmanagers.length + 1;
    await signIn(page, ADMIN, 'en', '/alerts/notifications');
    const policy = page.getByRole('region', { name: 'Notification policy' });
    const shown = policy.getByRole('region', { name: 'Alertmanagers' });
    await expect(shown).toContainText('a resolved one for 15 minutes after it resolved, with the label tenant added');
    await page.getByRole('button', { name: 'Edit policy' }).click();
    const form = page.getByRole('form', { name: 'Notification policy' });
    const list = form.getByRole('group', { name: 'Alertmanagers', exact: true });
    await list.getByRole('button', { name: 'Add Alertmanager' }).click();
    const mine = list.getByRole('group', { name: `Alertmanager ${n}`, exact: true });
    // Left empty: the form says so before sending.
    await form.getByRole('button', { name: 'Save policy' }).click();
    await expect(mine.getByLabel('URL', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    await expect(mine.getByText("URL: required, the Alertmanager's http:// address")).toBeVisible();
    // The service's refusal, next to the field its path (policy.alertmanagers[i].url) names.
    await mine.getByLabel('URL', { exact: true }).fill(url.replace('http://', 'https://'));
    await form.getByRole('button', { name: 'Save policy' }).click();
    await expect(mine.getByText('https is not sent directly')).toBeVisible();
    await expect(mine.getByLabel('URL', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    await expect(mine.getByLabel('URL', { exact: true })).toBeFocused();
    expect((await client.getNotificationPolicy({})).policy?.version).toBe(before);
    await mine.getByLabel('URL', { exact: true }).fill(url);
    await mine.getByLabel('Language', { exact: true }).selectOption('ko');
    await expectAccessible(page);
    await form.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByText(`Notification policy saved (version ${before + 1n}).`)).toBeVisible();
    const saved = (await client.getNotificationPolicy({})).policy!;
    expect(saved.alertmanagers.map((a) => [a.url, a.locale])).toEqual([...read.alertmanagers.map((a) => [a.url, a.locale]), [url, 'ko']]);
    // The rest of the policy is as it was.
    expect(saved.receivers.map((r) => r.name)).toEqual(read.receivers.map((r) => r.name));

    // After a reload: listed with its language, and its sends are a receiver of the log.
    await page.reload();
    const row = shown.getByTestId('alertmanager-row').filter({ hasText: url });
    await expect(row).toContainText(`#${n}`);
    await expect(row).toContainText('Korean');
    const log = page.getByRole('region', { name: 'Notification log' });
    await expect(log.getByLabel('Receiver', { exact: true }).locator('option[value="alertmanager"]')).toHaveCount(1);
    await expectAccessible(page);

    // Removed.
    await page.getByRole('button', { name: 'Edit policy' }).click();
    await expect(mine.getByLabel('URL', { exact: true })).toHaveValue(url);
    await list.getByRole('button', { name: `Remove Alertmanager ${n}`, exact: true }).click();
    await expect(mine).toHaveCount(0);
    await form.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByText(`Notification policy saved (version ${before + 2n}).`)).toBeVisible();
    await page.reload();
    await expect(policy.getByTestId('policy-version')).toContainText(`Version ${before + 2n}`);
    await expect(shown.getByTestId('alertmanager-row').filter({ hasText: url })).toHaveCount(0);
    expect((await client.getNotificationPolicy({})).policy?.alertmanagers.map((a) => a.url)).toEqual(read.alertmanagers.map((a) => a.url));
    await expect(page.getByRole('alert')).toHaveCount(0);
    expect(failures).toEqual([]);
  } finally {
    await withoutOurs();
  }
});

test('a viewer reads alerts and the notification policy, and is told which role changes them', async ({ page }) => {
  await signIn(page, VIEWER, 'en', '/alerts');
  await expect(page.getByRole('heading', { level: 1, name: 'Alerts' })).toBeVisible();
  await expect(page.getByText('Silencing alerts needs the editor role; you are signed in as viewer.')).toBeVisible();
  await expect(page.getByRole('link', { name: /^Silence the alerts of rule / })).toHaveCount(0);
  await expect(page.getByTestId('alert-row').first().or(page.getByText('Nothing is firing or pending'))).toBeVisible();
  await expectAccessible(page);

  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Notifications' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
  await expect(page.getByRole('note')).toContainText('This needs the editor role.');
  await expect(page.getByRole('note')).toContainText('Changing the notification policy needs the editor role; you are signed in as viewer.');
  const policy = page.getByRole('region', { name: 'Notification policy' });
  await expect(policy.getByRole('list', { name: 'Route tree' }).or(policy.getByText('No notification policy yet'))).toBeVisible();
  // The Alertmanagers too, read-only.
  await expect(policy.getByRole('region', { name: 'Alertmanagers' }).or(policy.getByText('No notification policy yet'))).toBeVisible();
  await expect(page.getByRole('button', { name: 'Edit policy' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Create a policy' })).toHaveCount(0);
  // Asking for the form in the URL shows the policy, not the form.
  await page.goto('/alerts/notifications?edit=1');
  await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Notification policy' })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Notification log' })).toBeVisible();
  await expectAccessible(page);
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
