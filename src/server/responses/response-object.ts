import { randomBytes } from 'node:crypto';
import { reasoningOf, type ChatCompletion, type Usage } from '../../spec/openai-chat.js';
import type { ResponseObject, ResponsesOutputItem, ResponsesRequest, ResponsesUsage } from '../../spec/openai-responses.js';
import { toolCallId } from '../../spec/tool-call-id.js';
import { customToolInput } from './convert-from-responses-request.js';

/** An id in OpenAI's style (`resp_…`, `msg_…`, `fc_…`): a prefix and 24 random bytes in hex. */
export function itemId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/** Counts of an answer whose upstream reported none (a provider with `streamUsage: false`, a server that ignores `include_usage`). */
const noUsage: ResponsesUsage = { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 };

/**
 * Chat usage in the Responses API's names; zeros when the upstream gave none, never null: OpenAI
 * always reports a finished response's usage, and clients that check its shape (the AI SDK) fail
 * on a null. The ledger counts such a request with the tokenizer, after the answer has gone.
 */
export function convertUsage(usage: Usage | undefined): ResponsesUsage {
  if (usage === undefined) return noUsage;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

/** A chat finish reason as a response's status: cut by the token limit or a filter is `incomplete`. */
export function statusOf(finishReason: string | null | undefined): { status: 'completed' | 'incomplete'; incomplete: { reason: string } | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

/** A response object without its status, output and usage. */
export interface ResponseShell {
  id: string;
  object: 'response';
  created_at: number;
  error: null;
  model: string;
  [field: string]: unknown;
}

/**
 * The fields of a response object that repeat the request (as OpenAI echoes them), built once per
 * request; `model` is the name the client asked for.
 */
export function responseShell(body: ResponsesRequest, id: string, createdAt: number): ResponseShell {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    background: false,
    error: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' }, ...(body.text ?? {}) },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

const noCustomTools: ReadonlySet<string> = new Set();

/**
 * A chat completion as a Responses API `response`: the reasoning a chat server gave apart
 * (`reasoning_content` or `reasoning`) as a `reasoning` item with it as summary, the text (or refusal) as one `message` item,
 * then each tool call as a `function_call` item (a `custom_tool_call` for a custom tool, its input
 * taken out of the one argument it was given as a chat function), with the finish reason as the status.
 */
export function convertToResponse(completion: ChatCompletion, body: ResponsesRequest, usage: Usage | undefined, customTools: ReadonlySet<string> = noCustomTools): ResponseObject {
  const choice = completion.choices?.[0];
  const { status, incomplete } = statusOf(choice?.finish_reason);
  const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
  const output: ResponsesOutputItem[] = [];
  const message = choice?.message;
  const reasoning = reasoningOf(message);
  if (typeof reasoning === 'string' && reasoning !== '') output.push({ type: 'reasoning', id: itemId('rs'), summary: [{ type: 'summary_text', text: reasoning }] });
  if (typeof message?.content === 'string' && message.content !== '') {
    output.push({ type: 'message', id: itemId('msg'), status: itemStatus, role: 'assistant', content: [{ type: 'output_text', text: message.content, annotations: [], logprobs: [] }] });
  } else if (typeof message?.refusal === 'string' && message.refusal !== '') {
    output.push({ type: 'message', id: itemId('msg'), status: itemStatus, role: 'assistant', content: [{ type: 'refusal', refusal: message.refusal }] });
  }
  for (const call of message?.tool_calls ?? []) {
    const { name, arguments: argumentsText } = call.function;
    if (customTools.has(name)) output.push({ type: 'custom_tool_call', id: itemId('ctc'), call_id: toolCallId(call.id, 'call_'), name, input: customToolInput(argumentsText), status: itemStatus });
    else output.push({ type: 'function_call', id: itemId('fc'), call_id: toolCallId(call.id, 'call_'), name, arguments: argumentsText, status: itemStatus });
  }
  return { ...responseShell(body, itemId('resp'), completion.created ?? Math.floor(Date.now() / 1000)), status, incomplete_details: incomplete, output, usage: convertUsage(usage) };
}
