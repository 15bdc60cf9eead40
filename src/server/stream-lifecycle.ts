import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallAbortedError } from '../providers/upstream-failure.js';
import { RelayError, UpstreamError, toClientError } from '../spec/relay-error.js';
import { SseWriter } from './sse-writer.js';

/**
 * Commits a stream to the client: from here on the status line and headers are sent, and nothing
 * can be retried. Records the first byte's time for the metrics.
 *
 * Headers Node refuses to send (ERR_INVALID_CHAR) leave the stream uncommitted: `upstream`, the
 * answer's stream, is let go (its connection released) and the error thrown, which the route's
 * error handler answers as any other, without those headers. Taken over from Fastify (hijacked)
 * first, the response would have been left with nothing sent and nobody to end it.
 */
export function commitStream(request: FastifyRequest, reply: FastifyReply, upstream: AsyncIterator<unknown>): SseWriter {
  const writer = new SseWriter(reply.raw);
  try {
    // getHeaders() makes a copy of the reply's headers: the stream's own are added to it.
    writer.open(reply.getHeaders());
  } catch (error) {
    upstream.return?.().catch(() => undefined);
    throw error;
  }
  reply.hijack();
  request.relay.status = 200;
  request.relay.firstByteAt = performance.now();
  return writer;
}

/**
 * What the client is told when a committed stream fails: the upstream failure as the client sees
 * it (never its internals), recorded for the access log. Undefined when the client itself left.
 */
export function streamFailure(error: unknown, request: FastifyRequest): RelayError | undefined {
  if (error instanceof CallAbortedError) return undefined;
  const clientError =
    error instanceof UpstreamError
      ? toClientError(error, request.id, request.relay.upstreamSecrets)
      : error instanceof RelayError
        ? error
        : new RelayError(`The relay failed while streaming. Report request id ${request.id}.`, { status: 500, type: 'server_error', code: 'internal_error' });
  request.relay.errorCode = clientError.code;
  request.log.warn({ requestId: request.id, detail: error instanceof Error ? error.message : String(error) }, 'stream failed after its first byte');
  return clientError;
}
