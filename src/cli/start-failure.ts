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
