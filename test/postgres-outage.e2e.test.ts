import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema, reachable } from './support/services.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-postgres-outage-master-0123456789';
const services = await reachable();
if (services.why !== undefined) process.stdout.write(`postgres-outage.e2e: skipped: ${services.why}\n`);

/** A TCP proxy in front of Postgres that the test closes (connections cut, new ones refused) and opens again. */
class PostgresProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closed;
  }
}

describe.skipIf(services.why !== undefined)('a relay whose Postgres goes away under traffic and comes back', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let proxy: PostgresProxy;
  let relay: SpawnedRelay | undefined;

  beforeAll(async () => {
    schema = await freshSchema(services.databaseUrl!);
    proxy = new PostgresProxy(await freePort(), new URL(services.databaseUrl!));
    await proxy.open();
  });
  afterAll(async () => {
    if (relay !== undefined && relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await relay?.exited;
    await proxy.close();
    await schema.drop();
  });

  it('keeps serving, queues the ledger, and writes one row per answered request once Postgres answers again', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-postgres-outage-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'ledger:\n  flushIntervalMs: 100\n');
    const throughProxy = new URL(schema.url);
    throughProxy.host = `127.0.0.1:${proxy.port}`;
    const port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master, DATABASE_URL: throughProxy.toString() } });
    await relay.waitForLog(/relay listening/);

    let answered = 0;
    const failures: string[] = [];
    let stop = false;
    const workers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        try {
          const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'mock-chat', messages: [{ role: 'user', content: 'hello' }] }),
          });
          const text = await response.body.text();
          if (response.statusCode === 200) answered++;
          else failures.push(`${response.statusCode} ${text}`);
        } catch (error) {
          failures.push(String(error));
          return;
        }
      }
    });
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    const rows = async () => Number((await client.query('select count(*) as n from ledger_entries')).rows[0].n);
    try {
      await expect.poll(rows, { timeout: 10_000 }).toBeGreaterThan(20);
      await proxy.close();
      await relay.waitForLog(/ledger write failed/);
      const answeredBefore = answered;
      await expect.poll(() => answered, { timeout: 10_000 }).toBeGreaterThan(answeredBefore + 100);
      await proxy.open();
      stop = true;
      await Promise.all(workers);
      expect(failures).toEqual([]);
      expect(relay.child.exitCode).toBeNull();
      await expect.poll(rows, { timeout: 10_000 }).toBe(answered);
      const { rows: distinct } = await client.query('select count(distinct request_id) as n from ledger_entries');
      expect(Number(distinct[0].n)).toBe(answered);
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(0);
      expect(relay.stderr()).toBe('');
    } finally {
      stop = true;
      await client.end();
    }
  });
});
