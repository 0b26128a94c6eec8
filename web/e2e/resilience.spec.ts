// When the mesh fails calls (its fault injection on), the page says so,
// offers a retry and stays usable; the keyboard reaches everything.
import { expect, test } from '@playwright/test';
import { expectAccessible, ingressRuntime, screenshot, signIn } from './support/platform';

test.afterEach(async () => {
  await ingressRuntime({ 'fault.analytics.abort_percent': 0 });
});

test('with every query failing, the page shows a retry and no blank page', async ({ page }) => {
  await signIn(page, undefined, 'en', '/services');
  await expect(page.getByTestId('service-row').first()).toBeVisible();
  await ingressRuntime({ 'fault.analytics.abort_percent': 100 });
  await page.reload();
  const retry = page.getByRole('button', { name: 'Retry' }).first();
  await expect(retry).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('The service is unavailable right now. Retrying usually helps.').first()).toBeVisible();
  // The rest of the page works: navigation, the time picker.
  await expect(page.getByRole('navigation', { name: 'Main navigation' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'unavailable', 'en');
  await ingressRuntime({ 'fault.analytics.abort_percent': 0 });
  await retry.click();
  await expect(page.getByTestId('service-row').first()).toBeVisible();
});

test('the keyboard reaches the navigation, the time picker and the page', async ({ page }) => {
  await signIn(page, undefined, 'en', '/services');
  await expect(page.getByTestId('service-row').first()).toBeVisible();
  const reached = new Set<string>();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    // The focused element's accessible name: aria-label, its <label>, or its text.
    const name = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return '';
      const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
      return (el.getAttribute('aria-label') ?? label ?? el.textContent ?? '').trim();
    });
    reached.add(name);
  }
  for (const target of ['Services', 'Service map', 'Traces', 'Logs', 'Metrics', 'Ingest tokens', 'Time range', 'Language']) {
    expect([...reached].some((n) => n.includes(target)), `${target} reachable by Tab`).toBe(true);
  }
  // A service link, by keyboard: Enter opens it.
  const link = page.getByTestId('service-row').first().getByRole('link').first();
  await link.focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/services\/[^/?]+/);
});
