import { translatedReasoning, type ChatMessage } from '../../spec/openai-chat.js';

/**
 * DeepSeek's thinking mode refuses a conversation in which an assistant turn that called tools comes
 * back without its `reasoning_content` ("The reasoning_content in the thinking mode must be passed
 * back to the API", 400) — every agent's second step. Clients of the OpenAI API often drop the field
 * (it is no part of OpenAI's API, whose servers refuse it), and the relay's own translations
 * (`/v1/messages`, `/v1/responses`) have no such field: a Messages client's thinking blocks are kept
 * on the translated message apart (`translatedReasoning`, which no upstream ever receives as such).
 * For a DeepSeek model, each assistant message with tool calls gets its `reasoning_content`: the
 * client's own, else the thinking it sent in Anthropic's format, else an empty one (which DeepSeek
 * takes: the turn's reasoning is lost, the conversation goes on). Other messages and other models
 * are left as they are. Returns the messages unchanged (the same array) when none needs it.
 * @see https://api-docs.deepseek.com/guides/thinking_mode#tool-calls
 */
export function withReasoningReplayed(model: string, messages: ChatMessage[]): ChatMessage[] {
  if (!isDeepSeekModel(model)) return messages;
  let replayed: ChatMessage[] | undefined;
  messages.forEach((message, index) => {
    if (message.role !== 'assistant' || !Array.isArray(message.tool_calls) || message.tool_calls.length === 0 || typeof message.reasoning_content === 'string') return;
    replayed ??= messages.slice();
    replayed[index] = { ...message, reasoning_content: message[translatedReasoning] ?? '' };
  });
  return replayed ?? messages;
}

/** A DeepSeek model, by the name its upstream gets: `deepseek-flash`, `deepseek-v4-pro`, a vLLM's `deepseek-ai/DeepSeek-R1`… */
const deepSeekName = /(^|\/)deepseek-/i;

function isDeepSeekModel(model: string): boolean {
  return deepSeekName.test(model);
}
