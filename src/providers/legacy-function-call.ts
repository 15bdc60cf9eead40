import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../spec/openai-chat.js';
import type { StreamPart } from './provider.js';

/**
 * Whether a chat request declared its functions the legacy way, with `functions` and no `tools`:
 * OpenAI answers such a request in the legacy shape, and so must a translation that sent its
 * functions as tools.
 */
export function asksLegacyFunctions(request: ChatRequest): boolean {
  return Array.isArray(request.functions) && request.functions.length > 0 && !(Array.isArray(request.tools) && request.tools.length > 0);
}

/**
 * Puts a translated answer's tool calls in the legacy shape, in place, as OpenAI answers a request
 * made with `functions` (`asksLegacyFunctions`): each choice's first call as `message.function_call`
 * ({name, arguments}), without `tool_calls`, and `finish_reason: function_call` where it was
 * `tool_calls`. The legacy shape holds one call, and OpenAI makes no parallel calls there: a later
 * call of the same answer is left out.
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices-message-function_call
 */
export function legacyFunctionCallAnswer(completion: ChatCompletion): void {
  for (const choice of completion.choices) {
    const { tool_calls: toolCalls, ...message } = choice.message;
    const first = toolCalls?.[0];
    if (first !== undefined) choice.message = { ...message, function_call: { name: first.function.name, arguments: first.function.arguments } };
    if (choice.finish_reason === 'tool_calls') choice.finish_reason = 'function_call';
  }
}

type ChunkChoice = ChatCompletionChunk['choices'][number];

/**
 * A translated stream's chunks in the legacy shape (see `legacyFunctionCallAnswer`): the fragments
 * of each choice's first tool call (index 0, with the id it started with) as `delta.function_call`
 * ({name} when it starts, then its `arguments`), the other calls' fragments left out, and
 * `finish_reason: function_call` where it was `tool_calls`.
 */
export async function* legacyFunctionCallStream(parts: AsyncIterable<StreamPart>): AsyncGenerator<StreamPart> {
  /** The id of each choice's first call, once it started. */
  const firstCalls = new Map<number, string | undefined>();
  for await (const part of parts) {
    if (part.data === '' || part.usageOnly === true) {
      yield part;
      continue;
    }
    const chunk = JSON.parse(part.data) as ChatCompletionChunk;
    for (const choice of chunk.choices) legacyChoice(choice, firstCalls);
    yield { ...part, data: JSON.stringify(chunk) };
  }
}

function legacyChoice(choice: ChunkChoice, firstCalls: Map<number, string | undefined>): void {
  const { tool_calls: toolCalls, ...delta } = choice.delta;
  if (toolCalls !== undefined) {
    for (const call of toolCalls) {
      if (call.index !== 0) continue;
      if (!firstCalls.has(choice.index)) firstCalls.set(choice.index, call.id);
      // A call of index 0 with another id is a later call of a server that numbers every call 0.
      else if (call.id !== undefined && call.id !== firstCalls.get(choice.index)) continue;
      const fragment: { name?: string; arguments?: string } = {};
      if (call.function?.name !== undefined) fragment.name = call.function.name;
      if (call.function?.arguments !== undefined) fragment.arguments = call.function.arguments;
      delta.function_call = fragment;
    }
    choice.delta = delta;
  }
  if (choice.finish_reason === 'tool_calls') choice.finish_reason = 'function_call';
}
