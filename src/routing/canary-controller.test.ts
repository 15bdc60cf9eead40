import { describe, expect, it } from 'vitest';
import type { CanarySettings } from '../config/relay-config.js';
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

function feed(controller: CanaryController, count: number, ok: boolean, latencyMs = 100): void {
  for (let index = 0; index < count; index++) controller.record(ok, latencyMs);
}

describe('CanaryController', () => {
  it("steps a healthy candidate up by the seed's 10 % from 5 % to 50 %, then promotes it", () => {
    const controller = new CanaryController('gpt-4.1', settings, () => 0);
    const weights: number[] = [];
    for (let step = 0; step < 7; step++) {
      feed(controller, 20, true);
      weights.push(controller.check().weight);
    }
    expect(weights).toEqual([15, 25, 35, 45, 50, 100, 100]);
    expect(controller.snapshot().phase).toBe('promoted');
    expect(controller.routesToCandidate('any-client')).toBe(true);
  });

  it('rolls back after five failed checks (success rate under 99 % or p99 over 1000 ms)', () => {
    const controller = new CanaryController('gpt-4.1', settings, () => 0);
    for (let check = 0; check < 4; check++) {
      feed(controller, 95, true);
      feed(controller, 5, false);
      expect(controller.check()).toMatchObject({ verdict: 'fail', action: 'hold', weight: 5 });
    }
    feed(controller, 20, true, 1500);
    expect(controller.check()).toMatchObject({ verdict: 'fail', action: 'rollback', weight: 0 });
    expect(controller.snapshot().phase).toBe('rolled_back');
    expect(controller.routesToCandidate('any-client')).toBe(false);
  });

  it('neither passes nor fails a check with too few candidate requests', () => {
    const controller = new CanaryController('gpt-4.1', settings, () => 0);
    feed(controller, 3, false);
    expect(controller.check()).toMatchObject({ verdict: 'skip', action: 'hold', weight: 5, requests: 3 });
  });

  it('is sticky per client and splits clients by weight', () => {
    const controller = new CanaryController('gpt-4.1', { ...settings, initialWeight: 30 }, () => 0);
    const clients = Array.from({ length: 2000 }, (_, index) => `client-${index}`);
    const first = clients.map((client) => controller.routesToCandidate(client));
    expect(clients.map((client) => controller.routesToCandidate(client))).toEqual(first);
    const share = first.filter(Boolean).length / clients.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
  });

  it('pauses, resumes, promotes and rolls back by hand, keeping the history', () => {
    const controller = new CanaryController('gpt-4.1', settings, () => 0);
    controller.pause();
    feed(controller, 20, true);
    expect(controller.check()).toMatchObject({ verdict: 'skip', weight: 5 });
    controller.resume();
    controller.rollback();
    expect(controller.snapshot()).toMatchObject({ phase: 'rolled_back', weight: 0 });
    controller.resume();
    expect(controller.snapshot()).toMatchObject({ phase: 'progressing', weight: 5 });
    controller.promote();
    expect(controller.snapshot().history.map((check) => check.action)).toEqual(['pause', 'hold', 'resume', 'rollback', 'resume', 'promote']);
  });
});
