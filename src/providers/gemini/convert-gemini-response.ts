import type { ChatCompletion, ChatToolCall } from '../../spec/openai-chat.js';
import type { GeminiResponse } from './gemini-wire.js';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.js';
import { readGeminiParts } from './read-gemini-parts.js';
import { readGeminiUsage } from './read-gemini-usage.js';

export interface ResponseConversionOptions {
  /** The model name to report when Gemini gives no `modelVersion`. */
  model: string;
  completionId: string;
  created: number;
  /** Tool calls are named `<prefix><n>`, n counting the calls of the whole answer from 0. */
  toolCallIdPrefix: string;
  /** Told of each function call's thought signature, so that the next turn can send it back. */
  rememberSignature?: (toolCallId: string, signature: string) => void;
}

/**
 * Converts a Gemini `GenerateContentResponse` to an OpenAI `chat.completion`: one choice per
 * candidate, the text parts joined (thoughts left out), function calls as tool calls with their
 * arguments as JSON text, the finish reason mapped, and `usageMetadata` as usage. A prompt Gemini
 * blocked before answering (`promptFeedback.blockReason`) becomes one empty choice that finished
 * with `content_filter`, which is how OpenAI reports a filtered answer.
 * @see https://ai.google.dev/api/generate-content#generatecontentresponse
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
export function convertGeminiResponse(response: GeminiResponse, options: ResponseConversionOptions): ChatCompletion {
  const choices: ChatCompletion['choices'] = [];
  let callCount = 0;
  // An untrusted answer: candidates that are not objects are skipped.
  const candidates = (Array.isArray(response.candidates) ? response.candidates : []).filter((candidate) => candidate !== null && typeof candidate === 'object');
  candidates.forEach((candidate, position) => {
    const { text, calls } = readGeminiParts(candidate.content?.parts);
    const toolCalls: ChatToolCall[] = calls.map((call) => {
      const id = `${options.toolCallIdPrefix}${callCount++}`;
      if (call.thoughtSignature !== undefined) options.rememberSignature?.(id, call.thoughtSignature);
      return { id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args) } };
    });
    const message: ChatCompletion['choices'][number]['message'] = {
      role: 'assistant',
      content: text === '' && toolCalls.length > 0 ? null : text,
      refusal: null,
    };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    choices.push({
      index: typeof candidate.index === 'number' ? candidate.index : position,
      message,
      finish_reason: mapGeminiFinishReason(candidate.finishReason, toolCalls.length > 0),
      logprobs: null,
    });
  });
  if (choices.length === 0) {
    // No candidate: the prompt was blocked (or Gemini gave nothing); either way nothing may be shown.
    choices.push({
      index: 0,
      message: { role: 'assistant', content: '', refusal: null },
      finish_reason: response.promptFeedback?.blockReason !== undefined ? 'content_filter' : 'stop',
      logprobs: null,
    });
  }
  const completion: ChatCompletion = {
    id: options.completionId,
    object: 'chat.completion',
    created: options.created,
    model: typeof response.modelVersion === 'string' && response.modelVersion !== '' ? response.modelVersion : options.model,
    choices,
  };
  const usage = readGeminiUsage(response.usageMetadata);
  if (usage !== undefined) completion.usage = usage;
  return completion;
}
