import { useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import { currencies, type AccountView, type KeyView, type KeyWithSecret } from '../admin-types';
import { FormError } from '../components/form-error';
import { useFormAction } from '../use-form-action';

const emptyForm = { name: '', account: '', models: '', rpm: '', tpm: '', maxParallel: '', budgetAmount: '', budgetCurrency: 'USD', budgetPeriod: 'monthly', expiresAt: '', noModels: false };
type FormFields = typeof emptyForm;
type TextField = Exclude<keyof FormFields, 'noModels'>;

/** An instant as a `datetime-local` input shows it: the browser's local time, to the minute. */
function localDateTime(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A stored key's settings as the form's text. */
function fieldsOf(key: KeyView): FormFields {
  return {
    name: key.name,
    account: key.account ?? '',
    models: key.models?.join(', ') ?? '',
    rpm: key.rpm === null ? '' : String(key.rpm),
    tpm: key.tpm === null ? '' : String(key.tpm),
    maxParallel: key.max_parallel === null ? '' : String(key.max_parallel),
    budgetAmount: key.budget === null ? '' : String(key.budget.amount),
    budgetCurrency: key.budget?.currency ?? 'USD',
    budgetPeriod: key.budget?.period ?? 'monthly',
    expiresAt: key.expires_at === null ? '' : localDateTime(key.expires_at),
    // An empty list lets the key use no model at all, which the empty field (all models) cannot say.
    noModels: key.models !== null && key.models.length === 0,
  };
}

/**
 * The form's text → the admin API's body, numbers as numbers. A new key gets only the fields filled
 * in; a change sends every field, an empty one as `null` (no limit, no budget, no expiry, all models).
 */
function keyBody(fields: FormFields, editing: KeyView | undefined): Record<string, unknown> {
  const change = editing !== undefined;
  const body: Record<string, unknown> = { name: fields.name.trim() };
  const models = fields.models.split(',').map((model) => model.trim()).filter((model) => model !== '');
  const set = (name: string, filled: boolean, value: () => unknown) => {
    if (filled) body[name] = value();
    else if (change) body[name] = null;
  };
  set('account', fields.account !== '', () => fields.account);
  // A key allowed no model stays so until its models are written in.
  if (!fields.noModels) set('models', models.length > 0, () => models);
  set('rpm', fields.rpm !== '', () => Number(fields.rpm));
  set('tpm', fields.tpm !== '', () => Number(fields.tpm));
  set('max_parallel', fields.maxParallel !== '', () => Number(fields.maxParallel));
  set('budget', fields.budgetAmount !== '', () => ({ amount: Number(fields.budgetAmount), currency: fields.budgetCurrency, period: fields.budgetPeriod }));
  // The field shows the expiry to the minute: left as it was, the stored instant (seconds and all) stays.
  const expiryKept = editing !== undefined && editing.expires_at !== null && fields.expiresAt === localDateTime(editing.expires_at);
  if (!expiryKept) set('expires_at', fields.expiresAt !== '', () => new Date(fields.expiresAt).toISOString());
  return body;
}

type KeyFormProps =
  /** `POST /admin/keys` with limits and a budget; hands the created key (with its secret) to `onCreated`. */
  | { accounts: AccountView[]; editing?: undefined; onCreated: (created: KeyWithSecret) => void }
  /** `PATCH /admin/keys/{id}`: changes a key's settings in place; its secret stays. */
  | { accounts: AccountView[]; editing: KeyView; onSaved: (saved: KeyView) => void; onCancel: () => void };

/** Creates a key, or changes one (`editing`). */
export function KeyForm(props: KeyFormProps) {
  const api = useAdminApi();
  const [fields, setFields] = useState<FormFields>(props.editing === undefined ? emptyForm : fieldsOf(props.editing));
  const { busy, error, submit } = useFormAction();
  const set = (name: TextField) => (event: Event) => setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement).value, ...(name === 'models' ? { noModels: false } : {}) });
  const titleId = props.editing === undefined ? 'create-key-title' : 'edit-key-title';

  const save = submit(async () => {
    if (props.editing === undefined) {
      const created = await api.send<KeyWithSecret>('POST', '/admin/keys', keyBody(fields, undefined));
      setFields(emptyForm);
      props.onCreated(created);
    } else {
      props.onSaved(await api.send<KeyView>('PATCH', `/admin/keys/${encodeURIComponent(props.editing.id)}`, keyBody(fields, props.editing)));
    }
  });

  return (
    <form class="card key-form" onSubmit={save} aria-labelledby={titleId}>
      <h2 id={titleId} tabIndex={-1}>
        {props.editing === undefined ? 'Create a key' : `Edit key “${props.editing.name}”`}
      </h2>
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
          <input id="key-models" placeholder={fields.noModels ? 'no models' : 'all models'} aria-describedby="key-models-hint" value={fields.models} onInput={set('models')} />
          <small id="key-models-hint">Comma-separated names or globs, e.g. gpt-*, claude-sonnet-4; empty: {fields.noModels ? 'this key may use no model' : 'all models'}.</small>
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
                {currencies.map((currency) => (
                  <option key={currency}>{currency}</option>
                ))}
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
          <input id="key-expires" type="datetime-local" aria-describedby="key-expires-hint" value={fields.expiresAt} onInput={set('expiresAt')} />
          <small id="key-expires-hint">In this browser’s time zone; empty: never.</small>
        </div>
      </div>
      <FormError error={error} />
      {props.editing === undefined ? (
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      ) : (
        <div class="button-row">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      )}
    </form>
  );
}
