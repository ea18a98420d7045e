import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import { maxQuantity } from '../cart/cart';
import { useCart } from '../cart/CartProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Price } from '../components/Price';
import { StockBadge } from '../components/StockBadge';
import { useTitle } from '../lib/useTitle';

function Recommendations({ id }: { id: string }) {
  // analytics-service answers this; until it exists (404/503) nothing shows.
  const recs = useQuery({
    queryKey: ['recommendations', id],
    queryFn: () => api.getRecommendations(id),
    retry: false,
    staleTime: 60_000,
  });
  if (!recs.data || recs.data.items.length === 0) return null;
  return (
    <section className="recommendations" aria-labelledby="recs-title">
      <h2 id="recs-title">Bought together</h2>
      <ul className="recs-list">
        {recs.data.items.map((r) => (
          <li key={r.id}>
            <Link to={`/item/${r.id}`}>{r.name}</Link> <Price cents={r.price_cents} currency={r.currency} />
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProductPage() {
  const { id = '' } = useParams();
  const cart = useCart();
  const [qty, setQty] = useState('1');
  const [added, setAdded] = useState<string | null>(null);
  const [qtyError, setQtyError] = useState<string | null>(null);
  const product = useQuery({
    queryKey: ['product', id],
    queryFn: ({ signal }) => api.getProduct(id, signal),
    retry: (n, e) => !(isApiError(e) && e.status === 404) && n < 2,
  });
  useTitle(product.data?.name ?? 'Product');

  if (product.isPending) return <Loading label="Loading the product…" />;
  if (product.error) {
    const missing = isApiError(product.error) && product.error.status === 404;
    return (
      <section className="page">
        <h1>{missing ? 'Product not found' : 'The product could not be loaded'}</h1>
        {missing ? <p>This product does not exist or was removed.</p> : <ErrorMessage error={product.error} />}
        <p>
          <Link to="/">Back to the shop</Link>
        </p>
      </section>
    );
  }
  const p = product.data;
  const inCart = cart.lines.find((l) => l.productId === p.id)?.quantity ?? 0;
  const max = Math.max(0, maxQuantity({ stock: p.stock }) - inCart);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const n = Number(qty);
    if (!Number.isInteger(n) || n < 1) {
      setQtyError('Enter a whole number of at least 1.');
      return;
    }
    if (n > max) {
      setQtyError(max > 0 ? `You can add at most ${max} more.` : 'You already have all the available stock in your cart.');
      return;
    }
    setQtyError(null);
    cart.add(p, n);
    setAdded(`Added ${n} × ${p.name} to your cart.`);
  };

  return (
    <article className="page product-page" aria-labelledby="product-title">
      <p className="breadcrumbs">
        <Link to="/">Shop</Link>
        {p.category && (
          <>
            {' '}
            › <Link to={`/?category=${encodeURIComponent(p.category)}`}>{p.category}</Link>
          </>
        )}
      </p>
      <h1 id="product-title">{p.name}</h1>
      <div className="product-layout">
        <div>
          {p.description && <p className="description">{p.description}</p>}
          {p.sku && <p className="muted">SKU {p.sku}</p>}
        </div>
        <div className="buy-box card">
          <p className="big-price">
            <Price cents={p.price_cents} currency={p.currency} />
          </p>
          <p>
            <StockBadge stock={p.stock} />
          </p>
          <form onSubmit={submit} noValidate>
            <div className="field field-qty">
              <label htmlFor="qty">Quantity</label>
              <input
                id="qty"
                type="number"
                min={1}
                max={Math.max(1, max)}
                value={qty}
                onChange={(e) => setQty(e.target.value)}
                disabled={p.stock <= 0}
                aria-invalid={qtyError ? true : undefined}
                aria-describedby={qtyError ? 'qty-error' : undefined}
              />
              {qtyError && (
                <p className="field-error" id="qty-error">
                  {qtyError}
                </p>
              )}
            </div>
            <button type="submit" className="btn btn-primary" disabled={p.stock <= 0}>
              Add to cart
            </button>
          </form>
          <div role="status" aria-live="polite" className="added">
            {added && (
              <p>
                {added} <Link to="/cart">View cart</Link>
              </p>
            )}
          </div>
        </div>
      </div>
      <Recommendations id={p.id} />
    </article>
  );
}
