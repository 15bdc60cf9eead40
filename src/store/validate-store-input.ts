import { RelayStoreError } from './relay-store-error.js';
import { currencies, type ApiKeyPatch, type CreateAccountInput, type CreateApiKeyInput, type Currency, type LedgerRecord } from './relay-store.js';

/*
 * Checks shared by every backend, run before anything is written. They keep the backends alike
 * (SQLite would happily store 1.5 in an INTEGER column, Postgres would refuse it) and keep money
 * exact: a micro-unit amount that is not a safe integer is a bug upstream, not something to round.
 */

function invalid(message: string): never {
  throw new RelayStoreError('RELAY_STORE_INVALID', message);
}

export function checkInteger(value: unknown, field: string, options: { min?: number; max?: number } = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) invalid(`${field} must be a safe integer, got ${String(value)}`);
  if (options.min !== undefined && value < options.min) invalid(`${field} must be at least ${options.min}, got ${value}`);
  if (options.max !== undefined && value > options.max) invalid(`${field} must be at most ${options.max}, got ${value}`);
  return value;
}

function checkOptionalInteger(value: unknown, field: string, min: number, max?: number): void {
  if (value !== null && value !== undefined) checkInteger(value, field, { min, max });
}

/** The largest `rpm`, `tpm` and `maxParallel` of a key: Postgres keeps them in 32-bit columns, and every backend refuses what it would. */
export const maxKeyLimit = 2_147_483_647;

export function checkCurrency(value: unknown, field = 'currency'): Currency {
  if (!currencies.includes(value as Currency)) invalid(`${field} must be one of ${currencies.join(', ')}, got ${String(value)}`);
  return value as Currency;
}

function checkMetadata(value: unknown): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) invalid('metadata must be an object or null');
}

export function checkAccountInput(input: CreateAccountInput): void {
  checkCurrency(input.currency);
  if (input.balanceMicros !== undefined) checkInteger(input.balanceMicros, 'balanceMicros');
  checkMetadata(input.metadata);
}

/** Checks the fields a key's creation or patch sets; absent fields are not looked at. */
export function checkKeyFields(fields: ApiKeyPatch & Partial<Pick<CreateApiKeyInput, 'sha256' | 'createdAt'>>): void {
  if (fields.sha256 !== undefined) checkSha256(fields.sha256);
  if (fields.models !== undefined && fields.models !== null) {
    if (!Array.isArray(fields.models) || fields.models.some((model) => typeof model !== 'string')) invalid('models must be an array of strings or null');
  }
  checkOptionalInteger(fields.rpm, 'rpm', 0, maxKeyLimit);
  checkOptionalInteger(fields.tpm, 'tpm', 0, maxKeyLimit);
  checkOptionalInteger(fields.maxParallel, 'maxParallel', 0, maxKeyLimit);
  checkOptionalInteger(fields.expiresAt, 'expiresAt', 0);
  checkOptionalInteger(fields.createdAt, 'createdAt', 0);
  if (fields.budget !== undefined && fields.budget !== null) {
    checkInteger(fields.budget.amountMicros, 'budget.amountMicros', { min: 0 });
    checkCurrency(fields.budget.currency, 'budget.currency');
    if (!['daily', 'monthly', 'total'].includes(fields.budget.period)) invalid(`budget.period must be daily, monthly or total, got ${String(fields.budget.period)}`);
  }
  checkMetadata(fields.metadata);
}

export function checkSha256(value: unknown): void {
  // Lower-case only: the same secret must always map to the same stored string.
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) invalid('sha256 must be 64 lower-case hex characters');
}

const ledgerCounts = ['promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens', 'costMicros', 'officialCostMicros', 'latencyMs', 'createdAt'] as const;

/** Checks a ledger record; runs for every record, so the messages are built only when a check fails. */
export function checkLedgerRecord(record: LedgerRecord): void {
  if (typeof record.requestId !== 'string' || record.requestId.length === 0) invalid('requestId must be a non-empty string');
  for (const field of ledgerCounts) {
    const value = record[field];
    if (!Number.isSafeInteger(value) || value < 0) checkInteger(value, `ledger record ${record.requestId}: ${field}`, { min: 0 });
  }
  if (!Number.isSafeInteger(record.status)) checkInteger(record.status, `ledger record ${record.requestId}: status`);
  if (record.errorCode !== null && (typeof record.errorCode !== 'string' || record.errorCode.length === 0)) invalid(`ledger record ${record.requestId}: errorCode must be null or a non-empty string`);
  if (!currencies.includes(record.currency)) checkCurrency(record.currency, `ledger record ${record.requestId}: currency`);
  if (typeof record.stream !== 'boolean') invalid(`ledger record ${record.requestId}: stream must be a boolean`);
}
