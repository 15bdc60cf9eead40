import { afterEach, describe, expect, it } from 'vitest';
import type { CounterReservation, LimitStore, ReserveResult } from './limit-store.js';

/** What a backend gives the contract suite for one test. */
export interface LimitStoreUnderTest {
  store: LimitStore;
  /** Another store over the same state, as another replica would have; absent when state is per process. */
  createReplica?: () => Promise<LimitStore>;
  /** Frees what the test made, after the suite has closed the stores. */
  cleanup?: () => Promise<void>;
}

export type LimitStoreFactory = (options: { reservationTtlMs: number }) => Promise<LimitStoreUnderTest>;

const start = 1_700_000_000_000;
const reservationTtlMs = 600_000;
const window = (key: string, limit: number, amount = 1): CounterReservation => ({ key, kind: 'window', limit, amount });
const concurrent = (key: string, limit: number): CounterReservation => ({ key, kind: 'concurrent', limit, amount: 1 });
const budget = (key: string, limit: number, amount: number, expiresAt?: number): CounterReservation =>
  expiresAt === undefined ? { key, kind: 'budget', limit, amount } : { key, kind: 'budget', limit, amount, expiresAt };
const credit = (key: string, amount: number): CounterReservation => ({ key, kind: 'credit', limit: 0, amount });

function refusal(result: ReserveResult): Extract<ReserveResult, { ok: false }> {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return result;
}

/**
 * The behaviour every `LimitStore` must have, run against each implementation
 * (`limit-store.test.ts`). Time is driven through `now`, never the wall clock.
 */
export function describeLimitStoreContract(name: string, factory: LimitStoreFactory): void {
  describe(`LimitStore contract: ${name}`, () => {
    const opened: LimitStore[] = [];
    const cleanups: (() => Promise<void>)[] = [];

    async function open(options = { reservationTtlMs }): Promise<LimitStoreUnderTest> {
      const underTest = await factory(options);
      opened.push(underTest.store);
      if (underTest.cleanup !== undefined) cleanups.push(underTest.cleanup);
      return underTest;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    it('refuses the 11th request of rpm 10, says exactly when to retry, and admits again once the window slides', async () => {
      const { store } = await open();
      for (let index = 0; index < 10; index++) {
        const result = await store.reserve({ reservationId: `r${index}`, counters: [window('rpm', 10)], now: start + index * 1_000 });
        expect(result).toEqual({ ok: true, remaining: { rpm: 9 - index } });
      }
      const refused = refusal(await store.reserve({ reservationId: 'r10', counters: [window('rpm', 10)], now: start + 10_000 }));
      expect(refused).toEqual({ ok: false, counter: 'rpm', kind: 'window', limit: 10, remaining: 0, retryAfterMs: 50_000 });
      expect(await store.peek('rpm', 'window', start + 10_000)).toBe(10);
      // One millisecond early is still too early; at 60 s the first request has left the window.
      expect((await store.reserve({ reservationId: 'r10', counters: [window('rpm', 10)], now: start + 59_999 })).ok).toBe(false);
      expect(await store.reserve({ reservationId: 'r10', counters: [window('rpm', 10)], now: start + 60_000 })).toEqual({ ok: true, remaining: { rpm: 0 } });
      expect(refusal(await store.reserve({ reservationId: 'r11', counters: [window('rpm', 10)], now: start + 60_000 })).retryAfterMs).toBe(1_000);
    });

    it('counts token amounts in a window and settles an estimate down to the actual count', async () => {
      const { store } = await open();
      expect(await store.reserve({ reservationId: 'a', counters: [window('tpm', 1_000, 600)], now: start })).toEqual({ ok: true, remaining: { tpm: 400 } });
      const refused = refusal(await store.reserve({ reservationId: 'b', counters: [window('tpm', 1_000, 500)], now: start + 5_000 }));
      expect(refused).toMatchObject({ counter: 'tpm', kind: 'window', limit: 1_000, remaining: 400, retryAfterMs: 55_000 });
      await store.settle({ reservationId: 'a', actual: { tpm: 200 }, now: start + 6_000 });
      expect(await store.peek('tpm', 'window', start + 6_000)).toBe(200);
      expect(await store.reserve({ reservationId: 'b', counters: [window('tpm', 1_000, 500)], now: start + 7_000 })).toEqual({ ok: true, remaining: { tpm: 300 } });
      // The settled entry keeps its place in time: it leaves the window 60 s after it was reserved.
      expect(await store.peek('tpm', 'window', start + 59_999)).toBe(700);
      expect(await store.peek('tpm', 'window', start + 60_000)).toBe(500);
      // An amount above the limit itself can never pass: waiting will not help.
      expect(refusal(await store.reserve({ reservationId: 'c', counters: [window('tpm', 1_000, 1_001)], now: start + 7_000 })).retryAfterMs).toBe(0);
    });

    it('holds a concurrent slot until settle or release', async () => {
      const { store } = await open();
      for (const id of ['a', 'b']) expect((await store.reserve({ reservationId: id, counters: [concurrent('parallel', 2)], now: start })).ok).toBe(true);
      const refused = refusal(await store.reserve({ reservationId: 'c', counters: [concurrent('parallel', 2)], now: start }));
      expect(refused).toMatchObject({ counter: 'parallel', kind: 'concurrent', limit: 2, remaining: 0 });
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      // Settling releases a concurrent slot whatever actual amount is given.
      await store.settle({ reservationId: 'a', actual: { parallel: 1 }, now: start + 1 });
      expect(await store.peek('parallel', 'concurrent', start + 1)).toBe(1);
      expect((await store.reserve({ reservationId: 'c', counters: [concurrent('parallel', 2)], now: start + 1 })).ok).toBe(true);
      await store.release('b', start + 2);
      expect(await store.peek('parallel', 'concurrent', start + 2)).toBe(1);
      expect((await store.reserve({ reservationId: 'd', counters: [concurrent('parallel', 2)], now: start + 2 })).ok).toBe(true);
    });

    it('keeps a budget until its period ends and settles reservations to the actual amount', async () => {
      // Reservations outlive the period here, so the late settle below is judged by the period alone.
      const { store } = await open({ reservationTtlMs: 86_400_000 });
      const endOfDay = start + 3_600_000;
      expect(await store.reserve({ reservationId: 'a', counters: [budget('day', 100, 100, endOfDay)], now: start })).toEqual({ ok: true, remaining: { day: 0 } });
      const refused = refusal(await store.reserve({ reservationId: 'b', counters: [budget('day', 100, 1, endOfDay)], now: start + 1_000 }));
      expect(refused).toEqual({ ok: false, counter: 'day', kind: 'budget', limit: 100, remaining: 0, retryAfterMs: 3_599_000 });
      await store.settle({ reservationId: 'a', actual: { day: 30 }, now: start + 2_000 });
      expect(await store.peek('day', 'budget', start + 2_000)).toBe(30);
      expect(await store.reserve({ reservationId: 'b', counters: [budget('day', 100, 70, endOfDay)], now: start + 3_000 })).toEqual({ ok: true, remaining: { day: 0 } });
      expect((await store.reserve({ reservationId: 'c', counters: [budget('day', 100, 1, endOfDay)], now: start + 3_000 })).ok).toBe(false);
      // The next period starts from zero, and a late settle of the old period leaves it alone.
      const nextDay = endOfDay + 3_600_000;
      expect(await store.peek('day', 'budget', endOfDay)).toBe(0);
      expect(await store.reserve({ reservationId: 'd', counters: [budget('day', 100, 40, nextDay)], now: endOfDay })).toEqual({ ok: true, remaining: { day: 60 } });
      await store.settle({ reservationId: 'b', actual: { day: 0 }, now: endOfDay + 1 });
      expect(await store.peek('day', 'budget', endOfDay + 1)).toBe(40);
      // A budget without an end never resets; a refusal then says that waiting will not help.
      expect((await store.reserve({ reservationId: 'e', counters: [budget('total', 5, 5)], now: start })).ok).toBe(true);
      expect(refusal(await store.reserve({ reservationId: 'f', counters: [budget('total', 5, 1)], now: start + 1 })).retryAfterMs).toBe(0);
    });

    it('draws a credit down on reserve and refunds the difference on settle', async () => {
      const { store } = await open();
      expect(await store.peek('wallet', 'credit', start)).toBe(0);
      expect(refusal(await store.reserve({ reservationId: 'x', counters: [credit('wallet', 1)], now: start }))).toMatchObject({ counter: 'wallet', kind: 'credit', remaining: 0, retryAfterMs: 0 });
      await store.setCredit('wallet', 1_000);
      expect(await store.reserve({ reservationId: 'a', counters: [credit('wallet', 300)], now: start })).toEqual({ ok: true, remaining: { wallet: 700 } });
      expect(await store.peek('wallet', 'credit', start)).toBe(700);
      await store.settle({ reservationId: 'a', actual: { wallet: 100 }, now: start + 1 });
      expect(await store.peek('wallet', 'credit', start + 1)).toBe(900);
      expect(refusal(await store.reserve({ reservationId: 'b', counters: [credit('wallet', 1_000)], now: start + 1 }))).toMatchObject({ limit: 900, remaining: 900 });
      expect(await store.addCredit('wallet', 100)).toBe(1_000);
      expect((await store.reserve({ reservationId: 'b', counters: [credit('wallet', 1_000)], now: start + 2 })).ok).toBe(true);
      // Actual use above the reservation goes into debt rather than being lost.
      await store.settle({ reservationId: 'b', actual: { wallet: 1_200 }, now: start + 3 });
      expect(await store.peek('wallet', 'credit', start + 3)).toBe(-200);
      expect(await store.addCredit('wallet', -50)).toBe(-250);
    });

    it('reserves all counters or none', async () => {
      const { store } = await open();
      await store.setCredit('wallet', 1_000);
      const counters = [window('rpm', 10), concurrent('parallel', 5), credit('wallet', 100), budget('day', 50, 60, start + 86_400_000)];
      const refused = refusal(await store.reserve({ reservationId: 'a', counters, now: start }));
      expect(refused).toMatchObject({ counter: 'day', kind: 'budget', limit: 50, remaining: 50 });
      expect(await store.peek('rpm', 'window', start)).toBe(0);
      expect(await store.peek('parallel', 'concurrent', start)).toBe(0);
      expect(await store.peek('wallet', 'credit', start)).toBe(1_000);
      expect(await store.peek('day', 'budget', start)).toBe(0);
      const fitting = [window('rpm', 10), concurrent('parallel', 5), credit('wallet', 100), budget('day', 50, 40, start + 86_400_000)];
      expect(await store.reserve({ reservationId: 'a', counters: fitting, now: start })).toEqual({ ok: true, remaining: { rpm: 9, parallel: 4, wallet: 900, day: 10 } });
    });

    it('admits exactly 10 of 200 concurrent reservations against a budget that covers 10', async () => {
      const { store } = await open();
      await store.setCredit('wallet', 10_000);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) => store.reserve({ reservationId: `c${index}`, counters: [budget('total', 10, 1)], now: start })),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(10);
      const drawn = await Promise.all(
        Array.from({ length: 200 }, (_, index) => store.reserve({ reservationId: `w${index}`, counters: [credit('wallet', 1_000)], now: start })),
      );
      expect(drawn.filter((result) => result.ok)).toHaveLength(10);
      expect(await store.peek('total', 'budget', start)).toBe(10);
      expect(await store.peek('wallet', 'credit', start)).toBe(0);
    });

    it('counts the reservations made together against shared counters exactly, across milliseconds', async () => {
      const { store } = await open();
      const ends = start + 86_400_000;
      const counters = [window('rpm', 10), window('tpm', 1_000, 150), concurrent('parallel', 8), budget('day', 1_000, 100, ends)];
      // 30 reserves in one go over 8 milliseconds: the token window admits the first 6, in order.
      const results = await Promise.all(Array.from({ length: 30 }, (_, index) => store.reserve({ reservationId: `t${index}`, counters, now: start + Math.floor(index / 4) })));
      expect(results.map((result) => result.ok)).toEqual(Array.from({ length: 30 }, (_, index) => index < 6));
      expect(results[5]).toEqual({ ok: true, remaining: { rpm: 4, tpm: 100, parallel: 2, day: 400 } });
      expect(refusal(results[6]!)).toMatchObject({ counter: 'tpm', remaining: 100 });
      const later = start + 10;
      await Promise.all(Array.from({ length: 6 }, (_, index) => store.settle({ reservationId: `t${index}`, actual: { tpm: 50, day: 40 }, now: later })));
      expect([await store.peek('rpm', 'window', later), await store.peek('tpm', 'window', later), await store.peek('parallel', 'concurrent', later), await store.peek('day', 'budget', later)]).toEqual([6, 300, 0, 240]);
      // Together again: now the request window admits 4 of 6.
      const again = await Promise.all(Array.from({ length: 6 }, (_, index) => store.reserve({ reservationId: `u${index}`, counters, now: later + (index % 2) })));
      expect(again.map((result) => result.ok)).toEqual([true, true, true, true, false, false]);
      expect(refusal(again[4]!)).toMatchObject({ counter: 'rpm', remaining: 0 });
      expect(await store.peek('day', 'budget', later + 1)).toBe(640);
    });

    it('counts a settle or release made before a reserve first, even when nobody waited for it', async () => {
      const { store } = await open();
      const counters = [concurrent('parallel', 1), window('tpm', 100, 60)];
      expect((await store.reserve({ reservationId: 'a', counters, now: start })).ok).toBe(true);
      // The request ends (its settle is not awaited, as the relay does not wait for it) and the next one comes.
      const settled = store.settle({ reservationId: 'a', actual: { tpm: 20 }, now: start + 1 });
      const next = await store.reserve({ reservationId: 'b', counters, now: start + 1 });
      await settled;
      expect(next).toEqual({ ok: true, remaining: { parallel: 0, tpm: 20 } });
      const released = store.release('b', start + 2);
      expect((await store.reserve({ reservationId: 'c', counters: [concurrent('parallel', 1)], now: start + 2 })).ok).toBe(true);
      await released;
    });

    it('starts a budget’s new period afresh when a settle of the old one comes with the new period’s first reserve', async () => {
      const { store } = await open();
      expect((await store.reserve({ reservationId: 'a', counters: [budget('day', 100, 60, start + 1_000)], now: start })).ok).toBe(true);
      const settled = store.settle({ reservationId: 'a', actual: { day: 20 }, now: start + 999 });
      const next = await store.reserve({ reservationId: 'b', counters: [budget('day', 100, 50, start + 2_000)], now: start + 1_000 });
      await settled;
      expect(next).toEqual({ ok: true, remaining: { day: 50 } });
      expect(await store.peek('day', 'budget', start + 1_000)).toBe(50);
    });

    it('expires window entries at each reservation’s own time when reservations come together', async () => {
      const { store } = await open();
      const first = await Promise.all([0, 1].map((index) => store.reserve({ reservationId: `a${index}`, counters: [window('w', 2)], now: start })));
      expect(first.every((result) => result.ok)).toBe(true);
      const times = [start + 59_999, start + 60_000, start + 60_000, start + 60_000];
      const results = await Promise.all(times.map((now, index) => store.reserve({ reservationId: `b${index}`, counters: [window('w', 2)], now })));
      expect(results.map((result) => result.ok)).toEqual([false, true, true, false]);
      expect(refusal(results[0]!)).toMatchObject({ retryAfterMs: 1 });
      expect(await store.peek('w', 'window', start + 60_000)).toBe(2);
    });

    it('admits at most 10 of 200 reservations split across two replicas', async (context) => {
      const { store, createReplica } = await open();
      if (createReplica === undefined) return context.skip();
      const replica = await createReplica();
      opened.push(replica);
      const replicas = [store, replica];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          (replicas[index % 2] as LimitStore).reserve({ reservationId: `c${index}`, counters: [budget('total', 10, 1), concurrent('parallel', 50)], now: start }),
        ),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(10);
      expect(await replica.peek('total', 'budget', start)).toBe(10);
      expect(await store.peek('parallel', 'concurrent', start)).toBe(10);
    });

    it('gives all capacity back on release', async () => {
      const { store } = await open();
      await store.setCredit('wallet', 500);
      const counters = [window('rpm', 1), concurrent('parallel', 1), budget('day', 100, 100, start + 86_400_000), credit('wallet', 500)];
      expect((await store.reserve({ reservationId: 'a', counters, now: start })).ok).toBe(true);
      expect((await store.reserve({ reservationId: 'b', counters, now: start + 1 })).ok).toBe(false);
      await store.release('a', start + 2);
      expect(await store.peek('rpm', 'window', start + 2)).toBe(0);
      expect(await store.peek('parallel', 'concurrent', start + 2)).toBe(0);
      expect(await store.peek('day', 'budget', start + 2)).toBe(0);
      expect(await store.peek('wallet', 'credit', start + 2)).toBe(500);
      expect((await store.reserve({ reservationId: 'b', counters, now: start + 3 })).ok).toBe(true);
    });

    it('counts a credit change once per id, and opens a balance only once', async () => {
      const { store } = await open();
      await store.claimCounters();
      await store.setCredit('wallet', 1_000, { onlyIfAbsent: true });
      expect(await store.reserve({ reservationId: 'spent', counters: [credit('wallet', 400)], now: start })).toMatchObject({ ok: true });
      // A repeated (or late) opening never undoes what was drawn since.
      await store.setCredit('wallet', 1_000, { onlyIfAbsent: true });
      expect(await store.peek('wallet', 'credit', start)).toBe(600);
      expect(await store.addCredit('wallet', 250, 'top-up-1')).toBe(850);
      expect(await store.addCredit('wallet', 250, 'top-up-1')).toBe(850);
      expect(await store.addCredit('wallet', 250, 'top-up-2')).toBe(1_100);
      expect(await store.addCredit('wallet', 5)).toBe(1_105);
      expect(await store.addCredit('wallet', 5)).toBe(1_110);
    });

    it('is claimed by exactly one of the replicas that claim its counters', async () => {
      const { store, createReplica } = await open();
      const replica = createReplica === undefined ? undefined : await createReplica();
      if (replica !== undefined) opened.push(replica);
      expect(await store.countersHeld()).toBe(false);
      const claims = await Promise.all([store.claimCounters(), ...(replica === undefined ? [] : [replica.claimCounters()])]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.claimCounters()).toBe(false);
      expect(await store.countersHeld()).toBe(true);
      if (replica !== undefined) expect(await replica.countersHeld()).toBe(true);
    });

    it('treats a repeated reserve, settle or release as one', async () => {
      const { store } = await open();
      await store.setCredit('wallet', 1_000);
      const counters = [credit('wallet', 400), window('rpm', 10)];
      const first = await store.reserve({ reservationId: 'a', counters, now: start });
      expect(await store.reserve({ reservationId: 'a', counters, now: start + 1 })).toEqual(first);
      expect(await store.peek('wallet', 'credit', start + 1)).toBe(600);
      expect(await store.peek('rpm', 'window', start + 1)).toBe(1);
      await store.settle({ reservationId: 'a', actual: { wallet: 100 }, now: start + 2 });
      await store.settle({ reservationId: 'a', actual: { wallet: 100 }, now: start + 3 });
      await store.release('a', start + 4);
      expect(await store.peek('wallet', 'credit', start + 4)).toBe(900);
      expect(await store.peek('rpm', 'window', start + 4)).toBe(1);
      // Unknown ids are no-ops.
      await store.settle({ reservationId: 'never-made', actual: {}, now: start });
      await store.release('never-made', start);
    });

    it('expires a reservation nobody renewed: its concurrent slot frees, its budget stays charged', async () => {
      const { store } = await open({ reservationTtlMs: 1_000 });
      const counters = [concurrent('parallel', 1), budget('total', 10, 4)];
      expect((await store.reserve({ reservationId: 'lost', counters, now: start })).ok).toBe(true);
      expect(refusal(await store.reserve({ reservationId: 'next', counters, now: start + 999 })).counter).toBe('parallel');
      expect(await store.peek('parallel', 'concurrent', start + 1_000)).toBe(0);
      // Too late to renew: it has expired.
      expect(await store.renew('lost', start + 1_000)).toBe(false);
      expect(await store.reserve({ reservationId: 'next', counters, now: start + 1_000 })).toEqual({ ok: true, remaining: { parallel: 0, total: 2 } });
      expect(await store.peek('total', 'budget', start + 1_000)).toBe(8);
    });

    it('renews a live reservation: its concurrent hold and its budget outlive the first lifetime, and its settle corrects them', async () => {
      const underTest = await open({ reservationTtlMs: 1_000 });
      const { store } = underTest;
      // Renewed by another replica when the state is shared: any replica may renew.
      const renewer = underTest.createReplica === undefined ? store : await underTest.createReplica();
      if (renewer !== store) opened.push(renewer);
      await store.setCredit('wallet', 100);
      const counters = [concurrent('parallel', 1), budget('total', 10, 6), credit('wallet', 6)];
      expect((await store.reserve({ reservationId: 'long', counters, now: start })).ok).toBe(true);
      expect(await renewer.renew('long', start + 500)).toBe(true);
      // Past its first deadline the slot is still held, until the renewed one.
      expect(await store.peek('parallel', 'concurrent', start + 1_200)).toBe(1);
      expect(refusal(await store.reserve({ reservationId: 'second', counters: [concurrent('parallel', 1)], now: start + 1_200 })).counter).toBe('parallel');
      expect(await renewer.renew('long', start + 1_400)).toBe(true);
      expect(refusal(await store.reserve({ reservationId: 'second', counters: [concurrent('parallel', 1)], now: start + 2_300 })).counter).toBe('parallel');
      // The settle, well past the first deadline, frees the slot and charges what was used.
      await store.settle({ reservationId: 'long', actual: { total: 2, wallet: 2 }, now: start + 2_300 });
      expect(await store.peek('parallel', 'concurrent', start + 2_300)).toBe(0);
      expect(await store.peek('total', 'budget', start + 2_300)).toBe(2);
      expect(await store.peek('wallet', 'credit', start + 2_300)).toBe(98);
      // Finished: nothing left to renew, and the slot is free.
      expect(await renewer.renew('long', start + 2_301)).toBe(false);
      expect(await store.renew('never-made', start + 2_301)).toBe(false);
      expect((await store.reserve({ reservationId: 'second', counters: [concurrent('parallel', 1)], now: start + 2_301 })).ok).toBe(true);
      // An unrenewed reservation expires one lifetime after its last renewal.
      expect(await store.renew('second', start + 2_800)).toBe(true);
      expect(await store.peek('parallel', 'concurrent', start + 3_799)).toBe(1);
      expect(await store.peek('parallel', 'concurrent', start + 3_800)).toBe(0);
    });

    it('corrects the budget and credit of an expired reservation once when it settles late, and frees nothing else', async () => {
      const { store } = await open({ reservationTtlMs: 1_000 });
      await store.setCredit('wallet', 100);
      const counters = [window('tpm', 1_000, 50), concurrent('parallel', 1), budget('total', 10, 6), credit('wallet', 6)];
      expect((await store.reserve({ reservationId: 'late', counters, now: start })).ok).toBe(true);
      expect(await store.reserve({ reservationId: 'next', counters: [concurrent('parallel', 1), budget('total', 10, 3)], now: start + 1_000 })).toEqual({
        ok: true,
        remaining: { parallel: 0, total: 1 },
      });
      // The late settle gives back what was reserved beyond what was used, and leaves `next`'s slot alone.
      await store.settle({ reservationId: 'late', actual: { tpm: 20, total: 2, wallet: 2 }, now: start + 1_001 });
      expect(await store.peek('parallel', 'concurrent', start + 1_001)).toBe(1);
      expect(await store.peek('total', 'budget', start + 1_001)).toBe(5);
      expect(await store.peek('wallet', 'credit', start + 1_001)).toBe(98);
      expect(await store.peek('tpm', 'window', start + 1_001)).toBe(20);
      // Once only.
      await store.settle({ reservationId: 'late', actual: { total: 0, wallet: 0 }, now: start + 1_002 });
      await store.release('late', start + 1_003);
      expect(await store.peek('total', 'budget', start + 1_003)).toBe(5);
      expect(await store.peek('wallet', 'credit', start + 1_003)).toBe(98);
      // A late release gives the whole reservation back (its request used nothing).
      expect((await store.reserve({ reservationId: 'failed', counters: [budget('total', 10, 4), credit('wallet', 4)], now: start + 1_100 })).ok).toBe(true);
      await store.release('failed', start + 2_200);
      expect(await store.peek('total', 'budget', start + 2_200)).toBe(5);
      expect(await store.peek('wallet', 'credit', start + 2_200)).toBe(98);
      // A day after it expired, the store has forgotten it: its reserved amounts stay.
      expect((await store.reserve({ reservationId: 'forgotten', counters: [budget('total', 10, 4), credit('wallet', 4)], now: start + 2_300 })).ok).toBe(true);
      await store.settle({ reservationId: 'forgotten', actual: { total: 0, wallet: 0 }, now: start + 3_300 + 86_400_000 });
      expect(await store.peek('total', 'budget', start + 3_300 + 86_400_000)).toBe(9);
      expect(await store.peek('wallet', 'credit', start + 3_300 + 86_400_000)).toBe(94);
    });

    it('rejects malformed reservations instead of treating them as unlimited', async () => {
      const { store } = await open();
      await expect(store.reserve({ reservationId: 'a', counters: [window('rpm', 10), window('rpm', 10)], now: start })).rejects.toThrow(/twice/);
      await expect(store.reserve({ reservationId: 'a', counters: [window('rpm', 10, -1)], now: start })).rejects.toThrow(RangeError);
      await expect(store.reserve({ reservationId: 'a', counters: [window('rpm', Number.NaN)], now: start })).rejects.toThrow(RangeError);
      await expect(store.reserve({ reservationId: 'a', counters: [budget('day', 10, 1, start - 1)], now: start })).rejects.toThrow(/expiresAt/);
      await expect(store.settle({ reservationId: 'a', actual: { rpm: 1.5 }, now: start })).rejects.toThrow(RangeError);
      expect(await store.reserve({ reservationId: 'a', counters: [], now: start })).toEqual({ ok: true, remaining: {} });
    });
  });
}
