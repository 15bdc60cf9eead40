import { UpstreamError } from '../spec/relay-error.js';

/**
 * The refusals that state the most output tokens the model takes, in its vendor's words: OpenAI
 * ("max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you
 * provided 32000."), DeepSeek ("Invalid max_tokens value, the valid range of max_tokens is [1,
 * 8192]"), Volcengine Ark ("The parameter `max_completion_tokens` specified in the request are not
 * valid: integer above maximum value, expected a value <= 12288, but got 32000 instead."), Anthropic
 * ("max_tokens: 64000 > 32000, which is the maximum allowed number of output tokens for …"); and
 * Gemini's (below).
 */
const modelLimits = [
  /supports at most (\d+) completion tokens/,
  /valid range of max_tokens is \[1, (\d+)\]/,
  /expected a value <= (\d+)/,
  /max_tokens: \d+ > (\d+), which is the maximum allowed number of output tokens/,
];

/** Gemini's words, whose upper bound is exclusive: "Unable to submit request because it has a maxOutputTokens value of 32000 but the supported range is from 1 (inclusive) to 8193 (exclusive)." */
const geminiRange = /maxOutputTokens value of \d+ but the supported range is from 1 \(inclusive\) to (\d+) \(exclusive\)/;

/**
 * The refusals that state what is left of the context window after the prompt, which depends on
 * the request: vLLM ("'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's
 * maximum context length is 64001 tokens and your request has 24235 input tokens"), and OpenAI's and
 * older servers' ("This model's maximum context length is 8192 tokens. However, you requested 8256
 * tokens (64 in the messages, 8192 in the completion)").
 */
const contextLeft = [/maximum context length is (\d+) tokens and your request has (\d+) input tokens/, /maximum context length is (\d+) tokens\. However, you requested \d+ tokens \((\d+) in the messages, \d+ in the completion\)/];

/**
 * The output limit an upstream's 400 says a request must stay within, or undefined when it is no
 * such refusal: `ofModel` when it is the model's own limit (the same for every request to it), else
 * what the context window leaves after this request's prompt.
 */
export function refusedOutputLimit(error: unknown): { limit: number; ofModel: boolean } | undefined {
  if (!(error instanceof UpstreamError) || error.status !== 400) return undefined;
  if (error.reason !== 'invalid_request' && error.reason !== 'context_length') return undefined;
  const message = error.upstreamMessage ?? '';
  if (!/max_(?:completion_)?tokens|maxOutputTokens|in the completion/.test(message)) return undefined;
  const gemini = geminiRange.exec(message);
  if (gemini !== null) return Number(gemini[1]) - 1 >= 1 ? { limit: Number(gemini[1]) - 1, ofModel: true } : undefined;
  for (const pattern of modelLimits) {
    const found = pattern.exec(message);
    if (found !== null) return Number(found[1]) >= 1 ? { limit: Number(found[1]), ofModel: true } : undefined;
  }
  for (const pattern of contextLeft) {
    const found = pattern.exec(message);
    if (found === null) continue;
    const limit = Number(found[1]) - Number(found[2]);
    return limit >= 1 ? { limit, ofModel: false } : undefined;
  }
  return undefined;
}

/** The key under which a model's output limit learnt from a refusal is remembered (`refusal-memory`). */
export const outputLimitKey = '#output-limit';
