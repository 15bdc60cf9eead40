import { knownOutputLimit } from '../providers/model-output-limits.js';
import type { Provider } from '../providers/provider.js';
import { CircuitBreaker, defaultCircuitBreakerOptions, type CircuitBreakerOptions } from './circuit-breaker.js';

/** One place a request can go: a provider (with its key), an upstream model name, and its live state. */
export class Deployment {
  /** Requests sent and not yet finished. */
  inflight = 0;
  /** Moving average of time to first byte, ms (undefined until measured). */
  firstByteEwmaMs: number | undefined;
  /**
   * The most output tokens the upstream model can produce: the operator's `maxOutputTokens` for
   * this target, else the known limit of the model name sent upstream, else undefined (unknown).
   */
  readonly maxOutputTokens: number | undefined;
  /** Top-level fields this target's upstream gets where the request has none of that name (`body` of the target). */
  readonly body: Readonly<Record<string, unknown>> | undefined;

  constructor(
    readonly id: string,
    readonly provider: Provider,
    readonly model: string,
    readonly weight: number,
    readonly health: CircuitBreaker,
    maxOutputTokens?: number,
    body?: Readonly<Record<string, unknown>>,
  ) {
    this.maxOutputTokens = maxOutputTokens ?? knownOutputLimit(model);
    this.body = body;
  }

  recordFirstByte(milliseconds: number): void {
    // α = 0.2: reacts within a few requests to a latency spike without chasing noise.
    this.firstByteEwmaMs = this.firstByteEwmaMs === undefined ? milliseconds : this.firstByteEwmaMs * 0.8 + milliseconds * 0.2;
  }
}

/**
 * Keeps each deployment's health and latency across config reloads: a reload builds new routes, but
 * a deployment that was ejected a second ago stays ejected.
 */
export class DeploymentRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly latencies = new Map<string, Deployment>();

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
    let health = this.breakers.get(id);
    if (health === undefined) {
      health = new CircuitBreaker(this.breakerOptions, this.now);
      this.breakers.set(id, health);
    }
    const deployment = new Deployment(id, provider, model, weight, health, maxOutputTokens, body);
    const previous = this.latencies.get(id);
    if (previous !== undefined) deployment.firstByteEwmaMs = previous.firstByteEwmaMs;
    this.latencies.set(id, deployment);
    return deployment;
  }

  /** Every known deployment's health, for the admin API and metrics. */
  snapshot(): Array<{ id: string; inflight: number; firstByteEwmaMs: number | undefined } & ReturnType<CircuitBreaker['snapshot']>> {
    return [...this.latencies.values()].map((deployment) => ({
      id: deployment.id,
      inflight: deployment.inflight,
      firstByteEwmaMs: deployment.firstByteEwmaMs,
      ...deployment.health.snapshot(),
    }));
  }
}
