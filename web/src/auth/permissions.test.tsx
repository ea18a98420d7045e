import { screen, within } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import AdminApp from '../admin/AdminApp';
import { Layout } from '../components/Layout';
import { fakePair, mockFetch, renderApp } from '../test/utils';
import { BUILTIN_ROLES, canSeeBackOffice, effectivePermissions, P, visibleSections } from './permissions';

describe('permissions', () => {
  it('derives permissions from roles and the scope claim', () => {
    expect([...effectivePermissions(['customer'], undefined)]).toEqual([]);
    expect(effectivePermissions(['support'], undefined)).toEqual(new Set([P.ordersReadAny, P.ordersCancelAny, P.usersRead]));
    expect(effectivePermissions(['customer'], 'reports:read products:write')).toEqual(new Set([P.reportsRead, P.productsWrite]));
    const admin = effectivePermissions(['admin'], undefined);
    for (const p of Object.values(P)) expect(admin.has(p)).toBe(true);
    // A table from GET /auth/roles wins over the built-in copy.
    expect(effectivePermissions(['admin'], undefined, [{ name: 'admin', permissions: ['products:write'] }])).toEqual(new Set(['products:write']));
    expect(effectivePermissions(['unknown'], undefined, BUILTIN_ROLES).size).toBe(0);
  });

  it('shows the sections a permission set opens, optional services only when present', () => {
    const labels = (roles: string[], avail = {}) => visibleSections(effectivePermissions(roles, undefined), avail).map((s) => s.label);
    expect(labels(['customer'])).toEqual([]);
    expect(labels(['catalog'])).toEqual(['Products']);
    expect(labels(['support'])).toEqual(['Orders', 'Users']);
    expect(labels(['analyst'])).toEqual([]);
    expect(labels(['analyst'], { reports: true })).toEqual(['Reports']);
    expect(labels(['admin'])).toEqual(['Products', 'Orders', 'Users']);
    expect(labels(['admin'], { reports: true, clients: true, audit: true })).toEqual([
      'Products',
      'Orders',
      'Users',
      'Reports',
      'OAuth clients',
      'Audit log',
    ]);
    expect(canSeeBackOffice(effectivePermissions(['analyst'], undefined))).toBe(true);
    expect(canSeeBackOffice(effectivePermissions(['customer'], undefined))).toBe(false);
  });
});

describe('menus by permission', () => {
  it('a customer has no back office link and is refused its pages', async () => {
    mockFetch([]);
    renderApp(
      <Layout>
        <Routes>
          <Route path="/admin/*" element={<AdminApp />} />
        </Routes>
      </Layout>,
      { path: '/admin/products', pair: fakePair(['customer']) },
    );
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Back office' })).toBeNull();
    expect(await screen.findByRole('heading', { name: 'Access denied' })).toBeInTheDocument();
  });

  it('an admin sees the back office, without sections of services that are absent', async () => {
    // /auth/roles, /reports, /auth/clients and /audit all answer 404 here.
    mockFetch([{ path: /^\/products/, body: { items: [], page: 1, limit: 20, total: 0 } }]);
    renderApp(
      <Layout>
        <Routes>
          <Route path="/admin/*" element={<AdminApp />} />
        </Routes>
      </Layout>,
      { path: '/admin/products', pair: fakePair(['admin']) },
    );
    expect(within(screen.getByRole('navigation', { name: 'Main' })).getByRole('link', { name: 'Back office' })).toBeInTheDocument();
    const office = await screen.findByRole('navigation', { name: 'Back office' });
    expect(await within(office).findByRole('link', { name: 'Products' })).toBeInTheDocument();
    expect(within(office).getByRole('link', { name: 'Users' })).toBeInTheDocument();
    expect(within(office).queryByRole('link', { name: 'Reports' })).toBeNull();
    expect(within(office).queryByRole('link', { name: 'Audit log' })).toBeNull();
    expect(await screen.findByRole('heading', { name: 'Products' })).toBeInTheDocument();
  });

  it('uses the role table of GET /auth/roles: a catalog role gets products only', async () => {
    mockFetch([
      { path: '/auth/roles', body: [{ name: 'catalog', permissions: ['products:write'] }, { name: 'analyst', permissions: ['reports:read'] }] },
      { path: /^\/reports\/summary/, body: { orders_placed: 0 } },
      { path: /^\/products/, body: { items: [], page: 1, limit: 20, total: 0 } },
    ]);
    renderApp(
      <Routes>
        <Route path="/admin/*" element={<AdminApp />} />
      </Routes>,
      { path: '/admin/products', pair: fakePair(['catalog', 'analyst']) },
    );
    const office = await screen.findByRole('navigation', { name: 'Back office' });
    expect(await within(office).findByRole('link', { name: 'Reports' })).toBeInTheDocument();
    expect(within(office).getByRole('link', { name: 'Products' })).toBeInTheDocument();
    expect(within(office).queryByRole('link', { name: 'Users' })).toBeNull();
    expect(within(office).queryByRole('link', { name: 'Orders' })).toBeNull();
  });
});
