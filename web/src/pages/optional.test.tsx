// Screens that depend on services not deployed yet: shown when they answer,
// hidden when they do not.
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import Reports from '../admin/Reports';
import { Layout } from '../components/Layout';
import { fakePair, mockFetch, renderApp } from '../test/utils';
import { LoginPage } from './LoginPage';
import { OAuthCallbackPage } from './OAuthCallbackPage';
import { ProductPage } from './ProductPage';

const product = {
  id: 'p1',
  sku: 'S1',
  name: 'Lamp',
  description: 'A lamp',
  price_cents: 1234,
  currency: 'USD',
  stock: 3,
  category: 'home',
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
};

function renderProduct() {
  return renderApp(
    <Routes>
      <Route path="/item/:id" element={<ProductPage />} />
    </Routes>,
    { path: '/item/p1' },
  );
}

describe('recommendations', () => {
  it('shows "bought together" when analytics answers', async () => {
    mockFetch([
      { path: '/products/p1', body: product },
      { path: '/products/p1/recommendations?limit=5', body: { strategy: 'co-purchase', items: [{ id: 'p2', name: 'Bulb', price_cents: 300, currency: 'USD' }] } },
    ]);
    renderProduct();
    expect(await screen.findByRole('heading', { name: 'Bought together' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Bulb' })).toHaveAttribute('href', '/item/p2');
    expect(screen.getByTestId('stock')).toHaveTextContent('Only 3 left');
  });

  it('hides the section when the route answers 404 or 503', async () => {
    const { calls } = mockFetch([
      { path: '/products/p1', body: product },
      { path: '/products/p1/recommendations?limit=5', status: 503, body: { title: 'Service Unavailable', status: 503 } },
    ]);
    renderProduct();
    expect(await screen.findByRole('heading', { name: 'Lamp' })).toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.path.includes('recommendations'))).toBe(true));
    expect(screen.queryByRole('heading', { name: 'Bought together' })).toBeNull();
  });
});

describe('identity providers', () => {
  it('offers a button per provider pointing at the authorize route', async () => {
    mockFetch([{ path: '/auth/providers', body: [{ name: 'google', display_name: 'Google' }] }]);
    renderApp(<LoginPage />, { path: '/login?next=/cart' });
    const link = await screen.findByRole('link', { name: 'Continue with Google' });
    expect(link.getAttribute('href')).toBe(
      `/auth/oauth/google/authorize?redirect_uri=${encodeURIComponent(`${window.location.origin}/login/callback`)}`,
    );
  });

  it('offers none while the route does not exist', async () => {
    const { calls } = mockFetch([]);
    renderApp(<LoginPage />, { path: '/login' });
    await waitFor(() => expect(calls.some((c) => c.path === '/auth/providers')).toBe(true));
    expect(screen.queryByRole('link', { name: /Continue with/ })).toBeNull();
  });

  it('the callback exchanges #code for a session', async () => {
    const pair = fakePair();
    const { calls } = mockFetch([{ method: 'POST', path: '/auth/oauth/exchange', body: pair }]);
    window.history.replaceState(null, '', '/login/callback#code=one-time');
    sessionStorage.setItem('souk.oauth.next', '/cart');
    const { manager } = renderApp(
      <Routes>
        <Route path="/login/callback" element={<OAuthCallbackPage />} />
        <Route path="/cart" element={<p>cart page</p>} />
      </Routes>,
      { path: '/login/callback' },
    );
    expect(await screen.findByText('cart page')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ code: 'one-time' });
    expect(manager.current?.refreshToken).toBe(pair.refresh_token);
    expect(window.location.hash).toBe('');
  });

  it('the callback shows #error', async () => {
    mockFetch([]);
    window.history.replaceState(null, '', '/login/callback#error=access_denied');
    renderApp(<OAuthCallbackPage />, { path: '/login/callback' });
    expect(await screen.findByRole('alert')).toHaveTextContent('You declined the sign-in at the provider.');
  });
});

describe('notifications bell', () => {
  it('shows the unread count when the service answers', async () => {
    mockFetch([
      { path: '/notifications/unread-count', body: { count: 3 } },
      { path: /^\/notifications\?/, body: { items: [], page: 1, limit: 5, total: 0 } },
    ]);
    renderApp(<Layout>x</Layout>, { pair: fakePair() });
    expect(await screen.findByRole('button', { name: 'Notifications, 3 unread' })).toBeInTheDocument();
  });

  it('is hidden while the service is absent', async () => {
    const { calls } = mockFetch([]);
    renderApp(<Layout>x</Layout>, { pair: fakePair() });
    await waitFor(() => expect(calls.some((c) => c.path === '/notifications/unread-count')).toBe(true));
    expect(screen.queryByRole('button', { name: /Notifications/ })).toBeNull();
  });
});

describe('reports dashboard', () => {
  it('shows KPIs and tables, and downloads CSV with Accept: text/csv', async () => {
    const { calls, fn } = mockFetch([
      {
        path: /^\/reports\/summary/,
        body: {
          orders_placed: 12,
          orders_confirmed: 10,
          orders_rejected: 1,
          orders_cancelled: 1,
          units_sold: 25,
          revenue_by_currency: { USD: 123456 },
          average_order_cents_by_currency: { USD: 12345 },
          new_users: 4,
        },
      },
      { path: /^\/reports\/sales/, body: { items: [{ period_start: '2025-01-01T00:00:00Z', orders: 2, units: 3, revenue_by_currency: { USD: 5000 } }] } },
      { path: /^\/reports\/top-products/, body: { items: [{ product_id: 'p1', name: 'Lamp', units: 9, revenue_cents: 11106, currency: 'USD' }] } },
      { path: /^\/reports\/categories/, body: { items: [{ category: 'home', units: 9, revenue_by_currency: { USD: 11106 } }] } },
    ]);
    URL.createObjectURL = vi.fn(() => 'blob:x');
    URL.revokeObjectURL = vi.fn();
    renderApp(<Reports />, { pair: fakePair(['admin']) });
    expect(await screen.findByTestId('kpi-revenue')).toHaveTextContent('$1,234.56');
    expect(screen.getByRole('rowheader', { name: 'Lamp' })).toBeInTheDocument();
    expect(await screen.findByRole('rowheader', { name: 'home' })).toBeInTheDocument();
    const summaryCall = calls.find((c) => c.path.startsWith('/reports/summary'))!;
    expect(summaryCall.path).toMatch(/from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}/);

    const base = fn.getMockImplementation()!;
    fn.mockImplementation(async (input, init) => {
      const accept = (init?.headers as Record<string, string>)?.Accept;
      if (accept === 'text/csv') {
        base(input, init);
        return new Response('period_start,orders\n', { status: 200, headers: { 'Content-Type': 'text/csv' } });
      }
      return base(input, init);
    });
    await userEvent.setup().click(screen.getByRole('button', { name: /^Download CSV\W+summary\.csv$/ }));
    await waitFor(() => expect(URL.createObjectURL).toHaveBeenCalled());
    const csv = calls.filter((c) => c.headers.Accept === 'text/csv');
    expect(csv).toHaveLength(1);
    expect(csv[0].path).toMatch(/^\/reports\/summary\?from=/);
  });
});
