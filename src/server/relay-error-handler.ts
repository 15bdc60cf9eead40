import type { FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../spec/relay-error.js';
import { dropRefusedHeaders } from './drop-refused-headers.js';
import { toRelayError } from './render-error.js';

/**
 * The relay's error handler (the `/v1/messages` routes have their own, `anthropicErrorHandler`):
 * anything thrown while handling a request becomes an OpenAI-shaped error (`toRelayError`), logged
 * when it is the relay's own failure, and recorded for the access line. An answer whose headers
 * Node refused to send (ERR_INVALID_CHAR) is answered so without them (`dropRefusedHeaders`).
 */
export async function relayErrorHandler(error: Error, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  // The admin API and the dashboard's read the database in the request; the API's failures come from upstreams.
  const storeRoute = request.url.startsWith('/admin/') || request.url.startsWith('/dashboard/api/') ? { method: request.method } : undefined;
  const relayError = toRelayError(error, request.id, storeRoute);
  if (relayError.code === 'database_unavailable' && !(error instanceof RelayError)) {
    request.log.warn({ requestId: request.id, detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }, 'database unavailable; answered 503');
  } else if (relayError.status >= 500 && !(error instanceof RelayError)) {
    request.log.error({ requestId: request.id, detail: error instanceof Error ? error.stack : String(error) }, 'unhandled error');
  }
  if (request.relay !== null && request.relay !== undefined) request.relay.errorCode = relayError.code;
  dropRefusedHeaders(reply);
  if (relayError.headers !== undefined) reply.headers(relayError.headers);
  return reply.code(relayError.status).type('application/json').send(relayError.toJSON());
}
