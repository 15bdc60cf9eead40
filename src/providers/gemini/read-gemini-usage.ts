import type { Usage } from '../../spec/openai-chat.js';
import type { GeminiUsageMetadata } from './gemini-wire.js';

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
}

/**
 * Turns Gemini's `usageMetadata` into OpenAI's usage. Thinking tokens are billed as output, so they
 * count as completion tokens (and are shown as `reasoning_tokens`, as OpenAI does for o-series
 * models). Tokens of built-in tool prompts are billed as input, so they count as prompt tokens.
 * Gemini's prompt count already includes the cached part, which is OpenAI's convention too.
 * Returns `undefined` when Gemini sent no prompt count at all, so the caller does not meter zeros.
 * @see https://ai.google.dev/api/generate-content#UsageMetadata
 */
export function readGeminiUsage(metadata: GeminiUsageMetadata | undefined): Usage | undefined {
  if (metadata === undefined || metadata === null || typeof metadata !== 'object') return undefined;
  if (typeof metadata.promptTokenCount !== 'number') return undefined;
  const prompt = count(metadata.promptTokenCount) + count(metadata.toolUsePromptTokenCount);
  const thoughts = count(metadata.thoughtsTokenCount);
  const completion = count(metadata.candidatesTokenCount) + thoughts;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof metadata.totalTokenCount === 'number' ? count(metadata.totalTokenCount) : prompt + completion,
  };
  if (typeof metadata.cachedContentTokenCount === 'number') usage.prompt_tokens_details = { cached_tokens: count(metadata.cachedContentTokenCount) };
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}
