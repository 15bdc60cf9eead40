import { randomUUID } from 'node:crypto';
import type { CounterReservation, LimitStore, SettleRequest } from './limit-store.js';

/** Work owed to the shared store, in the order it arose. */
type Owed =
  | { type: 'settle'; request: SettleRequest }
  | { type: 'release'; reservationId: string; now: number }
  /** Budget spend of settled degraded-mode reservations, written back as a reservation with a fixed id (idempotent on retry). */
  | { type: 'budget'; spendKey: string; key: string; amount: number; expiresAt: number | undefined; now: number; reservationId: string };

type Spend = Extract<Owed, { type: 'budget' }>;

/**
 * What `ResilientLimitStore` owes the shared store once it is reachable again: settles and
 * releases of reservations it made there before the outage, releases of reserves whose reply was
 * lost, and the budget spent by reservations served from memory meanwhile. Window and concurrency
 * usage is not written back: windows slide out within a minute and the memory holds end with their
 * requests. Nor is credit spent from memory: a balance the shared store lost is loaded again from
 * the database, which the ledger has debited already, so a replay could not tell whether to count
 * it; the ledger writes such a debit as a credit change as well, which the shared store counts once
 * under its id whether it kept its data or not (`ReserveResult.inMemory`).
 *
 * Spend is summed per counter until replay takes it, so a long outage costs one entry per counter,
 * not one per request. Bounded: past `maxEntries` the oldest work is dropped (and counted).
 */
export class DegradedBacklog {
  private readonly owed: Owed[] = [];
  /** The open (not yet replayed) spend entry of each counter. */
  private readonly openSpend = new Map<string, Spend>();
  private replaying: Promise<void> = Promise.resolve();
  private droppedCount = 0;

  constructor(private readonly maxEntries = 10_000) {}

  get size(): number {
    return this.owed.length;
  }

  /** Work dropped because the backlog was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /**
   * A settle that could not reach the shared store, kept without what was reserved
   * (`SettleRequest.reserved`): the request's ledger record is written meanwhile, so a store that
   * lost the reservation with its data, and whose counters are loaded again from the database,
   * counts the request there already; charged by the replay too, it would count twice. Kept so, the
   * replay never waits for the counters to be loaded again either (which waits for the recovery
   * that replays it). A store that still holds the reservation settles it as usual.
   */
  addSettle(request: SettleRequest): void {
    this.push({ type: 'settle', request: { reservationId: request.reservationId, actual: request.actual, now: request.now } });
  }

  addRelease(reservationId: string, now: number): void {
    this.push({ type: 'release', reservationId, now });
  }

  /** Records the budget spend of a degraded-mode reservation that just settled. */
  addSpend(counters: readonly CounterReservation[], actual: Record<string, number>, now: number): void {
    for (const counter of counters) {
      if (counter.kind !== 'budget') continue;
      const amount = actual[counter.key] ?? counter.amount;
      if (amount === 0) continue;
      const spendKey = `${counter.kind}\u0000${counter.key}\u0000${counter.expiresAt ?? ''}`;
      const open = this.openSpend.get(spendKey);
      if (open !== undefined) {
        open.amount += amount;
        open.now = Math.max(open.now, now);
        continue;
      }
      const entry: Spend = { type: 'budget', spendKey, key: counter.key, amount, expiresAt: counter.expiresAt, now, reservationId: `reconcile:${randomUUID()}` };
      this.openSpend.set(spendKey, entry);
      this.push(entry);
    }
  }

  /**
   * Applies the backlog to `store` in order, one replay at a time. Rejects at the first failure,
   * leaving that entry and the rest for the next replay.
   */
  replay(store: LimitStore): Promise<void> {
    const run = this.replaying.catch(() => {}).then(() => this.drain(store));
    this.replaying = run;
    return run;
  }

  private async drain(store: LimitStore): Promise<void> {
    for (let entry = this.owed[0]; entry !== undefined; entry = this.owed[0]) {
      await this.apply(store, entry);
      // Remove this very entry: a full backlog may have dropped its head meanwhile.
      const index = this.owed.indexOf(entry);
      if (index >= 0) this.owed.splice(index, 1);
    }
  }

  private async apply(store: LimitStore, entry: Owed): Promise<void> {
    if (entry.type === 'settle') return store.settle(entry.request);
    if (entry.type === 'release') return store.release(entry.reservationId, entry.now);
    // From here on new spend opens a new entry, so a retried replay sends the same amount again.
    this.close(entry);
    // A period that has ended is not charged any more.
    if (entry.expiresAt !== undefined && entry.expiresAt <= entry.now) return;
    const counter: CounterReservation = { key: entry.key, kind: 'budget', limit: Number.MAX_SAFE_INTEGER, amount: entry.amount };
    if (entry.expiresAt !== undefined) counter.expiresAt = entry.expiresAt;
    await store.reserve({ reservationId: entry.reservationId, counters: [counter], now: entry.now });
    await store.settle({ reservationId: entry.reservationId, actual: {}, now: entry.now });
  }

  private push(entry: Owed): void {
    if (this.owed.length >= this.maxEntries) {
      const dropped = this.owed.shift();
      if (dropped !== undefined && dropped.type === 'budget') this.close(dropped);
      this.droppedCount++;
    }
    this.owed.push(entry);
  }

  private close(entry: Spend): void {
    if (this.openSpend.get(entry.spendKey) === entry) this.openSpend.delete(entry.spendKey);
  }
}
