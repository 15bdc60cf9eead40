/**
 * Maps Anthropic's `stop_reason` to OpenAI's `finish_reason`. `pause_turn` (a server-tool loop hit
 * its iteration limit) is a normal end of this answer for an OpenAI client, so it maps to `stop`;
 * an unknown future reason maps to `stop` as well rather than to a value OpenAI SDKs do not know.
 * @see https://docs.anthropic.com/en/api/handling-stop-reasons
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
export function mapAnthropicStopReason(stopReason: string | null | undefined): string | null {
  switch (stopReason) {
    case undefined:
    case null:
      return null;
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
    default:
      return 'stop';
  }
}
