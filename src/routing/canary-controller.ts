import type { CanarySettings } from '../config/relay-config.js';

export type CanaryPhase = 'progressing' | 'paused' | 'promoted' | 'rolled_back';

/** One analysis step, kept in the history that the admin API shows. */
export interface CanaryCheck {
  at: number;
  weight: number;
  requests: number;
  successRate: number | null;
  latencyP99Ms: number | null;
  verdict: 'pass' | 'fail' | 'skip' | 'manual';
  action: 'step' | 'promote' | 'rollback' | 'hold' | 'pause' | 'resume';
}

export interface CanarySnapshot {
  model: string;
  phase: CanaryPhase;
  weight: number;
  failedChecks: number;
  settings: CanarySettings;
  history: CanaryCheck[];
}

/** FNV-1a: a fast, stable hash so that a client lands on the same side at every replica. */
function bucketOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return ((hash >>> 0) % 10_000) / 100;
}

/**
 * The seed's canary migration without Flagger: the candidate first gets `initialWeight` % of a
 * route's traffic (sticky per client), and every `intervalMs` the candidate's success rate and p99
 * latency are checked against the thresholds. A healthy check adds `stepWeight` %; a healthy check at
 * `maxWeight` promotes the candidate to all traffic; `threshold` failed checks roll it back to 0 %.
 * Checks with fewer than `minRequests` candidate requests neither pass nor fail.
 */
export class CanaryController {
  private phase: CanaryPhase = 'progressing';
  private weight: number;
  private failedChecks = 0;
  private readonly history: CanaryCheck[] = [];
  private samples: Array<{ ok: boolean; latencyMs: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly model: string,
    readonly settings: CanarySettings,
    private readonly now: () => number = Date.now,
    private readonly onChange: (snapshot: CanarySnapshot, check: CanaryCheck) => void = () => {},
  ) {
    this.weight = settings.initialWeight;
  }

  /** Whether this request goes to the candidate; the same client (and end user) always gets the same answer at one weight. */
  routesToCandidate(stickyKey: string): boolean {
    if (this.phase === 'promoted') return true;
    if (this.phase === 'rolled_back') return false;
    return bucketOf(`${stickyKey}\u0000${this.model}`) < this.weight;
  }

  /** An outcome of the candidate (the stable side needs no judging). */
  record(ok: boolean, latencyMs: number): void {
    if (this.phase !== 'progressing' && this.phase !== 'paused') return;
    this.samples.push({ ok, latencyMs });
    if (this.samples.length > 100_000) this.samples.shift();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), this.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One analysis step; called by the timer, public for tests with a fake clock. */
  check(): CanaryCheck {
    const samples = this.samples;
    this.samples = [];
    const requests = samples.length;
    const successes = samples.filter((sample) => sample.ok).length;
    const successRate = requests === 0 ? null : (successes / requests) * 100;
    const latencyP99Ms = requests === 0 ? null : percentile(samples.map((sample) => sample.latencyMs), 0.99);
    let verdict: CanaryCheck['verdict'] = 'skip';
    let action: CanaryCheck['action'] = 'hold';
    if (this.phase === 'progressing' && requests >= this.settings.minRequests) {
      const healthy = (successRate ?? 0) >= this.settings.minSuccessRate && (latencyP99Ms ?? 0) <= this.settings.maxLatencyP99Ms;
      verdict = healthy ? 'pass' : 'fail';
      if (healthy && this.weight >= this.settings.maxWeight) {
        this.phase = 'promoted';
        this.weight = 100;
        action = 'promote';
      } else if (healthy) {
        this.weight = Math.min(this.weight + this.settings.stepWeight, this.settings.maxWeight);
        action = 'step';
      } else if (++this.failedChecks >= this.settings.threshold) {
        this.phase = 'rolled_back';
        this.weight = 0;
        action = 'rollback';
      }
    }
    return this.remember({ at: this.now(), weight: this.weight, requests, successRate, latencyP99Ms, verdict, action });
  }

  promote(): CanarySnapshot {
    this.phase = 'promoted';
    this.weight = 100;
    this.remember(this.manual('promote'));
    return this.snapshot();
  }

  rollback(): CanarySnapshot {
    this.phase = 'rolled_back';
    this.weight = 0;
    this.remember(this.manual('rollback'));
    return this.snapshot();
  }

  pause(): CanarySnapshot {
    if (this.phase === 'progressing') this.phase = 'paused';
    this.remember(this.manual('pause'));
    return this.snapshot();
  }

  /** Resumes a paused analysis, or restarts a rolled-back one from the initial weight. */
  resume(): CanarySnapshot {
    if (this.phase === 'rolled_back') {
      this.weight = this.settings.initialWeight;
      this.failedChecks = 0;
    }
    if (this.phase !== 'promoted') this.phase = 'progressing';
    this.remember(this.manual('resume'));
    return this.snapshot();
  }

  snapshot(): CanarySnapshot {
    return { model: this.model, phase: this.phase, weight: this.weight, failedChecks: this.failedChecks, settings: this.settings, history: [...this.history] };
  }

  private manual(action: CanaryCheck['action']): CanaryCheck {
    return { at: this.now(), weight: this.weight, requests: 0, successRate: null, latencyP99Ms: null, verdict: 'manual', action };
  }

  private remember(check: CanaryCheck): CanaryCheck {
    this.history.push(check);
    if (this.history.length > 200) this.history.shift();
    this.onChange(this.snapshot(), check);
    return check;
  }
}

function percentile(values: number[], quantile: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
}
