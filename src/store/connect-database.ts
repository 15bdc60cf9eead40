import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  Kysely,
  PostgresDialect,
  sql,
  SqliteDialect,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  type SchemaMetadata,
  type TableMetadata,
} from 'kysely';
import type { Pool, PoolClient } from 'pg';
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
  /**
   * Postgres only: bounds every query from now on to `ms` (see {@link TimedPool}). Called once the
   * migrations have run, which may take as long as they need.
   */
  limitQueries?: (ms: number) => void;
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
 *
 * The file holds key hashes and the ledger: a folder the relay creates is 0700 and a file it
 * creates 0600 (SQLite gives its -wal and -shm files the mode of the database file). A folder or
 * file that already exists keeps the mode its operator gave it.
 */
export function connectSqlite(path: string): DatabaseConnection {
  if (path !== ':memory:') {
    mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
    createPrivately(path);
  }
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
  database.pragma('foreign_keys = ON');
  database.pragma(`cache_size = -${sqliteCacheKib}`);
  return { db: new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database }) }), dialect: 'sqlite', schema: undefined, sqlite: database };
}

/** Creates `path` empty with mode 0600 unless it exists (an empty file is a new SQLite database). */
function createPrivately(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
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
  const timed = new TimedPool(pool);
  const db = new Kysely<RelayDatabase>({ dialect: new RelayPostgresDialect({ pool: timed }) });
  try {
    if (options.schema !== undefined) await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema ?? undefined;
    if (schema === undefined || schema === null) throw await noSchemaError(db);
    return { db, dialect: 'postgres', schema, limitQueries: (ms) => timed.limit(ms) };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/**
 * The connection has no current schema: no schema that `search_path` names exists, or the user may
 * not use any of them (Postgres skips both). The tables have nowhere to go.
 */
export class NoSchemaError extends Error {
  override readonly name = 'NoSchemaError';

  constructor(
    /** The schemas `search_path` names, as Postgres reads them (`$user` resolved). */
    readonly named: readonly string[],
    /** Those that do not exist. */
    readonly missing: readonly string[],
    /** Those that exist but the user has no USAGE privilege on. */
    readonly unusable: readonly string[],
    readonly user: string,
    readonly database: string,
  ) {
    super(describeNoSchema(named, missing, unusable, user, database));
  }
}

function describeNoSchema(named: readonly string[], missing: readonly string[], unusable: readonly string[], user: string, database: string): string {
  const list = (names: readonly string[]) => names.map((name) => `"${name}"`).join(', ');
  if (named.length === 0) return 'search_path names no schema: the relay has nowhere to keep its tables';
  const parts: string[] = [];
  if (missing.length === 1) parts.push(`the schema ${list(missing)}, which search_path names, does not exist in the database "${database}"`);
  else if (missing.length > 1) parts.push(`the schemas ${list(missing)}, which search_path names, do not exist in the database "${database}"`);
  if (unusable.length > 0) parts.push(`the user "${user}" has no USAGE privilege on ${list(unusable)}`);
  return parts.length > 0 ? parts.join('; and ') : `no schema that search_path (${named.join(', ')}) names exists or may be used`;
}

/** Finds out why a connection has no current schema, from the `search_path` it runs with. */
async function noSchemaError(db: Kysely<RelayDatabase>): Promise<NoSchemaError> {
  const { rows } = await sql<{ path: string; user: string; database: string }>`select current_setting('search_path') as path, current_user as user, current_database() as database`.execute(db);
  const { path, user, database } = rows[0]!;
  const entries = splitSearchPath(path);
  const named = entries.map((entry) => (entry === '$user' ? user : entry));
  const { rows: found } = await sql<{ name: string; usable: boolean }>`select nspname as name, has_schema_privilege(oid, 'USAGE') as usable from pg_namespace where nspname = any(${named})`.execute(db);
  const usable = new Map(found.map((row) => [row.name, row.usable]));
  // The default path's "$user" names a schema few create: a missing one is worth naming only when it is all there is.
  const missing = named.filter((name, index) => !usable.has(name) && (entries[index] !== '$user' || entries.length === 1));
  return new NoSchemaError(named, missing, named.filter((name) => usable.get(name) === false), user, database);
}

/**
 * The schema names of a `search_path` setting, as Postgres reads it: comma-separated, double
 * quotes keep case and commas (`""` is a quote), unquoted names fold to lower case.
 */
function splitSearchPath(path: string): string[] {
  const names: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (let index = 0; index < path.length; index++) {
    const char = path[index]!;
    if (quoted) {
      if (char === '"' && path[index + 1] === '"') {
        current += '"';
        index++;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') {
      quoted = true;
      started = true;
    } else if (char === ',') {
      if (started) names.push(current);
      current = '';
      started = false;
    } else if (!/\s/.test(char)) {
      current += char.toLowerCase();
      started = true;
    }
  }
  if (started) names.push(current);
  return names;
}

/** A query that Postgres did not answer in time: its connection is closed, and the pool opens another. */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/**
 * How long past its statement timeout a query may go unanswered before its connection is given up:
 * a server that is alive cancels the statement itself by then, so only a connection that stopped
 * answering (packets dropped, a hung server) reaches it.
 */
const unansweredGraceMs = 1_000;

/**
 * The pool Kysely draws from. Once {@link limit} is called, every query is bounded: each connection
 * gets `statement_timeout` (Postgres cancels a statement that runs longer, and the connection stays
 * usable), and a query with no answer at all a second after that fails with a
 * {@link QueryTimeoutError} and closes its connection; getting a connection takes no longer either.
 * Without this, a Postgres that takes a query and never answers holds the caller until TCP gives
 * up, minutes later. Before the limit (while the migrations run, and for `relay migrate`) queries
 * take as long as they take.
 */
class TimedPool implements PostgresPool {
  private limitMs: number | undefined;
  /** The bounded face of each connection, made (and its statement timeout set) once per connection. */
  private readonly bounded = new WeakMap<PoolClient, TimedClient>();

  constructor(private readonly pool: Pool) {}

  limit(ms: number): void {
    this.limitMs = ms;
    // Waiting for a connection counts too: a new one to a server that takes the TCP connection and
    // never answers would otherwise hold the query for the pool's whole connection timeout.
    const options = this.pool.options;
    options.connectionTimeoutMillis = Math.min(options.connectionTimeoutMillis ?? Infinity, ms + unansweredGraceMs);
  }

  async connect(): Promise<PostgresPoolClient> {
    const limitMs = this.limitMs;
    if (limitMs === undefined) return this.pool.connect();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      // pg-pool's two timeouts (no connection free in time, or a new one not answered in time) say so only in their message.
      if (error instanceof Error && /timeout/i.test(error.message)) {
        throw new QueryTimeoutError(`no connection to Postgres within ${limitMs + unansweredGraceMs} ms (database.queryTimeoutMs plus 1 s): ${error.message}`, { cause: error });
      }
      throw error;
    }
    let timed = this.bounded.get(client);
    if (timed === undefined) {
      timed = new TimedClient(client, limitMs);
      try {
        await timed.query(`set statement_timeout = ${limitMs}`, []);
      } catch (error) {
        timed.release();
        throw error;
      }
      this.bounded.set(client, timed);
    }
    return timed;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** A pooled connection whose queries fail after their time, closing the connection, when Postgres does not answer. */
class TimedClient implements PostgresPoolClient {
  /** A query went unanswered: the connection is closed when released, and takes no more queries meanwhile. */
  private stalled: QueryTimeoutError | undefined;

  constructor(
    private readonly client: PoolClient,
    private readonly limitMs: number,
  ) {}

  query<R>(text: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  /** Cursors (streamed results) are not used by the relay. */
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(text: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof text !== 'string') throw new Error('the relay reads no Postgres cursor');
    if (this.stalled !== undefined) return Promise.reject(this.stalled);
    const answer = this.client.query(text, parameters as unknown[] | undefined) as unknown as Promise<PostgresQueryResult<R>>;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stalled = new QueryTimeoutError(`Postgres did not answer a query within ${this.limitMs + unansweredGraceMs} ms (database.queryTimeoutMs plus 1 s): its connection is closed`);
        reject(this.stalled);
      }, this.limitMs + unansweredGraceMs);
      answer.then(
        (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Back to the pool; a connection that stopped answering is closed instead (its socket destroyed: nothing waits for the server). */
  release(destroy?: boolean): void {
    this.client.release(destroy === true || this.stalled !== undefined);
  }
}

/**
 * Kysely's Postgres dialect, with an introspection that a schema dropped meanwhile cannot fail.
 * The migrator asks it whether its tables and schema exist; Kysely's own looks at every schema of
 * the database and calls functions that name each one (`has_schema_privilege`,
 * `pg_get_serial_sequence`), so another schema dropped while the query ran (another application's,
 * a test's) failed the relay's start with `schema "…" does not exist`. Measured: 18 starts of 30
 * failed while another client created and dropped schemas in a loop.
 */
class RelayPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CatalogIntrospector(db);
  }
}

/**
 * Names of schemas and tables, read from the catalog alone (one snapshot, no lookups by name);
 * without columns, which nothing in the relay reads.
 */
class CatalogIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<any>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema'`.execute(this.db);
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string; isView: boolean }>`
      select c.relname as name, ns.nspname as schema, c.relkind in ('v', 'm') as "isView"
      from pg_catalog.pg_class c join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm') and ns.nspname !~ '^pg_' and ns.nspname <> 'information_schema'`.execute(this.db);
    return rows.map((row) => ({ ...row, columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}
