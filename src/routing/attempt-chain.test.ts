import { describe, expect, it } from 'vitest';
import type { Provider } from '../providers/provider.js';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { UpstreamError, type FailureReason } from '../spec/relay-error.js';
import { AttemptsExhaustedError, runAttemptChain } from './attempt-chain.js';
import { DeploymentRegistry, type Deployment } from './deployment.js';
import type { ResolvedModel } from './model-router.js';
import type { CanaryController } from './canary-controller.js';
import { RouteRuntime } from './route-runtime.js';

const provider = (name: string) => ({ name, type: 'openai' }) as unknown as Provider;

function model(name: string, registry: DeploymentRegistry, providers: string[]): ResolvedModel {
  const deployments = providers.map((providerName) => registry.deployment(provider(providerName), name, 1));
  return { requested: name, model: name, route: new RouteRuntime(name, [deployments], 'weighted', undefined, undefined) };
}

const failure = (reason: FailureReason, retryAfterMs?: number) => new UpstreamError(reason, { reason, status: 500, retryAfterMs });

function run(primary: ResolvedModel, script: Array<FailureReason | 'ok' | [FailureReason, number]>, options: { maxRetries?: number; fallbacks?: ResolvedModel[]; deadlineInMs?: number; pinnedProvider?: string } = {}) {
  const waits: number[] = [];
  const calls: string[] = [];
  const promise = runAttemptChain(
    {
      primary,
      fallbacks: () => options.fallbacks ?? [],
      stickyKey: 'k',
      pinnedProvider: options.pinnedProvider,
      maxRetries: options.maxRetries ?? 3,
      signal: new AbortController().signal,
      deadline: Date.now() + (options.deadlineInMs ?? 60_000),
      random: () => 0,
      wait: async (milliseconds) => {
        waits.push(milliseconds);
      },
    },
    async (deployment: Deployment) => {
      calls.push(`${deployment.provider.name}/${deployment.model}`);
      const step = script.shift() ?? 'ok';
      if (step === 'ok') return 'answer';
      if (Array.isArray(step)) throw failure(step[0], step[1]);
      throw failure(step);
    },
  );
  return { promise, waits, calls };
}

/** Model `m` with a stable deployment and a canary candidate that every request goes to first; `samples` are the analysis's verdicts (true: no failure). */
function canaryRoute() {
  const registry = new DeploymentRegistry();
  const stable = registry.deployment(provider('stable'), 'm', 1);
  const candidate = registry.deployment(provider('candidate'), 'm', 1);
  const samples: boolean[] = [];
  const controller = { routesToCandidate: () => true, record: (ok: boolean) => samples.push(ok) } as unknown as CanaryController;
  const route = new RouteRuntime('m', [[stable]], 'weighted', { controller, group: [candidate] }, undefined);
  return { stable, candidate, samples, route };
}

describe('runAttemptChain', () => {
  it('retries one deployment with the back-off of the OpenAI SDK: 0.5 s, 1 s, 2 s', async () => {
    const { promise, waits, calls } = run(model('m', new DeploymentRegistry(), ['a']), ['provider_internal', 'network', 'timeout', 'ok']);
    await expect(promise).resolves.toMatchObject({ value: 'answer', attempts: 4 });
    expect(waits).toEqual([500, 1000, 2000]);
    expect(calls).toEqual(['a/m', 'a/m', 'a/m', 'a/m']);
  });

  it('stops after MAX_RETRIES retries', async () => {
    const { promise, calls } = run(model('m', new DeploymentRegistry(), ['a']), ['network', 'network', 'network', 'network', 'ok'], { maxRetries: 3 });
    const error = await promise.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AttemptsExhaustedError);
    expect((error as AttemptsExhaustedError).attempts).toBe(4);
    expect(calls).toHaveLength(4);
  });

  it('moves to a deployment that has not failed, without waiting', async () => {
    const { promise, waits, calls } = run(model('m', new DeploymentRegistry(), ['a', 'b']), ['provider_internal', 'ok']);
    await expect(promise).resolves.toMatchObject({ attempts: 2 });
    expect(new Set(calls).size).toBe(2);
    expect(waits).toEqual([]);
  });

  it("keeps a pinned request on its provider's deployments, through retries and fallbacks, and ignores a pin a model has no deployment on", async () => {
    const registry = new DeploymentRegistry();
    // A fallback model with no deployment on the pinned provider is skipped.
    const pinned = run(model('m', registry, ['a', 'b', 'c']), ['provider_internal', 'network', 'network', 'ok'], { pinnedProvider: 'b', fallbacks: [model('g', registry, ['a', 'c']), model('f', registry, ['a', 'b'])], maxRetries: 2 });
    await expect(pinned.promise).resolves.toMatchObject({ attempts: 4 });
    expect(pinned.calls).toEqual(['b/m', 'b/m', 'b/m', 'b/f']);

    // None left: the failure the client sees is the pinned deployment's own.
    const exhausted = run(model('p', registry, ['a', 'b']), ['provider_internal', 'ok'], { pinnedProvider: 'b', fallbacks: [model('h', registry, ['a'])], maxRetries: 0 });
    const error = await exhausted.promise.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AttemptsExhaustedError);
    expect((error as AttemptsExhaustedError).last.reason).toBe('provider_internal');
    expect(exhausted.calls).toEqual(['b/p']);

    const elsewhere = run(model('n', registry, ['a', 'c']), ['provider_internal', 'ok'], { pinnedProvider: 'b' });
    await expect(elsewhere.promise).resolves.toMatchObject({ attempts: 2 });
    expect(new Set(elsewhere.calls)).toEqual(new Set(['a/n', 'c/n']));
  });

  it("keeps a pinned request on the client's side of a canary when that side has the provider, else tries the candidates there", async () => {
    const registry = new DeploymentRegistry();
    const stable = registry.deployment(provider('openai'), 'gpt-stable', 1);
    const candidate = registry.deployment(provider('openai'), 'gpt-candidate', 1);
    const samples: boolean[] = [];
    const controller = { routesToCandidate: () => false, record: (ok: boolean) => samples.push(ok) } as unknown as CanaryController;
    const route = new RouteRuntime('m', [[stable]], 'weighted', { controller, group: [candidate] }, undefined);
    const onStableSide = run({ requested: 'm', model: 'm', route }, ['ok'], { pinnedProvider: 'openai' });
    await onStableSide.promise;
    expect(onStableSide.calls).toEqual(['openai/gpt-stable']);
    expect(samples).toEqual([]);

    const other = registry.deployment(provider('west'), 'gpt-candidate', 1);
    const westCanary = new RouteRuntime('n', [[stable]], 'weighted', { controller, group: [other] }, undefined);
    const heldByCandidate = run({ requested: 'n', model: 'n', route: westCanary }, ['ok'], { pinnedProvider: 'west' });
    await heldByCandidate.promise;
    expect(heldByCandidate.calls).toEqual(['west/gpt-candidate']);
  });

  it("asks the stable side about a request the canary candidate refused, and judges the candidate by its answer, once", async () => {
    const registry = new DeploymentRegistry();
    const stable = registry.deployment(provider('stable'), 'm', 1);
    const candidate = registry.deployment(provider('candidate'), 'm', 1);
    const samples: boolean[] = [];
    const controller = { routesToCandidate: () => true, record: (ok: boolean) => samples.push(ok) } as unknown as CanaryController;
    const canaryModel = (name: string): ResolvedModel => ({ requested: name, model: name, route: new RouteRuntime(name, [[stable]], 'weighted', { controller, group: [candidate] }, undefined) });

    // The stable side answers to the end: the refusal is the candidate's failure, told when the answer ends.
    const answered = run(canaryModel('m'), ['invalid_request', 'ok'], { maxRetries: 0 });
    const outcome = await answered.promise;
    expect(answered.calls).toEqual(['candidate/m', 'stable/m']);
    expect(outcome.deployment).toBe(stable);
    expect(samples).toEqual([]);
    outcome.finish('ok');
    outcome.finish('ok');
    expect(samples).toEqual([false]);

    // The client leaves the stable answer: no failure.
    samples.length = 0;
    const left = await run(canaryModel('m'), ['context_length', 'ok'], { fallbacks: [model('long', registry, ['other'])] }).promise;
    expect(left.resolved.model).toBe('m');
    left.finish('abandoned');
    expect(samples).toEqual([true]);

    // The stable side refuses too: the client's error, the stable side's words.
    samples.length = 0;
    const both = run(canaryModel('m'), ['invalid_request', 'content_filter']);
    const refused = (await both.promise.catch((caught: unknown) => caught)) as AttemptsExhaustedError;
    expect(refused.last.reason).toBe('content_filter');
    expect(both.calls).toEqual(['candidate/m', 'stable/m']);
    expect(samples).toEqual([true]);

    // The stable side fails: nothing is known, and its retries stay on the stable side.
    samples.length = 0;
    const failing = run(canaryModel('m'), ['invalid_request', 'provider_internal', 'ok'], { maxRetries: 1 });
    await failing.promise;
    expect(failing.calls).toEqual(['candidate/m', 'stable/m', 'stable/m']);
    expect(samples).toEqual([true]);

    // Without a stable deployment to ask, the refusal is the client's at once, as without a canary.
    samples.length = 0;
    const alone: ResolvedModel = { requested: 'n', model: 'n', route: new RouteRuntime('n', [], 'weighted', { controller, group: [candidate] }, undefined) };
    const lone = run(alone, ['invalid_request']);
    await expect(lone.promise).rejects.toBeInstanceOf(AttemptsExhaustedError);
    expect(lone.calls).toEqual(['candidate/m']);
    expect(samples).toEqual([true]);
  });

  it('keeps the retries of a request that left a failed canary candidate on the stable side', async () => {
    const { samples, route } = canaryRoute();
    const chain = run({ requested: 'm', model: 'm', route }, ['provider_internal', 'provider_internal', 'provider_internal', 'ok'], { maxRetries: 2 });
    await expect(chain.promise).resolves.toMatchObject({ value: 'answer', attempts: 4 });
    expect(chain.calls).toEqual(['candidate/m', 'stable/m', 'stable/m', 'stable/m']);
    expect(samples).toEqual([false]);
  });

  it('judges a refusing candidate no failure when the client leaves while the stable side is asked', async () => {
    const { candidate, samples, route } = canaryRoute();
    const signal = new AbortController();
    const chain = runAttemptChain({ primary: { requested: 'm', model: 'm', route }, fallbacks: () => [], stickyKey: 'k', maxRetries: 3, signal: signal.signal, deadline: Date.now() + 60_000 }, async (deployment) => {
      if (deployment === candidate) throw failure('invalid_request');
      signal.abort();
      throw new CallAbortedError(new Error('aborted'));
    });
    await expect(chain).rejects.toBeInstanceOf(CallAbortedError);
    expect(samples).toEqual([true]);
  });

  it('retries a healthy deployment after its back-off rather than move to one that is ejected or cooled, unless none is available', async () => {
    const registry = new DeploymentRegistry();
    const primary = model('m', registry, ['a', 'b']);
    const [a, b] = primary.route.groups[0]!;
    // "a"'s key was refused a minute ago: ejected for minutes.
    a!.health.ejectNow();
    const healthy = run(primary, ['provider_internal', 'ok']);
    await expect(healthy.promise).resolves.toMatchObject({ attempts: 2 });
    expect(healthy.calls).toEqual(['b/m', 'b/m']);
    expect(healthy.waits).toEqual([500]);

    // A 429 cools "b" too: nothing is available, and the one available first is tried at once.
    const cooled = run(primary, [['rate_limited', 2_000], 'ok']);
    await expect(cooled.promise).resolves.toMatchObject({ attempts: 2 });
    expect(cooled.calls).toEqual(['b/m', 'a/m']);
    expect(cooled.waits).toEqual([]);
    expect(b!.health.isAvailable()).toBe(false);
  });

  it("retries a healthy deployment that failed the request before when another one's key is refused", async () => {
    const registry = new DeploymentRegistry();
    const stable = registry.deployment(provider('a'), 'm', 1);
    const refusing = registry.deployment(provider('b'), 'm', 1);
    const primary: ResolvedModel = { requested: 'm', model: 'm', route: new RouteRuntime('m', [[stable], [refusing]], 'weighted', undefined, undefined) };
    const { promise, calls, waits } = run(primary, ['provider_internal', 'auth', 'ok']);
    await expect(promise).resolves.toMatchObject({ attempts: 3 });
    expect(calls).toEqual(['a/m', 'b/m', 'a/m']);
    expect(waits).toHaveLength(1);
  });

  it("counts a canary candidate's 429 neither way in the analysis, and a request while it is cooled neither", async () => {
    const { candidate, samples, route } = canaryRoute();
    const limited = run({ requested: 'm', model: 'm', route }, [['rate_limited', 20_000], 'ok']);
    await expect(limited.promise).resolves.toMatchObject({ value: 'answer', attempts: 2 });
    expect(limited.calls).toEqual(['candidate/m', 'stable/m']);
    expect(candidate.health.isAvailable()).toBe(false);
    const whileCooled = run({ requested: 'm', model: 'm', route }, ['ok']);
    await whileCooled.promise;
    expect(whileCooled.calls).toEqual(['stable/m']);
    expect(samples).toEqual([]);
    // Ejected, it is: each request meant for it is its failure.
    candidate.health.ejectNow();
    await run({ requested: 'm', model: 'm', route }, ['ok']).promise;
    expect(samples).toEqual([false]);
  });

  it('honours retry-after, and moves on when it does not fit the deadline', async () => {
    const waited = run(model('m', new DeploymentRegistry(), ['a']), [['rate_limited', 1500], 'ok']);
    await expect(waited.promise).resolves.toMatchObject({ attempts: 2 });
    expect(waited.waits).toEqual([1500]);

    const tooLong = run(model('m', new DeploymentRegistry(), ['a']), [['rate_limited', 30_000], 'ok'], { deadlineInMs: 5_000 });
    await expect(tooLong.promise).rejects.toBeInstanceOf(AttemptsExhaustedError);
    expect(tooLong.waits).toEqual([]);
  });

  it('does not retry what the caller caused', async () => {
    const { promise, calls } = run(model('m', new DeploymentRegistry(), ['a', 'b']), ['invalid_request', 'ok']);
    await expect(promise).rejects.toBeInstanceOf(AttemptsExhaustedError);
    expect(calls).toHaveLength(1);
  });

  it('falls back to the next model once the retries are spent, each fallback adding one attempt', async () => {
    const registry = new DeploymentRegistry();
    const { promise, calls } = run(model('primary', registry, ['a']), ['network', 'network', 'ok'], {
      maxRetries: 1,
      fallbacks: [model('backup', registry, ['b'])],
    });
    const outcome = await promise;
    expect(outcome.resolved.model).toBe('backup');
    expect(calls).toEqual(['a/primary', 'a/primary', 'b/backup']);
  });

  it("takes a deployment whose key was refused out at once, and never retries it", async () => {
    const registry = new DeploymentRegistry();
    const primary = model('m', registry, ['a', 'b']);
    const { promise, calls } = run(primary, ['auth', 'ok']);
    await promise;
    const refused = primary.route.groups[0]!.find((deployment) => `${deployment.provider.name}/m` === calls[0])!;
    expect(refused.health.currentState()).toBe('open');
  });
});
