import { ExpiringLedger, type EntryHandle } from './expiring-ledger.js';
import {
  checkCount,
  checkSignedAmount,
  checkTime,
  concurrentRetryHintMs,
  defaultReservationTtlMs,
  expiredReservationKeptMs,
  validateReserveRequest,
  validateSettleAmounts,
  validateSettleRequest,
  windowMs,
  type CounterKind,
  type CounterReservation,
  type HeldReservation,
  type LimitStore,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
} from './limit-store.js';

export interface MemoryLimitStoreOptions {
  /** How long a reservation lives without renewal, settle or release. Default 10 minutes. */
  reservationTtlMs?: number;
}

interface Budget {
  used: number;
  /** End of the period, epoch ms; undefined = never. */
  expiresAt: number | undefined;
}

interface HeldCounter {
  key: string;
  kind: CounterKind;
  amount: number;
  /** For budgets: the period the amount was charged to, to leave a later period alone. */
  budgetExpiresAt: number | undefined;
  /**
   * For windows and concurrency counters: the counter's ledger and the reservation's entry in it
   * (a renewal moves a concurrency hold to a new entry). The ledger itself is kept, not looked up by
   * key again: once a counter has been swept as idle, a new ledger for the same key may hand out the
   * same handle to another reservation.
   */
  ledger: ExpiringLedger | undefined;
  entry: EntryHandle | undefined;
}

/** What a reservation holds (nothing, when it was refused), until it is settled, released or expires. */
class Reservation implements HeldReservation {
  /** Settled or released: a second call changes nothing. */
  done = false;

  constructor(
    /** When it expires unless renewed. */
    public deadline: number,
    readonly counters: readonly HeldCounter[],
    readonly result: ReserveResult,
  ) {}
}

/** Sweep idle counters once per this many reservations, so memory follows the active keys. */
const sweepEvery = 1_000;

/**
 * Limits for one process. Exact under concurrent async calls because each operation runs to the
 * end without awaiting: JavaScript's event loop makes check-then-apply atomic here. Semantics are
 * those of `LimitStore`; `RedisLimitStore` implements the same ones for many replicas.
 */
export class MemoryLimitStore implements LimitStore {
  readonly reservationTtlMs: number;
  private readonly windows = new Map<string, ExpiringLedger>();
  private readonly holds = new Map<string, ExpiringLedger>();
  private readonly budgets = new Map<string, Budget>();
  private readonly credits = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  private reservationsSinceSweep = 0;
  private claimed = false;
  /** The credit changes already counted, by id (`addCredit`). */
  private readonly creditChanges = new Set<string>();

  constructor(options: MemoryLimitStoreOptions = {}) {
    this.reservationTtlMs = options.reservationTtlMs ?? defaultReservationTtlMs;
    checkCount(this.reservationTtlMs, 'reservationTtlMs');
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    validateReserveRequest(request);
    const { now, reservationId } = request;
    if (request.counters.length === 0) return { ok: true, remaining: {} };
    this.sweep(now);
    const existing = this.liveReservation(reservationId, now);
    if (existing !== undefined) return { ok: true, remaining: { ...(existing.result as ReserveResult & { ok: true }).remaining } };
    const reservation = this.take(request.counters, now, request.restored === true);
    if (reservation.result.ok) this.reservations.set(reservationId, reservation);
    return reservation.result;
  }

  reserveHeld(request: ReserveRequest): HeldReservation {
    validateReserveRequest(request);
    const { now } = request;
    if (request.counters.length === 0) return new Reservation(now, [], { ok: true, remaining: {} });
    this.sweep(now);
    return this.take(request.counters, now, request.restored === true);
  }

  async settle(request: SettleRequest): Promise<void> {
    validateSettleRequest(request);
    this.finish(this.forget(request.reservationId), request.now, request.actual);
  }

  settleHeld(held: HeldReservation, actual: Record<string, number>, now: number): void {
    validateSettleAmounts(actual, now);
    this.finish(held as Reservation, now, actual);
  }

  async release(reservationId: string, now: number): Promise<void> {
    checkTime(now, 'now');
    this.finish(this.forget(reservationId), now, undefined);
  }

  releaseHeld(held: HeldReservation, now: number): void {
    checkTime(now, 'now');
    this.finish(held as Reservation, now, undefined);
  }

  releaseConcurrentHeld(held: HeldReservation, now: number): void {
    checkTime(now, 'now');
    const reservation = held as Reservation;
    if (reservation.done) return;
    for (const counter of reservation.counters) {
      if (counter.kind !== 'concurrent' || counter.amount === 0) continue;
      counter.ledger?.change(counter.entry as EntryHandle, counter.amount, 0);
      // Holds nothing from now on: its settle, or a renewal meanwhile, leaves the counter alone.
      counter.amount = 0;
    }
  }

  async renew(reservationId: string, now: number): Promise<boolean> {
    checkTime(now, 'now');
    const reservation = this.reservations.get(reservationId);
    if (reservation === undefined || !this.extend(reservation, now)) return false;
    // To the end of the map, which stays in deadline order (`sweep`).
    this.reservations.delete(reservationId);
    this.reservations.set(reservationId, reservation);
    return true;
  }

  renewHeld(held: HeldReservation, now: number): boolean {
    checkTime(now, 'now');
    return this.extend(held as Reservation, now);
  }

  /** Moves a live reservation's deadline, and its concurrency holds with it, to `now` + its lifetime. */
  private extend(reservation: Reservation, now: number): boolean {
    if (reservation.done || reservation.deadline <= now || reservation.counters.length === 0) return false;
    reservation.deadline = now + this.reservationTtlMs;
    for (const counter of reservation.counters) {
      if (counter.kind !== 'concurrent' || counter.amount === 0) continue;
      // The hold leaves its entry (which then counts nothing) for one that ends at the new deadline.
      const ledger = counter.ledger as ExpiringLedger;
      ledger.change(counter.entry as EntryHandle, counter.amount, 0);
      counter.entry = ledger.add(counter.amount, reservation.deadline);
    }
    return true;
  }

  /** Checks every counter, then charges them all; a refusal charges nothing. */
  private take(counters: readonly CounterReservation[], now: number, restored: boolean): Reservation {
    const remaining: Record<string, number> = {};
    for (const counter of counters) {
      const { key, kind, limit, amount } = counter;
      if (kind === 'credit') {
        const balance = this.credits.get(key) ?? 0;
        if (balance < amount && !restored) return new Reservation(now, [], { ok: false, counter: key, kind, limit: balance, remaining: balance, retryAfterMs: 0 });
        remaining[key] = balance - amount;
        continue;
      }
      const used = this.usage(key, kind, now);
      if (used + amount <= limit || restored) {
        remaining[key] = limit - used - amount;
        continue;
      }
      let retryAfterMs = 0;
      if (amount <= limit) {
        if (kind === 'window') retryAfterMs = this.windows.get(key)?.timeUntilFreed(now, used + amount - limit) ?? windowMs;
        else if (kind === 'concurrent') retryAfterMs = concurrentRetryHintMs;
        else {
          // A budget that refuses exists (an absent one has used 0 and refuses only amount > limit).
          const endsAt = this.budgets.get(key)?.expiresAt;
          retryAfterMs = endsAt === undefined ? 0 : endsAt - now;
        }
      }
      return new Reservation(now, [], { ok: false, counter: key, kind, limit, remaining: limit - used, retryAfterMs });
    }

    // Every counter agreed: charge them all.
    const held: HeldCounter[] = [];
    const deadline = now + this.reservationTtlMs;
    for (const { key, kind, amount, expiresAt } of counters) {
      let budgetExpiresAt: number | undefined;
      let ledger: ExpiringLedger | undefined;
      let entry: EntryHandle | undefined;
      if (kind === 'window') {
        ledger = ledgerOf(this.windows, key);
        entry = ledger.add(amount, now + windowMs);
      } else if (kind === 'concurrent') {
        ledger = ledgerOf(this.holds, key, true);
        entry = ledger.add(amount, deadline);
      } else if (kind === 'credit') this.credits.set(key, (this.credits.get(key) ?? 0) - amount);
      else {
        let budget = this.budgets.get(key);
        if (budget === undefined) {
          budget = { used: 0, expiresAt };
          this.budgets.set(key, budget);
        }
        budget.used += amount;
        budgetExpiresAt = budget.expiresAt;
      }
      held.push({ key, kind, amount, budgetExpiresAt, ledger, entry });
    }
    return new Reservation(deadline, held, { ok: true, remaining });
  }

  async claimCounters(): Promise<boolean> {
    // Counters in this process's memory go only with the process.
    const first = !this.claimed;
    this.claimed = true;
    return first;
  }

  async countersHeld(): Promise<boolean> {
    return this.claimed;
  }

  async countersRestoredAt(): Promise<number | undefined> {
    return 0;
  }

  async countersRestored(): Promise<void> {
    // Nothing to wait for: counters in memory are lost only with the requests that held them.
  }

  async setCredit(key: string, amountMicros: number, options: { onlyIfAbsent?: boolean } = {}): Promise<void> {
    checkSignedAmount(amountMicros, 'credit');
    if (options.onlyIfAbsent === true && this.credits.has(key)) return;
    this.credits.set(key, amountMicros);
  }

  async addCredit(key: string, deltaMicros: number, changeId?: string): Promise<number> {
    checkSignedAmount(deltaMicros, 'credit delta');
    if (changeId !== undefined) {
      if (this.creditChanges.has(changeId)) return this.credits.get(key) ?? 0;
      this.creditChanges.add(changeId);
      // The oldest id goes first: a Set iterates in insertion order.
      if (this.creditChanges.size > 10_000) this.creditChanges.delete(this.creditChanges.values().next().value as string);
    }
    const balance = (this.credits.get(key) ?? 0) + deltaMicros;
    this.credits.set(key, balance);
    return balance;
  }

  async peek(key: string, kind: CounterKind, now: number): Promise<number> {
    checkTime(now, 'now');
    return kind === 'credit' ? (this.credits.get(key) ?? 0) : this.usage(key, kind, now);
  }

  async close(): Promise<void> {
    this.reservations.clear();
  }

  /** Takes a reservation out of the map by its id (undefined when unknown). */
  private forget(reservationId: string): Reservation | undefined {
    const reservation = this.reservations.get(reservationId);
    if (reservation !== undefined) this.reservations.delete(reservationId);
    return reservation;
  }

  /**
   * Settles (`actual` given) or releases (`actual` undefined) a reservation, once. An expired one
   * (kept for `expiredReservationKeptMs`) corrects its budget and credit all the same: its
   * concurrency holds and window entries have expired already, and their changes below find
   * nothing left to change.
   */
  private finish(reservation: Reservation | undefined, now: number, actual: Record<string, number> | undefined): void {
    if (reservation === undefined || reservation.done) return;
    reservation.done = true;
    if (reservation.deadline + expiredReservationKeptMs <= now) return;
    for (const { key, kind, amount, budgetExpiresAt, ledger, entry } of reservation.counters) {
      const used = actual === undefined ? 0 : (actual[key] ?? amount);
      if (kind === 'window') {
        ledger?.expire(now);
        ledger?.change(entry as EntryHandle, amount, used);
      } else if (kind === 'concurrent') {
        ledger?.change(entry as EntryHandle, amount, 0);
      } else if (kind === 'credit') {
        this.credits.set(key, (this.credits.get(key) ?? 0) + amount - used);
      } else {
        const budget = this.liveBudget(key, now);
        // A reservation made in an earlier period leaves the new period's counter alone.
        if (budget !== undefined && budget.expiresAt === budgetExpiresAt) budget.used += used - amount;
      }
    }
  }

  private usage(key: string, kind: Exclude<CounterKind, 'credit'>, now: number): number {
    if (kind === 'budget') return this.liveBudget(key, now)?.used ?? 0;
    const ledger = (kind === 'window' ? this.windows : this.holds).get(key);
    if (ledger === undefined) return 0;
    ledger.expire(now);
    return ledger.total;
  }

  private liveBudget(key: string, now: number): Budget | undefined {
    const budget = this.budgets.get(key);
    if (budget?.expiresAt !== undefined && budget.expiresAt <= now) {
      this.budgets.delete(key);
      return undefined;
    }
    return budget;
  }

  private liveReservation(reservationId: string, now: number): Reservation | undefined {
    const reservation = this.reservations.get(reservationId);
    if (reservation === undefined || reservation.deadline > now) return reservation;
    this.reservations.delete(reservationId);
    return undefined;
  }

  /** Forgets reservations expired for longer than `expiredReservationKeptMs` and, now and then, idle counters. */
  private sweep(now: number): void {
    // Reservations were inserted in deadline order (one TTL for all; a renewal moves one to the
    // end), so expired ones are in front.
    for (const [reservationId, reservation] of this.reservations) {
      if (reservation.deadline + expiredReservationKeptMs > now) break;
      this.reservations.delete(reservationId);
    }
    if (++this.reservationsSinceSweep < sweepEvery) return;
    this.reservationsSinceSweep = 0;
    for (const ledgers of [this.windows, this.holds]) {
      for (const [key, ledger] of ledgers) {
        ledger.expire(now);
        if (ledger.isEmpty) ledgers.delete(key);
      }
    }
    for (const key of this.budgets.keys()) this.liveBudget(key, now);
  }
}

function ledgerOf(ledgers: Map<string, ExpiringLedger>, key: string, releasedLeaveEarly = false): ExpiringLedger {
  let ledger = ledgers.get(key);
  if (ledger === undefined) {
    ledger = new ExpiringLedger(releasedLeaveEarly);
    ledgers.set(key, ledger);
  }
  return ledger;
}
