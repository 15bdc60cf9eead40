import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CanarySettings } from '../config/relay-config.js';
import { MemoryCanaryStore } from '../store/memory-canary-store.js';
import type { CanaryStore } from '../store/relay-store.js';
import { CanaryController } from './canary-controller.js';

const settings: CanarySettings = {
  targets: [],
  initialWeight: 5,
  stepWeight: 10,
  maxWeight: 50,
  intervalMs: 60_000,
  threshold: 5,
  minSuccessRate: 99,
  maxLatencyP99Ms: 1000,
  minRequests: 10,
};

/** A fake wall clock shared by the replicas of a test: `interval` moves it into an analysis interval. */
class Clock {
  ms = 0;
  readonly now = () => this.ms;
  interval(index: number): number {
    this.ms = index * settings.intervalMs + 1;
    return index;
  }
}

async function replica(store: CanaryStore, clock: Clock, name = 'a', overrides: Partial<CanarySettings> = {}): Promise<CanaryController> {
  const controller = new CanaryController('gpt-4.1', { ...settings, ...overrides }, { store, replica: name, now: clock.now });
  await controller.ready;
  return controller;
}

function feed(controller: CanaryController, count: number, ok: boolean, latencyMs = 100): void {
  for (let index = 0; index < count; index++) controller.record(ok, latencyMs);
}

/** A store whose every call fails while `down` is set, and that `wipe` empties. */
function flakyStore(): CanaryStore & { down: boolean; wipe: () => void } {
  let inner = new MemoryCanaryStore();
  const store = {
    down: false,
    wipe: () => {
      inner = new MemoryCanaryStore();
    },
  } as unknown as CanaryStore & { down: boolean; wipe: () => void };
  for (const method of ['get', 'compareAndSet', 'addSamples', 'samples', 'pruneSamples'] as const) {
    (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      store.down ? Promise.reject(new Error('store unreachable')) : (inner[method] as (...values: unknown[]) => Promise<unknown>).apply(inner, args);
  }
  return store;
}

describe('CanaryController', () => {
  it("steps a healthy candidate up by the seed's 10 % from 5 % to 50 %, then promotes it", async () => {
    const clock = new Clock();
    const controller = await replica(new MemoryCanaryStore(), clock);
    const weights: number[] = [];
    for (let step = 0; step < 7; step++) {
      clock.interval(step);
      feed(controller, 20, true);
      await controller.analyse(step);
      weights.push(controller.snapshot().weight);
    }
    expect(weights).toEqual([15, 25, 35, 45, 50, 100, 100]);
    expect(controller.snapshot().phase).toBe('promoted');
    expect(controller.routesToCandidate('any-client')).toBe(true);
  });

  it('rolls back after five failed checks (success rate under 99 % or p99 over 1000 ms)', async () => {
    const clock = new Clock();
    const controller = await replica(new MemoryCanaryStore(), clock);
    for (let check = 0; check < 4; check++) {
      clock.interval(check);
      feed(controller, 95, true);
      feed(controller, 5, false);
      expect(await controller.analyse(check)).toMatchObject({ verdict: 'fail', action: 'hold', weight: 5 });
    }
    clock.interval(4);
    feed(controller, 20, true, 1500);
    expect(await controller.analyse(4)).toMatchObject({ verdict: 'fail', action: 'rollback', weight: 0 });
    expect(controller.snapshot().phase).toBe('rolled_back');
    expect(controller.routesToCandidate('any-client')).toBe(false);
  });

  it('neither passes nor fails a check with too few candidate requests', async () => {
    const clock = new Clock();
    const controller = await replica(new MemoryCanaryStore(), clock);
    feed(controller, 3, false);
    expect(await controller.analyse(0)).toMatchObject({ verdict: 'skip', action: 'hold', weight: 5, requests: 3 });
  });

  it('is sticky per client and splits clients by weight', async () => {
    const controller = await replica(new MemoryCanaryStore(), new Clock(), 'a', { initialWeight: 30 });
    const clients = Array.from({ length: 2000 }, (_, index) => `client-${index}`);
    const first = clients.map((client) => controller.routesToCandidate(client));
    expect(clients.map((client) => controller.routesToCandidate(client))).toEqual(first);
    const share = first.filter(Boolean).length / clients.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
  });

  it('sends nothing to the candidate until it has read the shared state', async () => {
    const store = new MemoryCanaryStore();
    const controller = new CanaryController('gpt-4.1', { ...settings, initialWeight: 100 }, { store, replica: 'a' });
    expect(controller.routesToCandidate('client')).toBe(false);
    await controller.ready;
    expect(controller.routesToCandidate('client')).toBe(true);
  });

  it('pauses, resumes, promotes and rolls back by hand, keeping the history', async () => {
    const clock = new Clock();
    const controller = await replica(new MemoryCanaryStore(), clock);
    await controller.pause();
    feed(controller, 20, true);
    expect(await controller.analyse(0)).toMatchObject({ verdict: 'skip', weight: 5 });
    await controller.resume();
    await controller.rollback();
    expect(controller.snapshot()).toMatchObject({ phase: 'rolled_back', weight: 0 });
    await controller.resume();
    expect(controller.snapshot()).toMatchObject({ phase: 'progressing', weight: 5 });
    await controller.promote();
    expect(controller.snapshot().history.map((check) => check.action)).toEqual(['pause', 'hold', 'resume', 'rollback', 'resume', 'promote']);
  });

  it('takes over the state an earlier release stored under a name with the targets\' keys in it', async () => {
    const store = new MemoryCanaryStore();
    const keyed: CanarySettings = { ...settings, targets: [{ provider: 'holysheep', model: 'gpt-4.1', weight: 1, apiKey: 'hs-key-0123456789' }] };
    const earlierName = createHash('sha256').update(JSON.stringify(keyed)).digest('hex').slice(0, 16);
    const history = [{ at: 1, weight: 100, requests: 0, successRate: null, latencyP99Ms: null, verdict: 'manual' as const, action: 'promote' as const }];
    await store.compareAndSet({ model: 'gpt-4.1', fingerprint: earlierName, phase: 'promoted', weight: 100, failedChecks: 0, decidedInterval: 3, history, version: 1, updatedAt: 1 });
    const controller = new CanaryController('gpt-4.1', keyed, { store, replica: 'a', now: new Clock().now });
    await controller.ready;
    expect(controller.fingerprint).not.toBe(earlierName);
    expect(controller.snapshot()).toMatchObject({ phase: 'promoted', weight: 100, history });
    expect(await store.get('gpt-4.1', controller.fingerprint)).toMatchObject({ phase: 'promoted', version: 1 });
  });

  it('outlives a restart, and starts over when its configuration changes', async () => {
    const store = new MemoryCanaryStore();
    const clock = new Clock();
    const before = await replica(store, clock);
    feed(before, 20, true);
    await before.analyse(0);
    await before.rollback();
    before.stop();
    const after = await replica(store, clock);
    expect(after.snapshot()).toMatchObject({ phase: 'rolled_back', weight: 0 });
    expect(after.snapshot().history.map((check) => check.action)).toEqual(['step', 'rollback']);
    const changed = await replica(store, clock, 'a', { maxWeight: 60 });
    expect(changed.snapshot()).toMatchObject({ phase: 'progressing', weight: 5, history: [] });
  });

  it("judges every replica's samples together and moves once per interval", async () => {
    const store = new MemoryCanaryStore();
    const clock = new Clock();
    const [a, b] = [await replica(store, clock, 'a'), await replica(store, clock, 'b')];
    // Six requests each: too few alone (minRequests 10), enough together.
    feed(a, 6, true, 100);
    feed(b, 6, true, 200);
    await a.analyse(0, { decide: false });
    const checks = await Promise.all([b.analyse(0), a.analyse(0)]);
    expect(checks.filter((check) => check !== undefined)).toEqual([expect.objectContaining({ requests: 12, verdict: 'pass', action: 'step', weight: 15 })]);
    expect([a.snapshot().weight, b.snapshot().weight]).toEqual([15, 15]);
    expect(a.snapshot().history).toEqual(b.snapshot().history);

    // A candidate slow at one replica only: its p99 is the p99 of all requests, and fails.
    clock.interval(1);
    feed(a, 200, true, 100);
    feed(b, 10, true, 1500);
    await a.analyse(1, { decide: false });
    await b.analyse(1);
    await a.analyse(1);
    expect(a.snapshot().history.at(-1)).toMatchObject({ requests: 210, latencyP99Ms: 1500, verdict: 'fail', action: 'hold' });
    expect(a.snapshot().failedChecks).toBe(1);
  });

  it('follows a button pressed at another replica at its next sync', async () => {
    const store = new MemoryCanaryStore();
    const clock = new Clock();
    const [a, b] = [await replica(store, clock, 'a'), await replica(store, clock, 'b')];
    await a.rollback();
    expect(b.snapshot()).toMatchObject({ phase: 'progressing', weight: 5 });
    await b.sync();
    expect(b.snapshot()).toMatchObject({ phase: 'rolled_back', weight: 0, version: a.snapshot().version });
    await b.resume();
    await a.sync();
    expect(a.snapshot()).toMatchObject({ phase: 'progressing', weight: 5 });
    expect(a.snapshot().history.map((check) => check.action)).toEqual(['rollback', 'resume']);
  });

  it('goes on alone while the store fails, and writes its change when it answers again', async () => {
    const store = flakyStore();
    const clock = new Clock();
    const a = await replica(store, clock, 'a');
    store.down = true;
    for (let check = 0; check < 5; check++) {
      clock.interval(check);
      feed(a, 20, false);
      await a.analyse(check);
    }
    expect(a.snapshot()).toMatchObject({ phase: 'rolled_back', weight: 0, synced: false });
    store.down = false;
    await a.sync();
    expect(a.snapshot()).toMatchObject({ phase: 'rolled_back', synced: true });
    const b = await replica(store, clock, 'b');
    expect(b.snapshot()).toMatchObject({ phase: 'rolled_back', weight: 0 });
  });

  it("lets another replica's change made meanwhile win over a change made without the store", async () => {
    const store = flakyStore();
    const clock = new Clock();
    const [a, b] = [await replica(store, clock, 'a'), await replica(store, clock, 'b')];
    store.down = true;
    await a.pause();
    expect(a.snapshot()).toMatchObject({ phase: 'paused', synced: false });
    store.down = false;
    await b.promote();
    await a.sync();
    expect(a.snapshot()).toMatchObject({ phase: 'promoted', weight: 100, synced: true });
  });

  it('writes its state again when the database lost it, and goes on deciding', async () => {
    const store = flakyStore();
    const clock = new Clock();
    const a = await replica(store, clock, 'a');
    await a.rollback();
    await a.resume();
    store.wipe();
    await a.sync();
    const b = await replica(store, clock, 'b');
    expect(b.snapshot()).toMatchObject({ phase: 'progressing', weight: 5, version: 1 });
    expect(b.snapshot().history.map((check) => check.action)).toEqual(['rollback', 'resume']);
    store.wipe();
    clock.interval(3);
    feed(a, 20, true);
    expect(await a.analyse(3)).toMatchObject({ action: 'step', weight: 15 });
    expect(a.snapshot().version).toBe(1);
  });
});
