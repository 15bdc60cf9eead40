import { anthropicToolId, type AnthropicContentBlock, type AnthropicMessage, type AnthropicRequest } from '../../spec/anthropic-messages.js';
import { reasoningOf, type ChatCompletion, type Usage } from '../../spec/openai-chat.js';
import { convertUsageToAnthropic } from './convert-usage-to-anthropic.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';

/** Tool arguments are a JSON string on OpenAI's side and an object on Anthropic's. */
function parseToolInput(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // a model's malformed arguments: Anthropic's format needs an object, so an empty one stands in
  }
  return {};
}

/** Anthropic's ids start with `msg_`; clients sometimes check. */
export function anthropicMessageId(id: string | undefined): string {
  if (id === undefined || id === '') return `msg_${Date.now().toString(36)}`;
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/**
 * The signature of a thinking block made from another model's reasoning. Anthropic signs its own
 * (an encrypted form of the thinking, checked when the block comes back); there is nothing to sign
 * here, and an empty string, which Anthropic never sends, is what the SDKs parse as a block without one.
 */
export const unsignedThinking = '';

/**
 * Whether an Anthropic client asked for thinking (`thinking: {type: "enabled", …}`, or another type
 * than `disabled`): only then does Anthropic answer with thinking blocks, and clients that did not
 * ask may read `content[0]` as the text.
 */
export function asksForThinking(body: AnthropicRequest): boolean {
  const thinking = body.thinking as { type?: unknown } | null | undefined;
  return typeof thinking === 'object' && thinking !== null && thinking.type !== 'disabled';
}

/**
 * Turns an OpenAI `chat.completion` into an Anthropic `Message`: with `thinking` (the client asked
 * for it), the reasoning the server sent apart (`reasoning_content` or `reasoning`: DeepSeek, vLLM's
 * reasoning parsers, OpenRouter) as a first `thinking` block, unsigned; the text as one text block, tool calls as
 * `tool_use` blocks (arguments parsed into `input`, ids made ones Anthropic takes, and a new one
 * for a call without: `anthropicToolId`), the finish reason as `stop_reason`, and usage (as the
 * provider read it) with the cached part apart. `model` is the name the client asked for.
 * @see https://docs.anthropic.com/en/api/messages#response
 */
export function convertToAnthropicMessage(completion: ChatCompletion, model: string, usage: Usage | undefined, thinking = false): AnthropicMessage {
  const choice = completion.choices?.[0];
  const content: AnthropicContentBlock[] = [];
  const reasoning = reasoningOf(choice?.message);
  if (thinking && typeof reasoning === 'string' && reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature: unsignedThinking });
  const text = choice?.message?.content ?? choice?.message?.refusal;
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  const toolCalls = choice?.message?.tool_calls ?? [];
  for (const toolCall of toolCalls) {
    content.push({ type: 'tool_use', id: anthropicToolId(toolCall.id), name: toolCall.function.name, input: parseToolInput(toolCall.function.arguments) });
  }
  return {
    id: anthropicMessageId(completion.id),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: mapOpenAIFinishReason(choice?.finish_reason, toolCalls.length > 0),
    stop_sequence: null,
    usage: convertUsageToAnthropic(usage),
  };
}
