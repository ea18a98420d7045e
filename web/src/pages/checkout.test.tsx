import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { CART_KEY } from '../cart/CartProvider';
import { fakePair, mockFetch, renderApp } from '../test/utils';
import { CheckoutPage, checkoutKey } from './CheckoutPage';

const product = {
  id: 'p1',
  sku: null,
  name: 'Lamp',
  description: '',
  price_cents: 1234,
  currency: 'USD',
  stock: 5,
  category: 'home',
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
};

describe('checkout', () => {
  it('keeps one Idempotency-Key per attempt: the same lines, the same key', () => {
    const a = checkoutKey('p1:2');
    expect(checkoutKey('p1:2')).toBe(a);
    const b = checkoutKey('p1:3');
    expect(b).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a double click places one order', async () => {
    localStorage.setItem(CART_KEY, JSON.stringify([{ productId: 'p1', name: 'Lamp', unitPriceCents: 1234, currency: 'USD', quantity: 2, stock: 5 }]));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order = { id: 'o1', user_id: 'u1', status: 'pending', reason: null, items: [], total_cents: 2468, currency: 'USD', created_at: '', updated_at: '' };
    const { fn, calls } = mockFetch([{ path: '/products/p1', body: product }]);
    const base = fn.getMockImplementation()!;
    fn.mockImplementation(async (input, init) => {
      if (init?.method === 'POST') {
        base(input, init); // record the call
        await gate;
        return new Response(JSON.stringify(order), { status: 201, headers: { 'Content-Type': 'application/json' } });
      }
      return base(input, init);
    });
    renderApp(
      <Routes>
        <Route path="/checkout" element={<CheckoutPage />} />
        <Route path="/account/orders/:id" element={<p>order page</p>} />
      </Routes>,
      { path: '/checkout', pair: fakePair() },
    );
    const button = await screen.findByRole('button', { name: 'Place order' });
    await waitFor(() => expect(button).toBeEnabled());
    const user = userEvent.setup();
    await user.dblClick(button);
    await user.click(button);
    release();
    expect(await screen.findByText('order page')).toBeInTheDocument();
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0].body).toEqual({ items: [{ product_id: 'p1', quantity: 2 }] });
    expect(posts[0].headers['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(localStorage.getItem(CART_KEY)).toBeNull();
  });
});
