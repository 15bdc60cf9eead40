import { firstChoice, reasoningOf, toolCallDeltas, type ChatCompletionChunk, type Usage } from '../../spec/openai-chat.js';
import type { ResponseObject, ResponsesOutputItem } from '../../spec/openai-responses.js';
import type { OpenAIErrorBody } from '../../spec/relay-error.js';
import { toolCallId } from '../../spec/tool-call-id.js';
import { ToolCallKeys } from '../tool-call-keys.js';
import { customToolInput } from './convert-from-responses-request.js';
import { convertUsage, itemId, statusOf, type ResponseShell } from './response-object.js';

/** The message item being written: its text or refusal parts, the last one open. */
interface OpenMessage {
  kind: 'message';
  outputIndex: number;
  id: string;
  parts: Array<{ type: 'output_text' | 'refusal'; text: string }>;
}

interface OpenCall {
  /** A custom tool's call takes its input out of the arguments at the end, so its fragments are not relayed one by one. */
  kind: 'function_call' | 'custom_tool_call';
  outputIndex: number;
  id: string;
  callId: string;
  name: string;
  arguments: string;
}

/**
 * The `error` event that ends a failed Responses stream: OpenAI's documented fields at the top, and
 * its error object under `error` as OpenAI sends it (OpenAI's SDK then throws it as an `APIError`).
 */
export function responsesErrorEvent(error: OpenAIErrorBody, sequenceNumber: number): string {
  const { message, type, param, code } = error.error;
  return `event: error\ndata: ${JSON.stringify({ type: 'error', sequence_number: sequenceNumber, code, message, param, error: { type, code, message, param } })}\n\n`;
}

/**
 * Re-encodes a chat stream as the Responses API's events, in OpenAI's order: `response.created`
 * and `response.in_progress`; for reasoning a chat server sends apart (`reasoning_content` or
 * `reasoning`), a `reasoning` item with it as summary (`response.reasoning_summary_text.delta`s);
 * for the text, a `message` item (`response.output_item.added`, `response.content_part.added`,
 * `response.output_text.delta`s, then the `.done` events in reverse); for each tool call (told
 * apart by `ToolCallKeys`), a `function_call` item with `response.function_call_arguments.delta`s; at
 * the end `response.completed` (or `response.incomplete`, cut by the token limit or a filter)
 * with the whole response and its usage. Every event carries its `sequence_number`. A message
 * closes when a tool call starts; tool calls stay open until text follows or the stream ends, so
 * that argument fragments of parallel calls that interleave still reach their own item.
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
export class ResponseEventEncoder {
  private sequence = 0;
  private message: OpenMessage | undefined;
  /** The reasoning item being written (a chat server's `reasoning_content` or `reasoning`, as its summary). */
  private reasoning: { outputIndex: number; id: string; text: string } | undefined;
  /** Open function calls by their key. */
  private readonly calls = new Map<number, OpenCall>();
  private readonly callKeys = new ToolCallKeys();
  private readonly output: ResponsesOutputItem[] = [];
  private finishReason: string | null = null;
  private usage: Usage | undefined;

  constructor(
    private readonly shell: ResponseShell,
    /** Names of the request's custom tools, whose calls become `custom_tool_call` items. */
    private readonly customTools: ReadonlySet<string> = new Set(),
  ) {}

  /** `response.created` and `response.in_progress`. */
  start(): string {
    const response = { ...this.shell, status: 'in_progress', incomplete_details: null, output: [], usage: null };
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  /** The events for one chat chunk (often none: role-only and usage chunks carry no content). */
  push(chunk: ChatCompletionChunk, usage: Usage | undefined): string {
    if (usage !== undefined) this.usage = usage;
    const choice = firstChoice(chunk);
    if (choice === undefined) return '';
    let events = '';
    const delta = choice.delta ?? {};
    const reasoning = reasoningOf(delta);
    if (typeof reasoning === 'string' && reasoning !== '') events += this.reasoningText(reasoning);
    if (typeof delta.content === 'string' && delta.content !== '') events += this.text('output_text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') events += this.text('refusal', delta.refusal);
    for (const toolCall of toolCallDeltas(delta)) {
      const key = this.callKeys.key(toolCall);
      let call = this.calls.get(key);
      if (call === undefined) {
        events += this.closeReasoning() + this.closeMessage('completed');
        const name = toolCall.function?.name ?? '';
        const custom = this.customTools.has(name);
        call = { kind: custom ? 'custom_tool_call' : 'function_call', outputIndex: this.nextIndex(), id: itemId(custom ? 'ctc' : 'fc'), callId: toolCallId(toolCall.id, 'call_'), name, arguments: '' };
        this.calls.set(key, call);
        events += this.event('response.output_item.added', { output_index: call.outputIndex, item: this.callItem(call, 'in_progress') });
      }
      const fragment = toolCall.function?.arguments;
      if (typeof fragment === 'string' && fragment !== '') {
        call.arguments += fragment;
        if (call.kind === 'function_call') events += this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.outputIndex, delta: fragment });
      }
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) this.finishReason = choice.finish_reason;
    return events;
  }

  /** Closes what is open, then `response.completed` or `response.incomplete`. */
  finish(): string {
    const { status, incomplete } = statusOf(this.finishReason);
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    let events = this.closeReasoning() + this.closeMessage(itemStatus) + this.closeCalls(itemStatus);
    const response: ResponseObject = { ...this.shell, status, incomplete_details: incomplete, output: this.output, usage: convertUsage(this.usage) };
    events += this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    return events;
  }

  /** The `error` event that ends a failed stream (see {@link responsesErrorEvent}). */
  fail(error: OpenAIErrorBody): string {
    return responsesErrorEvent(error, this.sequence++);
  }

  /** The sequence number the next event takes. */
  nextSequence(): number {
    return this.sequence++;
  }

  /** The items answered so far (all of them once `finish` ran), to keep for item references. */
  items(): ResponsesOutputItem[] {
    return this.output.filter((item) => item !== undefined);
  }

  /** A piece of reasoning: the reasoning item's summary grows (the item opens first, closing what was open). */
  private reasoningText(text: string): string {
    let events = '';
    if (this.reasoning === undefined) {
      events += this.closeMessage('completed') + this.closeCalls('completed');
      this.reasoning = { outputIndex: this.nextIndex(), id: itemId('rs'), text: '' };
      const where = { item_id: this.reasoning.id, output_index: this.reasoning.outputIndex };
      events += this.event('response.output_item.added', { output_index: this.reasoning.outputIndex, item: { type: 'reasoning', id: this.reasoning.id, summary: [] } });
      events += this.event('response.reasoning_summary_part.added', { ...where, summary_index: 0, part: { type: 'summary_text', text: '' } });
    }
    this.reasoning.text += text;
    return events + this.event('response.reasoning_summary_text.delta', { item_id: this.reasoning.id, output_index: this.reasoning.outputIndex, summary_index: 0, delta: text });
  }

  private closeReasoning(): string {
    const reasoning = this.reasoning;
    if (reasoning === undefined) return '';
    this.reasoning = undefined;
    const where = { item_id: reasoning.id, output_index: reasoning.outputIndex, summary_index: 0 };
    const part = { type: 'summary_text' as const, text: reasoning.text };
    const item: ResponsesOutputItem = { type: 'reasoning', id: reasoning.id, summary: [part] };
    this.output[reasoning.outputIndex] = item;
    return (
      this.event('response.reasoning_summary_text.done', { ...where, text: reasoning.text }) +
      this.event('response.reasoning_summary_part.done', { ...where, part }) +
      this.event('response.output_item.done', { output_index: reasoning.outputIndex, item })
    );
  }

  private text(type: 'output_text' | 'refusal', text: string): string {
    let events = this.closeReasoning() + this.closeCalls('completed');
    if (this.message === undefined) {
      this.message = { kind: 'message', outputIndex: this.nextIndex(), id: itemId('msg'), parts: [] };
      events += this.event('response.output_item.added', { output_index: this.message.outputIndex, item: { type: 'message', id: this.message.id, status: 'in_progress', role: 'assistant', content: [] } });
    }
    const message = this.message;
    let part = message.parts.at(-1);
    if (part?.type !== type) {
      if (part !== undefined) events += this.closePart(message, message.parts.length - 1);
      part = { type, text: '' };
      message.parts.push(part);
      events += this.event('response.content_part.added', { item_id: message.id, output_index: message.outputIndex, content_index: message.parts.length - 1, part: this.partObject(type, '') });
    }
    part.text += text;
    const contentIndex = message.parts.length - 1;
    if (type === 'output_text') return events + this.event('response.output_text.delta', { item_id: message.id, output_index: message.outputIndex, content_index: contentIndex, delta: text, logprobs: [] });
    return events + this.event('response.refusal.delta', { item_id: message.id, output_index: message.outputIndex, content_index: contentIndex, delta: text });
  }

  private closePart(message: OpenMessage, contentIndex: number): string {
    const part = message.parts[contentIndex]!;
    const where = { item_id: message.id, output_index: message.outputIndex, content_index: contentIndex };
    const done =
      part.type === 'output_text'
        ? this.event('response.output_text.done', { ...where, text: part.text, logprobs: [] })
        : this.event('response.refusal.done', { ...where, refusal: part.text });
    return done + this.event('response.content_part.done', { ...where, part: this.partObject(part.type, part.text) });
  }

  private closeMessage(status: 'completed' | 'incomplete'): string {
    const message = this.message;
    if (message === undefined) return '';
    this.message = undefined;
    const events = this.closePart(message, message.parts.length - 1);
    const item: ResponsesOutputItem = { type: 'message', id: message.id, status, role: 'assistant', content: message.parts.map((part) => this.partObject(part.type, part.text)) };
    this.output[message.outputIndex] = item;
    return events + this.event('response.output_item.done', { output_index: message.outputIndex, item });
  }

  private closeCalls(status: 'completed' | 'incomplete'): string {
    let events = '';
    for (const call of this.calls.values()) {
      const item = this.callItem(call, status);
      this.output[call.outputIndex] = item;
      const where = { item_id: call.id, output_index: call.outputIndex };
      if (item.type === 'custom_tool_call') {
        if (item.input !== '') events += this.event('response.custom_tool_call_input.delta', { ...where, delta: item.input });
        events += this.event('response.custom_tool_call_input.done', { ...where, input: item.input });
      } else {
        events += this.event('response.function_call_arguments.done', { ...where, name: call.name, arguments: call.arguments });
      }
      events += this.event('response.output_item.done', { output_index: call.outputIndex, item });
    }
    this.calls.clear();
    return events;
  }

  private callItem(call: OpenCall, status: 'in_progress' | 'completed' | 'incomplete'): ResponsesOutputItem {
    if (call.kind === 'custom_tool_call') {
      return { type: 'custom_tool_call', id: call.id, call_id: call.callId, name: call.name, input: status === 'in_progress' ? '' : customToolInput(call.arguments), status };
    }
    return { type: 'function_call', id: call.id, call_id: call.callId, name: call.name, arguments: call.arguments, status };
  }

  private partObject(type: 'output_text' | 'refusal', text: string): { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] } | { type: 'refusal'; refusal: string } {
    return type === 'output_text' ? { type, text, annotations: [], logprobs: [] } : { type, refusal: text };
  }

  /** The output index the next item takes (items are numbered in the order they open). */
  private nextIndex(): number {
    return this.output.push(undefined as unknown as ResponsesOutputItem) - 1;
  }

  private event(type: string, payload: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...payload })}\n\n`;
  }
}
