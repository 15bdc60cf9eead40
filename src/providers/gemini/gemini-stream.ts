import type { ChatCompletionChunk, Usage } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { SseParser } from '../../sse/sse-parser.js';
import type { StreamPart } from '../provider.js';
import { streamCut } from '../upstream-failure.js';
import { classifyGeminiError } from './classify-gemini-error.js';
import type { GeminiResponse } from './gemini-wire.js';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.js';
import { readGeminiParts } from './read-gemini-parts.js';
import { readGeminiUsage } from './read-gemini-usage.js';

export interface GeminiStreamOptions {
  provider: string;
  /** The model name to report until Gemini names its `modelVersion`. */
  model: string;
  completionId: string;
  created: number;
  /** Tool calls are named `<prefix><n>`, n counting the calls of the whole answer from 0. */
  toolCallIdPrefix: string;
  rememberSignature?: (toolCallId: string, signature: string) => void;
}

interface CandidateState {
  started: boolean;
  toolCalls: number;
  /** It gave its finish reason. */
  finished: boolean;
}

type ChunkChoice = ChatCompletionChunk['choices'][number];

/**
 * Turns the SSE body of `streamGenerateContent?alt=sse` into OpenAI `chat.completion.chunk` parts.
 * Every Gemini event is a whole `GenerateContentResponse` carrying the next piece of each candidate:
 * its text becomes a content delta (the first one with `role`), each function call a complete tool
 * call delta (Gemini never splits arguments) indexed per choice, and a `finishReason` a last chunk
 * with the mapped `finish_reason`. `usageMetadata` grows with each event; the last one is sent at the
 * end as a usage-only chunk (`choices: []`), which the server strips when the client did not ask for
 * usage. An error event fails the stream; a stream that ends without any finish reason was cut.
 * Gemini's stream has no event of its own that ends it (as OpenAI's `[DONE]` does): its end is the
 * body's. Once every candidate has given its finish reason (or the prompt was blocked) the answer
 * is whole, and a body that then fails (the upstream drops the connection, or leaves the response
 * open past the timeout) ends the stream as the body's end would: complete, not failed.
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 * @see https://platform.openai.com/docs/api-reference/chat-streaming/streaming
 */
export async function* readGeminiStream(body: AsyncIterable<Buffer>, options: GeminiStreamOptions): AsyncGenerator<StreamPart> {
  const parser = new SseParser(options.provider);
  const states = new Map<number, CandidateState>();
  let model = options.model;
  let usage: Usage | undefined;
  let callCount = 0;
  let finished = false;
  let blocked = false;
  const chunk = (choices: ChunkChoice[], extra: Partial<ChatCompletionChunk> = {}): string => {
    const value: ChatCompletionChunk = { id: options.completionId, object: 'chat.completion.chunk', created: options.created, model, choices, ...extra };
    return JSON.stringify(value);
  };
  const whole = (): boolean => blocked || (states.size > 0 && [...states.values()].every((state) => state.finished));

  const reads = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      let read: IteratorResult<Buffer>;
      try {
        read = await reads.next();
      } catch (error) {
        // The body failed after the answer was whole: that is its end (see above).
        if (error instanceof UpstreamError && (error.reason === 'network' || error.reason === 'timeout') && whole()) break;
        throw error;
      }
      if (read.done === true) break;
      for (const event of parser.push(read.value)) {
        const response = parseEvent(event.data, options.provider);
        if (typeof response.modelVersion === 'string' && response.modelVersion !== '') model = response.modelVersion;
        usage = readGeminiUsage(response.usageMetadata) ?? usage;
        const candidates = (Array.isArray(response.candidates) ? response.candidates : []).filter((candidate) => candidate !== null && typeof candidate === 'object');
        for (const [position, candidate] of candidates.entries()) {
          const index = typeof candidate.index === 'number' ? candidate.index : position;
          const state = states.get(index) ?? { started: false, toolCalls: 0, finished: false };
          states.set(index, state);
          const { text, calls } = readGeminiParts(candidate.content?.parts);
          if (text !== '' || calls.length > 0) {
            const delta: ChunkChoice['delta'] = state.started ? {} : { role: 'assistant' };
            if (text !== '') delta.content = text;
            else if (!state.started) delta.content = null;
            if (calls.length > 0) {
              delta.tool_calls = calls.map((call) => {
                const id = `${options.toolCallIdPrefix}${callCount++}`;
                if (call.thoughtSignature !== undefined) options.rememberSignature?.(id, call.thoughtSignature);
                return { index: state.toolCalls++, id, type: 'function' as const, function: { name: call.name, arguments: JSON.stringify(call.args) } };
              });
            }
            state.started = true;
            yield { data: chunk([{ index, delta, finish_reason: null, logprobs: null }]) };
          }
          if (typeof candidate.finishReason === 'string' && candidate.finishReason !== '') {
            finished = true;
            state.finished = true;
            const delta: ChunkChoice['delta'] = state.started ? {} : { role: 'assistant', content: '' };
            state.started = true;
            yield { data: chunk([{ index, delta, finish_reason: mapGeminiFinishReason(candidate.finishReason, state.toolCalls > 0), logprobs: null }]) };
          }
        }
        if (candidates.length === 0 && typeof response.promptFeedback?.blockReason === 'string') {
          // The prompt was blocked: nothing will follow, and nothing may be shown.
          finished = true;
          blocked = true;
          yield { data: chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'content_filter', logprobs: null }]) };
        }
      }
    }
  } finally {
    // Closed when the consumer stops early or a failure ends the stream (a body still open is aborted).
    await reads.return?.();
  }
  if (!finished) {
    throw streamCut(options.provider, 'any finishReason');
  }
  if (usage !== undefined) yield { data: chunk([], { usage }), usage, usageOnly: true };
}

function parseEvent(data: string, provider: string): GeminiResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new UpstreamError(`${provider}: a stream event is not JSON: ${data.slice(0, 200)}`, { reason: 'provider_internal', provider });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamError(`${provider}: a stream event is not a JSON object`, { reason: 'provider_internal', provider });
  }
  const error = (parsed as { error?: { code?: unknown } }).error;
  if (error !== undefined && error !== null) {
    // An error after the stream began, e.g. the model became overloaded mid-answer.
    throw classifyGeminiError(typeof error.code === 'number' ? error.code : 500, data, {}, provider);
  }
  return parsed as GeminiResponse;
}
