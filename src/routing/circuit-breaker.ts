/**
 * Health of one deployment, as an outlier-ejection circuit breaker:
 * - closed: traffic flows; it opens after `consecutiveFailures` failures in a row, or when the error
 *   rate over the last `windowMs` exceeds `errorRate` with at least `minRequests` outcomes;
 * - open: skipped by routing until the cooldown ends; the cooldown doubles with each ejection in a
 *   row (base → max), so a flapping upstream is kept out longer, but one bad minute never disables it
 *   for good;
 * - half-open: after the cooldown, one probe request at a time; a success closes the circuit, a
 *   failure opens it again with the next, longer cooldown. Traffic comes back as soon as the probe's
 *   answer starts (a stream may run for many minutes), but the deployment is on trial until an
 *   answer ends: a failure then (the probe's stream cut) opens it again as a failed probe would.
 * Each answer gets one verdict, when it ends: a stream cut after its first chunk is a failure, not a
 * success and then a failure. An answer begun before an ejection that ends after it (a stream in
 * flight) says nothing of the deployment since: each attempt carries the ticket `onAttempt` gave
 * it, and verdicts of an earlier one are not counted.
 * A 429 does not count as a failure: it only cools the deployment for its `retry-after`.
 */
export interface CircuitBreakerOptions {
  consecutiveFailures: number;
  errorRate: number;
  minRequests: number;
  windowMs: number;
  baseCooldownMs: number;
  maxCooldownMs: number;
}

export const defaultCircuitBreakerOptions: CircuitBreakerOptions = {
  consecutiveFailures: 5,
  errorRate: 0.5,
  minRequests: 20,
  windowMs: 30_000,
  baseCooldownMs: 5_000,
  maxCooldownMs: 300_000,
};

export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failuresInRow = 0;
  private ejections = 0;
  private openUntil = 0;
  private cooledUntil = 0;
  private probeInFlight = false;
  /** Back after a probe whose answer has started: the next failure, before any success, ejects again. */
  private onTrial = false;
  /** Counts ejections, never forgiven: an attempt's ticket, so that a verdict of an answer begun before the last ejection is told apart. */
  private ejectionSerial = 0;
  /** Outcomes of the window, counted per 1/30th of it (one second by default): fixed memory, no work per request beyond two additions. */
  private readonly outcomes: OutcomeBuckets;

  constructor(
    private readonly options: CircuitBreakerOptions = defaultCircuitBreakerOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.outcomes = new OutcomeBuckets(options.windowMs);
  }

  /** The state as routing sees it now (an open circuit whose cooldown ended is half-open). */
  currentState(): CircuitState {
    if (this.state === 'open' && this.now() >= this.openUntil) this.state = 'half_open';
    return this.state;
  }

  /** Whether routing may send a request now. A half-open circuit admits one probe at a time. */
  isAvailable(): boolean {
    if (this.now() < this.cooledUntil) return false;
    const state = this.currentState();
    if (state === 'closed') return true;
    return state === 'half_open' && !this.probeInFlight;
  }

  /** When this deployment becomes available again (0 when it is now), to pick the least bad one. */
  availableAt(): number {
    return Math.max(this.state === 'open' ? this.openUntil : 0, this.cooledUntil);
  }

  /**
   * Call when a request is sent; marks the probe of a half-open circuit. Returns the attempt's
   * ticket, to be given back with its verdict.
   */
  onAttempt(): number {
    if (this.currentState() === 'half_open') this.probeInFlight = true;
    return this.ejectionSerial;
  }

  /**
   * The attempt's answer has started (a stream's first chunk, a JSON answer whole). A half-open
   * circuit's probe has shown that the deployment answers again: traffic comes back now, not when
   * the answer ends, which for a stream may take many minutes; the answer's end still judges it.
   */
  onAnswerStarted(ticket: number): void {
    if (ticket !== this.ejectionSerial || this.currentState() !== 'half_open') return;
    this.close();
    this.onTrial = true;
  }

  /** The attempt's answer ended whole (or its client stopped reading it). */
  onSuccess(ticket: number): void {
    if (ticket !== this.ejectionSerial) return;
    this.record(true);
    this.failuresInRow = 0;
    this.onTrial = false;
    if (this.state !== 'closed') {
      this.close();
    } else if (this.ejections > 0 && this.outcomes.count(this.now()).total >= this.options.minRequests) {
      // A long healthy stretch forgives earlier ejections one at a time.
      this.ejections--;
    }
  }

  /** The attempt failed, before its answer or during it (a stream cut after its first chunk). */
  onFailure(ticket: number): void {
    if (ticket !== this.ejectionSerial) return;
    this.record(false);
    this.failuresInRow++;
    if (this.state === 'half_open' || this.onTrial) {
      this.eject();
      return;
    }
    if (this.state !== 'closed') return;
    if (this.failuresInRow >= this.options.consecutiveFailures || this.errorRateExceeded()) this.eject();
  }

  /**
   * An attempt that ended without saying anything about the deployment: the caller's own fault (a
   * 400), or the client left before the answer. It counts neither way, and a half-open circuit's
   * probe is over, so the next request may probe (otherwise the circuit would wait for ever for the
   * probe's verdict).
   */
  onInconclusive(ticket: number): void {
    if (ticket === this.ejectionSerial && this.state === 'half_open') this.probeInFlight = false;
  }

  /** A 429 (or an ejection by hand): no traffic until `milliseconds` from now. */
  coolFor(milliseconds: number): void {
    this.cooledUntil = Math.max(this.cooledUntil, this.now() + milliseconds);
    if (this.state === 'half_open') this.probeInFlight = false;
  }

  /** Takes the deployment out at once (its key was refused): the longest cooldown. */
  ejectNow(): void {
    this.ejections = Math.max(this.ejections, 6);
    this.eject();
  }

  /** Whether the deployment is ejected and its cooldown still runs (not merely cooled by a 429 or a quota). */
  isEjected(): boolean {
    return this.currentState() === 'open';
  }

  snapshot(): { state: CircuitState; ejections: number; availableAt: number; errorRate: number; requests: number } {
    const { total, failures } = this.outcomes.count(this.now());
    return {
      state: this.currentState(),
      ejections: this.ejections,
      availableAt: this.availableAt(),
      errorRate: total === 0 ? 0 : failures / total,
      requests: total,
    };
  }

  private eject(): void {
    const cooldown = Math.min(this.options.baseCooldownMs * 2 ** this.ejections, this.options.maxCooldownMs);
    this.ejections++;
    this.ejectionSerial++;
    this.state = 'open';
    this.openUntil = this.now() + cooldown;
    this.probeInFlight = false;
    this.onTrial = false;
    this.failuresInRow = 0;
    this.outcomes.clear();
  }

  private close(): void {
    this.state = 'closed';
    this.probeInFlight = false;
    this.outcomes.clear();
  }

  private record(ok: boolean): void {
    this.outcomes.add(this.now(), ok);
  }

  private errorRateExceeded(): boolean {
    const { total, failures } = this.outcomes.count(this.now());
    if (total < this.options.minRequests) return false;
    return failures / total > this.options.errorRate;
  }
}

const bucketsPerWindow = 30;

/**
 * Successes and failures over a sliding window, in `bucketsPerWindow` buckets: the window read is
 * the buckets of the last `windowMs`, so an outcome leaves it up to one bucket (1/30th) early.
 */
class OutcomeBuckets {
  private readonly bucketMs: number;
  private readonly epochs = new Float64Array(bucketsPerWindow).fill(-1);
  private readonly totals = new Uint32Array(bucketsPerWindow);
  private readonly failures = new Uint32Array(bucketsPerWindow);

  constructor(windowMs: number) {
    this.bucketMs = Math.max(1, windowMs / bucketsPerWindow);
  }

  add(now: number, ok: boolean): void {
    const epoch = Math.floor(now / this.bucketMs);
    const slot = epoch % bucketsPerWindow;
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.totals[slot] = 0;
      this.failures[slot] = 0;
    }
    (this.totals[slot] as number)++;
    if (!ok) (this.failures[slot] as number)++;
  }

  count(now: number): { total: number; failures: number } {
    const oldest = Math.floor(now / this.bucketMs) - bucketsPerWindow + 1;
    let total = 0;
    let failures = 0;
    for (let slot = 0; slot < bucketsPerWindow; slot++) {
      if ((this.epochs[slot] as number) < oldest) continue;
      total += this.totals[slot] as number;
      failures += this.failures[slot] as number;
    }
    return { total, failures };
  }

  clear(): void {
    this.epochs.fill(-1);
  }
}
