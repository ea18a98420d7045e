/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import prefixes from './api-prefixes.json' with { type: 'json' };

// API prefixes the gateway routes. In development (`npm run dev`) and with
// `vite preview` they are proxied to SOUK_API_URL (default: a local gateway);
// in production the gateway serves this build at `/` on the same origin.
// The shop's own routes never start with one of these (see src/routes.ts).
export const API_PREFIXES: string[] = prefixes;

const target = process.env.SOUK_API_URL ?? 'http://127.0.0.1:8080';
// One rule for whole path segments only ("/me" must not catch "/merch").
const escaped = API_PREFIXES.map((p) => p.replace(/[.]/g, '\\.')).join('|');
const proxy = {
  [`^(${escaped})(/|\\?|$)`]: { target, changeOrigin: false, xfwd: true },
};

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    sourcemap: false,
    assetsDir: 'assets',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
  },
  server: { proxy },
  preview: { proxy },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
