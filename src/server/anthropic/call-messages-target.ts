import type { Provider, ProviderCall, StreamPart } from '../../providers/provider.js';
import type { AnthropicContentBlock, AnthropicMessage, AnthropicMessageParam, AnthropicRequest } from '../../spec/anthropic-messages.js';
import type { ChatCompletion, Usage } from '../../spec/openai-chat.js';
import { applyUnsupported, sendWithoutRefused } from '../translated-request.js';
import { nativeAnswer, type NativeAnswer } from '../write-stream-parts.js';
import { checkChatAnswer } from '../../providers/upstream-failure.js';
import { convertFromAnthropicRequest } from './convert-from-anthropic-request.js';
import { asksForThinking, convertToAnthropicMessage } from './convert-to-anthropic-message.js';

/**
 * The optional sampling parameters of a translated request that an upstream may refuse for some
 * models (chat field → Anthropic's name), and `parallel_tool_calls` (made of `tool_choice`'s
 * `disable_parallel_tool_use`; OpenAI's o-series refuse it): sent again without them. Never anything the answer's
 * meaning depends on (messages, tools, max_tokens). `reasoning_effort`, made of `thinking` and
 * `output_config.effort`, is added per request.
 */
const samplingFields: Readonly<Record<string, string>> = { temperature: 'temperature', top_p: 'top_p', stop: 'stop_sequences', parallel_tool_calls: 'tool_choice.disable_parallel_tool_use' };

/** What one attempt at a `/v1/messages` request produced, ready for the client. */
export type MessagesAnswer =
  /** Anthropic JSON or SSE from an Anthropic upstream, relayed byte for byte. */
  | NativeAnswer
  /** An OpenAI answer translated to an Anthropic message (`completion`: the answer as it came, whose text is counted when it has no usage). */
  | { kind: 'translated-json'; message: AnthropicMessage; usage: Usage | undefined; completion: ChatCompletion }
  /**
   * OpenAI stream parts, to be re-encoded as Anthropic events; the first part already read.
   * `thinking`: the client asked for thinking (reasoning the upstream sends apart is shown).
   */
  | { kind: 'translated-stream'; parts: AsyncIterator<StreamPart>; first: IteratorResult<StreamPart>; thinking: boolean };

/** Where one attempt goes: routing's deployment (or target), of which only these fields are read. */
export interface MessagesTarget {
  provider: Provider;
  /** The model name sent upstream. */
  model: string;
  /** The most output tokens that model can produce, when known. */
  maxOutputTokens?: number | undefined;
}

/**
 * One attempt at a `/v1/messages` request on one target. A provider that speaks the Messages API
 * gets the request as it came (only the model name replaced); any other gets it translated to an
 * OpenAI chat request, with what cannot be translated reported in `x-relay-dropped-params` or, in
 * strict mode, refused with a 400, and `max_tokens` lowered to the model's output limit when it is
 * above it; a sampling parameter the upstream refuses for the model (temperature, top_p,
 * stop_sequences on OpenAI's reasoning models, the reasoning_effort made of `thinking` on a model
 * that does not reason) is left out and the request sent again. A stream is
 * only returned once its first part arrived.
 */
export async function callMessagesTarget(target: MessagesTarget, body: AnthropicRequest, call: ProviderCall): Promise<MessagesAnswer> {
  const provider = target.provider;
  const stream = body.stream === true;
  if (provider.messages !== undefined) return nativeAnswer(await provider.messages(withoutUnsignedThinking(body), target.model, call), provider.name);
  const { chatRequest, unsupported, reasoningFrom } = convertFromAnthropicRequest(body, target.model, target.maxOutputTokens);
  applyUnsupported(unsupported, call, `the upstream serving "${body.model}"`);
  // A model that does not reason (gpt-4o) refuses reasoning_effort: it answers all the same without.
  const droppable = reasoningFrom === undefined ? samplingFields : { ...samplingFields, reasoning_effort: reasoningFrom };
  if (!stream) {
    const result = checkChatAnswer(await sendWithoutRefused(chatRequest, call, droppable, (request) => provider.chat(request, target.model, call), { provider, model: target.model }), provider.name);
    if (call.dropped.length > 0) renameDropped(call.dropped, reasoningFrom);
    const completion = result.completion();
    return { kind: 'translated-json', message: convertToAnthropicMessage(completion, body.model, result.usage, asksForThinking(body)), usage: result.usage, completion };
  }
  // A refusal is an answer to the request, before any part of a stream.
  const parts = await sendWithoutRefused(chatRequest, call, droppable, (request) => provider.chatStream(request, target.model, call), { provider, model: target.model });
  if (call.dropped.length > 0) renameDropped(call.dropped, reasoningFrom);
  return { kind: 'translated-stream', parts, first: await parts.next(), thinking: asksForThinking(body) };
}

/**
 * The stop sequences an adapter dropped (Gemini takes 5: `stop[5]`, …) under Anthropic's name
 * (`stop_sequences[5]`), as the client sent them, and a `reasoning_effort` an adapter dropped (a
 * Gemini model that does not think) under the names of the fields it was made of.
 */
function renameDropped(dropped: string[], reasoningFrom: readonly string[] | undefined): void {
  const renamed = dropped.flatMap((name) => (name === 'reasoning_effort' && reasoningFrom !== undefined ? reasoningFrom : [name.replace(/^stop(?=\[|$)/, 'stop_sequences')]));
  dropped.splice(0, dropped.length, ...renamed);
}

/**
 * The request without the thinking blocks the relay made of another model's reasoning (signature
 * `""`: there was nothing to sign), for an upstream on Anthropic: it refuses a whole conversation over
 * one thinking block it did not sign, so a conversation moved from a translated model to Claude
 * would fail on every later turn. An assistant turn that was that thinking alone (the relay's answer
 * when a reasoning model reached `max_tokens` before any text) is left out, as Anthropic refuses a
 * message without content but the final assistant one, which stays; the turns it stood between, of
 * one role, are joined into one, as Anthropic itself combines consecutive turns of a role. The same
 * object when there is no such block (the usual case): nothing copied.
 * @see https://docs.anthropic.com/en/api/messages#body-messages
 */
function withoutUnsignedThinking(body: AnthropicRequest): AnthropicRequest {
  const messages = body.messages;
  if (!Array.isArray(messages) || !messages.some(hasUnsignedThinking)) return body;
  const cleaned: AnthropicMessageParam[] = [];
  let joinNext = false;
  messages.forEach((message, position) => {
    let kept = message;
    if (hasUnsignedThinking(message)) {
      const content = (message.content as AnthropicContentBlock[]).filter((block) => !isUnsignedThinking(block));
      if (content.length === 0 && position < messages.length - 1) {
        joinNext = true;
        return;
      }
      kept = { ...message, content };
    }
    const previous = cleaned.at(-1);
    if (joinNext && previous?.role === kept.role) cleaned[cleaned.length - 1] = { ...previous, content: [...blocksOf(previous.content), ...blocksOf(kept.content)] };
    else cleaned.push(kept);
    joinNext = false;
  });
  return { ...body, messages: cleaned };
}

/** A message's content as blocks: a string is one text block (none when empty, which Anthropic refuses as a block). */
function blocksOf(content: AnthropicMessageParam['content']): AnthropicContentBlock[] {
  if (typeof content !== 'string') return content;
  return content === '' ? [] : [{ type: 'text', text: content }];
}

function hasUnsignedThinking(message: AnthropicMessageParam): boolean {
  return message.role === 'assistant' && Array.isArray(message.content) && message.content.some(isUnsignedThinking);
}

function isUnsignedThinking(block: unknown): boolean {
  return typeof block === 'object' && block !== null && (block as { type?: unknown }).type === 'thinking' && (block as { signature?: unknown }).signature === '';
}
