import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleArguments } from './mock-gemini-upstream.js';

/** One request the mock upstream received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** True when the relay closed the connection before the answer was complete. */
  aborted: boolean;
}

/** A model's output limit, and whose words the refusal of a request above it uses. */
export interface OutputLimit {
  /** The most output tokens; for `vllm`, the context window the prompt and the output share. */
  limit: number;
  vendor: 'openai' | 'deepseek' | 'vllm';
}

/**
 * The 400 a vendor sends for a chat request whose `max_tokens` (or `max_completion_tokens`) is
 * above the model's limit, or undefined when it is within it.
 */
function outputLimitRefusal(body: Record<string, unknown>, limit: OutputLimit | undefined): unknown {
  if (limit === undefined) return undefined;
  const field = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const asked = body[field];
  if (limit.vendor === 'vllm') {
    // vLLM counts the prompt in the window too (here ~4 characters a token).
    const input = Math.ceil(JSON.stringify(body.messages ?? '').length / 4);
    if (typeof asked !== 'number' || asked + input <= limit.limit) return undefined;
    const message = `'max_tokens' or 'max_completion_tokens' is too large: ${asked}. This model's maximum context length is ${limit.limit} tokens and your request has ${input} input tokens (${asked} > ${limit.limit} - ${input}). None`;
    return { error: { message, type: 'BadRequestError', param: null, code: 400 } };
  }
  if (typeof asked !== 'number' || asked <= limit.limit) return undefined;
  if (limit.vendor === 'deepseek') {
    return { error: { message: `Invalid max_tokens value, the valid range of max_tokens is [1, ${limit.limit}]`, type: 'invalid_request_error', param: null, code: 'invalid_request_error' } };
  }
  return {
    error: {
      message: `${field} is too large: ${asked}. This model supports at most ${limit.limit} completion tokens, whereas you provided ${asked}.`,
      type: 'invalid_request_error',
      param: field,
      code: 'invalid_value',
    },
  };
}

/** OpenAI's longest `user` (an end-user id; longer ones are refused with this 400). */
export const openaiUserMaxLength = 64;

/** The 400 OpenAI sends for a chat request whose `user` is longer than it takes, or undefined. */
function userRefusal(body: Record<string, unknown>): unknown {
  const user = body.user;
  if (typeof user !== 'string' || user.length <= openaiUserMaxLength) return undefined;
  return {
    error: {
      message: `Invalid 'user': string too long. Expected a string with maximum length ${openaiUserMaxLength}, but got a string with length ${user.length} instead.`,
      type: 'invalid_request_error',
      param: 'user',
      code: 'string_above_max_length',
    },
  };
}

/** OpenAI's longest `stop` array: a longer one is refused with this 400 whatever the model. */
export const openaiMaxStopSequences = 4;

/**
 * Model names the mock serves as OpenAI serves its reasoning models (o1, o3, o4-mini, the gpt-5
 * family): sampling parameters are refused, one at a time, in the words OpenAI uses.
 */
const reasoningModel = /^(o\d|gpt-5)/;

/** Deployment names of reasoning models under names of their own (an Azure deployment's): served as the reasoning models above. */
const reasoningDeployment = /^reasoner/;

/** Model names the mock serves as OpenAI serves its models that do not reason (gpt-4o, gpt-4.1): `reasoning_effort` is refused. */
const chatOnlyModel = /^(gpt-4o|gpt-4\.1|gpt-4-|gpt-3\.5)/;

/** Model names the mock serves as an Azure OpenAI deployment of a model that does not reason (`gpt-35-turbo`). */
const azureChatModel = /^gpt-35-turbo/;

/**
 * The 400 OpenAI sends for a chat request with parameters the model refuses, or undefined: a
 * `stop` array longer than 4 (any model), a `reasoning_effort` for a model that does not reason
 * (OpenAI's `unsupported_parameter`, or Azure's "Unrecognized request argument supplied"), then for
 * a reasoning model a `temperature` other than 1 (`unsupported_value`), a `top_p` or a `stop`
 * (`unsupported_parameter`).
 */
function parameterRefusal(model: string, body: Record<string, unknown>): unknown {
  const refuse = (param: string, code: string, message: string) => ({ error: { message, type: 'invalid_request_error', param, code } });
  if (Array.isArray(body.stop) && body.stop.length > openaiMaxStopSequences) {
    return refuse('stop', 'array_above_max_length', `Invalid 'stop': array too long. Expected an array with maximum length ${openaiMaxStopSequences}, but got an array with length ${body.stop.length} instead.`);
  }
  if (body.reasoning_effort !== undefined && body.reasoning_effort !== null) {
    // Azure OpenAI's deployments of models that do not reason name the argument in the message only.
    if (azureChatModel.test(model)) return { error: { message: 'Unrecognized request argument supplied: reasoning_effort', type: 'invalid_request_error', param: null, code: null } };
    if (chatOnlyModel.test(model)) return refuse('reasoning_effort', 'unsupported_parameter', "Unsupported parameter: 'reasoning_effort' is not supported with this model.");
  }
  if (!reasoningModel.test(model) && !reasoningDeployment.test(model)) return undefined;
  // OpenAI's o-series (o1, o3-mini, o3, o4-mini) take no parallel_tool_calls.
  if (/^o\d/.test(model) && body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null) {
    return refuse('parallel_tool_calls', 'unsupported_parameter', "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.");
  }
  if (body.max_tokens !== undefined && body.max_tokens !== null) {
    return refuse('max_tokens', 'unsupported_parameter', "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.");
  }
  if (typeof body.temperature === 'number' && body.temperature !== 1) {
    return refuse('temperature', 'unsupported_value', `Unsupported value: 'temperature' does not support ${body.temperature} with this model. Only the default (1) value is supported.`);
  }
  for (const param of ['top_p', 'stop']) {
    if (body[param] !== undefined && body[param] !== null) return refuse(param, 'unsupported_parameter', `Unsupported parameter: '${param}' is not supported with this model.`);
  }
  return undefined;
}

/** What the mock does with the next request; unscripted requests get a normal answer. */
export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'hang' }
  /** A chat answer in JSON whose bytes leave in `pieces` writes, `delayMs` apart: each gap shorter than a timeout, the whole longer. */
  | { kind: 'trickle'; pieces: number; delayMs: number }
  | { kind: 'stream'; chunks?: number; delayMs?: number; cutAfter?: number }
  /**
   * A chat answer (JSON) from a model that writes `completionTokens` tokens, or as many as the
   * request's `max_tokens` (or `max_completion_tokens`) allows when that is fewer, then stops with
   * `finish_reason: "length"`, as a model cut by its limit does; billed for what it wrote. A
   * DeepSeek model (`deepseek-*`) reads `max_tokens` only, as DeepSeek's API does: it writes its
   * `completionTokens` whatever `max_completion_tokens` says.
   */
  | { kind: 'verbose'; completionTokens: number }
  /** A stream of `chunks` events of about `chunkBytes` each, written as fast as the connection takes them (waiting for `drain`). */
  | { kind: 'firehose'; chunks: number; chunkBytes: number }
  /**
   * A scripted stream (chat, legacy completions or Responses API): each event's JSON as a `data:`
   * line (a string is written as it is, to name an event or cut bytes where a test wants; a promise
   * holds the events after it until it settles, as an upstream still thinking), then `data: [DONE]`
   * unless `done` is false.
   */
  | { kind: 'events'; events: Array<unknown>; done?: boolean };

/**
 * An OpenAI-compatible upstream for tests: answers chat completions (JSON and SSE with
 * `stream_options.include_usage`), embeddings and legacy completions in OpenAI's wire format, and
 * can be scripted to fail (status codes with `retry-after`, connection resets, hangs, streams cut).
 * A request with tools whose last message is not a tool result gets a call of its first tool, with
 * arguments sampled from the tool's schema (JSON and streamed); every other request is echoed.
 * Streams send `word0 word1 …` by default; with `setStreamDefaults({ likeJson: true })` they send
 * the JSON answer's own text (in word pieces) and usage instead, as a real model streams the
 * answer it would have given. Like OpenAI, it refuses a chat request whose `user` is longer than
 * 64 characters, or whose `stop` has more than 4 sequences, a `reasoning_effort` for a model that
 * does not reason (`gpt-4o`, `gpt-4.1`; `gpt-35-turbo` in Azure's words), and for a reasoning model's
 * name (`o3-mini`, `gpt-5`) a `temperature` other than 1, a `top_p` or a `stop`.
 * @see https://platform.openai.com/docs/api-reference/chat
 */
export class MockOpenAIUpstream {
  readonly requests: ReceivedRequest[] = [];
  /** The bytes of the last Responses API stream, as written. */
  lastResponsesStream = '';
  /** Events a `firehose` stream has handed to its connection so far. */
  firehoseWritten = 0;
  private readonly script: Behaviour[] = [];
  private server: Server | undefined;
  private streamDefaults = { chunks: 5, delayMs: 0, likeJson: false };
  /** Reasoning the answers carry apart, when set, and the field it goes in. */
  private reasoning: string | undefined;
  private reasoningField: 'reasoning_content' | 'reasoning' = 'reasoning_content';
  /** Whether answers carry usage (a JSON answer's `usage`, a stream's usage chunk when `include_usage` asks for it). */
  private reportsUsage = true;
  /** Output limits by model name: a chat request asking for more is refused, as its vendor does. */
  private outputLimits = new Map<string, OutputLimit>();
  /** When set, each Responses API answer gets its own id (`<prefix><n>`), as a real upstream's do; else `resp_mock`. */
  private responseIdPrefix: string | undefined;
  private responsesAnswered = 0;
  /** The responses answered with their own ids (`uniqueResponseIds`), and their input, as a store of OpenAI's keeps them. */
  private readonly storedResponses = new Map<string, { response: Record<string, unknown>; input: unknown }>();
  /** When set, the API is served under /v1 only, and other paths get this 404 page (`serveOnlyUnderV1`). */
  private notFoundPage: { contentType: string; body: string } | undefined;

  /** The base URL, with /v1 as the official SDKs expect. */
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Gives each Responses API answer from now on an id of its own: `<prefix>1`, `<prefix>2`, … */
  uniqueResponseIds(prefix: string): this {
    this.responseIdPrefix = prefix;
    return this;
  }

  private nextResponseId(): string {
    return this.responseIdPrefix === undefined ? 'resp_mock' : `${this.responseIdPrefix}${++this.responsesAnswered}`;
  }

  /** Queues behaviours for the next requests, in order. */
  next(...behaviours: Behaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  /**
   * Serves the API under /v1 only, as a vendor behind a web server does: any other path gets a 404
   * with an empty body, or the web server's HTML page, and no error object of the API's.
   */
  serveOnlyUnderV1(notFound: 'empty' | 'html'): this {
    this.notFoundPage =
      notFound === 'empty'
        ? { contentType: 'text/plain', body: '' }
        : { contentType: 'text/html', body: '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n' };
    return this;
  }

  setStreamDefaults(defaults: { chunks?: number; delayMs?: number; likeJson?: boolean }): void {
    this.streamDefaults = { ...this.streamDefaults, ...defaults };
  }

  /**
   * Makes chat answers carry this reasoning (streamed first, in word pieces); undefined stops it. It
   * goes in `reasoning_content`, as DeepSeek's reasoner sends it, or in `reasoning`, as vLLM (since
   * it renamed the field) and OpenRouter do.
   */
  setReasoning(reasoning: string | undefined, field: 'reasoning_content' | 'reasoning' = 'reasoning_content'): void {
    this.reasoning = reasoning;
    this.reasoningField = field;
  }

  /**
   * Makes chat answers carry no usage, as servers that report none do: JSON answers without `usage`,
   * streams without the usage chunk whatever `stream_options.include_usage` says.
   */
  omitUsage(): void {
    this.reportsUsage = false;
  }

  /**
   * Makes chat requests for these models that ask for more output tokens than their limit fail with
   * the 400 their vendor sends (OpenAI's "max_tokens is too large", DeepSeek's "valid range").
   */
  setOutputLimits(limits: Record<string, OutputLimit>): void {
    this.outputLimits = new Map(Object.entries(limits));
  }

  reset(): void {
    this.reasoning = undefined;
    this.reasoningField = 'reasoning_content';
    this.reportsUsage = true;
    this.outputLimits.clear();
    this.requests.length = 0;
    this.script.length = 0;
    this.streamDefaults = { chunks: 5, delayMs: 0, likeJson: false };
    this.firehoseWritten = 0;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const received: ReceivedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      aborted: false,
    };
    this.requests.push(received);
    response.on('close', () => {
      if (!response.writableFinished) received.aborted = true;
    });
    if (this.notFoundPage !== undefined && !/^\/v1(\/|$)/.test(received.path)) {
      response.writeHead(404, { 'content-type': this.notFoundPage.contentType });
      response.end(this.notFoundPage.body);
      return;
    }
    const behaviour = this.script.shift() ?? { kind: 'ok' };
    if (behaviour.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'status') {
      response.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
      response.end(JSON.stringify(behaviour.body ?? { error: { message: `mock failure ${behaviour.status}`, type: 'server_error', param: null, code: null } }));
      return;
    }
    const path = received.path.replace(/^\/v1/, '');
    const model = String(received.body.model ?? 'unknown');
    if (path === '/chat/completions') {
      const refusal = userRefusal(received.body) ?? parameterRefusal(model, received.body) ?? outputLimitRefusal(received.body, this.outputLimits.get(model));
      if (refusal !== undefined) {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(JSON.stringify(refusal));
        return;
      }
      if (received.body.stream === true && behaviour.kind === 'firehose') return this.firehose(received, response, behaviour);
      if (received.body.stream === true && behaviour.kind === 'events') return scriptedStream(response, behaviour);
      if (received.body.stream === true) return this.stream(received, response, behaviour.kind === 'stream' ? behaviour : { kind: 'stream' });
      const completion = chatCompletion(model, received.body);
      if (behaviour.kind === 'verbose') writeAtMost(completion, behaviour.completionTokens, received.body, model);
      if (behaviour.kind === 'trickle') return trickle(response, JSON.stringify(completion), behaviour);
      if (this.reasoning !== undefined) (completion.choices[0]!.message as Record<string, unknown>)[this.reasoningField] = this.reasoning;
      if (!this.reportsUsage) delete (completion as { usage?: unknown }).usage;
      return json(response, completion);
    }
    if (path === '/responses' && received.method === 'POST') {
      if (received.body.stream === true && behaviour.kind === 'events') return scriptedStream(response, behaviour);
      if (received.body.stream === true) return this.responsesStream(received, response, behaviour.kind === 'stream' ? behaviour : { kind: 'stream' });
      return json(response, this.keep(responseObject(model, received.body, 'completed', this.nextResponseId()), received.body));
    }
    const storedPath = /^\/responses\/([^/?]+)(\/input_items)?(\?.*)?$/.exec(path);
    if (storedPath !== null) return this.storedResponse(received.method, decodeURIComponent(storedPath[1]!), storedPath[2] !== undefined, response);
    if (path === '/moderations') {
      // OpenAI's answer: one result per input, flagged when the text says "attack".
      const inputs = Array.isArray(received.body.input) ? received.body.input : [received.body.input];
      return json(response, {
        id: 'modr-mock',
        model: received.body.model ?? 'omni-moderation-latest',
        results: inputs.map((input) => {
          const flagged = JSON.stringify(input).includes('attack');
          return { flagged, categories: { violence: flagged, harassment: false }, category_scores: { violence: flagged ? 0.93 : 0.001, harassment: 0.0002 }, category_applied_input_types: { violence: ['text'], harassment: ['text'] } };
        }),
      });
    }
    if (path === '/embeddings') {
      const inputs = Array.isArray(received.body.input) ? received.body.input : [received.body.input];
      return json(response, {
        object: 'list',
        model,
        data: inputs.map((_input, index) => ({ object: 'embedding', index, embedding: [0.1 * index, 0.2, 0.3] })),
        usage: { prompt_tokens: 4 * inputs.length, total_tokens: 4 * inputs.length },
      });
    }
    if (path === '/completions') {
      if (received.body.stream === true && behaviour.kind === 'events') return scriptedStream(response, behaviour);
      if (received.body.stream === true) return this.completionsStream(received, response, behaviour.kind === 'stream' ? behaviour : { kind: 'stream' });
      if (behaviour.kind === 'verbose') {
        // A server whose default output is unlimited (llama.cpp, Ollama): as long as the model goes, unless max_tokens stops it.
        const limit = received.body.max_tokens;
        const written = typeof limit === 'number' && limit < behaviour.completionTokens ? limit : behaviour.completionTokens;
        return json(response, {
          id: 'cmpl-mock',
          object: 'text_completion',
          created: 1,
          model,
          choices: [{ index: 0, text: ' word'.repeat(Math.min(written, 1000)), finish_reason: written < behaviour.completionTokens ? 'length' : 'stop', logprobs: null }],
          usage: { prompt_tokens: 2, completion_tokens: written, total_tokens: 2 + written },
        });
      }
      return json(response, {
        id: 'cmpl-mock',
        object: 'text_completion',
        created: 1,
        model,
        choices: [{ index: 0, text: ' completed', finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
      });
    }
    if (path === '/models') return json(response, { object: 'list', data: [{ id: 'gpt-4.1', object: 'model', created: 1, owned_by: 'mock' }] });
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } }));
  }

  private async firehose(received: ReceivedRequest, response: ServerResponse, behaviour: Extract<Behaviour, { kind: 'firehose' }>): Promise<void> {
    const model = String(received.body.model);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const content = 'x'.repeat(behaviour.chunkBytes);
    for (let index = 0; index < behaviour.chunks; index++) {
      if (response.destroyed) return;
      const event = { id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content }, finish_reason: null }] };
      this.firehoseWritten++;
      if (!response.write(`data: ${JSON.stringify(event)}\n\n`)) await new Promise((resolve) => response.once('drain', resolve));
    }
    response.write(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    if ((received.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) {
      const usage = { prompt_tokens: 9, completion_tokens: behaviour.chunks, total_tokens: 9 + behaviour.chunks };
      response.write(`data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1, model, choices: [], usage })}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  }

  /** Keeps a response answered with its own id and `store` not false, for the stored-response routes. */
  private keep<T extends { id: string }>(answer: T, body: Record<string, unknown>): T {
    if (this.responseIdPrefix !== undefined && body.store !== false) this.storedResponses.set(answer.id, { response: answer, input: body.input });
    return answer;
  }

  /** `GET`/`DELETE /v1/responses/{id}` and `GET …/input_items`, as OpenAI answers them. */
  private storedResponse(method: string, id: string, inputItems: boolean, response: ServerResponse): void {
    const kept = this.storedResponses.get(id);
    if (kept === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `Response with id '${id}' not found.`, type: 'invalid_request_error', param: null, code: null } }));
      return;
    }
    if (method === 'DELETE') {
      this.storedResponses.delete(id);
      return json(response, { id, object: 'response', deleted: true });
    }
    if (!inputItems) return json(response, kept.response);
    const items = (typeof kept.input === 'string' ? [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: kept.input }] }] : (kept.input as unknown[])).map((item, index) => ({ id: `msg_in_${index}`, ...(item as object) }));
    json(response, { object: 'list', data: items, first_id: items[0]?.id ?? null, last_id: items.at(-1)?.id ?? null, has_more: false });
  }

  /** A Responses API stream in OpenAI's event order: the echo's words as text deltas, then `response.completed`. */
  private async responsesStream(received: ReceivedRequest, response: ServerResponse, behaviour: Extract<Behaviour, { kind: 'stream' }>): Promise<void> {
    const model = String(received.body.model);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    let sequence = 0;
    this.lastResponsesStream = '';
    const send = (type: string, payload: Record<string, unknown>) => {
      const event = `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`;
      this.lastResponsesStream += event;
      return response.write(event);
    };
    const id = this.nextResponseId();
    const started = responseObject(model, received.body, 'in_progress', id);
    send('response.created', { response: started });
    send('response.in_progress', { response: started });
    const final = responseObject(model, received.body, 'completed', id);
    const item = final.output[0]!;
    const text = item.content[0]!.text;
    send('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    send('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    const words = text.split(/(?<= )/);
    for (const [index, word] of words.entries()) {
      if (behaviour.cutAfter !== undefined && index === behaviour.cutAfter) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        response.socket?.destroy();
        return;
      }
      send('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: word, logprobs: [] });
    }
    send('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] });
    send('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: item.content[0] });
    send('response.output_item.done', { output_index: 0, item });
    send('response.completed', { response: this.keep(final, received.body) });
    response.end();
  }

  /** A legacy completions stream as OpenAI sends it: `text_completion` chunks of `word0 word1 …`, then `[DONE]`. */
  private async completionsStream(received: ReceivedRequest, response: ServerResponse, behaviour: Extract<Behaviour, { kind: 'stream' }>): Promise<void> {
    const model = String(received.body.model);
    const count = behaviour.chunks ?? this.streamDefaults.chunks;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    // The status line leaves now, as a real upstream's does before its first event.
    response.flushHeaders();
    const send = (text: string, finishReason: string | null) =>
      response.write(`data: ${JSON.stringify({ id: 'cmpl-mock', object: 'text_completion', created: 1, choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }], model })}\n\n`);
    for (let index = 0; index < count; index++) {
      if (behaviour.cutAfter !== undefined && index === behaviour.cutAfter) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        response.socket?.destroy();
        return;
      }
      if (response.destroyed) return;
      send(`word${index} `, null);
    }
    send('', 'stop');
    response.end('data: [DONE]\n\n');
  }

  private async stream(received: ReceivedRequest, response: ServerResponse, behaviour: Extract<Behaviour, { kind: 'stream' }>): Promise<void> {
    const model = String(received.body.model);
    const count = behaviour.chunks ?? this.streamDefaults.chunks;
    const delayMs = behaviour.delayMs ?? this.streamDefaults.delayMs;
    const includeUsage = this.reportsUsage && (received.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1, model };
    const usageField = includeUsage ? { usage: null } : {};
    const send = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\n\n`);
    const toolCall = toolCallFor(received.body);
    const likeJson = this.streamDefaults.likeJson ? chatCompletion(model, received.body) : undefined;
    for (const piece of this.reasoning?.split(/(?<= )/) ?? []) send({ ...base, choices: [{ index: 0, delta: { [this.reasoningField]: piece }, finish_reason: null }], ...usageField });
    if (toolCall !== undefined) {
      // As OpenAI streams a call: id and name first, the arguments in pieces.
      const half = Math.floor(toolCall.function.arguments.length / 2);
      send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }] }, finish_reason: null }], ...usageField });
      for (const piece of [toolCall.function.arguments.slice(0, half), toolCall.function.arguments.slice(half)]) {
        send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, finish_reason: null }], ...usageField });
      }
      send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }], ...usageField });
      if (includeUsage) send({ ...base, choices: [], usage: likeJson?.usage ?? { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 } });
      response.end('data: [DONE]\n\n');
      return;
    }
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], ...usageField });
    if (likeJson !== undefined) {
      for (const piece of String(likeJson.choices[0]?.message.content).split(/(?<= )/)) {
        send({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }], ...usageField });
      }
      send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...usageField });
      if (includeUsage) send({ ...base, choices: [], usage: likeJson.usage });
      response.end('data: [DONE]\n\n');
      return;
    }
    for (let index = 0; index < count; index++) {
      if (behaviour.cutAfter !== undefined && index === behaviour.cutAfter) {
        // Let what was written reach the relay first, so the cut happens after its first byte.
        await new Promise((resolve) => setTimeout(resolve, 50));
        response.socket?.destroy();
        return;
      }
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (response.destroyed) return;
      send({ ...base, choices: [{ index: 0, delta: { content: `word${index} ` }, finish_reason: null }], ...usageField });
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...usageField });
    if (includeUsage) send({ ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: count, total_tokens: 9 + count } });
    response.end('data: [DONE]\n\n');
  }
}

async function scriptedStream(response: ServerResponse, behaviour: Extract<Behaviour, { kind: 'events' }>): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of behaviour.events) {
    if (event instanceof Promise) {
      await event;
      continue;
    }
    response.write(typeof event === 'string' ? event : `data: ${JSON.stringify(event)}\n\n`);
    // Each event in its own network write, as a real upstream sends them.
    await new Promise((resolve) => setImmediate(resolve));
  }
  response.end(behaviour.done === false ? undefined : 'data: [DONE]\n\n');
}

async function trickle(response: ServerResponse, text: string, behaviour: Extract<Behaviour, { kind: 'trickle' }>): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  const size = Math.ceil(text.length / behaviour.pieces);
  for (let start = 0; start < text.length; start += size) {
    if (response.destroyed) return;
    response.write(text.slice(start, start + size));
    await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
  }
  response.end();
}

function json(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The call the mock answers with when the request offers tools and does not already carry a tool result. */
function toolCallFor(body: Record<string, unknown>): { id: string; type: 'function'; function: { name: string; arguments: string } } | undefined {
  const tools = body.tools as Array<{ function?: { name?: string; parameters?: unknown } }> | undefined;
  const messages = body.messages as Array<{ role?: string }>;
  const first = tools?.[0]?.function;
  if (first?.name === undefined || body.tool_choice === 'none' || messages[messages.length - 1]?.role === 'tool') return undefined;
  return { id: 'call_mock_0', type: 'function', function: { name: first.name, arguments: JSON.stringify(sampleArguments(first.parameters)) } };
}

/** A Responses API `response` echoing the last input's text, as OpenAI's own `/v1/responses` answers. */
function responseObject(model: string, body: Record<string, unknown>, status: 'in_progress' | 'completed', id: string) {
  const input = body.input as string | Array<{ content?: unknown }> | undefined;
  const last = typeof input === 'string' ? input : input?.at(-1)?.content;
  const text = `echo: ${typeof last === 'string' ? last : JSON.stringify(last)}`;
  const done = status === 'completed';
  return {
    id,
    object: 'response',
    created_at: 1,
    status,
    error: null,
    incomplete_details: null,
    model,
    previous_response_id: body.previous_response_id ?? null,
    output: done ? [{ type: 'message', id: id === 'resp_mock' ? 'msg_mock' : `msg_${id}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
    usage: done ? { input_tokens: 11, input_tokens_details: { cached_tokens: 4 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 18 } : null,
    store: body.store !== false,
  };
}

function chatCompletion(model: string, body: Record<string, unknown>) {
  const messages = body.messages as Array<{ content?: unknown }>;
  const last = messages[messages.length - 1]?.content;
  const toolCall = toolCallFor(body);
  if (toolCall !== undefined) {
    return {
      id: 'chatcmpl-mock',
      object: 'chat.completion',
      created: 1,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [toolCall], refusal: null }, finish_reason: 'tool_calls', logprobs: null }],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 0 } },
    };
  }
  return {
    id: 'chatcmpl-mock',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: structuredAnswer(body) ?? `echo: ${typeof last === 'string' ? last : JSON.stringify(last)}`, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 0 } },
  };
}

/** Model names the mock serves as DeepSeek's API does: `max_tokens` is their one output limit, `max_completion_tokens` unknown. */
const maxTokensOnlyModel = /^deepseek/;

/** Makes a chat answer one of `tokens` completion tokens, or of the request's output limit with `finish_reason: "length"` when that is lower. */
function writeAtMost(completion: ReturnType<typeof chatCompletion>, tokens: number, body: Record<string, unknown>, model: string): void {
  const limit = maxTokensOnlyModel.test(model) ? body.max_tokens : (body.max_completion_tokens ?? body.max_tokens);
  const written = typeof limit === 'number' && limit < tokens ? limit : tokens;
  if (written < tokens) completion.choices[0]!.finish_reason = 'length';
  completion.choices[0]!.message.content = 'word '.repeat(Math.min(written, 1000)).trimEnd();
  completion.usage = { ...completion.usage, completion_tokens: written, total_tokens: completion.usage.prompt_tokens + written };
}

/** The JSON a structured output (`response_format` json_schema) answers with, as OpenAI does: an object of the schema. */
function structuredAnswer(body: Record<string, unknown>): string | undefined {
  const format = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  return format?.type === 'json_schema' ? JSON.stringify(sampleArguments(format.json_schema?.schema)) : undefined;
}
