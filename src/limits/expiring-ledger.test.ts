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
  it('agrees with a plain list under random adds, removals, amount changes and expiry', () => {
    const next = random(42);
    const ledger = new ExpiringLedger();
    const plain = new Map<string, { amount: number; deadline: number }>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const choice = next();
      const id = `id${Math.floor(next() * 300)}`;
      if (choice < 0.5) {
        const entry = { amount: Math.floor(next() * 100), deadline: now + 1 + Math.floor(next() * 1_000) };
        ledger.add(id, entry.amount, entry.deadline);
        plain.set(id, entry);
      } else if (choice < 0.65) {
        expect(ledger.remove(id)).toBe(plain.delete(id));
      } else if (choice < 0.8) {
        const amount = Math.floor(next() * 100);
        ledger.setAmount(id, amount);
        const entry = plain.get(id);
        if (entry !== undefined) entry.amount = amount;
      } else {
        now += Math.floor(next() * 50);
      }
      ledger.expire(now);
      for (const [key, entry] of plain) if (entry.deadline <= now) plain.delete(key);
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
