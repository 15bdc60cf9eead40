/**
 * Exact admission control. A request RESERVES amounts against several named counters at once (all
 * or nothing), then SETTLES them with the amounts it actually used, or RELEASES them when it failed.
 * Reserving first is what makes limits exact under concurrency: two requests can never both see the
 * last unit of a budget as free.
 *
 * Amounts and limits are non-negative integers in the counter's own unit: requests, tokens, or
 * micro-units of money (`src/billing/money.ts`). Every store takes `now` from the caller, so tests
 * drive time and replicas sharing a store must keep their clocks in sync (NTP): a skew of `s` ms
 * moves window edges by `s` ms.
 */

/**
 * - `window`: a sliding 60 s window (RPM, TPM): the sum of amounts reserved in the last 60 s.
 * - `concurrent`: held from reserve until settle or release (max parallel requests).
 * - `budget`: accumulates until the counter's period ends (`expiresAt`), or forever without one
 *   (spend per day, per month, in total).
 * - `credit`: a balance that reservations draw down, topped up by `setCredit` / `addCredit`.
 */
export type CounterKind = 'window' | 'concurrent' | 'budget' | 'credit';

export const counterKinds: readonly CounterKind[] = ['window', 'concurrent', 'budget', 'credit'];

/** One counter a reservation draws on. */
export interface CounterReservation {
  /** The counter's name, e.g. `key:abc:rpm`. Unique within one reservation; a key names a different counter per kind. */
  key: string;
  kind: CounterKind;
  /** The most the counter may hold after this reservation. Ignored for `credit` (the balance is the limit). */
  limit: number;
  /** What this request reserves: 1 for a request count, an estimate for tokens or money. */
  amount: number;
  /**
   * For `budget`: the end of the period, epoch ms, after which the counter starts again from zero.
   * Read when the period's counter is created (its first reservation); omitted = never ends.
   */
  expiresAt?: number;
}

export interface ReserveRequest {
  /**
   * Unique per request. Reserving again with the id of a live reservation returns that reservation's
   * first result and reserves nothing more (safe to retry after a lost reply). Once settled,
   * released or expired, the id is forgotten.
   */
  reservationId: string;
  counters: CounterReservation[];
  /** Epoch ms. */
  now: number;
  /**
   * A reservation made again after the store lost it with its data (a Redis restarted empty) while
   * its request runs: the request was admitted already, so every counter takes it whatever it
   * holds (a balance may go below zero), and its settle then finds it.
   */
  restored?: boolean;
}

export type ReserveResult =
  | {
      ok: true;
      /** Per counter key, what is left after this reservation (the balance, for `credit`). */
      remaining: Record<string, number>;
      /**
       * Made in this replica's memory while the shared store was unreachable (`ResilientLimitStore`,
       * fail-open): its budget spend is written back to the shared store once it answers, its
       * credit spend is not. The caller charges that through the database, which tells the shared
       * store (`LedgerRecord.drawnInMemory`).
       */
      inMemory?: true;
    }
  | {
      ok: false;
      /** The key that refused, or `limits-backend` when the store could not be asked (`ResilientLimitStore`). */
      counter: string;
      kind: CounterKind;
      /** The refusing counter's limit (the balance, for `credit`). */
      limit: number;
      /** What was left before this request; negative when settled usage overshot the limit. */
      remaining: number;
      /**
       * When to try again. `window`: exactly when enough of the window slides out. `concurrent`: a
       * hint (1 s). `budget`: when its period ends. 0 means waiting will not help: the amount exceeds
       * the limit itself, the budget has no end, or the credit is spent.
       */
      retryAfterMs: number;
    };

export interface SettleRequest {
  reservationId: string;
  /**
   * Counter key → the amount actually used. Counters not listed settle at their reserved amount,
   * except `concurrent` ones, which settling always releases. Keys the reservation does not have are
   * ignored.
   */
  actual: Record<string, number>;
  now: number;
  /**
   * When the reservation was made (epoch ms) and its counters: a store that lost the reservation
   * with the rest of its data while the request ran (a Redis restarted empty) charges the `budget`
   * and `credit` counters what the request used, as the settle of a reservation it still had
   * would. Without it, a lost reservation settles nothing.
   */
  reserved?: { at: number; counters: readonly CounterReservation[] };
}

/**
 * Where counters live. A reservation expires `reservationTtlMs` after it was made or last renewed
 * (10 minutes by default): its `concurrent` holds are freed, while its `budget` and `credit`
 * amounts stay charged at the reserved amount, since the upstream may well have served (and billed)
 * the request whose replica died before settling. The replica of a request still in flight renews
 * its reservation before then (`renew`), so only the reservations of replicas that are gone expire.
 *
 * Settling or releasing an unknown or finished reservation does nothing, so both are safe to
 * repeat. Settling or releasing an expired one, up to {@link expiredReservationKeptMs} after it
 * expired, corrects its `budget` and `credit` counters (and a `window` entry still in the window)
 * from the reserved amount to the actual one, once, and frees nothing more: the store kept what it
 * had reserved, and the request that settles has ended. Later, it does nothing.
 */
export interface LimitStore {
  /** How long a reservation lives without being renewed, settled or released. */
  readonly reservationTtlMs: number;
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  settle(request: SettleRequest): Promise<void>;
  release(reservationId: string, now: number): Promise<void>;
  /**
   * Extends a live reservation to `now + reservationTtlMs`, its `concurrent` holds with it: its
   * request is still in flight. True when renewed; false, changing nothing, when the reservation is
   * unknown, finished or expired. Calls of one turn of the event loop may go to the store together.
   */
  renew(reservationId: string, now: number): Promise<boolean>;
  /**
   * Marks the store as holding this relay's counters; true when this call set the mark, i.e. the
   * store is new, or has lost its data since (a Redis restarted without persistence), or was
   * filled by a relay older than the mark: balances and budget spend are then brought back from
   * the database. Replicas calling it together: one gets true. The memory store answers true once.
   */
  claimCounters(): Promise<boolean>;
  /**
   * Says that the relay whose `claimCounters` returned true has loaded the counters again
   * (balances and budget spend): from then on, settles of reservations lost with the store's data
   * charge their budgets and balances (`SettleRequest.reserved`); until then they wait.
   */
  countersRestored(): Promise<void>;
  /**
   * When the counters were last loaded again after the store lost them (see `countersRestored`);
   * undefined while they are missing or being loaded. A relay that sees it change makes the
   * reservations of its requests in flight again (`ReserveRequest.restored`). Constant in memory.
   */
  countersRestoredAt(): Promise<number | undefined>;
  /**
   * Whether the store is marked as holding this relay's counters (see `claimCounters`), without
   * marking it: a relay loads the counters while the mark is absent (no balance change counts
   * then), and claims the store afterwards.
   */
  countersHeld(): Promise<boolean>;
  /**
   * Sets a credit balance, in micro-units; with `onlyIfAbsent`, only a balance never set (so a
   * repeated or late call never undoes what was drawn since).
   */
  setCredit(key: string, amountMicros: number, options?: { onlyIfAbsent?: boolean }): Promise<void>;
  /**
   * Adds to (or, with a negative delta, takes from) a credit balance; returns the new balance. A
   * `changeId` makes the change count once, however often it is sent (a call that timed out may
   * still have reached Redis): for a week in Redis, for the last 10 000 ids in memory. With a
   * `changeId`, a store that lost its counters and was not claimed again throws
   * {@link CountersLostError} instead of counting.
   */
  addCredit(key: string, deltaMicros: number, changeId?: string): Promise<number>;
  /** Current usage of a counter, or the balance of a credit. */
  peek(key: string, kind: CounterKind, now: number): Promise<number>;
  close(): Promise<void>;
  /**
   * The same reserve, settle and release answered at once, by a store that needs no I/O for them
   * (the in-memory one), with the reservation handed to the caller instead of kept by its id.
   * Admission uses them when present: a request then reserves and settles without a promise, a turn
   * of the microtask queue, or an entry in a long-lived map (entries of such a map outlived their
   * request in the garbage collector: docs/performance.md). A held reservation is settled, released
   * (at most once) and renewed through its handle only (`settle`, `release` and `renew` by id do not
   * see it), and expires as any other.
   */
  reserveHeld?(request: ReserveRequest): HeldReservation;
  settleHeld?(held: HeldReservation, actual: Record<string, number>, now: number): void;
  releaseHeld?(held: HeldReservation, now: number): void;
  renewHeld?(held: HeldReservation, now: number): boolean;
  /**
   * Frees a held reservation's parallel slots ahead of its settle: its request is over, and only
   * its usage is still being counted (the tokenizer's thread), which must not keep the key's next
   * request waiting. The settle later finds the slots freed.
   */
  releaseConcurrentHeld?(held: HeldReservation, now: number): void;
}

/** A reservation handed to its caller (`reserveHeld`): the result, and what the store needs to settle it. */
export interface HeldReservation {
  readonly result: ReserveResult;
}

/** The sliding window's length. */
/**
 * Thrown by `addCredit` with a change id when the store has lost its counters and no relay has
 * claimed them again yet (see `claimCounters`): counted now, the change would make a balance of
 * its own amount alone. It waits instead, and is counted once the balance is loaded again.
 */
export class CountersLostError extends Error {
  constructor() {
    super('the limits store lost its counters; they are loaded again from the database before balance changes count');
    this.name = 'CountersLostError';
  }
}

export const windowMs = 60_000;

/**
 * How long a reservation lives without renewal, settle or release. The relay renews the
 * reservations of its requests in flight once they are half this old, so a request may last longer;
 * it bounds how long a replica that died keeps its requests' parallel slots.
 */
export const defaultReservationTtlMs = 10 * 60_000;

/**
 * How long after it expired a reservation is still known, so that a late settle or release (one
 * whose renewal could not reach the store) still corrects its budget and credit to what the
 * request used.
 */
export const expiredReservationKeptMs = 24 * 60 * 60_000;

/** The retry hint when a `concurrent` counter refuses: about the length of a short request. */
export const concurrentRetryHintMs = 1_000;

/**
 * Checks a reservation before any counter is touched, so a bad call fails loudly instead of being
 * read as "no limit". Throws `RangeError` / `TypeError`.
 */
export function validateReserveRequest(request: ReserveRequest): void {
  if (typeof request.reservationId !== 'string' || request.reservationId === '') throw new TypeError('reservationId must be a non-empty string');
  checkTime(request.now, 'now');
  if (!Array.isArray(request.counters)) throw new TypeError('counters must be an array');
  // Runs on every request: messages are built only when a check fails, and duplicates are found by
  // comparing the few counters of one reservation with each other rather than through a Set.
  const counters = request.counters;
  for (let index = 0; index < counters.length; index++) {
    const counter = counters[index]!;
    if (typeof counter.key !== 'string' || counter.key === '') throw new TypeError('A counter key must be a non-empty string');
    for (let earlier = 0; earlier < index; earlier++) {
      if (counters[earlier]!.key === counter.key) throw new RangeError(`Counter key ${JSON.stringify(counter.key)} appears twice in one reservation`);
    }
    if (!counterKinds.includes(counter.kind)) throw new RangeError(`Counter ${counter.key}: unknown kind ${JSON.stringify(counter.kind)}`);
    if (!isCount(counter.amount)) checkCount(counter.amount, `counter ${counter.key}: amount`);
    if (counter.kind !== 'credit' && !isCount(counter.limit)) checkCount(counter.limit, `counter ${counter.key}: limit`);
    if (counter.expiresAt !== undefined) {
      if (!isCount(counter.expiresAt)) checkTime(counter.expiresAt, `counter ${counter.key}: expiresAt`);
      if (counter.kind === 'budget' && counter.expiresAt <= request.now) {
        throw new RangeError(`Counter ${counter.key}: expiresAt (${counter.expiresAt}) is not after now (${request.now})`);
      }
    }
  }
}

/** Checks a settle call's amounts; see `validateReserveRequest`. */
export function validateSettleRequest(request: SettleRequest): void {
  if (typeof request.reservationId !== 'string' || request.reservationId === '') throw new TypeError('reservationId must be a non-empty string');
  validateSettleAmounts(request.actual, request.now);
  if (request.reserved !== undefined) checkTime(request.reserved.at, 'reserved.at');
}

/** Checks the time and the amounts of a settle call. */
export function validateSettleAmounts(actual: Record<string, number>, now: number): void {
  checkTime(now, 'now');
  for (const key in actual) {
    const amount = actual[key]!;
    if (!isCount(amount)) checkCount(amount, `actual amount of ${key}`);
  }
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
}

export function checkSignedAmount(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
}

export function checkTime(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be epoch milliseconds, got ${value}`);
}
