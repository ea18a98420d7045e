#!/usr/bin/env node
// Runs the browser suite against BASE_URL (the gateway, or tools/serve.mjs).
//   BASE_URL=http://127.0.0.1:8080 SOUK_ADMIN_EMAIL=... SOUK_ADMIN_PASSWORD=... node e2e/run.mjs [filter]
import { mkdirSync } from 'node:fs';
import { adminOrdersAndUsers, customerRefused, phoneAndKeyboard, reportsDashboard, sessionRefresh } from './access.test.mjs';
import { ARTIFACTS, BASE_URL } from './lib.mjs';
import { serving } from './serving.test.mjs';
import { adminCreatesShopperFinds, shopperJourney } from './shop.test.mjs';

if (!BASE_URL) {
  console.error('e2e: BASE_URL is not set (e.g. BASE_URL=http://127.0.0.1:8080)');
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

const suites = { serving, shopperJourney, adminCreatesShopperFinds, adminOrdersAndUsers, customerRefused, sessionRefresh, reportsDashboard, phoneAndKeyboard };
const filter = process.argv[2];
const started = Date.now();
const results = [];
console.log(`e2e: ${BASE_URL}, artifacts in ${ARTIFACTS}`);
for (const [key, fn] of Object.entries(suites)) {
  if (filter && !key.toLowerCase().includes(filter.toLowerCase())) continue;
  const r = await fn();
  results.push(...(Array.isArray(r) ? r : [r]));
}
const failed = results.filter((r) => !r.ok);
console.log(`\ne2e: ${results.length - failed.length} passed, ${failed.length} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
for (const f of failed) console.log(`  FAIL ${f.name}`);
process.exit(failed.length || results.length === 0 ? 1 : 0);
