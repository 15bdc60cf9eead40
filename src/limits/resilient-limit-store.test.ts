import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CounterReservation } from './limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';
import { connectRedisForTests, deleteKeysUnder } from './redis-test-connection.js';
import { LimitsBackendUnavailableError, ResilientLimitStore, type BackendFailurePolicy } from './resilient-limit-store.js';

const start = 1_700_000_000_000;
const rpm = (limit: number): CounterReservation => ({ key: 'rpm', kind: 'window', limit, amount: 1 });
const closed: ResilientLimitStore[] = [];

afterEach(async () => {
  await Promise.all(closed.splice(0).map((store) => store.close()));
});

/** A store whose Redis is a port nobody listens on: short connect timeout, no waiting queue. */
function unreachable(policy: BackendFailurePolicy, replicas = 1): { store: ResilientLimitStore; changes: boolean[] } {
  const changes: boolean[] = [];
  const primary = new RedisLimitStore({ redis: 'redis://127.0.0.1:1', connectTimeoutMs: 200, commandTimeoutMs: 200 });
  const store = new ResilientLimitStore({ primary, policy, replicas, probeIntervalMs: 50, onDegradedChange: (degraded) => changes.push(degraded) });
  closed.push(store);
  return { store, changes };
}

describe('ResilientLimitStore when Redis is unreachable', () => {
  it('fail-closed refuses with a distinct result and reports being degraded once', async () => {
    const { store, changes } = unreachable('fail-closed');
    expect(store.degraded).toBe(false);
    const result = await store.reserve({ reservationId: 'a', counters: [rpm(10)], now: start });
    expect(result).toEqual({ ok: false, counter: 'limits-backend', kind: 'window', limit: 0, remaining: 0, retryAfterMs: 50 });
    expect(store.degraded).toBe(true);
    expect((await store.reserve({ reservationId: 'b', counters: [rpm(10)], now: start })).ok).toBe(false);
    expect(changes).toEqual([true]);
    // Admin calls say so instead of pretending; settles are kept for later rather than thrown.
    await expect(store.setCredit('wallet', 1)).rejects.toBeInstanceOf(LimitsBackendUnavailableError);
    await expect(store.peek('rpm', 'window', start)).rejects.toBeInstanceOf(LimitsBackendUnavailableError);
    await store.settle({ reservationId: 'old', actual: {}, now: start });
    // Nothing to enforce, nothing to refuse.
    expect(await store.reserve({ reservationId: 'c', counters: [], now: start })).toEqual({ ok: true, remaining: {} });
  });

  it("fail-open enforces this replica's share of every limit in memory, never unlimited", async () => {
    const { store, changes } = unreachable('fail-open', 2);
    const admitted = [];
    for (let index = 0; index < 8; index++) admitted.push((await store.reserve({ reservationId: `r${index}`, counters: [rpm(10)], now: start })).ok);
    expect(admitted).toEqual([true, true, true, true, true, false, false, false]);
    expect(store.degraded).toBe(true);
    expect(changes).toEqual([true]);
    expect(await store.peek('rpm', 'window', start)).toBe(5);

    const budget: CounterReservation = { key: 'day', kind: 'budget', limit: 100, amount: 50, expiresAt: start + 86_400_000 };
    // Said to be made in memory: its caller charges the credit it spends through the database.
    expect(await store.reserve({ reservationId: 'b1', counters: [budget], now: start })).toEqual({ ok: true, remaining: { day: 0 }, inMemory: true });
    expect((await store.reserve({ reservationId: 'b2', counters: [{ ...budget, amount: 1 }], now: start })).ok).toBe(false);

    // A credit never seen in Redis has no known balance: nothing to spend, but free requests pass.
    expect(await store.reserve({ reservationId: 'c1', counters: [{ key: 'wallet', kind: 'credit', limit: 0, amount: 1 }], now: start })).toMatchObject({ ok: false, counter: 'wallet' });
    expect((await store.reserve({ reservationId: 'c2', counters: [{ key: 'wallet', kind: 'credit', limit: 0, amount: 0 }], now: start })).ok).toBe(true);

    // Settling a memory reservation frees memory capacity.
    const parallel: CounterReservation = { key: 'parallel', kind: 'concurrent', limit: 2, amount: 1 };
    expect((await store.reserve({ reservationId: 'p1', counters: [parallel], now: start })).ok).toBe(true);
    expect((await store.reserve({ reservationId: 'p2', counters: [parallel], now: start })).ok).toBe(false);
    await store.settle({ reservationId: 'p1', actual: {}, now: start + 1 });
    expect((await store.reserve({ reservationId: 'p2', counters: [parallel], now: start + 1 })).ok).toBe(true);
  });

  it('renews the reservations it made in memory, and answers that it cannot renew those in Redis', async () => {
    const primary = new RedisLimitStore({ redis: 'redis://127.0.0.1:1', connectTimeoutMs: 200, commandTimeoutMs: 200, reservationTtlMs: 1_000 });
    const store = new ResilientLimitStore({ primary, policy: 'fail-open', probeIntervalMs: 50 });
    closed.push(store);
    expect(store.reservationTtlMs).toBe(1_000);
    const parallel: CounterReservation = { key: 'parallel', kind: 'concurrent', limit: 1, amount: 1 };
    expect((await store.reserve({ reservationId: 'long', counters: [parallel], now: start })).ok).toBe(true);
    expect(store.degraded).toBe(true);
    expect(await store.renew('long', start + 600)).toBe(true);
    expect((await store.reserve({ reservationId: 'second', counters: [parallel], now: start + 1_500 })).ok).toBe(false);
    await store.settle({ reservationId: 'long', actual: {}, now: start + 1_500 });
    expect((await store.reserve({ reservationId: 'second', counters: [parallel], now: start + 1_500 })).ok).toBe(true);
    // Made in Redis before the outage, say: not renewed now, without an error.
    expect(await store.renew('in-redis', start + 1_500)).toBe(false);
  });
});

const redis = await connectRedisForTests();
if (redis.url === undefined && redis.required) {
  it('needs Redis for the recovery test because REQUIRE_SERVICES=1', () => {
    throw new Error(`${redis.unavailableBecause}`);
  });
} else if (redis.url === undefined) {
  console.log(`Skipping the ResilientLimitStore recovery test: ${redis.unavailableBecause} (set REQUIRE_SERVICES=1 to fail instead).`);
}

describe.skipIf(redis.url === undefined)('ResilientLimitStore recovering with Redis', () => {
  const url = redis.url ?? '';
  const runPrefix = `relay-test:resilient:${randomUUID()}:`;
  afterAll(() => (redis.url === undefined ? undefined : deleteKeysUnder(url, runPrefix)));

  it('fails over to memory when Redis goes away, replays what it owes, and recovers when Redis is back', async () => {
    const target = new URL(url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start(0);
    const proxiedUrl = new URL(url);
    proxiedUrl.host = `127.0.0.1:${port}`;
    const keyPrefix = `${runPrefix}a:`;
    const changes: boolean[] = [];
    const primary = new RedisLimitStore({ redis: proxiedUrl.toString(), keyPrefix, connectTimeoutMs: 500, commandTimeoutMs: 500 });
    const store = new ResilientLimitStore({ primary, policy: 'fail-open', replicas: 2, probeIntervalMs: 50, onDegradedChange: (degraded) => changes.push(degraded) });
    closed.push(store);
    const direct = new RedisLimitStore({ redis: url, keyPrefix });
    try {
      const day = (amount: number): CounterReservation => ({ key: 'day', kind: 'budget', limit: 100, amount, expiresAt: start + 86_400_000 });
      const parallel: CounterReservation = { key: 'parallel', kind: 'concurrent', limit: 10, amount: 1 };
      await store.setCredit('wallet', 1_000);
      expect(await store.reserve({ reservationId: 'a', counters: [day(10), parallel, { key: 'wallet', kind: 'credit', limit: 0, amount: 100 }], now: start })).toEqual({
        ok: true,
        remaining: { day: 90, parallel: 9, wallet: 900 },
      });
      expect(await direct.peek('day', 'budget', start)).toBe(10);

      await proxy.stop();
      await waitFor(() => !primary.isAvailable());
      // Degraded: this replica may spend half of the 90 it last saw left.
      expect(await store.reserve({ reservationId: 'b', counters: [day(40), { key: 'wallet', kind: 'credit', limit: 0, amount: 400 }], now: start + 1 })).toEqual({
        ok: true,
        remaining: { day: 5, wallet: 50 },
        inMemory: true,
      });
      expect(store.degraded).toBe(true);
      expect((await store.reserve({ reservationId: 'c', counters: [day(6)], now: start + 1 })).ok).toBe(false);
      await store.settle({ reservationId: 'a', actual: { day: 5, wallet: 20 }, now: start + 2 });
      await store.settle({ reservationId: 'b', actual: { day: 8, wallet: 30 }, now: start + 3 });
      expect(store.backlogSize).toBeGreaterThan(0);
      await expect(store.addCredit('wallet', 5)).rejects.toBeInstanceOf(LimitsBackendUnavailableError);

      await proxy.start(port);
      await waitFor(() => !store.degraded);
      expect(changes).toEqual([true, false]);
      expect(store.backlogSize).toBe(0);
      // Redis now holds a's settled 5 plus b's 8 spent while degraded; a's slot is free; the wallet
      // paid a's 20 (b's 30, drawn in memory, reaches it from the database, as a credit change of b's ledger record).
      expect(await direct.peek('day', 'budget', start + 4)).toBe(13);
      expect(await direct.peek('parallel', 'concurrent', start + 4)).toBe(0);
      expect(await direct.peek('wallet', 'credit', start + 4)).toBe(980);
      expect(await store.reserve({ reservationId: 'd', counters: [day(87)], now: start + 5 })).toEqual({ ok: true, remaining: { day: 0 } });
      expect(await direct.peek('day', 'budget', start + 5)).toBe(100);
    } finally {
      await direct.close();
      await proxy.stop();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Forwards TCP to Redis, so a test can take Redis away and bring it back on the same port. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async start(port: number): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.port, this.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    return address.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
