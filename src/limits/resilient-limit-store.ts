import { DegradedBacklog } from './degraded-backlog.js';
import { FailOpenShares } from './fail-open-shares.js';
import {
  CountersLostError,
  checkSignedAmount,
  checkTime,
  expiredReservationKeptMs,
  validateReserveRequest,
  validateSettleRequest,
  type CounterKind,
  type CounterReservation,
  type LimitStore,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
} from './limit-store.js';
import { MemoryLimitStore } from './memory-limit-store.js';

/**
 * What to do while the shared store (Redis) cannot be reached:
 * - `fail-closed`: refuse every request that has counters with `{ ok: false, counter:
 *   'limits-backend', kind: <the first counter's>, limit: 0, remaining: 0, retryAfterMs: <probe
 *   interval> }`.
 * - `fail-open`: enforce each replica's share of every limit in this process's memory
 *   (`FailOpenShares`).
 * Neither lets a request through unlimited.
 */
export type BackendFailurePolicy = 'fail-closed' | 'fail-open';

/** A shared store that can tell, without I/O, whether it is connected, and be asked for an answer (`RedisLimitStore`). */
export interface ProbedLimitStore extends LimitStore {
  isAvailable(): boolean;
  /**
   * One round trip (Redis's PING), resolving only when the store answered within its command
   * timeout: a connection can be up while nothing answers on it (a frozen server, a network that
   * drops packets).
   */
  probe(): Promise<void>;
}

export interface ResilientLimitStoreOptions {
  primary: ProbedLimitStore;
  policy: BackendFailurePolicy;
  /**
   * `fail-open`: how many replicas share the limits. Each admits `floor(limit / replicas)` while
   * degraded, so together they stay within the limit; a limit below the replica count admits
   * nothing. Default 1.
   */
  replicas?: number;
  /** While degraded, how often to look whether the shared store is back. Default 1000 ms. */
  probeIntervalMs?: number;
  /** Called when the store enters (`true`) or leaves (`false`) degraded mode: emit a metric and a log line. */
  onDegradedChange?: (degraded: boolean, cause: unknown) => void;
  /** TTL of reservations served from memory. Default: the primary's. */
  reservationTtlMs?: number;
  /** Most settles, releases and spend entries kept for replay after an outage. Default 10 000. */
  maxBacklog?: number;
}

/** Thrown by admin calls (`setCredit`, `addCredit`, `peek` when fail-closed) while the shared store is unreachable. */
export class LimitsBackendUnavailableError extends Error {
  override readonly name = 'LimitsBackendUnavailableError';
}

interface LocalReservation {
  store: MemoryLimitStore;
  counters: readonly CounterReservation[];
  deadline: number;
}

/**
 * A shared store with a policy for when it is unreachable. Any failure of the primary switches to
 * degraded mode (`degraded`, `onDegradedChange`); from then on calls do not wait for the primary,
 * and every `probeIntervalMs` the store asks it for an answer (`probe`), without holding any call.
 * Once it answers, the store first replays what it owes (`DegradedBacklog`): settles and releases
 * that could not be delivered, and the budget spent from memory, then leaves degraded mode. The
 * credit spent from memory is the caller's to charge (`ReserveResult.inMemory`).
 *
 * While degraded and fail-open, `remaining` in results is this replica's share. Reservations made
 * in memory settle and renew in memory, even after recovery, and are not made again in the shared
 * store when it lost its data (`ReserveRequest.restored`). A renewal of a reservation in the
 * shared store that cannot reach it is not kept for later (the next renewal tries again): were the
 * reservation to expire meanwhile, its late settle still corrects its budget and credit.
 */
export class ResilientLimitStore implements LimitStore {
  private readonly primary: ProbedLimitStore;
  private readonly policy: BackendFailurePolicy;
  private readonly shares: FailOpenShares;
  private readonly probeIntervalMs: number;
  readonly reservationTtlMs: number;
  private readonly onDegradedChange: ((degraded: boolean, cause: unknown) => void) | undefined;
  private readonly backlog: DegradedBacklog;
  private readonly local = new Map<string, LocalReservation>();
  private isDegraded = false;
  private fallback: MemoryLimitStore | undefined;
  private lastProbeAt = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  /** A probe is waiting for the primary's answer. */
  private probing = false;
  /** The primary answered a probe: the backlog is being replayed before degraded mode ends. */
  private recovery: Promise<void> | undefined;

  constructor(options: ResilientLimitStoreOptions) {
    this.primary = options.primary;
    this.policy = options.policy;
    this.shares = new FailOpenShares(options.replicas ?? 1);
    this.probeIntervalMs = options.probeIntervalMs ?? 1_000;
    this.reservationTtlMs = options.reservationTtlMs ?? options.primary.reservationTtlMs;
    this.onDegradedChange = options.onDegradedChange;
    this.backlog = new DegradedBacklog(options.maxBacklog);
  }

  /** True while the shared store is considered unreachable and the policy applies. */
  get degraded(): boolean {
    return this.isDegraded;
  }

  /** Settles, releases and spend entries waiting to be replayed to the shared store. */
  get backlogSize(): number {
    return this.backlog.size;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    validateReserveRequest(request);
    if (request.counters.length === 0) return { ok: true, remaining: {} };
    // Made in memory, it settles there: the shared store, which never held it, has nothing to make again.
    if (request.restored === true && this.local.has(request.reservationId)) return { ok: true, remaining: {}, inMemory: true };
    const recovering = this.recoverIfDue();
    if (recovering !== undefined) await recovering;
    if (!this.isDegraded) {
      try {
        const result = await this.primary.reserve(request);
        if (result.ok) this.shares.noteReserved(request.counters, result.remaining);
        return result;
      } catch (error) {
        this.degrade(error);
        // The reserve may have landed before the connection broke: give it back once Redis returns.
        this.backlog.addRelease(request.reservationId, request.now);
      }
    }
    return this.reserveDegraded(request);
  }

  async settle(request: SettleRequest): Promise<void> {
    validateSettleRequest(request);
    const local = this.takeLocal(request.reservationId);
    if (local !== undefined) {
      await local.store.settle(request);
      this.backlog.addSpend(local.counters, request.actual, request.now);
      if (!this.isDegraded) await this.replayBacklog();
      return;
    }
    await this.finishOnPrimary(request.reservationId, request.now, request);
  }

  async release(reservationId: string, now: number): Promise<void> {
    checkTime(now, 'now');
    const local = this.takeLocal(reservationId);
    if (local !== undefined) return local.store.release(reservationId, now);
    await this.finishOnPrimary(reservationId, now, undefined);
  }

  async renew(reservationId: string, now: number): Promise<boolean> {
    checkTime(now, 'now');
    const local = this.local.get(reservationId);
    if (local !== undefined) {
      if (!(await local.store.renew(reservationId, now))) return false;
      // To the end of the map, which stays in deadline order (`sweepLocal`).
      local.deadline = now + this.reservationTtlMs;
      this.local.delete(reservationId);
      this.local.set(reservationId, local);
      return true;
    }
    const recovering = this.recoverIfDue();
    if (recovering !== undefined) await recovering;
    if (this.isDegraded) return false;
    try {
      return await this.primary.renew(reservationId, now);
    } catch (error) {
      this.degrade(error);
      return false;
    }
  }

  /**
   * Settles (`settle` given) or releases a reservation on the primary; when it cannot, keeps the
   * call for replay. Never throws for an outage. No closures: it runs for every request.
   */
  private async finishOnPrimary(reservationId: string, now: number, settle: SettleRequest | undefined): Promise<void> {
    const recovering = this.recoverIfDue();
    if (recovering !== undefined) await recovering;
    if (!this.isDegraded) {
      try {
        await (settle === undefined ? this.primary.release(reservationId, now) : this.primary.settle(settle));
        return;
      } catch (error) {
        this.degrade(error);
      }
    }
    if (settle === undefined) this.backlog.addRelease(reservationId, now);
    else this.backlog.addSettle(settle);
  }

  claimCounters(): Promise<boolean> {
    return this.adminCall(() => this.primary.claimCounters());
  }

  countersHeld(): Promise<boolean> {
    return this.adminCall(() => this.primary.countersHeld());
  }

  countersRestoredAt(): Promise<number | undefined> {
    return this.adminCall(() => this.primary.countersRestoredAt());
  }

  countersRestored(): Promise<void> {
    return this.adminCall(() => this.primary.countersRestored());
  }

  async setCredit(key: string, amountMicros: number, options: { onlyIfAbsent?: boolean } = {}): Promise<void> {
    checkSignedAmount(amountMicros, 'credit');
    const balance = await this.adminCall(async () => {
      await this.primary.setCredit(key, amountMicros, options);
      // The share follows the balance Redis holds: another one than `amountMicros` when it was set already.
      return options.onlyIfAbsent === true ? this.primary.peek(key, 'credit', Date.now()) : amountMicros;
    });
    this.shares.noteCredit(key, balance);
  }

  async addCredit(key: string, deltaMicros: number, changeId?: string): Promise<number> {
    checkSignedAmount(deltaMicros, 'credit delta');
    const balance = await this.adminCall(() => this.primary.addCredit(key, deltaMicros, changeId));
    this.shares.noteCredit(key, balance);
    return balance;
  }

  async peek(key: string, kind: CounterKind, now: number): Promise<number> {
    checkTime(now, 'now');
    if (this.policy === 'fail-closed') return this.adminCall(() => this.primary.peek(key, kind, now));
    await this.recoverIfDue();
    if (!this.isDegraded) {
      try {
        return await this.primary.peek(key, kind, now);
      } catch (error) {
        this.degrade(error);
      }
    }
    return this.fallbackStore().peek(key, kind, now);
  }

  async close(): Promise<void> {
    this.stopProbing();
    await this.primary.close();
  }

  private async reserveDegraded(request: ReserveRequest): Promise<ReserveResult> {
    if (this.policy === 'fail-closed') {
      const kind = request.counters[0]?.kind ?? 'concurrent';
      return { ok: false, counter: 'limits-backend', kind, limit: 0, remaining: 0, retryAfterMs: this.probeIntervalMs };
    }
    const store = this.fallbackStore();
    this.sweepLocal(request.now);
    const counters = await this.shares.apply(request.counters, store);
    const result = await store.reserve({ ...request, counters });
    if (!result.ok) return result;
    this.local.set(request.reservationId, { store, counters: request.counters, deadline: request.now + this.reservationTtlMs });
    return { ...result, inMemory: true };
  }

  private async adminCall<T>(call: () => Promise<T>): Promise<T> {
    await this.recoverIfDue();
    if (this.isDegraded) throw new LimitsBackendUnavailableError('The shared limits store (Redis) is unreachable; try again when it is back');
    try {
      return await call();
    } catch (error) {
      // Redis answered: it has lost its counters, which is not being unreachable.
      if (error instanceof CountersLostError) throw error;
      this.degrade(error);
      throw new LimitsBackendUnavailableError(`The shared limits store (Redis) failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private fallbackStore(): MemoryLimitStore {
    this.fallback ??= new MemoryLimitStore({ reservationTtlMs: this.reservationTtlMs });
    return this.fallback;
  }

  private takeLocal(reservationId: string): LocalReservation | undefined {
    const local = this.local.get(reservationId);
    if (local !== undefined) this.local.delete(reservationId);
    return local;
  }

  private degrade(cause: unknown): void {
    this.lastProbeAt = Date.now();
    if (this.isDegraded) return;
    this.isDegraded = true;
    this.probeTimer = setInterval(() => void this.recoverIfDue(), this.probeIntervalMs);
    this.probeTimer.unref();
    this.notify(true, cause);
  }

  /**
   * While degraded: starts a probe when one is due, and returns the recovery under way, if any, for
   * the call to wait for (so that it reaches the primary after the backlog). The probe itself is
   * waited for by no call: a primary that keeps its connection and answers nothing would otherwise
   * hold a request for its command timeout at every probe. Nothing to wait for (undefined) otherwise.
   */
  private recoverIfDue(): Promise<void> | undefined {
    if (!this.isDegraded) return undefined;
    if (this.recovery === undefined && !this.probing && Date.now() - this.lastProbeAt >= this.probeIntervalMs) this.probe();
    return this.recovery;
  }

  /**
   * Asks the primary for an answered round trip when it is connected; once it answers, replays the
   * backlog and leaves degraded mode. A connection that is up proves nothing by itself, nor does an
   * empty backlog replayed without a single command.
   */
  private probe(): void {
    this.lastProbeAt = Date.now();
    if (!this.primary.isAvailable()) return;
    this.probing = true;
    this.primary.probe().then(
      () => {
        this.probing = false;
        this.lastProbeAt = Date.now();
        if (!this.isDegraded) return;
        this.recovery ??= this.recover().finally(() => {
          this.recovery = undefined;
        });
      },
      () => {
        this.probing = false;
        // The next probe a whole interval after this one gave up.
        this.lastProbeAt = Date.now();
      },
    );
  }

  /** Replays what is owed to the primary, which just answered, then leaves degraded mode; stays degraded if the replay fails. */
  private async recover(): Promise<void> {
    try {
      await this.backlog.replay(this.primary);
    } catch {
      return;
    }
    this.isDegraded = false;
    this.fallback = undefined;
    this.shares.startOver();
    this.stopProbing();
    this.notify(false, undefined);
    // Work kept by calls that were already past their degraded check while the replay ran.
    if (this.backlog.size > 0) void this.replayBacklog();
  }

  private async replayBacklog(): Promise<void> {
    try {
      await this.backlog.replay(this.primary);
    } catch (error) {
      this.degrade(error);
    }
  }

  /**
   * Forgets memory reservations nobody settled (by the callers' clock) once their store has forgotten
   * them too: until then a late settle still corrects the budget and credit they hold there.
   */
  private sweepLocal(now: number): void {
    // Insertion order is deadline order (one TTL for all; a renewal moves one to the end), so the
    // expired ones are in front.
    for (const [reservationId, local] of this.local) {
      if (local.deadline + expiredReservationKeptMs > now) break;
      this.local.delete(reservationId);
    }
  }

  private stopProbing(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private notify(degraded: boolean, cause: unknown): void {
    try {
      this.onDegradedChange?.(degraded, cause);
    } catch {
      // A failing listener must not change how limits behave.
    }
  }
}
