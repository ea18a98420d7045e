import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter } from 'react-router';
import type { TokenPair, User } from '../api/types';
import { AuthProvider } from '../auth/AuthProvider';
import { SessionManager } from '../auth/session';
import { CartProvider } from '../cart/CartProvider';

function b64url(s: string): string {
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** An unsigned token with these claims: the front end only reads claims. */
export function fakeJwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'ES256', kid: 'k' }))}.${b64url(JSON.stringify(claims))}.sig`;
}

export function fakeUser(over: Partial<User> = {}): User {
  return {
    id: 'u1',
    email: 'ada@example.com',
    name: 'Ada',
    roles: ['customer'],
    disabled: false,
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    ...over,
  };
}

export function fakePair(roles: string[] = ['customer'], extra: Record<string, unknown> = {}, n = 1): TokenPair {
  const user = fakeUser({ roles });
  return {
    access_token: fakeJwt({ sub: user.id, roles, exp: 9_999_999_999, n, ...extra }),
    token_type: 'Bearer',
    expires_in: 900,
    refresh_token: `refresh-${n}`,
    user,
  };
}

export interface JsonRoute {
  method?: string;
  path: string | RegExp;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fetch that answers from a list of routes (first match); others get 404 problem+json. */
export function mockFetch(routes: JsonRoute[]) {
  const calls: { method: string; path: string; headers: Record<string, string>; body: unknown }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://localhost');
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ method, path: url.pathname + url.search, headers, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const r = routes.find(
      (x) =>
        (x.method ?? 'GET') === method &&
        (typeof x.path === 'string' ? x.path === url.pathname || x.path === url.pathname + url.search : x.path.test(url.pathname + url.search)),
    );
    const status = r ? (r.status ?? 200) : 404;
    const body = r ? r.body : { type: 'about:blank', title: 'Not Found', status: 404, detail: 'no such resource', request_id: 'rid-404' };
    const problem = status >= 400;
    return new Response(status === 204 ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': problem ? 'application/problem+json' : 'application/json', 'X-Request-Id': 'hdr-rid', ...r?.headers },
    });
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}

export function renderApp(ui: ReactElement, { path = '/', pair }: { path?: string; pair?: TokenPair } = {}) {
  const manager = new SessionManager({
    refresh: async () => {
      throw new Error('no refresh in this test');
    },
    logout: async () => {},
    storage: localStorage,
    locks: null,
  });
  if (pair) manager.setTokens(pair);
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const result = render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider manager={manager}>
          <CartProvider>{ui}</CartProvider>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { ...result, manager, client };
}
