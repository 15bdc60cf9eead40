import { UpstreamError, type FailureReason } from '../../spec/relay-error.js';
import { endpointNotFound, isUnservedUrl, readRetryAfter } from '../upstream-failure.js';
import type { GeminiErrorBody } from './gemini-wire.js';

type GeminiError = NonNullable<GeminiErrorBody['error']>;

/** Reads Gemini's error object; a streamed error may come wrapped in an array. */
function readError(bodyText: string): GeminiError {
  try {
    const parsed = JSON.parse(bodyText) as unknown;
    const body = (Array.isArray(parsed) ? parsed[0] : parsed) as GeminiErrorBody | undefined;
    if (body?.error !== null && typeof body?.error === 'object') return body.error;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone decides.
  }
  return {};
}

const authReasons = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED', 'SERVICE_DISABLED', 'ACCESS_TOKEN_EXPIRED']);
const contextLengthPattern = /input token count.*exceeds|exceeds the maximum number of tokens|too many tokens|input (is )?too long|context (window|length)/i;
/**
 * Gemini's 403 for a Files API file the request names that the key's project cannot read ("You do
 * not have permission to access the File 4bx9kz2m1q or it may not exist."): files expire 48 hours
 * after upload and belong to the project that uploaded them. The file is the client's; the key is fine.
 */
const clientFilePattern = /\bpermission to access the File\b/;

/**
 * Classifies a failed Gemini call (an HTTP error, or an error event inside a stream) into a failure
 * reason. Gemini uses Google's canonical codes: 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503
 * UNAVAILABLE, 504 DEADLINE_EXCEEDED, 400 INVALID_ARGUMENT / FAILED_PRECONDITION, 403
 * PERMISSION_DENIED, 404 NOT_FOUND (a 404 without Google's error object, such as Google's HTML
 * page, is `endpoint_not_found`: the base URL is wrong). A bad key is a 400 whose `details` carry the reason
 * API_KEY_INVALID: it is the relay's credential that failed, not the caller's request, so it is `auth`.
 * A 403 about a Files API file the request names (expired, or another project's) is the caller's
 * mistake, passed through as `invalid_request` with its status; every other 403 (a key that is
 * leaked or blocked, an API not enabled for the key's project) is `auth`.
 * A 429 whose quota is per day cannot clear by retrying now and is `quota`. `RetryInfo.retryDelay`
 * is honoured like `retry-after`.
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 * @see https://cloud.google.com/apis/design/errors#error_model
 */
export function classifyGeminiError(
  status: number,
  bodyText: string,
  headers: Record<string, string | string[] | undefined>,
  provider: string,
  url?: string,
): UpstreamError {
  const error = readError(bodyText);
  const code = typeof error.status === 'string' ? error.status : '';
  const message = typeof error.message === 'string' ? error.message : undefined;
  if (status === 404 && isUnservedUrl(message)) return endpointNotFound(status, bodyText, provider, url);
  const details = Array.isArray(error.details) ? error.details : [];
  const detailReasons = details.map((detail) => (typeof detail?.reason === 'string' ? detail.reason : ''));
  const perDay = details.some((detail) => (detail?.violations ?? []).some((violation) => /PerDay/i.test(String(violation?.quotaId ?? ''))));

  let reason: FailureReason;
  const keyFailed = detailReasons.some((detailReason) => authReasons.has(detailReason));
  const clientFile = status === 403 && !keyFailed && message !== undefined && clientFilePattern.test(message);
  if (clientFile) reason = 'invalid_request';
  else if (keyFailed || code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED' || status === 401 || status === 403) {
    reason = 'auth';
  } else if (status === 429 || code === 'RESOURCE_EXHAUSTED') reason = perDay ? 'quota' : 'rate_limited';
  else if (status === 504 || status === 408 || code === 'DEADLINE_EXCEEDED') reason = 'timeout';
  else if (status === 404 || code === 'NOT_FOUND') reason = 'not_found';
  else if (status >= 500 || code === 'INTERNAL' || code === 'UNAVAILABLE') reason = 'provider_internal';
  else if (message !== undefined && contextLengthPattern.test(message)) reason = 'context_length';
  else if (status >= 400 && status < 500) reason = 'invalid_request';
  else reason = 'provider_internal';

  const clientFault = reason === 'invalid_request' || reason === 'context_length' || reason === 'not_found';
  return new UpstreamError(`${provider} answered ${status}: ${bodyText.slice(0, 500)}`, {
    reason,
    status,
    provider,
    upstreamMessage: message,
    upstreamType: clientFault ? (reason === 'not_found' ? 'not_found_error' : clientFile ? 'permission_error' : 'invalid_request_error') : undefined,
    upstreamCode: reason === 'context_length' ? 'context_length_exceeded' : code === '' ? null : code.toLowerCase(),
    upstreamParam: null,
    retryAfterMs: readRetryAfter(headers) ?? retryDelay(details),
  });
}

/** `RetryInfo.retryDelay` is a protobuf Duration in JSON: seconds with an `s`, e.g. "37s" or "0.5s". */
function retryDelay(details: NonNullable<GeminiError['details']>): number | undefined {
  for (const detail of details) {
    const match = typeof detail?.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay) : null;
    if (match?.[1] !== undefined) return Math.round(Number(match[1]) * 1000);
  }
  return undefined;
}
