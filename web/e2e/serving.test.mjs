// How the built files are served (the gateway's part of the contract).
import { BASE_URL, expect, runTest } from './lib.mjs';

export async function serving() {
  return runTest('the front end is served with the right headers and SPA fallback', async (t) => {
    const { page } = t;
    let assetPath;
    await t.step('index.html: no-cache', async () => {
      const res = await fetch(`${BASE_URL}/`, { headers: { Accept: 'text/html' } });
      expect(res.status === 200, `GET / -> ${res.status}`);
      expect((res.headers.get('content-type') ?? '').startsWith('text/html'), `content type ${res.headers.get('content-type')}`);
      expect(/no-cache/.test(res.headers.get('cache-control') ?? ''), `cache-control ${res.headers.get('cache-control')}`);
      const html = await res.text();
      assetPath = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
      expect(assetPath, 'index.html loads a hashed script under /assets/');
      await t.goto('/');
    });
    await t.step('hashed assets: immutable, gzip when accepted', async () => {
      const res = await fetch(`${BASE_URL}${assetPath}`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(res.status === 200, `GET ${assetPath} -> ${res.status}`);
      expect(/javascript/.test(res.headers.get('content-type') ?? ''), `content type ${res.headers.get('content-type')}`);
      const cc = res.headers.get('cache-control') ?? '';
      expect(/max-age=31536000/.test(cc) && /immutable/.test(cc), `cache-control ${cc}`);
      expect(res.headers.get('content-encoding') === 'gzip', `content-encoding ${res.headers.get('content-encoding')}`);
      const body = await res.text(); // fetch decodes gzip
      expect(body.length > 1000, 'the script decodes');
    });
    await t.step('a deep link reloads into the app; API paths stay API', async () => {
      await t.goto('/item/00000000-0000-4000-8000-000000000000');
      await page.getByRole('heading', { name: 'Product not found' }).waitFor();
      await page.reload();
      await page.getByRole('heading', { name: 'Product not found' }).waitFor();
      const api = await fetch(`${BASE_URL}/products?limit=1`, { headers: { Accept: 'text/html,application/json' } });
      expect((api.headers.get('content-type') ?? '').includes('json'), 'GET /products answers JSON, not index.html');
      const missing = await fetch(`${BASE_URL}/assets/does-not-exist.js`);
      expect(missing.status === 404, `a missing asset is a 404 (got ${missing.status})`);
    });
  });
}
