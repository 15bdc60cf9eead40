import type { Dispatcher } from 'undici';
import type { ChatCompletion, ChatRequest } from '../../spec/openai-chat.js';
import { outputItemIds } from '../../spec/openai-responses.js';
import { readUsage } from '../../spec/read-usage.js';
import type { ChatResult, JsonResult, Provider, ProviderCall, ProviderOptions, RawStream, StreamPart } from '../provider.js';
import { postUpstream, postUpstreamJson, postUpstreamStream, type UpstreamJson } from '../post-upstream.js';
import { guardUpstreamBody } from '../upstream-failure.js';
import { classifyOpenAIError } from './classify-openai-error.js';
import { OpenAIEventReader } from './read-openai-stream.js';
import { OpenAIRawEventReader } from './relay-openai-stream.js';
import { withReasoningReplayed } from './deepseek-reasoning.js';

/** Small differences between OpenAI-compatible servers, so that vendors stay configurations, not copies. */
export interface OpenAICompatibleQuirks {
  /** Whether the server understands `stream_options.include_usage` (vLLM and most vendors do). */
  streamUsage: boolean;
  /** Whether the server serves the Responses API (OpenAI does; most compatible servers do not). */
  responsesApi: boolean;
}

/**
 * One adapter for every upstream that speaks the OpenAI API: OpenAI, HolySheep, DeepSeek, vLLM, …
 * Requests go out with every field the client sent (unknown ones included) and only `model` changed.
 * @see https://platform.openai.com/docs/api-reference
 */
export class OpenAICompatibleProvider implements Provider {
  readonly type = 'openai';
  readonly name: string;
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly streamHeaders: Record<string, string>;
  private readonly dispatcher: Dispatcher;
  private readonly quirks: OpenAICompatibleQuirks;
  private readonly urls = new Map<string, string>();
  readonly responses?: Provider['responses'];
  readonly storedResponse?: Provider['storedResponse'];

  constructor(options: ProviderOptions, quirks: Partial<OpenAICompatibleQuirks> = {}) {
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.dispatcher = options.dispatcher;
    this.quirks = { streamUsage: true, responsesApi: false, ...quirks };
    if (this.quirks.responsesApi) {
      this.responses = (body, model, call) => this.postResponses(body, model, call);
      this.storedResponse = (method, path, call) =>
        postUpstreamJson({ url: `${this.baseUrl}${path}`, method, dispatcher: this.dispatcher, headers: this.headers, body: undefined, call, provider: this.name, classifyError: classifyOpenAIError }).then(toResponseResult);
    }
    this.headers = {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
    };
    this.streamHeaders = { ...this.headers, accept: 'text/event-stream' };
  }

  chat(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<ChatResult> {
    // A copy with the upstream's model name. A field the client did not send stays out rather than
    // being set (a spread that adds properties cost ~3× a plain copy and its serialisation): no
    // `stream` is false upstream too, and `stream_options`, refused without a stream, is dropped.
    const body: Record<string, unknown> = { ...chatRequest, model, messages: withReasoningReplayed(model, chatRequest.messages) };
    if (call.bodyDefaults !== undefined) addDefaults(body, call.bodyDefaults);
    if (body.stream !== undefined) body.stream = false;
    if (body.stream_options !== undefined) body.stream_options = undefined;
    return this.postUpstreamJson('/chat/completions', body, call).then(toChatResult);
  }

  chatStream(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<AsyncIterator<StreamPart>> {
    const body: Record<string, unknown> = { ...chatRequest, model, messages: withReasoningReplayed(model, chatRequest.messages), stream: true };
    if (call.bodyDefaults !== undefined) addDefaults(body, call.bodyDefaults);
    if (this.quirks.streamUsage) body.stream_options = { ...(chatRequest.stream_options ?? {}), include_usage: true };
    const reader = call.passthrough === undefined ? new OpenAIEventReader(this.name) : new OpenAIRawEventReader(this.name, call.passthrough.includeUsage);
    return postUpstreamStream(
      { url: this.url('/chat/completions'), dispatcher: this.dispatcher, headers: this.streamHeaders, body, call, provider: this.name, classifyError: classifyOpenAIError },
      reader,
    );
  }

  async embeddings(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult> {
    return this.postJson('/embeddings', withModel(body, model, call), call);
  }

  moderations(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult> {
    return this.postJson('/moderations', withModel(body, model, call), call);
  }

  async completions(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult | RawStream> {
    if (body.stream === true) return this.postForRawStream('/completions', withModel(body, model, call), call);
    return this.postJson('/completions', withModel(body, model, call), call);
  }

  /** `/responses` as the client sent it (only `model` changed, and the target's own fields added): JSON, or the SSE bytes untouched. */
  private async postResponses(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult | RawStream> {
    if (body.stream === true) return this.postForRawStream('/responses', withModel(body, model, call), call);
    return this.postUpstreamJson('/responses', withModel(body, model, call), call).then(toResponseResult);
  }

  /** A POST whose SSE answer is relayed as its bytes (legacy completions, native Responses API). */
  private async postForRawStream(path: string, body: unknown, call: ProviderCall): Promise<RawStream> {
    const response = await postUpstream({
      url: this.url(path),
      dispatcher: this.dispatcher,
      headers: this.streamHeaders,
      body,
      call,
      provider: this.name,
      classifyError: classifyOpenAIError,
    });
    return {
      kind: 'raw-stream',
      body: guardUpstreamBody(response.body, this.name, call.signal),
      contentType: String(response.headers['content-type'] ?? 'text/event-stream'),
    };
  }

  private postJson(path: string, body: unknown, call: ProviderCall): Promise<JsonResult> {
    return this.postUpstreamJson(path, body, call).then(toJsonResult);
  }

  private postUpstreamJson(path: string, body: unknown, call: ProviderCall): Promise<UpstreamJson> {
    return postUpstreamJson({
      url: this.url(path),
      dispatcher: this.dispatcher,
      headers: this.headers,
      body,
      call,
      provider: this.name,
      classifyError: classifyOpenAIError,
    });
  }

  /** The upstream URL of an API path, made once per path rather than per request. */
  private url(path: string): string {
    let url = this.urls.get(path);
    if (url === undefined) {
      url = `${this.baseUrl}${path}`;
      this.urls.set(path, url);
    }
    return url;
  }
}

/**
 * Adds the attempt's target fields (`body` of a route target, or a built-in model's vendor fields)
 * that the request does not have: a field the client sent is kept as it came.
 */
function addDefaults(body: Record<string, unknown>, defaults: Readonly<Record<string, unknown>>): void {
  for (const field in defaults) if (body[field] === undefined) body[field] = defaults[field];
}

/** A copy of a passed-through body with the upstream's model name and the target's own fields. */
function withModel(body: Record<string, unknown>, model: string, call: ProviderCall): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...body, model };
  if (call.bodyDefaults !== undefined) addDefaults(copy, call.bodyDefaults);
  return copy;
}

function toJsonResult(answer: UpstreamJson): JsonResult {
  return { kind: 'json', body: answer.body, usage: readUsage(answer.parsed.usage) };
}

/** A Responses API answer: its id too, which the relay records for a stored response. */
function toResponseResult(answer: UpstreamJson): JsonResult {
  const id = answer.parsed.id;
  return { kind: 'json', body: answer.body, usage: readUsage(answer.parsed.usage), id: typeof id === 'string' ? id : undefined, itemIds: outputItemIds(answer.parsed.output) };
}


/** A chat answer relayed as its bytes; the object parsed once (for its usage) is what a caller that wants it gets. */
class JsonChatResult implements ChatResult {
  readonly kind = 'json';
  readonly body: Buffer;
  readonly usage: ChatResult['usage'];
  private readonly parsed: Record<string, unknown>;

  constructor(answer: UpstreamJson) {
    this.body = answer.body;
    this.parsed = answer.parsed;
    this.usage = readUsage(answer.parsed.usage);
  }

  completion(): ChatCompletion {
    return this.parsed as unknown as ChatCompletion;
  }
}

function toChatResult(answer: UpstreamJson): ChatResult {
  return new JsonChatResult(answer);
}
