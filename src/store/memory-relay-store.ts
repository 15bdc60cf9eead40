import { buildAccount, buildApiKeyRecord } from './build-records.js';
import { MemoryCanaryStore } from './memory-canary-store.js';
import { MemoryDashboardSessionStore } from './memory-dashboard-session-store.js';
import { MemoryResponseItemStore, MemoryStoredResponseStore } from './memory-response-item-store.js';
import { newId } from './new-id.js';
import { prepareLedgerBatch } from './prepare-ledger-batch.js';
import { byCreation, byUpdate } from './compare-records.js';
import { RelayStoreError } from './relay-store-error.js';
import type {
  Account,
  AccountStore,
  ApiKeyPatch,
  ApiKeyRecord,
  ApiKeyStore,
  BalanceTransaction,
  BudgetedRecord,
  CreateAccountInput,
  CreateApiKeyInput,
  CreditChange,
  Currency,
  LedgerRecord,
  LedgerStore,
  RelayStore,
  UsageQuery,
  UsageRow,
} from './relay-store.js';
import { sortUsageRows, utcDayFromIndex, utcDayIndex } from './usage-rows.js';
import { checkInteger, checkKeyFields, checkSha256 } from './validate-store-input.js';

/** The fields `keys.update` may change; anything else on a patch object is ignored, as in SQL. */
const patchableFields = ['name', 'models', 'rpm', 'tpm', 'maxParallel', 'budget', 'expiresAt', 'metadata', 'accountId'] as const satisfies readonly (keyof ApiKeyPatch)[];

/**
 * The store in plain maps, for tests and benchmarks. Every method runs to completion without
 * awaiting, so each one is atomic like a database transaction. Records go in and out as copies:
 * a caller mutating a returned object never changes the stored one.
 */
export class MemoryRelayStore implements RelayStore {
  readonly kind = 'memory' as const;
  private readonly accountsById = new Map<string, Account>();
  private readonly balanceTransactions: BalanceTransaction[] = [];
  private readonly keysById = new Map<string, ApiKeyRecord>();
  private readonly keyIdBySha256 = new Map<string, string>();
  private readonly ledgerByRequestId = new Map<string, LedgerRecord>();
  private readonly creditChangesById = new Map<string, CreditChange>();
  private latestUpdatedAt = 0;
  readonly canaries = new MemoryCanaryStore();
  readonly sessions = new MemoryDashboardSessionStore();
  readonly responseItems = new MemoryResponseItemStore();
  readonly storedResponses = new MemoryStoredResponseStore();

  readonly accounts: AccountStore = {
    create: async (input: CreateAccountInput) => {
      const account = buildAccount(input);
      if (this.accountsById.has(account.id)) throw new RelayStoreError('RELAY_STORE_CONFLICT', `account ${account.id} already exists`);
      this.accountsById.set(account.id, structuredClone(account));
      if (account.balanceMicros !== 0) {
        this.recordTransaction(account.id, account.balanceMicros, account.balanceMicros, 'opening balance', account.createdAt);
        if (input.creditChangeId !== undefined) this.recordCreditChange(input.creditChangeId, account.id, account.balanceMicros, account.createdAt);
      }
      return account;
    },
    get: async (id: string) => copy(this.accountsById.get(id)),
    list: async () => [...this.accountsById.values()].sort(byCreation).map((account) => structuredClone(account)),
    adjustBalance: async (id: string, deltaMicros: number, note: string, creditChangeId?: string) => {
      checkInteger(deltaMicros, 'deltaMicros');
      const account = this.requireAccount(id);
      if (creditChangeId !== undefined && this.creditChangesById.has(creditChangeId)) throw new RelayStoreError('RELAY_STORE_CONFLICT', `credit change ${creditChangeId} already exists`);
      account.balanceMicros += deltaMicros;
      const now = Date.now();
      this.recordTransaction(id, deltaMicros, account.balanceMicros, note, now);
      if (creditChangeId !== undefined) this.recordCreditChange(creditChangeId, id, deltaMicros, now);
      return structuredClone(account);
    },
    transactions: async (accountId: string, limit: number) =>
      this.balanceTransactions
        .filter((transaction) => transaction.accountId === accountId)
        .reverse()
        .slice(0, limit)
        .map((transaction) => ({ ...transaction })),
    balancesWithWaitingChanges: async () =>
      [...this.accountsById.values()].sort(byCreation).map((account) => ({
        account: structuredClone(account),
        waitingMicros: [...this.creditChangesById.values()].filter((change) => change.accountId === account.id).reduce((sum, change) => sum + change.deltaMicros, 0),
      })),
    creditChanges: async () =>
      [...this.creditChangesById.values()].sort((left, right) => left.createdAt - right.createdAt || (left.id < right.id ? -1 : 1)).map((change) => ({ ...change })),
    forgetCreditChanges: async (ids: readonly string[]) => {
      for (const id of ids) this.creditChangesById.delete(id);
    },
  };

  readonly keys: ApiKeyStore = {
    create: async (input: CreateApiKeyInput) => {
      const record = buildApiKeyRecord(input);
      if (this.keysById.has(record.id)) throw new RelayStoreError('RELAY_STORE_CONFLICT', `key ${record.id} already exists`);
      if (this.keyIdBySha256.has(record.sha256)) throw new RelayStoreError('RELAY_STORE_CONFLICT', 'another key has the same secret');
      if (record.accountId !== null) this.requireAccount(record.accountId);
      record.updatedAt = this.nextUpdatedAt();
      this.keysById.set(record.id, structuredClone(record));
      this.keyIdBySha256.set(record.sha256, record.id);
      return record;
    },
    get: async (id: string) => copy(this.keysById.get(id)),
    findBySha256: async (sha256: string) => {
      const id = this.keyIdBySha256.get(sha256);
      return id === undefined ? undefined : copy(this.keysById.get(id));
    },
    list: async (options = {}) =>
      [...this.keysById.values()]
        .filter((key) => options.includeRevoked === true || key.revokedAt === null)
        .sort(byCreation)
        .map((key) => structuredClone(key)),
    update: async (id: string, patch: ApiKeyPatch) => this.updateKey(id, patch),
    // No await between the change and the read: no ledger write comes in between.
    updateCountingSpend: async (id: string, patch: ApiKeyPatch, since: number) => {
      const key = this.updateKey(id, patch);
      if (key === undefined) return undefined;
      const spent = new Map<Currency, number>();
      for (const record of this.ledgerByRequestId.values()) {
        if (record.keyId === id && record.createdAt >= since) spent.set(record.currency, (spent.get(record.currency) ?? 0) + record.costMicros);
      }
      return { key, spent: [...spent].map(([currency, micros]) => ({ currency, micros })) };
    },
    rotate: async (id: string, newSha256: string, newPrefix: string) => {
      checkSha256(newSha256);
      const key = this.keysById.get(id);
      if (key === undefined) return undefined;
      if (key.revokedAt !== null) return structuredClone(key);
      const holder = this.keyIdBySha256.get(newSha256);
      if (holder !== undefined && holder !== id) throw new RelayStoreError('RELAY_STORE_CONFLICT', 'another key has the same secret');
      this.keyIdBySha256.delete(key.sha256);
      this.keyIdBySha256.set(newSha256, id);
      key.sha256 = newSha256;
      key.prefix = newPrefix;
      key.updatedAt = this.nextUpdatedAt();
      return structuredClone(key);
    },
    revoke: async (id: string, at?: number) => {
      const revokedAt = checkInteger(at ?? Date.now(), 'revokedAt', { min: 0 });
      const key = this.keysById.get(id);
      if (key === undefined) return undefined;
      if (key.revokedAt === null) {
        key.revokedAt = revokedAt;
        key.updatedAt = this.nextUpdatedAt();
      }
      return structuredClone(key);
    },
    changedSince: async (updatedAtExclusive: number) =>
      [...this.keysById.values()]
        .filter((key) => key.updatedAt > updatedAtExclusive)
        .sort(byUpdate)
        .map((key) => structuredClone(key)),
  };

  readonly ledger: LedgerStore = {
    insertBatch: async (records: LedgerRecord[], onBudgeted?: (records: BudgetedRecord[]) => void) => {
      let inserted = 0;
      const unshared = new Map<string, number>();
      const budgeted: BudgetedRecord[] = [];
      for (const record of prepareLedgerBatch(records)) {
        if (this.ledgerByRequestId.has(record.requestId)) continue;
        const { drawnInMemory, budgetPeriod, ...row } = record;
        this.ledgerByRequestId.set(record.requestId, structuredClone(row));
        inserted += 1;
        const budget = record.keyId === null ? undefined : this.keysById.get(record.keyId)?.budget;
        if (onBudgeted !== undefined && budgetPeriod !== undefined && budget !== undefined && budget !== null) budgeted.push({ record, budget: structuredClone(budget) });
        if (record.accountId === null) continue;
        // As in SQL, a row naming an unknown account is kept; there is just no balance to debit.
        const account = this.accountsById.get(record.accountId);
        if (account !== undefined) account.balanceMicros -= record.costMicros;
        if (drawnInMemory === true) unshared.set(record.accountId, (unshared.get(record.accountId) ?? 0) + record.costMicros);
      }
      const now = Date.now();
      for (const [accountId, amount] of unshared) if (amount !== 0) this.recordCreditChange(newId('cc'), accountId, -amount, now);
      if (budgeted.length > 0) onBudgeted?.(budgeted);
      return inserted;
    },
    usage: async (query: UsageQuery) => {
      const rows = new Map<string, UsageRow>();
      for (const record of this.ledgerByRequestId.values()) {
        if (!matches(record, query)) continue;
        const group =
          query.groupBy === 'day' ? utcDayFromIndex(utcDayIndex(record.createdAt)) : query.groupBy === 'model' ? record.model : (record.keyId ?? '');
        const mapKey = `${group}\u0000${record.currency}`;
        let row = rows.get(mapKey);
        if (row === undefined) {
          row = { group, currency: record.currency, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, costMicros: 0, officialCostMicros: 0 };
          rows.set(mapKey, row);
        }
        row.requests += 1;
        if (record.status >= 400 || record.errorCode !== null) row.errors += 1;
        row.promptTokens += record.promptTokens;
        row.completionTokens += record.completionTokens;
        row.cachedTokens += record.cachedTokens;
        row.cacheWriteTokens += record.cacheWriteTokens;
        row.costMicros += record.costMicros;
        row.officialCostMicros += record.officialCostMicros;
      }
      return sortUsageRows([...rows.values()]);
    },
    spendSince: async (keyId: string, since: number, currency: Currency) => {
      let total = 0;
      for (const record of this.ledgerByRequestId.values()) {
        if (record.keyId === keyId && record.createdAt >= since && record.currency === currency) total += record.costMicros;
      }
      return total;
    },
    count: async () => this.ledgerByRequestId.size,
  };

  async close(): Promise<void> {
    // Nothing to release; the data goes with the object.
  }

  /** As in SQL: the clock, or one more than the latest stamp given when the clock has not passed it. */
  private nextUpdatedAt(): number {
    this.latestUpdatedAt = Math.max(Date.now(), this.latestUpdatedAt + 1);
    return this.latestUpdatedAt;
  }

  private requireAccount(id: string): Account {
    const account = this.accountsById.get(id);
    if (account === undefined) throw new RelayStoreError('RELAY_STORE_NOT_FOUND', `no account ${id}`);
    return account;
  }

  private updateKey(id: string, patch: ApiKeyPatch): ApiKeyRecord | undefined {
    checkKeyFields(patch);
    const key = this.keysById.get(id);
    if (key === undefined) return undefined;
    if (patch.accountId !== undefined && patch.accountId !== null) this.requireAccount(patch.accountId);
    for (const field of patchableFields) {
      const value = patch[field];
      if (value !== undefined) Object.assign(key, { [field]: structuredClone(value) });
    }
    key.updatedAt = this.nextUpdatedAt();
    return structuredClone(key);
  }

  private recordCreditChange(id: string, accountId: string, deltaMicros: number, createdAt: number): void {
    this.creditChangesById.set(id, { id, accountId, deltaMicros, createdAt });
  }

  private recordTransaction(accountId: string, deltaMicros: number, balanceAfterMicros: number, note: string, createdAt: number): void {
    this.balanceTransactions.push({ id: newId('btx'), accountId, deltaMicros, balanceAfterMicros, note, createdAt });
  }
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

function matches(record: LedgerRecord, query: UsageQuery): boolean {
  return (
    (query.keyId === undefined || record.keyId === query.keyId) &&
    (query.accountId === undefined || record.accountId === query.accountId) &&
    (query.model === undefined || record.model === query.model) &&
    (query.from === undefined || record.createdAt >= query.from) &&
    (query.to === undefined || record.createdAt < query.to)
  );
}
