// Permissions in the UI and the login round trip.
import { apiRegister, checkA11y, expect, runTest, uiLogin } from './lib.mjs';

export async function customerRefused() {
  return runTest('a customer opening a back-office URL is refused; login sends back', async (t) => {
    const { page } = t;
    const { email, password } = await apiRegister('customer');

    await t.step('a protected page sends to login and back after it', async () => {
      await t.goto('/account/orders');
      await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/account/orders');
      await uiLogin(page, email, 'wrong-password');
      await page.getByText('The email or password is not right.').waitFor();
      await uiLogin(page, email, password);
      await page.waitForURL((u) => u.pathname === '/account/orders');
      await page.getByRole('heading', { name: 'Your orders' }).waitFor();
      await page.getByText('You have not ordered anything yet.').waitFor();
    });

    await t.step('no back office in the menu', async () => {
      const nav = page.getByRole('navigation', { name: 'Main' });
      await nav.getByRole('link', { name: 'Account' }).waitFor();
      expect((await nav.getByRole('link', { name: 'Back office' }).count()) === 0, 'no Back office link for a customer');
    });

    await t.step('an admin URL is refused', async () => {
      await t.goto('/admin/products');
      await page.getByRole('heading', { name: 'Access denied' }).waitFor();
      expect((await page.getByRole('link', { name: 'New product' }).count()) === 0, 'no product admin shown');
      await t.goto('/admin/users');
      await page.getByRole('heading', { name: 'Access denied' }).waitFor();
      await checkA11y(page, 'access denied');
    });

    await t.step('account page and logout', async () => {
      await t.goto('/account');
      await page.getByRole('heading', { name: 'Your account' }).waitFor();
      await checkA11y(page, 'account');
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL((u) => u.pathname === '/');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Log in' }).waitFor();
      await t.goto('/admin/products');
      await page.waitForURL((u) => u.pathname === '/login');
    });
  });
}

export async function phoneAndKeyboard() {
  const { adminToken, apiCall, unique } = await import('./lib.mjs');
  return runTest('phone layout and keyboard use', async (t) => {
    const { page } = t;
    const name = `Keyboard ${unique('kb')}`;
    const token = await adminToken();
    await apiCall('POST', '/products', { token, body: { name, description: 'A long product name to wrap on a phone', price_cents: 4200, stock: 3 } });
    await t.step('the catalog fits a phone screen', async () => {
      await t.goto('/');
      await page.getByTestId('product-grid').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
      await checkA11y(page, 'catalog (phone)');
    });
    await t.step('skip link, then search with the keyboard', async () => {
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => document.activeElement?.textContent);
      expect(first === 'Skip to content', `the first Tab stop is the skip link (got ${first})`);
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.hash === '#main');
      await page.getByLabel('Search').focus();
      await page.keyboard.type(name);
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.searchParams.get('q') === name);
      await page.getByText('1 product').waitFor();
      // Tab to the product's "Add to cart" button and press it.
      const add = page.getByRole('button', { name: new RegExp(`^Add to cart\\W+${name}$`) });
      for (let i = 0; i < 40 && !(await add.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.getByText(`Added ${name} to your cart.`).waitFor();
    });
    await t.step('the cart works on a phone', async () => {
      await t.goto('/cart');
      await page.getByRole('heading', { name: 'Your cart' }).waitFor();
      await page.getByTestId('cart-line').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    });
  }, { viewport: { width: 390, height: 844 } });
}

export async function adminOrdersAndUsers() {
  const { adminToken, apiCall, apiLogin, ADMIN_EMAIL, ADMIN_PASSWORD, unique, until } = await import('./lib.mjs');
  return runTest('an admin filters orders by user, cancels one, disables the user, edits and deletes a product', async (t) => {
    const { page } = t;
    const token = await adminToken();
    const tag = unique('ao');
    const product = await apiCall('POST', '/products', { token, body: { name: `Widget ${tag}`, price_cents: 999, stock: 4 } });
    const customer = await apiRegister('ordering');
    const ctoken = (await apiLogin(customer.email, customer.password)).access_token;
    const order = await apiCall('POST', '/orders', {
      token: ctoken,
      headers: { 'Idempotency-Key': tag },
      body: { items: [{ product_id: product.id, quantity: 2 }] },
    });

    await t.step('log in and filter the orders by the customer', async () => {
      await t.goto('/login?next=/admin/orders');
      await uiLogin(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
      await page.getByLabel('User id').fill(customer.user.id);
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL((u) => u.searchParams.get('user_id') === customer.user.id);
      await until('one row for the customer', async () => (await page.getByTestId('admin-order-row').count()) === 1);
      await page.getByRole('link', { name: `#${order.id.slice(0, 8)}` }).waitFor();
    });

    await t.step('cancel the customer order', async () => {
      const row = page.getByTestId('admin-order-row');
      await until('the order to be confirmed', async () => {
        await page.reload();
        await row.first().waitFor();
        return (await row.getByTestId('order-status').textContent()) === 'Confirmed';
      });
      await row.getByRole('button', { name: /^Cancel/ }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel order' }).click();
      await until('the order to be cancelled', async () => (await row.getByTestId('order-status').textContent()) === 'Cancelled');
      const o = await apiCall('GET', `/orders/${order.id}`, { token: ctoken });
      expect(o.status === 'cancelled', `the API says ${o.status}`);
    });

    await t.step('find the customer and disable the account', async () => {
      await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Users' }).click();
      await page.getByLabel('Search by email or name').fill(customer.email);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await until('one user row', async () => (await page.getByTestId('admin-user-row').count()) === 1);
      const row = page.getByTestId('admin-user-row');
      await row.getByRole('button', { name: /^Disable/ }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Disable account' }).click();
      await row.getByText('Disabled').waitFor();
      const res = await fetch(`${(await import('./lib.mjs')).BASE_URL}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: customer.email, password: customer.password }),
      });
      expect(res.status === 403, `a disabled account cannot log in (got ${res.status})`);
    });

    await t.step('edit the product, then delete it', async () => {
      await t.goto(`/admin/products/${product.id}`);
      await page.getByRole('heading', { name: `Edit ${product.name}` }).waitFor();
      await page.getByLabel('Price').fill('12.50');
      await page.getByLabel('Description').fill('Now with a description');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText(`${product.name} was saved.`).waitFor();
      const saved = await apiCall('GET', `/products/${product.id}`);
      expect(saved.price_cents === 1250 && saved.description === 'Now with a description', `saved: ${saved.price_cents} ${saved.description}`);
      await page.getByLabel('Search products').fill(product.name);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await until('one product row', async () => (await page.getByTestId('admin-product-row').count()) === 1);
      await page.getByRole('button', { name: `Delete ${product.name}` }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Delete product' }).click();
      await page.getByText('No products.').waitFor();
      await t.goto(`/item/${product.id}`);
      await page.getByRole('heading', { name: 'Product not found' }).waitFor();
    });
  });
}

export async function sessionRefresh() {
  const { until } = await import('./lib.mjs');
  return runTest('the session is refreshed before expiry, after a 401, and ends at a revoked token', async (t) => {
    const { page } = t;
    const { email, password } = await apiRegister('session');
    const refreshes = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/auth/refresh') refreshes.push(r.status());
    });
    const session = () => page.evaluate(() => JSON.parse(localStorage.getItem('souk.session') ?? 'null'));

    await t.step('log in', async () => {
      await t.goto('/login?next=/account/orders');
      await uiLogin(page, email, password);
      await page.getByRole('heading', { name: 'Your orders' }).waitFor();
    });

    await t.step('an access token about to expire is refreshed at load', async () => {
      const before = await session();
      await page.evaluate(() => {
        const s = JSON.parse(localStorage.getItem('souk.session'));
        s.expiresAt = Date.now() + 2000;
        localStorage.setItem('souk.session', JSON.stringify(s));
      });
      await page.reload();
      await until('a refresh', async () => refreshes.includes(200));
      const after = await session();
      expect(after.refreshToken !== before.refreshToken, 'the refresh token was rotated');
      expect(after.expiresAt > Date.now() + 30_000, 'the new access token lasts');
      await page.getByRole('heading', { name: 'Your orders' }).waitFor();
    });

    await t.step('a refused access token is refreshed once and the request retried', async () => {
      await page.evaluate(() => {
        const s = JSON.parse(localStorage.getItem('souk.session'));
        s.accessToken = 'not-a-token';
        localStorage.setItem('souk.session', JSON.stringify(s));
      });
      const n = refreshes.length;
      await page.reload();
      await page.getByText('You have not ordered anything yet.').waitFor();
      await until('one more refresh', async () => refreshes.length === n + 1 && refreshes[n] === 200);
      expect(page.url().endsWith('/account/orders'), `still on the page: ${page.url()}`);
    });

    await t.step('a revoked session sends to login, and back after it', async () => {
      await page.evaluate(() => {
        const s = JSON.parse(localStorage.getItem('souk.session'));
        s.accessToken = 'not-a-token';
        s.refreshToken = 'revoked-or-unknown';
        localStorage.setItem('souk.session', JSON.stringify(s));
      });
      await page.reload();
      await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/account/orders');
      await page.getByText('Your session has ended. Please log in again.').waitFor();
      await uiLogin(page, email, password);
      await page.waitForURL((u) => u.pathname === '/account/orders');
    });
  });
}

export async function reportsDashboard() {
  const { ADMIN_EMAIL, ADMIN_PASSWORD } = await import('./lib.mjs');
  return runTest('reports dashboard (when analytics answers)', async (t) => {
    const { page } = t;
    await t.step('open the reports page', async () => {
      await t.goto('/login?next=/admin/reports');
      await uiLogin(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await page.waitForURL((u) => u.pathname === '/admin/reports');
      const kpi = page.getByTestId('kpi-revenue');
      const absent = page.getByText('are not available on this installation yet');
      await kpi.or(absent).first().waitFor();
      if (await absent.isVisible()) {
        console.log('    analytics-service is not deployed: the page says so; nothing more to check');
        expect((await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Reports' }).count()) === 0, 'no Reports menu entry');
        return;
      }
      await page.locator('.recharts-surface').first().waitFor();
      await checkA11y(page, 'reports');
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: /^Download CSV\W+sales\.csv$/ }).click();
      const d = await download;
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(await d.path(), 'utf8');
      expect(/^[a-z_]+(,[A-Za-z_]+)*\r?\n/.test(text), `the CSV starts with a header row: ${text.slice(0, 80)}`);
    });
  });
}
