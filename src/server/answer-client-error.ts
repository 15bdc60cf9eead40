import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RelayError } from '../spec/relay-error.js';

/** What Node reports for a request the server could not read. */
type ClientError = Error & { code?: string };

/** The response Node is writing on a connection, if any (Node's own `clientError` handling reads it too). */
type SocketWithResponse = Socket & { _httpMessage?: ServerResponse | null };

/** What a client whose request could not be read is told, by Node's error code, and the log line's label (Fastify's). */
function refusalFor(error: ClientError, requestTimeoutMs: number): { refusal: RelayError; label: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { refusal: new RelayError(`The request did not arrive whole (headers and body) within ${requestTimeoutMs} ms.`, { status: 408, type: 'invalid_request_error', code: 'request_timeout' }), label: 'timeout' };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return { refusal: new RelayError('The request headers are too large.', { status: 431, type: 'invalid_request_error', code: 'headers_too_large' }), label: 'header_overflow' };
  }
  return { refusal: new RelayError('The request is not valid HTTP.', { status: 400, type: 'invalid_request_error', code: 'invalid_request' }), label: 'error' };
}

/**
 * The server's `clientError` handler: a client whose request Node could not read is answered as
 * Fastify's own handler answers it (408 when the request did not arrive whole within
 * `server.requestTimeoutMs`, 431 for headers too large, 400 otherwise), in OpenAI's shape, and its
 * connection is closed. As Node does, nothing is written on a connection whose response has begun.
 * `onTimeout` hears of the response of a request that timed out while the relay waited for its body,
 * so that the request is recorded as the relay's 408, not as a client that left; `log` writes the
 * error's line (at trace level, as Fastify does: most are scanners and broken load balancers).
 */
export function clientErrorHandler(
  requestTimeoutMs: number,
  onTimeout: (response: ServerResponse) => void,
  log: (error: ClientError, label: string) => void,
): (error: ClientError, socket: Socket) => void {
  return (error, socket) => {
    // A reset connection is gone already: nothing to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { refusal, label } = refusalFor(error, requestTimeoutMs);
    log(error, label);
    const response = (socket as SocketWithResponse)._httpMessage ?? undefined;
    if (refusal.status === 408 && response !== undefined) onTimeout(response);
    if (socket.writable && (response === undefined || !response.headersSent)) {
      const body = JSON.stringify(refusal.toJSON());
      socket.write(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    socket.destroy(error);
  };
}
