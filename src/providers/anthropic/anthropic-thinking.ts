import type { AnthropicContentBlock, AnthropicMessageParam } from '../../spec/anthropic-messages.js';

/**
 * OpenAI's `reasoning_effort` as Claude's thinking budgets (tokens), for the models that think with a
 * budget (before Claude 4.6): the budgets the relay gives Gemini 2.5 for the same efforts; `none`
 * turns thinking off, and the efforts above `high` (`xhigh`, `max`) get the budget of `high`.
 * Anthropic's smallest budget is 1024.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
export const thinkingBudgets: Readonly<Record<string, number>> = { none: 0, minimal: 1024, low: 1024, medium: 8192, high: 24576, xhigh: 24576, max: 24576 };

/** The smallest `budget_tokens` Anthropic accepts. */
export const smallestThinkingBudget = 1024;

/** A Claude model's family and version, read from its name: `claude-opus-4-7` is opus 4.7. */
export interface ClaudeVersion {
  family: string;
  major: number;
  minor: number;
}

/**
 * The family and version of a Claude model by the name an upstream receives: the version after the
 * family (`claude-sonnet-4-6`, `claude-sonnet-4.6`, `claude-sonnet-5`, `claude-fable-5-1`) or, for
 * the 3.x models, before it (`claude-3-7-sonnet`), with or without a date (`-20250219`), `-latest`
 * or `-v1`. A trailing eight-digit date is no version. Undefined for any other name.
 */
export function claudeVersion(model: string): ClaudeVersion | undefined {
  const name = model.toLowerCase().replaceAll('.', '-').replace(/-(?:\d{8}|latest|v\d+(?::\d+)?)$/, '');
  const after = /^claude-([a-z]+)-(\d{1,2})(?:-(\d{1,2}))?$/.exec(name);
  if (after !== null) return { family: after[1]!, major: Number(after[2]), minor: Number(after[3] ?? 0) };
  const before = /^claude-(\d{1,2})(?:-(\d{1,2}))?-([a-z]+)$/.exec(name);
  if (before !== null) return { family: before[3]!, major: Number(before[1]), minor: Number(before[2] ?? 0) };
  return undefined;
}

/** Whether `version` is `major.minor` or later. */
function atLeast(version: ClaudeVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/**
 * Whether a Claude model refuses forced tool use (`tool_choice` `any` or `tool`) with a 400: Claude
 * Sonnet 5.5 and Opus 5.5, and every later version. JSON answers then come from structured outputs
 * (`output_config.format`) instead.
 * @see https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide
 */
export function refusesForcedToolUse(model: string): boolean {
  const version = claudeVersion(model);
  return version !== undefined && atLeast(version, 5, 5);
}

/**
 * Whether a Claude model thinks when a request says nothing of thinking: Claude 5 and every later
 * version (adaptive thinking on by default; Opus 5.5 cannot turn it off). Their answers that call
 * tools carry thinking blocks the next turn of the tool loop sends back, as for a request that asked.
 * @see https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide
 */
export function thinksByDefault(model: string): boolean {
  const version = claudeVersion(model);
  return version !== undefined && version.major >= 5;
}

/**
 * Whether a Claude model leaves the text of its thinking out of answers unless asked for it
 * (`thinking.display`): Claude Opus 4.7 and every later version (Mythos Preview too). The relay asks
 * for it (`display: "summarized"`) when the client asked for reasoning, which it gives as `reasoning_content`.
 */
export function omitsThinkingText(model: string): boolean {
  const name = model.toLowerCase().replaceAll('.', '-');
  if (adaptivePreview.test(name)) return true;
  const version = claudeVersion(name);
  return version !== undefined && atLeast(version, 4, 7);
}

/** Claude Mythos Preview, which has no version number in its name, thinks adaptively only. */
const adaptivePreview = /^claude-mythos-preview(?:-\d{8}|-latest)?$/;

/**
 * Claude models that take `thinking: {type: "enabled", budget_tokens}` and not the adaptive form:
 * Claude 3.7 Sonnet, and the Claude 4 models before 4.6 (Sonnet 4, 4.5; Opus 4, 4.1, 4.5; Haiku 4.5),
 * by the name an upstream receives (dated, `-latest`, `-0` or dotted). Claude 3.5 and earlier do not
 * think.
 * @see https://platform.claude.com/docs/en/about-claude/models/overview
 */
const budgetModel = /^claude-(?:3-7-sonnet|(?:sonnet|opus)-4(?:-[0-5])?|haiku-4-5)(?:-\d{8}|-latest)?$/;

/**
 * How a Claude model is asked to think: `adaptive` (`thinking: {type: "adaptive"}` with
 * `output_config.effort`) for Claude 4.6 and every later version, of any family (Opus and Sonnet
 * 4.6, Opus 4.7, the Claude 5 models, Mythos Preview): 4.6 still takes the budget form but
 * deprecates it, and from 4.7 on it is refused with a 400. `budget` for the models before 4.6 that
 * think (see `budgetModel`), which know no adaptive form. Undefined for models that do not think.
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 */
export function claudeThinkingForm(model: string): 'adaptive' | 'budget' | undefined {
  const name = model.toLowerCase().replaceAll('.', '-');
  if (adaptivePreview.test(name)) return 'adaptive';
  const version = claudeVersion(name);
  if (version !== undefined && atLeast(version, 4, 6)) return 'adaptive';
  return budgetModel.test(name) ? 'budget' : undefined;
}

/**
 * The `output_config.effort` levels a model of the adaptive form takes. Every one takes `low`,
 * `medium` and `high` (the default); `max` only Opus and Sonnet 4.6 and the non-Haiku models after
 * them (Mythos Preview too); `xhigh` only the non-Haiku models from 4.7 on. Anthropic refuses a
 * level the model does not take with a 400.
 * @see https://platform.claude.com/docs/en/build-with-claude/effort
 */
export function claudeEffortLevels(model: string): ReadonlySet<string> {
  const name = model.toLowerCase().replaceAll('.', '-');
  const levels = new Set(['low', 'medium', 'high']);
  if (adaptivePreview.test(name)) return levels.add('max');
  const version = claudeVersion(name);
  if (version === undefined || version.family === 'haiku' || !atLeast(version, 4, 6)) return levels;
  levels.add('max');
  if (atLeast(version, 4, 7)) levels.add('xhigh');
  return levels;
}

/**
 * OpenAI's `reasoning_effort` as the `output_config.effort` of a model of the adaptive form:
 * `minimal` and `low` → `low`, `medium` → `medium`, `high` → `high`; `xhigh` → `xhigh` where the
 * model takes it, else `max` where it takes that (Opus and Sonnet 4.6), else `high`; `max` → `max`
 * where the model takes it, else `high`. Undefined for any other value (`none` turns thinking off
 * before this is asked).
 */
export function claudeEffort(effort: string, model: string): string | undefined {
  if (effort === 'minimal' || effort === 'low') return 'low';
  if (effort === 'medium' || effort === 'high') return effort;
  if (effort !== 'xhigh' && effort !== 'max') return undefined;
  const levels = claudeEffortLevels(model);
  if (effort === 'xhigh' && levels.has('xhigh')) return 'xhigh';
  return levels.has('max') ? 'max' : 'high';
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
