import { mockFetch } from '../test/utils';
import { ApiError, humanMessage } from './errors';
import { request, setAuthHooks } from './http';

afterEach(() => setAuthHooks(null));

describe('request', () => {
  it('turns problem+json into an ApiError with the request id and field errors', async () => {
    mockFetch([
      {
        method: 'POST',
        path: '/auth/register',
        status: 400,
        body: { title: 'Bad Request', status: 400, detail: 'the request has invalid fields', request_id: 'rid-1', errors: [{ field: 'email', message: 'must be a valid email address' }] },
      },
    ]);
    const e = await request<never>('/auth/register', { method: 'POST', body: {} }).catch((x: unknown) => x as ApiError);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.requestId).toBe('rid-1');
    expect(e.errors).toEqual([{ field: 'email', message: 'must be a valid email address' }]);
    expect(humanMessage(e)).toBe('Some fields need your attention.');
  });

  it('speaks plainly about failures', () => {
    expect(humanMessage(new ApiError(0))).toMatch(/could not reach souk/);
    expect(humanMessage(new ApiError(503))).toMatch(/temporarily unavailable/);
    expect(humanMessage(new ApiError(429, {}, null, 30))).toBe('Too many attempts. Please wait 30 seconds and try again.');
    expect(humanMessage(new ApiError(409, { detail: 'the order is already cancelled' }))).toBe('The order is already cancelled');
    expect(humanMessage(new Error('x'))).toMatch(/Reload/);
  });

  it('refreshes once after a 401 and retries with the new token', async () => {
    let token = 'old';
    const refreshAfter401 = vi.fn(async () => {
      token = 'new';
      return true;
    });
    const sessionExpired = vi.fn();
    setAuthHooks({ accessToken: async () => token, refreshAfter401, sessionExpired });
    const { fn } = mockFetch([]);
    fn.mockImplementation(async (_u, init?: RequestInit) => {
      const auth = (init?.headers as Record<string, string>).Authorization;
      return auth === 'Bearer new'
        ? new Response(JSON.stringify({ id: 'o1' }), { status: 200, headers: { 'Content-Type': 'application/json' } })
        : new Response('{}', { status: 401, headers: { 'Content-Type': 'application/problem+json' } });
    });
    await expect(request('/orders', { auth: 'required' })).resolves.toEqual({ id: 'o1' });
    expect(refreshAfter401).toHaveBeenCalledTimes(1);
    expect(sessionExpired).not.toHaveBeenCalled();
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('ends the session when the retry is refused too', async () => {
    const sessionExpired = vi.fn();
    setAuthHooks({ accessToken: async () => 't', refreshAfter401: async () => false, sessionExpired });
    mockFetch([{ path: '/orders', status: 401, body: { title: 'Unauthorized', status: 401 } }]);
    const e = await request<never>('/orders', { auth: 'required' }).catch((x: unknown) => x as ApiError);
    expect(e.status).toBe(401);
    expect(sessionExpired).toHaveBeenCalledTimes(1);
  });

  it('never sends a token to a public route', async () => {
    setAuthHooks({ accessToken: async () => 't', refreshAfter401: async () => false, sessionExpired: () => {} });
    const { calls } = mockFetch([{ path: '/products', body: { items: [] } }]);
    await request('/products');
    expect(calls[0].headers.Authorization).toBeUndefined();
  });
});
