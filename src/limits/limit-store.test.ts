import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLimitStoreContract } from './limit-store.contract.js';
import { CountersLostError, expiredReservationKeptMs } from './limit-store.js';
import { MemoryLimitStore } from './memory-limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';
import { connectRedisForTests, deleteKeysUnder } from './redis-test-connection.js';

describeLimitStoreContract('MemoryLimitStore', async ({ reservationTtlMs }) => ({ store: new MemoryLimitStore({ reservationTtlMs }) }));

describe('MemoryLimitStore reservations held by the caller', () => {
  const counters = (amount: number) => [
    { key: 'rpm', kind: 'window' as const, limit: 10, amount: 1 },
    { key: 'parallel', kind: 'concurrent' as const, limit: 1, amount: 1 },
    { key: 'budget', kind: 'budget' as const, limit: 100, amount },
  ];

  it('reserves, settles once and frees the hold, as reserve and settle by id do', async () => {
    const store = new MemoryLimitStore();
    const first = store.reserveHeld({ reservationId: 'a', counters: counters(40), now: 1_000 });
    expect(first.result).toEqual({ ok: true, remaining: { rpm: 9, parallel: 0, budget: 60 } });
    // The hold is taken: a second request waits for it.
    expect(store.reserveHeld({ reservationId: 'b', counters: counters(1), now: 1_001 }).result).toMatchObject({ ok: false, counter: 'parallel' });
    store.settleHeld(first, { rpm: 1, budget: 15 }, 1_002);
    store.settleHeld(first, { rpm: 1, budget: 99 }, 1_003);
    expect(await store.peek('budget', 'budget', 1_004)).toBe(15);
    expect(await store.peek('parallel', 'concurrent', 1_004)).toBe(0);
    // By id, the store does not know a held reservation.
    await store.release('a', 1_004);
    expect(await store.peek('budget', 'budget', 1_004)).toBe(15);
    const second = store.reserveHeld({ reservationId: 'c', counters: counters(50), now: 1_005 });
    expect(second.result).toMatchObject({ ok: true, remaining: { rpm: 8, budget: 35 } });
    store.releaseHeld(second, 1_006);
    expect(await store.peek('budget', 'budget', 1_006)).toBe(15);
    expect(await store.peek('rpm', 'window', 1_006)).toBe(1);
  });

  it('charges nothing for a refusal, frees an expired reservation’s hold, and corrects its budget when it settles late', async () => {
    const store = new MemoryLimitStore({ reservationTtlMs: 100 });
    const refused = store.reserveHeld({ reservationId: 'a', counters: counters(101), now: 0 });
    expect(refused.result).toMatchObject({ ok: false, counter: 'budget', retryAfterMs: 0 });
    store.releaseHeld(refused, 1);
    expect(await store.peek('rpm', 'window', 1)).toBe(0);
    expect(await store.peek('parallel', 'concurrent', 1)).toBe(0);
    const expiring = store.reserveHeld({ reservationId: 'b', counters: counters(30), now: 10 });
    expect(expiring.result.ok).toBe(true);
    // Past its deadline the hold is free and cannot be renewed; a late settle charges the budget what was used.
    expect(await store.peek('parallel', 'concurrent', 110)).toBe(0);
    expect(await store.peek('budget', 'budget', 110)).toBe(30);
    expect(store.renewHeld(expiring, 110)).toBe(false);
    store.settleHeld(expiring, { budget: 5 }, 111);
    expect(await store.peek('budget', 'budget', 111)).toBe(5);
    expect(await store.peek('parallel', 'concurrent', 111)).toBe(0);
    expect(() => store.settleHeld(expiring, { budget: -1 }, 112)).toThrow(RangeError);
  });

  it('renews a held reservation: its hold outlives the first deadline, until the settle', async () => {
    const store = new MemoryLimitStore({ reservationTtlMs: 100 });
    const long = store.reserveHeld({ reservationId: 'a', counters: counters(30), now: 0 });
    expect(store.renewHeld(long, 60)).toBe(true);
    expect(store.renewHeld(long, 120)).toBe(true);
    expect(await store.peek('parallel', 'concurrent', 219)).toBe(1);
    expect(store.reserveHeld({ reservationId: 'b', counters: counters(1), now: 219 }).result).toMatchObject({ ok: false, counter: 'parallel' });
    store.settleHeld(long, { rpm: 1, budget: 12 }, 219);
    expect(await store.peek('parallel', 'concurrent', 219)).toBe(0);
    expect(await store.peek('budget', 'budget', 219)).toBe(12);
    expect(store.renewHeld(long, 220)).toBe(false);
  });

  it('frees a held reservation’s parallel slot ahead of its settle, which then leaves the slot to the next holder', async () => {
    const store = new MemoryLimitStore({ reservationTtlMs: 100 });
    const ending = store.reserveHeld({ reservationId: 'a', counters: counters(30), now: 0 });
    store.releaseConcurrentHeld(ending, 1);
    expect(await store.peek('parallel', 'concurrent', 1)).toBe(0);
    expect(await store.peek('budget', 'budget', 1)).toBe(30);
    const next = store.reserveHeld({ reservationId: 'b', counters: counters(10), now: 2 });
    expect(next.result.ok).toBe(true);
    // A renewal and the settle of the first take nothing from the second's hold.
    expect(store.renewHeld(ending, 3)).toBe(true);
    store.releaseConcurrentHeld(ending, 3);
    store.settleHeld(ending, { rpm: 1, budget: 20 }, 4);
    expect(await store.peek('parallel', 'concurrent', 4)).toBe(1);
    expect(await store.peek('budget', 'budget', 4)).toBe(30);
    store.settleHeld(next, { rpm: 1, budget: 10 }, 5);
    expect(await store.peek('parallel', 'concurrent', 5)).toBe(0);
  });
});

const redis = await connectRedisForTests();
const runPrefix = `relay-test:limits:${randomUUID()}:`;
let testNumber = 0;

if (redis.url !== undefined) {
  const url = redis.url;
  afterAll(() => deleteKeysUnder(url, runPrefix));

  describeLimitStoreContract('RedisLimitStore', async ({ reservationTtlMs }) => {
    // Each test gets its own prefix, so tests never see each other's counters.
    const keyPrefix = `${runPrefix}${++testNumber}:`;
    return {
      store: new RedisLimitStore({ redis: url, keyPrefix, reservationTtlMs }),
      createReplica: async () => new RedisLimitStore({ redis: url, keyPrefix, reservationTtlMs }),
    };
  });

  describe('RedisLimitStore in Redis', () => {
    it('counts no credit change while it has lost its counters, until they are claimed again', async () => {
      const keyPrefix = `${runPrefix}lost:`;
      const store = new RedisLimitStore({ redis: url, keyPrefix });
      const inspector = new Redis(url);
      try {
        expect(await store.claimCounters()).toBe(true);
        expect(await store.addCredit('wallet', 100, 'before')).toBe(100);
        // As a Redis restarted without its data: the mark and the balance are gone.
        await inspector.del(`${keyPrefix}claimed`, `${keyPrefix}k:wallet`);
        await expect(store.addCredit('wallet', 50, 'in-the-gap')).rejects.toBeInstanceOf(CountersLostError);
        expect(await store.peek('wallet', 'credit', Date.now())).toBe(0);
        expect(await store.claimCounters()).toBe(true);
        await store.setCredit('wallet', 100, { onlyIfAbsent: true });
        expect(await store.addCredit('wallet', 50, 'in-the-gap')).toBe(150);
      } finally {
        inspector.disconnect();
        await store.close();
      }
    });

    it('frees a crashed replica’s holds at the deadline, and lets Redis drop its reservation’s record a day later', async () => {
      const keyPrefix = `${runPrefix}expiry:`;
      const store = new RedisLimitStore({ redis: url, keyPrefix, reservationTtlMs: 200 });
      const inspector = new Redis(url);
      try {
        const now = Date.now();
        expect((await store.reserve({ reservationId: 'crashed', counters: [{ key: 'parallel', kind: 'concurrent', limit: 1, amount: 1 }], now })).ok).toBe(true);
        expect(await inspector.exists(`${keyPrefix}rs:crashed`)).toBe(1);
        const recordTtl = await inspector.pttl(`${keyPrefix}rs:crashed`);
        expect(recordTtl).toBeGreaterThan(expiredReservationKeptMs);
        expect(recordTtl).toBeLessThanOrEqual(expiredReservationKeptMs + 200);
        await new Promise((resolve) => setTimeout(resolve, 300));
        // The slot it held frees at its deadline.
        expect((await store.reserve({ reservationId: 'next', counters: [{ key: 'parallel', kind: 'concurrent', limit: 1, amount: 1 }], now: Date.now() })).ok).toBe(true);
      } finally {
        inspector.disconnect();
        await store.close();
      }
    });

    it('leaves every total in step with its entries when a call of a batch fails part way', async () => {
      const keyPrefix = `${runPrefix}failure:`;
      const store = new RedisLimitStore({ redis: url, keyPrefix });
      const inspector = new Redis(url);
      try {
        const now = Date.now();
        // A key of the wrong type under the prefix: the second reserve's window cannot be read.
        await inspector.set(`${keyPrefix}we:broken`, 'not a sorted set');
        const good = [{ key: 'tpm', kind: 'window', limit: 1_000, amount: 50 }] as const;
        const results = await Promise.allSettled([
          store.reserve({ reservationId: 'a', counters: [...good], now }),
          store.reserve({ reservationId: 'b', counters: [{ key: 'broken', kind: 'window', limit: 10, amount: 1 }], now }),
        ]);
        expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
        // The first reserve ran before the failure: its entry, its record and the window's total agree.
        expect(await inspector.get(`${keyPrefix}wn:tpm`)).toBe('50');
        expect(await store.peek('tpm', 'window', now)).toBe(50);
        // Given back as a caller that saw the failure gives it back: the window is empty again, not below zero.
        await store.release('a', now);
        expect(await store.peek('tpm', 'window', now)).toBe(0);
        expect(await inspector.get(`${keyPrefix}wn:tpm`)).toBe('0');
      } finally {
        inspector.disconnect();
        await store.close();
      }
    });

    it('keeps a counter’s keys alive longer than their entries, renewing their time to live only once it has run down', async () => {
      const keyPrefix = `${runPrefix}keys-ttl:`;
      const store = new RedisLimitStore({ redis: url, keyPrefix, reservationTtlMs: 30_000 });
      const inspector = new Redis(url);
      const ttls = async (...keys: string[]) => Promise.all(keys.map((key) => inspector.pttl(`${keyPrefix}${key}`)));
      try {
        const now = Date.now();
        const counters = [
          { key: 'tpm', kind: 'window', limit: 1_000, amount: 50 },
          { key: 'parallel', kind: 'concurrent', limit: 5, amount: 1 },
        ] as const;
        expect((await store.reserve({ reservationId: 'a', counters: [...counters], now })).ok).toBe(true);
        // A window's entries live 60 s, a hold as long as its reservation (30 s here): the keys at least 30 s more.
        for (const ttl of await ttls('wn:tpm', 'we:tpm')) expect(ttl).toBeGreaterThan(90_000);
        for (const ttl of await ttls('cn:parallel', 'ce:parallel')) expect(ttl).toBeGreaterThan(60_000);
        // Settling the window's only entry to its actual amount keeps the set, and so its time to live.
        await store.settle({ reservationId: 'a', actual: { tpm: 20 }, now });
        expect(await store.peek('tpm', 'window', now)).toBe(20);
        for (const ttl of await ttls('wn:tpm', 'we:tpm')) expect(ttl).toBeGreaterThan(90_000);
        // Time to live that has run down by less than half the grace is left as it is...
        await inspector.pexpire(`${keyPrefix}we:tpm`, 100_000);
        expect((await store.reserve({ reservationId: 'b', counters: [...counters], now })).ok).toBe(true);
        expect((await ttls('we:tpm'))[0]).toBeLessThanOrEqual(100_000);
        // ...and renewed on both keys once it has run down further, or is gone.
        await inspector.pexpire(`${keyPrefix}we:tpm`, 80_000);
        await inspector.persist(`${keyPrefix}cn:parallel`);
        expect((await store.reserve({ reservationId: 'c', counters: [...counters], now })).ok).toBe(true);
        for (const ttl of await ttls('wn:tpm', 'we:tpm')) expect(ttl).toBeGreaterThan(110_000);
        for (const ttl of await ttls('cn:parallel', 'ce:parallel')) expect(ttl).toBeGreaterThan(80_000);
      } finally {
        inspector.disconnect();
        await store.close();
      }
    });

    it('sends the calls of one turn together and gives each caller its own answer', async () => {
      const store = new RedisLimitStore({ redis: url, keyPrefix: `${runPrefix}batch:` });
      try {
        const now = Date.now();
        // 300 reserves in one turn: more than one script run takes (256), each on its own counter and limit.
        const results = await Promise.all(
          Array.from({ length: 300 }, (_, index) => store.reserve({ reservationId: `b${index}`, counters: [{ key: `tpm${index}`, kind: 'window', limit: 1_000 + index, amount: index % 7 === 0 ? 5_000 : 10 }], now })),
        );
        results.forEach((result, index) => {
          if (index % 7 === 0) expect(result).toMatchObject({ ok: false, counter: `tpm${index}`, limit: 1_000 + index });
          else expect(result).toEqual({ ok: true, remaining: { [`tpm${index}`]: 1_000 + index - 10 } });
        });
        await Promise.all(results.map((_, index) => (index % 2 === 0 ? store.release(`b${index}`, now) : store.settle({ reservationId: `b${index}`, actual: { [`tpm${index}`]: 3 }, now }))));
        expect(await store.peek('tpm1', 'window', now)).toBe(3);
        expect(await store.peek('tpm2', 'window', now)).toBe(0);
        expect(await store.peek('tpm299', 'window', now)).toBe(3);
      } finally {
        await store.close();
      }
    });

    it('keeps amounts exact beyond 2^32 micro-units', async () => {
      const store = new RedisLimitStore({ redis: url, keyPrefix: `${runPrefix}large:` });
      try {
        const big = 9_007_199_254_740_000;
        await store.setCredit('wallet', big);
        const now = Date.now();
        expect(await store.reserve({ reservationId: 'a', counters: [{ key: 'wallet', kind: 'credit', limit: 0, amount: 123_456_789_012_345 }], now })).toEqual({
          ok: true,
          remaining: { wallet: big - 123_456_789_012_345 },
        });
        await store.settle({ reservationId: 'a', actual: { wallet: 1 }, now });
        expect(await store.peek('wallet', 'credit', now)).toBe(big - 1);
        // Windows too: an entry's amount is kept as the digits it came in as.
        const tokens = { key: 'tpd', kind: 'window', limit: big, amount: 123_456_789_012_345 } as const;
        expect(await store.reserve({ reservationId: 'w', counters: [tokens], now })).toEqual({ ok: true, remaining: { tpd: big - 123_456_789_012_345 } });
        await store.settle({ reservationId: 'w', actual: { tpd: 98_765_432_109_876 }, now });
        expect(await store.peek('tpd', 'window', now)).toBe(98_765_432_109_876);
        expect(await store.reserve({ reservationId: 'w2', counters: [tokens], now })).toEqual({ ok: true, remaining: { tpd: big - 98_765_432_109_876 - 123_456_789_012_345 } });
        await store.release('w2', now);
        expect(await store.peek('tpd', 'window', now + 60_000)).toBe(0);
      } finally {
        await store.close();
      }
    });
  });
} else if (redis.required) {
  describe('RedisLimitStore', () => {
    it('needs Redis because REQUIRE_SERVICES=1', () => {
      throw new Error(`${redis.unavailableBecause}. Start one, e.g. redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`);
    });
  });
} else {
  console.log(`Skipping the RedisLimitStore contract: ${redis.unavailableBecause} (set REQUIRE_SERVICES=1 to fail instead).`);
  describe.skip('RedisLimitStore (no Redis)', () => {
    it('runs the contract', () => {});
  });
}
