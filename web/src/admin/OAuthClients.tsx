import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import * as api from '../api/endpoints';
import type { OAuthClient } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { allPermissions } from '../auth/permissions';
import { ConfirmButton } from '../components/ConfirmDialog';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { Loading } from '../components/Loading';
import { useTitle } from '../lib/useTitle';

function itemsOf(d: OAuthClient[] | { items: OAuthClient[] } | undefined): OAuthClient[] {
  if (!d) return [];
  return Array.isArray(d) ? d : d.items;
}

export function OAuthClients() {
  useTitle('OAuth clients · Back office');
  const qc = useQueryClient();
  const { roleTable } = useAuth();
  const scopes = allPermissions(roleTable);
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [created, setCreated] = useState<OAuthClient | null>(null);
  const list = useQuery({ queryKey: ['admin', 'clients'], queryFn: api.listClients });
  const create = useMutation({
    mutationFn: () => api.createClient(name.trim(), chosen),
    onSuccess: (c) => {
      setCreated(c);
      setName('');
      setChosen([]);
      qc.invalidateQueries({ queryKey: ['admin', 'clients'] });
    },
  });
  const del = useMutation({
    mutationFn: api.deleteClient,
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'clients'] }),
  });
  const fieldError = (f: string) =>
    create.error && 'errors' in create.error ? (create.error as { errors: { field: string; message: string }[] }).errors.find((e) => e.field === f)?.message : undefined;

  return (
    <section aria-labelledby="oc-title">
      <h1 id="oc-title">OAuth clients</h1>
      {created?.client_secret && (
        <div className="alert alert-success" role="status">
          <p>
            Client <strong>{created.name}</strong> was created. Copy its secret now: it is not shown again.
          </p>
          <dl className="facts">
            <div>
              <dt>Client id</dt>
              <dd>
                <code>{created.client_id}</code>
              </dd>
            </div>
            <div>
              <dt>Client secret</dt>
              <dd>
                <code data-testid="client-secret">{created.client_secret}</code>{' '}
                <button type="button" className="btn btn-small" onClick={() => navigator.clipboard?.writeText(created.client_secret ?? '')}>
                  Copy secret
                </button>
              </dd>
            </div>
          </dl>
        </div>
      )}
      <form
        className="stack-form card"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <h2>New client</h2>
        <ErrorMessage error={create.error} />
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError('name')} required />
        <fieldset>
          <legend>Scopes</legend>
          {scopes.map((s) => (
            <label key={s} className="checkbox">
              <input
                type="checkbox"
                checked={chosen.includes(s)}
                onChange={(e) => setChosen(e.target.checked ? [...chosen, s] : chosen.filter((x) => x !== s))}
              />
              <code>{s}</code>
            </label>
          ))}
          {fieldError('scopes') && <p className="field-error">{fieldError('scopes')}</p>}
        </fieldset>
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
          Create client
        </button>
      </form>
      {list.isPending && <Loading />}
      {list.error && <ErrorMessage error={list.error} />}
      <ErrorMessage error={del.error} />
      {list.data && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">OAuth clients</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client id</th>
                <th scope="col">Scopes</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {itemsOf(list.data).map((c) => (
                <tr key={c.client_id}>
                  <th scope="row">{c.name}</th>
                  <td>
                    <code>{c.client_id}</code>
                  </td>
                  <td>{c.scopes.join(' ')}</td>
                  <td>
                    <ConfirmButton
                      className="link-button danger"
                      title={`Delete ${c.name}?`}
                      description="Programs using this client can no longer get tokens."
                      confirmLabel="Delete client"
                      onConfirm={() => del.mutate(c.client_id)}
                    >
                      Delete<span className="visually-hidden"> {c.name}</span>
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
