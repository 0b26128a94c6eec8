// The UI's speed in Chromium against the running platform (scripts/up.sh):
//   1. JavaScript the first page loads, compressed as sent;
//   2. the services page: navigation to its rows drawn with data;
//   3. a 10,000-span trace: navigation to its waterfall drawn, and the frame
//      rate while it scrolls;
//   4. a chart: from the new data's arrival to the redraw, on a time range
//      switch.
// Run by `scripts/web.sh bench`; prints a Markdown table and writes it to
// web/bench-results.md. Numbers, never pass/fail: docs/benchmarks.md keeps
// them with their targets.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { expect, test, type Page } from '@playwright/test';
import { AuthService } from '../src/gen/airis/gateway/v1/auth_pb';
import { ADMIN, BASE_URL, REPO, TENANT, api, signIn, withExporterEnv } from '../e2e/support/platform';

const RUNS = Number(process.env.AIRIS_BENCH_RUNS ?? '10');
const SPANS = Number(process.env.AIRIS_BENCH_SPANS ?? '10000');
const rows: string[][] = [];

function stats(xs: number[]): { median: number; p90: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
  return { median: at(0.5), p90: at(0.9), min: s[0]!, max: s[s.length - 1]! };
}

function record(what: string, unit: string, xs: number[], target: string): void {
  const r = stats(xs);
  const f = (v: number) => (unit === 'kB' ? v.toFixed(1) : unit === 'fps' ? v.toFixed(1) : v.toFixed(0));
  rows.push([what, `${f(r.median)} ${unit}`, `${f(r.p90)} ${unit}`, `${f(r.min)}–${f(r.max)} ${unit}`, String(xs.length), target]);
}

/** Milliseconds from navigation start until `selector` is in the page. */
async function timeToSelector(page: Page, url: string, selector: string): Promise<number> {
  await page.goto(url, { waitUntil: 'commit' });
  // Checked every animation frame in the page: the time of the first frame
  // that has it.
  const at = await page.waitForFunction((sel) => document.querySelector(sel) && performance.now(), selector, {
    polling: 'raf',
    timeout: 30_000,
  });
  return (await at.jsonValue()) as number;
}

/** When the page's last call to `rpc` ended and how long it took, in ms. */
async function rpcTiming(page: Page, rpc: string): Promise<{ end: number; took: number }> {
  return page.evaluate((name) => {
    const calls = performance
      .getEntriesByType('resource')
      .filter((e) => e.name.endsWith(`/${name}`)) as PerformanceResourceTiming[];
    const last = calls[calls.length - 1];
    return last ? { end: last.responseEnd, took: last.responseEnd - last.startTime } : { end: NaN, took: NaN };
  }, rpc);
}

test.describe.configure({ mode: 'serial' });
test.setTimeout(600_000);

test('first page JavaScript, compressed', async ({ page }) => {
  await signIn(page);
  const sizes: number[] = [];
  for (let i = 0; i < 3; i++) {
    await page.goto('/services', { waitUntil: 'load' });
    await page.waitForSelector('[data-testid=service-row]');
    // Everything the page fetched: JS bytes as they came over the wire
    // (encodedBodySize: compressed, without headers).
    const kb = await page.evaluate(
      () =>
        performance
          .getEntriesByType('resource')
          .filter((e) => (e as PerformanceResourceTiming).name.endsWith('.js'))
          .reduce((sum, e) => sum + (e as PerformanceResourceTiming).encodedBodySize, 0) / 1024,
    );
    sizes.push(kb);
  }
  record('JavaScript of the services page (sign-in done), compressed', 'kB', sizes, '≤ 250 kB gzip');
});

test('services page: navigation to rows with data', async ({ page }) => {
  await signIn(page);
  const times: number[] = [];
  const refresh: number[] = [];
  const overview: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    times.push(await timeToSelector(page, '/services?from=now-15m&to=now', '[data-testid=service-row]'));
    refresh.push((await rpcTiming(page, 'Refresh')).took);
    overview.push((await rpcTiming(page, 'ServiceOverview')).took);
  }
  record('services page: navigation → rows with data (session restore included)', 'ms', times, '< 1000 ms');
  record('… of which Refresh (session restore), through the ingress', 'ms', refresh, '');
  record('… of which ServiceOverview, through the ingress', 'ms', overview, '');
});

test('a 10,000-span trace: render and scroll', async ({ page }) => {
  // An ingest token, then the trace through the OTLP ingress.
  const auth = createClient(AuthService, createGrpcWebTransport({ baseUrl: BASE_URL }));
  const { accessToken } = await auth.login({ tenant: TENANT, ...ADMIN });
  const minted = await auth.mintIngestToken(
    { description: 'ui benchmark', ttlDays: 1 },
    { headers: { authorization: `Bearer ${accessToken}` } },
  );
  const snippet = `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317\nOTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${minted.token}`;
  const sent = await withExporterEnv(snippet, 'big_trace.py', [String(SPANS)]);
  expect(sent.code, sent.stderr).toBe(0);
  const traceId = sent.stdout.trim();
  const client = await api();
  await expect
    .poll(async () => (await client.getTrace({ traceId }).catch(() => ({ spans: [] }))).spans.length, { timeout: 120_000 })
    .toBe(SPANS);

  await signIn(page);
  const shown: number[] = [];
  const fetched: number[] = [];
  const drawn: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const at = await timeToSelector(page, `/traces/${traceId}`, '[data-testid=waterfall-row]');
    const call = await rpcTiming(page, 'GetTrace');
    shown.push(at);
    fetched.push(call.took);
    drawn.push(at - call.end);
  }
  record(`${SPANS}-span trace: navigation → waterfall drawn`, 'ms', shown, '');
  record(`… of which GetTrace (${SPANS} spans), through the ingress`, 'ms', fetched, '');
  record(`… of which the answer arrived → waterfall drawn (the UI's part)`, 'ms', drawn, '< 1000 ms');

  // Scroll the waterfall a screen every frame for 3 s, counting frames.
  const fps: number[] = [];
  for (let i = 0; i < 3; i++) {
    fps.push(
      await page.evaluate(
        () =>
          new Promise<number>((done) => {
            const el = document.querySelector('.wf-scroll') as HTMLElement;
            const start = performance.now();
            let frames = 0;
            let dir = 1;
            const step = () => {
              el.scrollTop += dir * 400;
              if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1 || el.scrollTop <= 0) dir = -dir;
              frames++;
              if (performance.now() - start < 3000) requestAnimationFrame(step);
              else done((frames * 1000) / (performance.now() - start));
            };
            requestAnimationFrame(step);
          }),
      ),
    );
  }
  record(`${SPANS}-span trace: frames per second while scrolling`, 'fps', fps, '≥ 50 fps');
});

test('a chart redraws after a time range switch', async ({ page }) => {
  // When each QueryMetrics answer has arrived whole, and when charts draw.
  await page.addInitScript(() => {
    const w = window as unknown as { __arrived: number[]; __drawn: number[] };
    w.__arrived = [];
    w.__drawn = [];
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const res = await original(input, init);
      if (!String(input instanceof Request ? input.url : input).includes('/QueryMetrics')) return res;
      const body = await res.arrayBuffer();
      w.__arrived.push(performance.now());
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
    window.addEventListener('airis:chart-drawn', () => w.__drawn.push(performance.now()));
  });
  await signIn(page, ADMIN, 'en', '/metrics?metric=http.server.request.count&type=sum&agg=rate&from=now-15m&to=now');
  await page.waitForSelector('figure canvas');
  // Each switch to a range not asked before, so its data comes from the
  // network (a range seen before may be answered from the query cache).
  const presets = ['Last 1 hour', 'Last 3 hours', 'Last 6 hours', 'Last 12 hours', 'Last 24 hours', 'Last 2 days', 'Last 5 minutes'];
  const latencies: number[] = [];
  for (let i = 0; i < presets.length; i++) {
    const before = await page.evaluate(() => (window as unknown as { __arrived: number[] }).__arrived.length);
    await page.getByRole('button', { name: /^Time range:/ }).click();
    const name = presets[i]!;
    await page.getByRole('button', { name, exact: true }).click();
    const latency = await page.waitForFunction(
      (n) => {
        const w = window as unknown as { __arrived: number[]; __drawn: number[] };
        const arrived = w.__arrived[n];
        if (arrived === undefined) return null;
        const drawn = w.__drawn.find((d) => d >= arrived);
        return drawn === undefined ? null : drawn - arrived;
      },
      before,
      { timeout: 30_000 },
    );
    latencies.push((await latency.jsonValue()) as number);
  }
  record('metric chart: QueryMetrics answer arrived → chart redrawn', 'ms', latencies, '< 100 ms');
});

test.afterAll(() => {
  const header = ['measure', 'median', 'p90', 'range', 'runs', 'target'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const text = `UI benchmarks, Chromium ${process.env.AIRIS_BENCH_CHROMIUM ?? ''}, ${new Date().toISOString()}\n\n${table}\n`;
  writeFileSync(resolve(REPO, 'web/bench-results.md'), text);
  console.log(`\n${text}`);
});
