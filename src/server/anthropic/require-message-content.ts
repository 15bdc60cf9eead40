import type { AnthropicMessageParam } from '../../spec/anthropic-messages.js';
import { RelayError } from '../../spec/relay-error.js';

/**
 * Refuses a conversation with a message without content (`""` or `[]`) as Anthropic refuses it,
 * in its words: every message needs content except a final assistant message, which may be left
 * empty. Checked before anything is reserved, whatever the model's upstream: translated for an
 * OpenAI-compatible one, the empty message would go up as an empty message or as none at all, and
 * come back as that upstream's refusal after the call (or as an answer to a conversation the
 * client did not send); an Anthropic upstream would refuse it the same way.
 * @see https://docs.anthropic.com/en/api/messages
 */
export function requireMessageContent(messages: readonly AnthropicMessageParam[]): void {
  const last = messages.length - 1;
  for (let index = 0; index <= last; index++) {
    const message = messages[index]!;
    if (message.content.length > 0 || (index === last && message.role === 'assistant')) continue;
    throw new RelayError(`messages.${index}: all messages must have non-empty content except for the optional final assistant message`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_request',
      param: `messages[${index}].content`,
    });
  }
}
