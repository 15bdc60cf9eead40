import type { Account, ApiKeyRecord, BalanceTransaction, Currency } from '../../store/relay-store.js';

const iso = (milliseconds: number | null) => (milliseconds === null ? null : new Date(milliseconds).toISOString());
const units = (micros: number) => micros / 1_000_000;

/** A stored key as the admin API shows it: snake_case, amounts in units, times in ISO 8601, never the secret or its hash. */
export function keyView(record: ApiKeyRecord) {
  return {
    id: record.id,
    object: 'api_key',
    name: record.name,
    prefix: record.prefix,
    account: record.accountId,
    models: record.models,
    rpm: record.rpm,
    tpm: record.tpm,
    max_parallel: record.maxParallel,
    budget: record.budget === null ? null : { amount: units(record.budget.amountMicros), currency: record.budget.currency, period: record.budget.period },
    expires_at: iso(record.expiresAt),
    metadata: record.metadata,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    revoked_at: iso(record.revokedAt),
  };
}

export function accountView(account: Account) {
  return {
    id: account.id,
    object: 'account',
    name: account.name,
    currency: account.currency,
    balance: units(account.balanceMicros),
    metadata: account.metadata,
    created_at: iso(account.createdAt),
  };
}

/** A balance transaction as the admin API shows it, in its account's currency. */
export function balanceTransactionView(transaction: BalanceTransaction, currency: Currency) {
  return {
    id: transaction.id,
    object: 'balance_transaction',
    amount: units(transaction.deltaMicros),
    balance_after: units(transaction.balanceAfterMicros),
    currency,
    note: transaction.note,
    created_at: iso(transaction.createdAt),
  };
}
