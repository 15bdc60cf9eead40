import { newId } from './new-id.js';
import type { Account, ApiKeyRecord, CreateAccountInput, CreateApiKeyInput } from './relay-store.js';
import { checkAccountInput, checkKeyFields } from './validate-store-input.js';

/*
 * The records a create call stores, built the same way by every backend: input checked, ids
 * generated, bookkeeping fields set, and only the known fields copied (a caller's object may
 * carry more).
 */

export function buildAccount(input: CreateAccountInput, now = Date.now()): Account {
  checkAccountInput(input);
  return {
    id: input.id ?? newId('acct'),
    name: input.name,
    currency: input.currency,
    balanceMicros: input.balanceMicros ?? 0,
    createdAt: now,
    metadata: structuredClone(input.metadata ?? null),
  };
}

/**
 * `updatedAt` is the writer's clock even when `createdAt` is given (an imported key), so replicas
 * polling `changedSince` pick the new key up; the backends raise it further when needed to keep
 * change stamps increasing.
 */
export function buildApiKeyRecord(input: CreateApiKeyInput, now = Date.now()): ApiKeyRecord {
  checkKeyFields(input);
  return structuredClone({
    id: input.id ?? newId('key'),
    name: input.name,
    accountId: input.accountId,
    sha256: input.sha256,
    prefix: input.prefix,
    models: input.models,
    rpm: input.rpm,
    tpm: input.tpm,
    maxParallel: input.maxParallel,
    budget: input.budget,
    expiresAt: input.expiresAt,
    metadata: input.metadata,
    createdAt: input.createdAt ?? now,
    updatedAt: now,
    revokedAt: null,
  });
}
