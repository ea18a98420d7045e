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
  return runTest('phone layout and keyboard use', async (t) => {
    const { page } = t;
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
      await page.keyboard.type('keyboard');
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.searchParams.get('q') === 'keyboard');
      await page.getByTestId('product-grid').or(page.getByText('No products match')).waitFor();
    });
    await t.step('the cart works on a phone', async () => {
      await t.goto('/cart');
      await page.getByRole('heading', { name: 'Your cart' }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    });
  }, { viewport: { width: 390, height: 844 } });
}
