import { maskUrlPassword } from '../observability/mask-url-password.js';
import { connectPostgres, connectSqlite, type DatabaseConnection } from './connect-database.js';
import { MemoryRelayStore } from './memory-relay-store.js';
import { runMigrations, type MigrationStatus } from './relay-migrations.js';
import type { RelayStore } from './relay-store.js';
import { SqlRelayStore } from './sql-relay-store.js';

/** Where the store keeps its data. */
export interface OpenStoreOptions {
  /**
   * `postgres://…` or `postgresql://…` for Postgres, `memory:` for a store that lives only in this
   * process; unset or empty for the SQLite file at {@link sqlitePath}.
   */
  databaseUrl?: string;
  /** The SQLite file, e.g. `./data/relay.db`; its folder is created if missing. */
  sqlitePath: string;
  /** Postgres only: the schema holding the tables, created if missing. Default: the current schema. */
  schema?: string;
  /** Postgres only: connections in the pool. Default 10. */
  poolSize?: number;
  /**
   * Postgres only: the longest a query may take once the migrations have run (they take what they
   * need): Postgres cancels a longer statement, and a query with no answer a second later fails and
   * closes its connection. Unset: no limit.
   */
  queryTimeoutMs?: number;
  /** Called with the migrations of a newer release the database already has (this release runs on them). */
  onNewerMigrations?: (names: string[]) => void;
}

/** What `relay migrate` prints. */
export interface MigrationReport {
  kind: RelayStore['kind'];
  /** The SQLite path or the Postgres URL with its password masked. */
  location: string;
  /** The migrations this run applied, oldest first; empty when the schema was current. */
  applied: string[];
  /** Every migration the code knows, and when it ran. */
  migrations: MigrationStatus[];
  /** Migrations of a newer release the database already has. */
  newer: string[];
}

/**
 * Opens the store the options point at and brings its schema up to date, so the caller can use
 * it at once. Replicas starting together are safe: the migrator takes a lock, and a migration
 * applied by one is skipped by the others. A database a newer release has migrated further is used
 * as it is (migrations only add), so that the previous release still starts during a rolling
 * upgrade or after a rollback.
 */
export async function openStore(options: OpenStoreOptions): Promise<RelayStore> {
  const connection = await connect(options);
  if (connection === 'memory') return new MemoryRelayStore();
  try {
    const { newer } = await runMigrations(connection.db, connection.dialect, connection.schema);
    if (newer.length > 0) options.onNewerMigrations?.(newer);
    if (options.queryTimeoutMs !== undefined) connection.limitQueries?.(options.queryTimeoutMs);
  } catch (error) {
    await connection.db.destroy();
    throw error;
  }
  return new SqlRelayStore(connection.dialect, connection.db, connection.sqlite);
}

/** Applies the pending migrations, closes the connection, and reports what was done. */
export async function migrateStore(options: OpenStoreOptions): Promise<MigrationReport> {
  const connection = await connect(options);
  if (connection === 'memory') return { kind: 'memory', location: 'memory:', applied: [], migrations: [], newer: [] };
  try {
    const outcome = await runMigrations(connection.db, connection.dialect, connection.schema);
    return { kind: connection.dialect, location: describeLocation(options), ...outcome };
  } finally {
    await connection.db.destroy();
  }
}

function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

async function connect(options: OpenStoreOptions): Promise<DatabaseConnection | 'memory'> {
  const url = options.databaseUrl?.trim() ?? '';
  if (url === '') return connectSqlite(options.sqlitePath);
  if (url === 'memory:') return 'memory';
  if (isPostgresUrl(url)) {
    return connectPostgres({
      url,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
    });
  }
  // Refuse rather than fall back to SQLite: a typo in DATABASE_URL must not split a cluster's data.
  throw new Error(`unsupported database URL ${maskUrlPassword(url)}: use postgres://…, postgresql://… or memory:, or leave it unset for SQLite`);
}

function describeLocation(options: OpenStoreOptions): string {
  const url = options.databaseUrl?.trim() ?? '';
  return url === '' ? options.sqlitePath : maskUrlPassword(url);
}

