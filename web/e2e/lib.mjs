// The browser test harness: playwright-core driving Debian's Chromium, a
// fresh profile per test, a screenshot per step, and on failure a trace, a
// screenshot and the page's HTML. Synchronisation is by waiting for elements
// or responses with timeouts, never by sleeping.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const BASE_URL = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
export const ADMIN_EMAIL = process.env.SOUK_ADMIN_EMAIL ?? 'admin@souk.local';
export const ADMIN_PASSWORD = process.env.SOUK_ADMIN_PASSWORD ?? 'souk-admin-dev';
export const ARTIFACTS = process.env.SOUK_ARTIFACTS_DIR ?? fileURLToPath(new URL('../../build/web-e2e/', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TIMEOUT = Number(process.env.SOUK_E2E_TIMEOUT_MS ?? 15_000);

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** A suffix that makes names of this run unique on a shared stack. */
export const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export function unique(prefix) {
  return `${prefix}-${RUN}-${Math.random().toString(36).slice(2, 6)}`;
}

// ---- API helpers (set-up only; what is under test goes through the UI)

export async function apiCall(method, path, { token, body, headers } = {}) {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${text.slice(0, 300)}`);
  return json;
}

export async function apiLogin(email, password) {
  return apiCall('POST', '/auth/login', { body: { email, password } });
}

export async function adminToken() {
  return (await apiLogin(ADMIN_EMAIL, ADMIN_PASSWORD)).access_token;
}

export async function apiRegister(prefix = 'shopper') {
  const email = `${unique(prefix)}@example.com`;
  const password = `pw-${RUN}-secret`;
  const user = await apiCall('POST', '/auth/register', { body: { email, password, name: `E2E ${prefix}` } });
  return { email, password, user };
}

// ---- waiting

export async function until(what, fn, { timeout = TIMEOUT, interval = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    // Not a synchronisation sleep: the interval of a poll bounded by a deadline.
    await new Promise((r) => setTimeout(r, interval));
  }
}

export function expect(cond, message) {
  if (!cond) throw new Error(`expectation failed: ${message}`);
}

// ---- accessibility

/** axe-core on the current page; fails on any serious or critical violation. */
export async function checkA11y(page, name) {
  // Evaluated through the DevTools protocol, which the page's CSP does not
  // govern (a <script> tag would be refused, as it should be).
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`    axe ${name}: ${minor.length} minor/moderate: ${minor.map((v) => v.id).join(', ')}`);
  if (bad.length) {
    throw new Error(
      `axe on ${name}: ${bad.length} serious/critical violation(s):\n` +
        bad.map((v) => `      ${v.impact} ${v.id}: ${v.help} @ ${v.nodes.join(' | ')}`).join('\n'),
    );
  }
  console.log(`    axe ${name}: no serious or critical violation`);
}

// ---- browser and test runner

export async function launch(viewport = { width: 1280, height: 900 }) {
  const profile = mkdtempSync(join(tmpdir(), 'souk-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT * 2);
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

/**
 * Runs one test in a fresh browser. `t.step(name, fn)` runs a step and saves
 * a screenshot after it; a failure saves trace.zip, failure.png and
 * failure.html in the test's artifacts folder.
 */
export async function runTest(name, fn, opts = {}) {
  const dir = join(ARTIFACTS, slug(name));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { context, close } = await launch(opts.viewport);
  await context.tracing.start({ screenshots: true, snapshots: true });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // A Content-Security-Policy refusal breaks the page quietly: count it as an error.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) consoleErrors.push(m.text());
  });
  let n = 0;
  const started = Date.now();
  const t = {
    page,
    context,
    dir,
    async step(stepName, body) {
      n++;
      const label = `${String(n).padStart(2, '0')}-${slug(stepName)}`;
      process.stdout.write(`  - ${stepName}\n`);
      const v = await body();
      await page.screenshot({ path: join(dir, `${label}.png`), fullPage: true });
      return v;
    },
    goto: (path) => page.goto(`${BASE_URL}${path}`),
  };
  console.log(`\n# ${name}`);
  try {
    await fn(t);
    if (consoleErrors.length) throw new Error(`uncaught errors in the page: ${consoleErrors.join('; ')}`);
    await context.tracing.stop();
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return { name, ok: true };
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    try {
      await page.screenshot({ path: join(dir, 'failure.png'), fullPage: true });
      writeFileSync(join(dir, 'failure.html'), await page.content());
      await context.tracing.stop({ path: join(dir, 'trace.zip') });
      console.log(`     artifacts: ${dir} (failure.png, failure.html, trace.zip)`);
    } catch (e2) {
      console.log(`     could not save the failure artifacts: ${e2}`);
    }
    return { name, ok: false, error: String(e) };
  } finally {
    await close();
  }
}

// ---- UI helpers shared by the tests

export async function uiLogin(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}
