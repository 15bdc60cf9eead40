import type { AnthropicContentBlock, AnthropicMessageParam } from '../../spec/anthropic-messages.js';

/**
 * OpenAI's `reasoning_effort` as Claude's thinking budgets (tokens), the budgets the relay gives
 * Gemini 2.5 for the same efforts; `none` turns thinking off. Anthropic's smallest budget is 1024.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
 */
export const thinkingBudgets: Readonly<Record<string, number>> = { none: 0, minimal: 1024, low: 1024, medium: 8192, high: 24576 };

/** The smallest `budget_tokens` Anthropic accepts. */
export const smallestThinkingBudget = 1024;

/**
 * Claude models that take `thinking: {type: "enabled", budget_tokens}`: Claude 3.7 Sonnet, and the
 * Claude 4 models up to 4.6 (Sonnet 4, 4.5, 4.6; Opus 4, 4.1, 4.5, 4.6; Haiku 4.5), by the name an
 * upstream receives (dated, `-latest`, `-0` or dotted). Claude 4.7 and later refuse that mode, and
 * Claude 3.5 and earlier do not think.
 * @see https://docs.anthropic.com/en/docs/about-claude/models/overview#model-comparison-table
 */
const thinkingModel = /^claude-(?:3-7-sonnet|(?:sonnet|opus)-4(?:-[0-6])?|haiku-4-5)(?:-\d{8}|-latest)?$/;

export function supportsExtendedThinking(model: string): boolean {
  return thinkingModel.test(model.toLowerCase().replaceAll('.', '-'));
}

/**
 * Remembers the thinking blocks (`thinking` with its `signature`, and `redacted_thinking` as it
 * came) of the answers in which Claude called tools, by the ids of those calls, so that the next
 * turn (which an OpenAI client sends back with the calls alone: its format has no field for them)
 * can carry them again, as Anthropic requires while thinking is on. Bounded as the Gemini thought
 * signatures are, by entries (the oldest go first) and also by the characters held, since a block
 * can be long. Blocks this process does not hold (another replica, a restart, an evicted entry) are
 * not recalled: the request then goes without thinking.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks
 */
export class ThinkingBlockCache {
  /**
   * The blocks of one caller (a relay key): another key that learned a tool call's id recalls
   * nothing by it, so no conversation's thinking reaches another key's request.
   */
  of(callerId: string | undefined): ThinkingBlocks {
    return new CallerThinkingBlocks(this, `${callerId ?? ''}\u0000`);
  }

  private readonly entries = new Map<string, { blocks: AnthropicContentBlock[]; size: number }>();
  private held = 0;

  constructor(
    private readonly capacity = 2000,
    private readonly maxCharacters = 32 * 1024 * 1024,
  ) {}

  /** Remembers one answer's thinking blocks under each of its tool calls' ids. */
  remember(toolCallIds: readonly string[], blocks: AnthropicContentBlock[]): void {
    let size = 0;
    for (const block of blocks) size += blockSize(block);
    if (size > this.maxCharacters) return;
    for (const id of toolCallIds) {
      this.forget(id);
      this.entries.set(id, { blocks, size });
      this.held += size;
    }
    while (this.entries.size > this.capacity || this.held > this.maxCharacters) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  recall(toolCallId: string): AnthropicContentBlock[] | undefined {
    return this.entries.get(toolCallId)?.blocks;
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.held -= entry.size;
  }
}

/** The thinking blocks one caller may remember and recall, by tool-call id. */
export interface ThinkingBlocks {
  remember(toolCallIds: readonly string[], blocks: AnthropicContentBlock[]): void;
  recall(toolCallId: string): AnthropicContentBlock[] | undefined;
}

class CallerThinkingBlocks implements ThinkingBlocks {
  constructor(
    private readonly cache: ThinkingBlockCache,
    private readonly scope: string,
  ) {}

  remember(toolCallIds: readonly string[], blocks: AnthropicContentBlock[]): void {
    this.cache.remember(
      toolCallIds.map((id) => this.scope + id),
      blocks,
    );
  }

  recall(toolCallId: string): AnthropicContentBlock[] | undefined {
    return this.cache.recall(this.scope + toolCallId);
  }
}

function blockSize(block: AnthropicContentBlock): number {
  let size = 0;
  for (const value of Object.values(block)) if (typeof value === 'string') size += value.length;
  return size;
}

/** The id of an assistant message's first tool call, the key its answer's thinking is remembered by. */
function firstToolUseId(message: AnthropicMessageParam): string | undefined {
  if (!Array.isArray(message.content)) return undefined;
  for (const block of message.content) if (block.type === 'tool_use' && typeof block.id === 'string') return block.id;
  return undefined;
}

/** Whether a user turn is the client's own (not only the results of tool calls). */
function startsATurn(message: AnthropicMessageParam): boolean {
  return message.role === 'user' && (!Array.isArray(message.content) || message.content.some((block) => block.type !== 'tool_result'));
}

/**
 * Puts the remembered thinking blocks back at the start of the assistant messages that called
 * tools, for a request sent with thinking on. Anthropic requires them on the assistant turn under
 * way (the assistant messages after the client's last own message: a tool loop), and ignores them
 * on earlier turns; so when the first assistant message of the turn under way has none the relay
 * holds, nothing is changed and `false` is returned: the request must go without thinking.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#extended-thinking-with-tool-use
 */
export function replayThinkingBlocks(messages: AnthropicMessageParam[], cache: ThinkingBlocks | undefined): boolean {
  let turnStart = messages.length;
  while (turnStart > 0 && !startsATurn(messages[turnStart - 1]!)) turnStart--;
  const firstOfTurn = messages.slice(turnStart).find((message) => message.role === 'assistant');
  if (firstOfTurn !== undefined) {
    const id = firstToolUseId(firstOfTurn);
    if (id === undefined || cache?.recall(id) === undefined) return false;
  }
  if (cache === undefined) return true;
  for (const message of messages) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    const id = firstToolUseId(message);
    const blocks = id === undefined ? undefined : cache.recall(id);
    if (blocks !== undefined) message.content = [...blocks, ...message.content];
  }
  return true;
}
