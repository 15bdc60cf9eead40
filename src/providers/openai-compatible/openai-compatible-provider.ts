import { request, type Dispatcher } from 'undici';
import type { ChatCompletion, ChatRequest } from '../../spec/openai-chat.js';
import { readUsage } from '../../spec/read-usage.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { ChatResult, JsonResult, Provider, ProviderCall, ProviderOptions, RawStream, StreamPart } from '../provider.js';
import { classifyTransportError, guardUpstreamBody } from '../upstream-failure.js';
import { classifyOpenAIError } from './classify-openai-error.js';
import { readOpenAIStream } from './read-openai-stream.js';

/** Small differences between OpenAI-compatible servers, so that vendors stay configurations, not copies. */
export interface OpenAICompatibleQuirks {
  /** Whether the server understands `stream_options.include_usage` (vLLM and most vendors do). */
  streamUsage: boolean;
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
  private readonly dispatcher: Dispatcher;
  private readonly quirks: OpenAICompatibleQuirks;

  constructor(options: ProviderOptions, quirks: Partial<OpenAICompatibleQuirks> = {}) {
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.dispatcher = options.dispatcher;
    this.quirks = { streamUsage: true, ...quirks };
    this.headers = {
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
    };
  }

  async chat(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<ChatResult> {
    const response = await this.post('/chat/completions', { ...chatRequest, model, stream: false, stream_options: undefined }, call);
    const result = await this.readJson(response, call);
    let completion: ChatCompletion | undefined;
    return {
      ...result,
      completion: () => (completion ??= JSON.parse(result.body.toString('utf8')) as ChatCompletion),
    };
  }

  async chatStream(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<AsyncIterator<StreamPart>> {
    const body: Record<string, unknown> = { ...chatRequest, model, stream: true };
    if (this.quirks.streamUsage) body.stream_options = { ...(chatRequest.stream_options ?? {}), include_usage: true };
    const response = await this.post('/chat/completions', body, call, 'text/event-stream');
    const parts = readOpenAIStream(guardUpstreamBody(response.body, this.name, call.signal), this.name);
    return parts[Symbol.asyncIterator]();
  }

  async embeddings(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult> {
    return this.readJson(await this.post('/embeddings', { ...body, model }, call), call);
  }

  async completions(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult | RawStream> {
    const response = await this.post('/completions', { ...body, model }, call, body.stream === true ? 'text/event-stream' : 'application/json');
    if (body.stream === true) {
      return {
        kind: 'raw-stream',
        body: guardUpstreamBody(response.body, this.name, call.signal),
        contentType: String(response.headers['content-type'] ?? 'text/event-stream'),
      };
    }
    return this.readJson(response, call);
  }

  private async post(path: string, body: unknown, call: ProviderCall, accept = 'application/json'): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.baseUrl}${path}`, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: accept === 'application/json' ? this.headers : { ...this.headers, accept },
        body: JSON.stringify(body),
        signal: call.signal,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      });
    } catch (error) {
      throw classifyTransportError(error, this.name, call.signal);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    let text = '';
    try {
      text = await response.body.text();
    } catch {
      // the status is enough to classify
    }
    throw classifyOpenAIError(response.statusCode, text, response.headers, this.name);
  }

  private async readJson(response: Dispatcher.ResponseData, call: ProviderCall): Promise<JsonResult> {
    let body: Buffer;
    try {
      body = Buffer.from(await response.body.arrayBuffer());
    } catch (error) {
      throw classifyTransportError(error, this.name, call.signal);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new UpstreamError(`${this.name}: answered 2xx with a body that is not JSON`, { reason: 'provider_internal', provider: this.name });
    }
    if (parsed === null || typeof parsed !== 'object') {
      throw new UpstreamError(`${this.name}: answered 2xx with JSON that is not an object`, { reason: 'provider_internal', provider: this.name });
    }
    return { kind: 'json', body, usage: readUsage((parsed as { usage?: unknown }).usage) };
  }
}

