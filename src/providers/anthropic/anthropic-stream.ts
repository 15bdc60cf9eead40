import type { AnthropicContentBlock, AnthropicStreamEvent, AnthropicUsage } from '../../spec/anthropic-messages.js';
import type { ChatCompletionChunk } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { SseParser } from '../../sse/sse-parser.js';
import type { StreamPart } from '../provider.js';
import { releaseEndedBody } from '../post-upstream.js';
import { streamCut } from '../upstream-failure.js';
import type { ThinkingBlocks } from './anthropic-thinking.js';
import { classifyAnthropicStreamError } from './classify-anthropic-error.js';
import { convertAnthropicUsage, mergeAnthropicUsage } from './convert-anthropic-usage.js';
import { mapAnthropicStopReason } from './map-anthropic-stop-reason.js';

/**
 * What a content block index of the Anthropic stream turned into on the OpenAI side; `sent` says
 * whether any argument fragment of a tool (or JSON answer) block went out yet; a thinking block is
 * put together as it streams (text and signature), to be remembered if the answer calls tools.
 */
type BlockKind =
  | { kind: 'text' }
  | { kind: 'json'; sent: boolean }
  | { kind: 'tool'; toolIndex: number; sent: boolean }
  | { kind: 'thinking'; block: AnthropicContentBlock & { thinking: string; signature: string }; apart: boolean };

type Delta = ChatCompletionChunk['choices'][number]['delta'];

/** Turns one Anthropic stream into OpenAI chunks; one instance per stream. */
class AnthropicChunkTranslator {
  private id = 'msg_unknown';
  private model = 'unknown';
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly blocks = new Map<number, BlockKind>();
  private toolCount = 0;
  /** The ids of the tool calls and the thinking blocks seen, for `thinkingBlocks`. */
  private toolIds: string[] | undefined;
  private thoughts: AnthropicContentBlock[] | undefined;
  /** Whether reasoning text went out yet (a later thinking block's is set apart from it). */
  private reasoned = false;
  private stopReason: string | null | undefined;
  private usage: AnthropicUsage = {};
  stopped = false;

  constructor(
    private readonly provider: string,
    private readonly jsonToolName: string | undefined,
    private readonly thinkingBlocks: ThinkingBlocks | undefined,
  ) {}

  translate(event: AnthropicStreamEvent): StreamPart[] {
    switch (event.type) {
      case 'message_start':
        this.id = event.message?.id ?? this.id;
        this.model = event.message?.model ?? this.model;
        this.mergeUsage(event.message?.usage);
        return [this.startChunk()];
      case 'content_block_start':
        return this.startBlock(event.index, event.content_block);
      case 'content_block_delta':
        return this.delta(event.index, event.delta);
      case 'content_block_stop':
        return this.stopBlock(event.index);
      case 'message_delta':
        if (event.delta?.stop_reason !== undefined && event.delta.stop_reason !== null) this.stopReason = event.delta.stop_reason;
        this.mergeUsage(event.usage);
        return [];
      case 'message_stop':
        return this.finish();
      case 'error':
        throw classifyAnthropicStreamError(event.error, this.provider);
      default:
        // ping, and event types added after this code was written
        return [];
    }
  }

  private startBlock(index: number, block: AnthropicContentBlock | undefined): StreamPart[] {
    if (block?.type === 'text') {
      this.blocks.set(index, { kind: 'text' });
      return block.text ? [this.chunk({ content: block.text })] : [];
    }
    if (block?.type === 'thinking') {
      const thinking = typeof block.thinking === 'string' ? block.thinking : '';
      const kind: BlockKind = { kind: 'thinking', block: { ...block, thinking, signature: typeof block.signature === 'string' ? block.signature : '' }, apart: this.reasoned };
      this.blocks.set(index, kind);
      return thinking === '' ? [] : [this.reasoning(kind, thinking)];
    }
    if (block?.type === 'redacted_thinking') {
      // No text for the client; kept as it came for the next turn.
      (this.thoughts ??= []).push(block);
      return [];
    }
    if (block?.type !== 'tool_use') return []; // server-tool blocks have no OpenAI chunk
    if (this.jsonToolName !== undefined && block.name === this.jsonToolName) {
      this.blocks.set(index, { kind: 'json', sent: false });
      return [];
    }
    const toolIndex = this.toolCount++;
    this.blocks.set(index, { kind: 'tool', toolIndex, sent: false });
    // Thinking comes before the calls it leads to: a stream without it keeps no ids.
    if (this.thoughts !== undefined) (this.toolIds ??= []).push(String(block.id));
    return [this.chunk({ tool_calls: [{ index: toolIndex, id: String(block.id), type: 'function', function: { name: String(block.name), arguments: '' } }] })];
  }

  private delta(index: number, delta: { type: string; text?: string; partial_json?: string; thinking?: unknown; signature?: unknown } | undefined): StreamPart[] {
    const block = this.blocks.get(index);
    // An untrusted stream: a delta that is not an object is skipped.
    if (block === undefined || delta === null || typeof delta !== 'object') return [];
    if (delta.type === 'text_delta' && block.kind === 'text' && delta.text) return [this.chunk({ content: delta.text })];
    if (block.kind === 'thinking') {
      if (delta.type === 'signature_delta' && typeof delta.signature === 'string') block.block.signature += delta.signature;
      if (delta.type !== 'thinking_delta' || typeof delta.thinking !== 'string' || delta.thinking === '') return [];
      block.block.thinking += delta.thinking;
      return [this.reasoning(block, delta.thinking)];
    }
    if (delta.type !== 'input_json_delta' || !delta.partial_json || block.kind === 'text') return [];
    block.sent = true;
    return [this.arguments(block, delta.partial_json)];
  }

  /**
   * Anthropic streams the input of a tool called without arguments as nothing at all (one empty
   * `input_json_delta`), while OpenAI sends `{}`, and clients parse the arguments as JSON: so a tool
   * block that ends without a fragment gets `{}`, as its JSON answer would have.
   */
  private stopBlock(index: number): StreamPart[] {
    const block = this.blocks.get(index);
    if (block?.kind === 'thinking') {
      (this.thoughts ??= []).push(block.block);
      return [];
    }
    if (block === undefined || block.kind === 'text' || block.sent) return [];
    block.sent = true;
    return [this.arguments(block, '{}')];
  }

  /** Reasoning text; a later thinking block's is set apart from the earlier ones' by a blank line, as in a JSON answer. */
  private reasoning(block: Extract<BlockKind, { kind: 'thinking' }>, text: string): StreamPart {
    this.reasoned = true;
    if (!block.apart) return this.chunk({ reasoning_content: text });
    block.apart = false;
    return this.chunk({ reasoning_content: `\n\n${text}` });
  }

  private arguments(block: Extract<BlockKind, { kind: 'json' | 'tool' }>, fragment: string): StreamPart {
    if (block.kind === 'json') return this.chunk({ content: fragment });
    return this.chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: fragment } }] });
  }

  private finish(): StreamPart[] {
    this.stopped = true;
    if (this.thoughts !== undefined && this.toolIds !== undefined) this.thinkingBlocks?.remember(this.toolIds, this.thoughts);
    let finishReason = mapAnthropicStopReason(this.stopReason) ?? 'stop';
    // A forced JSON tool is the answer, not a call the client must run.
    if (finishReason === 'tool_calls' && this.toolCount === 0) finishReason = 'stop';
    const last: ChatCompletionChunk = { ...this.base(), choices: [{ index: 0, delta: {}, finish_reason: finishReason }] };
    const parts: StreamPart[] = [{ data: JSON.stringify(last) }];
    const usage = convertAnthropicUsage(this.usage);
    if (usage !== undefined) parts.push({ data: JSON.stringify({ ...this.base(), choices: [], usage }), usage, usageOnly: true });
    return parts;
  }

  /** Anthropic's usage counts are cumulative: a later value replaces an earlier one. */
  private mergeUsage(usage: AnthropicUsage | undefined): void {
    mergeAnthropicUsage(this.usage, usage);
  }

  private base() {
    return { id: this.id, object: 'chat.completion.chunk' as const, created: this.created, model: this.model };
  }

  /** The first chunk (the role), with the prompt's counts `message_start` gave, for a stream cut before `message_delta`. */
  private startChunk(): StreamPart {
    const part = this.chunk({ role: 'assistant', content: '' });
    const startUsage = convertAnthropicUsage(this.usage);
    if (startUsage !== undefined) part.startUsage = startUsage;
    return part;
  }

  private chunk(delta: Delta): StreamPart {
    const chunk: ChatCompletionChunk = { ...this.base(), choices: [{ index: 0, delta, finish_reason: null }] };
    return { data: JSON.stringify(chunk) };
  }
}

/**
 * Turns the SSE body of an Anthropic Messages stream into OpenAI chat chunks: a first chunk with
 * the role, text deltas, thinking deltas as `reasoning_content` (redacted thinking has no text and
 * sends nothing; the thinking blocks of an answer that calls tools are remembered in
 * `thinkingBlocks` once the message ends), tool calls (id and name on their first delta, arguments from
 * `input_json_delta`, numbered among tool calls rather than among content blocks), the finish
 * reason on the last choice chunk, then one usage-only chunk (`choices: []`), always — the server
 * strips it when the client did not ask for usage. An `error` event throws its classified
 * failure; a stream that ends before `message_stop` was cut, and fails as such. `message_stop`
 * ends the stream: nothing after it is read (`releaseEndedBody`).
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
export async function* readAnthropicStream(body: AsyncIterable<Buffer>, provider: string, jsonToolName?: string, thinkingBlocks?: ThinkingBlocks): AsyncGenerator<StreamPart> {
  const parser = new SseParser(provider);
  const translator = new AnthropicChunkTranslator(provider, jsonToolName, thinkingBlocks);
  const chunks = body[Symbol.asyncIterator]();
  let released = false;
  try {
    for (let read = await chunks.next(); read.done !== true; read = await chunks.next()) {
      for (const event of parser.push(read.value)) {
        if (event.event === 'ping') continue;
        let parsed: AnthropicStreamEvent;
        try {
          parsed = JSON.parse(event.data) as AnthropicStreamEvent;
        } catch {
          throw new UpstreamError(`${provider}: stream event that is not JSON: ${event.data.slice(0, 200)}`, { reason: 'provider_internal', provider });
        }
        if (parsed === null || typeof parsed !== 'object') continue;
        yield* translator.translate(parsed);
        if (translator.stopped) {
          // message_stop: the answer is complete, whatever the upstream does next; its body is let go of.
          released = true;
          releaseEndedBody(chunks);
          return;
        }
      }
    }
  } finally {
    if (!released) await chunks.return?.();
  }
  if (!translator.stopped) {
    throw streamCut(provider, 'message_stop');
  }
}
