import type { AnthropicStopReason } from '../../spec/anthropic-messages.js';

/**
 * Maps OpenAI's `finish_reason` to Anthropic's `stop_reason`. OpenAI does not say whether `stop`
 * was the natural end or a stop sequence, so it is always `end_turn` (and `stop_sequence` null).
 * An answer that called tools (`calledTools`) but finished with `stop` — what OpenAI itself answers
 * when `tool_choice` names a function, and what some OpenAI-compatible servers always answer — is
 * `tool_use`: Anthropic clients run the tools when the stop reason says so.
 * @see https://docs.anthropic.com/en/api/handling-stop-reasons
 */
export function mapOpenAIFinishReason(finishReason: string | null | undefined, calledTools = false): AnthropicStopReason {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return calledTools ? 'tool_use' : 'end_turn';
  }
}
