import type { Usage } from './openai-chat.js';

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/**
 * Reads an OpenAI-shaped `usage` object from untrusted upstream JSON. Lenient on purpose: only the
 * counts the relay meters are checked, anything else is ignored, and a malformed value yields
 * `undefined` (the request is then counted with the tokenizer) instead of a wrong number.
 */
export function readUsage(value: unknown): Usage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  // Embeddings report only prompt_tokens and total_tokens.
  const prompt = count(record.prompt_tokens) ?? count(record.input_tokens);
  if (prompt === undefined) return undefined;
  const completion = count(record.completion_tokens) ?? count(record.output_tokens) ?? 0;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: count(record.total_tokens) ?? prompt + completion,
  };
  // The Responses API names the details after its counts (`input_tokens_details`, `output_tokens_details`).
  const promptDetails = (record.prompt_tokens_details ?? record.input_tokens_details) as Record<string, unknown> | undefined;
  const cached = count(promptDetails?.cached_tokens) ?? count(record.prompt_cache_hit_tokens);
  if (cached !== undefined) usage.prompt_tokens_details = { cached_tokens: cached };
  const completionDetails = (record.completion_tokens_details ?? record.output_tokens_details) as Record<string, unknown> | undefined;
  const reasoning = count(completionDetails?.reasoning_tokens);
  if (reasoning !== undefined) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}
