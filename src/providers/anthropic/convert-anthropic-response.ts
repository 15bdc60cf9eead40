import type { AnthropicContentBlock, AnthropicMessage } from '../../spec/anthropic-messages.js';
import type { ChatCompletion, ChatToolCall } from '../../spec/openai-chat.js';
import type { ThinkingBlocks } from './anthropic-thinking.js';
import { convertAnthropicUsage } from './convert-anthropic-usage.js';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.js';

/**
 * Turns an Anthropic `Message` into an OpenAI `chat.completion`: text blocks join into `content`,
 * `tool_use` blocks become `tool_calls` (input serialised as the arguments string), the text of
 * `thinking` blocks becomes `reasoning_content` (the field DeepSeek and other OpenAI-compatible
 * servers give reasoning in), `redacted_thinking` (no text) and server-tool blocks are left out, and
 * usage is converted with the cache counted in (thinking is in the output tokens). The thinking
 * blocks of an answer that calls tools are remembered in `thinkingBlocks` for the next turn. When
 * JSON mode was served by a forced tool, that tool's input is the answer's text and the answer ends
 * with `stop`, as OpenAI's would.
 * @see https://docs.anthropic.com/en/api/messages#response
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
export function convertAnthropicResponse(message: AnthropicMessage, jsonToolName?: string, thinkingBlocks?: ThinkingBlocks): ChatCompletion {
  const texts: string[] = [];
  const toolCalls: ChatToolCall[] = [];
  let thoughts: AnthropicContentBlock[] | undefined;
  let reasoning: string | undefined;
  // An untrusted answer (a JSON object, checked on arrival): blocks that are not objects are skipped.
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (block === null || typeof block !== 'object') continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_use' && jsonToolName !== undefined && block.name === jsonToolName) texts.push(JSON.stringify(block.input ?? {}));
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: String(block.id), type: 'function', function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      (thoughts ??= []).push(block);
      if (typeof block.thinking === 'string' && block.thinking !== '') reasoning = reasoning === undefined ? block.thinking : `${reasoning}\n\n${block.thinking}`;
    }
  }
  if (thoughts !== undefined && toolCalls.length > 0) thinkingBlocks?.remember(toolCalls.map((toolCall) => toolCall.id), thoughts);
  let finishReason = mapAnthropicStopReason(message.stop_reason) ?? 'stop';
  if (finishReason === 'tool_calls' && toolCalls.length === 0) finishReason = 'stop';
  const content = texts.length > 0 ? texts.join('') : null;
  const completion: ChatCompletion = {
    id: typeof message.id === 'string' ? message.id : 'msg_unknown',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof message.model === 'string' ? message.model : 'unknown',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}), refusal: null },
        finish_reason: finishReason,
        logprobs: null,
      },
    ],
  };
  if (reasoning !== undefined) completion.choices[0]!.message.reasoning_content = reasoning;
  const usage = convertAnthropicUsage(message.usage);
  if (usage !== undefined) completion.usage = usage;
  return completion;
}
