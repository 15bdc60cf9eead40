import { upstreamConnectTimeoutMs, type RelayConfig } from './relay-config.js';

/**
 * The settings the relay reads once, at start (its listener, its HTTP client's pool, its prices and
 * rates, its limit, ledger and database stores), by the field of relay.yaml that sets them, read as
 * they take effect (an environment variable that wins over a field makes its change none). A reload
 * applies routes, providers, aliases, fallbacks, keys, the upstream timeouts and retries, and the
 * server's `strictParameters` and `keepResponseItems`; these need a restart. Settings only the
 * environment gives (`DATABASE_URL`, `REDIS_URL`, `METRICS_*`, `LOG_LEVEL`, the proxy's) cannot
 * change without one.
 */
const startOnlySettings: ReadonlyArray<[field: string, read: (config: RelayConfig) => unknown]> = [
  ['server.port', (config) => config.port],
  ['server.host', (config) => config.host],
  ['server.bodyLimitBytes', (config) => config.bodyLimitBytes],
  ['server.requestTimeoutMs', (config) => config.requestTimeoutMs],
  ['server.corsOrigins', (config) => config.corsOrigins],
  ['server.trustProxy', (config) => config.trustProxy],
  ['upstream.connectionPoolSize', (config) => config.connectionPoolSize],
  // Only as the time to open a connection (the pools are made at start): as the time to headers and between chunks, a reload applies it.
  ['upstream.timeoutMs (as the connect timeout)', upstreamConnectTimeoutMs],
  ['billing.prices', (config) => config.billing.prices],
  ['billing.exchangeRates', (config) => config.billing.exchangeRates],
  ['billing.signupCredit', (config) => config.billing.signupCredit],
  ['billing.defaultMaxTokens', (config) => config.billing.defaultMaxTokens],
  ['limits.onBackendFailure', (config) => config.limits.onBackendFailure],
  ['limits.replicas', (config) => config.limits.replicas],
  ['ledger.flushIntervalMs', (config) => config.ledgerFlushIntervalMs],
  ['database.queryTimeoutMs', (config) => config.databaseQueryTimeoutMs],
];

/** The same value whatever the order of an object's keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** The start-only settings (by field) whose value in `next` differs from what the process started with. */
export function settingsNeedingRestart(running: RelayConfig, next: RelayConfig): string[] {
  return startOnlySettings.filter(([, read]) => canonical(read(running)) !== canonical(read(next))).map(([field]) => field);
}
