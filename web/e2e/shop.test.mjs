// A shopper's whole journey, and an admin's product found by a shopper.
import { adminToken, apiCall, checkA11y, expect, runTest, unique, until } from './lib.mjs';

async function createProducts(category, specs) {
  const token = await adminToken();
  const out = [];
  for (const s of specs) {
    out.push(await apiCall('POST', '/products', { token, body: { category, currency: 'USD', ...s } }));
  }
  return out;
}

async function stockText(page) {
  return (await page.getByTestId('stock').textContent())?.trim();
}

export async function shopperJourney() {
  return runTest('shopper registers, searches, filters, orders two products, cancels, stock returns', async (t) => {
    const { page } = t;
    const tag = unique('e2e');
    const category = `cat-${tag}`;
    const [lamp, mug] = await createProducts(category, [
      { name: `Lamp ${tag}`, description: 'An e2e lamp', price_cents: 1234, stock: 5, sku: `L-${tag}` },
      { name: `Mug ${tag}`, description: 'An e2e mug', price_cents: 550, stock: 8, sku: `M-${tag}` },
    ]);
    const email = `${unique('shopper')}@example.com`;
    const password = `pw-${tag}-secret`;

    await t.step('catalog loads', async () => {
      await t.goto('/');
      await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
      await page.getByTestId('product-grid').waitFor();
      await checkA11y(page, 'catalog');
    });

    await t.step('search by name', async () => {
      await page.getByLabel('Search').fill(tag);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.waitForURL((u) => u.searchParams.get('q') === tag);
      await page.getByText('2 products').waitFor();
      await page.getByRole('link', { name: lamp.name }).waitFor();
      await page.getByRole('link', { name: mug.name }).waitFor();
    });

    await t.step('filter by price, then by category; the URL holds the query', async () => {
      await page.getByLabel('Min price').fill('10');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.waitForURL((u) => u.searchParams.get('min') === '10');
      await page.getByText('1 product', { exact: false }).waitFor();
      expect((await page.getByRole('link', { name: mug.name }).count()) === 0, 'the mug (5.50) is filtered out by min 10');
      await page.getByRole('link', { name: lamp.name }).waitFor();
      // Back button: the previous query comes back.
      await page.goBack();
      await page.waitForURL((u) => !u.searchParams.has('min'));
      await page.getByRole('link', { name: mug.name }).waitFor();
      await page.getByLabel('Category').selectOption(category);
      await page.waitForURL((u) => u.searchParams.get('category') === category);
      await page.getByText('2 products').waitFor();
      await page.getByLabel('Sort by').selectOption('price');
      await page.waitForURL((u) => u.searchParams.get('sort') === 'price');
      const names = await page.locator('.product-card h2').allTextContents();
      expect(names[0] === mug.name && names[1] === lamp.name, `sorted by price: ${names.join(', ')}`);
    });

    await t.step('product page shows price and stock; add two lamps', async () => {
      const recs = page.waitForResponse((r) => new URL(r.url()).pathname === `/products/${lamp.id}/recommendations`);
      await page.getByRole('link', { name: lamp.name }).click();
      await page.getByRole('heading', { level: 1, name: lamp.name }).waitFor();
      const recsRes = await recs;
      await page.getByText('$12.34').first().waitFor();
      expect((await stockText(page)) === 'Only 5 left', `stock text: ${await stockText(page)}`);
      // "Bought together" shows exactly when analytics answers with items.
      const items = recsRes.status() === 200 ? ((await recsRes.json()).items ?? []) : [];
      const section = page.getByRole('heading', { name: 'Bought together' });
      if (items.length > 0) await section.waitFor();
      else expect((await section.count()) === 0, `no recommendations section (the route answered ${recsRes.status()})`);
      await page.getByLabel('Quantity').fill('2');
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByText(`Added 2 × ${lamp.name} to your cart.`).waitFor();
      await checkA11y(page, 'product');
    });

    await t.step('add a mug from its page', async () => {
      await t.goto(`/item/${mug.id}`);
      await page.getByRole('heading', { level: 1, name: mug.name }).waitFor();
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await page.getByText(`Added 1 × ${mug.name} to your cart.`).waitFor();
      await page.getByRole('link', { name: /^Cart\s*,\s*3 items$/ }).waitFor();
    });

    await t.step('cart survives a reload and shows the totals', async () => {
      await t.goto('/cart');
      await page.reload();
      await page.getByRole('heading', { name: 'Your cart' }).waitFor();
      expect((await page.getByTestId('cart-line').count()) === 2, 'two lines');
      // 2 x 12.34 + 5.50 = 30.18
      await until('the total', async () => (await page.getByTestId('cart-total').textContent())?.includes('$30.18'));
      await checkA11y(page, 'cart');
    });

    await t.step('checkout needs a login: register and come back to the cart', async () => {
      await page.getByRole('link', { name: 'Log in to check out' }).click();
      await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/cart');
      await checkA11y(page, 'login');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.waitForURL((u) => u.pathname === '/register');
      await page.getByLabel('Name (optional)').fill('E2E Shopper');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password', { exact: true }).fill('short');
      await page.getByLabel('Repeat the password').fill('short');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByText('Use at least 8 characters.').waitFor();
      await checkA11y(page, 'register with errors');
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByLabel('Repeat the password').fill(password);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL((u) => u.pathname === '/cart');
      await page.getByRole('button', { name: 'Check out' }).waitFor();
    });

    let orderId;
    await t.step('checkout: a double click places one order, which gets confirmed', async () => {
      await page.getByRole('button', { name: 'Check out' }).click();
      await page.waitForURL((u) => u.pathname === '/checkout');
      await page.getByTestId('checkout-total').getByText('$30.18').waitFor();
      await checkA11y(page, 'checkout');
      const posts = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/orders') posts.push(r.headers()['idempotency-key']);
      });
      await page.getByRole('button', { name: 'Place order' }).dblclick();
      await page.waitForURL((u) => u.pathname.startsWith('/account/orders/'));
      orderId = page.url().split('/').pop();
      await page.getByText('Your order was placed.').waitFor();
      await until('the order to be confirmed', async () => (await page.getByTestId('order-status').textContent()) === 'Confirmed');
      expect(posts.length >= 1 && new Set(posts).size === 1, `one Idempotency-Key for the attempt: ${posts.join(', ')}`);
      await checkA11y(page, 'order detail');
    });

    await t.step('one order in the history; the cart is empty', async () => {
      await page.getByRole('link', { name: 'Orders', exact: true }).click();
      await page.getByRole('heading', { name: 'Your orders' }).waitFor();
      await page.getByTestId('order-row').first().waitFor();
      expect((await page.getByTestId('order-row').count()) === 1, 'exactly one order');
      await page.getByRole('link', { name: /^Cart\s*,\s*0 items$/ }).waitFor();
      await checkA11y(page, 'orders');
    });

    await t.step('the reserved stock shows on the product page', async () => {
      await t.goto(`/item/${lamp.id}`);
      await page.getByRole('heading', { level: 1, name: lamp.name }).waitFor();
      expect((await stockText(page)) === 'Only 3 left', `stock after the order: ${await stockText(page)}`);
    });

    await t.step('cancel the order with a confirmation', async () => {
      await t.goto(`/account/orders/${orderId}`);
      await page.getByTestId('order-status').getByText('Confirmed').waitFor();
      await page.getByRole('button', { name: 'Cancel order' }).click();
      const dialog = page.getByRole('alertdialog');
      await dialog.waitFor();
      await checkA11y(page, 'cancel confirmation');
      await dialog.getByRole('button', { name: 'Cancel order' }).click();
      await until('the order to be cancelled', async () => (await page.getByTestId('order-status').textContent()) === 'Cancelled');
    });

    await t.step('the stock is restored on the product page', async () => {
      await t.goto(`/item/${lamp.id}`);
      await until(
        'the stock to return to 5',
        async () => {
          await page.reload();
          await page.getByTestId('stock').waitFor();
          return (await stockText(page)) === 'Only 5 left';
        },
        { interval: 300 },
      );
    });
  });
}

export async function adminCreatesShopperFinds() {
  const tag = unique('adm');
  const name = `Admin Kettle ${tag}`;
  const sku = `K-${tag}`;
  const admin = await runTest('admin creates a product in the back office', async (t) => {
    const { page } = t;
    const { ADMIN_EMAIL, ADMIN_PASSWORD, uiLogin } = await import('./lib.mjs');
    // An existing SKU to collide with.
    const token = await adminToken();
    await apiCall('POST', '/products', { token, body: { name: `Taken ${tag}`, price_cents: 100, stock: 1, sku: `${sku}-taken` } });

    await t.step('log in as the admin', async () => {
      await t.goto('/login?next=/admin');
      await uiLogin(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      await page.waitForURL((u) => u.pathname === '/admin/products');
      await page.getByRole('heading', { level: 1, name: 'Products' }).waitFor();
      await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Users' }).waitFor();
      await checkA11y(page, 'admin products');
    });

    await t.step('the form shows errors next to their fields', async () => {
      await page.getByRole('link', { name: 'New product' }).click();
      await page.getByRole('heading', { name: 'New product' }).waitFor();
      await page.getByRole('button', { name: 'Create product' }).click();
      await page.getByText('Give the product a name.').waitFor();
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Price').fill('49.90');
      await page.getByLabel('Stock').fill('7');
      await page.getByLabel('Category').fill(`kitchen-${tag}`);
      await page.getByLabel('SKU').fill(`${sku}-taken`);
      await page.getByRole('button', { name: 'Create product' }).click();
      await page.getByText('Another product already has this SKU.').waitFor();
      const invalid = await page.getByLabel('SKU').getAttribute('aria-invalid');
      expect(invalid === 'true', 'the SKU field is marked invalid');
      await checkA11y(page, 'admin product form with errors');
    });

    await t.step('create the product', async () => {
      await page.getByLabel('SKU').fill(sku);
      await page.getByRole('button', { name: 'Create product' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/products');
      await page.getByText(`${name} was created.`).waitFor();
      await page.getByRole('link', { name, exact: true }).waitFor();
    });

    await t.step('change its stock from the list', async () => {
      await page.getByLabel(`Stock of ${name}`).fill('9');
      await page.getByRole('button', { name: `Save stock of ${name}` }).click();
      await until('the saved stock', async () => (await page.getByLabel(`Stock of ${name}`).inputValue()) === '9' &&
        (await page.getByRole('button', { name: `Save stock of ${name}` }).isDisabled()));
    });

    await t.step('other back-office pages', async () => {
      await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Orders' }).click();
      await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
      await page.getByLabel('Status').waitFor();
      await checkA11y(page, 'admin orders');
      await page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Users' }).click();
      await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
      await page.getByTestId('admin-user-row').first().waitFor();
      await checkA11y(page, 'admin users');
    });
  });

  const shopper = await runTest('a shopper finds the product the admin created', async (t) => {
    const { page } = t;
    await t.step('search the catalog', async () => {
      await t.goto(`/?q=${encodeURIComponent(name)}`);
      await page.getByText('1 product').waitFor();
      await page.getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { level: 1, name }).waitFor();
      await page.getByText('$49.90').first().waitFor();
      expect((await stockText(page)) === 'In stock', `stock text: ${await stockText(page)}`);
    });
  });
  return [admin, shopper];
}
