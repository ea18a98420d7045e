import { useQueries } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useNavigate } from 'react-router';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import { useAuth } from '../auth/AuthProvider';
import { lineTotal, maxQuantity } from '../cart/cart';
import { useCart } from '../cart/CartProvider';
import { loginPath } from '../components/Guards';
import { Price } from '../components/Price';
import { useTitle } from '../lib/useTitle';

/** Keeps the cart's names, prices and stock in step with the catalog. */
export function useFreshCart(): { missing: Set<string>; checking: boolean } {
  const cart = useCart();
  const results = useQueries({
    queries: cart.lines.map((l) => ({
      queryKey: ['product', l.productId],
      queryFn: () => api.getProduct(l.productId),
      retry: false,
    })),
  });
  const products = results.map((r) => r.data);
  useEffect(() => {
    for (const p of products) if (p) cart.update(p);
  }, [products.map((p) => (p ? `${p.id}:${p.updated_at}:${p.stock}` : '')).join()]);
  const missing = new Set<string>();
  results.forEach((r, i) => {
    if (isApiError(r.error) && r.error.status === 404 && cart.lines[i]) missing.add(cart.lines[i].productId);
  });
  return { missing, checking: results.some((r) => r.isPending) };
}

export function CartPage() {
  useTitle('Cart');
  const cart = useCart();
  const { session } = useAuth();
  const navigate = useNavigate();
  const { missing } = useFreshCart();

  if (cart.lines.length === 0) {
    return (
      <section className="page" aria-labelledby="cart-title">
        <h1 id="cart-title">Your cart</h1>
        <p className="empty">Your cart is empty.</p>
        <p>
          <Link to="/">Continue shopping</Link>
        </p>
      </section>
    );
  }

  const currencies = cart.totals.length;
  const unavailable = cart.lines.filter((l) => missing.has(l.productId) || (l.stock ?? 1) <= 0);

  return (
    <section className="page" aria-labelledby="cart-title">
      <h1 id="cart-title">Your cart</h1>
      <div className="table-wrap">
        <table className="table cart-table">
          <caption className="visually-hidden">Items in your cart</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" className="num">
                Price
              </th>
              <th scope="col">Quantity</th>
              <th scope="col" className="num">
                Total
              </th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {cart.lines.map((l) => (
              <tr key={l.productId} data-testid="cart-line">
                <th scope="row">
                  <Link to={`/item/${l.productId}`}>{l.name}</Link>
                  {missing.has(l.productId) && <p className="field-error">No longer available.</p>}
                  {!missing.has(l.productId) && l.stock === 0 && <p className="field-error">Out of stock.</p>}
                </th>
                <td className="num" data-label="Price">
                  <Price cents={l.unitPriceCents} currency={l.currency} />
                </td>
                <td data-label="Quantity">
                  <label className="visually-hidden" htmlFor={`qty-${l.productId}`}>
                    Quantity of {l.name}
                  </label>
                  <input
                    id={`qty-${l.productId}`}
                    className="qty-input"
                    type="number"
                    min={1}
                    max={Math.max(1, maxQuantity(l))}
                    value={l.quantity}
                    onChange={(e) => {
                      const n = Number(e.target.value);
                      if (Number.isFinite(n) && n >= 1) cart.setQuantity(l.productId, n);
                    }}
                  />
                </td>
                <td className="num" data-label="Total">
                  <Price cents={lineTotal(l)} currency={l.currency} />
                </td>
                <td>
                  <button type="button" className="link-button" onClick={() => cart.remove(l.productId)}>
                    Remove<span className="visually-hidden"> {l.name}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            {cart.totals.map((t) => (
              <tr key={t.currency}>
                <th scope="row" colSpan={3}>
                  Total{currencies > 1 ? ` (${t.currency})` : ''}
                </th>
                <td className="num" data-testid="cart-total">
                  <Price cents={t.totalCents} currency={t.currency} className="price total" />
                </td>
                <td />
              </tr>
            ))}
          </tfoot>
        </table>
      </div>
      {currencies > 1 && (
        <p className="alert alert-warning">Items priced in different currencies must be ordered separately.</p>
      )}
      {unavailable.length > 0 && (
        <p className="alert alert-warning">Remove the items that are not available to check out.</p>
      )}
      <div className="cart-actions">
        <Link to="/">Continue shopping</Link>
        {session ? (
          <button
            type="button"
            className="btn btn-primary"
            disabled={currencies > 1 || unavailable.length > 0}
            onClick={() => navigate('/checkout')}
          >
            Check out
          </button>
        ) : (
          <Link className="btn btn-primary" to={loginPath('/cart')}>
            Log in to check out
          </Link>
        )}
      </div>
    </section>
  );
}
