import { act } from '@testing-library/react';
import { fakePair, mockFetch, renderApp } from '../test/utils';
import { useAuth, type AuthValue } from './AuthProvider';

describe('AuthProvider', () => {
  it("drops one user's cached data when another logs in, and keeps the catalog", async () => {
    mockFetch([]);
    let auth!: AuthValue;
    function Probe() {
      auth = useAuth();
      return null;
    }
    const { client } = renderApp(<Probe />, { pair: fakePair(['customer'], {}, 1) });
    client.setQueryData(['orders', 'mine', 1], { items: [{ id: 'secret-order' }] });
    client.setQueryData(['products', { page: 1 }], { items: [] });
    await act(() => auth.signOut());
    expect(client.getQueryData(['orders', 'mine', 1])).toBeUndefined();
    expect(client.getQueryData(['products', { page: 1 }])).toBeDefined();
    expect(auth.session).toBeNull();

    client.setQueryData(['orders', 'mine', 1], { items: [{ id: 'anonymous-leftover' }] });
    const other = fakePair(['admin'], {}, 2);
    other.user = { ...other.user, id: 'u2' };
    act(() => auth.signIn(other));
    expect(client.getQueryData(['orders', 'mine', 1])).toBeUndefined();
    expect(auth.user?.id).toBe('u2');
    expect(auth.has('products:write')).toBe(true);
  });
});
