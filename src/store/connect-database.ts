import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import type { RelayDatabase } from './database-schema.js';
import type { SqlDialectName } from './relay-migrations.js';

/** An open SQL database, ready for migrations and queries. */
export interface DatabaseConnection {
  db: Kysely<RelayDatabase>;
  dialect: SqlDialectName;
  /** The Postgres schema the tables live in; `undefined` on SQLite. */
  schema: string | undefined;
  /** The SQLite handle under Kysely, for the few statements prepared once (the ledger insert). */
  sqlite?: Database.Database;
}

/**
 * SQLite's page cache per connection, in KiB: SQLite's own default (2 MB). better-sqlite3 builds
 * SQLite with 16 MB, which the ledger's appends fill with pages written once and never read again
 * (~20 MB of the relay's memory after 170 000 requests, outside the JavaScript heap); an append
 * touches a few pages at the right edge of each index, and reports read the ledger once, through
 * the operating system's file cache.
 */
const sqliteCacheKib = 2_000;

/** How long SQLite waits for another process's write lock before failing with SQLITE_BUSY. */
const sqliteBusyTimeoutMs = 5_000;

/**
 * Opens (creating the file and its folder if needed) an SQLite database tuned for one writer
 * process: WAL so readers never block the writer, synchronous=NORMAL (durable at each checkpoint,
 * safe from corruption, much faster than FULL), and foreign keys enforced as on Postgres.
 */
export function connectSqlite(path: string): DatabaseConnection {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
  database.pragma('foreign_keys = ON');
  database.pragma(`cache_size = -${sqliteCacheKib}`);
  return { db: new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database }) }), dialect: 'sqlite', schema: undefined, sqlite: database };
}

export interface PostgresOptions {
  /** `postgres://` or `postgresql://` URL. */
  url: string;
  /**
   * The schema to keep the tables in, created if missing; by default the connection's current
   * schema (usually `public`). Tests use a fresh one per run.
   */
  schema?: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
}

/**
 * Connects a pool to Postgres. BIGINT columns (money, timestamps, counts) come back as JavaScript
 * numbers rather than `pg`'s default strings: every amount the relay stores is below 2^53
 * micro-units (9 billion units of a currency). The parser is set on this pool only, not globally,
 * so other users of `pg` in the process are unaffected.
 */
export async function connectPostgres(options: PostgresOptions): Promise<DatabaseConnection> {
  // Lower case only: search_path folds unquoted names to lower case, CREATE SCHEMA below quotes them.
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new Error(`invalid Postgres schema name ${JSON.stringify(options.schema)}: use lower-case letters, digits and _`);
  }
  // Loaded only for Postgres: a single-box relay on SQLite never pays for the driver at start.
  const { default: pg } = await import('pg');
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (text: string) => Number(text));
  const pool = new pg.Pool({
    connectionString: options.url,
    types,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle connection that breaks is dropped from the pool; the next query reports the problem.
  // Without a listener the 'error' event would end the process.
  pool.on('error', () => {});
  // The pool listens on idle connections only: one in use (a ledger transaction, a poll) whose
  // server goes away emits 'error' too, after failing its query, and with nobody listening that
  // would end the process. The failed query reports it; the pool drops the broken connection.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<RelayDatabase>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (options.schema !== undefined) await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema ?? undefined;
    if (schema === undefined || schema === null) throw new Error('the Postgres connection has no current schema: set search_path or pass a schema');
    return { db, dialect: 'postgres', schema };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
