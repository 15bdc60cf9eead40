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
        const entry = { amount: Math.floor(next() * 100), deadline: now + 1 + Math.floor(next() * 1_000) };
        // An id that is still live is replaced, as a reservation made again would be.
        const previous = handles.get(id);
        if (previous !== undefined) ledger.remove(previous);
        handles.set(id, ledger.add(entry.amount, entry.deadline));
        plain.set(id, entry);
      } else if (choice < 0.65) {
        const handle = handles.get(id);
        handles.delete(id);
        expect(handle === undefined ? false : ledger.remove(handle)).toBe(plain.delete(id));
      } else if (choice < 0.8) {
        const amount = Math.floor(next() * 100);
        const handle = handles.get(id);
        if (handle !== undefined) ledger.setAmount(handle, amount);
        const entry = plain.get(id);
        if (entry !== undefined) entry.amount = amount;
      } else {
        now += Math.floor(next() * 50);
      }
      ledger.expire(now);
      for (const [key, entry] of plain) {
        if (entry.deadline <= now) {
          plain.delete(key);
          // The ledger has forgotten it too: its handle no longer names anything.
          const handle = handles.get(key);
          if (handle !== undefined) expect(ledger.amountOf(handle)).toBeUndefined();
          handles.delete(key);
        }
      }
      const live = [...plain.values()];
      expect(ledger.total).toBe(live.reduce((sum, entry) => sum + entry.amount, 0));
      expect(ledger.isEmpty).toBe(live.length === 0);
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
      if (now % 3 === 0) ledger.setAmount(handles[now] as number, 2);
      if (now % 5 === 0) ledger.remove(handles[now] as number);
    }
    ledger.expire(199_999);
    let expected = 0;
    for (let at = 140_000; at < 200_000; at++) expected += at % 5 === 0 ? 0 : at % 3 === 0 ? 2 : 1;
    expect(ledger.total).toBe(expected);
    // A handle of an expired entry is dead for good, even once the sequence has moved far past it.
    expect(ledger.amountOf(handles[0] as number)).toBeUndefined();
    expect(ledger.remove(handles[1] as number)).toBe(false);
    ledger.expire(260_000);
    expect(ledger.isEmpty).toBe(true);
    expect(ledger.total).toBe(0);
    expect(ledger.amountOf(handles[199_999] as number)).toBeUndefined();
  });
});
