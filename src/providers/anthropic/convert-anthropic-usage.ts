import type { AnthropicUsage } from '../../spec/anthropic-messages.js';
import type { Usage } from '../../spec/openai-chat.js';

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/**
 * Turns Anthropic's token counts into OpenAI's. Anthropic's `input_tokens` leaves out the tokens
 * read from and written to the prompt cache, while OpenAI's `prompt_tokens` includes cached ones; so
 * the prompt is the sum of the three, with the cache read reported as `cached_tokens` and the cache
 * write as `cache_write_tokens`, of which those cached for 1 hour (`cache_creation`'s
 * `ephemeral_1h_input_tokens`) as `cache_write_1h_tokens` when there are any: the ledger prices reads
 * and both kinds of writes each at its own price. Malformed input yields `undefined`, never a wrong
 * number.
 * @see https://docs.anthropic.com/en/api/messages#response-usage
 * @see https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
export function convertAnthropicUsage(usage: AnthropicUsage | null | undefined): Usage | undefined {
  if (usage === null || typeof usage !== 'object') return undefined;
  const input = count(usage.input_tokens);
  if (input === undefined) return undefined;
  const cacheRead = count(usage.cache_read_input_tokens) ?? 0;
  const split = usage.cache_creation;
  const fiveMinutes = count(split?.ephemeral_5m_input_tokens);
  const oneHour = count(split?.ephemeral_1h_input_tokens);
  // The total is authoritative (message_delta's is final, and carries no split); the split says which of it is for 1 hour.
  const cacheWrite = count(usage.cache_creation_input_tokens) ?? (fiveMinutes ?? 0) + (oneHour ?? 0);
  const cacheWrite1h = Math.min(oneHour ?? 0, cacheWrite);
  const completion = count(usage.output_tokens) ?? 0;
  const prompt = input + cacheRead + cacheWrite;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: cacheWrite1h > 0 ? { cached_tokens: cacheRead, cache_write_tokens: cacheWrite, cache_write_1h_tokens: cacheWrite1h } : { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
}

/**
 * Merges a stream event's usage into the counts so far. Anthropic's counts are cumulative, so a later
 * value replaces an earlier one; `cache_creation` (the writes split by cache lifetime, which
 * `message_start` carries) is merged the same way, field by field.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */
export function mergeAnthropicUsage(counts: AnthropicUsage, usage: unknown): boolean {
  if (usage === null || typeof usage !== 'object') return false;
  for (const [field, value] of Object.entries(usage)) {
    if (typeof value === 'number') counts[field] = value;
    else if (field === 'cache_creation' && value !== null && typeof value === 'object') {
      const split = { ...counts.cache_creation };
      for (const [kind, tokens] of Object.entries(value)) if (typeof tokens === 'number') split[kind] = tokens;
      counts.cache_creation = split;
    }
  }
  return true;
}
