import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { ProductEditor } from '../admin/ProductEditor';
import { RegisterPage } from '../pages/RegisterPage';
import { fakePair, mockFetch, renderApp } from '../test/utils';

function describedError(input: HTMLElement): string {
  const ids = (input.getAttribute('aria-describedby') ?? '').split(' ');
  return ids.map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
}

describe('problem+json errors on forms', () => {
  it('puts each field error next to its field, price_cents on the price, the rest above the form', async () => {
    const { calls } = mockFetch([
      {
        method: 'POST',
        path: '/products',
        status: 400,
        body: {
          title: 'Bad Request',
          status: 400,
          detail: 'the request has invalid fields',
          request_id: 'rid-42',
          errors: [
            { field: 'name', message: 'must not be blank' },
            { field: 'price_cents', message: 'must be between 0 and 999999999999' },
            { field: 'body', message: 'unknown member' },
          ],
        },
      },
    ]);
    renderApp(
      <Routes>
        <Route path="/admin/products/new" element={<ProductEditor />} />
      </Routes>,
      { path: '/admin/products/new', pair: fakePair(['admin']) },
    );
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Name'), 'Kettle');
    await user.type(screen.getByLabelText('Price'), '19.99');
    await user.clear(screen.getByLabelText('Stock'));
    await user.type(screen.getByLabelText('Stock'), '3');
    await user.click(screen.getByRole('button', { name: 'Create product' }));

    const name = screen.getByLabelText('Name');
    await waitFor(() => expect(name).toHaveAttribute('aria-invalid', 'true'));
    expect(describedError(name)).toContain('Must not be blank');
    expect(describedError(screen.getByLabelText('Price'))).toContain('Must be between 0 and 999999999999');
    expect(screen.getByLabelText('Stock')).not.toHaveAttribute('aria-invalid');
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('Some fields need your attention.');
    expect(alert).toHaveTextContent('body: unknown member');
    expect(alert).toHaveTextContent('rid-42');
    expect(name).toHaveFocus();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ name: 'Kettle', price_cents: 1999, currency: 'USD', stock: 3 });
  });

  it('shows a duplicate email on the email field', async () => {
    mockFetch([{ method: 'POST', path: '/auth/register', status: 409, body: { title: 'Conflict', status: 409, detail: 'an account with this email already exists' } }]);
    renderApp(<RegisterPage />, { path: '/register' });
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'long enough');
    await user.type(screen.getByLabelText('Repeat the password'), 'long enough');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    const email = screen.getByLabelText('Email');
    await waitFor(() => expect(describedError(email)).toContain('An account with this email already exists.'));
    expect(email).toHaveFocus();
  });

  it('checks fields before sending anything', async () => {
    const { calls } = mockFetch([]);
    renderApp(<RegisterPage />, { path: '/register' });
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'not-an-email');
    await user.type(screen.getByLabelText('Password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('Enter an email address such as ada@example.com.')).toBeInTheDocument();
    expect(screen.getByText('Use at least 8 characters.')).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });
});
