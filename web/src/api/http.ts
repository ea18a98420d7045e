// Same-origin JSON requests with problem+json errors and bearer tokens.
import { ApiError, type Problem } from './errors';

export interface AuthHooks {
  /** A fresh access token (refreshed first when it is about to expire), or null. */
  accessToken(): Promise<string | null>;
  /** After a 401: refresh once; true when a new token is available. */
  refreshAfter401(): Promise<boolean>;
  /** The session cannot be recovered: log out and send the user to log in. */
  sessionExpired(): void;
}

let hooks: AuthHooks | null = null;

export function setAuthHooks(h: AuthHooks | null): void {
  hooks = h;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** 'required': send the token, 401 without one; 'optional': send it when logged in; false: never. */
  auth?: 'required' | 'optional' | false;
  signal?: AbortSignal;
  /** Return the Response text instead of JSON (e.g. CSV). */
  text?: boolean;
}

function retryAfterOf(res: Response): number | null {
  const v = res.headers.get('Retry-After');
  if (!v) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

async function toError(res: Response): Promise<ApiError> {
  const requestId = res.headers.get('X-Request-Id');
  let problem: Problem = {};
  const type = res.headers.get('Content-Type') ?? '';
  if (type.includes('json')) {
    try {
      problem = (await res.json()) as Problem;
    } catch {
      problem = {};
    }
  }
  if (!problem.title) problem.title = res.statusText;
  return new ApiError(res.status, problem, requestId, retryAfterOf(res));
}

async function send(path: string, opts: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body,
      signal: opts.signal,
      credentials: 'same-origin',
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: String(e) });
  }
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const mode = opts.auth ?? false;
  let token: string | null = null;
  if (mode && hooks) token = await hooks.accessToken();
  if (mode === 'required' && !token) {
    hooks?.sessionExpired();
    throw new ApiError(401, { title: 'Unauthorized', detail: 'not logged in' });
  }
  let res = await send(path, opts, token);
  if (res.status === 401 && token && hooks) {
    if (await hooks.refreshAfter401()) {
      token = await hooks.accessToken();
      res = await send(path, opts, token);
    }
    if (res.status === 401) hooks.sessionExpired();
  }
  if (!res.ok) throw await toError(res);
  if (opts.text) return (await res.text()) as T;
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('Content-Type') ?? '';
  if (!type.includes('json')) return (await res.text()) as T;
  return (await res.json()) as T;
}

/** Query string from an object, skipping empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
