import { describe, expect, it } from 'vitest';
import { ExpiringLedger } from './expiring-ledger.js';

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('ExpiringLedger', () => {
  it('agrees with a plain list under random adds, removals, amount changes and expiry, deadlines in any order', () => {
    const next = random(42);
    const ledger = new ExpiringLedger();
    const plain = new Map<string, { amount: number; deadline: number }>();
    const handles = new Map<string, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const choice = next();
      const id = `id${Math.floor(next() * 300)}`;
      if (choice < 0.5) {
        // Deadlines on a coarse grid, so that many entries share a millisecond (and one entry).
        const entry = { amount: Math.floor(next() * 100), deadline: now + 1 + Math.floor(next() * 20) * 50 };
        // An id that is still live is replaced, as a reservation made again would be.
        const previous = handles.get(id);
        const before = plain.get(id);
        if (previous !== undefined && before !== undefined) ledger.change(previous, before.amount, 0);
        handles.set(id, ledger.add(entry.amount, entry.deadline));
        plain.set(id, entry);
      } else if (choice < 0.65) {
        const handle = handles.get(id);
        const entry = plain.get(id);
        handles.delete(id);
        plain.delete(id);
        expect(handle === undefined || entry === undefined ? false : ledger.change(handle, entry.amount, 0)).toBe(entry !== undefined);
      } else if (choice < 0.8) {
        const amount = Math.floor(next() * 100);
        const handle = handles.get(id);
        const entry = plain.get(id);
        if (handle !== undefined && entry !== undefined) {
          expect(ledger.change(handle, entry.amount, amount)).toBe(true);
          entry.amount = amount;
        }
      } else {
        now += Math.floor(next() * 50);
      }
      ledger.expire(now);
      for (const [key, entry] of plain) {
        if (entry.deadline <= now) {
          plain.delete(key);
          // The ledger has forgotten it too: its handle no longer names anything.
          const handle = handles.get(key);
          if (handle !== undefined) expect(ledger.isLive(handle)).toBe(false);
          handles.delete(key);
        }
      }
      const live = [...plain.values()];
      expect(ledger.total).toBe(live.reduce((sum, entry) => sum + entry.amount, 0));
      if (live.length > 0) expect(ledger.isEmpty).toBe(false);
      if (step % 97 === 0 && live.length > 0) {
        // When would 40 units have left? The plain way: sort by deadline and add up.
        const sorted = live.sort((left, right) => left.deadline - right.deadline);
        let freed = 0;
        let expected: number | undefined;
        for (const entry of sorted) {
          freed += entry.amount;
          if (freed >= 40) {
            expected = entry.deadline - now;
            break;
          }
        }
        expect(ledger.timeUntilFreed(now, 40)).toBe(expected);
      }
    }
    ledger.expire(now + 2_000);
    expect(ledger.isEmpty).toBe(true);
    expect(ledger.total).toBe(0);
  });
});

describe('ExpiringLedger with deadlines in order', () => {
  it('keeps a minute of entries exactly and lets go of them', () => {
    const ledger = new ExpiringLedger();
    const handles: number[] = [];
    // 200 000 one-millisecond-apart entries of a 60 s window: the ring grows, then slides.
    for (let now = 0; now < 200_000; now++) {
      ledger.expire(now);
      handles.push(ledger.add(1, now + 60_000));
      if (now % 3 === 0) ledger.change(handles[now] as number, 1, 2);
      if (now % 5 === 0) ledger.change(handles[now] as number, now % 3 === 0 ? 2 : 1, 0);
    }
    ledger.expire(199_999);
    let expected = 0;
    for (let at = 140_000; at < 200_000; at++) expected += at % 5 === 0 ? 0 : at % 3 === 0 ? 2 : 1;
    expect(ledger.total).toBe(expected);
    // A handle of an expired entry is dead for good, even once the sequence has moved far past it.
    expect(ledger.isLive(handles[0] as number)).toBe(false);
    expect(ledger.change(handles[1] as number, 1, 0)).toBe(false);
    ledger.expire(260_000);
    expect(ledger.isEmpty).toBe(true);
    expect(ledger.total).toBe(0);
    expect(ledger.isLive(handles[199_999] as number)).toBe(false);
  });

  it('keeps the requests of one millisecond in one entry, each share still its own', () => {
    const ledger = new ExpiringLedger();
    const shares = [3, 5, 7].map((amount) => ledger.add(amount, 60_000));
    expect(new Set(shares).size).toBe(1);
    ledger.change(shares[1] as number, 5, 2);
    ledger.change(shares[0] as number, 3, 0);
    expect(ledger.total).toBe(9);
    expect(ledger.timeUntilFreed(0, 9)).toBe(60_000);
    ledger.add(1, 60_001);
    ledger.expire(60_000);
    expect(ledger.total).toBe(1);
    expect(ledger.change(shares[2] as number, 7, 0)).toBe(false);
    expect(ledger.total).toBe(1);
  });

  it('lets released holds go before their deadline once they are the oldest, when asked to', () => {
    const holds = new ExpiringLedger(true);
    const window = new ExpiringLedger();
    // Requests held for 10 minutes at most, each released 3 ms after it began: in flight, never more than 3 once the step is done.
    const handles: number[] = [];
    for (let now = 0; now < 100_000; now++) {
      holds.expire(now);
      window.expire(now);
      handles.push(holds.add(1, now + 600_000));
      window.add(1, now + 600_000);
      if (now >= 3) {
        expect(holds.change(handles[now - 3] as number, 1, 0)).toBe(true);
        window.change(now - 3, 1, 0);
      }
      expect(holds.total).toBe(Math.min(now + 1, 3));
    }
    holds.expire(100_000);
    window.expire(100_000);
    // The released entries have left the holds; the window keeps its entries (a later settle may change them) until the deadline.
    expect(holds.isLive(handles[50_000] as number)).toBe(false);
    expect(holds.isLive(handles[99_999] as number)).toBe(true);
    expect(window.isLive(50_000)).toBe(true);
    for (const handle of handles.slice(-3)) holds.change(handle, 1, 0);
    holds.expire(100_001);
    expect(holds.isEmpty).toBe(true);
    expect(holds.total).toBe(0);
    expect(window.isEmpty).toBe(false);
  });
});
