import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderCall } from '../providers/provider.js';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { AttemptsExhaustedError, runAttemptChain, type AttemptOutcome } from '../routing/attempt-chain.js';
import type { ResolvedModel, Target } from '../routing/model-router.js';
import { RelayError, toClientError } from '../spec/relay-error.js';
import type { RelayServices } from './relay-services.js';

/** One request's way through the attempt chain, tied to the client's connection. */
export interface UpstreamCall {
  call: ProviderCall;
  run<T>(attempt: (target: Target) => Promise<T>): Promise<AttemptOutcome<T>>;
}

/**
 * Prepares the upstream call of a request: an abort signal that fires when the client goes away
 * (so the upstream request is cancelled too), the per-attempt timeout, the request's deadline, and
 * the mapping of a final failure to what the client sees. Records served model, provider and attempts.
 */
export function prepareUpstreamCall(request: FastifyRequest, reply: FastifyReply, services: RelayServices, resolved: ResolvedModel): UpstreamCall {
  const { config, logger } = services;
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const strictHeader = request.headers['x-relay-strict'];
  const call: ProviderCall = {
    signal: controller.signal,
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
      try {
        const outcome = await runAttemptChain(
          {
            targets: resolved.targets,
            maxRetries: config.maxRetries,
            signal: controller.signal,
            deadline: Date.now() + config.timeoutMs * (config.maxRetries + 1),
            onAttemptFailed: (error, target, number) => {
              logger.warn(
                { requestId: request.id, provider: target.provider.name, model: target.model, attempt: number, reason: error.reason, status: error.status, detail: error.message },
                'upstream attempt failed',
              );
            },
          },
          attempt,
        );
        state.provider = outcome.target.provider.name;
        state.model = outcome.target.model;
        state.attempts = outcome.attempts;
        reply.header('x-relay-model', outcome.target.model);
        reply.header('x-relay-provider', outcome.target.provider.name);
        reply.header('x-relay-attempts', String(outcome.attempts));
        if (call.dropped.length > 0) {
          const dropped = [...new Set(call.dropped)];
          reply.header('x-relay-dropped-params', dropped.join(','));
          logger.info({ requestId: request.id, provider: outcome.target.provider.name, dropped }, 'parameters the upstream cannot honour were dropped');
        }
        return outcome;
      } catch (error) {
        if (error instanceof AttemptsExhaustedError) {
          state.attempts = error.attempts;
          state.provider = error.last.provider;
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
