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
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** How the vendors say how long a prompt was and how long it may be: [pattern, group of the prompt's tokens, group of the limit]. */
const promptLengthWordings: Array<[RegExp, number, number]> = [
  // OpenAI, vLLM, DeepSeek: "maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens" / "you requested 140000 tokens".
  [/maximum context length is (\d+) tokens.*?(?:resulted in|requested) (\d+) tokens/is, 2, 1],
  // Gemini: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)".
  [/input token count \((\d+)\) exceeds the maximum number of tokens allowed \((\d+)\)/i, 1, 2],
];

/**
 * An upstream's refusal of a prompt longer than the model's context, in Anthropic's words —
 * `prompt is too long: 208310 tokens > 200000 maximum` — which Anthropic clients recognise (Claude
 * Code compacts the conversation on it, and reads the two counts to know by how much), followed by
 * the upstream's own message. Without counts in the upstream's message, it follows the first words.
 */
function promptTooLong(message: string): string {
  if (/^prompt is too long/i.test(message)) return message;
  for (const [pattern, prompt, limit] of promptLengthWordings) {
    const counts = pattern.exec(message);
    if (counts !== null) return `prompt is too long: ${counts[prompt]} tokens > ${counts[limit]} maximum (${message})`;
  }
  return `prompt is too long: ${message}`;
}

/**
 * Renders a relay error in Anthropic's envelope, `{"type":"error","error":{"type","message"}}`,
 * for the `/v1/messages` front door (JSON answers and a stream's `error` event alike). The message
 * is the relay's own, already safe to show, except that an upstream's refusal of a prompt too long
 * for the model is worded as Anthropic words it; the request id lets a user quote it to the operator.
 * @see https://docs.anthropic.com/en/api/errors#error-shapes
 */
export function renderAnthropicError(error: RelayError, requestId: string): AnthropicErrorBody & { request_id: string } {
  const message = error.reason === 'context_length' ? promptTooLong(error.message) : error.message;
  return { type: 'error', error: { type: anthropicType(error.status), message }, request_id: requestId };
}
