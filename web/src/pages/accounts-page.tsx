import { useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import { currencies, type AccountView, type BalanceTransactionView, type Currency, type ListOf } from '../admin-types';
import { useAnnouncer } from '../announcer';
import { FormError } from '../components/form-error';
import { StatusLine } from '../components/status-line';
import { formatDateTime, formatMoney } from '../format-values';
import { useAdminData } from '../use-admin-data';
import { useFormAction } from '../use-form-action';

/** `POST /admin/accounts`: a prepaid account, opened with the configured sign-up credit, if any. */
function AccountForm(props: { onCreated: (account: AccountView) => void }) {
  const api = useAdminApi();
  const [name, setName] = useState('');
  const [currency, setCurrency] = useState<Currency>('USD');
  const { busy, error, submit } = useFormAction();
  const create = submit(async () => {
    const created = await api.send<AccountView>('POST', '/admin/accounts', { name: name.trim(), currency });
    setName('');
    props.onCreated(created);
  });

  return (
    <form class="card" onSubmit={create} aria-labelledby="create-account-title">
      <h2 id="create-account-title">Create an account</h2>
      <div class="form-grid">
        <div class="field">
          <label for="account-name">Name</label>
          <input id="account-name" required maxLength={200} value={name} onInput={(event) => setName(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="account-currency">Currency of the balance</label>
          <select id="account-currency" value={currency} onChange={(event) => setCurrency(event.currentTarget.value as Currency)}>
            {currencies.map((option) => (
              <option key={option}>{option}</option>
            ))}
          </select>
        </div>
      </div>
      <FormError error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </button>
    </form>
  );
}

/** `POST /admin/accounts/{id}/topup`: adds to a balance, converted into its currency. */
function TopUpForm(props: { accounts: AccountView[]; onToppedUp: (before: AccountView, after: AccountView) => void }) {
  const api = useAdminApi();
  const [accountId, setAccountId] = useState('');
  const [amount, setAmount] = useState('');
  const [currency, setCurrency] = useState<Currency | ''>('');
  const [note, setNote] = useState('');
  const { busy, error, submit } = useFormAction();
  const chosen = props.accounts.find((account) => account.id === accountId) ?? props.accounts[0];
  const topUp = submit(async () => {
    if (chosen === undefined) return;
    const body: Record<string, unknown> = { amount: Number(amount) };
    if (currency !== '') body.currency = currency;
    if (note.trim() !== '') body.note = note.trim();
    const updated = await api.send<AccountView>('POST', `/admin/accounts/${encodeURIComponent(chosen.id)}/topup`, body);
    setAmount('');
    setNote('');
    props.onToppedUp(chosen, updated);
  });

  return (
    <form class="card" onSubmit={topUp} aria-labelledby="top-up-title">
      <h2 id="top-up-title">Top up</h2>
      <div class="form-grid">
        <div class="field">
          <label for="top-up-account">Account</label>
          <select id="top-up-account" required value={chosen?.id ?? ''} onChange={(event) => setAccountId(event.currentTarget.value)}>
            {props.accounts.map((account) => (
              <option key={account.id} value={account.id}>
                {account.name} ({account.currency})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="top-up-amount">Amount</label>
          <input id="top-up-amount" required type="number" min={0} step="any" inputMode="decimal" value={amount} onInput={(event) => setAmount(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="top-up-currency">Currency</label>
          <select id="top-up-currency" aria-describedby="top-up-currency-hint" value={currency} onChange={(event) => setCurrency(event.currentTarget.value as Currency | '')}>
            <option value="">The account’s ({chosen?.currency ?? '—'})</option>
            {currencies.map((option) => (
              <option key={option}>{option}</option>
            ))}
          </select>
          <small id="top-up-currency-hint">Another currency is converted at the relay’s exchange rates.</small>
        </div>
        <div class="field wide">
          <label for="top-up-note">Note</label>
          <input id="top-up-note" maxLength={500} placeholder="e.g. invoice 2026-117" value={note} onInput={(event) => setNote(event.currentTarget.value)} />
        </div>
      </div>
      <FormError error={error} />
      <button type="submit" disabled={busy || chosen === undefined}>
        {busy ? 'Topping up…' : 'Top up'}
      </button>
    </form>
  );
}

/** An account's balance changes other than usage (opening balance, top-ups, corrections), newest first. */
function BalanceHistory(props: { account: AccountView; version: number; onClose: () => void }) {
  const api = useAdminApi();
  const history = useAdminData(
    () => api.get<ListOf<BalanceTransactionView>>(`/admin/accounts/${encodeURIComponent(props.account.id)}/transactions?limit=50`),
    `${props.account.id}:${props.version}`,
  );
  const titleId = 'balance-history-title';
  return (
    <section aria-labelledby={titleId} class="card">
      <div class="section-head">
        <h2 id={titleId} tabIndex={-1}>
          Balance history: {props.account.name}
        </h2>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p class="muted">Top-ups, corrections and the opening balance, newest first; what requests spent is under Usage.</p>
      <StatusLine loading={history.loading} error={history.error} hasData={history.data !== undefined} />
      {history.data !== undefined && (
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby={titleId}>
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col" class="number">
                  Change
                </th>
                <th scope="col" class="number">
                  Balance after
                </th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {history.data.data.map((transaction) => (
                <tr key={transaction.id} data-transaction-id={transaction.id}>
                  <td>{formatDateTime(transaction.created_at)}</td>
                  <td class={`number${transaction.amount < 0 ? ' negative' : ''}`}>
                    {transaction.amount > 0 ? '+' : ''}
                    {formatMoney(transaction.amount, transaction.currency)}
                  </td>
                  <td class="number">{formatMoney(transaction.balance_after, transaction.currency)}</td>
                  <td>{transaction.note}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Prepaid accounts: list with balances, create, top up, and each one's balance history, through `/admin/accounts`. */
export function AccountsPage() {
  const api = useAdminApi();
  const announce = useAnnouncer();
  const accounts = useAdminData(() => api.get<ListOf<AccountView>>('/admin/accounts'), 'accounts');
  const list = accounts.data?.data ?? [];
  const [historyOf, setHistoryOf] = useState<string | undefined>(undefined);
  // Bumped by every top-up, so an open history loads again.
  const [changes, setChanges] = useState(0);
  const shownHistory = list.find((account) => account.id === historyOf);

  return (
    <>
      <AccountForm
        onCreated={(account) => {
          announce(`Account ${account.name} created with a balance of ${formatMoney(account.balance, account.currency)}.`);
          void accounts.reload();
        }}
      />
      {list.length > 0 && (
        <TopUpForm
          accounts={list}
          onToppedUp={(before, after) => {
            announce(`${after.name} topped up: balance ${formatMoney(before.balance, before.currency)} → ${formatMoney(after.balance, after.currency)}.`);
            setChanges(changes + 1);
            void accounts.reload();
          }}
        />
      )}
      <section aria-labelledby="accounts-title" class="card">
        <h2 id="accounts-title">Accounts</h2>
        <StatusLine loading={accounts.loading} error={accounts.error} hasData={accounts.data !== undefined} />
        {accounts.data !== undefined && list.length === 0 && <p class="muted">No accounts yet. Keys charged to an account draw on its balance; other keys are only metered.</p>}
        {list.length > 0 && (
          <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="accounts-title">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" class="number">
                    Balance
                  </th>
                  <th scope="col">Created</th>
                  <th scope="col">History</th>
                </tr>
              </thead>
              <tbody>
                {list.map((account) => (
                  <tr key={account.id} data-account-id={account.id}>
                    <th scope="row">
                      {account.name}
                      <div class="muted mono">{account.id}</div>
                    </th>
                    <td class={`number${account.balance < 0 ? ' negative' : ''}`} data-testid="account-balance">
                      {formatMoney(account.balance, account.currency)}
                    </td>
                    <td>{formatDateTime(account.created_at)}</td>
                    <td class="actions">
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`Balance history of ${account.name}`}
                        onClick={() => {
                          setHistoryOf(account.id);
                          requestAnimationFrame(() => document.getElementById('balance-history-title')?.focus());
                        }}
                      >
                        History
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {shownHistory !== undefined && <BalanceHistory account={shownHistory} version={changes} onClose={() => setHistoryOf(undefined)} />}
    </>
  );
}
