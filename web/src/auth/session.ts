// The login session: tokens, their refresh before expiry, and their storage.
//
// The session lives in localStorage so that it survives a reload and is
// shared by the tabs of the browser. Refresh tokens are single use and
// presenting a spent one revokes the whole family, so tabs must never refresh
// the same token twice: a refresh runs under a Web Lock (when the browser has
// them) and first re-reads the storage, adopting what another tab already got.
import { ApiError } from '../api/errors';
import type { TokenPair, User } from '../api/types';
import { decodeJwt, type Claims } from './jwt';

export interface Session {
  accessToken: string;
  /** Local clock, ms: when the access token expires. */
  expiresAt: number;
  lifetimeMs: number;
  refreshToken: string;
  user: User;
  claims: Claims;
}

export type EndReason = 'logout' | 'expired';

export const STORAGE_KEY = 'souk.session';

/**
 * How long to wait before refreshing: a margin before expiry of a fifth of
 * the token's lifetime, at least 5 s and at most 60 s (a 15 min token is
 * refreshed after 14 min). Never negative.
 */
export function refreshDelay(expiresAt: number, now: number, lifetimeMs: number): number {
  const margin = Math.min(60_000, Math.max(5_000, lifetimeMs * 0.2));
  return Math.max(0, expiresAt - margin - now);
}

export function sessionFromPair(pair: TokenPair, now: number): Session {
  const lifetimeMs = Math.max(1, pair.expires_in) * 1000;
  const claims = decodeJwt(pair.access_token) ?? { sub: pair.user.id, roles: pair.user.roles };
  return {
    accessToken: pair.access_token,
    expiresAt: now + lifetimeMs,
    lifetimeMs,
    refreshToken: pair.refresh_token,
    user: pair.user,
    claims,
  };
}

export interface SessionManagerOptions {
  refresh: (refreshToken: string) => Promise<TokenPair>;
  logout: (refreshToken: string) => Promise<void>;
  storage?: Storage | null;
  now?: () => number;
  locks?: LockManager | null;
}

type Listener = () => void;

export class SessionManager {
  private session: Session | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<boolean> | null = null;
  private started = false;
  private listeners = new Set<Listener>();
  private endListeners = new Set<(r: EndReason) => void>();
  private readonly opts: SessionManagerOptions;
  private readonly now: () => number;
  private readonly storage: Storage | null;
  private onStorage = (e: StorageEvent) => {
    if (e.key !== STORAGE_KEY) return;
    const next = this.load();
    const hadSession = this.session != null;
    this.session = next;
    this.schedule();
    this.emit();
    if (hadSession && !next) this.endListeners.forEach((l) => l('logout'));
  };

  constructor(opts: SessionManagerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.storage = opts.storage === undefined ? globalThis.localStorage ?? null : opts.storage;
  }

  /** Loads the stored session and starts its refresh timer. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.session = this.load();
    this.schedule();
    globalThis.addEventListener?.('storage', this.onStorage);
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    globalThis.removeEventListener?.('storage', this.onStorage);
  }

  get current(): Session | null {
    return this.session;
  }

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  };

  getSnapshot = (): Session | null => this.session;

  onEnd(l: (r: EndReason) => void): () => void {
    this.endListeners.add(l);
    return () => {
      this.endListeners.delete(l);
    };
  }

  /** After a login, an OAuth exchange or a refresh. */
  setTokens(pair: TokenPair): void {
    this.session = sessionFromPair(pair, this.now());
    this.save();
    this.schedule();
    this.emit();
  }

  setUser(user: User): void {
    if (!this.session) return;
    this.session = { ...this.session, user };
    this.save();
    this.emit();
  }

  /** An access token valid for a while yet, refreshing first when needed. */
  async accessToken(): Promise<string | null> {
    const s = this.session;
    if (!s) return null;
    if (this.now() >= s.expiresAt - 5_000) await this.refresh();
    return this.session?.accessToken ?? null;
  }

  async refreshAfter401(): Promise<boolean> {
    return this.refresh(true);
  }

  /** One refresh at a time; true when a usable session is there afterwards. */
  refresh(force = false): Promise<boolean> {
    if (!this.inflight) {
      this.inflight = this.withLock(() => this.doRefresh(force)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  async logout(): Promise<void> {
    const s = this.session;
    this.clear('logout');
    if (s) {
      try {
        await this.opts.logout(s.refreshToken);
      } catch {
        // The tokens are gone from here; the server forgets them at expiry.
      }
    }
  }

  /** The server refused the session: forget it and tell the listeners. */
  expire(): void {
    if (this.session) this.clear('expired');
  }

  // ---- internals

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = this.opts.locks === undefined ? globalThis.navigator?.locks : this.opts.locks;
    if (!locks) return fn();
    return locks.request('souk-session-refresh', fn) as Promise<T>;
  }

  private async doRefresh(force: boolean): Promise<boolean> {
    const mine = this.session;
    if (!mine) return false;
    // Another tab may have refreshed while we waited for the lock.
    const stored = this.load();
    if (!stored) {
      this.clear('logout');
      return false;
    }
    if (stored.refreshToken !== mine.refreshToken) {
      this.session = stored;
      this.schedule();
      this.emit();
      if (this.now() < stored.expiresAt - 5_000) return true;
    } else if (!force && this.now() < refreshDelay(stored.expiresAt, 0, stored.lifetimeMs)) {
      return true; // still fresh: nothing to do
    }
    const token = this.session?.refreshToken;
    if (!token) return false;
    try {
      const pair = await this.opts.refresh(token);
      this.setTokens(pair);
      return true;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 400 || e.status === 401 || e.status === 403)) {
        this.clear('expired');
        return false;
      }
      // Network trouble or an unavailable auth-service: keep the session
      // while its access token lasts and try again a little later.
      this.schedule(Math.min(30_000, Math.max(1_000, (this.session?.expiresAt ?? 0) - this.now())));
      return false;
    }
  }

  private schedule(delay?: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.session;
    if (!s) return;
    const d = delay ?? refreshDelay(s.expiresAt, this.now(), s.lifetimeMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, d);
  }

  private clear(reason: EndReason): void {
    this.session = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.storage?.removeItem(STORAGE_KEY);
    } catch {
      /* storage unavailable */
    }
    this.emit();
    this.endListeners.forEach((l) => l(reason));
  }

  private emit(): void {
    this.listeners.forEach((l) => l());
  }

  private save(): void {
    try {
      if (this.session) this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.session));
    } catch {
      /* storage full or unavailable: the session still works in this tab */
    }
  }

  private load(): Session | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) return null;
      const s = JSON.parse(raw) as Session;
      if (!s || typeof s.refreshToken !== 'string' || typeof s.accessToken !== 'string') return null;
      return s;
    } catch {
      return null;
    }
  }
}
