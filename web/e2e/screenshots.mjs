#!/usr/bin/env node
// Screenshots for the README: the catalog, the back office's products and,
// when analytics answers, the reports dashboard. Best on a fresh stack with
// the demo catalog only.
//   BASE_URL=http://127.0.0.1:8080 node e2e/screenshots.mjs [out-dir]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, launch, uiLogin } from './lib.mjs';

const out = resolve(process.argv[2] ?? '../docs/screenshots');
mkdirSync(out, { recursive: true });
const { context, close } = await launch({ width: 1280, height: 860 });
const page = context.pages()[0] ?? (await context.newPage());
try {
  await page.goto(`${BASE_URL}/?sort=name`);
  await page.getByTestId('product-grid').waitFor();
  await page.screenshot({ path: join(out, 'catalog.png') });
  console.log(`screenshots: ${join(out, 'catalog.png')}`);

  await page.goto(`${BASE_URL}/login?next=/admin/products`);
  await uiLogin(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.getByTestId('admin-product-row').first().waitFor();
  await page.screenshot({ path: join(out, 'admin-products.png') });
  console.log(`screenshots: ${join(out, 'admin-products.png')}`);

  await page.goto(`${BASE_URL}/admin/reports`);
  const kpi = page.getByTestId('kpi-revenue');
  const absent = page.getByText('are not available on this installation yet');
  await kpi.or(absent).first().waitFor();
  if (await kpi.isVisible()) {
    await page.locator('.recharts-surface').first().waitFor();
    await page.screenshot({ path: join(out, 'reports.png'), fullPage: true });
    console.log(`screenshots: ${join(out, 'reports.png')}`);
  } else {
    console.log('screenshots: reports are not deployed here; no reports.png');
  }
} finally {
  await close();
}
