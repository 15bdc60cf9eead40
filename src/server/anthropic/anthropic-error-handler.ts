import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../../spec/relay-error.js';
import { dropRefusedHeaders } from '../drop-refused-headers.js';
import { toRelayError } from '../render-error.js';
import { renderAnthropicError } from './render-anthropic-error.js';

/**
 * The error handler of the `/v1/messages` routes: the same errors as everywhere in the relay
 * (bad body, auth from the onRequest hook, unknown model, limits, upstream failures), with the
 * same statuses, rendered in Anthropic's shape so that Anthropic's SDKs raise their own exception
 * classes with the relay's message. An answer whose headers Node refused to send is answered so
 * without them (`dropRefusedHeaders`).
 */
export function anthropicErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const relayError = toRelayError(error, request.id);
  if (relayError.status >= 500 && !(error instanceof RelayError)) {
    request.log.error({ requestId: request.id, detail: error instanceof Error ? error.stack : String(error) }, 'unhandled error');
  }
  if (request.relay !== null && request.relay !== undefined) request.relay.errorCode = relayError.code;
  dropRefusedHeaders(reply);
  if (relayError.headers !== undefined) reply.headers(relayError.headers);
  // Anthropic's SDKs read the request id from this header (as `error.requestID`).
  reply.header('request-id', request.id);
  void reply.code(relayError.status).type('application/json').send(renderAnthropicError(relayError, request.id));
}
