import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { formatDateTime } from '../lib/format';
import { useTitle } from '../lib/useTitle';

export function AuditLog() {
  useTitle('Audit log · Back office');
  const [sp, setSp] = useSearchParams();
  const actor = sp.get('actor_id') ?? '';
  const action = sp.get('action') ?? '';
  const page = Math.max(1, Number(sp.get('page') ?? '1') || 1);
  const [actorInput, setActorInput] = useState(actor);
  const [actionInput, setActionInput] = useState(action);
  const list = useQuery({
    queryKey: ['admin', 'audit', actor, action, page],
    queryFn: () => api.listAudit({ actor_id: actor || undefined, action: action || undefined, page, limit: 50 }),
    placeholderData: keepPreviousData,
  });
  const set = (p: Record<string, string>) =>
    setSp(Object.fromEntries(Object.entries({ actor_id: actor, action, ...p }).filter(([, v]) => v)));
  return (
    <section aria-labelledby="al-title">
      <h1 id="al-title">Audit log</h1>
      <form
        className="filters filters-inline"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          set({ actor_id: actorInput.trim(), action: actionInput.trim(), page: '' });
        }}
      >
        <div className="field">
          <label htmlFor="al-actor">Actor id</label>
          <input id="al-actor" value={actorInput} onChange={(e) => setActorInput(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="al-action">Action</label>
          <input id="al-action" value={actionInput} onChange={(e) => setActionInput(e.target.value)} placeholder="e.g. login" />
        </div>
        <div className="filters-actions">
          <button type="submit" className="btn">
            Filter
          </button>
        </div>
      </form>
      {list.isPending && <Loading />}
      {list.error && <ErrorMessage error={list.error} />}
      {list.data && list.data.items.length === 0 && <p className="empty">No entries.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table table-compact">
            <caption className="visually-hidden">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Client address</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((e) => (
                <tr key={e.id}>
                  <td>{formatDateTime(e.at)}</td>
                  <td>
                    {e.actor_type}{' '}
                    {e.actor_id && (
                      <button type="button" className="link-button" onClick={() => { setActorInput(e.actor_id ?? ''); set({ actor_id: e.actor_id ?? '', page: '' }); }}>
                        <code>{e.actor_id.slice(0, 8)}</code>
                      </button>
                    )}
                  </td>
                  <th scope="row">{e.action}</th>
                  <td>
                    {e.target_type} {e.target_id && <code>{e.target_id.slice(0, 8)}</code>}
                  </td>
                  <td>{e.outcome}</td>
                  <td>{e.client_ip ?? '—'}</td>
                  <td>
                    <code>{e.request_id ?? '—'}</code>
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
