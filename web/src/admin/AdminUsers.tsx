import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import * as api from '../api/endpoints';
import type { User } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { BUILTIN_ASSIGNABLE, P } from '../auth/permissions';
import { ConfirmButton } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';
import { Pagination } from '../components/Pagination';
import { formatDate } from '../lib/format';
import { useTitle } from '../lib/useTitle';

function RolesEditor({ u, roles }: { u: User; roles: string[] }) {
  const qc = useQueryClient();
  const [chosen, setChosen] = useState<string[]>(u.roles);
  const save = useMutation({
    mutationFn: () => api.updateUser(u.id, { roles: chosen }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'users'] }),
  });
  const changed = [...chosen].sort().join() !== [...u.roles].sort().join();
  return (
    <fieldset className="roles-editor">
      <legend className="visually-hidden">Roles of {u.email}</legend>
      {roles.map((r) => (
        <label key={r} className="checkbox">
          <input
            type="checkbox"
            checked={chosen.includes(r)}
            onChange={(e) => setChosen(e.target.checked ? [...chosen, r] : chosen.filter((x) => x !== r))}
          />
          {r}
        </label>
      ))}
      <button type="button" className="btn btn-small" disabled={!changed || chosen.length === 0 || save.isPending} onClick={() => save.mutate()}>
        Save<span className="visually-hidden"> roles of {u.email}</span>
      </button>
      {save.error && <ErrorMessage error={save.error} />}
    </fieldset>
  );
}

function DisableButton({ u }: { u: User }) {
  const qc = useQueryClient();
  const toggle = useMutation({
    mutationFn: () => api.updateUser(u.id, { disabled: !u.disabled }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'users'] }),
  });
  return (
    <>
      {u.disabled ? (
        <button type="button" className="link-button" onClick={() => toggle.mutate()} disabled={toggle.isPending}>
          Enable<span className="visually-hidden"> {u.email}</span>
        </button>
      ) : (
        <ConfirmButton
          className="link-button danger"
          title={`Disable ${u.email}?`}
          description="The account can no longer log in and its sessions end."
          confirmLabel="Disable account"
          onConfirm={() => toggle.mutate()}
        >
          Disable<span className="visually-hidden"> {u.email}</span>
        </ConfirmButton>
      )}
      {toggle.error && <ErrorMessage error={toggle.error} />}
    </>
  );
}

export function AdminUsers() {
  useTitle('Users · Back office');
  const { has, roleTable, rolesFromServer, user: me } = useAuth();
  const [sp, setSp] = useSearchParams();
  const q = sp.get('q') ?? '';
  const page = Math.max(1, Number(sp.get('page') ?? '1') || 1);
  const [search, setSearch] = useState(q);
  const canWrite = has(P.usersWrite);
  const assignable = rolesFromServer ? roleTable.map((r) => r.name) : BUILTIN_ASSIGNABLE;
  const list = useQuery({
    queryKey: ['admin', 'users', q, page],
    queryFn: () => api.listUsers({ q: q || undefined, page, limit: 20 }),
    placeholderData: keepPreviousData,
  });
  return (
    <section aria-labelledby="au-title">
      <h1 id="au-title">Users</h1>
      <form
        className="filters filters-inline"
        role="search"
        aria-label="Users"
        onSubmit={(e) => {
          e.preventDefault();
          setSp(search.trim() ? { q: search.trim() } : {});
        }}
      >
        <div className="field field-search">
          <label htmlFor="au-q">Search by email or name</label>
          <input id="au-q" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="filters-actions">
          <button type="submit" className="btn">
            Search
          </button>
        </div>
      </form>
      {list.isPending && <Loading />}
      {list.error && <ErrorMessage error={list.error} />}
      {list.data && list.data.items.length === 0 && <p className="empty">No users match.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Users, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Roles</th>
                <th scope="col">Status</th>
                <th scope="col">Joined</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((u) => (
                <tr key={u.id} data-testid="admin-user-row">
                  <th scope="row">{u.email}</th>
                  <td>{u.name || '—'}</td>
                  <td>{canWrite && u.id !== me?.id ? <RolesEditor key={u.roles.join()} u={u} roles={assignable} /> : u.roles.join(', ')}</td>
                  <td>{u.disabled ? <span className="status status-rejected">Disabled</span> : 'Active'}</td>
                  <td>{formatDate(u.created_at)}</td>
                  <td className="actions">
                    {has(P.ordersReadAny) && (
                      <Link to={`/admin/orders?user_id=${u.id}`}>
                        Orders<span className="visually-hidden"> of {u.email}</span>
                      </Link>
                    )}
                    {canWrite && u.id !== me?.id && <DisableButton u={u} />}
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
