import { useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import type { AccountView, KeyWithSecret } from '../admin-types';

const emptyForm = { name: '', account: '', models: '', rpm: '', tpm: '', maxParallel: '', budgetAmount: '', budgetCurrency: 'USD', budgetPeriod: 'monthly', expiresAt: '' };
type FormFields = typeof emptyForm;

/** The form's text → the admin API's body: only the fields filled in, numbers as numbers. */
function keyBody(fields: FormFields): Record<string, unknown> {
  const body: Record<string, unknown> = { name: fields.name.trim() };
  const models = fields.models.split(',').map((model) => model.trim()).filter((model) => model !== '');
  if (fields.account !== '') body.account = fields.account;
  if (models.length > 0) body.models = models;
  if (fields.rpm !== '') body.rpm = Number(fields.rpm);
  if (fields.tpm !== '') body.tpm = Number(fields.tpm);
  if (fields.maxParallel !== '') body.max_parallel = Number(fields.maxParallel);
  if (fields.budgetAmount !== '') body.budget = { amount: Number(fields.budgetAmount), currency: fields.budgetCurrency, period: fields.budgetPeriod };
  if (fields.expiresAt !== '') body.expires_at = new Date(fields.expiresAt).toISOString();
  return body;
}

/** `POST /admin/keys` with limits and a budget; hands the created key (with its secret) to `onCreated`. */
export function KeyForm(props: { accounts: AccountView[]; onCreated: (created: KeyWithSecret) => void }) {
  const api = useAdminApi();
  const [fields, setFields] = useState<FormFields>(emptyForm);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof FormFields) => (event: Event) => setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.send<KeyWithSecret>('POST', '/admin/keys', keyBody(fields));
      setFields(emptyForm);
      props.onCreated(created);
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card key-form" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <div class="form-grid">
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" required maxLength={200} value={fields.name} onInput={set('name')} />
        </div>
        <div class="field">
          <label for="key-account">Account</label>
          <select id="key-account" value={fields.account} onChange={set('account')}>
            <option value="">None (not prepaid)</option>
            {props.accounts.map((account) => (
              <option key={account.id} value={account.id}>
                {account.name} ({account.currency})
              </option>
            ))}
          </select>
        </div>
        <div class="field wide">
          <label for="key-models">Models</label>
          <input id="key-models" placeholder="all models" aria-describedby="key-models-hint" value={fields.models} onInput={set('models')} />
          <small id="key-models-hint">Comma-separated names or globs, e.g. gpt-*, claude-sonnet-4</small>
        </div>
        <div class="field">
          <label for="key-rpm">Requests per minute</label>
          <input id="key-rpm" type="number" min={1} step={1} inputMode="numeric" placeholder="no limit" value={fields.rpm} onInput={set('rpm')} />
        </div>
        <div class="field">
          <label for="key-tpm">Tokens per minute</label>
          <input id="key-tpm" type="number" min={1} step={1} inputMode="numeric" placeholder="no limit" value={fields.tpm} onInput={set('tpm')} />
        </div>
        <div class="field">
          <label for="key-parallel">Parallel requests</label>
          <input id="key-parallel" type="number" min={1} step={1} inputMode="numeric" placeholder="no limit" value={fields.maxParallel} onInput={set('maxParallel')} />
        </div>
        <fieldset class="field wide budget">
          <legend>Budget</legend>
          <div class="inline-fields">
            <div class="field">
              <label for="key-budget-amount">Amount</label>
              <input id="key-budget-amount" type="number" min={0} step="any" inputMode="decimal" placeholder="none" value={fields.budgetAmount} onInput={set('budgetAmount')} />
            </div>
            <div class="field">
              <label for="key-budget-currency">Currency</label>
              <select id="key-budget-currency" value={fields.budgetCurrency} onChange={set('budgetCurrency')}>
                <option>USD</option>
                <option>CNY</option>
                <option>EUR</option>
              </select>
            </div>
            <div class="field">
              <label for="key-budget-period">Period</label>
              <select id="key-budget-period" value={fields.budgetPeriod} onChange={set('budgetPeriod')}>
                <option value="daily">Daily</option>
                <option value="monthly">Monthly</option>
                <option value="total">Total</option>
              </select>
            </div>
          </div>
          <small class="muted">Daily and monthly budgets restart at midnight UTC; a total budget never does.</small>
        </fieldset>
        <div class="field">
          <label for="key-expires">Expires</label>
          <input id="key-expires" type="datetime-local" value={fields.expiresAt} onInput={set('expiresAt')} />
        </div>
      </div>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
    </form>
  );
}
