import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import { useAuth } from '../auth/AuthProvider';
import { P } from '../auth/permissions';
import { ConfirmButton } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Price } from '../components/Price';
import { backoffDelay } from '../lib/backoff';
import { formatDateTime, shortId } from '../lib/format';
import { useTitle } from '../lib/useTitle';
import { cancellable, StatusBadge, statusLabel } from './OrderStatus';

export function OrderDetailPage() {
  const { id = '' } = useParams();
  const loc = useLocation();
  const justPlaced = Boolean((loc.state as { placed?: boolean } | null)?.placed);
  const qc = useQueryClient();
  const { user, has } = useAuth();
  const polls = useRef(0);
  useTitle(`Order ${shortId(id)}`);

  const order = useQuery({
    queryKey: ['order', id],
    queryFn: () => api.getOrder(id),
    // Follow a pending order until it is confirmed or rejected: 0.5 s, 1 s,
    // 2 s, 4 s, then every 5 s.
    refetchInterval: (q) => {
      if (q.state.data?.status !== 'pending') {
        polls.current = 0;
        return false;
      }
      return backoffDelay(polls.current++);
    },
    refetchIntervalInBackground: false,
    retry: (n, e) => !(isApiError(e) && e.status === 404) && n < 2,
  });

  const cancel = useMutation({
    mutationFn: () => api.cancelOrder(id),
    onSuccess: (o) => {
      qc.setQueryData(['order', id], o);
      qc.invalidateQueries({ queryKey: ['orders'] });
      // Stock came back: product pages must show it.
      qc.invalidateQueries({ queryKey: ['product'] });
      qc.invalidateQueries({ queryKey: ['products'] });
    },
  });

  if (order.isPending) return <Loading label="Loading the order…" />;
  if (order.error) {
    return (
      <section className="page">
        <h1>Order not available</h1>
        <ErrorMessage error={order.error} />
        <p>
          <Link to="/account/orders">Your orders</Link>
        </p>
      </section>
    );
  }
  const o = order.data;
  const mine = user?.id === o.user_id;
  const canCancel = cancellable(o.status) && (mine || has(P.ordersCancelAny));

  return (
    <section className="page" aria-labelledby="order-title">
      {justPlaced && (
        <div className="alert alert-success">
          <strong>Thank you!</strong> Your order was placed.
        </div>
      )}
      <h1 id="order-title">Order #{shortId(o.id)}</h1>
      <p className="order-status-line" role="status" aria-live="polite">
        Status: <StatusBadge status={o.status} />
        {o.status === 'pending' && <span className="muted"> — waiting for the stock to be reserved…</span>}
      </p>
      {o.status === 'rejected' && (
        <p className="alert alert-error">
          This order could not be fulfilled{o.reason ? `: ${o.reason}` : ''}. You were not charged.
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>Placed</dt>
          <dd>{formatDateTime(o.created_at)}</dd>
        </div>
        <div>
          <dt>Last change</dt>
          <dd>{formatDateTime(o.updated_at)}</dd>
        </div>
        {!mine && (
          <div>
            <dt>Customer</dt>
            <dd>
              <code>{o.user_id}</code>
            </dd>
          </div>
        )}
      </dl>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Items of this order</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" className="num">
                Unit price
              </th>
              <th scope="col" className="num">
                Quantity
              </th>
              <th scope="col" className="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {o.items.map((it) => (
              <tr key={it.product_id}>
                <th scope="row">
                  <Link to={`/item/${it.product_id}`}>{it.name}</Link>
                </th>
                <td className="num">
                  <Price cents={it.unit_price_cents} currency={o.currency} />
                </td>
                <td className="num">{it.quantity}</td>
                <td className="num">
                  <Price cents={it.unit_price_cents * it.quantity} currency={o.currency} />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={3}>
                Order total
              </th>
              <td className="num">
                <Price cents={o.total_cents} currency={o.currency} className="price total" />
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
      {cancel.error && <ErrorMessage error={cancel.error} title="The order was not cancelled." />}
      <div className="cart-actions">
        <Link to="/account/orders">All your orders</Link>
        {canCancel && (
          <ConfirmButton
            title="Cancel this order?"
            description={`Order #${shortId(o.id)} (${statusLabel(o.status).toLowerCase()}) will be cancelled and its items released.`}
            confirmLabel="Cancel order"
            onConfirm={() => cancel.mutate()}
            disabled={cancel.isPending}
          >
            {cancel.isPending ? 'Cancelling…' : 'Cancel order'}
          </ConfirmButton>
        )}
      </div>
    </section>
  );
}
