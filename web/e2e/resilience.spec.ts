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

test('the time picker and the account menu take the focus, close on Escape and give it back', async ({ page }) => {
  await signIn(page, undefined, 'en', '/services?from=now-1h&to=now');
  await expect(page.getByTestId('service-row').first()).toBeVisible();

  const range = page.getByRole('button', { name: /^Time range:/ });
  await range.focus();
  await page.keyboard.press('Enter');
  const picker = page.getByRole('dialog', { name: 'Time range' });
  await expect(picker).toBeVisible();
  await expect(range).toHaveAttribute('aria-expanded', 'true');
  // The range shown has the focus.
  await expect(picker.getByRole('button', { name: 'Last 1 hour' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(picker).toBeHidden();
  await expect(range).toBeFocused();
  await expect(range).toHaveAttribute('aria-expanded', 'false');

  // A preset chosen by keyboard closes the picker and leaves the focus on its button.
  await page.keyboard.press('Enter');
  await picker.getByRole('button', { name: 'Last 15 minutes' }).focus();
  await page.keyboard.press('Enter');
  await expect(picker).toBeHidden();
  await expect(range).toBeFocused();
  await expect(page).toHaveURL(/from=now-15m/);

  const account = page.getByRole('button', { name: 'Account menu for admin' });
  await account.focus();
  await page.keyboard.press('Enter');
  const menu = page.getByRole('dialog', { name: 'Account' });
  await expect(menu).toBeVisible();
  await expect(menu).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(menu.getByRole('button', { name: 'Sign out' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(account).toBeFocused();
  // Not modal: Tab past its last control leaves it, and it closes.
  await page.keyboard.press('Enter');
  await expect(menu).toBeVisible();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(menu).toBeHidden();
  await expect(page).toHaveURL(/\/services/);
});
