// After `vite build`: writes a .gz sibling of every text file in dist/ (the
// gateway serves it to clients that accept gzip) and reports what the first
// visit to the catalog downloads: the JavaScript index.html loads (entry and
// modulepreloads), gzip-compressed. Fails when it is over the budget.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const BUDGET_KB = Number(process.env.SOUK_WEB_JS_BUDGET_KB ?? 200);
const TEXT = /\.(html|js|mjs|css|svg|json|txt|map|webmanifest|xml|ico)$/;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const sizes = new Map();
let count = 0;
for (const file of walk(dist)) {
  if (file.endsWith('.gz') || !TEXT.test(file)) continue;
  const raw = readFileSync(file);
  const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(`${file}.gz`, gz);
  sizes.set(relative(dist, file), { raw: raw.length, gz: gz.length });
  count++;
}

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const firstLoad = new Set();
for (const m of html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)) {
  firstLoad.add(m[1]);
}
for (const m of html.matchAll(/<link[^>]*\shref="\/?([^"]+\.js)"[^>]*rel="modulepreload"/g)) firstLoad.add(m[1]);
const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="\/?([^"]+\.css)"/g)].map((m) => m[1]);

const kb = (n) => (n / 1024).toFixed(1);
let jsGz = 0;
let jsRaw = 0;
console.log(`postbuild: ${count} text files compressed (.gz siblings written)`);
console.log('postbuild: first load of the catalog page:');
for (const f of firstLoad) {
  const s = sizes.get(f);
  if (!s) throw new Error(`index.html refers to ${f}, which is not in dist/`);
  jsGz += s.gz;
  jsRaw += s.raw;
  console.log(`  ${f.padEnd(44)} ${kb(s.raw).padStart(8)} KB  ${kb(s.gz).padStart(7)} KB gzip`);
}
for (const f of css) {
  const s = sizes.get(f);
  if (s) console.log(`  ${f.padEnd(44)} ${kb(s.raw).padStart(8)} KB  ${kb(s.gz).padStart(7)} KB gzip (css)`);
}
const lazy = [...sizes].filter(([f]) => f.endsWith('.js') && !firstLoad.has(f));
console.log(`postbuild: ${lazy.length} lazy chunks (back office, charts): ${kb(lazy.reduce((n, [, s]) => n + s.gz, 0))} KB gzip`);
console.log(
  `postbuild: FIRST-LOAD JS ${kb(jsGz)} KB gzip (${kb(jsRaw)} KB raw); budget ${BUDGET_KB} KB -> ${
    jsGz <= BUDGET_KB * 1024 ? 'ok' : 'OVER BUDGET'
  }`,
);
if (jsGz > BUDGET_KB * 1024) process.exit(1);
