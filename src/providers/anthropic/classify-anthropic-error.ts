import type { AnthropicErrorDetail } from '../../spec/anthropic-messages.js';
import { UpstreamError, type FailureReason } from '../../spec/relay-error.js';
import { endpointNotFound, isUnservedUrl, readRetryAfter } from '../upstream-failure.js';

/** The HTTP status Anthropic uses for each error type; a stream's `error` event carries only the type. */
const statusByType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic error types that OpenAI clients know under the same name (the rest become invalid_request_error). */
const sharedTypes = new Set(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'rate_limit_error']);

interface ErrorFields {
  type?: string;
  message?: string;
  errorCode?: string;
}

function readErrorFields(bodyText: string): ErrorFields {
  try {
    const parsed = JSON.parse(bodyText) as { error?: unknown };
    const error = parsed.error;
    if (error !== null && typeof error === 'object') {
      const record = error as Record<string, unknown>;
      const details = record.details as Record<string, unknown> | undefined;
      return {
        type: typeof record.type === 'string' ? record.type : undefined,
        message: typeof record.message === 'string' ? record.message : undefined,
        errorCode: typeof details?.error_code === 'string' ? details.error_code : undefined,
      };
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone decides.
  }
  return {};
}

function reasonFor(status: number, fields: ErrorFields): FailureReason {
  const text = `${fields.type ?? ''} ${fields.errorCode ?? ''} ${fields.message ?? ''}`.toLowerCase();
  // A spent account answers 400 ("credit balance is too low") or 429 with a spend-limit code;
  // another deployment (another key) may still have money, so it is quota, not the caller's fault.
  const outOfMoney = /credit balance|spend limit|spend_limit|billing/.test(text);
  if (status === 401 || status === 403) return 'auth';
  if (status === 402 || fields.type === 'billing_error') return 'quota';
  if (status === 404) return 'not_found';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 429) return outOfMoney ? 'quota' : 'rate_limited';
  if (status >= 500 || status === 409) return 'provider_internal';
  if (outOfMoney) return 'quota';
  if (status === 400 && /prompt is too long|too many (input )?tokens|context window|context length|maximum context/.test(text)) return 'context_length';
  return 'invalid_request';
}

/**
 * Classifies a failed Anthropic call into a failure reason: `overloaded_error` (529) and 5xx are
 * provider-internal (retried), 429 is rate-limited (with `retry-after`) unless the account's spend
 * limit was hit, 401/403 are the relay's own credentials, 404 is not-found (`endpoint_not_found`
 * without an Anthropic error naming what: the base URL is wrong), and 400 is the caller's request,
 * or its context length when the prompt is too long.
 * @see https://docs.anthropic.com/en/api/errors
 */
export function classifyAnthropicError(
  status: number,
  bodyText: string,
  headers: Record<string, string | string[] | undefined>,
  provider: string,
  url?: string,
): UpstreamError {
  const fields = readErrorFields(bodyText);
  if (status === 404 && isUnservedUrl(fields.message)) return endpointNotFound(status, bodyText, provider, url);
  const reason = reasonFor(status, fields);
  return new UpstreamError(`${provider} answered ${status}: ${bodyText.slice(0, 500)}`, {
    reason,
    status,
    provider,
    upstreamMessage: fields.message,
    upstreamType: fields.type !== undefined && sharedTypes.has(fields.type) ? fields.type : 'invalid_request_error',
    upstreamCode: reason === 'context_length' ? 'context_length_exceeded' : undefined,
    retryAfterMs: readRetryAfter(headers),
  });
}

/**
 * Classifies the `error` event of a stream that had already started (`overloaded_error` is the
 * usual one): the event carries no status, so the type's documented status stands in for it.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events
 */
export function classifyAnthropicStreamError(error: AnthropicErrorDetail | undefined, provider: string): UpstreamError {
  const type = error?.type ?? '';
  const status = Object.hasOwn(statusByType, type) ? statusByType[type]! : 500;
  const classified = classifyAnthropicError(status, JSON.stringify({ type: 'error', error }), {}, provider);
  return new UpstreamError(`${provider}: error event in stream: ${error?.type ?? 'unknown'}: ${error?.message ?? ''}`.slice(0, 600), {
    reason: classified.reason,
    status: classified.status,
    provider,
    upstreamMessage: classified.upstreamMessage,
    upstreamType: classified.upstreamType,
    upstreamCode: classified.upstreamCode,
  });
}
