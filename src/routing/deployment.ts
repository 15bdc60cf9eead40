import { knownOutputLimit } from '../providers/model-output-limits.js';
import type { Provider } from '../providers/provider.js';
import { CircuitBreaker, defaultCircuitBreakerOptions, type CircuitBreakerOptions } from './circuit-breaker.js';

/**
 * What is live of one deployment id: its health, its requests in flight and its latency. A reload
 * builds new routes and new `Deployment`s, and routes may share an upstream deployment: all of
 * them count on this one record, so requests in flight end on the record they started on.
 */
class DeploymentState {
  inflight = 0;
  firstByteEwmaMs: number | undefined;

  constructor(readonly health: CircuitBreaker) {}
}

/** One place a request can go: a provider (with its key), an upstream model name, and its live state. */
export class Deployment {
  /**
   * The most output tokens the upstream model can produce: the operator's `maxOutputTokens` for
   * this target, else the known limit of the model name sent upstream, else undefined (unknown).
   */
  readonly maxOutputTokens: number | undefined;
  /** Top-level fields this target's upstream gets where the request has none of that name (`body` of the target). */
  readonly body: Readonly<Record<string, unknown>> | undefined;
  readonly health: CircuitBreaker;

  constructor(
    readonly id: string,
    readonly provider: Provider,
    readonly model: string,
    readonly weight: number,
    private readonly live: DeploymentState,
    maxOutputTokens?: number,
    body?: Readonly<Record<string, unknown>>,
  ) {
    this.health = live.health;
    this.maxOutputTokens = maxOutputTokens ?? knownOutputLimit(model);
    this.body = body;
  }

  /** Requests sent and not yet finished. */
  get inflight(): number {
    return this.live.inflight;
  }

  set inflight(count: number) {
    this.live.inflight = count;
  }

  /** Moving average of time to first byte, ms (undefined until measured). */
  get firstByteEwmaMs(): number | undefined {
    return this.live.firstByteEwmaMs;
  }

  recordFirstByte(milliseconds: number): void {
    // α = 0.2: reacts within a few requests to a latency spike without chasing noise.
    const average = this.live.firstByteEwmaMs;
    this.live.firstByteEwmaMs = average === undefined ? milliseconds : average * 0.8 + milliseconds * 0.2;
  }
}

/**
 * Keeps each deployment's live state (health, requests in flight, latency) across config reloads,
 * by id: a reload builds new routes, but a deployment that was ejected a second ago stays ejected,
 * and a request in flight through the reload is still counted until it ends.
 */
export class DeploymentRegistry {
  private readonly states = new Map<string, DeploymentState>();

  constructor(
    private readonly breakerOptions: CircuitBreakerOptions = defaultCircuitBreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The deployment of `model` on `provider`. `healthId` lets many model names share one health
   * record (names served by a family route, which clients could otherwise invent without end).
   * `maxOutputTokens` is the operator's limit for this target, when the config gives one, and
   * `body` the fields its upstream gets where a request has none.
   */
  deployment(provider: Provider, model: string, weight: number, healthId = `${provider.name}/${model}`, maxOutputTokens?: number, body?: Readonly<Record<string, unknown>>): Deployment {
    const id = healthId;
    let state = this.states.get(id);
    if (state === undefined) {
      state = new DeploymentState(new CircuitBreaker(this.breakerOptions, this.now));
      this.states.set(id, state);
    }
    return new Deployment(id, provider, model, weight, state, maxOutputTokens, body);
  }

  /** Every known deployment's health, for the admin API and metrics. */
  snapshot(): Array<{ id: string; inflight: number; firstByteEwmaMs: number | undefined } & ReturnType<CircuitBreaker['snapshot']>> {
    return [...this.states].map(([id, state]) => ({
      id,
      inflight: state.inflight,
      firstByteEwmaMs: state.firstByteEwmaMs,
      ...state.health.snapshot(),
    }));
  }
}
