import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { Price } from '../components/Price';
import { formatDateTime, shortId } from '../lib/format';
import { useTitle } from '../lib/useTitle';
import { StatusBadge } from './OrderStatus';

export function OrdersPage() {
  useTitle('Your orders');
  const [sp, setSp] = useSearchParams();
  const page = Math.max(1, Number(sp.get('page') ?? '1') || 1);
  const orders = useQuery({
    queryKey: ['orders', 'mine', page],
    queryFn: () => api.listOrders({ page, limit: 10 }),
    placeholderData: keepPreviousData,
  });
  return (
    <section className="page" aria-labelledby="orders-title">
      <h1 id="orders-title">Your orders</h1>
      {orders.isPending && <Loading label="Loading your orders…" />}
      {orders.error && <ErrorMessage error={orders.error} />}
      {orders.data && orders.data.items.length === 0 && (
        <p className="empty">
          You have not ordered anything yet. <Link to="/">Browse the shop</Link>.
        </p>
      )}
      {orders.data && orders.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Your orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col" className="num">
                  Items
                </th>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {orders.data.items.map((o) => (
                <tr key={o.id} data-testid="order-row">
                  <th scope="row">
                    <Link to={`/account/orders/${o.id}`}>#{shortId(o.id)}</Link>
                  </th>
                  <td>{formatDateTime(o.created_at)}</td>
                  <td className="num">{o.items.reduce((n, i) => n + i.quantity, 0)}</td>
                  <td className="num">
                    <Price cents={o.total_cents} currency={o.currency} />
                  </td>
                  <td>
                    <StatusBadge status={o.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {orders.data && (
        <Pagination
          page={page}
          limit={orders.data.limit}
          total={orders.data.total}
          onPage={(p) => setSp(p > 1 ? { page: String(p) } : {})}
          label="Order pages"
        />
      )}
    </section>
  );
}
