/**
 * The relay's durable state: accounts (prepaid balances), API keys and the usage ledger, behind one
 * interface with three implementations (memory, SQLite, Postgres) that all pass
 * `relay-store.contract.ts`. Money is always an integer number of micro-units of its currency
 * (1 USD = 1_000_000 micro-units) so sums are exact; timestamps are epoch milliseconds.
 */

/** The currencies money can be kept in. */
export type Currency = 'USD' | 'CNY' | 'EUR';

export const currencies: readonly Currency[] = ['USD', 'CNY', 'EUR'];

/** Free-form data attached by operators; stored as JSON text. */
export type Metadata = Record<string, unknown>;

/** A customer or team that owns keys and pays for their usage from a balance. */
export interface Account {
  id: string;
  name: string;
  /** The currency of the balance; ledger rows charged to this account should use the same one. */
  currency: Currency;
  /** May go below zero: usage is settled after the fact, admission control stops spending earlier. */
  balanceMicros: number;
  createdAt: number;
  metadata: Metadata | null;
}

/** A spending cap on one key, in one currency, over a period (UTC days and months). */
export interface KeyBudget {
  amountMicros: number;
  currency: Currency;
  period: 'daily' | 'monthly' | 'total';
}

/** A client key as stored: only the SHA-256 of the secret is kept, never the secret itself. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The account charged for this key's usage; `null` for keys that are only metered. */
  accountId: string | null;
  /** Lower-case hex SHA-256 of the secret; unique across keys. */
  sha256: string;
  /** The first characters of the secret, for display (e.g. `sk-relay-ab12`). */
  prefix: string;
  /** Model names or globs this key may call; `null` means every model. */
  models: string[] | null;
  /** Requests per minute; `null` means no limit of its own. */
  rpm: number | null;
  /** Tokens per minute; `null` means no limit of its own. */
  tpm: number | null;
  /** Requests in flight at once; `null` means no limit of its own. */
  maxParallel: number | null;
  budget: KeyBudget | null;
  /** After this instant the key no longer authenticates; `null` means never. */
  expiresAt: number | null;
  metadata: Metadata | null;
  createdAt: number;
  /**
   * A change stamp, set on creation and on every change (update, rotate, revoke): the writer's
   * clock in epoch ms, raised to one more than the latest stamp in the store when the clock has
   * not passed it. So with one writer (memory, one SQLite file) every change gets a stamp greater
   * than all earlier ones. Not derived from `createdAt`.
   */
  updatedAt: number;
  /** When the key stopped working; `null` while it is live. */
  revokedAt: number | null;
}

/** One settled request. `requestId` is the idempotency key: a row is written at most once. */
export interface LedgerRecord {
  requestId: string;
  keyId: string | null;
  /** When set, `costMicros` is debited from this account's balance as the row is inserted. */
  accountId: string | null;
  model: string;
  provider: string | null;
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens read from the upstream's prompt cache (part of `promptTokens`). */
  cachedTokens: number;
  /** Prompt tokens written to the upstream's prompt cache (part of `promptTokens`; only Anthropic reports them). */
  cacheWriteTokens: number;
  /** What the relay charges, in `currency`. */
  costMicros: number;
  /** What the upstream's public price list would have charged, for comparison. */
  officialCostMicros: number;
  currency: Currency;
  latencyMs: number;
  /** The HTTP status returned to the client. */
  status: number;
  /**
   * The relay's error code when the request failed (`upstream_error`, `client_closed_request`, …),
   * also for a stream that failed after its first byte, whose status is 200; null when it did not.
   */
  errorCode: string | null;
  stream: boolean;
  createdAt: number;
  /**
   * `costMicros` was drawn from the account's balance in a replica's memory while Redis was
   * unreachable (`limits.onBackendFailure: fail-open`), not from the balance Redis holds. The store
   * then writes the debits of such rows it inserts as credit changes too (one per account and
   * batch; {@link AccountStore.creditChanges}), in the same transaction: Redis counts them once,
   * whether it kept its data (the balance it holds lacks them) or lost it (the balance it loads
   * from the database, without the changes still waiting, lacks them too). Not stored in the row.
   */
  drawnInMemory?: boolean;
  /**
   * The budget period (`2030-01-31`, `2030-01`, `total`: `AdmissionControl`'s period keys) whose
   * counter the request's cost was charged to in the limits store when it ended, or null when its
   * key had no budget then (as its replica knew the key). The store hands back the records it
   * inserts whose key has a budget when they are written (`insertBatch`'s `onBudgeted`), for their
   * replica to charge a budget set meanwhile. Undefined: not known, never handed back. Not stored
   * in the row.
   */
  budgetPeriod?: string | null;
}

/** A record `insertBatch` inserted, with the budget its key had as the record was written. */
export interface BudgetedRecord {
  record: LedgerRecord;
  budget: KeyBudget;
}

/** A key's ledger spend since some instant, in one currency (micro-units). */
export interface SpendInCurrency {
  currency: Currency;
  micros: number;
}

/** Which rows {@link RelayStore.ledger}.usage sums, and how it groups them. */
export interface UsageQuery {
  keyId?: string;
  accountId?: string;
  model?: string;
  /** Inclusive lower bound on `createdAt`. */
  from?: number;
  /** Exclusive upper bound on `createdAt`. */
  to?: number;
  /** `day` groups by UTC date (`YYYY-MM-DD`); `key` uses `''` for rows without a key. */
  groupBy: 'day' | 'model' | 'key';
}

/** Totals for one group and one currency. */
export interface UsageRow {
  group: string;
  currency: Currency;
  requests: number;
  /**
   * Rows whose `status` is 400 or more, or that have an `errorCode`: requests that reached routing
   * and failed (upstream or client error), a stream that failed after its first byte included.
   */
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  costMicros: number;
  officialCostMicros: number;
}

export interface CreateAccountInput {
  /** Generated (`acct_…`) when absent. */
  id?: string;
  name: string;
  currency: Currency;
  /** The opening balance, recorded as the account's first balance transaction. Defaults to 0. */
  balanceMicros?: number;
  metadata?: Metadata | null;
  /** Records the opening balance as a credit change with this id too (see {@link AccountStore.creditChanges}). */
  creditChangeId?: string;
}

/** A change of a balance other than usage: the opening balance, a top-up, a correction. */
export interface BalanceTransaction {
  id: string;
  accountId: string;
  deltaMicros: number;
  balanceAfterMicros: number;
  note: string;
  createdAt: number;
}

/**
 * A balance change the limits store (Redis) has yet to count. It is written in the same
 * transaction as the balance, and forgotten once the limits store has counted it (under its id, so
 * counting it twice does nothing): a relay that dies in between, or a Redis that does not answer,
 * leaves it here for any replica to hand over later.
 */
export interface CreditChange {
  id: string;
  accountId: string;
  deltaMicros: number;
  createdAt: number;
}

/** A new key: every field of the record except the bookkeeping ones, which the store sets. */
export type CreateApiKeyInput = Omit<ApiKeyRecord, 'id' | 'createdAt' | 'updatedAt' | 'revokedAt'> & {
  /** Generated (`key_…`) when absent. */
  id?: string;
  createdAt?: number;
};

/**
 * The fields of a key that can change in place. An absent or `undefined` field is left as it is;
 * `null` clears it.
 */
export type ApiKeyPatch = Partial<
  Pick<ApiKeyRecord, 'name' | 'models' | 'rpm' | 'tpm' | 'maxParallel' | 'budget' | 'expiresAt' | 'metadata' | 'accountId'>
>;

/**
 * Accounts and their balances. Every balance change except ledger debits is recorded in the
 * `balance_transactions` table, so a balance always equals the sum of its transactions minus the
 * `costMicros` of the ledger rows charged to it: the two tables reconcile it.
 */
export interface AccountStore {
  /** Throws `RELAY_STORE_CONFLICT` when the id is taken. */
  create(input: CreateAccountInput): Promise<Account>;
  get(id: string): Promise<Account | undefined>;
  /** Ordered by `createdAt`, then `id`. */
  list(): Promise<Account[]>;
  /**
   * Adds `deltaMicros` (negative for corrections) to the balance and records it, with `note`, in
   * the balance transactions, atomically; with `creditChangeId`, also as a credit change with
   * that id. Throws `RELAY_STORE_NOT_FOUND` for an unknown account.
   */
  adjustBalance(id: string, deltaMicros: number, note: string, creditChangeId?: string): Promise<Account>;
  /** An account's balance transactions, newest first, at most `limit` (ledger debits are in the ledger). */
  transactions(accountId: string, limit: number): Promise<BalanceTransaction[]>;
  /**
   * Every account, with the sum of its credit changes not yet counted by the limits store, read
   * together (one snapshot): `balanceMicros - waitingMicros` is the balance the limits store
   * should hold before it counts the waiting changes. Ordered as `list`.
   */
  balancesWithWaitingChanges(): Promise<Array<{ account: Account; waitingMicros: number }>>;
  /** The credit changes not yet counted by the limits store, oldest first. */
  creditChanges(): Promise<CreditChange[]>;
  /** Forgets the credit changes with these ids: the limits store has counted them. */
  forgetCreditChanges(ids: readonly string[]): Promise<void>;
}

export interface ApiKeyStore {
  /** Throws `RELAY_STORE_CONFLICT` when the id or the SHA-256 is taken. */
  create(record: CreateApiKeyInput): Promise<ApiKeyRecord>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /**
   * The key whose secret hashes to `sha256`, revoked and expired ones included: the caller decides
   * (and can tell the client why the key is refused).
   */
  findBySha256(sha256: string): Promise<ApiKeyRecord | undefined>;
  /** Ordered by `createdAt`, then `id`; revoked keys only when asked for. */
  list(options?: { includeRevoked?: boolean }): Promise<ApiKeyRecord[]>;
  /** `undefined` when there is no such key. Throws `RELAY_STORE_NOT_FOUND` for an unknown `accountId`. */
  update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined>;
  /**
   * `update`, and in the same transaction, after it, the key's ledger spend since `since` per
   * currency: the ledger as the change finds it. A ledger write that reads the key's budget
   * (`LedgerStore.insertBatch`'s `onBudgeted`) is ordered against it: its records are either in
   * this spend, or handed back with the budget this change set.
   */
  updateCountingSpend(id: string, patch: ApiKeyPatch, since: number): Promise<{ key: ApiKeyRecord; spent: SpendInCurrency[] } | undefined>;
  /**
   * Replaces the secret's hash and prefix; the old secret stops matching at once. A revoked key
   * is returned as it is, unchanged. Throws `RELAY_STORE_CONFLICT` when `newSha256` belongs to another key.
   */
  rotate(id: string, newSha256: string, newPrefix: string): Promise<ApiKeyRecord | undefined>;
  /** Sets `revokedAt` (default now). Revoking a revoked key changes nothing and returns it. */
  revoke(id: string, at?: number): Promise<ApiKeyRecord | undefined>;
  /**
   * Keys with `updatedAt > updatedAtExclusive`, revoked ones included, ordered by `updatedAt`.
   * Replicas poll this to refresh their key cache, asking from the largest `updatedAt` they have
   * seen, and apply rows by `id` (a rotation changes the SHA-256 of a cached key). On Postgres with
   * several writing replicas, stamps come from different clocks and transactions may commit out
   * of stamp order, so pollers there should ask from a little before the largest stamp seen (a
   * few seconds of overlap; re-applying a row is harmless).
   */
  changedSince(updatedAtExclusive: number): Promise<ApiKeyRecord[]>;
}

export interface LedgerStore {
  /**
   * In one transaction: inserts the records whose `requestId` is not yet stored (duplicates,
   * within the batch or with earlier batches, are skipped, so a retried flush never charges
   * twice) and debits each inserted record's `costMicros` from its account, when it has one,
   * writing the debits of records `drawnInMemory` as credit changes too. Returns how many records
   * were inserted. With `onBudgeted`, reads the budgets of the records' keys in the same
   * transaction — ordered against a change of the key (`ApiKeyStore.updateCountingSpend`): on
   * Postgres under a shared lock of the keys' rows, so a change committing meanwhile waits for the
   * batch, or the batch for the change — and once the batch is stored hands back the inserted
   * records whose `budgetPeriod` is known and whose key has a budget: each is either in the spend
   * a change of its key read, or written after that change, under its budget.
   */
  insertBatch(records: LedgerRecord[], onBudgeted?: (records: BudgetedRecord[]) => void): Promise<number>;
  /** One row per group and currency, ordered by group, then currency. */
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** The sum of `costMicros` of `keyId`'s rows in `currency` since `since` (inclusive). */
  spendSince(keyId: string, since: number, currency: Currency): Promise<number>;
  /** How many rows the ledger holds. */
  count(): Promise<number>;
}

/** Where a canary migration stands; see `src/routing/canary-controller.ts`. */
export type CanaryPhase = 'progressing' | 'paused' | 'promoted' | 'rolled_back';

/** One analysis step or manual action, kept in the history that the admin API shows. */
export interface CanaryCheck {
  at: number;
  weight: number;
  requests: number;
  successRate: number | null;
  latencyP99Ms: number | null;
  verdict: 'pass' | 'fail' | 'skip' | 'manual';
  action: 'step' | 'promote' | 'rollback' | 'hold' | 'pause' | 'resume';
}

/**
 * The shared state of one canary: every replica routes by it, and every change (an analysis
 * step, a button) is written with {@link CanaryStore.compareAndSet}, so replicas never overwrite
 * one another's changes. `fingerprint` names the canary's configuration (a hash of its targets and
 * settings): a changed canary starts over under a new fingerprint.
 */
export interface CanaryState {
  model: string;
  fingerprint: string;
  phase: CanaryPhase;
  weight: number;
  failedChecks: number;
  /** The last analysis interval decided (`floor(time / intervalMs)`); -1 before the first. */
  decidedInterval: number;
  /** The latest checks and actions, oldest first (at most 200). */
  history: CanaryCheck[];
  /** 1 for the first write, one more with every change. */
  version: number;
  updatedAt: number;
}

/** What one replica saw of a canary's candidate in one analysis interval. */
export interface CanarySamples {
  replica: string;
  requests: number;
  successes: number;
  /** Latencies in ms: every request's, or a uniform sample of them when there were many. */
  latenciesMs: number[];
}

/** Canary state shared by replicas (several replicas on Postgres; restarts on SQLite). */
export interface CanaryStore {
  get(model: string, fingerprint: string): Promise<CanaryState | undefined>;
  /**
   * Writes `state` when the stored version is `state.version - 1` (no row stored for version 1);
   * returns whether it did. Another replica's write in between makes it return false.
   */
  compareAndSet(state: CanaryState): Promise<boolean>;
  /** Records one replica's samples of an interval; a second call for the same interval replaces them. */
  addSamples(model: string, fingerprint: string, interval: number, samples: CanarySamples): Promise<void>;
  /** Every replica's samples of an interval. */
  samples(model: string, fingerprint: string, interval: number): Promise<CanarySamples[]>;
  /** Forgets the samples of intervals before `interval`. */
  pruneSamples(model: string, fingerprint: string, interval: number): Promise<void>;
}

/**
 * A signed-in dashboard browser. Only a digest of the session id (the cookie's value) is stored,
 * so the table holds nothing a browser could replay; never the key that signed in.
 */
export interface DashboardSessionRecord {
  /** Lower-case hex SHA-256 of the session id. */
  idSha256: string;
  /** The value the browser must echo in `x-relay-csrf` on state-changing admin requests. */
  csrfToken: string;
  /** SHA-256 of the key used to sign in: the session ends when that key stops being an admin key. */
  keySha256: string;
  expiresAt: number;
  createdAt: number;
}

/** Dashboard sessions, shared by replicas so that any of them answers a signed-in browser. */
export interface DashboardSessionStore {
  create(record: DashboardSessionRecord): Promise<void>;
  /** The session, unless it is unknown or expired at `now`. */
  find(idSha256: string, now: number): Promise<DashboardSessionRecord | undefined>;
  delete(idSha256: string): Promise<void>;
  /** Forgets the sessions expired at `now` and, beyond the newest `keep`, the oldest. */
  prune(now: number, keep: number): Promise<void>;
}

/**
 * An item of a `/v1/responses` answer the relay made by translation, kept so that a later request
 * may name it by `item_reference` at any replica. `item` is the item's JSON, as a client would send it.
 */
export interface ResponseItemRecord {
  id: string;
  /** The key that got the answer: only that key may refer to the item. */
  principalId: string;
  item: string;
  expiresAt: number;
}

/** Items of recent translated Responses API answers, shared by replicas. */
export interface ResponseItemStore {
  /** Keeps the items; an id already kept is replaced. */
  put(records: readonly ResponseItemRecord[]): Promise<void>;
  /** Those of the items with these ids that `principalId` got and that are unexpired at `now`. */
  find(principalId: string, ids: readonly string[], now: number): Promise<ResponseItemRecord[]>;
  /** Forgets the items expired at `now`. */
  prune(now: number): Promise<void>;
}

/**
 * A response an upstream stored for the relay (a `/v1/responses` answer passed through with `store`
 * not false), kept so that a later `previous_response_id` naming it is served only for the key that
 * got it, and by the upstream account that holds it.
 */
export interface StoredResponseRecord {
  /** The upstream's response id (`resp_…`), or the id of one of its output items (`msg_…`, `fc_…`, `rs_…`), which clients may name by `item_reference`. */
  id: string;
  /** The key that got the response: only that key may continue from it. */
  principalId: string;
  /** The provider that answered (its name tells a deployment's own key apart: `openai#1a2b3c`). */
  provider: string;
  expiresAt: number;
}

/** Who got which stored response (and which of its output items), shared by replicas. */
export interface StoredResponseStore {
  /** Keeps the records; an id already kept keeps its first record. */
  put(records: readonly StoredResponseRecord[]): Promise<void>;
  /** The records of those of `ids` that are kept and unexpired at `now`. */
  find(ids: readonly string[], now: number): Promise<StoredResponseRecord[]>;
  /** Forgets the records expired at `now`. */
  prune(now: number): Promise<void>;
}

/** The storage layer: see the file comment. */
export interface RelayStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  readonly accounts: AccountStore;
  readonly keys: ApiKeyStore;
  readonly ledger: LedgerStore;
  readonly canaries: CanaryStore;
  readonly sessions: DashboardSessionStore;
  readonly responseItems: ResponseItemStore;
  readonly storedResponses: StoredResponseStore;
  /** Releases the database connection(s). The store must not be used afterwards. */
  close(): Promise<void>;
}
