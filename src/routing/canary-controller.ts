import { createHash } from 'node:crypto';
import type { CanarySettings } from '../config/relay-config.js';
import type { CanaryCheck, CanaryPhase, CanarySamples, CanaryState, CanaryStore } from '../store/relay-store.js';

export type { CanaryCheck, CanaryPhase } from '../store/relay-store.js';

export interface CanarySnapshot {
  model: string;
  phase: CanaryPhase;
  weight: number;
  failedChecks: number;
  settings: CanarySettings;
  history: CanaryCheck[];
  /** The shared state's version this replica follows; 0 while it has none. */
  version: number;
  /** False while a change made here could not be written to the store (it is retried). */
  synced: boolean;
}

/** The buttons of a canary (admin API, CLI, dashboard). */
export const canaryActions = ['promote', 'pause', 'resume', 'rollback'] as const;
export type CanaryAction = (typeof canaryActions)[number];

export interface CanaryControllerOptions {
  /** Where the state is shared: with other replicas (Postgres), across restarts (SQLite). */
  store: CanaryStore;
  /** This process's name among the replicas sharing the store. */
  replica: string;
  now?: () => number;
  /** A change made by this replica (an analysis step or a button). */
  onChange?: (snapshot: CanarySnapshot, check: CanaryCheck) => void;
  /** A store call that failed; the controller goes on with what it knows and retries. */
  onError?: (error: unknown, during: string) => void;
  /** How often the shared state is read between analyses (a button pressed at another replica). */
  syncIntervalMs?: number;
}

/** Latencies kept per replica and interval; above this a uniform sample stands for them. */
const latencySampleSize = 2_000;
const historyLength = 200;

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
 * The name of a canary's configuration in the store: a changed canary (targets or settings) starts
 * over. A target's own key is not part of it: rotating the candidate's key keeps the canary where it is.
 */
export function canaryFingerprint(settings: CanarySettings): string {
  return fingerprintOf({ ...settings, targets: settings.targets.map(({ apiKey: _key, ...target }) => target) });
}

/** The name releases before keys were left out gave a canary (its state is taken over once). */
function keyedFingerprint(settings: CanarySettings): string {
  return fingerprintOf(settings);
}

function fingerprintOf(settings: CanarySettings): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
}

/** One replica's outcomes of the candidate in one analysis interval. */
class IntervalSamples {
  requests = 0;
  successes = 0;
  readonly latenciesMs: number[] = [];

  constructor(readonly interval: number) {}

  add(ok: boolean, latencyMs: number): void {
    this.requests++;
    if (ok) this.successes++;
    const rounded = Math.round(latencyMs * 10) / 10;
    if (this.latenciesMs.length < latencySampleSize) this.latenciesMs.push(rounded);
    else {
      // Reservoir sampling: every latency of the interval has the same chance to be kept.
      const slot = Math.floor(Math.random() * this.requests);
      if (slot < latencySampleSize) this.latenciesMs[slot] = rounded;
    }
  }
}

/**
 * The seed's canary migration without Flagger: the candidate first gets `initialWeight` % of a
 * route's requests (each on its own, or sticky per end user: see `UpstreamCall.stickyKey`), and every `intervalMs` the candidate's success rate and p99
 * latency are checked against the thresholds. A healthy check adds `stepWeight` %; a healthy check at
 * `maxWeight` promotes the candidate to all traffic; `threshold` failed checks roll it back to 0 %.
 * Checks with fewer than `minRequests` candidate requests neither pass nor fail.
 *
 * The state lives in the store, so it outlives a restart and replicas share it. Intervals are
 * aligned to the wall clock (`floor(now / intervalMs)`): at the end of one, every replica writes
 * what it saw of the candidate, and a moment later (a quarter of the interval, at most 2 s) each
 * one tries to decide the interval from all replicas' samples. The decision is written over the
 * version it was made from, so exactly one replica's decision lands and the others adopt it; a
 * button pressed at any replica is written the same way and read by the others within
 * `syncIntervalMs`. When the store fails, a replica decides from its own samples, routes by that,
 * and writes it once the store answers again (unless another replica changed the canary first).
 */
export class CanaryController {
  readonly fingerprint: string;
  /** Resolves once the shared state has been read (or found missing and written). */
  readonly ready: Promise<void>;
  private state: CanaryState;
  private loaded = false;
  /** A change made here that the store has not taken yet. */
  private unsynced = false;
  private readonly buckets = new Map<number, IntervalSamples>();
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private syncTimer: NodeJS.Timeout | undefined;
  private started = false;
  /** One store conversation at a time: analyses, buttons and syncs never interleave their reads and writes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly model: string,
    readonly settings: CanarySettings,
    private readonly options: CanaryControllerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.fingerprint = canaryFingerprint(settings);
    this.state = this.initialState();
    this.ready = this.serially(() => this.load());
  }

  /** Whether this request goes to the candidate; the same sticky key always gets the same answer at one weight. */
  routesToCandidate(stickyKey: string): boolean {
    // Until the shared state is known, the candidate gets nothing: it may have been rolled back.
    if (!this.loaded) return false;
    const { phase, weight } = this.state;
    if (phase === 'promoted') return true;
    if (phase === 'rolled_back') return false;
    return bucketOf(`${stickyKey}\u0000${this.model}`) < weight;
  }

  /** The candidate's share of traffic now, in percent. */
  get weight(): number {
    return this.loaded ? this.state.weight : 0;
  }

  /** An outcome of the candidate (the stable side needs no judging). */
  record(ok: boolean, latencyMs: number): void {
    if (this.state.phase !== 'progressing' && this.state.phase !== 'paused') return;
    const interval = Math.floor(this.now() / this.settings.intervalMs);
    let bucket = this.buckets.get(interval);
    if (bucket === undefined) this.buckets.set(interval, (bucket = new IntervalSamples(interval)));
    bucket.add(ok, latencyMs);
  }

  /** Runs the analysis at the end of each interval and follows the shared state between them. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.scheduleNextInterval();
    this.syncTimer = setInterval(() => void this.sync(), this.options.syncIntervalMs ?? 1_000);
    this.syncTimer.unref();
  }

  stop(): void {
    this.started = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
  }

  /**
   * Ends interval `interval` for this replica and decides it: writes this replica's samples, then
   * (unless another replica already has) judges all replicas' samples and writes the outcome.
   * Called by the timers; public for tests, which give `decide: false` to only write the samples.
   */
  analyse(interval: number, { decide = true }: { decide?: boolean } = {}): Promise<CanaryCheck | undefined> {
    return this.serially(async () => {
      await this.flushSamples(interval);
      return decide ? this.decide(interval) : undefined;
    });
  }

  promote(): Promise<CanarySnapshot> {
    return this.act('promote');
  }

  rollback(): Promise<CanarySnapshot> {
    return this.act('rollback');
  }

  pause(): Promise<CanarySnapshot> {
    return this.act('pause');
  }

  /** Resumes a paused analysis, or restarts a rolled-back one from the initial weight. */
  resume(): Promise<CanarySnapshot> {
    return this.act('resume');
  }

  /** Reads the shared state and follows it; writes a change made here while the store was failing. */
  sync(): Promise<void> {
    return this.serially(async () => {
      try {
        if (await this.pushUnsynced()) return;
        const stored = await this.options.store.get(this.model, this.fingerprint);
        if (stored === undefined) {
          // The row is gone (the database was emptied): this replica's state is shared again.
          const first = { ...this.state, version: 1 };
          if (await this.options.store.compareAndSet(first)) this.adopt(first);
        } else if (stored.version !== this.state.version || this.unsynced) {
          this.adopt(stored);
        }
      } catch (error) {
        this.options.onError?.(error, 'sync');
      }
    });
  }

  snapshot(): CanarySnapshot {
    const { phase, weight, failedChecks, history, version } = this.state;
    return { model: this.model, phase, weight, failedChecks, settings: this.settings, history: [...history], version, synced: !this.unsynced };
  }

  private initialState(): CanaryState {
    return {
      model: this.model,
      fingerprint: this.fingerprint,
      phase: 'progressing',
      weight: this.settings.initialWeight,
      failedChecks: 0,
      decidedInterval: -1,
      history: [],
      version: 0,
      updatedAt: this.now(),
    };
  }

  private async load(): Promise<void> {
    try {
      let stored = await this.options.store.get(this.model, this.fingerprint);
      if (stored === undefined) {
        // A canary whose targets have keys of their own was stored under a name with the keys in it.
        const keyed = keyedFingerprint(this.settings);
        const earlier = keyed === this.fingerprint ? undefined : await this.options.store.get(this.model, keyed);
        const first = earlier === undefined ? { ...this.initialState(), version: 1 } : { ...earlier, fingerprint: this.fingerprint, version: 1 };
        stored = (await this.options.store.compareAndSet(first)) ? first : await this.options.store.get(this.model, this.fingerprint);
      }
      if (stored !== undefined) this.state = stored;
    } catch (error) {
      // Without the store this replica starts the canary alone, from its initial weight.
      this.unsynced = true;
      this.options.onError?.(error, 'load');
    }
    this.loaded = true;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => {});
    return result;
  }

  private scheduleNextInterval(): void {
    if (!this.started) return;
    const intervalMs = this.settings.intervalMs;
    const now = this.now();
    const interval = Math.floor(now / intervalMs);
    const end = (interval + 1) * intervalMs;
    // Other replicas write their samples at the interval's end too; the decision waits for them.
    const grace = Math.min(2_000, Math.floor(intervalMs / 4));
    this.after(end - now + 1, () => {
      void this.serially(() => this.flushSamples(interval));
      this.scheduleNextInterval();
    });
    this.after(end - now + grace, () => void this.analyse(interval));
  }

  private after(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Writes this replica's samples of `interval` and earlier intervals to the store. */
  private async flushSamples(interval: number): Promise<void> {
    for (const bucket of [...this.buckets.values()].sort((left, right) => left.interval - right.interval)) {
      if (bucket.interval > interval) continue;
      try {
        await this.options.store.addSamples(this.model, this.fingerprint, bucket.interval, {
          replica: this.options.replica,
          requests: bucket.requests,
          successes: bucket.successes,
          latenciesMs: bucket.latenciesMs,
        });
        this.buckets.delete(bucket.interval);
      } catch (error) {
        this.options.onError?.(error, 'samples');
        // Kept for a local decision; dropped once older than the interval being decided.
        if (bucket.interval < interval) this.buckets.delete(bucket.interval);
        return;
      }
    }
  }

  /**
   * Writes a change this replica made while the store was failing, over the version it was made
   * from; returns whether it did. Another replica's change since then wins (the caller reads it).
   */
  private async pushUnsynced(): Promise<boolean> {
    if (!this.unsynced) return false;
    const state = { ...this.state, version: this.state.version + 1 };
    if (!(await this.options.store.compareAndSet(state))) return false;
    this.state = state;
    this.unsynced = false;
    return true;
  }

  private async decide(interval: number): Promise<CanaryCheck | undefined> {
    const store = this.options.store;
    try {
      await this.pushUnsynced();
      for (let attempt = 0; attempt < 5; attempt++) {
        // No row (the database was emptied): the decision is written as a first version.
        const current = (await store.get(this.model, this.fingerprint)) ?? { ...this.state, version: 0 };
        // A promoted or rolled-back canary has nothing to judge: no empty check pushes its decisions out of the history.
        if (current.decidedInterval >= interval || settled(current)) {
          this.adopt(current);
          return undefined;
        }
        const { state, check } = analysisStep(current, combine(await store.samples(this.model, this.fingerprint, interval)), this.settings, interval, this.now());
        if (await store.compareAndSet(state)) {
          this.adopt(state);
          this.options.onChange?.(this.snapshot(), check);
          await store.pruneSamples(this.model, this.fingerprint, interval - 1);
          return check;
        }
      }
      return undefined;
    } catch (error) {
      this.options.onError?.(error, 'analysis');
      // Decided alone from this replica's samples; written when the store answers again.
      const own = this.buckets.get(interval);
      this.buckets.delete(interval);
      if (settled(this.state)) return undefined;
      const samples = own === undefined ? [] : [{ replica: this.options.replica, requests: own.requests, successes: own.successes, latenciesMs: own.latenciesMs }];
      const { state, check } = analysisStep(this.state, combine(samples), this.settings, interval, this.now());
      this.state = { ...state, version: this.state.version };
      this.unsynced = true;
      this.options.onChange?.(this.snapshot(), check);
      return check;
    }
  }

  private act(action: CanaryAction): Promise<CanarySnapshot> {
    return this.serially(async () => {
      let check: CanaryCheck | undefined;
      try {
        await this.pushUnsynced();
        for (let attempt = 0; attempt < 5 && check === undefined; attempt++) {
          const current = (await this.options.store.get(this.model, this.fingerprint)) ?? { ...this.state, version: 0 };
          const next = manualStep(current, action, this.settings, this.now());
          if (await this.options.store.compareAndSet(next.state)) {
            this.adopt(next.state);
            check = next.check;
          }
        }
      } catch (error) {
        this.options.onError?.(error, action);
      }
      if (check === undefined) {
        // The store did not take it: the button still acts here, and the change is written later.
        const next = manualStep(this.state, action, this.settings, this.now());
        this.state = { ...next.state, version: this.state.version };
        this.unsynced = true;
        check = next.check;
      }
      this.options.onChange?.(this.snapshot(), check);
      return this.snapshot();
    });
  }

  /** Follows the store: a state just written or read there (store calls never overlap, see `serially`). */
  private adopt(state: CanaryState): void {
    this.state = state;
    this.unsynced = false;
  }
}

/** Whether the analysis is over: the candidate was promoted or rolled back (until a button moves it again). */
function settled(state: CanaryState): boolean {
  return state.phase === 'promoted' || state.phase === 'rolled_back';
}

interface IntervalSummary {
  requests: number;
  successes: number;
  /** Latencies with how many requests each stands for. */
  latencies: Array<{ ms: number; weight: number }>;
}

function combine(samples: readonly CanarySamples[]): IntervalSummary {
  const summary: IntervalSummary = { requests: 0, successes: 0, latencies: [] };
  for (const replica of samples) {
    summary.requests += replica.requests;
    summary.successes += replica.successes;
    const weight = replica.latenciesMs.length === 0 ? 0 : replica.requests / replica.latenciesMs.length;
    for (const ms of replica.latenciesMs) summary.latencies.push({ ms, weight });
  }
  return summary;
}

/** The latency below which `quantile` of the requests fall (with every latency kept: the exact percentile). */
function percentile(latencies: IntervalSummary['latencies'], quantile: number): number {
  const sorted = [...latencies].sort((left, right) => left.ms - right.ms);
  const total = sorted.reduce((sum, entry) => sum + entry.weight, 0);
  let seen = 0;
  for (const entry of sorted) {
    seen += entry.weight;
    if (seen >= quantile * total - 1e-9) return entry.ms;
  }
  return sorted.at(-1)?.ms ?? 0;
}

/** The outcome of one interval's analysis: the next state and the check the history keeps. */
function analysisStep(current: CanaryState, summary: IntervalSummary, settings: CanarySettings, interval: number, at: number): { state: CanaryState; check: CanaryCheck } {
  const { requests } = summary;
  const successRate = requests === 0 ? null : (summary.successes / requests) * 100;
  const latencyP99Ms = requests === 0 ? null : percentile(summary.latencies, 0.99);
  let { phase, weight, failedChecks } = current;
  let verdict: CanaryCheck['verdict'] = 'skip';
  let action: CanaryCheck['action'] = 'hold';
  if (phase === 'progressing' && requests >= settings.minRequests) {
    const healthy = (successRate ?? 0) >= settings.minSuccessRate && (latencyP99Ms ?? 0) <= settings.maxLatencyP99Ms;
    verdict = healthy ? 'pass' : 'fail';
    if (healthy && weight >= settings.maxWeight) {
      phase = 'promoted';
      weight = 100;
      action = 'promote';
    } else if (healthy) {
      weight = Math.min(weight + settings.stepWeight, settings.maxWeight);
      action = 'step';
    } else if (++failedChecks >= settings.threshold) {
      phase = 'rolled_back';
      weight = 0;
      action = 'rollback';
    }
  }
  const check: CanaryCheck = { at, weight, requests, successRate, latencyP99Ms, verdict, action };
  return { state: next(current, { phase, weight, failedChecks, decidedInterval: Math.max(current.decidedInterval, interval) }, check, at), check };
}

function manualStep(current: CanaryState, action: CanaryAction, settings: CanarySettings, at: number): { state: CanaryState; check: CanaryCheck } {
  let { phase, weight, failedChecks } = current;
  if (action === 'promote') {
    phase = 'promoted';
    weight = 100;
  } else if (action === 'rollback') {
    phase = 'rolled_back';
    weight = 0;
  } else if (action === 'pause') {
    if (phase === 'progressing') phase = 'paused';
  } else {
    if (phase === 'rolled_back') {
      weight = settings.initialWeight;
      failedChecks = 0;
    }
    if (phase !== 'promoted') phase = 'progressing';
  }
  const check: CanaryCheck = { at, weight, requests: 0, successRate: null, latencyP99Ms: null, verdict: 'manual', action };
  return { state: next(current, { phase, weight, failedChecks, decidedInterval: current.decidedInterval }, check, at), check };
}

function next(current: CanaryState, change: Pick<CanaryState, 'phase' | 'weight' | 'failedChecks' | 'decidedInterval'>, check: CanaryCheck, at: number): CanaryState {
  return { ...current, ...change, history: [...current.history, check].slice(-historyLength), version: current.version + 1, updatedAt: at };
}
