/* The admin API's answers, as the dashboard reads them (see docs/billing.md and docs/routing.md). */

// Type-only (erased from the bundle): the circuit's states are spelled once, by the breaker that reports them.
import type { CircuitState } from '../../src/routing/circuit-breaker';

export type Currency = 'USD' | 'CNY' | 'EUR';

/** The currencies the relay keeps money in, in the order forms offer them. */
export const currencies: readonly Currency[] = ['USD', 'CNY', 'EUR'];

export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  account: string | null;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  max_parallel: number | null;
  budget: { amount: number; currency: Currency; period: 'daily' | 'monthly' | 'total' } | null;
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** `POST /admin/keys` and `POST /admin/keys/{id}/rotate`: the only answers that carry the secret. */
export interface KeyWithSecret extends KeyView {
  key: string;
}

export interface AccountView {
  id: string;
  name: string;
  currency: Currency;
  balance: number;
  created_at: string;
}

/** `GET /admin/accounts/{id}/transactions`: a balance change other than usage. */
export interface BalanceTransactionView {
  id: string;
  amount: number;
  balance_after: number;
  currency: Currency;
  note: string;
  created_at: string;
}

export interface UsageView {
  group: string;
  currency: Currency;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  cost: number;
  official_cost: number;
  savings: number;
  savings_percent: number | null;
}

export interface UsageReport {
  group_by: 'day' | 'model' | 'key';
  data: UsageView[];
  totals: UsageView[];
}

export interface DeploymentView {
  id: string;
  state: CircuitState;
  ejections: number;
  availableAt: number;
  errorRate: number;
  requests: number;
  inflight: number;
  firstByteEwmaMs: number | undefined;
}

export interface CanaryCheck {
  at: number;
  weight: number;
  requests: number;
  successRate: number | null;
  latencyP99Ms: number | null;
  verdict: 'pass' | 'fail' | 'skip' | 'manual';
  action: 'step' | 'promote' | 'rollback' | 'hold' | 'pause' | 'resume';
}

export interface CanaryView {
  model: string;
  phase: 'progressing' | 'paused' | 'promoted' | 'rolled_back';
  weight: number;
  failedChecks: number;
  settings: {
    targets: Array<{ provider: string; model?: string }>;
    initialWeight: number;
    stepWeight: number;
    maxWeight: number;
    intervalMs: number;
    threshold: number;
    minSuccessRate: number;
    maxLatencyP99Ms: number;
    minRequests: number;
  };
  history: CanaryCheck[];
  /** The shared state's version this replica follows; 0 while it has none. */
  version: number;
  /** False while a change made at this replica waits to be written to the database. */
  synced: boolean;
}

export interface ListOf<T> {
  data: T[];
}
