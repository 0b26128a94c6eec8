// Canary analysis against the demo's checkout canary: a deep link compares
// v1 with v2 over the last ten minutes (v2 is slower and fails more, so
// the verdict is FAIL, or INCONCLUSIVE while traffic is short); the page
// shows the verdict with reasons in its language and the operations, a
// row opens its distributions, all by keyboard too; a refused field is
// named at the form, an unavailable service offers Retry. Screenshots for docs/ui/, axe in both languages.
import { expect, test, type Page } from '@playwright/test';
import { toSpanFilter } from '../src/api/filters';
import { ADMIN, api, expectAccessible, preferLanguage, screenshot, signIn, type Lang } from './support/platform';

const COMPARE = '/delta?from=now-10m&to=now&baseline=checkout&baselineVersion=v1&candidate=checkout&candidateVersion=v2';
const HANGUL = /[\uac00-\ud7a3]/;

const TEXT = {
  en: { title: 'Canary analysis', verdict: /(PASS|FAIL|INCONCLUSIVE)$/, baseline: 'Baseline', candidate: 'Candidate', service: 'Service', version: 'Version' },
  ko: { title: '변경 분석', verdict: /(통과|실패|판단 불가)$/, baseline: '기준', candidate: '후보', service: '서비스', version: '버전' },
} as const;

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

/** The whole page in the screenshot: the viewport as tall as the page (at most 2400 px), from the top. */
async function shootWhole(page: Page, lang: Lang) {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.min(2400, Math.max(720, height)) });
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

  // By keyboard: from the Compare button, Tab reaches the operation's row; Enter opens it.
  const row = page.getByRole('button', { name: /^checkout POST \/checkout: show its distributions$/ });
  await page.getByRole('button', { name: 'Compare', exact: true }).focus();
  for (let i = 0; i < 60 && !(await row.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
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
  await expectAccessible(page);
  await shootWhole(page, 'en');

  // The same link in Korean, the row selected from the URL.
  const selected = page.url().replace(/^https?:\/\/[^/]+/, '');
  await preferLanguage(page, 'ko');
  await page.goto(selected);
  await expectComparison(page, 'ko');
  await expect(page.getByRole('button', { name: /^checkout POST \/checkout: 분포 보기$/ })).toHaveAttribute('aria-pressed', 'true');
  if (judged) await expect(page.getByRole('figure', { name: /checkout · POST \/checkout의 지연 시간/ })).toBeVisible();
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
