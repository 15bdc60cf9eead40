import type { AnthropicUsage } from '../../spec/anthropic-messages.js';
import type { Usage } from '../../spec/openai-chat.js';

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/**
 * Turns Anthropic's token counts into OpenAI's. Anthropic's `input_tokens` leaves out the tokens
 * read from and written to the prompt cache, while OpenAI's `prompt_tokens` includes cached ones; so
 * the prompt is the sum of the three, with the cache read reported as `cached_tokens` and the cache
 * write as `cache_write_tokens` (priced differently by the ledger). Malformed input yields
 * `undefined`, never a wrong number.
 * @see https://docs.anthropic.com/en/api/messages#response-usage
 * @see https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
export function convertAnthropicUsage(usage: AnthropicUsage | null | undefined): Usage | undefined {
  if (usage === null || typeof usage !== 'object') return undefined;
  const input = count(usage.input_tokens);
  if (input === undefined) return undefined;
  const cacheRead = count(usage.cache_read_input_tokens) ?? 0;
  const cacheWrite = count(usage.cache_creation_input_tokens) ?? 0;
  const completion = count(usage.output_tokens) ?? 0;
  const prompt = input + cacheRead + cacheWrite;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
}
