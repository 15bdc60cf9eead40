import type { AnthropicRequest } from '../../spec/anthropic-messages.js';
import type { ChatRequest } from '../../spec/openai-chat.js';
import type { ProviderCall } from '../provider.js';
import { claudeEffort, claudeThinkingForm, omitsThinkingText, replayThinkingBlocks, smallestThinkingBudget, thinkingBudgets, thinksByDefault, type ThinkingBlocks } from './anthropic-thinking.js';
import { convertToAnthropicMessages } from './convert-to-anthropic-messages.js';
import { convertToAnthropicTools } from './convert-to-anthropic-tools.js';
import { defaultAnthropicMaxTokens } from './default-anthropic-max-tokens.js';
import { reportUnsupportedParameter } from './report-unsupported-parameter.js';

/** The Anthropic request, and what reading its answer needs to know. */
export interface ConvertedAnthropicRequest {
  body: AnthropicRequest;
  /** See {@link AnthropicToolSettings.jsonToolName}. */
  jsonToolName: string | undefined;
}

/** Fields this converter reads (the rest are checked below). */
const handledFields = new Set([
  'model',
  'messages',
  'stream',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'user',
  'response_format',
  'reasoning_effort',
]);

/**
 * Fields that do not change the answer and so are ignored without a report: the relay always asks
 * for usage itself (`stream_options`), and `store` / `metadata` only concern OpenAI's own storage of
 * completions.
 */
const ignoredFields = new Set(['stream_options', 'store', 'metadata']);

/** Parameters that are harmless at their default value and unsupported otherwise. */
const isDefault: Record<string, (value: unknown) => boolean> = {
  n: (value) => value === 1,
  logprobs: (value) => value === false,
  top_logprobs: (value) => value === 0,
  presence_penalty: (value) => value === 0,
  frequency_penalty: (value) => value === 0,
  logit_bias: (value) => value !== null && typeof value === 'object' && Object.keys(value).length === 0,
  modalities: (value) => Array.isArray(value) && value.every((modality) => modality === 'text'),
};

const why: Record<string, string> = {
  n: 'Anthropic returns exactly one choice per request',
  logprobs: 'Anthropic does not return log probabilities',
  top_logprobs: 'Anthropic does not return log probabilities',
  presence_penalty: 'Anthropic has no presence penalty',
  frequency_penalty: 'Anthropic has no frequency penalty',
  logit_bias: 'Anthropic has no logit bias',
  seed: 'Anthropic has no seed for deterministic sampling',
};

function checkUnsupported(request: ChatRequest, call: ProviderCall, provider: string): void {
  for (const [name, value] of Object.entries(request)) {
    if (handledFields.has(name) || ignoredFields.has(name) || value === undefined || value === null) continue;
    // Own entries only: a field named `constructor` or `toString` is no entry of these tables.
    if (Object.hasOwn(isDefault, name) && isDefault[name]!(value)) continue;
    reportUnsupportedParameter(name, Object.hasOwn(why, name) ? why[name]! : 'the Messages API has no such parameter', call, provider);
  }
}

/**
 * OpenAI's `stop` as Anthropic's `stop_sequences`. Empty strings stop nothing and are left out.
 * Anthropic refuses a sequence of whitespace only (`"\n"`, a common one for line-by-line answers)
 * with a 400 for the whole request, so such a sequence is reported instead of sent.
 */
function stopSequences(stop: unknown, call: ProviderCall, provider: string): string[] | undefined {
  const entries = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : [];
  const sequences: string[] = [];
  entries.forEach((entry, index) => {
    if (typeof entry !== 'string' || entry === '') return;
    if (entry.trim() !== '') sequences.push(entry);
    else reportUnsupportedParameter(Array.isArray(stop) ? `stop[${index}]` : 'stop', 'Anthropic refuses stop sequences made only of whitespace', call, provider);
  });
  return sequences.length > 0 ? sequences : undefined;
}

/** What a request's `reasoning_effort` asks of Claude: the `thinking` field, and the effort of the adaptive form. */
interface ClaudeThinking {
  thinking: { type: 'enabled'; budget_tokens: number } | { type: 'adaptive'; display?: 'summarized' };
  /** `output_config.effort`, for the adaptive form. */
  effort?: string;
}

/**
 * The thinking a request's `reasoning_effort` asks of Claude, or undefined: `none` (thinking off,
 * as without the parameter), and every effort that cannot be honoured, which is reported — a model
 * that does not think, an effort Claude has no equivalent for, or a forced tool (Claude cannot think
 * before a call it is made to make, and the forced call is what the client relies on).
 *
 * Claude 4.6 and later think adaptively: `thinking: {type: "adaptive"}` with the effort as
 * `output_config.effort` (see `claudeEffort`); they have no budget, and `max_tokens` only caps
 * thinking and answer together, so any `max_tokens` will do. Earlier models think with a budget
 * (`thinkingBudgets`), which stays under `max_tokens` (Anthropic's rule); `max_tokens` is never
 * raised (OpenAI's limit already counts reasoning tokens, and the reservation made at admission
 * stays the worst case), so a `max_tokens` below the smallest budget leaves thinking off, reported.
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking#max-tokens-and-context-window-size-with-extended-thinking
 */
function claudeThinking(effort: unknown, model: string, maxTokens: number, forcedTool: boolean, call: ProviderCall, provider: string): ClaudeThinking | undefined {
  if (effort === 'none') return undefined;
  const budget = typeof effort === 'string' && Object.hasOwn(thinkingBudgets, effort) ? thinkingBudgets[effort]! : undefined;
  const form = claudeThinkingForm(model);
  if (budget === undefined || form === undefined) {
    reportUnsupportedParameter('reasoning_effort', budget === undefined ? 'Claude takes none, minimal, low, medium, high, xhigh or max' : 'this Claude model does not think', call, provider);
  } else if (forcedTool) {
    reportUnsupportedParameter('reasoning_effort', 'Claude cannot think when a tool call is forced (tool_choice required or a named function, or response_format json_schema)', call, provider);
  } else if (form === 'adaptive') {
    // Claude 4.7 and later leave the thinking's text out unless asked: the client asked for reasoning, so it is asked for.
    return { thinking: omitsThinkingText(model) ? { type: 'adaptive', display: 'summarized' } : { type: 'adaptive' }, effort: claudeEffort(effort as string, model)! };
  } else if (maxTokens <= smallestThinkingBudget) {
    reportUnsupportedParameter('reasoning_effort', `Claude thinks ${smallestThinkingBudget} tokens at least, which needs max_tokens above that`, call, provider);
  } else {
    return { thinking: { type: 'enabled', budget_tokens: Math.min(budget, maxTokens - 1) } };
  }
  return undefined;
}

/**
 * While Claude thinks (adaptively or with a budget alike) it takes temperature 1 only, no top_k, and
 * top_p from 0.95 to 1: other values are reported and not sent, since the request asked for thinking
 * in so many words and for a sampling nuance at most.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking#feature-compatibility
 */
function thinkingSampling(body: AnthropicRequest, call: ProviderCall, provider: string): void {
  if (body.temperature !== undefined && body.temperature !== 1) {
    delete body.temperature;
    reportUnsupportedParameter('temperature', 'Claude takes only temperature 1 while it thinks (reasoning_effort)', call, provider);
  }
  if (body.top_p !== undefined && (body.top_p < 0.95 || body.top_p > 1)) {
    delete body.top_p;
    reportUnsupportedParameter('top_p', 'Claude takes top_p from 0.95 to 1 only while it thinks (reasoning_effort)', call, provider);
  }
  if (body.top_k !== undefined) {
    delete body.top_k;
    reportUnsupportedParameter('top_k', 'Claude takes no top_k while it thinks (reasoning_effort)', call, provider);
  }
}

/**
 * Translates an OpenAI chat request into an Anthropic Messages request for `model`. Parameters
 * Anthropic cannot honour are reported (dropped with a header, or refused in strict mode), never
 * lost silently. `max_tokens` falls back to the model's output limit since Anthropic requires it;
 * `temperature` is clamped to Anthropic's 0–1 range (OpenAI's goes to 2, and a value Anthropic
 * refuses would fail the whole request for a sampling nuance), and `top_p` is sent only without
 * `temperature` (current Claude models refuse the pair). `reasoning_effort` turns Claude's thinking
 * on, adaptive or with a budget as the model takes it (see `claudeThinking`); the thinking blocks of earlier tool calls come back from
 * `thinkingBlocks`, and when those of the tool loop under way are not there, the request goes
 * without thinking (reported) rather than be refused by Anthropic.
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/api/openai-sdk#important-openai-compatibility-limitations
 */
export function convertToAnthropicRequest(
  request: ChatRequest,
  model: string,
  stream: boolean,
  call: ProviderCall,
  provider: string,
  thinkingBlocks?: ThinkingBlocks,
): ConvertedAnthropicRequest {
  checkUnsupported(request, call, provider);
  const conversation = convertToAnthropicMessages(request.messages, call, provider);
  const tools = convertToAnthropicTools(request, call, provider, model);
  const body: AnthropicRequest = {
    model,
    messages: conversation.messages,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? defaultAnthropicMaxTokens(model),
  };
  if (Array.isArray(conversation.system)) {
    // Blocks (a cache breakpoint among them): the tools' instruction follows as a block of its own.
    body.system = tools.systemInstruction === undefined ? conversation.system : [...conversation.system, { type: 'text', text: tools.systemInstruction }];
  } else {
    const system = [conversation.system, tools.systemInstruction].filter((text): text is string => text !== undefined).join('\n\n');
    if (system !== '') body.system = system;
  }
  const stop = stopSequences(request.stop, call, provider);
  if (stop !== undefined) body.stop_sequences = stop;
  if (typeof request.temperature === 'number') body.temperature = Math.min(Math.max(request.temperature, 0), 1);
  if (typeof request.top_p === 'number') {
    // Claude models from the 4.5 generation on refuse a request that sets both (a 400 for the whole
    // request); top_p of 1 restricts nothing, so only another value is worth a report.
    if (typeof request.temperature !== 'number') body.top_p = request.top_p;
    else if (request.top_p !== 1) reportUnsupportedParameter('top_p', 'Anthropic takes temperature or top_p, not both, and this request sets temperature', call, provider);
  }
  // Not an OpenAI parameter, but clients that know Anthropic send it, and it means the same there.
  if (typeof request.top_k === 'number') body.top_k = request.top_k;
  if (tools.tools !== undefined) body.tools = tools.tools;
  if (tools.toolChoice !== undefined) body.tool_choice = tools.toolChoice;
  if (tools.outputFormat !== undefined) body.output_config = { format: tools.outputFormat };
  if (typeof request.user === 'string' && request.user !== '') body.metadata = { user_id: request.user };
  const forcedTool = body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool';
  if (request.reasoning_effort !== undefined && request.reasoning_effort !== null) {
    const thinking = claudeThinking(request.reasoning_effort, model, body.max_tokens, forcedTool, call, provider);
    if (thinking !== undefined && !replayThinkingBlocks(body.messages, thinkingBlocks)) {
      reportUnsupportedParameter('reasoning_effort', 'this relay does not hold the thinking of the assistant turn the conversation continues (its tool calls were answered by another replica, or before a restart), and Claude cannot think on in a turn without it', call, provider);
    } else if (thinking !== undefined) {
      body.thinking = thinking.thinking;
      if (thinking.effort !== undefined) body.output_config = { ...(body.output_config as Record<string, unknown> | undefined), effort: thinking.effort };
      thinkingSampling(body, call, provider);
    }
  }
  // A model that thinks unasked gets its thinking blocks back in a tool loop as when asked (nothing is changed when the relay holds none).
  if (body.thinking === undefined && !forcedTool && thinksByDefault(model)) replayThinkingBlocks(body.messages, thinkingBlocks);
  if (stream) body.stream = true;
  return { body, jsonToolName: tools.jsonToolName };
}
