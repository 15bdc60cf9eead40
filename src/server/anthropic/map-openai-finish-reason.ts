import type { AnthropicStopReason } from '../../spec/anthropic-messages.js';

/**
 * Maps OpenAI's `finish_reason` to Anthropic's `stop_reason`. OpenAI does not say whether `stop`
 * was the natural end or a stop sequence, so it is always `end_turn` (and `stop_sequence` null).
 * @see https://docs.anthropic.com/en/api/handling-stop-reasons
 */
export function mapOpenAIFinishReason(finishReason: string | null | undefined): AnthropicStopReason {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}
