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

/**
 * A TCP proxy in front of Postgres that the test closes (connections cut, new ones refused) and
 * opens again, or stalls (connections kept, nothing forwarded: a network dropping packets).
 */
class PostgresProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  open(): Promise<void> {
    this.server = createServer((client) => {
      if (this.stalled) {
        this.sockets.add(client);
        client.on('error', () => {});
        return;
      }
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

  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** After `stall`: new connections are forwarded again; the stalled ones stay as they are (answered by no one, never closed). */
  forward(): void {
    this.stalled = false;
  }

  close(): Promise<void> {
    this.stalled = false;
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

  async function start(gracePeriodMs = 5000, yaml = ''): Promise<{ relay: SpawnedRelay; port: number }> {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-postgres-outage-'));
    writeFileSync(join(cwd, 'relay.yaml'), `ledger:\n  flushIntervalMs: 100\n${yaml}`);
    const throughProxy = new URL(schema.url);
    throughProxy.host = `127.0.0.1:${proxy.port}`;
    const port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0', '--grace-period-ms', String(gracePeriodMs)], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, DATABASE_URL: throughProxy.toString() },
    });
    await relay.waitForLog(/relay listening/);
    return { relay, port };
  }

  const ask = async (port: number) => {
    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-chat', messages: [{ role: 'user', content: 'hello' }] }),
    });
    return { status: response.statusCode, text: await response.body.text() };
  };

  async function ledgerRows(): Promise<number> {
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      return Number((await client.query('select count(*) as n from ledger_entries')).rows[0].n);
    } finally {
      await client.end();
    }
  }

  it('keeps serving, queues the ledger, and writes one row per answered request once Postgres answers again', async () => {
    const { relay, port } = await start();

    let answered = 0;
    const failures: string[] = [];
    let stop = false;
    const workers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        try {
          const { status, text } = await ask(port);
          if (status === 200) answered++;
          else failures.push(`${status} ${text}`);
        } catch (error) {
          failures.push(String(error));
          return;
        }
      }
    });
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    const rows = async () => Number((await client.query('select count(*) as n from ledger_entries')).rows[0].n);
    await client.query('delete from ledger_entries');
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

  it('sees a Postgres that stops answering as down within seconds, keeps serving, and writes the queued usage on new connections once it answers', async () => {
    const { relay, port } = await start(5000, 'database:\n  queryTimeoutMs: 1000\n');
    const before = await ledgerRows();
    for (let sent = 0; sent < 3; sent++) expect((await ask(port)).status).toBe(200);
    await expect.poll(ledgerRows, { timeout: 10_000 }).toBe(before + 3);
    // Connections kept open and unanswered: nothing tells the relay, the key poll and the ledger
    // writes wait on them.
    proxy.stall();
    try {
      for (let sent = 0; sent < 5; sent++) expect((await ask(port)).status).toBe(200);
      await relay.waitForLog(/"detail":"QueryTimeoutError: [^"]*within 2000 ms[^"]*","pending":\d+,"msg":"ledger write failed; the records stay queued and are retried"/);
      await relay.waitForLog(/"detail":"QueryTimeoutError: [^"]*within 2000 ms[^"]*","msg":"key cache refresh failed; serving the keys already known"/);
      // A usage report is answered (with a 503 saying the database does not answer) rather than held.
      const usage = await request(`http://127.0.0.1:${port}/admin/usage?group_by=model`, { headers: { authorization: `Bearer ${master}` }, headersTimeout: 8_000 });
      expect(usage.statusCode).toBe(503);
      expect(((await usage.body.json()) as { error: { code: string } }).error.code).toBe('database_unavailable');
      expect((await ask(port)).status).toBe(200);
    } finally {
      // The stalled connections never answer; the relay gives them up and the new ones get through.
      proxy.forward();
    }
    await expect.poll(ledgerRows, { timeout: 10_000 }).toBe(before + 9);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    expect(relay.stderr()).toBe('');
  });

  it("answers the admin API's reads with a 503 database_unavailable while Postgres is cut, not a 500 with a stack in the log", async () => {
    const { relay, port } = await start();
    const admin = async (path: string, method: 'GET' | 'POST' = 'GET', body?: unknown) => {
      const response = await request(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 15_000,
      });
      return { status: response.statusCode, retryAfter: response.headers['retry-after'], body: (await response.body.json()) as { error?: { type: string; code: string; message: string } } };
    };
    expect((await admin('/admin/keys')).status).toBe(200);
    const reads = ['/admin/keys', '/admin/accounts', '/admin/usage?group_by=model', '/admin/usage'];
    await proxy.close();
    try {
      for (const path of reads) {
        const answer = await admin(path);
        expect({ path, status: answer.status, type: answer.body.error?.type, code: answer.body.error?.code }).toEqual({ path, status: 503, type: 'server_error', code: 'database_unavailable' });
        expect(answer.retryAfter).toBe('1');
        expect(answer.body.error?.message).toMatch(/database does not answer/);
      }
      const write = await admin('/admin/keys', 'POST', { name: 'during-outage' });
      expect({ status: write.status, code: write.body.error?.code }).toEqual({ status: 503, code: 'database_unavailable' });
      expect(relay.stdout()).not.toContain('unhandled error');
    } finally {
      await proxy.open();
    }
    await expect.poll(async () => (await admin('/admin/keys')).status, { timeout: 10_000 }).toBe(200);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
  });

  it('waits for migrations however long they are locked, and has Postgres cancel a later statement that waits past the limit', async () => {
    const locker = new pg.Client({ connectionString: schema.url });
    await locker.connect();
    let relay: SpawnedRelay;
    let port: number;
    try {
      // Another replica migrating, say: the relay's start waits on the lock longer than the limit.
      await locker.query('begin');
      await locker.query('lock table relay_migrations in access exclusive mode');
      const starting = start(5000, 'database:\n  queryTimeoutMs: 1000\n');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await locker.query('commit');
      ({ relay, port } = await starting);
      const before = await ledgerRows();
      // A migration rebuilding a ledger index: the relay's ledger write waits behind it, is
      // cancelled by Postgres at the limit, stays queued, and is written once the lock is gone.
      await locker.query('begin');
      await locker.query('lock table ledger_entries in access exclusive mode');
      for (let sent = 0; sent < 2; sent++) expect((await ask(port)).status).toBe(200);
      await relay.waitForLog(/"detail":"error: canceling statement due to statement timeout","pending":2,"msg":"ledger write failed; the records stay queued and are retried"/);
      await locker.query('commit');
      await expect.poll(ledgerRows, { timeout: 10_000 }).toBe(before + 2);
    } finally {
      await locker.end();
    }
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    expect(relay.stderr()).toBe('');
  });

  it('on SIGTERM, keeps trying to write the queued usage until the grace period ends, and writes it when Postgres returns meanwhile', async () => {
    const { relay, port } = await start(20_000);
    const before = await ledgerRows();
    for (let sent = 0; sent < 5; sent++) expect((await ask(port)).status).toBe(200);
    await expect.poll(ledgerRows, { timeout: 10_000 }).toBe(before + 5);
    await proxy.close();
    for (let sent = 0; sent < 7; sent++) expect((await ask(port)).status).toBe(200);
    relay.child.kill('SIGTERM');
    // More failed writes after the signal than the few immediate ones a shutdown could make.
    await relay.waitForLog(/shutting down(?:[\s\S]*ledger write failed){4}/);
    await proxy.open();
    expect(await relay.exited).toBe(0);
    expect(await ledgerRows()).toBe(before + 12);
  });

  it('exits 1 and says how many usage records are lost when Postgres stays away past the grace period', async () => {
    const { relay, port } = await start(300);
    const before = await ledgerRows();
    expect((await ask(port)).status).toBe(200);
    await expect.poll(ledgerRows, { timeout: 10_000 }).toBe(before + 1);
    await proxy.close();
    try {
      for (let sent = 0; sent < 3; sent++) expect((await ask(port)).status).toBe(200);
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(1);
      expect(relay.stdout()).toMatch(/"detail":"Error: 3 usage record\(s\) could not be written to the store before the shutdown deadline and are lost","msg":"shutdown failed"/);
    } finally {
      await proxy.open();
    }
    expect(await ledgerRows()).toBe(before + 1);
  });

  it('exits 1 a little after the grace period when Postgres stops answering without closing the connections', async () => {
    const { relay, port } = await start(300);
    const before = await ledgerRows();
    expect((await ask(port)).status).toBe(200);
    await expect.poll(ledgerRows, { timeout: 10_000 }).toBe(before + 1);
    proxy.stall();
    try {
      for (let sent = 0; sent < 2; sent++) expect((await ask(port)).status).toBe(200);
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(1);
      expect(relay.stdout()).toMatch(/"unwrittenUsageRecords":2,"msg":"shutdown failed: the store did not answer by the end of the grace period/);
    } finally {
      await proxy.close();
      await proxy.open();
    }
  });
});
