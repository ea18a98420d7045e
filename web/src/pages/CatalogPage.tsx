import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import type { Product } from '../api/types';
import { useCart } from '../cart/CartProvider';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { Price } from '../components/Price';
import { StockBadge } from '../components/StockBadge';
import { parseMoney } from '../lib/money';
import { useTitle } from '../lib/useTitle';
import { readParams, SORTS, toQuery, writeParams, type CatalogParams } from './catalog';

function useCategories(current: string): string[] {
  // No category listing in the API: collect them from a sample of the catalog.
  const q = useQuery({
    queryKey: ['categories'],
    queryFn: () => api.listProducts({ limit: 100, sort: 'name' }),
    staleTime: 10 * 60_000,
  });
  const set = new Set<string>();
  for (const p of q.data?.items ?? []) if (p.category) set.add(p.category);
  if (current) set.add(current);
  return [...set].sort((a, b) => a.localeCompare(b));
}

function Filters({ params, onApply }: { params: CatalogParams; onApply: (p: CatalogParams) => void }) {
  const [q, setQ] = useState(params.q);
  const [min, setMin] = useState(params.min);
  const [max, setMax] = useState(params.max);
  const [errors, setErrors] = useState<{ min?: string; max?: string }>({});
  const categories = useCategories(params.category);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errs: { min?: string; max?: string } = {};
    const minC = min.trim() ? parseMoney(min) : null;
    const maxC = max.trim() ? parseMoney(max) : null;
    if (min.trim() && minC == null) errs.min = 'Enter an amount such as 10 or 10.50.';
    if (max.trim() && maxC == null) errs.max = 'Enter an amount such as 10 or 10.50.';
    if (minC != null && maxC != null && maxC < minC) errs.max = 'The maximum must not be below the minimum.';
    setErrors(errs);
    if (errs.min || errs.max) return;
    onApply({ ...params, q, min, max, page: 1 });
  };

  return (
    <form className="filters" role="search" aria-label="Products" onSubmit={submit}>
      <div className="field field-search">
        <label htmlFor="f-q">Search</label>
        <input id="f-q" type="search" name="q" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Name or description" />
      </div>
      <div className="field">
        <label htmlFor="f-category">Category</label>
        <select
          id="f-category"
          value={params.category}
          onChange={(e) => onApply({ ...params, q, min, max, category: e.target.value, page: 1 })}
        >
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <div className="field field-price">
        <label htmlFor="f-min">Min price</label>
        <input
          id="f-min"
          inputMode="decimal"
          value={min}
          onChange={(e) => setMin(e.target.value)}
          aria-invalid={errors.min ? true : undefined}
          aria-describedby={errors.min ? 'f-min-error' : undefined}
        />
        {errors.min && (
          <p className="field-error" id="f-min-error">
            {errors.min}
          </p>
        )}
      </div>
      <div className="field field-price">
        <label htmlFor="f-max">Max price</label>
        <input
          id="f-max"
          inputMode="decimal"
          value={max}
          onChange={(e) => setMax(e.target.value)}
          aria-invalid={errors.max ? true : undefined}
          aria-describedby={errors.max ? 'f-max-error' : undefined}
        />
        {errors.max && (
          <p className="field-error" id="f-max-error">
            {errors.max}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor="f-sort">Sort by</label>
        <select id="f-sort" value={params.sort} onChange={(e) => onApply({ ...params, q, min, max, sort: e.target.value, page: 1 })}>
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      <div className="filters-actions">
        <button type="submit" className="btn btn-primary">
          Search
        </button>
      </div>
    </form>
  );
}

function ProductCard({ p, onAdded }: { p: Product; onAdded: (p: Product) => void }) {
  const cart = useCart();
  return (
    <li className="card product-card">
      <h2 className="card-title">
        <Link to={`/item/${p.id}`}>{p.name}</Link>
      </h2>
      {p.category && <p className="muted">{p.category}</p>}
      <p className="card-price">
        <Price cents={p.price_cents} currency={p.currency} />
      </p>
      <StockBadge stock={p.stock} />
      <button
        type="button"
        className="btn"
        disabled={p.stock <= 0}
        onClick={() => {
          cart.add(p, 1);
          onAdded(p);
        }}
      >
        Add to cart<span className="visually-hidden">: {p.name}</span>
      </button>
    </li>
  );
}

export function CatalogPage() {
  useTitle('Shop');
  const [sp, setSp] = useSearchParams();
  const params = readParams(sp);
  const query = toQuery(params);
  const list = useQuery({
    queryKey: ['products', query],
    queryFn: ({ signal }) => api.listProducts(query, signal),
    placeholderData: keepPreviousData,
  });
  const [added, setAdded] = useState<string | null>(null);
  const apply = (p: CatalogParams) => setSp(writeParams(p));
  const filtered = Boolean(params.q || params.category || params.min || params.max);

  return (
    <section className="page catalog" aria-labelledby="catalog-title">
      <h1 id="catalog-title">Shop</h1>
      {/* key: the form starts again from the URL when it changes (back button) */}
      <Filters key={sp.toString()} params={params} onApply={apply} />
      <div aria-live="polite" className="result-count">
        {list.data && !list.isPlaceholderData && (
          <p>
            {list.data.total_exact === false && 'About '}
            {list.data.total} {list.data.total === 1 ? 'product' : 'products'}
            {params.q && <> for “{params.q}”</>}
          </p>
        )}
      </div>
      <div role="status" aria-live="polite" className="added">
        {added && (
          <p className="alert alert-success">
            {added} <Link to="/cart">View cart</Link>
          </p>
        )}
      </div>
      {list.isPending && <Loading label="Loading products…" />}
      {list.error && <ErrorMessage error={list.error} />}
      {list.data && list.data.items.length === 0 && (
        <div className="empty">
          <p>No products match {filtered ? 'these filters' : 'yet'}.</p>
          {filtered && (
            <button type="button" className="btn" onClick={() => setSp(new URLSearchParams())}>
              Clear filters
            </button>
          )}
        </div>
      )}
      {list.data && list.data.items.length > 0 && (
        <ul className="product-grid" aria-busy={list.isPlaceholderData} data-testid="product-grid">
          {list.data.items.map((p) => (
            <ProductCard key={p.id} p={p} onAdded={(x) => setAdded(`Added ${x.name} to your cart.`)} />
          ))}
        </ul>
      )}
      {list.data && (
        <Pagination
          page={params.page}
          limit={list.data.limit}
          total={list.data.total}
          onPage={(page) => {
            apply({ ...params, page });
            window.scrollTo({ top: 0 });
          }}
          label="Catalog pages"
        />
      )}
    </section>
  );
}
