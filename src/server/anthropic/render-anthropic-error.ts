import type { AnthropicErrorBody, AnthropicErrorType } from '../../spec/anthropic-messages.js';
import type { RelayError } from '../../spec/relay-error.js';

/**
 * Anthropic's error type for an HTTP status: Anthropic's SDKs pick their exception class by
 * status, and clients switch on `error.type`, so the two must agree.
 * @see https://docs.anthropic.com/en/api/errors#http-errors
 */
function anthropicType(status: number): AnthropicErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * Renders a relay error in Anthropic's envelope, `{"type":"error","error":{"type","message"}}`,
 * for the `/v1/messages` front door (JSON answers and a stream's `error` event alike). The message
 * is the relay's own, already safe to show; the request id lets a user quote it to the operator.
 * @see https://docs.anthropic.com/en/api/errors#error-shapes
 */
export function renderAnthropicError(error: RelayError, requestId: string): AnthropicErrorBody & { request_id: string } {
  return { type: 'error', error: { type: anthropicType(error.status), message: error.message }, request_id: requestId };
}
