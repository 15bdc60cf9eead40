import type { CounterReservation, LimitStore } from './limit-store.js';

/** Most budget and credit levels remembered (the active keys); the least recently seen go first. */
const maxRemembered = 100_000;

/**
 * Each replica's share of the limits while the shared store is unreachable (`ResilientLimitStore`'s
 * fail-open policy), chosen so that all replicas together stay within every limit:
 * - windows and concurrency: `floor(limit / replicas)`;
 * - a budget: the share of what was left of it when last seen in the shared store, or of its limit
 *   if never seen;
 * - a credit: the share of its last seen balance, or nothing if never seen.
 */
export class FailOpenShares {
  /** `kind\0key` → remaining budget or credit balance as last seen in the shared store. */
  private readonly levels = new Map<string, number>();
  private seededCredits = new Set<string>();

  constructor(private readonly replicas: number) {
    if (!Number.isSafeInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be a positive integer, got ${replicas}`);
  }

  /** Notes the budget and credit levels a successful shared reservation reported. */
  noteReserved(counters: readonly CounterReservation[], remaining: Record<string, number>): void {
    for (const { kind, key } of counters) {
      const level = remaining[key];
      if ((kind === 'budget' || kind === 'credit') && level !== undefined) this.note(kind, key, level);
    }
  }

  noteCredit(key: string, balance: number): void {
    this.note('credit', key, balance);
  }

  /** The counters with limits cut to this replica's share; puts the credit shares into `store` on first use. */
  async apply(counters: readonly CounterReservation[], store: LimitStore): Promise<CounterReservation[]> {
    const shared: CounterReservation[] = [];
    for (const counter of counters) {
      if (counter.kind === 'credit') {
        if (!this.seededCredits.has(counter.key)) {
          this.seededCredits.add(counter.key);
          await store.setCredit(counter.key, this.share(this.levels.get(`credit\u0000${counter.key}`) ?? 0));
        }
        shared.push(counter);
        continue;
      }
      const seen = counter.kind === 'budget' ? this.levels.get(`budget\u0000${counter.key}`) : undefined;
      shared.push({ ...counter, limit: this.share(Math.min(counter.limit, seen ?? counter.limit)) });
    }
    return shared;
  }

  /** Called when the shared store is back: the next outage starts from a fresh memory store. */
  startOver(): void {
    this.seededCredits = new Set();
  }

  private share(amount: number): number {
    return Math.floor(Math.max(0, amount) / this.replicas);
  }

  private note(kind: 'budget' | 'credit', key: string, level: number): void {
    const levelKey = `${kind}\u0000${key}`;
    // Re-inserting keeps the map in order of last use, so the oldest key is the first to go.
    this.levels.delete(levelKey);
    this.levels.set(levelKey, level);
    if (this.levels.size > maxRemembered) {
      const oldest = this.levels.keys().next().value;
      if (oldest !== undefined) this.levels.delete(oldest);
    }
  }
}
