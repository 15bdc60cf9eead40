import { useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import type { AccountView, KeyView, KeyWithSecret, ListOf } from '../admin-types';
import { useAnnouncer } from '../announcer';
import { ConfirmButton } from '../components/confirm-button';
import { SecretPanel } from '../components/secret-panel';
import { StatusLine } from '../components/status-line';
import { formatCount, formatDateTime, formatMoney } from '../format-values';
import { useAdminData } from '../use-admin-data';
import { KeyForm } from './key-form';

function limitsOf(key: KeyView): string {
  const limits = [key.rpm === null ? undefined : `${formatCount(key.rpm)} rpm`, key.tpm === null ? undefined : `${formatCount(key.tpm)} tpm`, key.max_parallel === null ? undefined : `${key.max_parallel} parallel`];
  const set = limits.filter((limit) => limit !== undefined);
  return set.length === 0 ? 'none' : set.join(', ');
}

/** Revoked, expired (the relay refuses it as `expired_api_key`; a later expiry revives it) or active. */
function KeyStatus(props: { keyView: KeyView }) {
  const key = props.keyView;
  if (key.revoked_at !== null) return <span class="badge bad">revoked</span>;
  if (key.expires_at !== null && Date.parse(key.expires_at) <= Date.now()) return <span class="badge warn">expired</span>;
  return <span class="badge ok">active</span>;
}

/** Virtual keys: list, create (secret shown once), rotate and revoke, through `/admin/keys`. */
export function KeysPage() {
  const api = useAdminApi();
  const announce = useAnnouncer();
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const [secret, setSecret] = useState<{ title: string; key: string } | undefined>(undefined);
  const [editing, setEditing] = useState<KeyView | undefined>(undefined);
  const keys = useAdminData(() => api.get<ListOf<KeyView>>(`/admin/keys${includeRevoked ? '?include_revoked=true' : ''}`), String(includeRevoked));
  const accounts = useAdminData(() => api.get<ListOf<AccountView>>('/admin/accounts'), 'accounts');

  const created = (key: KeyWithSecret) => {
    setSecret({ title: `Key “${key.name}” created`, key: key.key });
    announce(`Key ${key.name} created. Copy its secret now: it is shown only once.`);
    void keys.reload();
  };

  return (
    <>
      {secret !== undefined && <SecretPanel title={secret.title} secret={secret.key} onDismiss={() => setSecret(undefined)} />}
      {editing === undefined ? (
        <KeyForm accounts={accounts.data?.data ?? []} onCreated={created} />
      ) : (
        <KeyForm
          key={editing.id}
          accounts={accounts.data?.data ?? []}
          editing={editing}
          onSaved={(saved) => {
            setEditing(undefined);
            announce(`Key ${saved.name} saved: the new settings apply to its next request.`);
            void keys.reload();
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      <section aria-labelledby="keys-title" class="card">
        <div class="section-head">
          <h2 id="keys-title">Keys</h2>
          <label class="checkbox">
            <input type="checkbox" checked={includeRevoked} onChange={(event) => setIncludeRevoked(event.currentTarget.checked)} /> Show revoked keys
          </label>
        </div>
        <StatusLine loading={keys.loading} error={keys.error} hasData={keys.data !== undefined} />
        {keys.data !== undefined && keys.data.data.length === 0 && <p class="muted">No keys yet: the master key and the config file’s keys are not listed here.</p>}
        {keys.data !== undefined && keys.data.data.length > 0 && (
          <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="keys-title">
            <table class="keys-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Models</th>
                  <th scope="col">Limits</th>
                  <th scope="col">Budget</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {keys.data.data.map((key) => (
                  <tr key={key.id} data-key-id={key.id}>
                    <th scope="row">
                      {key.name}
                      <div class="muted mono">{key.id}</div>
                    </th>
                    <td class="mono">{key.prefix}…</td>
                    <td>{key.models === null ? 'all' : key.models.length === 0 ? 'none' : key.models.join(', ')}</td>
                    <td>{limitsOf(key)}</td>
                    <td>{key.budget === null ? 'none' : `${formatMoney(key.budget.amount, key.budget.currency)} ${key.budget.period}`}</td>
                    <td>{formatDateTime(key.expires_at)}</td>
                    <td>{formatDateTime(key.created_at)}</td>
                    <td>
                      <KeyStatus keyView={key} />
                    </td>
                    <td class="actions">
                      {key.revoked_at === null && (
                        <>
                          <button
                            type="button"
                            class="secondary"
                            aria-label={`Edit ${key.name}`}
                            onClick={() => {
                              setEditing(key);
                              // The form replaces the one at the top of the page: take the reader there.
                              requestAnimationFrame(() => document.getElementById('edit-key-title')?.focus());
                            }}
                          >
                            Edit
                          </button>
                          <ConfirmButton
                            label="Rotate"
                            confirmLabel="Confirm rotate"
                            accessibleName={key.name}
                            onConfirm={async () => {
                              try {
                                const rotated = await api.send<KeyWithSecret>('POST', `/admin/keys/${encodeURIComponent(key.id)}/rotate`);
                                setSecret({ title: `New secret for “${key.name}”`, key: rotated.key });
                                announce(`Key ${key.name} rotated: the old secret no longer works. Copy the new one now.`);
                                await keys.reload();
                              } catch (error) {
                                announce(`Rotating ${key.name} failed: ${(error as Error).message}`);
                              }
                            }}
                          />
                          <ConfirmButton
                            label="Revoke"
                            confirmLabel="Confirm revoke"
                            accessibleName={key.name}
                            danger
                            onConfirm={async () => {
                              try {
                                await api.send('DELETE', `/admin/keys/${encodeURIComponent(key.id)}`);
                                announce(`Key ${key.name} revoked: requests with it are refused from now on.`);
                                await keys.reload();
                              } catch (error) {
                                announce(`Revoking ${key.name} failed: ${(error as Error).message}`);
                              }
                            }}
                          />
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
