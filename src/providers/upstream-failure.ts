import type { AbortLike } from './call-signal.js';
import { errors } from 'undici';
import { malformedCompletionField } from '../spec/openai-chat.js';
import { UpstreamError, type FailureReason } from '../spec/relay-error.js';
import type { ChatResult } from './provider.js';

/** Thrown when our own signal aborted the call (client gone, deadline): never retried. */
export class CallAbortedError extends Error {
  /**
   * @param beforeConnection the call stopped before it had a connection (one still being opened,
   * through a proxy that is slow to open its tunnel, say): nothing of it reached the upstream.
   */
  constructor(
    cause?: unknown,
    readonly beforeConnection = false,
  ) {
    super('upstream call aborted', { cause });
    this.name = 'CallAbortedError';
  }
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Turns a transport error of undici into an `UpstreamError` (or `CallAbortedError` when we aborted).
 * `beforeAnswer`: no byte of the answer had come. A connection the upstream closed then is most
 * often one it had let go while idle and the pool reused (servers such as uvicorn close idle
 * connections after 5 s and say nothing of it): the request never reached the upstream, and the
 * retry goes at once (`retryAfterMs: 0`, on a new connection) instead of after a backoff.
 */
export function classifyTransportError(error: unknown, provider: string, signal: AbortLike, beforeAnswer = false): Error {
  if (error instanceof UpstreamError || error instanceof CallAbortedError) return error;
  // Only the call's own signal means the client left (or the deadline passed). undici also fails a
  // request with `RequestAbortedError` when a proxy refuses the tunnel (a 407, a 403): the upstream's side.
  if (signal.aborted) return new CallAbortedError(error);
  const code = (error as { code?: string } | undefined)?.code ?? '';
  let reason: FailureReason = 'network';
  if (timeoutCodes.has(code)) reason = 'timeout';
  else if (!networkCodes.has(code) && !(error instanceof errors.UndiciError)) reason = 'network';
  const message = error instanceof Error ? error.message : String(error);
  const closedBeforeAnswer = beforeAnswer && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE');
  return new UpstreamError(`${provider}: ${code || 'error'}: ${message}`, { reason, provider, cause: error, ...(closedBeforeAnswer ? { retryAfterMs: 0 } : {}) });
}

/**
 * A stream that ended, closed cleanly by the upstream, before `end` (what ends a stream of its
 * format, or its first chunk): it was cut. A network failure, so that one cut before the first byte
 * reached the client is tried again (elsewhere when routing allows), and one cut after it ends with
 * an error event.
 */
export function streamCut(provider: string | undefined, end: string): UpstreamError {
  return new UpstreamError(`${provider ?? 'upstream'}: the stream ended before ${end}`, { reason: 'network', provider });
}

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if present and sane. */
export function readRetryAfter(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const milliseconds = Number(first(headers['retry-after-ms']));
  if (Number.isFinite(milliseconds) && milliseconds >= 0 && first(headers['retry-after-ms']) !== undefined) return milliseconds;
  const value = first(headers['retry-after']);
  if (value === undefined) return undefined;
  const seconds = Number(value);
  // A number is seconds, and a negative one means nothing (`Date.parse('-5')` would read it as a year).
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Re-throws failures while reading an upstream body (resets, idle timeouts) as classified upstream failures. */
export async function* guardUpstreamBody(body: AsyncIterable<Buffer>, provider: string, signal: AbortLike): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    throw classifyTransportError(error, provider, signal);
  }
}

/**
 * Checks, inside the attempt, that a chat answer has the shape a translation reads: one that does
 * not is the upstream's failure (retried elsewhere when routing allows, else a 502), never the
 * translation's.
 */
export function checkChatAnswer(result: ChatResult, provider: string): ChatResult {
  const field = malformedCompletionField(result.completion());
  if (field !== undefined) throw new UpstreamError(`${provider}: the answer's ${field} does not have a chat completion's shape`, { reason: 'provider_internal', provider });
  return result;
}

/**
 * What the 404 of an upstream's own API says when its URL serves nothing: OpenAI's "Invalid URL
 * (POST /chat/completions)", or a bare "Not Found" that names no model or resource.
 */
const unservedUrlMessage = /^\s*(?:invalid url\b|(?:404\s*[:-]?\s*)?(?:page\s+)?not found[.!]?\s*$)/i;

/**
 * Whether a 404 says that nothing is served at the URL the relay called, rather than that something
 * the request names (a model, a stored response) is unknown: an upstream says the latter with an
 * error of its own format, which the classifier read `message` from. Without one — an empty body,
 * a proxy's or web server's HTML or text page, a framework's `{"detail":"Not Found"}` — or with
 * only a message that names nothing, the URL is wrong, most often a base URL without its `/v1`.
 */
export function isUnservedUrl(message: string | undefined): boolean {
  return message === undefined || unservedUrlMessage.test(message);
}

/**
 * The failure of a call to a URL that serves nothing: the relay's configuration, not the caller's
 * request, so not passed through as the upstream's 404. The log gets the URL (without its query)
 * and the start of the body; the client gets the provider's name only (see `toClientError`).
 */
export function endpointNotFound(status: number, bodyText: string, provider: string, url: string | undefined): UpstreamError {
  const where = url === undefined ? '' : ` at ${withoutQuery(url)}`;
  const body = bodyText.trim() === '' ? 'an empty body' : `no error of its own: ${bodyText.slice(0, 200)}`;
  return new UpstreamError(`${provider} answered ${status}${where} with ${body}; check the provider's base URL (a missing /v1?)`, {
    reason: 'endpoint_not_found',
    status,
    provider,
  });
}

function withoutQuery(url: string): string {
  try {
    const { origin, pathname } = new URL(url);
    return `${origin}${pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}
