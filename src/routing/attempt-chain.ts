import { setTimeout as sleep } from 'node:timers/promises';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { UpstreamError } from '../spec/relay-error.js';
import type { Target } from './model-router.js';
import { failurePolicy, retryDelayMs } from './retry-policy.js';

export interface AttemptChainOptions {
  targets: readonly Target[];
  maxRetries: number;
  signal: AbortSignal;
  /** Epoch ms after which no new attempt starts and no wait is begun. */
  deadline: number;
  random?: () => number;
  wait?: (milliseconds: number, signal: AbortSignal) => Promise<void>;
  /** Told of every failed attempt, for logs and metrics. */
  onAttemptFailed?: (error: UpstreamError, target: Target, attempt: number) => void;
}

export interface AttemptOutcome<T> {
  value: T;
  target: Target;
  attempts: number;
}

/** Carries how many attempts were made when every one failed. */
export class AttemptsExhaustedError extends Error {
  constructor(
    readonly last: UpstreamError,
    readonly attempts: number,
  ) {
    super(`all ${attempts} attempt(s) failed; last: ${last.message}`, { cause: last });
    this.name = 'AttemptsExhaustedError';
  }
}

const abortableSleep = (milliseconds: number, signal: AbortSignal) => sleep(milliseconds, undefined, { signal }).then(() => undefined);

/**
 * Runs `attempt` until one succeeds, at most `1 + maxRetries` times. A retry goes to a target that has
 * not failed this request when there is one. It waits as the retry policy says, but never past the
 * deadline: a wait that does not fit ends the chain with the last failure. Only failures before
 * anything reached the client come here; callers never retry after the first byte.
 */
export async function runAttemptChain<T>(options: AttemptChainOptions, attempt: (target: Target) => Promise<T>): Promise<AttemptOutcome<T>> {
  const { targets, maxRetries, signal, deadline } = options;
  const wait = options.wait ?? abortableSleep;
  const failed = new Set<Target>();
  const first = targets[0];
  if (first === undefined) throw new Error('no target to attempt');
  let target: Target = first;
  for (let attempts = 1; ; attempts++) {
    try {
      return { value: await attempt(target), target, attempts };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      failed.add(target);
      options.onAttemptFailed?.(error, target, attempts);
      const policy = failurePolicy[error.reason];
      const untried = targets.find((candidate) => !failed.has(candidate));
      const canContinue = attempts <= maxRetries && !signal.aborted && (policy.retry || (policy.otherDeployment && untried !== undefined));
      if (!canContinue) throw new AttemptsExhaustedError(error, attempts);
      const next: Target | undefined = untried ?? (policy.retry ? target : undefined);
      if (next === undefined) throw new AttemptsExhaustedError(error, attempts);
      // Moving to a fresh deployment needs no back-off; retrying the same one does.
      const delay = next === target || untried === undefined ? retryDelayMs(attempts - 1, error.retryAfterMs, options.random) : 0;
      if (Date.now() + delay >= deadline) throw new AttemptsExhaustedError(error, attempts);
      if (delay > 0) {
        try {
          await wait(delay, signal);
        } catch (sleepError) {
          throw new CallAbortedError(sleepError);
        }
      }
      target = next;
    }
  }
}
