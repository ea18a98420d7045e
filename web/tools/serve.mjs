#!/usr/bin/env node
// A small server for dist/ that behaves as the gateway is specified to serve
// the front end (ARCHITECTURE.md, "web"), with the API paths proxied to a
// gateway. For development and for running the browser tests before the
// gateway serves the files itself:
//
//   SOUK_API_URL=http://127.0.0.1:8080 PORT=5173 node tools/serve.mjs
//
// - content types by extension; `Cache-Control: public, max-age=31536000,
//   immutable` under /assets/ (hashed names), `no-cache` for everything else;
// - `<file>.gz` with `Content-Encoding: gzip` (+ `Vary: Accept-Encoding`)
//   when the client accepts gzip;
// - GET/HEAD of an unknown non-API path that accepts text/html -> index.html;
//   other unknown paths -> 404;
// - the API prefixes (api-prefixes.json) -> SOUK_API_URL, as they are.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)), process.env.SOUK_WEB_DIST ?? 'dist');
const prefixes = JSON.parse(readFileSync(fileURLToPath(new URL('../api-prefixes.json', import.meta.url)), 'utf8'));
const api = new URL(process.env.SOUK_API_URL ?? 'http://127.0.0.1:8080');
const port = Number(process.env.PORT ?? 5173);
const host = process.env.HOST ?? '127.0.0.1';

export const CSP = process.env.SOUK_WEB_CSP ??
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

function isApi(path) {
  return prefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

function proxy(req, res) {
  const up = http.request(
    {
      host: api.hostname,
      port: api.port || 80,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: api.host, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
    },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', () => {
    if (res.headersSent) return res.destroy();
    res.writeHead(502, { 'Content-Type': 'application/problem+json' });
    res.end(JSON.stringify({ type: 'about:blank', title: 'Bad Gateway', status: 502, detail: 'the gateway is unreachable' }));
  });
  req.pipe(up);
}

function sendFile(req, res, file, status = 200) {
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  const immutable = file.startsWith(join(root, 'assets') + '/');
  const headers = {
    'Content-Type': type,
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  };
  // The policy the gateway should send with index.html: the build needs no
  // inline script; Radix injects a <style> element while a dialog is open.
  if (type.startsWith('text/html')) headers['Content-Security-Policy'] = CSP;
  let path = file;
  const gz = `${file}.gz`;
  if (existsSync(gz)) {
    headers.Vary = 'Accept-Encoding';
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      path = gz;
      headers['Content-Encoding'] = 'gzip';
    }
  }
  headers['Content-Length'] = statSync(path).size;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return res.end();
  createReadStream(path).pipe(res);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (isApi(url.pathname)) return proxy(req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' });
    return res.end();
  }
  let path;
  try {
    path = normalize(join(root, decodeURIComponent(url.pathname)));
  } catch {
    res.writeHead(400);
    return res.end();
  }
  if (path.startsWith(root) && existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
  if (path.startsWith(root) && existsSync(path) && statSync(path).isFile() && !path.endsWith('.gz')) {
    return sendFile(req, res, path);
  }
  if ((req.headers.accept ?? '').includes('text/html')) return sendFile(req, res, join(root, 'index.html'));
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
});

server.listen(port, host, () => {
  console.log(`serve: ${root} on http://${host}:${port}/, API -> ${api.origin}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
