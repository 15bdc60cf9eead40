import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderCall } from '../providers/provider.js';
import { CallSignal } from '../providers/call-signal.js';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { AttemptsExhaustedError, runAttemptChain, type AttemptChainOptions, type AttemptOutcome } from '../routing/attempt-chain.js';
import type { Deployment } from '../routing/deployment.js';
import type { FallbackKind, ResolvedModel } from '../routing/model-router.js';
import { RelayError, UpstreamError, toClientError } from '../spec/relay-error.js';
import { publishAttemptFailed } from '../observability/relay-events.js';
import { isMetered } from '../limits/admission-control.js';
import type { RelayServices } from './relay-services.js';
import { headerText } from './header-text.js';

/** One request's way through the attempt chain, tied to the client's connection. */
export interface UpstreamCall {
  call: ProviderCall;
  run<T>(attempt: (deployment: Deployment) => Promise<T>): Promise<AttemptOutcome<T>>;
}

export interface UpstreamCallOptions {
  /** Models the request itself asked to fall back to (the body's `fallbacks`). */
  fallbacks?: readonly string[];
  /** Keeps one end user on one side of a canary (the body's `user`); without it, the split is per request. */
  user?: unknown;
  /** Sends every attempt to this provider's deployments, where the model has any (it holds what the request refers to). */
  pinnedProvider?: string;
}

/**
 * Prepares the upstream call of a request: an abort signal that fires when the client goes away
 * (so the upstream request is cancelled too), the per-attempt timeout, the request's deadline, and
 * the mapping of a final failure to what the client sees. Records what served the request in the
 * `x-relay-*` headers, and releases the deployment when the response ends.
 */
export function prepareUpstreamCall(
  request: FastifyRequest,
  reply: FastifyReply,
  services: RelayServices,
  resolved: ResolvedModel,
  options: UpstreamCallOptions = {},
): UpstreamCall {
  return new RequestUpstreamCall(request, reply, services, resolved, options);
}

/**
 * One object per request that is both the call and the attempt chain's options (its callbacks are
 * methods, not closures made for every request).
 */
class RequestUpstreamCall implements UpstreamCall, AttemptChainOptions {
  readonly call: ProviderCall;
  readonly primary: ResolvedModel;
  readonly stickyKey: string;
  readonly pinnedProvider: string | undefined;
  readonly maxRetries: number;
  readonly signal: CallSignal;
  readonly deadline: number;
  /** The request's time before its first byte (`upstream.deadlineMs`, longer for a model with a longer timeout). */
  private readonly deadlineMs: number;
  readonly priceOf: AttemptChainOptions['priceOf'];
  private outcome: AttemptOutcome<unknown> | undefined;
  /** Attempts started, counted here too: a chain stopped by the deadline reports none. */
  private attemptsStarted = 0;
  /** The deadline passed before an answer could start: the attempt under way was stopped. */
  private expired = false;
  /** When the attempt under way started: each attempt's time is its own provider's, not the chain's. */
  private attemptStartedAt = 0;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly services: RelayServices,
    resolved: ResolvedModel,
    private readonly options: UpstreamCallOptions,
  ) {
    const { config } = services;
    const state = request.relay;
    const principal = state.principal!;
    this.primary = resolved;
    this.signal = new CallSignal();
    // A canary splits requests by weight, each on its own, unless they name an end user: then one
    // end user (of one key) stays on one side. Many services send all their traffic with one key,
    // so a split by key alone gave a candidate all or none of it.
    this.stickyKey = typeof options.user === 'string' ? `${principal.id}\u0000${options.user}` : `${principal.id}\u0000\u0000${request.id}`;
    this.pinnedProvider = options.pinnedProvider;
    this.maxRetries = config.maxRetries;
    // A model with a longer timeout of its own (a reasoning model) gets the deadline its retries need.
    const routeTimeout = resolved.route.timeoutMs;
    this.deadlineMs = routeTimeout === undefined ? config.deadlineMs : Math.max(config.deadlineMs, routeTimeout * (config.maxRetries + 1));
    this.deadline = Date.now() + this.deadlineMs;
    this.priceOf = services.priceOf;
    // One close listener per request (the server's) calls this one; a client gone already gets no call.
    state.onClose = this;
    if (state.closed) this.signal.abort();
    state.upstreamSecrets = services.upstreamSecrets;
    const strictHeader = request.headers['x-relay-strict'];
    this.call = {
      signal: this.signal,
      timeoutMs: config.timeoutMs,
      requestId: request.id,
      callerId: state.principal?.id,
      strict: config.strictParameters || strictHeader === '1' || strictHeader === 'true',
      dropped: [],
    };
    state.requestedModel = resolved.requested;
    state.model = resolved.model;
  }

  /** The response closed (`complete`: sent to the end): an unfinished call is aborted, the deployment released. */
  closed(complete: boolean): void {
    if (!complete) this.signal.abort();
    const outcome = this.outcome;
    if (outcome === undefined) return;
    const ok = complete && this.request.relay.errorCode === undefined;
    outcome.finish(ok ? 'ok' : complete ? 'failed' : 'abandoned');
    this.primary.route.shadow?.recordPrimary(ok, ok ? 200 : 502, performance.now() - this.request.relay.startedAt);
  }

  fallbacks(kind: FallbackKind): readonly ResolvedModel[] {
    const principal = this.request.relay.principal!;
    const found = this.services.router.fallbacksFor(this.primary.model, kind, principal, this.options.fallbacks);
    // A metered key is charged the price of the model that answers: one without a price is no
    // fallback for it (it would be billed at another model's price), as it is no model it may ask for.
    if (!isMetered(principal)) return found;
    const prices = this.services.billing.prices;
    return found.every((fallback) => prices.price(fallback.model) !== undefined) ? found : found.filter((fallback) => prices.price(fallback.model) !== undefined);
  }

  /**
   * Each attempt's upstream gets its target's own fields (`body`). The request has reached an
   * upstream: from now on it is metered when it ends, also when the client leaves before the answer
   * (a record with what was delivered, nothing when nothing was).
   */
  onAttemptStart(deployment: Deployment, resolved: ResolvedModel): void {
    this.attemptStartedAt = performance.now();
    this.attemptsStarted++;
    this.call.bodyDefaults = deployment.body;
    // The model's own timeout, when its route sets one (a fallback model's may differ from the primary's).
    this.call.timeoutMs = resolved.route.timeoutMs ?? this.services.config.timeoutMs;
    const state = this.request.relay;
    state.servedModel = resolved.model;
    state.provider = this.services.providerName(deployment.provider);
    state.model = deployment.model;
    // Counted as they start: a client that leaves mid-chain has its access line written at once, before the chain returns.
    state.attempts = this.attemptsStarted;
  }

  onAttemptFailed(error: UpstreamError, deployment: Deployment, number: number): void {
    // Only the attempt that answers decides what was dropped: a failed one may have used another upstream.
    this.call.dropped.length = 0;
    publishAttemptFailed({ provider: this.services.providerName(deployment.provider), deployment: deployment.id, reason: error.reason, durationMs: performance.now() - this.attemptStartedAt });
    this.services.logger.warn(
      { requestId: this.request.id, deployment: deployment.id, attempt: number, reason: error.reason, status: error.status, detail: error.message },
      'upstream attempt failed',
    );
  }

  /** The deadline passed: the attempt under way (waiting for a connection, headers, or the rest of a JSON answer) stops. */
  private readonly expire = (): void => {
    this.expired = true;
    this.signal.abort();
  };

  /**
   * Runs the attempt chain within the request's deadline (`upstream.deadlineMs`). The per-attempt
   * timeout runs between reads only, so without it an upstream that trickles a JSON answer, or a
   * proxy that does not open its tunnel, could keep the client waiting without end. The
   * deadline stops nothing once the answer has started (a stream's first chunk, sent to the client).
   */
  async run<T>(attempt: (deployment: Deployment) => Promise<T>): Promise<AttemptOutcome<T>> {
    const { request, reply, primary: resolved, call } = this;
    const state = request.relay;
    const started = performance.now();
    const deadlineTimer = setTimeout(this.expire, Math.max(0, this.deadline - Date.now()));
    try {
      const outcome = await runAttemptChain(this, (deployment) => attempt(deployment).catch((error: unknown) => this.stoppedByDeadline(error, deployment)));
      this.outcome = outcome;
      // The client left as the answer came (its close found no outcome to finish): the attempt ends here.
      if (state.closed) outcome.finish('abandoned');
      // provider, model and servedModel are the answering attempt's, set as it started (onAttemptStart).
      // The header names the provider as stored responses are pinned to it: a deployment's own key apart (`openai#1a2b3c`).
      // Text in these headers that a client may have chosen (a model passed through, a parameter's name) is made safe for a header (`headerText`).
      const now = performance.now();
      state.upstreamMs = now - started;
      state.answerAttemptMs = now - this.attemptStartedAt;
      if (outcome.resolved !== resolved) state.fallbackFrom = resolved.model;
      state.attempts = outcome.attempts;
      reply.header('x-relay-model', headerText(outcome.deployment.model));
      reply.header('x-relay-provider', headerText(outcome.deployment.provider.name));
      reply.header('x-relay-attempts', String(outcome.attempts));
      if (outcome.resolved !== resolved) reply.header('x-relay-fallback', headerText(`${resolved.model}->${outcome.resolved.model}`));
      if (call.dropped.length > 0) {
        const dropped = [...new Set(call.dropped)];
        reply.header('x-relay-dropped-params', dropped.map((name) => headerText(name, ',')).join(','));
        this.services.logger.info({ requestId: request.id, provider: outcome.deployment.provider.name, dropped }, 'parameters the upstream cannot honour were dropped');
      }
      return outcome;
    } catch (error) {
      if (error instanceof AttemptsExhaustedError) {
        resolved.route.shadow?.recordPrimary(false, error.last.status ?? 502, performance.now() - state.startedAt);
        // state.provider stays the last attempt's, set as it started: the provider as the configuration names it.
        state.attempts = error.attempts;
        state.servedModel = resolved.model;
        reply.header('x-relay-attempts', String(error.attempts));
        throw toClientError(error.last, request.id, state.upstreamSecrets);
      }
      if (error instanceof CallAbortedError && this.expired) {
        resolved.route.shadow?.recordPrimary(false, 504, performance.now() - state.startedAt);
        state.attempts = this.attemptsStarted;
        state.servedModel = resolved.model;
        reply.header('x-relay-attempts', String(this.attemptsStarted));
        const last = error.cause instanceof UpstreamError ? error.cause : this.deadlineError(state.provider);
        throw toClientError(last, request.id, state.upstreamSecrets);
      }
      if (error instanceof CallAbortedError) {
        throw new RelayError('The client closed the connection before the answer was ready.', {
          status: 499,
          type: 'invalid_request_error',
          code: 'client_closed_request',
        });
      }
      throw error;
    } finally {
      clearTimeout(deadlineTimer);
    }
  }

  /**
   * An attempt stopped by the deadline is that deployment's timeout (logged, counted, and held
   * against its health) — unless it was still waiting for its connection (one being opened through
   * a proxy slow to open its tunnel): the upstream never saw it, so the attempt says nothing of the
   * deployment (the chain takes a `CallAbortedError` so), and the client gets the same 504.
   */
  private stoppedByDeadline(error: unknown, deployment: Deployment): never {
    if (!this.expired || !(error instanceof CallAbortedError)) throw error;
    if (!error.beforeConnection) throw this.deadlineError(deployment.provider.name);
    this.services.logger.warn(
      { requestId: this.request.id, deployment: deployment.id, deadlineMs: this.deadlineMs },
      'no connection to the upstream before the request\'s deadline (not held against the upstream)',
    );
    throw error;
  }

  private deadlineError(provider: string | undefined): UpstreamError {
    return new UpstreamError(`${provider ?? 'upstream'}: no answer within the request's deadline (${this.deadlineMs} ms)`, { reason: 'timeout', provider });
  }
}
