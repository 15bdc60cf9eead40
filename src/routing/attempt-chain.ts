import { onAbort, type AbortLike } from '../providers/call-signal.js';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { UpstreamError, type FailureReason } from '../spec/relay-error.js';
import type { Deployment } from './deployment.js';
import type { FallbackKind, ResolvedModel } from './model-router.js';
import { failurePolicy, retryDelayMs } from './retry-policy.js';
import { hasAvailable, selectDeployment, selectOtherDeployment, type SelectOptions } from './select-deployment.js';

export interface AttemptChainOptions {
  primary: ResolvedModel;
  /** Models to fall back to for a kind of failure, in order (computed only when needed). */
  fallbacks: (kind: FallbackKind) => readonly ResolvedModel[];
  /** Keeps a client on one side of a canary. */
  stickyKey: string;
  /**
   * The provider that holds what the request refers to (a stored response): when the requested
   * model has deployments there, every attempt goes to them (on the client's side of a canary when
   * it has any there), and fallback models without any there are skipped; otherwise the request is
   * routed as usual.
   */
  pinnedProvider?: string;
  maxRetries: number;
  signal: AbortLike;
  /** Epoch ms after which no attempt starts and no wait begins. */
  deadline: number;
  random?: () => number;
  wait?: (milliseconds: number, signal: AbortLike) => Promise<void>;
  priceOf?: (deployment: Deployment) => number | undefined;
  /** Told of every failed attempt, for logs and metrics. */
  onAttemptFailed?: (error: UpstreamError, deployment: Deployment, attempt: number) => void;
  /** Told of every attempt as it starts, before `attempt` runs, with the model it serves. */
  onAttemptStart?: (deployment: Deployment, resolved: ResolvedModel) => void;
}

export interface AttemptOutcome<T> {
  value: T;
  deployment: Deployment;
  /** The model that answered (differs from the primary after a fallback). */
  resolved: ResolvedModel;
  attempts: number;
  /**
   * Call once the answer is complete (`ok`), failed after its first byte (`failed`), or was left
   * unfinished by the client (`abandoned`: says nothing about the deployment).
   */
  finish(result: 'ok' | 'failed' | 'abandoned'): void;
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

/** Waits, or rejects as soon as the call is aborted. */
function abortableSleep(milliseconds: number, signal: AbortLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      stopListening();
      resolve();
    }, milliseconds);
    const stopListening = onAbort(signal, () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    });
  });
}
const clientFault = new Set<FailureReason>(['invalid_request', 'not_found', 'context_length', 'content_filter']);
/**
 * Refusals of what the client sent (a 400 or 422, a prompt too long, a content filter) that a
 * canary candidate may give where the stable side would answer: a parameter or tool shape the new
 * upstream does not take, a smaller context window, a stricter filter. (A candidate's 404 is its
 * failure at once: `candidateLacksModel`.)
 */
const refusalOfRequest = new Set<FailureReason>(['invalid_request', 'context_length', 'content_filter']);

/** How a failure changes a deployment's health (`ticket`: the attempt's, from `onAttempt`). */
function recordFailure(deployment: Deployment, error: UpstreamError, ticket: number): void {
  switch (error.reason) {
    case 'rate_limited':
      deployment.health.coolFor(Math.min(error.retryAfterMs ?? 1_000, 60_000));
      return;
    case 'auth':
    case 'endpoint_not_found':
      deployment.health.ejectNow();
      return;
    case 'quota':
      deployment.health.coolFor(60_000);
      return;
    case 'provider_internal':
    case 'network':
    case 'timeout':
      deployment.health.onFailure(ticket);
      return;
    default:
      deployment.health.onInconclusive(ticket); // the caller's fault says nothing about the deployment
      return;
  }
}

const noneTried: ReadonlySet<Deployment> = new Set();

/**
 * Runs `attempt` until one succeeds. The order: healthy deployments of the model not yet tried (by
 * the route's strategy; an ejected or cooled one only when none of the model is available), then
 * retries of a healthy deployment with back-off (`retry-after` honoured), then fallback models.
 * `maxRetries` bounds the retries; each fallback model adds one attempt of its own. A wait that does
 * not fit before the deadline is skipped in favour of the next option. Only failures before the
 * first byte reached the client come here: callers never retry after it.
 */
export async function runAttemptChain<T>(options: AttemptChainOptions, attempt: (deployment: Deployment) => Promise<T>): Promise<AttemptOutcome<T>> {
  // One selection for the whole chain (no closures per request): its strategy follows the model tried, its exclusions the failures.
  const selection: SelectOptions = { strategy: options.primary.route.strategy, exclude: noneTried, random: options.random ?? Math.random, priceOf: options.priceOf ?? unknownPrice };
  // Made on the first failure: most requests succeed at the first attempt.
  let tried: Set<Deployment> | undefined;
  let usedFallbacks: Set<string> | undefined;
  let current = options.primary;
  // A pin holds only when the requested model has deployments on that provider.
  const pinned = options.pinnedProvider === undefined ? undefined : pinnedGroups(current.route, options.pinnedProvider, options.stickyKey);
  const pin = pinned !== undefined && pinned.length > 0 ? options.pinnedProvider : undefined;
  let groups = pin !== undefined ? pinned! : current.route.groupsFor(options.stickyKey);
  let retriesLeft = options.maxRetries;
  let attempts = 0;
  let next: Deployment | undefined;
  // A candidate's refusal of the request, judged by the stable side's answer to it: the next attempt always settles it.
  let refusal: CandidateRefusal | undefined;

  for (;;) {
    const deployment = next ?? (tried === undefined ? select(groups, selection, current, noneTried) : (select(groups, selection, current, tried) ?? select(groups, selection, current, noneTried)));
    next = undefined;
    if (deployment === undefined) throw new Error(`model ${current.model} has no deployment`);
    attempts++;
    deployment.inflight++;
    const ticket = deployment.health.onAttempt();
    const started = performance.now();
    try {
      options.onAttemptStart?.(deployment, current);
      const value = await attempt(deployment);
      const elapsed = performance.now() - started;
      // The deployment's verdict, as the canary analysis's, comes when the answer ends: a stream cut after its first chunk is a failure, and only that.
      deployment.health.onAnswerStarted(ticket);
      deployment.recordFirstByte(elapsed);
      // A candidate's refusal that this (stable) answer followed is judged then too: its failure only when the answer is whole.
      const answered = new AnsweredAttempt(value, deployment, current, attempts, elapsed, ticket, refusal);
      refusal = undefined;
      return answered;
    } catch (error) {
      deployment.inflight--;
      // The stable side did not answer what the candidate refused (it refused too, failed, or the client left): no failure of the candidate.
      refusal?.judge(false);
      refusal = undefined;
      if (!(error instanceof UpstreamError)) {
        // The client left (or the relay failed): nothing is known of the deployment.
        deployment.health.onInconclusive(ticket);
        throw error;
      }
      recordFailure(deployment, error, ticket);
      const candidate = current.route.isCandidate(deployment);
      // A candidate that does not know the model the route sends it (a wrong mapping) fails the canary, and the stable side answers.
      const candidateLacksModel = error.reason === 'not_found' && candidate;
      // A candidate that refuses the request: the stable side of the model is asked, spending no retry, before any fallback.
      const stableGroups = candidate && refusalOfRequest.has(error.reason) && !options.signal.aborted && Date.now() < options.deadline ? withoutCandidates(groups, current) : undefined;
      (tried ??= new Set()).add(deployment);
      const stable = stableGroups === undefined ? undefined : select(stableGroups, selection, current, tried);
      const latencyMs = performance.now() - started;
      if (stable !== undefined) refusal = new CandidateRefusal(current.route, deployment, latencyMs);
      // A 429 is no failure of a deployment, a candidate's included: it is cooled, and says nothing of how it serves.
      else if (error.reason !== 'rate_limited') current.route.observe(deployment, clientFault.has(error.reason) && !candidateLacksModel, latencyMs);
      options.onAttemptFailed?.(error, deployment, attempts);
      if (options.signal.aborted) throw new CallAbortedError(error);
      if (stable !== undefined) {
        // The rest of this model's chain (a retry of the stable side's failure) stays off the candidate.
        groups = stableGroups!;
        next = stable;
        continue;
      }

      if (error.reason === 'context_length' || error.reason === 'content_filter') {
        const fallback = nextFallback(options, (usedFallbacks ??= new Set([options.primary.model])), error.reason, pin);
        if (fallback === undefined) throw new AttemptsExhaustedError(error, attempts);
        current = fallback;
        groups = groupsOf(options, current, pin);
        continue;
      }
      const policy = candidateLacksModel ? failurePolicy.endpoint_not_found : failurePolicy[error.reason];
      if (!policy.retry && !policy.otherDeployment) throw new AttemptsExhaustedError(error, attempts);
      // Leaving a failed canary candidate for the stable side spends no retry: the request keeps the retries it has without a canary.
      const leavingCandidate = current.route.isCandidate(deployment);
      if (leavingCandidate) {
        // The rest of this model's chain (the retries of the stable side's failures) stays off the candidate that failed.
        const stableGroups = withoutCandidates(groups, current);
        if (stableGroups.length > 0) groups = stableGroups;
      }
      // Another deployment is one that can take the request now: while one that failed it is healthy, its retry (after the back-off) goes there, not to an ejected one.
      const other = select(groups, selection, current, tried, selectOtherDeployment);
      if (other !== undefined && (retriesLeft > 0 || leavingCandidate) && Date.now() < options.deadline) {
        if (!leavingCandidate) retriesLeft--;
        next = other;
        continue;
      }
      // The retry after a back-off goes to the deployment that failed, or when its failure is not one to retry (a refused key) to a healthy one that failed the request before.
      const retryElsewhere = !policy.retry && hasAvailable(groups, deployment);
      if ((policy.retry || retryElsewhere) && retriesLeft > 0) {
        const delay = retryDelayMs(options.maxRetries - retriesLeft, error.retryAfterMs, selection.random);
        if (Date.now() + delay < options.deadline) {
          retriesLeft--;
          if (delay > 0) {
            try {
              await (options.wait ?? abortableSleep)(delay, options.signal);
            } catch (sleepError) {
              throw new CallAbortedError(sleepError);
            }
          }
          next = select(groups, selection, current, retryElsewhere ? new Set([deployment]) : noneTried);
          continue;
        }
      }
      const fallback = Date.now() < options.deadline ? nextFallback(options, (usedFallbacks ??= new Set([options.primary.model])), 'exhausted', pin) : undefined;
      if (fallback === undefined) throw new AttemptsExhaustedError(error, attempts);
      current = fallback;
      groups = groupsOf(options, current, pin);
    }
  }
}

/**
 * A canary candidate's refusal of a request (a client fault) while the stable side of the same
 * model is asked: a refusal of what the stable side serves is the candidate's failure (an upstream
 * that does not take a parameter the application sends, or has a smaller context window, must not
 * be promoted), while one the stable side refuses too, or cannot judge (it failed, the client
 * left), is the client's. Judged once, when the stable side's attempt has ended, or its answer.
 */
class CandidateRefusal {
  private judged = false;

  constructor(
    private readonly route: ResolvedModel['route'],
    private readonly deployment: Deployment,
    private readonly latencyMs: number,
  ) {}

  /** `stableAnswered`: the stable side answered the request to the end. */
  judge(stableAnswered: boolean): void {
    if (this.judged) return;
    this.judged = true;
    this.route.observe(this.deployment, !stableAnswered, this.latencyMs);
  }
}

/** The groups of the model being tried without its canary's candidates: the stable side. */
function withoutCandidates(groups: readonly (readonly Deployment[])[], current: ResolvedModel): readonly (readonly Deployment[])[] {
  return groups.filter((group) => !group.some((deployment) => current.route.isCandidate(deployment)));
}

const unknownPrice = (): undefined => undefined;

/** The deployment groups of the model being tried: with a pin, its deployments on that provider. */
function groupsOf(options: AttemptChainOptions, current: ResolvedModel, pin: string | undefined): readonly (readonly Deployment[])[] {
  if (pin === undefined) return current.route.groupsFor(options.stickyKey);
  return pinnedGroups(current.route, pin, options.stickyKey);
}

/**
 * A route's deployments on one provider, group by group, empty groups left out: those of the
 * client's side of a canary, else (the response was answered by the other side) the canary's
 * candidates on that provider, as a last resort.
 */
function pinnedGroups(route: ResolvedModel['route'], provider: string, stickyKey: string): Deployment[][] {
  const pinned = onProvider(route.groupsFor(stickyKey), provider);
  if (pinned.length === 0 && route.canary !== undefined) return onProvider([route.canary.group], provider);
  return pinned;
}

function onProvider(groups: readonly (readonly Deployment[])[], provider: string): Deployment[][] {
  const kept: Deployment[][] = [];
  for (const group of groups) {
    const deployments = group.filter((deployment) => deployment.provider.name === provider);
    if (deployments.length > 0) kept.push(deployments);
  }
  return kept;
}

/**
 * The next deployment by the strategy of the model being tried, among those not excluded: by
 * `selectDeployment`, or by `selectOtherDeployment` for the step to another deployment after a failure.
 */
function select(
  groups: readonly (readonly Deployment[])[],
  selection: SelectOptions,
  current: ResolvedModel,
  exclude: ReadonlySet<Deployment>,
  pick: typeof selectDeployment = selectDeployment,
): Deployment | undefined {
  selection.strategy = current.route.strategy;
  selection.exclude = exclude;
  return pick(groups, selection);
}

/**
 * The first fallback model for this kind of failure not used yet by the request (marked used), if
 * any; with a pin, only one that has deployments on the pinned provider (another could not hold
 * what the request refers to, and its refusal would hide the real failure).
 */
function nextFallback(options: AttemptChainOptions, used: Set<string>, kind: FallbackKind, pin: string | undefined): ResolvedModel | undefined {
  for (const candidate of options.fallbacks(kind)) {
    if (used.has(candidate.model)) continue;
    used.add(candidate.model);
    if (pin === undefined || pinnedGroups(candidate.route, pin, options.stickyKey).length > 0) return candidate;
  }
  return undefined;
}

/** The attempt that answered: its deployment stays counted in flight until `finish`. */
class AnsweredAttempt<T> implements AttemptOutcome<T> {
  private finished = false;

  constructor(
    readonly value: T,
    readonly deployment: Deployment,
    readonly resolved: ResolvedModel,
    readonly attempts: number,
    /** Time to the answer's start (a stream's first chunk), the latency the canary analysis judges. */
    private readonly latencyMs: number,
    /** The attempt's ticket from the deployment's circuit breaker. */
    private readonly ticket: number,
    /** A canary candidate's refusal of the request that this stable answer judges. */
    private readonly refusal?: CandidateRefusal,
  ) {}

  finish(result: 'ok' | 'failed' | 'abandoned'): void {
    if (this.finished) return;
    this.finished = true;
    this.deployment.inflight--;
    // One verdict per answer: a client that stops reading a stream (a "stop" button) leaves an answer that was flowing, no failure of the upstream.
    if (result === 'failed') this.deployment.health.onFailure(this.ticket);
    else this.deployment.health.onSuccess(this.ticket);
    this.resolved.route.observe(this.deployment, result !== 'failed', this.latencyMs);
    this.refusal?.judge(result === 'ok');
  }
}
