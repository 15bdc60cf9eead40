import { createHash, randomUUID } from 'node:crypto';
import type { CreateApiKeyInput, LedgerRecord } from './relay-store.js';

/* Sample inputs for the store's tests; each test overrides only what it is about. */

export function sha256Of(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A valid new key with a random secret and no limits. */
export function keyInput(overrides: Partial<CreateApiKeyInput> = {}): CreateApiKeyInput {
  const secret = `sk-relay-${randomUUID()}`;
  return {
    name: 'test key',
    accountId: null,
    sha256: sha256Of(secret),
    prefix: secret.slice(0, 13),
    models: null,
    rpm: null,
    tpm: null,
    maxParallel: null,
    budget: null,
    expiresAt: null,
    metadata: null,
    ...overrides,
  };
}

/** A valid settled request with a random id, in USD, without key or account. */
export function ledgerRecord(overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    requestId: `req_${randomUUID()}`,
    keyId: null,
    accountId: null,
    model: 'gpt-4o-mini',
    provider: 'openai',
    promptTokens: 100,
    completionTokens: 20,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    costMicros: 1_000,
    officialCostMicros: 1_200,
    currency: 'USD',
    latencyMs: 350,
    status: 200,
    errorCode: null,
    stream: false,
    createdAt: Date.UTC(2024, 0, 15, 12),
    ...overrides,
  };
}
