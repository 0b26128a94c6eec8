// Canary analysis against the demo's checkout canary: a deep link compares
// v1 with v2 over the last ten minutes (v2 is slower and fails more, so
// the verdict is FAIL, or INCONCLUSIVE while traffic is short); the page
// shows the verdict with reasons in its language and the operations, a
// row opens its distributions, all by keyboard too; a refused field is
// named at the form, an unavailable service offers Retry. Both cohorts' log
// records are mined into templates: the table lists them with the change in
// words and a row opens an example from each cohort; a reason about a
// template scrolls to its row. The changes found in the telemetry
// (ListChanges): the demo's checkout v2 changed at run time (scripts/mesh.sh
// regress) logs a deployment record, which the Changes panel lists with its
// verdict; choosing it opens its comparison, before against after, as the
// page's cohorts in the URL. Screenshots for docs/ui/, axe in both languages.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { expect, test, type Page } from '@playwright/test';
import { timeRange, toSpanFilter } from '../src/api/filters';
import { ChangeKind, CompareResponseSchema, ReasonSchema, Severity, Signal } from '../src/gen/airis/delta/v1/delta_pb';
import { nanosToMs } from '../src/lib/time';
import { ADMIN, api, deltaApi, expectAccessible, preferLanguage, regress, screenshot, signIn, type Lang } from './support/platform';

const COMPARE = '/delta?from=now-10m&to=now&baseline=checkout&baselineVersion=v1&candidate=checkout&candidateVersion=v2';
const HANGUL = /[\uac00-\ud7a3]/;

const TEXT = {
  en: { title: 'Canary analysis', verdict: /(PASS|FAIL|INCONCLUSIVE)$/, baseline: 'Baseline', candidate: 'Candidate', service: 'Service', version: 'Version' },
  ko: { title: '변경 분석', verdict: /(통과|실패|판단 불가)$/, baseline: '기준', candidate: '후보', service: '서비스', version: '버전' },
} as const;

const TEMPLATES = {
  en: {
    title: 'Log templates',
    examples: 'Examples',
    change: /(New|Vanished|More|Less|Same)$/,
    example: /^Example from (Baseline|Candidate)$/,
    show: 'Show the template',
  },
  ko: {
    title: '로그 템플릿',
    examples: '예시',
    change: /(새|사라짐|증가|감소|변화 없음)$/,
    example: /^(기준|후보)의 예시$/,
    show: '템플릿 보기',
  },
} as const;

/**
 * The log templates: at least one row (checkout logs in both versions), its
 * change in words, its examples opened; each cohort's log records counted;
 * a reason about a template, if any, opens and marks its row.
 */
async function expectTemplates(page: Page, lang: Lang) {
  const text = TEMPLATES[lang];
  const section = page.getByRole('region', { name: text.title });
  await expect(section).toBeVisible();
  const rows = section.getByTestId('template-row');
  await expect(rows.first()).toBeVisible();
  await expect(rows.first().getByTestId('template-change')).toHaveText(text.change);
  await expect(rows.first().locator('code')).not.toBeEmpty();
  for (const side of ['baseline', 'candidate']) await expect(page.getByTestId(`cohort-${side}-logs`)).toHaveText(/^\d[\d,]*$/);
  const logs = await Promise.all(['baseline', 'candidate'].map(async (side) => Number((await page.getByTestId(`cohort-${side}-logs`).textContent())?.replace(/,/g, ''))));
  expect(logs.some((n) => n > 0)).toBe(true);

  const toggle = rows.first().getByRole('button', { name: text.examples });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  const examples = section.getByTestId('template-examples').first();
  await expect(examples.getByRole('heading', { name: text.example })).toHaveCount(2);
  // The template came from a record of at least one cohort.
  await expect(examples.locator('pre').first()).not.toBeEmpty();

  const show = page.getByRole('button', { name: text.show });
  if ((await show.count()) > 0) {
    await show.first().click();
    const marked = section.locator('tr.selected[data-testid="template-row"]');
    await expect(marked).toHaveCount(1);
    await expect(marked.getByRole('button', { name: text.examples })).toHaveAttribute('aria-expanded', 'true');
    await expect(marked.getByRole('button', { name: text.examples })).toBeFocused();
  }
}

/** Both versions of checkout have sent spans in the last ten minutes (a platform just started may need a moment). */
async function canaryTraffic(): Promise<void> {
  const client = await api();
  for (let i = 0; ; i++) {
    const now = Date.now();
    const found = await Promise.all(
      ['v1', 'v2'].map(async (v) => {
        const answer = await client.searchSpans({
          filter: toSpanFilter({ startMs: now - 10 * 60_000, endMs: now, service: 'checkout', attrs: [`resource:service.version=${v}`] }),
          page: { pageSize: 1 },
        });
        return answer.spans.length > 0;
      }),
    );
    if (found.every(Boolean) || i >= 36) return;
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

/** The whole page in the screenshot: the viewport as tall as the page (at most 3600 px), from the top. */
async function shootWhole(page: Page, lang: Lang) {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.min(3600, Math.max(720, height)) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'delta', lang);
  await page.setViewportSize({ width: 1280, height: 720 });
}

/** The comparison shown: a verdict, reasons in `lang`, POST /checkout among the operations. */
async function expectComparison(page: Page, lang: Lang) {
  const text = TEXT[lang];
  await expect(page.getByRole('heading', { level: 1, name: text.title })).toBeVisible();
  // The form holds what the link says.
  const baseline = page.getByRole('group', { name: text.baseline });
  const candidate = page.getByRole('group', { name: text.candidate });
  await expect(baseline.getByLabel(text.service, { exact: true })).toHaveValue('checkout');
  await expect(baseline.getByLabel(text.version, { exact: true })).toHaveValue('v1');
  await expect(candidate.getByLabel(text.version, { exact: true })).toHaveValue('v2');
  // Comparing ten minutes of spans may take a few seconds.
  await expect(page.getByTestId('verdict')).toHaveText(text.verdict, { timeout: 30_000 });
  const reasons = page.getByTestId('reason');
  await expect(reasons.first()).toBeVisible();
  const first = (await reasons.first().textContent()) ?? '';
  if (lang === 'ko') expect(first).toMatch(HANGUL);
  else expect(first).not.toMatch(HANGUL);
  await expect(page.getByTestId('operation-row').filter({ hasText: 'POST /checkout' })).toHaveCount(1);
  await expect(page.getByTestId('cohort-baseline')).toBeVisible();
  await expect(page.getByTestId('cohort-candidate')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
}

test('canary analysis compares checkout v1 with v2 from a deep link, in English and Korean', async ({ page }) => {
  test.setTimeout(300_000);
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await canaryTraffic();
  await signIn(page, ADMIN, 'en', COMPARE);
  await expect(page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Canary analysis' })).toBeVisible();
  await expectComparison(page, 'en');

  // By keyboard: from the Compare button, Tab reaches the operation's row (past every reason's button); Enter opens it.
  const row = page.getByRole('button', { name: /^checkout POST \/checkout: show its distributions$/ });
  await page.getByRole('button', { name: 'Compare', exact: true }).focus();
  for (let i = 0; i < 200 && !(await row.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(row).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(row).toHaveAttribute('aria-pressed', 'true');
  await expect(page).toHaveURL(/[?&]rowService=checkout&rowOperation=POST(\+|%20)%2Fcheckout/);
  const detail = page.locator('#delta-detail-title');
  await expect(detail).toHaveText('checkout · POST /checkout');
  // Its distributions side by side once both cohorts have enough spans of it to judge.
  const judged = (await page.getByTestId('operation-row').filter({ hasText: 'POST /checkout' }).getByText('INCONCLUSIVE').count()) === 0;
  if (judged) await expect(page.getByRole('figure', { name: /^Latency of checkout · POST \/checkout/ })).toBeVisible();
  else await expect(page.getByText('No durations to draw: a cohort has too few spans of this operation.')).toBeVisible();
  await expect(page.getByText(/ of [\d,]+ spans$/).first()).toBeVisible();
  await expectTemplates(page, 'en');
  await expectAccessible(page);
  await shootWhole(page, 'en');

  // The same link in Korean, the row selected from the URL.
  const selected = page.url().replace(/^https?:\/\/[^/]+/, '');
  await preferLanguage(page, 'ko');
  await page.goto(selected);
  await expectComparison(page, 'ko');
  await expect(page.getByRole('button', { name: /^checkout POST \/checkout: 분포 보기$/ })).toHaveAttribute('aria-pressed', 'true');
  if (judged) await expect(page.getByRole('figure', { name: /checkout · POST \/checkout의 지연 시간/ })).toBeVisible();
  await expectTemplates(page, 'ko');
  await expectAccessible(page);
  await shootWhole(page, 'ko');
  expect(failures).toEqual([]);
});

test('canary analysis names a refused field at the form, offers Retry when the service is unavailable, and asks for both cohorts', async ({ page }) => {
  // A label of 30 Hangul letters is 90 bytes: the service takes 64.
  const long = '카나리'.repeat(10);
  await signIn(page, ADMIN, 'en', `${COMPARE}&candidateLabel=${encodeURIComponent(long)}`);
  const error = page.getByRole('alert').filter({ hasText: 'candidate.label' });
  await expect(error).toBeVisible({ timeout: 30_000 });
  const label = page.getByRole('group', { name: 'Candidate' }).getByLabel('Label (optional)');
  await expect(label).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByRole('button', { name: 'Retry' })).toHaveCount(0);
  await expect(page.getByTestId('verdict')).toHaveCount(0);
  await expectAccessible(page);

  // The service unavailable (its answer replaced in the browser: the mesh injects no faults into
  // delta's route): said so, with Retry, the form still there; Retry then compares.
  const compareCall = '**/airis.delta.v1.DeltaService/Compare';
  await page.route(compareCall, (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'application/grpc-web+proto', 'grpc-status': '14', 'grpc-message': 'clickhouse: connection refused' },
      body: '',
    }),
  );
  await page.goto(COMPARE);
  const retry = page.getByRole('button', { name: 'Retry' });
  await expect(retry).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('The service is unavailable right now. Retrying usually helps.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Compare', exact: true })).toBeVisible();
  await page.unroute(compareCall);
  await retry.click();
  await expect(page.getByTestId('verdict')).toHaveText(TEXT.en.verdict, { timeout: 30_000 });

  // Without cohorts: what to do, and Compare names the missing service.
  await page.goto('/delta?from=now-10m&to=now');
  await expect(page.getByText('Pick the two cohorts to compare')).toBeVisible();
  await page.getByRole('group', { name: 'Candidate' }).getByLabel('Service', { exact: true }).selectOption('checkout');
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(page.getByRole('group', { name: 'Baseline' }).getByText('Choose a service.')).toBeVisible();
  await expect(page).not.toHaveURL(/candidate=/);
});

/** gRPC-Web's frames: a flag byte (0x80: trailers), the length in four bytes, the bytes. */
function readFrames(body: Buffer): { flag: number; data: Buffer }[] {
  const out: { flag: number; data: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flag: body[at]!, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}
function writeFrame(flag: number, data: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, Buffer.from(data)]);
}

test('a reason about a log template opens and marks its row, in English and Korean', async ({ page }) => {
  test.setTimeout(120_000);
  await canaryTraffic();
  // The service's answer with a reason about its last template added (the demo's v2 logs no new error by default).
  let named = '';
  await page.route('**/airis.delta.v1.DeltaService/Compare', async (route) => {
    const response = await route.fetch();
    const frames = readFrames(await response.body());
    const body = frames.map(({ flag, data }) => {
      if (flag !== 0) return writeFrame(flag, data);
      const answer = fromBinary(CompareResponseSchema, data);
      const last = answer.templates[answer.templates.length - 1];
      if (last) {
        named = last.template;
        answer.reasons.unshift(
          create(ReasonSchema, { severity: Severity.INFO, signal: Signal.LOGS, template: last.template, en: 'A log template changed.', ko: '로그 템플릿이 바뀌었습니다.' }),
        );
      }
      return writeFrame(0, toBinary(CompareResponseSchema, answer));
    });
    await route.fulfill({ response, body: Buffer.concat(body) });
  });
  for (const lang of ['en', 'ko'] as const) {
    const text = TEMPLATES[lang];
    if (lang === 'en') await signIn(page, ADMIN, 'en', COMPARE);
    else {
      await preferLanguage(page, 'ko');
      await page.goto(COMPARE);
    }
    await expect(page.getByTestId('verdict')).toHaveText(TEXT[lang].verdict, { timeout: 30_000 });
    expect(named).not.toBe('');
    const reason = page.getByTestId('reason').first();
    await expect(reason.getByRole('button', { name: text.show })).toBeVisible();
    await reason.getByRole('button', { name: text.show }).click();
    const marked = page.getByRole('region', { name: text.title }).locator('tr.selected[data-testid="template-row"]');
    await expect(marked).toHaveCount(1);
    await expect(marked.locator('code')).toHaveText(named);
    const toggle = marked.getByRole('button', { name: text.examples });
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await expect(toggle).toBeFocused();
    await expect(marked).toBeInViewport();
    await expectAccessible(page);
  }
});

const CHANGES = {
  en: {
    title: 'Changes',
    deployment: 'Deployment',
    open: /^Compare the change of checkout at /,
    outcome: /(PASS|FAIL|INCONCLUSIVE)Score \d+ \/ 100$|^Not compared/,
    pageRange: "Use the page's time range",
  },
  ko: {
    title: '변경 사항',
    deployment: '배포',
    open: / checkout 변경 비교$/,
    outcome: /(통과|실패|판단 불가)점수 \d+ \/ 100$|^비교 못 함/,
    pageRange: '페이지의 시간 범위 사용',
  },
} as const;

/** ListChanges has found a deployment of checkout logged at or after `sinceMs` (the loader may take a few seconds). */
async function deploymentFound(sinceMs: number): Promise<void> {
  const client = await deltaApi();
  await expect
    .poll(
      async () => {
        const now = Date.now();
        const answer = await client.listChanges({ timeRange: timeRange(sinceMs - 60_000, now + 1_000), serviceName: 'checkout', skipComparison: true });
        return answer.changes.some((c) => c.kind === ChangeKind.EVENT && nanosToMs(c.timeUnixNano) >= sinceMs - 1_000);
      },
      { timeout: 90_000, intervals: [2_000] },
    )
    .toBe(true);
}

/** The newest checkout deployment in the Changes panel: its text and its comparison's verdict (or why it was not compared). */
async function deploymentRow(page: Page, lang: Lang) {
  const text = CHANGES[lang];
  const panel = page.getByRole('region', { name: text.title });
  const row = panel.getByTestId('change-row').filter({ hasText: text.deployment }).filter({ hasText: 'checkout v2 deployed' }).first();
  // Listed once each change is compared.
  await expect(row).toBeVisible({ timeout: 60_000 });
  await expect(row.getByTestId('change-outcome')).toHaveText(text.outcome);
  return row;
}

/** The comparison shown is the change's: before against after, each with its own time range in the URL and the form. */
async function expectBeforeAfter(page: Page, lang: Lang) {
  const t = TEXT[lang];
  await expect(page).toHaveURL(/[?&]baseline=checkout&/);
  await expect(page).toHaveURL(/[?&]baselineLabel=before(&|$)/);
  await expect(page).toHaveURL(/[?&]candidateLabel=after(&|$)/);
  await expect(page).toHaveURL(/[?&]baselineFrom=\d+&baselineTo=\d+/);
  await expect(page).toHaveURL(/[?&]candidateFrom=\d+&candidateTo=\d+/);
  const baseline = page.getByRole('group', { name: t.baseline });
  const candidate = page.getByRole('group', { name: t.candidate });
  await expect(baseline.getByLabel(t.service, { exact: true })).toHaveValue('checkout');
  await expect(candidate.getByLabel(t.service, { exact: true })).toHaveValue('checkout');
  await expect(baseline.getByRole('button', { name: CHANGES[lang].pageRange })).toBeVisible();
  await expect(page.getByTestId('verdict')).toHaveText(t.verdict, { timeout: 30_000 });
  await expect(page.getByTestId('cohort-baseline').getByRole('heading')).toHaveText(`${t.baseline}: before`);
  await expect(page.getByTestId('cohort-candidate').getByRole('heading')).toHaveText(`${t.candidate}: after`);
}

test('a deployment found in the telemetry opens its comparison, before against after, in English and Korean', async ({ page }) => {
  test.setTimeout(300_000);
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await canaryTraffic();
  // The harness runs no regression: change checkout v2 now (slower), so that the demo logs its deployment.
  const since = Date.now();
  await regress('v2-slowdown=1.2');
  try {
    await deploymentFound(since);
    await signIn(page, ADMIN, 'en', '/delta?from=now-15m&to=now');
    const row = await deploymentRow(page, 'en');
    // By keyboard: the row's button, Enter.
    const open = row.getByRole('button', { name: CHANGES.en.open });
    await open.focus();
    await page.keyboard.press('Enter');
    await expectBeforeAfter(page, 'en');
    await expect(open).toHaveAttribute('aria-pressed', 'true');
    await expect(row).toHaveClass(/selected/);
    await expect(page.getByTestId('reason').first()).toBeVisible();
    await expectAccessible(page);

    // The link reproduces the comparison, in Korean; the row chosen again by pointer.
    const link = page.url().replace(/^https?:\/\/[^/]+/, '');
    await preferLanguage(page, 'ko');
    await page.goto(link);
    await expectBeforeAfter(page, 'ko');
    const rowKo = await deploymentRow(page, 'ko');
    await rowKo.getByRole('button', { name: CHANGES.ko.open }).click();
    await expect(rowKo.getByRole('button', { name: CHANGES.ko.open })).toHaveAttribute('aria-pressed', 'true');
    await expectBeforeAfter(page, 'ko');
    await expectAccessible(page);
    expect(failures).toEqual([]);
  } finally {
    await regress('off');
  }
});
