// Ingest tokens from the UI: minted, used by a real OpenTelemetry exporter
// with exactly the snippet shown, listed, revoked and then refused; a
// viewer told which role the page needs.
import { expect, test } from '@playwright/test';
import { VIEWER, expectAccessible, screenshot, signIn, withExporterEnv } from './support/platform';

test('an ingest token is minted, used by an OTLP exporter, listed and revoked', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, undefined, 'en', '/settings/tokens');
  await expect(page.getByRole('heading', { level: 1, name: 'Ingest tokens' })).toBeVisible();
  const description = `ui e2e ${Date.now()}`;
  await page.getByLabel('Description').fill(description);
  await page.getByRole('button', { name: 'Create token' }).click();

  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('Copy it now: it is shown only once.')).toBeVisible();
  const snippet = await dialog.getByLabel('Exporter environment').inputValue();
  expect(snippet).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:4317$/m);
  expect(snippet).toMatch(/^OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20ey[\w-]+\.[\w-]+\.[\w-]+$/m);
  await expectAccessible(page);
  await screenshot(page, 'token-minted', 'en');

  // The official Python SDK, configured by the snippet alone, is accepted.
  const service = `ui-e2e-${Date.now()}`;
  const sent = await withExporterEnv(snippet, 'otlp_export.py', [service]);
  expect(sent.stderr + sent.stdout).toContain('exported');
  expect(sent.code).toBe(0);

  await dialog.getByRole('button', { name: 'Done' }).click();
  const row = page.getByRole('row').filter({ hasText: description });
  await expect(row).toBeVisible();
  await expect(row).toContainText('Active');
  await screenshot(page, 'tokens', 'en');

  await row.getByRole('button', { name: /Revoke/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('Revoked');

  // Refused from then on, as revoked.
  const refused = await withExporterEnv(snippet, 'otlp_export.py', [service]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/UNAUTHENTICATED|token revoked/);

  // The Korean page, switched as a person does.
  await page.getByLabel('Language').selectOption({ label: '한국어' });
  await expect(page.getByRole('heading', { level: 1, name: '수집 토큰' })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, 'tokens', 'ko');
});

test('a viewer is told the tokens page needs the admin role', async ({ page }) => {
  await signIn(page, VIEWER, 'en', '/settings/tokens');
  await expect(page.getByText('Managing ingest tokens needs the admin role; you are signed in as viewer.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create token' })).toHaveCount(0);
  await expectAccessible(page);
});
