import type { RelayConfig } from './relay-config.js';

/**
 * The settings the relay reads once, at start (its listener, its HTTP client's pool, its prices and
 * rates, its limit and ledger stores), by the field of relay.yaml that sets them. A reload applies
 * routes, providers, aliases, fallbacks, keys and the upstream timeouts; these need a restart.
 */
const startOnlySettings: ReadonlyArray<[field: string, read: (config: RelayConfig) => unknown]> = [
  ['server.port', (config) => config.port],
  ['server.host', (config) => config.host],
  ['server.bodyLimitBytes', (config) => config.bodyLimitBytes],
  ['server.corsOrigins', (config) => config.corsOrigins],
  ['server.trustProxy', (config) => config.trustProxy],
  ['upstream.connectionPoolSize', (config) => config.connectionPoolSize],
  ['billing.prices', (config) => config.billing.prices],
  ['billing.exchangeRates', (config) => config.billing.exchangeRates],
  ['billing.signupCredit', (config) => config.billing.signupCredit],
  ['billing.defaultMaxTokens', (config) => config.billing.defaultMaxTokens],
  ['limits.onBackendFailure', (config) => config.limits.onBackendFailure],
  ['limits.replicas', (config) => config.limits.replicas],
  ['ledger.flushIntervalMs', (config) => config.ledgerFlushIntervalMs],
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
