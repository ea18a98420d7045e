import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import * as api from '../api/endpoints';
import { isApiError } from '../api/errors';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { formatDateTime } from '../lib/format';
import { useTitle } from '../lib/useTitle';

export function NotificationsPage() {
  useTitle('Notifications');
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ['notifications', 'page', page],
    queryFn: () => api.listNotifications({ page, limit: 20 }),
    retry: false,
  });
  const done = () => qc.invalidateQueries({ queryKey: ['notifications'] });
  const read = useMutation({ mutationFn: api.markRead, onSettled: done });
  const readAll = useMutation({ mutationFn: api.markAllRead, onSettled: done });
  const absent = isApiError(list.error) && list.error.isMissingService;
  return (
    <section className="page" aria-labelledby="notif-title">
      <h1 id="notif-title">Notifications</h1>
      {list.isPending && <Loading />}
      {absent && <p className="alert alert-info">Notifications are not available yet.</p>}
      {list.error && !absent && <ErrorMessage error={list.error} />}
      <ErrorMessage error={read.error ?? readAll.error} />
      {list.data && (
        <>
          <button type="button" className="btn" onClick={() => readAll.mutate()} disabled={readAll.isPending}>
            Mark all as read
          </button>
          {list.data.items.length === 0 && <p className="empty">No notifications.</p>}
          <ul className="notification-list">
            {list.data.items.map((n) => (
              <li key={n.id} className={n.read ? 'read' : 'unread'}>
                <strong>{n.title}</strong> {!n.read && <span className="badge">new</span>}
                <p>{n.body}</p>
                <small>{formatDateTime(n.created_at)}</small>{' '}
                {!n.read && (
                  <button type="button" className="link-button" onClick={() => read.mutate(n.id)}>
                    Mark as read<span className="visually-hidden">: {n.title}</span>
                  </button>
                )}
              </li>
            ))}
          </ul>
          <Pagination page={page} limit={list.data.limit} total={list.data.total} onPage={setPage} />
        </>
      )}
    </section>
  );
}
