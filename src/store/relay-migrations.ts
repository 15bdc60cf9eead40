import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { RelayDatabase } from './database-schema.js';

/** The SQL databases the store runs on; migrations differ between them only in the integer type. */
export type SqlDialectName = 'sqlite' | 'postgres';

/** Where the migrator records what it has applied (and the lock that keeps two replicas from racing). */
export const migrationTableName = 'relay_migrations';
export const migrationLockTableName = 'relay_migrations_lock';

/**
 * The schema's history, oldest first. Names sort in the order they must run; a released migration
 * is never edited, only followed by a new one. Every migration must run on both dialects: use
 * `money` (BIGINT on Postgres, INTEGER on SQLite, both 64-bit) for amounts and timestamps, `text`
 * for strings and JSON, `integer` for small counts.
 */
export function relayMigrations(dialect: SqlDialectName): Record<string, Migration> {
  // SQLite's INTEGER already holds 64 bits; Postgres's INTEGER holds 32, too few for epoch ms.
  const money = dialect === 'postgres' ? 'bigint' : 'integer';
  // SQLite's REAL is already 8 bytes; Postgres's REAL is 4.
  const float = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    '0001_accounts_keys_ledger': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('name', 'text', (column) => column.notNull())
          .addColumn('currency', 'text', (column) => column.notNull())
          .addColumn('balance_micros', money, (column) => column.notNull().defaultTo(0))
          .addColumn('created_at', money, (column) => column.notNull())
          .addColumn('metadata', 'text')
          .execute();

        await db.schema
          .createTable('balance_transactions')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('account_id', 'text', (column) => column.notNull().references('accounts.id'))
          .addColumn('delta_micros', money, (column) => column.notNull())
          .addColumn('balance_after_micros', money, (column) => column.notNull())
          .addColumn('note', 'text', (column) => column.notNull())
          .addColumn('created_at', money, (column) => column.notNull())
          .execute();
        await db.schema.createIndex('balance_transactions_by_account').on('balance_transactions').columns(['account_id', 'created_at']).execute();

        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('name', 'text', (column) => column.notNull())
          .addColumn('account_id', 'text', (column) => column.references('accounts.id'))
          .addColumn('sha256', 'text', (column) => column.notNull().unique())
          .addColumn('prefix', 'text', (column) => column.notNull())
          .addColumn('models', 'text')
          .addColumn('rpm', 'integer')
          .addColumn('tpm', 'integer')
          .addColumn('max_parallel', 'integer')
          .addColumn('budget_amount_micros', money)
          .addColumn('budget_currency', 'text')
          .addColumn('budget_period', 'text')
          .addColumn('expires_at', money)
          .addColumn('metadata', 'text')
          .addColumn('created_at', money, (column) => column.notNull())
          .addColumn('updated_at', money, (column) => column.notNull())
          .addColumn('revoked_at', money)
          .execute();
        // Every replica polls `updated_at > ?` twice a second.
        await db.schema.createIndex('api_keys_by_updated_at').on('api_keys').column('updated_at').execute();

        // No foreign keys here: the ledger is history and must accept every settled request, even
        // one whose key or account has since gone.
        await db.schema
          .createTable('ledger_entries')
          .addColumn('request_id', 'text', (column) => column.primaryKey())
          .addColumn('key_id', 'text')
          .addColumn('account_id', 'text')
          .addColumn('model', 'text', (column) => column.notNull())
          .addColumn('provider', 'text')
          .addColumn('prompt_tokens', money, (column) => column.notNull())
          .addColumn('completion_tokens', money, (column) => column.notNull())
          .addColumn('cached_tokens', money, (column) => column.notNull())
          .addColumn('cost_micros', money, (column) => column.notNull())
          .addColumn('official_cost_micros', money, (column) => column.notNull())
          .addColumn('currency', 'text', (column) => column.notNull())
          .addColumn('latency_ms', money, (column) => column.notNull())
          .addColumn('status', 'integer', (column) => column.notNull())
          .addColumn('stream', 'integer', (column) => column.notNull())
          .addColumn('created_at', money, (column) => column.notNull())
          .execute();
        await db.schema.createIndex('ledger_entries_by_key').on('ledger_entries').columns(['key_id', 'created_at']).execute();
        await db.schema.createIndex('ledger_entries_by_account').on('ledger_entries').columns(['account_id', 'created_at']).execute();
        await db.schema.createIndex('ledger_entries_by_time').on('ledger_entries').column('created_at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const table of ['ledger_entries', 'api_keys', 'balance_transactions', 'accounts']) {
          await db.schema.dropTable(table).execute();
        }
      },
    },
    // Most requests come from keys without an account: their rows need no entry in the account
    // index. Queries by account (`account_id = ?`) still use the partial index, and every ledger
    // insert of such a row writes one b-tree less (about a fifth of the insert on SQLite).
    '0002_ledger_account_index_partial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropIndex('ledger_entries_by_account').execute();
        await db.schema
          .createIndex('ledger_entries_by_account')
          .on('ledger_entries')
          .columns(['account_id', 'created_at'])
          .where(sql.ref('account_id'), 'is not', null)
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropIndex('ledger_entries_by_account').execute();
        await db.schema.createIndex('ledger_entries_by_account').on('ledger_entries').columns(['account_id', 'created_at']).execute();
      },
    },
    // Canary migrations outlive a restart and are shared by replicas (`CanaryStore`).
    '0003_canary_state': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('canary_states')
          .addColumn('model', 'text', (column) => column.notNull())
          .addColumn('fingerprint', 'text', (column) => column.notNull())
          .addColumn('phase', 'text', (column) => column.notNull())
          .addColumn('weight', float, (column) => column.notNull())
          .addColumn('failed_checks', 'integer', (column) => column.notNull())
          .addColumn('decided_interval', money, (column) => column.notNull())
          .addColumn('history', 'text', (column) => column.notNull())
          .addColumn('version', 'integer', (column) => column.notNull())
          .addColumn('updated_at', money, (column) => column.notNull())
          .addPrimaryKeyConstraint('canary_states_pkey', ['model', 'fingerprint'])
          .execute();
        await db.schema
          .createTable('canary_samples')
          .addColumn('model', 'text', (column) => column.notNull())
          .addColumn('fingerprint', 'text', (column) => column.notNull())
          .addColumn('interval_index', money, (column) => column.notNull())
          .addColumn('replica', 'text', (column) => column.notNull())
          .addColumn('requests', 'integer', (column) => column.notNull())
          .addColumn('successes', 'integer', (column) => column.notNull())
          .addColumn('latencies', 'text', (column) => column.notNull())
          .addPrimaryKeyConstraint('canary_samples_pkey', ['model', 'fingerprint', 'interval_index', 'replica'])
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('canary_samples').execute();
        await db.schema.dropTable('canary_states').execute();
      },
    },
    // Dashboard sessions in the database, so that every replica knows a signed-in browser.
    '0004_dashboard_sessions': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('dashboard_sessions')
          .addColumn('id_sha256', 'text', (column) => column.primaryKey())
          .addColumn('csrf_token', 'text', (column) => column.notNull())
          .addColumn('key_sha256', 'text', (column) => column.notNull())
          .addColumn('expires_at', money, (column) => column.notNull())
          .addColumn('created_at', money, (column) => column.notNull())
          .execute();
        await db.schema.createIndex('dashboard_sessions_by_creation').on('dashboard_sessions').column('created_at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('dashboard_sessions').execute();
      },
    },
    // Balance changes Redis has yet to count, written with the balance (`CreditChange`).
    '0005_credit_changes': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('credit_changes')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('account_id', 'text', (column) => column.notNull())
          .addColumn('delta_micros', money, (column) => column.notNull())
          .addColumn('created_at', money, (column) => column.notNull())
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('credit_changes').execute();
      },
    },
    // Items of translated /v1/responses answers, so that an item_reference resolves at any replica.
    '0006_response_items': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('response_items')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('principal_id', 'text', (column) => column.notNull())
          .addColumn('item', 'text', (column) => column.notNull())
          .addColumn('expires_at', money, (column) => column.notNull())
          .execute();
        await db.schema.createIndex('response_items_by_expiry').on('response_items').column('expires_at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('response_items').execute();
      },
    },
    // Who got which response an upstream stored, so that previous_response_id stays with its key and its upstream account.
    '0007_stored_responses': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('stored_responses')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('principal_id', 'text', (column) => column.notNull())
          .addColumn('provider', 'text', (column) => column.notNull())
          .addColumn('expires_at', money, (column) => column.notNull())
          .execute();
        await db.schema.createIndex('stored_responses_by_expiry').on('stored_responses').column('expires_at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('stored_responses').execute();
      },
    },
    // Prompt tokens written to the upstream's prompt cache, which Anthropic bills above input, so that
    // reports show what a row's cost was made of. Rows written before (or by a replica not yet
    // upgraded, during a rolling upgrade) count none.
    '0008_ledger_cache_write_tokens': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .alterTable('ledger_entries')
          .addColumn('cache_write_tokens', money, (column) => column.notNull().defaultTo(0))
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('ledger_entries').dropColumn('cache_write_tokens').execute();
      },
    },
    // The relay's error code of a request that failed, so that a stream failed after its first byte
    // (answered 200) counts among the errors. Rows written before (or by a replica not yet upgraded)
    // have none, and count as errors by their status alone, as before.
    '0009_ledger_error_code': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('ledger_entries').addColumn('error_code', 'text').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('ledger_entries').dropColumn('error_code').execute();
      },
    },
  };
}

/** One migration as `relay migrate` reports it. */
export interface MigrationStatus {
  name: string;
  /** When it ran; `undefined` if it has not. */
  executedAt: Date | undefined;
}

export interface MigrationOutcome {
  /** The migrations this run applied, in order; empty when the schema was already current. */
  applied: string[];
  /** Every known migration and when it ran. */
  migrations: MigrationStatus[];
  /**
   * Migrations the database has and this release does not know: a newer release ran them (a
   * rolling upgrade under way, or a rollback). This release runs on that schema, as migrations only
   * add to it.
   */
  newer: string[];
}

/**
 * Applies the pending migrations. `schema` names the Postgres schema holding the migration
 * tables; it must be given there because Kysely otherwise looks for them in every schema of the
 * database and could mistake another schema's tables for ours.
 */
export async function runMigrations(db: Kysely<RelayDatabase>, dialect: SqlDialectName, schema?: string): Promise<MigrationOutcome> {
  const known = relayMigrations(dialect);
  // A newer release's migrations stand in the list as already applied, so that this release still
  // starts beside (or instead of) the newer one. Every migration this release knows must have run
  // before them, or the database is refused as out of order.
  const newer = (await executedMigrationNames(db, schema)).filter((name) => !(name in known));
  const stand: Migration = {
    async up(): Promise<void> {
      throw new Error('a migration of a newer release cannot be applied by this one');
    },
  };
  const provider: MigrationProvider = { getMigrations: async () => ({ ...known, ...Object.fromEntries(newer.map((name) => [name, stand])) }) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName,
    migrationLockTableName,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const migrations = (await migrator.getMigrations()).filter(({ name }) => name in known).map(({ name, executedAt }) => ({ name, executedAt }));
  return { applied: (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName), migrations, newer };
}

/** The migrations the database records as applied; none when it has no migration table yet. */
async function executedMigrationNames(db: Kysely<RelayDatabase>, schema: string | undefined): Promise<string[]> {
  // Asked first: a replica starting beside this one may create the table at any moment, and a table
  // that does not exist yet has no migrations in it.
  if (!(await migrationTableExists(db, schema))) return [];
  const table = schema === undefined ? sql.table(migrationTableName) : sql.table(`${schema}.${migrationTableName}`);
  const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
  return rows.map((row) => row.name);
}

async function migrationTableExists(db: Kysely<RelayDatabase>, schema: string | undefined): Promise<boolean> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.some((table) => table.name === migrationTableName && (schema === undefined || table.schema === schema));
}
