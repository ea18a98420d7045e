import { ApiError } from '../api/errors';
import type { TokenPair } from '../api/types';
import { fakePair } from '../test/utils';
import { refreshDelay, SessionManager, STORAGE_KEY } from './session';

describe('refreshDelay', () => {
  it('refreshes a fifth of the lifetime before expiry, between 5 and 60 seconds early', () => {
    expect(refreshDelay(900_000, 0, 900_000)).toBe(840_000); // 15 min token: at 14 min
    expect(refreshDelay(100_000, 0, 100_000)).toBe(80_000); // 20 s early
    expect(refreshDelay(10_000, 0, 10_000)).toBe(5_000); // at least 5 s early
    expect(refreshDelay(1_000, 0, 1_000)).toBe(0); // never negative
    expect(refreshDelay(900_000, 850_000, 900_000)).toBe(0); // already due
  });
});

describe('SessionManager', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-06-01T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  function make(refresh: (rt: string) => Promise<TokenPair>) {
    const m = new SessionManager({ refresh, logout: async () => {}, storage: localStorage, locks: null });
    m.start();
    return m;
  }

  it('refreshes the access token one minute before it expires, and again after that', async () => {
    let n = 1;
    const refresh = vi.fn(async () => fakePair(['customer'], {}, ++n));
    const m = make(refresh);
    m.setTokens(fakePair(['customer'], {}, 1));
    await vi.advanceTimersByTimeAsync(839_999);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh).toHaveBeenCalledWith('refresh-1');
    expect(m.current?.refreshToken).toBe('refresh-2');
    await vi.advanceTimersByTimeAsync(840_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(refresh).toHaveBeenLastCalledWith('refresh-2');
    m.stop();
  });

  it('ends the session when the refresh token is refused', async () => {
    const m = make(async () => {
      throw new ApiError(401, { title: 'Unauthorized' });
    });
    const ended = vi.fn();
    m.onEnd(ended);
    m.setTokens(fakePair());
    await vi.advanceTimersByTimeAsync(840_000);
    expect(m.current).toBeNull();
    expect(localStorage.getItem(STORAGE_KEY)).toBeNull();
    expect(ended).toHaveBeenCalledWith('expired');
    m.stop();
  });

  it('keeps the session through a network failure and tries again', async () => {
    const refresh = vi
      .fn<(rt: string) => Promise<TokenPair>>()
      .mockRejectedValueOnce(new ApiError(0, { title: 'Network error' }))
      .mockResolvedValueOnce(fakePair(['customer'], {}, 2));
    const m = make(refresh);
    m.setTokens(fakePair());
    await vi.advanceTimersByTimeAsync(840_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(m.current?.refreshToken).toBe('refresh-1');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(m.current?.refreshToken).toBe('refresh-2');
    m.stop();
  });

  it('refreshes once for concurrent callers, and before handing out an expiring token', async () => {
    let resolve!: (p: TokenPair) => void;
    const refresh = vi.fn(() => new Promise<TokenPair>((r) => (resolve = r)));
    const m = make(refresh);
    m.setTokens(fakePair());
    vi.setSystemTime(Date.now() + 899_000); // 1 s before expiry; the timer has not run
    const a = m.accessToken();
    const b = m.accessToken();
    resolve(fakePair(['customer'], {}, 2));
    const [ta, tb] = await Promise.all([a, b]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(ta).toBe(tb);
    expect(m.current?.refreshToken).toBe('refresh-2');
    m.stop();
  });

  it('adopts a session another tab refreshed instead of spending the token again', async () => {
    const refresh = vi.fn(async () => fakePair(['customer'], {}, 9));
    const m = make(refresh);
    m.setTokens(fakePair());
    // Another tab rotated the token and stored the new session.
    const other = { ...m.current!, refreshToken: 'refresh-other', accessToken: 'other-access', expiresAt: Date.now() + 900_000 };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(other));
    expect(await m.refreshAfter401()).toBe(true);
    expect(refresh).not.toHaveBeenCalled();
    expect(m.current?.accessToken).toBe('other-access');
    m.stop();
  });

  it('survives a reload through storage', () => {
    const m = make(async () => fakePair());
    m.setTokens(fakePair(['admin']));
    m.stop();
    const again = make(async () => fakePair());
    expect(again.current?.user.roles).toEqual(['admin']);
    expect(again.current?.claims.roles).toEqual(['admin']);
    again.stop();
  });
});
