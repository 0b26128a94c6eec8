// Signing in and staying signed in: both languages, wrong passwords, the
// page kept across sign-in, a session outliving its access tokens, sign-out.
import { expect, test } from '@playwright/test';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { AuthService } from '../src/gen/airis/gateway/v1/auth_pb';
import { ACCESS_TTL_SECS, ADMIN, BASE_URL, TENANT, expectAccessible, screenshot, signIn, preferLanguage } from './support/platform';

test('signing in, in English and in Korean', async ({ page }) => {
  await preferLanguage(page, 'en');
  await page.goto('/services');
  // Not signed in: the login page, keeping where the user was going.
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'login', 'en');

  // Sent empty: each field says what it needs, linked to it (aria-invalid,
  // aria-describedby), and the first one has the focus.
  const tenant = page.getByLabel('Tenant');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(tenant).toBeFocused();
  await expect(tenant).toHaveAttribute('aria-invalid', 'true');
  await expect(tenant).toHaveAccessibleDescription('Enter the tenant.');
  await expect(page.getByLabel('Password', { exact: true })).toHaveAccessibleDescription('Enter your password.');

  await tenant.fill(TENANT);
  await page.getByLabel('User name').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The tenant, user name or password is wrong.');
  // The refusal describes every field, and the focus goes back to the first.
  for (const field of [tenant, page.getByLabel('User name'), page.getByLabel('Password', { exact: true })]) {
    await expect(field).toHaveAttribute('aria-invalid', 'true');
    await expect(field).toHaveAccessibleDescription('The tenant, user name or password is wrong.');
  }
  await expect(tenant).toBeFocused();

  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/services/);
  await expect(page.getByRole('heading', { level: 1, name: 'Services' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');

  const ko = await page.context().browser()!.newPage({ baseURL: test.info().project.use.baseURL });
  await signIn(ko, ADMIN, 'ko');
  await expect(ko.getByRole('heading', { level: 1, name: '서비스' })).toBeVisible();
  await expect(ko.locator('html')).toHaveAttribute('lang', 'ko');
  await ko.goto('/login');
  await screenshot(ko, 'login', 'ko');
  await ko.close();
});

test('a deep link survives signing in', async ({ page }) => {
  await preferLanguage(page, 'en');
  await page.goto('/logs?q=%EA%B2%B0%EC%A0%9C&from=now-15m&to=now');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('Tenant').fill(TENANT);
  await page.getByLabel('User name').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/logs\?q=%EA%B2%B0%EC%A0%9C&from=now-15m&to=now/);
  await expect(page.getByLabel('Search', { exact: true })).toHaveValue('결제');
});

test('the session outlives its access tokens, survives a reload and ends at sign-out', async ({ page }) => {
  test.skip(ACCESS_TTL_SECS <= 0 || ACCESS_TTL_SECS > 60, 'needs a platform with short access tokens (tests/tests/ui.rs)');
  test.setTimeout(120_000 + ACCESS_TTL_SECS * 3000);
  await signIn(page);
  // Nothing a script could carry away: no token in storage, the session
  // cookie HttpOnly.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  expect(stored).not.toMatch(/eyJ/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'airis_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Strict');
  expect(session?.path).toBe('/airis.gateway.v1.AuthService/');

  // A call refused as UNAUTHENTICATED (its token replaced by a bad one on
  // the way) is renewed and retried by the page, which keeps working.
  let spoiled = 0;
  await page.route('**/airis.analytics.v1.QueryService/**', (route) => {
    if (spoiled++ > 0) return route.continue();
    return route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer not.a.token' } });
  });
  await page.getByRole('link', { name: 'Logs' }).click();
  await expect(page.getByTestId('log-row').first()).toBeVisible({ timeout: 20_000 });
  expect(spoiled).toBeGreaterThan(1);
  await page.unroute('**/airis.analytics.v1.QueryService/**');

  // Two access-token lifetimes later the app still works, without a sign-in.
  await page.waitForTimeout(2 * ACCESS_TTL_SECS * 1000 + 2000);
  await page.getByRole('link', { name: 'Traces' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Traces' })).toBeVisible();
  await expect(page.getByTestId('trace-row').first()).toBeVisible({ timeout: 20_000 });
  await expect(page).not.toHaveURL(/\/login/);
  // A reload restores the session from the cookie.
  await page.reload();
  await expect(page.getByTestId('trace-row').first()).toBeVisible({ timeout: 20_000 });

  // Sign-out ends the session on the gateway: back to sign-in, and the
  // cookie the browser had renews nothing, whoever replays it.
  const cookie = (await page.context().cookies()).find((c) => c.name === 'airis_session')!;
  await page.getByRole('button', { name: /Account menu/ }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/services');
  await expect(page).toHaveURL(/\/login\?next=/);
  const auth = createClient(AuthService, createGrpcWebTransport({ baseUrl: BASE_URL }));
  const replay = await auth
    .refresh({}, { headers: { cookie: `airis_session=${cookie.value}` } })
    .then(() => 'renewed', (e: unknown) => ConnectError.from(e).code);
  expect(replay).toBe(Code.Unauthenticated);
});
