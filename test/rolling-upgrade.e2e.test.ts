import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema, reachable } from './support/services.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-upgrade-test-master-0123456789';
const services = await reachable();
if (services.why !== undefined) process.stdout.write(`rolling-upgrade.e2e: skipped: ${services.why}\n`);

// The relay of this build stands for the previous release: the database gets a migration it does not
// know, as a newer release's first replica would have applied it.
describe.skipIf(services.why !== undefined)('replicas starting at the same moment on a fresh database', () => {
  it('all start, and the migrations run once', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-fresh-start-'));
    writeFileSync(join(cwd, 'relay.yaml'), '');
    for (let round = 0; round < 3; round++) {
      const schema = await freshSchema(services.databaseUrl!);
      const replicas = await Promise.all(
        [0, 1, 2].map(async () => spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(await freePort()), RELAY_MASTER_KEY: master, DATABASE_URL: schema.url } })),
      );
      try {
        const started = await Promise.all(replicas.map((replica) => replica.waitForLog(/relay listening/, 20_000).then(() => 'listening', (error: Error) => error.message)));
        expect(started).toEqual(['listening', 'listening', 'listening']);
        const client = new pg.Client({ connectionString: schema.url });
        await client.connect();
        const { rows } = await client.query('select name, count(*) as runs from relay_migrations group by name');
        await client.end();
        expect(rows.length).toBeGreaterThanOrEqual(8);
        expect(rows.every((row: { runs: string }) => row.runs === '1')).toBe(true);
      } finally {
        for (const replica of replicas) replica.child.kill('SIGTERM');
        await Promise.all(replicas.map((replica) => replica.exited));
        await schema.drop();
      }
    }
  }, 90_000);
});

describe.skipIf(services.why !== undefined)('a release starting on a database a newer release has migrated', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let cwd: string;
  const running: SpawnedRelay[] = [];

  beforeAll(async () => {
    schema = await freshSchema(services.databaseUrl!);
    cwd = mkdtempSync(join(tmpdir(), 'relay-upgrade-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'ledger:\n  flushIntervalMs: 100\n');
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    await schema.drop();
  });

  const relay = (args: string[], env: Record<string, string> = {}) => {
    const spawned = spawnRelay(args, { cwd, env: { RELAY_MASTER_KEY: master, DATABASE_URL: schema.url, ...env } });
    running.push(spawned);
    return spawned;
  };

  it('starts, serves and meters, and relay migrate reports the newer migrations without failing', async () => {
    const first = relay(['migrate']);
    expect(await first.exited).toBe(0);
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      await client.query(`insert into relay_migrations (name, timestamp) values ('9999_of_a_newer_release', $1)`, [new Date().toISOString()]);
      await client.query('alter table ledger_entries add column newer_release_column bigint not null default 0');

      const migrate = relay(['migrate']);
      expect(await migrate.exited, migrate.stderr()).toBe(0);
      expect(migrate.stdout()).toMatch(/has migrations of a newer release: 9999_of_a_newer_release/);
      expect(migrate.stdout()).toMatch(/up to date/);

      const port = await freePort();
      const served = relay(['serve', '--drain-delay-ms', '0'], { PORT: String(port) });
      await served.waitForLog(/relay listening/);
      expect(served.stdout()).toMatch(/migrations of a newer release/);
      const base = `http://127.0.0.1:${port}`;
      expect((await request(`${base}/ready`)).statusCode).toBe(200);
      const answer = await request(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-chat', messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(answer.statusCode, await answer.body.text()).toBe(200);
      await expect.poll(async () => Number((await client.query('select count(*) as n from ledger_entries')).rows[0].n), { timeout: 5000 }).toBe(1);
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('refuses a database where a newer release ran before a migration of its own', async () => {
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      await client.query(`delete from relay_migrations where name = '0008_ledger_cache_write_tokens'`);
    } finally {
      await client.end();
    }
    const migrate = relay(['migrate']);
    expect(await migrate.exited).toBe(1);
    expect(migrate.stderr()).toMatch(/corrupted migrations/);
  });
});
