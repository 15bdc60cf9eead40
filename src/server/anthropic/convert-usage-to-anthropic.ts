import type { AnthropicUsage } from '../../spec/anthropic-messages.js';
import type { Usage } from '../../spec/openai-chat.js';

/**
 * Turns OpenAI token counts into Anthropic's, where `input_tokens` leaves out the cached part:
 * cache reads and writes are reported apart, as Anthropic does (writes split by cache lifetime
 * when some were cached for 1 hour).
 * @see https://docs.anthropic.com/en/api/messages#response-usage
 */
export function convertUsageToAnthropic(usage: Usage | undefined): AnthropicUsage {
  if (usage === undefined) return { input_tokens: 0, output_tokens: 0 };
  const cacheRead = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  const cacheWrite1h = Math.min(usage.prompt_tokens_details?.cache_write_1h_tokens ?? 0, cacheWrite);
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cacheRead - cacheWrite),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: usage.completion_tokens,
    ...(cacheWrite1h > 0 ? { cache_creation: { ephemeral_5m_input_tokens: cacheWrite - cacheWrite1h, ephemeral_1h_input_tokens: cacheWrite1h } } : {}),
  };
}
