import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleArguments } from './mock-gemini-upstream.js';

/** One request the mock received. */
export interface ReceivedAnthropicRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

type Block = Record<string, unknown> & { type: string };

/** What the mock does with the next request; unscripted requests get the default answer. */
export type AnthropicBehaviour =
  | { kind: 'ok' }
  /** An error answer; the body defaults to Anthropic's envelope with the type that goes with the status. */
  | { kind: 'status'; status: number; message?: string; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  /** A scripted answer (JSON or stream, whichever was asked). */
  | { kind: 'reply'; content: Block[]; stopReason?: string }
  /** A stream that sends some text, then an `error` event (overloaded by default, with `message` when given). */
  | { kind: 'stream-error'; errorType?: string; message?: string }
  /** A 200 stream whose first event is an `error` event. */
  | { kind: 'error-first' }
  /** A stream that sends some text, then ends cleanly without `message_stop` (a cut the relay must notice). */
  | { kind: 'stream-cut' };

const usage = { input_tokens: 12, cache_creation_input_tokens: 2, cache_read_input_tokens: 3, output_tokens: 6, cache_creation: { ephemeral_5m_input_tokens: 2, ephemeral_1h_input_tokens: 0 } };

/**
 * The prompt tokens the mock reports written to the prompt cache for each breakpoint (`cache_control`)
 * of a request, by the breakpoint's lifetime (`ttl: "1h"`, else 5 minutes): the prefix up to it, as
 * Anthropic counts it, stands at this many tokens here.
 */
export const cacheWriteTokensPerBreakpoint = { '5m': 1_500, '1h': 2_500 } as const;

/** The `cache_control` marks of a request, wherever Anthropic reads them: the request, system blocks, tools, messages' blocks and blocks inside tool results. */
function cacheBreakpoints(body: Record<string, unknown>): Array<{ ttl?: string }> {
  const marks: Array<{ ttl?: string }> = [];
  const visit = (value: unknown, depth: number): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as { cache_control?: { ttl?: string } | null; content?: unknown };
    if (record.cache_control != null) marks.push(record.cache_control);
    if (depth > 0) visit(record.content, depth - 1);
  };
  visit(body, 0);
  visit(body.system, 0);
  visit(body.tools, 0);
  visit(body.messages, 2);
  return marks;
}

/**
 * What Anthropic reports for a request: a request without breakpoints gets the default counts; one
 * with breakpoints has its prefixes written to the cache (`cacheWriteTokensPerBreakpoint`), each
 * counted under its lifetime in `cache_creation`, and nothing read from it (a first request).
 */
function usageFor(body: Record<string, unknown>): typeof usage {
  const marks = cacheBreakpoints(body);
  if (marks.length === 0) return usage;
  const oneHour = marks.filter((mark) => mark.ttl === '1h').length * cacheWriteTokensPerBreakpoint['1h'];
  const fiveMinutes = marks.filter((mark) => mark.ttl !== '1h').length * cacheWriteTokensPerBreakpoint['5m'];
  return {
    input_tokens: 12,
    cache_creation_input_tokens: fiveMinutes + oneHour,
    cache_read_input_tokens: 0,
    output_tokens: 6,
    cache_creation: { ephemeral_5m_input_tokens: fiveMinutes, ephemeral_1h_input_tokens: oneHour },
  };
}

const errorTypeByStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[])
    .map((block) => (block.type === 'text' ? String(block.text) : block.type === 'tool_result' ? textOf(block.content) : ''))
    .filter((text) => text !== '')
    .join(' ');
}

/**
 * The signature of a thinking block, as the mock gives it: derived from the text, so that a block
 * sent back can be checked (Anthropic's is an encrypted form of the full thinking).
 */
export function thinkingSignature(thinking: string): string {
  return `EqMock${Buffer.from(thinking, 'utf8').toString('base64')}`;
}

/** The data of the mock's redacted thinking blocks (encrypted reasoning at Anthropic). */
export const redactedThinkingData = 'EmwKAhgBEgyMockRedactedReasoning';

/** Thinking blocks of an answer while thinking is on: always a `thinking` block, and a redacted one when the prompt says "redact". */
function thinkingBlocks(prompt: string, omitted = false): Block[] {
  // Claude 4.7 and later leave the text out unless asked for it (`display: "summarized"`): the block carries its signature alone.
  const thinking = omitted ? '' : `Thinking about: ${prompt}`;
  const blocks: Block[] = [{ type: 'thinking', thinking, signature: thinkingSignature(thinking) }];
  if (prompt.includes('redact')) blocks.push({ type: 'redacted_thinking', data: redactedThinkingData });
  return blocks;
}

/** Whether a user message is the client's own (not only the results of tool calls). */
function startsATurn(message: { role: string; content: unknown }): boolean {
  return message.role === 'user' && (!Array.isArray(message.content) || (message.content as Block[]).some((block) => block.type !== 'tool_result'));
}

/**
 * The version of a Claude model by its name, as major × 100 + minor (`claude-opus-4-7` → 407,
 * `claude-sonnet-5` → 500, `claude-3-7-sonnet-20250219` → 307), 0 for a name without one. Claude
 * Mythos Preview counts as 4.7.
 */
function modelVersion(model: string): number {
  const name = model.replaceAll('.', '-').replace(/-(\d{8}|latest)$/, '');
  if (name === 'claude-mythos-preview') return 407;
  const match = /^claude-[a-z]+-(\d+)(?:-(\d{1,2}))?$/.exec(name) ?? /^claude-(\d+)(?:-(\d{1,2}))?-[a-z]+$/.exec(name);
  return match === null ? 0 : Number(match[1]) * 100 + Number(match[2] ?? 0);
}

/**
 * What Anthropic answers (400) to an `output_config.effort` the model does not take: low, medium
 * and high on every model that takes effort (Opus 4.5, and 4.6 and later), max on Opus and Sonnet
 * 4.6 and the non-Haiku models after them, xhigh on the non-Haiku models from 4.7 on.
 * @see https://platform.claude.com/docs/en/build-with-claude/effort
 */
function effortRefusal(body: Record<string, unknown>): string | undefined {
  const config = body.output_config as { effort?: unknown } | undefined;
  if (config?.effort === undefined) return undefined;
  const model = String(body.model);
  const version = modelVersion(model);
  const haiku = model.includes('haiku');
  const levels = ['low', 'medium', 'high'];
  if (!haiku && version >= 406) levels.push('max');
  if (!haiku && version >= 407) levels.push('xhigh');
  if (version < 405 || (version < 406 && !model.includes('opus'))) return 'output_config.effort: This model does not support the effort parameter.';
  if (!levels.includes(String(config.effort))) return `output_config.effort: Input should be ${levels.map((level) => `'${level}'`).join(', ')} for this model`;
  return undefined;
}

/**
 * What Anthropic answers (400) to a request with thinking on that breaks one of its rules: the
 * budget form (`enabled`) on Claude 4.7 and later, the adaptive form before 4.6, a budget under 1024
 * or not under max_tokens, temperature other than 1, top_k, top_p under 0.95, a forced tool, a tool
 * loop whose assistant turn does not start with its thinking, or a thinking block that is not the
 * one Claude wrote (signature) — in the words of Anthropic's errors.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 */
function thinkingRefusal(body: Record<string, unknown>): string | undefined {
  const docs = 'Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking';
  const thinking = (body.thinking ?? {}) as { type?: string; budget_tokens?: unknown };
  const version = modelVersion(String(body.model));
  if (thinking.type === 'enabled' && version >= 407) {
    return 'thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior.';
  }
  if (thinking.type === 'adaptive' && version < 406) return 'thinking.type.adaptive is not supported for this model. Use thinking.type.enabled with budget_tokens.';
  if (thinking.type === 'enabled') {
    const budget = Number(thinking.budget_tokens);
    if (!(budget >= 1024)) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (!(Number(body.max_tokens) > budget)) return `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. ${docs}#max-tokens-and-context-window-size`;
  }
  if (body.temperature !== undefined && body.temperature !== 1) return `\`temperature\` may only be set to 1 when thinking is enabled. ${docs}#feature-compatibility`;
  if (body.top_k !== undefined) return `\`top_k\` must be unset when thinking is enabled. ${docs}#feature-compatibility`;
  if (body.top_p !== undefined && Number(body.top_p) < 0.95) return `\`top_p\` must be greater than or equal to 0.95 or unset when thinking is enabled. ${docs}#feature-compatibility`;
  const choice = (body.tool_choice as { type?: string } | undefined)?.type;
  if (choice === 'any' || choice === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.';
  const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
  for (const [position, message] of messages.entries()) {
    if (!Array.isArray(message.content)) continue;
    for (const [index, block] of (message.content as Block[]).entries()) {
      if (block.type === 'thinking' && block.signature !== thinkingSignature(String(block.thinking))) return `messages.${position}.content.${index}: Invalid \`signature\` in \`thinking\` block`;
      if (block.type === 'redacted_thinking' && block.data !== redactedThinkingData) return `messages.${position}.content.${index}: Invalid \`data\` in \`redacted_thinking\` block`;
    }
  }
  let turnStart = messages.length;
  while (turnStart > 0 && !startsATurn(messages[turnStart - 1]!)) turnStart--;
  const first = messages.findIndex((message, position) => position >= turnStart && message.role === 'assistant');
  const opening = first === -1 ? undefined : (messages[first]!.content as Block[])[0];
  if (first !== -1 && opening?.type !== 'thinking' && opening?.type !== 'redacted_thinking') {
    return `messages.${first}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(opening?.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. ${docs}`;
  }
  return undefined;
}

/**
 * Whether a request has thinking on (the mock then always thinks): with a budget or adaptive, or by
 * default on Claude 5 and later, which skip thinking when a tool use is forced.
 */
function thinks(body: Record<string, unknown>): boolean {
  const type = (body.thinking as { type?: string } | undefined)?.type;
  if (type === 'enabled' || type === 'adaptive') return true;
  const choice = (body.tool_choice as { type?: string } | undefined)?.type;
  return type === undefined && modelVersion(String(body.model)) >= 500 && choice !== 'any' && choice !== 'tool';
}

/** The default answer: an echo, a tool call when tools are offered, or a comment on tool results. */
function defaultAnswer(body: Record<string, unknown>): { content: Block[]; stopReason: string } {
  const answer = plainAnswer(body);
  if (!thinks(body)) return answer;
  const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
  const display = (body.thinking as { display?: string } | undefined)?.display;
  const omitted = modelVersion(String(body.model)) >= 407 && display !== 'summarized';
  return { ...answer, content: [...thinkingBlocks(textOf(messages[messages.length - 1]?.content), omitted), ...answer.content] };
}

function plainAnswer(body: Record<string, unknown>): { content: Block[]; stopReason: string } {
  const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages[messages.length - 1];
  const blocks = Array.isArray(last?.content) ? (last.content as Block[]) : [];
  const results = blocks.filter((block) => block.type === 'tool_result');
  if (results.length > 0) return { content: [{ type: 'text', text: `tool said: ${results.map((block) => textOf(block.content)).join(' | ')}` }], stopReason: 'end_turn' };
  const tools = (body.tools ?? []) as Array<{ name: string; input_schema?: unknown }>;
  const choice = body.tool_choice as { type?: string; name?: string } | undefined;
  if (tools.length > 0 && (choice?.type === 'tool' || choice?.type === 'any')) {
    // A forced tool: Anthropic prefills the turn, so the answer is the call alone, its input filled from the tool's schema.
    const forced = choice.type === 'tool' ? tools.find((tool) => tool.name === choice.name) : tools[0];
    const name = String(forced?.name);
    return { content: [{ type: 'tool_use', id: `toolu_mock_${name}`, name, input: sampleArguments(forced?.input_schema) }], stopReason: 'tool_use' };
  }
  const format = (body.output_config as { format?: { type?: string; schema?: unknown } } | undefined)?.format;
  if (format?.type === 'json_schema') return { content: [{ type: 'text', text: JSON.stringify(sampleArguments(format.schema)) }], stopReason: 'end_turn' };
  if (tools.length > 0 && choice?.type !== 'none') {
    const name = String(tools[0]?.name);
    return {
      content: [
        { type: 'text', text: 'Let me look that up.' },
        { type: 'tool_use', id: `toolu_mock_${name}`, name, input: { query: textOf(last?.content), limit: 3 } },
      ],
      stopReason: 'tool_use',
    };
  }
  const images = blocks
    .filter((block) => block.type === 'image')
    .map((block) => {
      const source = block.source as { type: string; media_type?: string; url?: string };
      return source.type === 'base64' ? `base64 ${source.media_type}` : `url ${source.url}`;
    });
  const suffix = images.length > 0 ? ` [images: ${images.join(', ')}]` : '';
  return { content: [{ type: 'text', text: `echo: ${textOf(last?.content)}${suffix}` }], stopReason: 'end_turn' };
}

function pieces(text: string, size: number): string[] {
  const result: string[] = [];
  for (let start = 0; start < text.length; start += size) result.push(text.slice(start, start + size));
  return result.length > 0 ? result : [''];
}

/**
 * An Anthropic Messages upstream for tests: answers `POST /v1/messages` in Anthropic's wire format
 * (a forced `tool_choice` — `any` or `tool` — gets the call alone, with input sampled from the tool's
 * schema, as Anthropic answers it without text before the call)
 * (JSON, and SSE with the documented event sequence, written in pieces that cut events apart; a
 * tool's input as an empty `input_json_delta` and then its pieces, none for an empty input),
 * reports the prompt-cache writes of a request that marks `cache_control` breakpoints (`usageFor`),
 * records every request, and can be scripted to fail (529 overloaded, 400, 429 with retry-after,
 * resets, an `error` event mid-stream or as the first event). Like Anthropic, it refuses tool ids
 * outside `^[a-zA-Z0-9_-]+$`, stop sequences made only of whitespace, base64 images of a media type other than JPEG, PNG, GIF or
 * WebP, and a request to a model of the 4.5 generation on (`claude-sonnet-4-5`, …) that sets both
 * `temperature` and `top_p`. With `thinking` on (`enabled` with a budget, or `adaptive`; the first
 * refused from Claude 4.7 on, the second before 4.6, and an `output_config.effort` the model does
 * not take refused too) it answers a thinking block first (signed, and
 * a redacted one too when the prompt says "redact"; streamed as a `thinking` block start,
 * `thinking_delta`s, a `signature_delta` and the block's stop) and refuses, as Anthropic does, what
 * thinking does not allow — above all a tool loop sent back without the thinking of its turn.
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
/**
 * What Anthropic answers (400) for a `tool_use` id or a `tool_result`'s `tool_use_id` outside its
 * pattern, `^[a-zA-Z0-9_-]+$` (ids other servers give, such as `functions.get_weather:0`), or undefined.
 */
function toolIdRefusal(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (const [position, message] of messages.entries()) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const [index, block] of (content as Block[]).entries()) {
      const field = block.type === 'tool_use' ? 'id' : block.type === 'tool_result' ? 'tool_use_id' : undefined;
      if (field !== undefined && !/^[a-zA-Z0-9_-]+$/.test(String(block[field]))) {
        return `messages.${position}.content.${index}.${block.type}.${field}: String should match pattern '^[a-zA-Z0-9_-]+$'`;
      }
    }
  }
  return undefined;
}

/** The media types of the base64 images in a request's messages. */
function imageMediaTypes(messages: unknown): string[] {
  if (!Array.isArray(messages)) return [];
  return messages.flatMap((message: { content?: unknown }) =>
    Array.isArray(message?.content)
      ? message.content.flatMap((block: { type?: string; source?: { type?: string; media_type?: string } }) => (block?.type === 'image' && block.source?.type === 'base64' ? [String(block.source.media_type)] : []))
      : [],
  );
}

export class MockAnthropicUpstream {
  readonly requests: ReceivedAnthropicRequest[] = [];
  private readonly script: AnthropicBehaviour[] = [];
  private server: Server | undefined;
  /** The origin, without /v1, as ANTHROPIC_BASE_URL takes it. */
  origin = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  next(...behaviours: AnthropicBehaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
    this.outputLimits.clear();
  }

  /** The output limits of some models: a request asking for more is refused in Anthropic's words, until `reset`. */
  setOutputLimits(limits: Record<string, number>): void {
    for (const [model, limit] of Object.entries(limits)) this.outputLimits.set(model, limit);
  }

  private readonly outputLimits = new Map<string, number>();

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const received: ReceivedAnthropicRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
    this.requests.push(received);
    if (received.path !== '/v1/messages') return this.error(response, 404, `Not found: ${received.path}`);
    const behaviour = this.script.shift() ?? { kind: 'ok' };
    const stops = received.body.stop_sequences;
    if (Array.isArray(stops) && stops.some((stop) => typeof stop === 'string' && stop.trim() === '')) {
      return this.error(response, 400, 'stop_sequences: each stop sequence must contain non-whitespace');
    }
    const badToolId = toolIdRefusal(received.body.messages);
    if (badToolId !== undefined) return this.error(response, 400, badToolId);
    const mediaType = imageMediaTypes(received.body.messages).find((type) => !['image/jpeg', 'image/png', 'image/gif', 'image/webp'].includes(type));
    if (mediaType !== undefined) {
      return this.error(response, 400, `messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
    }
    const outputLimit = this.outputLimits.get(String(received.body.model));
    if (outputLimit !== undefined && Number(received.body.max_tokens) > outputLimit) {
      return this.error(response, 400, `max_tokens: ${String(received.body.max_tokens)} > ${outputLimit}, which is the maximum allowed number of output tokens for ${String(received.body.model)}`);
    }
    const forcedChoice = (received.body.tool_choice as { type?: string } | undefined)?.type;
    if (modelVersion(String(received.body.model)) >= 505 && (forcedChoice === 'any' || forcedChoice === 'tool')) {
      // Claude Sonnet 5.5 and Opus 5.5 refuse forced tool use.
      return this.error(response, 400, `tool_choice.type: "${forcedChoice}" is not supported for this model. Use "auto", or output_config.format for structured outputs.`);
    }
    const sampling = ['temperature', 'top_p', 'top_k'].find((field) => received.body[field] !== undefined);
    if (modelVersion(String(received.body.model)) >= 407 && sampling !== undefined) {
      // Claude Opus 4.7 and later take no sampling parameters, and name the first one they get.
      return this.error(response, 400, `\`${sampling}\` is deprecated for this model.`);
    }
    if (modelVersion(String(received.body.model)) >= 405 && received.body.temperature !== undefined && received.body.top_p !== undefined) {
      // What Anthropic answers for the models of the 4.5 generation on.
      return this.error(response, 400, '`temperature` and `top_p` cannot both be specified for this model. Please use only one.');
    }
    if (thinks(received.body)) {
      const refusal = thinkingRefusal(received.body);
      if (refusal !== undefined) return this.error(response, 400, refusal);
    }
    const effort = effortRefusal(received.body);
    if (effort !== undefined) return this.error(response, 400, effort);
    if (behaviour.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (behaviour.kind === 'status') {
      if (behaviour.body !== undefined) {
        response.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        response.end(JSON.stringify(behaviour.body));
        return;
      }
      return this.error(response, behaviour.status, behaviour.message ?? `mock failure ${behaviour.status}`, behaviour.headers);
    }
    const answer = behaviour.kind === 'reply' ? { content: behaviour.content, stopReason: behaviour.stopReason ?? 'end_turn' } : defaultAnswer(received.body);
    const message = {
      id: `msg_mock_${this.requests.length}`,
      type: 'message',
      role: 'assistant',
      model: String(received.body.model),
      content: answer.content,
      stop_reason: answer.stopReason,
      stop_sequence: null,
      usage: usageFor(received.body),
    };
    if (received.body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_mock' });
      response.end(JSON.stringify(message));
      return;
    }
    await this.stream(response, message, behaviour);
  }

  private error(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify({ type: 'error', error: { type: errorTypeByStatus[status] ?? 'api_error', message }, request_id: 'req_mock' }));
  }

  private async stream(response: ServerResponse, message: { content: Block[]; stop_reason: string; usage: typeof usage } & Record<string, unknown>, behaviour: AnthropicBehaviour): Promise<void> {
    const usage = message.usage;
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_mock' });
    const write = async (type: string, payload: Record<string, unknown>) => {
      const text = `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
      // Two writes per event, cut mid-line, so the relay's parser sees events split across chunks.
      const cut = Math.floor(text.length / 2);
      response.write(text.slice(0, cut));
      await new Promise((resolve) => setImmediate(resolve));
      response.write(text.slice(cut));
    };
    if (behaviour.kind === 'error-first') {
      response.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`);
      return;
    }
    await write('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
    let pinged = false;
    for (const [index, block] of message.content.entries()) {
      if (block.type === 'text') {
        await write('content_block_start', { index, content_block: { type: 'text', text: '' } });
        if (!pinged) await write('ping', {});
        pinged = true;
        for (const piece of pieces(String(block.text), 5)) await write('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
        if (behaviour.kind === 'stream-cut') {
          await new Promise((resolve) => setTimeout(resolve, 30));
          response.end();
          return;
        }
        if (behaviour.kind === 'stream-error') {
          await new Promise((resolve) => setTimeout(resolve, 30));
          response.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: behaviour.errorType ?? 'overloaded_error', message: behaviour.message ?? 'Overloaded' } })}\n\n`);
          return;
        }
      } else if (block.type === 'thinking') {
        // As Anthropic streams it: the block opens empty, its text comes in thinking deltas, then its signature.
        await write('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
        for (const piece of pieces(String(block.thinking), 6)) await write('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } });
        await write('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
      } else if (block.type === 'redacted_thinking') {
        await write('content_block_start', { index, content_block: block });
      } else if (block.type === 'tool_use') {
        await write('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
        if (!pinged) await write('ping', {});
        pinged = true;
        // As Anthropic does: an empty fragment first, and for a tool called without arguments nothing more.
        await write('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
        const input = JSON.stringify(block.input ?? {});
        if (input !== '{}') for (const piece of pieces(input, 7)) await write('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
      }
      await write('content_block_stop', { index });
    }
    // The final, cumulative counts, as Anthropic sends them: the cache writes' total, without their split by lifetime (only message_start has it).
    const { cache_creation: _split, ...counts } = usage;
    await write('message_delta', { delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: counts });
    await write('message_stop', {});
    response.end();
  }
}
