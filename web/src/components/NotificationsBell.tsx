import * as Popover from '@radix-ui/react-popover';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import * as api from '../api/endpoints';
import { formatDateTime } from '../lib/format';

/** The bell with the unread count; hidden while notification-service is absent. */
export function NotificationsBell() {
  const qc = useQueryClient();
  const count = useQuery({
    queryKey: ['notifications', 'unread-count'],
    queryFn: api.unreadCount,
    refetchInterval: (q) => (q.state.error ? false : 30_000),
    retry: false,
  });
  const list = useQuery({
    queryKey: ['notifications', 'latest'],
    queryFn: () => api.listNotifications({ limit: 5 }),
    enabled: count.isSuccess,
    retry: false,
  });
  const read = useMutation({
    mutationFn: api.markRead,
    onSettled: () => qc.invalidateQueries({ queryKey: ['notifications'] }),
  });
  // Absent (404/503) or failing: no bell rather than a broken one.
  if (!count.isSuccess) return null;
  const n = count.data.count;
  return (
    <Popover.Root>
      <Popover.Trigger asChild>
        <button type="button" className="bell">
          <span className="visually-hidden">Notifications, {n} unread</span>
          <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
            <path
              fill="currentColor"
              d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
            />
          </svg>
          {n > 0 && (
            <span className="badge" aria-hidden="true">
              {n > 99 ? '99+' : n}
            </span>
          )}
        </button>
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content className="popover" align="end" sideOffset={6}>
          <h2 className="popover-title">Notifications</h2>
          {list.data && list.data.items.length === 0 && <p>Nothing new.</p>}
          <ul className="notification-list">
            {list.data?.items.map((it) => (
              <li key={it.id} className={it.read ? 'read' : 'unread'}>
                <strong>{it.title}</strong>
                <p>{it.body}</p>
                <small>{formatDateTime(it.created_at)}</small>
                {!it.read && (
                  <button type="button" className="link-button" onClick={() => read.mutate(it.id)}>
                    Mark as read
                  </button>
                )}
              </li>
            ))}
          </ul>
          <Link to="/account/notifications">All notifications</Link>
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  );
}
