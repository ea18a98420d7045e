import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import type { Product } from '../api/types';
import { ConfirmButton } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { Price } from '../components/Price';
import { useTitle } from '../lib/useTitle';

function StockEditor({ p }: { p: Product }) {
  const qc = useQueryClient();
  const [value, setValue] = useState(String(p.stock));
  const save = useMutation({
    mutationFn: (stock: number) => api.updateProduct(p.id, { stock }),
    onSuccess: (np) => {
      qc.setQueryData(['product', np.id], np);
      qc.invalidateQueries({ queryKey: ['admin', 'products'] });
      qc.invalidateQueries({ queryKey: ['products'] });
    },
  });
  const n = Number(value);
  const valid = value.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 2147483647;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (valid && n !== p.stock) save.mutate(n);
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label className="visually-hidden" htmlFor={`stock-${p.id}`}>
        Stock of {p.name}
      </label>
      <input
        id={`stock-${p.id}`}
        className="qty-input"
        type="number"
        min={0}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        aria-invalid={!valid || undefined}
      />
      <button type="submit" className="btn btn-small" disabled={!valid || n === p.stock || save.isPending}>
        Save<span className="visually-hidden"> stock of {p.name}</span>
      </button>
      {save.error && <ErrorMessage error={save.error} />}
    </form>
  );
}

export function AdminProducts() {
  useTitle('Products · Back office');
  const qc = useQueryClient();
  const loc = useLocation();
  const flash = (loc.state as { flash?: string } | null)?.flash;
  const [sp, setSp] = useSearchParams();
  const q = sp.get('q') ?? '';
  const page = Math.max(1, Number(sp.get('page') ?? '1') || 1);
  const [search, setSearch] = useState(q);
  const list = useQuery({
    queryKey: ['admin', 'products', q, page],
    queryFn: () => api.listProducts({ q: q || undefined, page, limit: 20, sort: '-created_at' }),
    placeholderData: keepPreviousData,
  });
  const del = useMutation({
    mutationFn: (id: string) => api.deleteProduct(id),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['admin', 'products'] });
      qc.invalidateQueries({ queryKey: ['products'] });
    },
  });

  return (
    <section aria-labelledby="ap-title">
      <div className="section-head">
        <h1 id="ap-title">Products</h1>
        <Link className="btn btn-primary" to="/admin/products/new">
          New product
        </Link>
      </div>
      {flash && (
        <p className="alert alert-success" role="status">
          {flash}
        </p>
      )}
      <form
        className="filters filters-inline"
        role="search"
        aria-label="Products"
        onSubmit={(e) => {
          e.preventDefault();
          setSp(search.trim() ? { q: search.trim() } : {});
        }}
      >
        <div className="field field-search">
          <label htmlFor="ap-q">Search products</label>
          <input id="ap-q" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="filters-actions">
          <button type="submit" className="btn">
            Search
          </button>
        </div>
      </form>
      <ErrorMessage error={del.error} title="The product was not deleted." />
      {list.isPending && <Loading />}
      {list.error && <ErrorMessage error={list.error} />}
      {list.data && list.data.items.length === 0 && <p className="empty">No products.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Products, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">SKU</th>
                <th scope="col">Category</th>
                <th scope="col" className="num">
                  Price
                </th>
                <th scope="col">Stock</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((p) => (
                <tr key={p.id} data-testid="admin-product-row">
                  <th scope="row">
                    <Link to={`/admin/products/${p.id}`}>{p.name}</Link>
                  </th>
                  <td className="nowrap">{p.sku ?? '—'}</td>
                  <td>{p.category ?? '—'}</td>
                  <td className="num">
                    <Price cents={p.price_cents} currency={p.currency} />
                  </td>
                  <td>
                    <StockEditor key={`${p.id}:${p.stock}`} p={p} />
                  </td>
                  <td className="actions">
                    <Link to={`/admin/products/${p.id}`}>
                      Edit<span className="visually-hidden"> {p.name}</span>
                    </Link>
                    <ConfirmButton
                      className="link-button danger"
                      title={`Delete ${p.name}?`}
                      description="The product disappears from the shop. Orders already placed keep their copy of it."
                      confirmLabel="Delete product"
                      onConfirm={() => del.mutate(p.id)}
                    >
                      Delete<span className="visually-hidden"> {p.name}</span>
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && (
        <Pagination
          page={page}
          limit={list.data.limit}
          total={list.data.total}
          onPage={(n) => setSp({ ...(q ? { q } : {}), ...(n > 1 ? { page: String(n) } : {}) })}
        />
      )}
    </section>
  );
}
