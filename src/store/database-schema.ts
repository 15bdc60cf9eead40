/*
 * The tables as Kysely sees them, column names in snake_case as they are in SQL. Money and
 * timestamps are integers (BIGINT on Postgres, parsed back to numbers; INTEGER on SQLite), JSON
 * values are TEXT, booleans are 0/1 integers: the same shapes on both databases.
 */

export interface AccountsTable {
  id: string;
  name: string;
  currency: string;
  balance_micros: number;
  created_at: number;
  /** JSON text or null. */
  metadata: string | null;
}

/** Every change of a balance other than ledger debits: the opening balance, top-ups, corrections. */
export interface BalanceTransactionsTable {
  id: string;
  account_id: string;
  delta_micros: number;
  balance_after_micros: number;
  note: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  account_id: string | null;
  sha256: string;
  prefix: string;
  /** JSON array text or null. */
  models: string | null;
  rpm: number | null;
  tpm: number | null;
  max_parallel: number | null;
  /** The budget's three fields are all null or all set. */
  budget_amount_micros: number | null;
  budget_currency: string | null;
  budget_period: string | null;
  expires_at: number | null;
  /** JSON text or null. */
  metadata: string | null;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
}

export interface LedgerEntriesTable {
  request_id: string;
  key_id: string | null;
  account_id: string | null;
  model: string;
  provider: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  /** Added by migration 0008 (0 in rows written before it). */
  cache_write_tokens: number;
  cost_micros: number;
  official_cost_micros: number;
  currency: string;
  latency_ms: number;
  status: number;
  /** Added by migration 0009 (null in rows written before it, and for a request that did not fail). */
  error_code: string | null;
  /** 1 for a streamed response, 0 otherwise. */
  stream: number;
  created_at: number;
}

/** One row per canary (model and configuration): see `CanaryState`. */
export interface CanaryStatesTable {
  model: string;
  fingerprint: string;
  phase: string;
  weight: number;
  failed_checks: number;
  decided_interval: number;
  /** JSON array text. */
  history: string;
  version: number;
  updated_at: number;
}

/** One replica's candidate outcomes in one analysis interval. */
export interface CanarySamplesTable {
  model: string;
  fingerprint: string;
  interval_index: number;
  replica: string;
  requests: number;
  successes: number;
  /** JSON array text of latencies in ms. */
  latencies: string;
}

/** Signed-in dashboard browsers: see `DashboardSessionRecord`. */
export interface DashboardSessionsTable {
  id_sha256: string;
  csrf_token: string;
  key_sha256: string;
  expires_at: number;
  created_at: number;
}

/** Balance changes Redis has yet to count: see `CreditChange`. */
export interface CreditChangesTable {
  id: string;
  account_id: string;
  delta_micros: number;
  created_at: number;
}

/** Items of translated Responses API answers: see `ResponseItemRecord`. */
export interface ResponseItemsTable {
  id: string;
  principal_id: string;
  /** The item's JSON text. */
  item: string;
  expires_at: number;
}

/** Who got which stored response: see `StoredResponseRecord`. */
export interface StoredResponsesTable {
  id: string;
  principal_id: string;
  provider: string;
  expires_at: number;
}

/** The database the SQL store queries through Kysely. */
export interface RelayDatabase {
  accounts: AccountsTable;
  balance_transactions: BalanceTransactionsTable;
  api_keys: ApiKeysTable;
  ledger_entries: LedgerEntriesTable;
  canary_states: CanaryStatesTable;
  canary_samples: CanarySamplesTable;
  dashboard_sessions: DashboardSessionsTable;
  credit_changes: CreditChangesTable;
  response_items: ResponseItemsTable;
  stored_responses: StoredResponsesTable;
}
