// graphiql-check.mjs: GraphiQL as a browser sees it at the gateway. Debian's
// chromium (driven by playwright-core) opens BASE_URL/graphql, which must
// load GraphiQL from the gateway alone (no request to another origin) under
// its Content-Security-Policy (no violation, no page error), fetch the
// schema by introspection, show the schema's root fields in its docs
// explorer, and run a product query whose answer equals the REST one. A
// screenshot of the page with the answer goes to SOUK_ARTIFACTS_DIR
// (default build/graphiql): graphiql.png, and failure.png on a failure.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/graphql/graphiql-check.mjs
//
// CHROMIUM_PATH (default /usr/bin/chromium), SOUK_E2E_TIMEOUT_MS (15000).
// Waits are for elements and responses with timeouts, never sleeps.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
const ARTIFACTS =
  process.env.SOUK_ARTIFACTS_DIR ?? fileURLToPath(new URL('../../build/graphiql/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TIMEOUT = Number(process.env.SOUK_E2E_TIMEOUT_MS ?? 15_000);

if (!BASE) {
  console.error('graphiql-check: BASE_URL is not set (e.g. BASE_URL=http://127.0.0.1:8080)');
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

function check(ok, what) {
  if (!ok) throw new Error(what);
  console.log(`  ok: ${what}`);
}

async function rest(path) {
  const res = await fetch(`${BASE}${path}`, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${path} -> ${res.status}`);
  return res.json();
}

const isGraphqlPost = (r, needle) =>
  r.url() === `${BASE}/graphql` && r.request().method() === 'POST' && (r.request().postData() ?? '').includes(needle);

async function main() {
  const product = (await rest('/products?limit=1&sort=price')).items[0];
  check(product?.id, `the catalog has a product (${product?.name})`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems = [];
  const elsewhere = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${BASE}/`) && !url.startsWith('data:')) elsewhere.push(url);
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  try {
    const introspected = page.waitForResponse((r) => isGraphqlPost(r, '__schema'), { timeout: TIMEOUT });
    const nav = await page.goto(`${BASE}/graphql`, { timeout: TIMEOUT });
    check(nav.status() === 200, 'GET /graphql answers a page to the browser');
    const csp = nav.headers()['content-security-policy'] ?? '';
    check(/script-src 'self'(;|$)/.test(csp) && /connect-src 'self'/.test(csp), `the page has a strict policy (${csp})`);
    const schemaResp = await introspected;
    const schema = await schemaResp.json();
    check(
      schemaResp.status() === 200 && schema.data?.__schema?.queryType?.name === 'Query' && !schema.errors,
      `GraphiQL's introspection query answers (${schema.data?.__schema?.types?.length} types)`,
    );
    await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: TIMEOUT });

    await page.getByRole('button', { name: /documentation explorer/i }).click({ timeout: TIMEOUT });
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().click({ timeout: TIMEOUT });
    await docs.getByText('salesReport', { exact: true }).first().waitFor({ timeout: TIMEOUT });
    check(true, 'the docs explorer lists the schema (Query.salesReport)');

    const query = `query ProductPage {\n  product(id: "${product.id}") {\n    id\n    name\n    priceCents\n    currency\n    stock\n  }\n}\n`;
    await page.evaluate((q) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q), query);
    // GraphiQL takes the operation's name from the editor after a short debounce: the tab shows it.
    await page.locator('.graphiql-tab', { hasText: 'ProductPage' }).waitFor({ timeout: TIMEOUT });
    const answered = page.waitForResponse((r) => isGraphqlPost(r, 'ProductPage'), { timeout: TIMEOUT });
    await page.locator('.graphiql-execute-button').click({ timeout: TIMEOUT });
    check((await answered).status() === 200, 'running the query: POST /graphql 200');
    const shown = await page.waitForFunction(
      (name) => {
        const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
        const text = cm?.getValue() ?? '';
        return text.includes(name) ? text : null;
      },
      product.name,
      { timeout: TIMEOUT },
    );
    const result = JSON.parse(await shown.jsonValue());
    const want = {
      id: product.id,
      name: product.name,
      priceCents: product.price_cents,
      currency: product.currency,
      stock: (await rest(`/products/${product.id}`)).stock,
    };
    check(
      JSON.stringify(result) === JSON.stringify({ data: { product: want } }),
      `GraphiQL shows the answer, equal to GET /products/{id}: ${JSON.stringify(result)}`,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'graphiql.png'), fullPage: true });
    console.log(`  screenshot: ${join(ARTIFACTS, 'graphiql.png')}`);

    const csp_violations = await page.evaluate(() => window.__cspViolations);
    check(csp_violations.length === 0, `no Content-Security-Policy violation ${JSON.stringify(csp_violations)}`);
    check(elsewhere.length === 0, `nothing loaded from another origin ${JSON.stringify(elsewhere)}`);
    check(problems.length === 0, `no page or console error ${JSON.stringify(problems)}`);
  } catch (e) {
    await page.screenshot({ path: join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

console.log(`graphiql-check: ${BASE}/graphql, artifacts in ${ARTIFACTS}`);
main().then(
  () => console.log('graphiql-check: passed'),
  (e) => {
    console.error(`graphiql-check: FAILED: ${e.message}`);
    process.exit(1);
  },
);
