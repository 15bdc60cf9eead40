import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  CountersLostError,
  checkCount,
  checkSignedAmount,
  checkTime,
  concurrentRetryHintMs,
  defaultReservationTtlMs,
  expiredReservationKeptMs,
  validateReserveRequest,
  validateSettleRequest,
  windowMs,
  type CounterKind,
  type LimitStore,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
} from './limit-store.js';
import { addCreditScript, batchScript, peekScript } from './redis-limit-scripts.js';

export interface RedisLimitStoreOptions {
  /**
   * A `redis://` URL, for which the store makes its own client (no offline queue, short timeouts,
   * reconnecting in the background) and closes it on `close()`; or an ioredis client to share,
   * which `close()` leaves open. A shared client should also disable its offline queue, or calls
   * wait for a reconnect instead of failing over to `ResilientLimitStore`'s policy.
   */
  redis: string | Redis;
  /** Prefix of every key the store writes. Default `relay:limits:`. */
  keyPrefix?: string;
  /** How long a reservation lives without renewal, settle or release. Default 10 minutes. */
  reservationTtlMs?: number;
  /** Own client: how long to try connecting before a call fails. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Own client: how long to wait for a reply before a call fails. Default 1000 ms. */
  commandTimeoutMs?: number;
}

/** Commands added to the client by `defineCommand`; ioredis runs them by EVALSHA, loading on NOSCRIPT. */
interface ScriptedRedis extends Redis {
  relayLimitsBatch(...args: (string | number)[]): Promise<[(string | number)[][], number[], number[]]>;
  relayLimitsPeek(...args: (string | number)[]): Promise<number>;
  relayLimitsAddCredit(...args: (string | number)[]): Promise<number | null>;
}

/** How long Redis remembers a credit change's id, so that the change counts once. */
const creditChangeTtlMs = 7 * 24 * 60 * 60 * 1000;

/** A call waiting for the end of the turn, when it leaves with the others in one script call. */
interface Queued<Call, Result> {
  call: Call;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * A reserve as the script reads it: id, now, now + windowMs, now + the reservation's time to live,
 * then per counter kind, key, limit, amount, expiresAt (numbers as text).
 */
type ReserveCall = [string, string, string, string, ...[string, string, string, string, string][]];

/** How long a counter's keys outlive their last entry at least (half of it: see `batchScript`). */
const counterGraceMs = 60_000;
/**
 * A settle (`[key, amount, …]`) or a release (`false`), as the script reads it; a settle may add
 * what to charge if Redis lost the reservation: `[reservedAt, kind, key, expiresAt, amount, …]`.
 */
type FinishCall = [string, string, string[] | false] | [string, string, string[], string[]];

/** A settle's answer when Redis lost its reservation and the counters are not loaded again yet. */
const countersLoading = 2;
/** How often such a settle is tried again, and for how long. */
const lostSettleRetryMs = 250;
const lostSettleWaitMs = 60_000;
/** A renewal as the script reads it: id, now + the reservation's time to live. */
type RenewCall = [string, string];

/**
 * Limits shared by every replica that points at the same Redis. Each reserve, settle and release
 * runs inside a Lua script, so it is atomic across replicas (`redis-limit-scripts.ts` has the key
 * layout).
 *
 * Windows are sorted sets of entries (`<amount>:<reservationId>`, scored by deadline) plus a running
 * total: exact to the millisecond (a window refuses the 11th request of 10 until the first one is
 * exactly 60 s old, and says when that is), and settle can correct a reserved token estimate to the
 * actual count. Bucketed counters would be cheaper in memory but either approximate or unable to
 * correct one request's amount. The cost is one sorted-set member per request within the last
 * minute, per window; a reservation is one MessagePack string. The reserves of one turn of the event
 * loop go to Redis in one script call, and so do its settles, releases and renewals.
 */
export class RedisLimitStore implements LimitStore {
  private readonly client: ScriptedRedis;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  readonly reservationTtlMs: number;
  private readonly connectTimeoutMs: number;
  private firstConnection: Promise<void> | undefined;
  private reserves: Queued<ReserveCall, (string | number)[]>[] = [];
  private finishes: Queued<FinishCall, number>[] = [];
  private renewals: Queued<RenewCall, number>[] = [];
  private flushScheduled = false;

  constructor(options: RedisLimitStoreOptions) {
    this.prefix = options.keyPrefix ?? 'relay:limits:';
    this.reservationTtlMs = options.reservationTtlMs ?? defaultReservationTtlMs;
    checkCount(this.reservationTtlMs, 'reservationTtlMs');
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    this.ownsClient = typeof options.redis === 'string';
    const client =
      typeof options.redis === 'string'
        ? new Redis(options.redis, {
            connectTimeout: this.connectTimeoutMs,
            commandTimeout: options.commandTimeoutMs ?? 1_000,
            // Fail at once while disconnected rather than queue: the caller's policy decides.
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            // Keep reconnecting in the background, so the store recovers when Redis is back.
            retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
            // No auto-pipelining: the calls of a turn already leave as one command (`flush`), and
            // ioredis would wrap each in a pipeline of its own.
          })
        : options.redis;
    // Failures reach callers as rejected calls; without a listener ioredis would also print each one.
    if (this.ownsClient) client.on('error', () => {});
    client.defineCommand('relayLimitsBatch', { numberOfKeys: 0, lua: batchScript });
    client.defineCommand('relayLimitsPeek', { numberOfKeys: 0, lua: peekScript });
    client.defineCommand('relayLimitsAddCredit', { numberOfKeys: 3, lua: addCreditScript });
    this.client = client as ScriptedRedis;
  }

  /** True while the connection is up; no I/O. `ResilientLimitStore` uses it to know when to retry. */
  isAvailable(): boolean {
    return this.client.status === 'ready';
  }

  /** A PING answered within the command timeout; rejects otherwise (and at once while disconnected). */
  async probe(): Promise<void> {
    await this.client.ping();
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    validateReserveRequest(request);
    if (request.counters.length === 0) return { ok: true, remaining: {} };
    const call: ReserveCall = [request.reservationId, String(request.now), String(request.now + windowMs), String(request.now + this.reservationTtlMs)];
    // Restored (its request was admitted already): no limit, and a credit limit of -1, which the script reads as no check of the balance.
    const restored = request.restored === true;
    for (const counter of request.counters) {
      const limit = counter.kind === 'credit' ? (restored ? '-1' : '0') : restored ? String(Number.MAX_SAFE_INTEGER) : String(counter.limit);
      call.push([counter.kind, counter.key, limit, String(counter.amount), counter.expiresAt === undefined ? '' : String(counter.expiresAt)]);
    }
    if (this.client.status !== 'ready') await this.connected();
    const reply = await new Promise<(string | number)[]>((resolve, reject) => {
      this.reserves.push({ call, resolve, reject });
      this.scheduleFlush();
    });
    if (reply[0] === 1) {
      // What is left of each counter, in the order of the request's counters.
      const remaining: Record<string, number> = {};
      for (let index = 0; index < request.counters.length; index++) remaining[request.counters[index]!.key] = Number(reply[index + 1]);
      return { ok: true, remaining };
    }
    if (reply[0] === 2) {
      // A repeated reserve: its first result, by counter.
      const remaining: Record<string, number> = {};
      for (let index = 1; index + 1 < reply.length; index += 2) remaining[String(reply[index])] = Number(reply[index + 1]);
      return { ok: true, remaining };
    }
    return {
      ok: false,
      counter: String(reply[1]),
      kind: String(reply[2]) as CounterKind,
      limit: Number(reply[3]),
      remaining: Number(reply[4]),
      retryAfterMs: Number(reply[5]),
    };
  }

  async settle(request: SettleRequest): Promise<void> {
    validateSettleRequest(request);
    const actual: string[] = [];
    for (const key in request.actual) actual.push(key, String(request.actual[key]));
    const reserved = request.reserved;
    let lost: string[] | undefined;
    if (reserved !== undefined) {
      // The budget and credit amounts to charge should Redis have lost the reservation (restarted empty).
      for (const counter of reserved.counters) {
        if (counter.kind !== 'budget' && counter.kind !== 'credit') continue;
        const used = request.actual[counter.key] ?? counter.amount;
        if (used > 0) (lost ??= [String(reserved.at)]).push(counter.kind, counter.key, counter.expiresAt === undefined ? '' : String(counter.expiresAt), String(used));
      }
    }
    await this.finish(lost === undefined ? [request.reservationId, String(request.now), actual] : [request.reservationId, String(request.now), actual, lost]);
  }

  async release(reservationId: string, now: number): Promise<void> {
    checkTime(now, 'now');
    await this.finish([reservationId, String(now), false]);
  }

  async renew(reservationId: string, now: number): Promise<boolean> {
    checkTime(now, 'now');
    if (this.client.status !== 'ready') await this.connected();
    const renewed = await new Promise<number>((resolve, reject) => {
      this.renewals.push({ call: [reservationId, String(now + this.reservationTtlMs)], resolve, reject });
      this.scheduleFlush();
    });
    return renewed === 1;
  }

  /** The key whose presence says Redis still holds the counters (`claimCounters`). */
  private get claimMark(): string {
    return `${this.prefix}claimed`;
  }

  async claimCounters(): Promise<boolean> {
    await this.connected();
    // No time yet: settles of reservations Redis lost wait until the counters are loaded (`countersRestored`).
    return (await this.client.set(this.claimMark, 'loading', 'NX')) === 'OK';
  }

  async countersRestoredAt(): Promise<number | undefined> {
    await this.connected();
    const mark = await this.client.get(this.claimMark);
    const at = mark === null ? Number.NaN : Number(mark);
    return Number.isSafeInteger(at) ? at : undefined;
  }

  async countersRestored(): Promise<void> {
    await this.connected();
    // When: reservations made before it were lost with Redis's data.
    await this.client.set(this.claimMark, String(Date.now()), 'XX');
  }

  async countersHeld(): Promise<boolean> {
    await this.connected();
    return (await this.client.exists(this.claimMark)) === 1;
  }

  async setCredit(key: string, amountMicros: number, options: { onlyIfAbsent?: boolean } = {}): Promise<void> {
    checkSignedAmount(amountMicros, 'credit');
    await this.connected();
    if (options.onlyIfAbsent === true) await this.client.set(`${this.prefix}k:${key}`, amountMicros, 'NX');
    else await this.client.set(`${this.prefix}k:${key}`, amountMicros);
  }

  async addCredit(key: string, deltaMicros: number, changeId?: string): Promise<number> {
    checkSignedAmount(deltaMicros, 'credit delta');
    await this.connected();
    if (changeId === undefined) return this.client.incrby(`${this.prefix}k:${key}`, deltaMicros);
    const balance = await this.client.relayLimitsAddCredit(`${this.prefix}k:${key}`, `${this.prefix}kc:${changeId}`, this.claimMark, deltaMicros, creditChangeTtlMs);
    if (balance === null) throw new CountersLostError();
    return Number(balance);
  }

  async peek(key: string, kind: CounterKind, now: number): Promise<number> {
    checkTime(now, 'now');
    await this.connected();
    return Number(await this.client.relayLimitsPeek(this.prefix, now, kind, key));
  }

  async close(): Promise<void> {
    // Calls still waiting for the end of the turn leave before the connection closes.
    if (this.flushScheduled) this.flush();
    if (!this.ownsClient) return;
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  /**
   * Settles or releases. A settle whose reservation Redis lost while the counters are still being
   * loaded again is tried again until they are (the request's ledger record waits for it, so the
   * balances loaded from the database do not count it yet), for a minute at most.
   */
  private async finish(call: FinishCall): Promise<void> {
    for (const startedAt = Date.now(); ; ) {
      if (this.client.status !== 'ready') await this.connected();
      const finished = await new Promise<number>((resolve, reject) => {
        this.finishes.push({ call, resolve, reject });
        this.scheduleFlush();
      });
      if (finished !== countersLoading || Date.now() - startedAt >= lostSettleWaitMs) return;
      await delay(lostSettleRetryMs);
    }
  }

  /**
   * The calls made in one turn of the event loop leave together at its end, as one script call:
   * under load one command, one write and one script run for many requests instead of one each,
   * for the relay and for Redis.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const { reserves: allReserves, finishes: allFinishes, renewals: allRenewals } = this;
    this.reserves = [];
    this.finishes = [];
    if (allRenewals.length > 0) this.renewals = [];
    // At most this many reserves, as many settles and as many renewals per script run, so one run never holds Redis for long.
    const most = 256;
    for (let start = 0; start < allReserves.length || start < allFinishes.length || start < allRenewals.length; start += most) {
      const reserves = start === 0 && allReserves.length <= most ? allReserves : allReserves.slice(start, start + most);
      const finishes = start === 0 && allFinishes.length <= most ? allFinishes : allFinishes.slice(start, start + most);
      const renewals = start === 0 && allRenewals.length <= most ? allRenewals : allRenewals.slice(start, start + most);
      this.client
        .relayLimitsBatch(
          this.prefix,
          this.reservationTtlMs,
          windowMs,
          concurrentRetryHintMs,
          reserves.length === 0 ? '[]' : JSON.stringify(reserves.map((entry) => entry.call)),
          counterGraceMs,
          windowMs + counterGraceMs,
          this.reservationTtlMs + counterGraceMs,
          finishes.length === 0 ? '[]' : JSON.stringify(finishes.map((entry) => entry.call)),
          expiredReservationKeptMs,
          renewals.length === 0 ? '[]' : JSON.stringify(renewals.map((entry) => entry.call)),
        )
        .then(
          ([reserved, finished, renewed]) => {
            reserves.forEach((entry, index) => entry.resolve(reserved[index] as (string | number)[]));
            finishes.forEach((entry, index) => entry.resolve(finished[index] as number));
            renewals.forEach((entry, index) => entry.resolve(renewed[index] as number));
          },
          (error: unknown) => {
            reserves.forEach((entry) => entry.reject(error));
            finishes.forEach((entry) => entry.reject(error));
            renewals.forEach((entry) => entry.reject(error));
          },
        );
    }
  };

  /**
   * Waits for the first connection (at most the connect timeout), so calls made right after start-up
   * do not fail just because the socket is still opening. Later outages fail calls at once.
   */
  private connected(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    this.firstConnection ??= new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, this.connectTimeoutMs);
      timer.unref();
      this.client.once('ready', done);
      if (this.client.status === 'wait') this.client.connect().catch(() => {});
    });
    return this.firstConnection;
  }
}
