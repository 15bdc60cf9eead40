import type { CanarySamples, CanaryState, CanaryStore } from './relay-store.js';

/** Canary state in maps, for one process (tests, the memory store): the same semantics as in SQL. */
export class MemoryCanaryStore implements CanaryStore {
  private readonly states = new Map<string, CanaryState>();
  /** By canary, then interval, then replica. */
  private readonly samplesByCanary = new Map<string, Map<number, Map<string, CanarySamples>>>();

  async get(model: string, fingerprint: string): Promise<CanaryState | undefined> {
    const state = this.states.get(canaryKey(model, fingerprint));
    return state === undefined ? undefined : structuredClone(state);
  }

  async compareAndSet(state: CanaryState): Promise<boolean> {
    const key = canaryKey(state.model, state.fingerprint);
    const stored = this.states.get(key);
    if ((stored?.version ?? 0) !== state.version - 1) return false;
    this.states.set(key, structuredClone(state));
    return true;
  }

  async addSamples(model: string, fingerprint: string, interval: number, samples: CanarySamples): Promise<void> {
    const key = canaryKey(model, fingerprint);
    let intervals = this.samplesByCanary.get(key);
    if (intervals === undefined) this.samplesByCanary.set(key, (intervals = new Map()));
    let replicas = intervals.get(interval);
    if (replicas === undefined) intervals.set(interval, (replicas = new Map()));
    replicas.set(samples.replica, structuredClone(samples));
  }

  async samples(model: string, fingerprint: string, interval: number): Promise<CanarySamples[]> {
    const replicas = this.samplesByCanary.get(canaryKey(model, fingerprint))?.get(interval);
    return replicas === undefined ? [] : [...replicas.values()].sort((left, right) => (left.replica < right.replica ? -1 : 1)).map((samples) => structuredClone(samples));
  }

  async pruneSamples(model: string, fingerprint: string, interval: number): Promise<void> {
    const intervals = this.samplesByCanary.get(canaryKey(model, fingerprint));
    for (const stored of intervals?.keys() ?? []) if (stored < interval) intervals?.delete(stored);
  }
}

function canaryKey(model: string, fingerprint: string): string {
  return `${model}\u0000${fingerprint}`;
}
