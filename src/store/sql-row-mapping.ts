import type { Insertable, Updateable } from 'kysely';
import type { AccountsTable, ApiKeysTable, LedgerEntriesTable } from './database-schema.js';
import type { Account, ApiKeyPatch, ApiKeyRecord, Currency, KeyBudget, LedgerRecord, Metadata } from './relay-store.js';

/*
 * Conversions between the store's records and the SQL rows of `database-schema.ts`. The JSON
 * columns are parsed without a schema check because only this store writes them, from values
 * already checked by `validate-store-input.ts`.
 */

function toJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function accountFromRow(row: AccountsTable): Account {
  return {
    id: row.id,
    name: row.name,
    currency: row.currency as Currency,
    balanceMicros: Number(row.balance_micros),
    createdAt: Number(row.created_at),
    metadata: fromJson<Metadata>(row.metadata),
  };
}

export function accountToRow(account: Account): Insertable<AccountsTable> {
  return {
    id: account.id,
    name: account.name,
    currency: account.currency,
    balance_micros: account.balanceMicros,
    created_at: account.createdAt,
    metadata: toJson(account.metadata),
  };
}

export function apiKeyFromRow(row: ApiKeysTable): ApiKeyRecord {
  const budget: KeyBudget | null =
    row.budget_amount_micros === null || row.budget_currency === null || row.budget_period === null
      ? null
      : { amountMicros: Number(row.budget_amount_micros), currency: row.budget_currency as Currency, period: row.budget_period as KeyBudget['period'] };
  return {
    id: row.id,
    name: row.name,
    accountId: row.account_id,
    sha256: row.sha256,
    prefix: row.prefix,
    models: fromJson<string[]>(row.models),
    rpm: row.rpm,
    tpm: row.tpm,
    maxParallel: row.max_parallel,
    budget,
    expiresAt: nullableNumber(row.expires_at),
    metadata: fromJson<Metadata>(row.metadata),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    revokedAt: nullableNumber(row.revoked_at),
  };
}

/** The columns a patch sets; fields that are absent or `undefined` are left out, so they keep their value. */
export function apiKeyPatchToColumns(patch: ApiKeyPatch): Updateable<ApiKeysTable> {
  const columns: Updateable<ApiKeysTable> = {};
  if (patch.name !== undefined) columns.name = patch.name;
  if (patch.accountId !== undefined) columns.account_id = patch.accountId;
  if (patch.models !== undefined) columns.models = toJson(patch.models);
  if (patch.rpm !== undefined) columns.rpm = patch.rpm;
  if (patch.tpm !== undefined) columns.tpm = patch.tpm;
  if (patch.maxParallel !== undefined) columns.max_parallel = patch.maxParallel;
  if (patch.budget !== undefined) {
    columns.budget_amount_micros = patch.budget?.amountMicros ?? null;
    columns.budget_currency = patch.budget?.currency ?? null;
    columns.budget_period = patch.budget?.period ?? null;
  }
  if (patch.expiresAt !== undefined) columns.expires_at = patch.expiresAt;
  if (patch.metadata !== undefined) columns.metadata = toJson(patch.metadata);
  return columns;
}

export function apiKeyToRow(record: ApiKeyRecord): Insertable<ApiKeysTable> {
  return {
    id: record.id,
    name: record.name,
    account_id: record.accountId,
    sha256: record.sha256,
    prefix: record.prefix,
    models: toJson(record.models),
    metadata: toJson(record.metadata),
    budget_amount_micros: record.budget?.amountMicros ?? null,
    budget_currency: record.budget?.currency ?? null,
    budget_period: record.budget?.period ?? null,
    rpm: record.rpm,
    tpm: record.tpm,
    max_parallel: record.maxParallel,
    expires_at: record.expiresAt,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    revoked_at: record.revokedAt,
  };
}

export function ledgerRecordToRow(record: LedgerRecord): Insertable<LedgerEntriesTable> {
  return {
    request_id: record.requestId,
    key_id: record.keyId,
    account_id: record.accountId,
    model: record.model,
    provider: record.provider,
    prompt_tokens: record.promptTokens,
    completion_tokens: record.completionTokens,
    cached_tokens: record.cachedTokens,
    cache_write_tokens: record.cacheWriteTokens,
    cost_micros: record.costMicros,
    official_cost_micros: record.officialCostMicros,
    currency: record.currency,
    latency_ms: record.latencyMs,
    status: record.status,
    error_code: record.errorCode,
    stream: record.stream ? 1 : 0,
    created_at: record.createdAt,
  };
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
