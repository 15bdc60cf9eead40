import { join } from 'node:path';
import type { RelayConfig } from '../config/relay-config.js';
import { maskUrlPassword } from '../observability/mask-url-password.js';

/**
 * What `relay serve` and `relay migrate` print when the store cannot be opened: which store, by the
 * setting that chose it (its password masked), the cause, and where to look next. A bare
 * `connect ECONNREFUSED 127.0.0.1:5432` says none of that.
 */
export function storeFailure(config: RelayConfig, error: unknown): Error {
  const where =
    config.databaseUrl === undefined
      ? `the SQLite file ${join(config.dataDir, 'relay.db')} (RELAY_DATA_DIR)`
      : `the database at DATABASE_URL (${maskUrlPassword(config.databaseUrl)})`;
  return new Error(`could not open ${where}: ${causeOf(error)}. \`relay doctor\` checks it and prints the fix.`);
}

/** What `relay serve` prints when the generated master key cannot be kept in the data directory. */
export function keyFileFailure(config: RelayConfig, error: unknown): Error {
  return new Error(
    `no client key is configured, and the generated master key could not be kept in ${config.dataDir} (RELAY_DATA_DIR): ${causeOf(error)}. ` +
      'Set RELAY_MASTER_KEY, or make RELAY_DATA_DIR a writable directory.',
  );
}

function causeOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\.$/, '');
}

/**
 * What `relay serve` prints when it cannot listen: the address and the setting that chose it (the
 * main port or METRICS_PORT, the host), and the fix. A bare `listen EADDRINUSE … 0.0.0.0:9090`
 * does not say which of the two ports it was.
 */
export function listenFailure(config: RelayConfig, error: unknown): Error {
  const { code = '', port } = error as NodeJS.ErrnoException & { port?: number };
  const metrics = config.metricsPort !== undefined && port === config.metricsPort && port !== config.port;
  const listenPort = metrics ? config.metricsPort : config.port;
  const where = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${listenPort}`;
  const portSetting = metrics ? 'METRICS_PORT' : 'PORT (or server.port)';
  if (code === 'EADDRINUSE') return new Error(`could not listen on ${where}, set by ${portSetting}: the port is already in use by another process. Stop it, or choose another port.`);
  if (code === 'EACCES') return new Error(`could not listen on ${where}, set by ${portSetting}: permission denied (ports below 1024 need privileges). Choose a port from 1024, e.g. 8080.`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new Error(`could not listen on ${where}, set by HOST (or server.host): the host name does not resolve here (${code}). Give an address of this machine, or 0.0.0.0 for all.`);
  if (code === 'EADDRNOTAVAIL') return new Error(`could not listen on ${where}, set by HOST (or server.host): no network interface of this machine has that address. Give one of its addresses, or 0.0.0.0 for all.`);
  return error instanceof Error ? error : new Error(String(error));
}
