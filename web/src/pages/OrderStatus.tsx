import type { OrderStatus } from '../api/types';

const LABELS: Record<OrderStatus, string> = {
  pending: 'Pending',
  confirmed: 'Confirmed',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
};

export function statusLabel(s: OrderStatus): string {
  return LABELS[s] ?? s;
}

export function StatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span className={`status status-${status}`} data-testid="order-status">
      {statusLabel(status)}
    </span>
  );
}

export function cancellable(s: OrderStatus): boolean {
  return s === 'pending' || s === 'confirmed';
}
