import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectSqlite } from './connect-database.js';
import { migrateStore, openStore, type OpenStoreOptions } from './open-store.js';
import { probePostgres, TestSchemas } from './postgres-test-database.js';
import type { RelayStore } from './relay-store.js';

const migrationNames = ['0001_accounts_keys_ledger', '0002_ledger_account_index_partial', '0003_canary_state', '0004_dashboard_sessions', '0005_credit_changes', '0006_response_items', '0007_stored_responses', '0008_ledger_cache_write_tokens', '0009_ledger_error_code'];
const folder = mkdtempSync(join(tmpdir(), 'relay-open-store-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Writes one account, one key and one ledger row, and returns a reader that checks they are back. */
async function writeSample(store: RelayStore): Promise<(reopened: RelayStore) => Promise<void>> {
  const account = await store.accounts.create({ name: 'Acme', currency: 'EUR', balanceMicros: 3_000_000 });
  const key = await store.keys.create({
    name: 'persisted',
    accountId: account.id,
    sha256: 'a'.repeat(64),
    prefix: 'sk-relay-aaaa',
    models: ['gpt-4o'],
    rpm: 10,
    tpm: null,
    maxParallel: null,
    budget: { amountMicros: 1_000_000, currency: 'EUR', period: 'daily' },
    expiresAt: null,
    metadata: { note: 'kept' },
  });
  await store.ledger.insertBatch([
    {
      requestId: 'req_persisted',
      keyId: key.id,
      accountId: account.id,
      model: 'gpt-4o',
      provider: 'openai',
      promptTokens: 10,
      completionTokens: 5,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      costMicros: 400,
      officialCostMicros: 500,
      currency: 'EUR',
      latencyMs: 90,
      status: 200,
      errorCode: null,
      stream: true,
      createdAt: Date.UTC(2024, 5, 1),
    },
  ]);
  const expectedAccount = await store.accounts.get(account.id);
  return async (reopened) => {
    expect(await reopened.accounts.get(account.id)).toEqual(expectedAccount);
    expect(expectedAccount?.balanceMicros).toBe(3_000_000 - 400);
    expect(await reopened.keys.findBySha256(key.sha256)).toEqual(key);
    expect(await reopened.ledger.count()).toBe(1);
    expect(await reopened.ledger.spendSince(key.id, 0, 'EUR')).toBe(400);
  };
}

/** The same checks on both SQL backends: migrations apply once, and data outlives the connection. */
function describeMigrations(name: string, options: () => OpenStoreOptions, expectedKind: 'sqlite' | 'postgres'): void {
  describe(`migrations and reopening: ${name}`, () => {
    it('applies pending migrations once; running them again changes nothing', async () => {
      const target = options();
      const first = await migrateStore(target);
      expect(first.kind).toBe(expectedKind);
      expect(first.applied).toEqual(migrationNames);
      expect(first.migrations.map((migration) => migration.name)).toEqual(migrationNames);
      expect(first.migrations[0]?.executedAt).toBeInstanceOf(Date);
      const second = await migrateStore(target);
      expect(second.applied).toEqual([]);
      expect(second.migrations[0]?.executedAt).toEqual(first.migrations[0]?.executedAt);
      const store = await openStore(target);
      expect(store.kind).toBe(expectedKind);
      await store.close();
    });

    it('keeps the data after closing and reopening', async () => {
      const target = options();
      const store = await openStore(target);
      const check = await writeSample(store);
      await store.close();
      await store.close();
      const reopened = await openStore(target);
      try {
        await check(reopened);
      } finally {
        await reopened.close();
      }
    });
  });
}

let sqliteFiles = 0;
describeMigrations('sqlite', () => ({ sqlitePath: join(folder, `nested-${(sqliteFiles += 1)}`, 'data', 'relay.db') }), 'sqlite');

describe('openStore on SQLite', () => {
  it('creates the folder and a WAL-mode file', async () => {
    const sqlitePath = join(folder, 'fresh', 'relay.db');
    const store = await openStore({ sqlitePath });
    await store.close();
    expect(existsSync(sqlitePath)).toBe(true);
    const database = new Database(sqlitePath, { readonly: true });
    try {
      expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      database.close();
    }
  });

  it("keeps SQLite's own 2 MB page cache, not the 16 MB better-sqlite3 builds it with (the ledger's appends never read those pages again)", async () => {
    const connection = connectSqlite(join(folder, 'cache', 'relay.db'));
    try {
      expect(connection.sqlite?.pragma('cache_size', { simple: true })).toBe(-2000);
      const stock = new Database(':memory:');
      expect(stock.pragma('cache_size', { simple: true })).toBe(-16000);
      stock.close();
    } finally {
      await connection.db.destroy();
    }
  });

  it('opens a memory store for memory: and refuses URLs it does not know', async () => {
    const store = await openStore({ databaseUrl: 'memory:', sqlitePath: join(folder, 'unused.db') });
    expect(store.kind).toBe('memory');
    await store.close();
    expect(existsSync(join(folder, 'unused.db'))).toBe(false);
    await expect(openStore({ databaseUrl: 'mysql://user:secret@host/db', sqlitePath: 'x.db' })).rejects.toThrow(/unsupported database URL mysql:\/\/user:\*\*\*@host\/db/);
  });
});

const postgres = await probePostgres();
if (postgres.available) {
  const schemas = new TestSchemas(postgres.url);
  afterAll(() => schemas.dropAll());
  describeMigrations('postgres', () => ({ databaseUrl: postgres.url, sqlitePath: '(unused)', schema: schemas.next(), poolSize: 2 }), 'postgres');

  it('stores money and timestamps as BIGINT on Postgres', async () => {
    const schema = schemas.next();
    await migrateStore({ databaseUrl: postgres.url, sqlitePath: '(unused)', schema });
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ column_name: string; data_type: string }>(
        `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = 'accounts'`,
        [schema],
      );
      expect(Object.fromEntries(rows.map((row) => [row.column_name, row.data_type]))).toMatchObject({ balance_micros: 'bigint', created_at: 'bigint', metadata: 'text' });
    } finally {
      await client.end();
    }
  });
} else if (process.env.REQUIRE_SERVICES === '1') {
  it('has Postgres to run the migration tests against (REQUIRE_SERVICES=1)', () => {
    throw new Error(postgres.reason);
  });
} else {
  console.log(`skipping the Postgres migration tests: ${postgres.reason} (set REQUIRE_SERVICES=1 to make this a failure)`);
  it.skip('migrations and reopening: postgres (needs DATABASE_URL)', () => {});
}
