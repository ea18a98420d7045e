import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import * as api from '../api/endpoints';
import type { Order } from '../api/types';
import { fingerprint, lineTotal, toOrderItems } from '../cart/cart';
import { useCart } from '../cart/CartProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Price } from '../components/Price';
import { newId } from '../lib/ids';
import { useTitle } from '../lib/useTitle';
import { useFreshCart } from './CartPage';

const ATTEMPT_KEY = 'souk.checkout';

/**
 * The Idempotency-Key of this checkout attempt: made once for the cart's
 * current lines and kept (across reloads and retries) until an order is
 * placed or the lines change. Retrying after a lost answer, or clicking
 * twice, therefore places one order.
 */
export function checkoutKey(fp: string, storage: Storage = sessionStorage): string {
  try {
    const saved = JSON.parse(storage.getItem(ATTEMPT_KEY) ?? 'null') as { key: string; fp: string } | null;
    if (saved && saved.fp === fp && typeof saved.key === 'string') return saved.key;
  } catch {
    /* start a new attempt */
  }
  const key = newId();
  try {
    storage.setItem(ATTEMPT_KEY, JSON.stringify({ key, fp }));
  } catch {
    /* the key still holds for this page */
  }
  return key;
}

export function endCheckoutAttempt(storage: Storage = sessionStorage): void {
  try {
    storage.removeItem(ATTEMPT_KEY);
  } catch {
    /* nothing to do */
  }
}

export function CheckoutPage() {
  useTitle('Checkout');
  const cart = useCart();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const { missing, checking } = useFreshCart();
  const busy = useRef(false);
  const [placed, setPlaced] = useState<Order | null>(null);
  const fp = fingerprint(cart.lines);

  const place = useMutation({
    mutationFn: (v: { items: ReturnType<typeof toOrderItems>; key: string }) => api.placeOrder(v.items, v.key),
    onSuccess: (order) => {
      setPlaced(order);
      endCheckoutAttempt();
      cart.clear();
      qc.setQueryData(['order', order.id], order);
      qc.invalidateQueries({ queryKey: ['orders'] });
      navigate(`/account/orders/${order.id}`, { state: { placed: true } });
    },
    onSettled: () => {
      busy.current = false;
    },
  });

  if (cart.lines.length === 0 && !placed && !place.isPending) {
    return (
      <section className="page" aria-labelledby="checkout-title">
        <h1 id="checkout-title">Checkout</h1>
        <p>Your cart is empty.</p>
        <p>
          <Link to="/">Continue shopping</Link>
        </p>
      </section>
    );
  }

  const currencies = cart.totals.length;
  const blocked = currencies !== 1 || cart.lines.some((l) => missing.has(l.productId) || l.stock === 0);

  const submit = () => {
    if (busy.current || blocked) return; // a second click while the first is on its way
    busy.current = true;
    place.mutate({ items: toOrderItems(cart.lines), key: checkoutKey(fp) });
  };

  return (
    <section className="page" aria-labelledby="checkout-title">
      <h1 id="checkout-title">Checkout</h1>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Your order</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" className="num">
                Quantity
              </th>
              <th scope="col" className="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {cart.lines.map((l) => (
              <tr key={l.productId}>
                <th scope="row">{l.name}</th>
                <td className="num">{l.quantity}</td>
                <td className="num">
                  <Price cents={lineTotal(l)} currency={l.currency} />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            {cart.totals.map((t) => (
              <tr key={t.currency}>
                <th scope="row" colSpan={2}>
                  Order total
                </th>
                <td className="num" data-testid="checkout-total">
                  <Price cents={t.totalCents} currency={t.currency} className="price total" />
                </td>
              </tr>
            ))}
          </tfoot>
        </table>
      </div>
      {blocked && (
        <p className="alert alert-warning">
          Some items cannot be ordered as they are. <Link to="/cart">Review your cart</Link>.
        </p>
      )}
      {place.error && <ErrorMessage error={place.error} title="Your order was not placed." />}
      <div className="cart-actions">
        <Link to="/cart">Back to the cart</Link>
        <button
          type="button"
          className="btn btn-primary"
          onClick={submit}
          disabled={blocked || checking || place.isPending}
          aria-disabled={place.isPending || undefined}
        >
          {place.isPending ? 'Placing your order…' : 'Place order'}
        </button>
      </div>
    </section>
  );
}
