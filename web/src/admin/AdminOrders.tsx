import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import type { OrderStatus } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { P } from '../auth/permissions';
import { ConfirmButton } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { Price } from '../components/Price';
import { formatDateTime, shortId } from '../lib/format';
import { useTitle } from '../lib/useTitle';
import { cancellable, StatusBadge } from '../pages/OrderStatus';

const STATUSES: OrderStatus[] = ['pending', 'confirmed', 'rejected', 'cancelled'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function AdminOrders() {
  useTitle('Orders · Back office');
  const qc = useQueryClient();
  const { has } = useAuth();
  const [sp, setSp] = useSearchParams();
  const status = (sp.get('status') ?? '') as OrderStatus | '';
  const userId = sp.get('user_id') ?? '';
  const page = Math.max(1, Number(sp.get('page') ?? '1') || 1);
  const [userInput, setUserInput] = useState(userId);
  const [userError, setUserError] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['orders', 'all', status, userId, page],
    queryFn: () => api.listOrders({ status: status || undefined, user_id: userId || undefined, page, limit: 20 }),
    placeholderData: keepPreviousData,
  });
  const cancel = useMutation({
    mutationFn: api.cancelOrder,
    onSuccess: () => qc.invalidateQueries({ queryKey: ['orders'] }),
  });
  const set = (next: Record<string, string>) => {
    const merged = { status, user_id: userId, ...next };
    setSp(Object.fromEntries(Object.entries(merged).filter(([, v]) => v)));
  };

  return (
    <section aria-labelledby="ao-title">
      <h1 id="ao-title">Orders</h1>
      <form
        className="filters filters-inline"
        aria-label="Filter orders"
        onSubmit={(e) => {
          e.preventDefault();
          const u = userInput.trim();
          if (u && !UUID.test(u)) {
            setUserError('Enter a user id (a UUID), or leave it empty.');
            return;
          }
          setUserError(null);
          set({ user_id: u, page: '' });
        }}
      >
        <div className="field">
          <label htmlFor="ao-status">Status</label>
          <select id="ao-status" value={status} onChange={(e) => set({ status: e.target.value, page: '' })}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-search">
          <label htmlFor="ao-user">User id</label>
          <input
            id="ao-user"
            value={userInput}
            onChange={(e) => setUserInput(e.target.value)}
            aria-invalid={userError ? true : undefined}
            aria-describedby={userError ? 'ao-user-error' : undefined}
          />
          {userError && (
            <p className="field-error" id="ao-user-error">
              {userError}
            </p>
          )}
        </div>
        <div className="filters-actions">
          <button type="submit" className="btn">
            Filter
          </button>
        </div>
      </form>
      <ErrorMessage error={cancel.error} title="The order was not cancelled." />
      {list.isPending && <Loading />}
      {list.error && <ErrorMessage error={list.error} />}
      {list.data && list.data.items.length === 0 && <p className="empty">No orders match.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col">User</th>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((o) => (
                <tr key={o.id} data-testid="admin-order-row">
                  <th scope="row">
                    <Link to={`/account/orders/${o.id}`}>#{shortId(o.id)}</Link>
                  </th>
                  <td>{formatDateTime(o.created_at)}</td>
                  <td>
                    <button type="button" className="link-button" onClick={() => { setUserInput(o.user_id); set({ user_id: o.user_id, page: '' }); }}>
                      <code>{shortId(o.user_id)}</code>
                      <span className="visually-hidden"> show only this user's orders</span>
                    </button>
                  </td>
                  <td className="num">
                    <Price cents={o.total_cents} currency={o.currency} />
                  </td>
                  <td>
                    <StatusBadge status={o.status} />
                  </td>
                  <td>
                    {has(P.ordersCancelAny) && cancellable(o.status) && (
                      <ConfirmButton
                        className="link-button danger"
                        title={`Cancel order #${shortId(o.id)}?`}
                        description="The customer's order is cancelled and its stock released. This cannot be undone."
                        confirmLabel="Cancel order"
                        onConfirm={() => cancel.mutate(o.id)}
                      >
                        Cancel<span className="visually-hidden"> order {shortId(o.id)}</span>
                      </ConfirmButton>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && (
        <Pagination page={page} limit={list.data.limit} total={list.data.total} onPage={(n) => set({ page: n > 1 ? String(n) : '' })} />
      )}
    </section>
  );
}
