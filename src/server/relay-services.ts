import type { FastifyBaseLogger } from 'fastify';
import type { KeyStore } from '../auth/key-store.js';
import type { SignInThrottle } from '../auth/sign-in-throttle.js';
import type { StoredKeyCache } from '../auth/stored-key-cache.js';
import type { Currency, ExchangeRates } from '../billing/money.js';
import type { PriceTable } from '../billing/price-table.js';
import type { LedgerWriter } from '../ledger/ledger-writer.js';
import type { AdmissionControl } from '../limits/admission-control.js';
import type { LimitStore } from '../limits/limit-store.js';
import type { RelayStore } from '../store/relay-store.js';
import type { RelayConfig } from '../config/relay-config.js';
import type { Provider } from '../providers/provider.js';
import type { Deployment, DeploymentRegistry } from '../routing/deployment.js';
import type { ModelRouter } from '../routing/model-router.js';

/** Whether the process takes traffic: not before it listens, and not while it drains for shutdown. */
export interface Lifecycle {
  ready: boolean;
  draining: boolean;
}

/** Everything the HTTP layer needs, built once at start. */
export interface RelayServices {
  config: RelayConfig;
  /** Replaced as a whole on config reload; in-flight requests keep the one they started with. */
  router: ModelRouter;
  deployments: DeploymentRegistry;
  /**
   * A provider's name in the configuration, for metrics' `provider` label, the access line and the
   * ledger. A deployment with its own key has a provider of its own, named apart (`openai#1a2b3c`,
   * for its health and the stored responses its account holds), that the configuration calls `openai`.
   */
  providerName: (provider: Provider) => string;
  /** Price per 1M output tokens of a deployment, for the cost strategy. */
  priceOf: (deployment: Deployment) => number | undefined;
  keys: KeyStore;
  /** Keys, accounts and the ledger (SQLite by default, Postgres with DATABASE_URL). */
  store: RelayStore;
  /** The stored keys, in memory, refreshed from the store. */
  storedKeys: StoredKeyCache;
  admission: AdmissionControl;
  /** Where admission keeps its counters (memory, or Redis shared by the replicas). */
  limits: LimitStore;
  billing: {
    rates: ExchangeRates;
    prices: PriceTable;
    signupCredit: { amountMicros: number; currency: Currency } | undefined;
    defaultMaxTokens: number;
  };
  ledger: LedgerWriter;
  /** Settle steps still running (awaited before the ledger's last flush at shutdown). */
  metering: Set<Promise<void>>;
  lifecycle: Lifecycle;
  logger: FastifyBaseLogger;
  /** The configuration's upstream credentials, longest first (`searchableSecrets`): replaced on reload with the config. */
  upstreamSecrets: readonly string[];
  /** Epoch seconds of start, reported as `created` in the models list. */
  startedAtSeconds: number;
  /** Failed sign-ins (wrong keys) by client address, to refuse an address that guesses. */
  signIns: SignInThrottle;
}
