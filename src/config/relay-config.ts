import type { PriceSettings } from '../billing/price-table.js';
import type { Vendor } from './model-catalog.js';

/** The wire format an upstream speaks. */
export type ProviderType = 'openai' | 'anthropic' | 'gemini' | 'mock';

/** An upstream the relay can call, with everything resolved (env read, `${VAR}` replaced). */
export interface ProviderSettings {
  name: string;
  type: ProviderType;
  baseUrl: string;
  apiKey: string | undefined;
  headers: Record<string, string>;
  /** Vendors whose model families this provider serves by default. */
  vendors: readonly Vendor[];
  /** Extra model names or globs this provider serves. */
  models: readonly string[];
  /** OpenAI-compatible only: whether streams ask for usage (`stream_options.include_usage`). */
  streamUsage: boolean;
  /** OpenAI-compatible only: whether the upstream serves the Responses API (`/v1/responses` is then passed through to it, not translated). */
  responsesApi: boolean;
  /** Where it was defined, for `relay doctor` and the start-up log. */
  source: 'env' | 'config' | 'builtin';
}

export interface RouteTarget {
  provider: string;
  /** Model name sent upstream. */
  model: string;
  weight: number;
  /** This deployment's own upstream key, overriding the provider's. */
  apiKey?: string;
  /** The most output tokens the upstream model can produce, when the operator gives it. */
  maxOutputTokens?: number;
  /** Fields added to the body this target receives where the request has none of that name. */
  body?: Record<string, unknown>;
}

export type RoutingStrategy = 'weighted' | 'least-inflight' | 'latency' | 'cost';

export interface CanarySettings {
  targets: RouteTarget[];
  initialWeight: number;
  stepWeight: number;
  maxWeight: number;
  intervalMs: number;
  threshold: number;
  minSuccessRate: number;
  maxLatencyP99Ms: number;
  minRequests: number;
}

export interface Route {
  model: string;
  /** Ordered groups of deployments. */
  groups: RouteTarget[][];
  strategy: RoutingStrategy;
  /** Per-attempt timeout of this model's attempts, when it has its own (else `timeoutMs`). */
  timeoutMs: number | undefined;
  canary: CanarySettings | undefined;
  shadow: { targets: RouteTarget[]; percent: number } | undefined;
}

export interface ClientKeySettings {
  name: string;
  sha256: string;
  models: readonly string[] | undefined;
}

export type Currency = 'USD' | 'CNY' | 'EUR';

export interface BillingSettings {
  /** Overrides of the price table, USD per 1M tokens. */
  prices: Record<string, PriceSettings>;
  exchangeRates: Partial<Record<Currency, number>>;
  signupCredit: { amount: number; currency: Currency } | undefined;
  defaultMaxTokens: number;
}

/** Proxy URLs (`http://[user:password@]host:port`) by the upstream's scheme, and the hosts reached without one. */
export interface UpstreamProxy {
  http: string | undefined;
  https: string | undefined;
  noProxy: string | undefined;
}

/**
 * How long opening an upstream connection may take: the per-attempt timeout, at most 10 s. Set on
 * the upstream connection pools when they are made, at start.
 */
export function upstreamConnectTimeoutMs(config: Pick<RelayConfig, 'timeoutMs'>): number {
  return Math.min(config.timeoutMs, 10_000);
}

/** The whole, validated configuration the relay runs with. */
export interface RelayConfig {
  port: number;
  host: string;
  bodyLimitBytes: number;
  /**
   * Time a client has to send a whole request (its headers and body) once it began, in ms: a client
   * that stalls past it is answered 408 and its connection closed. Not the time of the answer,
   * which may stream for as long as it lasts. 0: no limit.
   */
  requestTimeoutMs: number;
  maxRetries: number;
  timeoutMs: number;
  connectionPoolSize: number;
  /**
   * The proxy upstream calls go through (`HTTPS_PROXY` / `HTTP_PROXY` by the upstream's scheme,
   * `NO_PROXY` for hosts reached directly; the lower-case names win, as curl reads them), when one is set.
   */
  upstreamProxy: UpstreamProxy | undefined;
  /** Overall time for attempts and waits before a request's first byte. */
  deadlineMs: number;
  /** Refuse (400) instead of dropping request parameters an upstream cannot honour. */
  strictParameters: boolean;
  /** Keep the items of translated `/v1/responses` answers for an hour, for item references. */
  keepResponseItems: boolean;
  /** Web origins whose pages may call the `/v1` API from a browser (`*`: every origin); empty: none. */
  corsOrigins: string[];
  /** The reverse proxies (addresses, CIDR ranges, proxy-addr's names) whose `X-Forwarded-For` gives the client's address; empty: none. */
  trustProxy: string[];
  logLevel: string;
  /** SHA-256 (hex) of `RELAY_MASTER_KEY`, when set. */
  masterKeySha256: string | undefined;
  /** Where the master key was generated on a first run without any key, for the start-up log. */
  generatedMasterKeyFile: string | undefined;
  dataDir: string;
  providers: Map<string, ProviderSettings>;
  routes: Map<string, Route>;
  aliases: Map<string, string>;
  fallbacks: Map<string, string[]>;
  contextFallbacks: Map<string, string[]>;
  contentFilterFallbacks: Map<string, string[]>;
  clientKeys: ClientKeySettings[];
  billing: BillingSettings;
  limits: { onBackendFailure: 'fail-closed' | 'fail-open'; replicas: number };
  ledgerFlushIntervalMs: number;
  /** `DATABASE_URL`: Postgres for clusters; unset means the SQLite file `<data dir>/relay.db`. */
  databaseUrl: string | undefined;
  /** Postgres: the longest one of the relay's queries may take (migrations excepted), `database.queryTimeoutMs`. */
  databaseQueryTimeoutMs: number;
  /** `METRICS_PORT`: serve /metrics on this port only (default: on the main port). */
  metricsPort: number | undefined;
  /** `METRICS_TOKEN`: require `Authorization: Bearer <token>` on /metrics. */
  metricsToken: string | undefined;
  /** `REDIS_URL`: shared counters for limits and budgets across replicas; unset means in memory. */
  redisUrl: string | undefined;
  /** True when no real upstream is configured and the built-in mock serves `mock-*`. */
  mockOnly: boolean;
  configFile: string | undefined;
}
