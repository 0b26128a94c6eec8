// The search bar of every page against the demo's telemetry: completions
// of the word being typed from the tenant's names (by keyboard, and a
// Korean word reaching a service through the glossary), a question opening
// the page that owns its signal with the interpretation as that page's
// filters and as chips above it (anomalies on Anomalies), a chip edited and one removed,
// a word not understood offered its likely name, comparisons judged by
// the delta service (of two ranges, of a canary's versions); in English
// and Korean. Screenshots for docs/ui/,
// axe on the bar and the chips.
import { expect, test, type Page } from '@playwright/test';
import { ADMIN, api, expectAccessible, nanos, screenshot, signIn } from './support/platform';

const HANGUL = /[\uac00-\ud7a3]/;

function bar(page: Page, name: string) {
  return page.getByRole('combobox', { name });
}

test('a question typed with completions opens its traces, its parts as chips; a chip edited asks again, one removed widens the search', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await signIn(page, ADMIN, 'en', '/services');
  const input = bar(page, 'Ask or search');
  // "/" focuses the bar from anywhere that is not a field.
  await page.locator('main').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('/');
  await expect(input).toBeFocused();
  await input.pressSequentially('requests in chec', { delay: 20 });
  const options = page.getByRole('listbox', { name: 'Names of your services, operations, metrics and attributes' });
  await expect(options.getByRole('option').first()).toContainText('checkout');
  await expect(input).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowDown');
  await expect(options.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Enter');
  await expect(input).toHaveValue('requests in checkout ');
  await input.pressSequentially('over 100ms in the last 30 minutes');
  // Enter with no completion chosen asks.
  await page.keyboard.press('Enter');

  // The traces page, filtered as understood.
  await expect(page).toHaveURL(/\/traces\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get('service')).toBe('checkout');
  expect(url.searchParams.get('minMs')).toBe('100');
  expect(Number(url.searchParams.get('to')) - Number(url.searchParams.get('from'))).toBe(30 * 60_000);
  const understood = page.getByRole('region', { name: 'Understood as' });
  await expect(understood).toBeVisible();
  await expect(understood.getByTestId('rendering')).not.toBeEmpty();
  const chips = understood.getByRole('list', { name: 'Parts of the question' }).getByTestId('chip');
  await expect(chips.filter({ hasText: 'Service' })).toContainText('checkout');
  await expect(chips.filter({ hasText: 'Duration' })).toContainText('> 100 ms');
  await expect(chips.filter({ hasText: 'Time' })).toBeVisible();
  // The page's own form holds the filters, and its results are checkout's.
  await expect(page.getByRole('heading', { level: 1, name: 'Traces' })).toBeVisible();
  await expect(page.getByLabel('Service', { exact: true })).toHaveValue('checkout');
  await expectAccessible(page);
  await screenshot(page, 'search', 'en');

  // Removing the duration widens the search: the page follows.
  const count = await chips.count();
  await understood.getByRole('button', { name: 'Remove Duration: > 100 ms' }).click();
  await expect(chips).toHaveCount(count - 1);
  await expect(page).not.toHaveURL(/minMs=/);
  await expect(page).toHaveURL(/service=checkout/);
  // Back returns to the question as asked.
  await page.goBack();
  await expect(page).toHaveURL(/minMs=100/);
  await expect(chips).toHaveCount(count);
  // A value edited in place asks again: a number refused says so, Escape keeps the old one.
  await understood.getByRole('button', { name: 'Edit Duration: > 100 ms' }).click();
  const editor = understood.getByRole('textbox', { name: /^New Duration/ });
  await expect(editor).toBeFocused();
  await editor.fill('fast');
  await editor.press('Enter');
  await expect(editor).toHaveAttribute('aria-invalid', 'true');
  await editor.press('Escape');
  await expect(editor).toHaveCount(0);
  await understood.getByRole('button', { name: 'Edit Duration: > 100 ms' }).click();
  await editor.fill('250');
  await editor.press('Enter');
  await expect(page).toHaveURL(/minMs=250/);
  await expect(chips.filter({ hasText: 'Duration' })).toContainText('> 250 ms');
  await page.goBack();
  await expect(page).toHaveURL(/minMs=100/);
  // Clear leaves the page's filters and drops the chips.
  await understood.getByRole('button', { name: 'Clear' }).click();
  await expect(understood).toHaveCount(0);
  await expect(page).toHaveURL(/service=checkout/);
  expect(failures).toEqual([]);
});

test('in Korean: a glossary word completes to the service, error logs open Logs, a word not understood offers the name it may mean', async ({ page }) => {
  await signIn(page, ADMIN, 'ko', '/services');
  const input = bar(page, '질문하거나 검색');
  await input.click();
  await input.pressSequentially('결', { delay: 20 });
  const option = page.getByRole('option').filter({ hasText: 'payment' }).first();
  await expect(option).toContainText('결제');
  await input.fill('지난 1시간 동안 결제 서비스 에러 로그');
  await page.keyboard.press('Enter');

  await expect(page).toHaveURL(/\/logs\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get('service')).toBe('payment');
  expect(url.searchParams.get('severity')).toBe('error');
  const understood = page.getByRole('region', { name: '이렇게 이해했습니다' });
  await expect(understood.getByTestId('rendering')).toHaveText(HANGUL);
  const chips = understood.getByTestId('chip');
  await expect(chips.filter({ hasText: '서비스' })).toContainText('payment');
  await expect(chips.filter({ hasText: '찾는 것' })).toContainText('로그');
  await expectAccessible(page);
  await screenshot(page, 'search', 'ko');

  // A word that is none of the tenant's names: not understood, never
  // guessed (no service filter); the name it may have meant asks again.
  await input.fill('crat 에러 로그');
  await page.keyboard.press('Enter');
  const unplaced = understood.getByTestId('unplaced');
  await expect(unplaced).toContainText('crat');
  await expect(page).toHaveURL(/ask=crat/);
  expect(new URL(page.url()).searchParams.get('service')).toBeNull();
  await unplaced.getByRole('button', { name: 'cart' }).click();
  await expect(page).toHaveURL(/service=cart/);
  await expect(input).toHaveValue('cart 에러 로그');
  await expect(understood.getByTestId('unplaced')).toHaveCount(0);
});

test('a summary is answered under its chips by the query service, as the user', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await signIn(page, ADMIN, 'en', '/services');
  const input = bar(page, 'Ask or search');
  await input.fill('checkout requests by operation in the last 15 minutes');
  await page.keyboard.press('Enter');

  // The service's page, and above it the answer: checkout's operations,
  // the ones the query service gives for the same range.
  await expect(page).toHaveURL(/\/services\/checkout\?/);
  const answer = page.getByTestId('ask-answer');
  await expect(answer.getByRole('heading', { name: /Answer/ })).toContainText('ServiceOverview');
  const rows = answer.getByRole('row');
  await expect(rows.nth(1)).toBeVisible();
  const url = new URL(page.url());
  const client = await api();
  const overview = await client.serviceOverview({
    timeRange: { startUnixNano: nanos(Number(url.searchParams.get('from'))), endUnixNano: nanos(Number(url.searchParams.get('to'))) },
    serviceName: 'checkout',
    entrySpansOnly: true,
  });
  const expected = overview.series.map((s) => s.operation).sort();
  expect(expected.length).toBeGreaterThan(0);
  const shown = (await answer.getByRole('rowheader').allTextContents()).sort();
  expect(shown).toEqual(expected);
  await expect(answer.getByRole('columnheader', { name: 'Error rate' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'search-answer', 'en');
  // An operation's row leads to its traces.
  await answer.getByRole('rowheader').first().getByRole('link').click();
  await expect(page).toHaveURL(/\/traces\?.*operation=/);
  expect(failures).toEqual([]);
});

test('in Korean: the three services with the highest error rate, largest first', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await signIn(page, ADMIN, 'ko', '/services');
  const korean = bar(page, '질문하거나 검색');
  await korean.fill('지난 30분 동안 서비스별 에러율 상위 3개');
  await page.keyboard.press('Enter');
  const answerKo = page.getByTestId('ask-answer');
  await expect(answerKo.getByRole('heading', { name: /결과/ })).toBeVisible();
  const rates = answerKo.locator('td.asked');
  await expect(rates).toHaveCount(3);
  const values = (await rates.allTextContents()).map((v) => Number.parseFloat(v.replace(/[^0-9.]/g, '')));
  expect([...values].sort((a, b) => b - a)).toEqual(values);
  await expect(answerKo.getByRole('columnheader', { name: '오류율' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'search-answer', 'ko');
  expect(failures).toEqual([]);
});

test('anomalies asked in Korean open Anomalies with the service and the error signal, as filters the page shows', async ({ page }) => {
  await signIn(page, ADMIN, 'ko', '/services');
  const input = bar(page, '질문하거나 검색');
  await input.fill('지난 1시간 동안 결제 서비스 에러 이상 징후');
  await page.keyboard.press('Enter');

  await expect(page).toHaveURL(/\/anomalies\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get('service')).toBe('payment');
  expect(url.searchParams.getAll('signal')).toEqual(['errorRate']);
  await expect(page.getByRole('heading', { level: 1, name: '이상 징후' })).toBeVisible();
  const understood = page.getByRole('region', { name: '이렇게 이해했습니다' });
  const chips = understood.getByTestId('chip');
  await expect(chips.filter({ hasText: '찾는 것' })).toContainText('이상 징후');
  await expect(chips.filter({ hasText: '서비스' })).toContainText('payment');
  // The page's own form holds the interpretation: the service, the signal.
  const form = page.getByRole('form', { name: '이상 징후 필터' });
  await expect(form.getByLabel('서비스', { exact: true })).toHaveValue('payment');
  await expect(form.getByRole('checkbox', { name: '오류율' })).toBeChecked();
  await expect(form.getByRole('checkbox', { checked: true })).toHaveCount(1);
  await expectAccessible(page);
  await screenshot(page, 'search-anomalies', 'ko');
});

test('in Korean: an error rate compared with yesterday is judged by the delta service, and opens on Canary analysis', async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await signIn(page, ADMIN, 'ko', '/services');
  await bar(page, '질문하거나 검색').fill('결제 에러율 어제보다');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/services\/payment\?/);
  const answer = page.getByTestId('ask-answer');
  // The numbers now and a day before, and the judgement of the change.
  await expect(answer.getByRole('columnheader', { name: '이전 오류율' })).toBeVisible();
  const judgement = answer.getByRole('region', { name: '나빠졌나요?' });
  await expect(judgement).toContainText('어제 대비 오늘');
  const verdict = (await judgement.getByTestId('ask-verdict').textContent()) ?? '';
  expect(verdict).toMatch(/통과|실패|판단 불가/);
  if (!verdict.includes('통과')) {
    // Not passed: the reasons say why, in Korean.
    const reasons = judgement.getByRole('list', { name: '이유' }).getByRole('listitem');
    await expect(reasons.first()).toContainText(HANGUL);
  }
  await expectAccessible(page);
  await screenshot(page, 'search-judgement', 'ko');

  // The same two ranges of payment on Canary analysis, every signal judged.
  await judgement.getByRole('link', { name: '변경 분석에서 두 범위의 모든 신호 보기' }).click();
  await expect(page).toHaveURL(/\/delta\?/);
  const url = new URL(page.url());
  expect(url.searchParams.get('baseline')).toBe('payment');
  expect(url.searchParams.get('candidate')).toBe('payment');
  const day = Number(url.searchParams.get('candidateFrom')) - Number(url.searchParams.get('baselineFrom'));
  expect(day).toBe(86_400_000);
  await expect(page.getByTestId('verdict')).toBeVisible();
  expect(failures).toEqual([]);
});

test("a canary's error rate: the versions chosen from the demo's checkout, answered per version and judged", async ({ page }) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await signIn(page, ADMIN, 'en', '/services');
  await bar(page, 'Ask or search').fill('checkout canary error rate');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/services\/checkout\?/);
  // The versions as chosen: the one with the most requests is the baseline.
  await expect(page.getByRole('list', { name: 'Parts of the question' }).getByTestId('chip').filter({ hasText: 'Versions' })).toContainText('v2 against v1');
  const answer = page.getByTestId('ask-answer');
  await expect(answer.getByRole('columnheader', { name: 'Error rate of v1' })).toBeVisible();
  const judgement = answer.getByRole('region', { name: 'Did it get worse?' });
  await expect(judgement).toContainText('v2 against v1');
  await expect(judgement.getByTestId('ask-verdict')).toHaveText(/PASS|FAIL|INCONCLUSIVE/);
  await expectAccessible(page);
  await screenshot(page, 'search-canary', 'en');

  // The two versions on Canary analysis, over the same range.
  await judgement.getByRole('link', { name: 'Every signal of these two versions on Canary analysis' }).click();
  await expect(page).toHaveURL(/\/delta\?/);
  const url = new URL(page.url());
  expect([url.searchParams.get('baselineVersion'), url.searchParams.get('candidateVersion')]).toEqual(['v1', 'v2']);
  expect([url.searchParams.get('baseline'), url.searchParams.get('candidate')]).toEqual(['checkout', 'checkout']);
  await expect(page.getByTestId('verdict')).toBeVisible();
  expect(failures).toEqual([]);
});

test('in Korean: two versions named open Canary analysis on them', async ({ page }) => {
  await signIn(page, ADMIN, 'ko', '/services');
  await bar(page, '질문하거나 검색').fill('체크아웃 v2 대 v1');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/delta\?/);
  const url = new URL(page.url());
  expect([url.searchParams.get('baselineVersion'), url.searchParams.get('candidateVersion')]).toEqual(['v1', 'v2']);
  await expect(page.getByRole('list', { name: '질문의 구성 요소' }).getByTestId('chip').filter({ hasText: '버전 비교' })).toContainText('v2 대 v1');
  await expect(page.getByTestId('verdict')).toBeVisible();
});
