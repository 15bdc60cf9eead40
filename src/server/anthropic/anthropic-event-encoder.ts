import { anthropicToolId } from '../../spec/anthropic-messages.js';
import { firstChoice, reasoningOf, toolCallDeltas, type ChatCompletionChunk, type Usage } from '../../spec/openai-chat.js';
import { ToolCallKeys } from '../tool-call-keys.js';
import { anthropicMessageId, unsignedThinking } from './convert-to-anthropic-message.js';
import { convertUsageToAnthropic } from './convert-usage-to-anthropic.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';

type OpenBlock = { index: number; kind: 'text' | 'thinking' | 'tool' };

function event(type: string, payload: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
}

/**
 * Re-encodes an OpenAI chat stream as Anthropic's event sequence, exactly as Anthropic orders it:
 * `message_start`, then per content block `content_block_start` (the first one followed by a
 * `ping`), its `content_block_delta`s and `content_block_stop`, then `message_delta` with the stop
 * reason and usage, and `message_stop`. When the client asked for thinking, reasoning deltas
 * (`reasoning_content`, or `reasoning`) become a thinking block of `thinking_delta`s, unsigned (no
 * `signature_delta`: there is no signature). Text deltas become a text block; each tool call (told
 * apart by `ToolCallKeys`) becomes a `tool_use` block whose argument fragments are
 * `input_json_delta`s. Blocks never overlap: a new one closes the open one. Input tokens are known only at the end of an OpenAI stream, so
 * `message_start` reports 0 and `message_delta` carries the real counts (Anthropic's SDKs take
 * them from there).
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */
export class AnthropicEventEncoder {
  private open: OpenBlock | undefined;
  private blockCount = 0;
  private pinged = false;
  /** Tool call (by its key) → Anthropic content block index. */
  private readonly toolBlocks = new Map<number, number>();
  private readonly toolKeys = new ToolCallKeys();
  private finishReason: string | null = null;
  private usage: Usage | undefined;

  /** `thinking`: the client asked for thinking, so reasoning sent apart (`reasoning_content` or `reasoning`) becomes thinking blocks. */
  constructor(
    private readonly model: string,
    private readonly thinking = false,
  ) {}

  /** The `message_start` event, for a stream whose first OpenAI chunk is `first`. */
  start(first: ChatCompletionChunk | undefined): string {
    const message = {
      id: anthropicMessageId(first?.id),
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return event('message_start', { message });
  }

  /** The events for one OpenAI chunk (often none: role-only and usage chunks carry no content). */
  push(chunk: ChatCompletionChunk, usage: Usage | undefined): string {
    if (usage !== undefined) this.usage = usage;
    const choice = firstChoice(chunk);
    if (choice === undefined) return '';
    let output = '';
    if (this.thinking) {
      const reasoning = reasoningOf(choice.delta);
      if (typeof reasoning === 'string' && reasoning !== '') {
        if (this.open?.kind !== 'thinking') output += this.openBlock('thinking', { type: 'thinking', thinking: '', signature: unsignedThinking });
        output += event('content_block_delta', { index: this.open!.index, delta: { type: 'thinking_delta', thinking: reasoning } });
      }
    }
    const text = choice.delta?.content ?? choice.delta?.refusal;
    if (typeof text === 'string' && text !== '') {
      if (this.open?.kind !== 'text') output += this.openBlock('text', { type: 'text', text: '' });
      output += event('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text } });
    }
    for (const toolCall of toolCallDeltas(choice.delta)) {
      const key = this.toolKeys.key(toolCall);
      let index = this.toolBlocks.get(key);
      if (index === undefined) {
        output += this.openBlock('tool', { type: 'tool_use', id: anthropicToolId(toolCall.id), name: toolCall.function?.name ?? '', input: {} });
        index = this.open!.index;
        this.toolBlocks.set(key, index);
      }
      // A fragment of an earlier call (rare interleaving) still goes to that call's block.
      const fragment = toolCall.function?.arguments;
      if (typeof fragment === 'string' && fragment !== '') output += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: fragment } });
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) this.finishReason = choice.finish_reason;
    return output;
  }

  /** Closes the open block, then `message_delta` (stop reason and usage) and `message_stop`. */
  finish(): string {
    let output = this.closeBlock();
    if (!this.pinged) {
      this.pinged = true;
      output += event('ping', {});
    }
    const usage = convertUsageToAnthropic(this.usage);
    output += event('message_delta', { delta: { stop_reason: mapOpenAIFinishReason(this.finishReason, this.toolBlocks.size > 0), stop_sequence: null }, usage });
    output += event('message_stop', {});
    return output;
  }

  private openBlock(kind: OpenBlock['kind'], contentBlock: Record<string, unknown>): string {
    let output = this.closeBlock();
    const index = this.blockCount++;
    this.open = { index, kind };
    output += event('content_block_start', { index, content_block: contentBlock });
    if (!this.pinged) {
      this.pinged = true;
      output += event('ping', {});
    }
    return output;
  }

  private closeBlock(): string {
    if (this.open === undefined) return '';
    const index = this.open.index;
    this.open = undefined;
    return event('content_block_stop', { index });
  }
}
