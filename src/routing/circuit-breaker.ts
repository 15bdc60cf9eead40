/**
 * Health of one deployment, as an outlier-ejection circuit breaker:
 * - closed: traffic flows; it opens after `consecutiveFailures` failures in a row, or when the error
 *   rate over the last `windowMs` exceeds `errorRate` with at least `minRequests` outcomes;
 * - open: skipped by routing until the cooldown ends; the cooldown doubles with each ejection in a
 *   row (base → max), so a flapping upstream is kept out longer, but one bad minute never disables it
 *   for good;
 * - half-open: after the cooldown, one probe request at a time; a success closes the circuit, a
 *   failure opens it again with the next, longer cooldown.
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
  /** Outcomes in the window, as [time, ok] pairs, oldest first. */
  private outcomes: Array<[number, boolean]> = [];

  constructor(
    private readonly options: CircuitBreakerOptions = defaultCircuitBreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

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

  /** Call when a request is sent; marks the probe of a half-open circuit. */
  onAttempt(): void {
    if (this.currentState() === 'half_open') this.probeInFlight = true;
  }

  onSuccess(): void {
    this.record(true);
    this.failuresInRow = 0;
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.probeInFlight = false;
      this.outcomes = [];
    } else if (this.ejections > 0 && this.outcomes.length >= this.options.minRequests) {
      // A long healthy stretch forgives earlier ejections one at a time.
      this.ejections--;
    }
  }

  onFailure(): void {
    this.record(false);
    this.failuresInRow++;
    if (this.state === 'half_open') {
      this.eject();
      return;
    }
    if (this.state !== 'closed') return;
    if (this.failuresInRow >= this.options.consecutiveFailures || this.errorRateExceeded()) this.eject();
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

  snapshot(): { state: CircuitState; ejections: number; availableAt: number; errorRate: number; requests: number } {
    this.trim();
    const failures = this.outcomes.filter(([, ok]) => !ok).length;
    return {
      state: this.currentState(),
      ejections: this.ejections,
      availableAt: this.availableAt(),
      errorRate: this.outcomes.length === 0 ? 0 : failures / this.outcomes.length,
      requests: this.outcomes.length,
    };
  }

  private eject(): void {
    const cooldown = Math.min(this.options.baseCooldownMs * 2 ** this.ejections, this.options.maxCooldownMs);
    this.ejections++;
    this.state = 'open';
    this.openUntil = this.now() + cooldown;
    this.probeInFlight = false;
    this.failuresInRow = 0;
    this.outcomes = [];
  }

  private record(ok: boolean): void {
    this.outcomes.push([this.now(), ok]);
    this.trim();
  }

  private trim(): void {
    const oldest = this.now() - this.options.windowMs;
    let drop = 0;
    while (drop < this.outcomes.length && (this.outcomes[drop]?.[0] ?? 0) < oldest) drop++;
    if (drop > 0) this.outcomes.splice(0, drop);
    // Bound memory under heavy traffic: the rate needs a sample, not every request.
    if (this.outcomes.length > 1000) this.outcomes.splice(0, this.outcomes.length - 1000);
  }

  private errorRateExceeded(): boolean {
    if (this.outcomes.length < this.options.minRequests) return false;
    const failures = this.outcomes.filter(([, ok]) => !ok).length;
    return failures / this.outcomes.length > this.options.errorRate;
  }
}
