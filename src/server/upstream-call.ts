import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderCall } from '../providers/provider.js';
import { CallSignal } from '../providers/call-signal.js';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { AttemptsExhaustedError, runAttemptChain, type AttemptOutcome } from '../routing/attempt-chain.js';
import type { Deployment } from '../routing/deployment.js';
import type { ResolvedModel } from '../routing/model-router.js';
import { RelayError, toClientError } from '../spec/relay-error.js';
import { publishAttemptFailed } from '../observability/relay-events.js';
import type { RelayServices } from './relay-services.js';

/** One request's way through the attempt chain, tied to the client's connection. */
export interface UpstreamCall {
  call: ProviderCall;
  run<T>(attempt: (deployment: Deployment) => Promise<T>): Promise<AttemptOutcome<T>>;
}

export interface UpstreamCallOptions {
  /** Models the request itself asked to fall back to (the body's `fallbacks`). */
  fallbacks?: readonly string[];
  /** Refines canary stickiness within one client key (the body's `user`). */
  user?: unknown;
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
  const { config, logger } = services;
  const router = services.router;
  const principal = request.relay.principal!;
  const controller = new CallSignal();
  let finish: ((ok: boolean) => void) | undefined;
  // One close listener per request (the server's) calls this one.
  request.relay.onClose = (complete) => {
    if (!complete) controller.abort();
    finish?.(complete && request.relay.errorCode === undefined);
  };
  const strictHeader = request.headers['x-relay-strict'];
  const call: ProviderCall = {
    signal: controller,
    timeoutMs: config.timeoutMs,
    requestId: request.id,
    strict: config.strictParameters || strictHeader === '1' || strictHeader === 'true',
    dropped: [],
  };
  const state = request.relay;
  state.requestedModel = resolved.requested;
  state.model = resolved.model;
  return {
    call,
    async run(attempt) {
      const started = performance.now();
      try {
        const outcome = await runAttemptChain(
          {
            primary: resolved,
            fallbacks: (kind) => router.fallbacksFor(resolved.model, kind, principal, options.fallbacks),
            stickyKey: typeof options.user === 'string' ? `${principal.id}\u0000${options.user}` : principal.id,
            maxRetries: config.maxRetries,
            signal: controller,
            deadline: Date.now() + config.deadlineMs,
            priceOf: services.priceOf,
            onAttemptFailed: (error, deployment, number) => {
              publishAttemptFailed({ provider: deployment.provider.name, deployment: deployment.id, reason: error.reason });
              logger.warn(
                { requestId: request.id, deployment: deployment.id, attempt: number, reason: error.reason, status: error.status, detail: error.message },
                'upstream attempt failed',
              );
            },
          },
          (deployment) => {
            // Only the attempt that answers decides what was dropped: a failed one may have used another upstream.
            call.dropped.length = 0;
            return attempt(deployment);
          },
        );
        finish = (ok) => {
          outcome.finish(ok);
          resolved.route.shadow?.recordPrimary(ok, ok ? 200 : 502, performance.now() - state.startedAt);
        };
        state.provider = outcome.deployment.provider.name;
        state.model = outcome.deployment.model;
        state.servedModel = outcome.resolved.model;
        state.upstreamMs = performance.now() - started;
        if (outcome.resolved !== resolved) state.fallbackFrom = resolved.model;
        state.attempts = outcome.attempts;
        reply.header('x-relay-model', outcome.deployment.model);
        reply.header('x-relay-provider', outcome.deployment.provider.name);
        reply.header('x-relay-attempts', String(outcome.attempts));
        if (outcome.resolved !== resolved) reply.header('x-relay-fallback', `${resolved.model}->${outcome.resolved.model}`);
        if (call.dropped.length > 0) {
          const dropped = [...new Set(call.dropped)];
          reply.header('x-relay-dropped-params', dropped.join(','));
          logger.info({ requestId: request.id, provider: outcome.deployment.provider.name, dropped }, 'parameters the upstream cannot honour were dropped');
        }
        return outcome;
      } catch (error) {
        if (error instanceof AttemptsExhaustedError) {
          resolved.route.shadow?.recordPrimary(false, error.last.status ?? 502, performance.now() - state.startedAt);
          state.attempts = error.attempts;
          state.provider = error.last.provider;
          state.servedModel = resolved.model;
          reply.header('x-relay-attempts', String(error.attempts));
          throw toClientError(error.last, request.id);
        }
        if (error instanceof CallAbortedError) {
          throw new RelayError('The client closed the connection before the answer was ready.', {
            status: 499,
            type: 'invalid_request_error',
            code: 'client_closed_request',
          });
        }
        throw error;
      }
    },
  };
}
