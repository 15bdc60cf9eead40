import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { MemoryRelayStore } from './memory-relay-store.js';
import { openStore } from './open-store.js';
import { probePostgres, TestSchemas } from './postgres-test-database.js';
import { describeRelayStoreContract } from './relay-store.contract.js';

describeRelayStoreContract('memory', async () => new MemoryRelayStore());

// One temporary folder per run, one database file per test.
const sqliteFolder = mkdtempSync(join(tmpdir(), 'relay-store-'));
let sqliteFiles = 0;
describeRelayStoreContract('sqlite', () => openStore({ sqlitePath: join(sqliteFolder, `store-${(sqliteFiles += 1)}.db`) }));
afterAll(() => rmSync(sqliteFolder, { recursive: true, force: true }));

const postgres = await probePostgres();
if (postgres.available) {
  // One schema per test, all dropped at the end, so runs never see each other's rows.
  const schemas = new TestSchemas(postgres.url);
  describeRelayStoreContract('postgres', () => openStore({ databaseUrl: postgres.url, sqlitePath: '(unused)', schema: schemas.next(), poolSize: 4 }));
  afterAll(() => schemas.dropAll());
} else if (process.env.REQUIRE_SERVICES === '1') {
  describe('RelayStore contract: postgres', () => {
    it('has Postgres to run against (REQUIRE_SERVICES=1)', () => {
      throw new Error(postgres.reason);
    });
  });
} else {
  console.log(`skipping the Postgres RelayStore contract: ${postgres.reason} (set REQUIRE_SERVICES=1 to make this a failure)`);
  describe.skip('RelayStore contract: postgres', () => {
    it('needs DATABASE_URL', () => {});
  });
}
