import type { Dispatcher } from 'undici';
import type { AnthropicMessage, AnthropicRequest } from '../../spec/anthropic-messages.js';
import type { ChatCompletion, ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { ChatResult, JsonResult, Provider, ProviderCall, ProviderOptions, RawStream, StreamPart } from '../provider.js';
import { postUpstream, postUpstreamJson } from '../post-upstream.js';
import { guardUpstreamBody } from '../upstream-failure.js';
import { readAnthropicStream } from './anthropic-stream.js';
import { smallestThinkingBudget, ThinkingBlockCache } from './anthropic-thinking.js';
import { classifyAnthropicError } from './classify-anthropic-error.js';
import { convertAnthropicResponse } from './convert-anthropic-response.js';
import { convertAnthropicUsage } from './convert-anthropic-usage.js';
import { convertToAnthropicRequest } from './convert-to-anthropic-request.js';
import { peekAnthropicStream } from './peek-anthropic-stream.js';
import { outputLimitKey, refusedOutputLimit } from '../output-limit-refusal.js';
import { rememberedRefusals, rememberRefusal } from '../refusal-memory.js';
import { reportUnsupportedParameter } from './report-unsupported-parameter.js';

/**
 * Anthropic's refusal of a sampling parameter a Claude model no longer takes (Claude Opus 4.7:
 * "`temperature` is deprecated for this model."), naming the parameter.
 * @see https://openrouter.ai/docs/guides/evaluate-and-optimize/model-migrations/claude-4-7
 */
const deprecatedSampling = /^`?(temperature|top_p|top_k)`? is deprecated for this model/;

/** The sampling parameter `error` says the model refuses, if it is such a refusal. */
function refusedSampling(error: unknown): string | undefined {
  if (!(error instanceof UpstreamError) || error.status !== 400 || error.reason !== 'invalid_request') return undefined;
  return deprecatedSampling.exec(error.upstreamMessage ?? '')?.[1];
}

/** Whether the relay chose a chat request's `max_tokens` for Anthropic (which requires one): the client gave none. */
function limitChosen(chatRequest: ChatRequest): boolean {
  return chatRequest.max_completion_tokens == null && chatRequest.max_tokens == null;
}

/**
 * The request with `max_tokens` lowered to `limit` (the same object when it is not above it), and a
 * thinking budget kept under it as Anthropic requires; thinking is left off, and reported, when the
 * limit leaves no room for Anthropic's smallest budget.
 */
function withMaxTokens(request: AnthropicRequest, limit: number, call: ProviderCall, provider: string): AnthropicRequest {
  if (!(request.max_tokens > limit)) return request;
  const lowered: AnthropicRequest = { ...request, max_tokens: limit };
  const thinking = request.thinking as { type?: string; budget_tokens?: number } | undefined;
  if (thinking?.type === 'enabled' && typeof thinking.budget_tokens === 'number' && thinking.budget_tokens >= limit) {
    if (limit - 1 >= smallestThinkingBudget) lowered.thinking = { ...thinking, budget_tokens: limit - 1 };
    else {
      delete lowered.thinking;
      reportUnsupportedParameter('reasoning_effort', `Claude thinks ${smallestThinkingBudget} tokens at least, which needs max_tokens above that`, call, provider);
    }
  }
  return lowered;
}

/** The API version the converters are written against; an operator may override it with `headers`. */
const anthropicVersion = '2023-06-01';

/**
 * The adapter for Anthropic's Messages API. OpenAI chat requests are translated to Messages
 * requests and the answers (JSON or SSE) back to OpenAI's format; Anthropic-format requests of the
 * `/v1/messages` front door pass through untouched but for the model name. Anthropic has no
 * embeddings or legacy completions endpoint, so those are refused with a 400 that says so.
 * @see https://docs.anthropic.com/en/api/messages
 */
export class AnthropicProvider implements Provider {
  readonly type = 'anthropic';
  readonly name: string;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher;
  /** The provider's own beta features, and its headers without them (see `headersFor`). */
  private readonly configuredBetas: string[] = [];
  private readonly headersWithoutBeta: Record<string, string>;
  /**
   * The thinking of answers that called tools, for the turns that continue them: the process's one
   * cache, shared by every Anthropic provider and key (a loop's next turn may be served by another
   * deployment, and thinking blocks are valid on any of them) and kept across configuration reloads.
   */
  private readonly thinkingBlocks: ThinkingBlockCache;

  constructor(options: ProviderOptions, thinkingBlocks: ThinkingBlockCache = new ThinkingBlockCache()) {
    this.thinkingBlocks = thinkingBlocks;
    this.name = options.name;
    // The configured base URL is the origin, as for Anthropic's SDKs; a trailing /v1 is forgiven.
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/messages`;
    this.dispatcher = options.dispatcher;
    this.headers = {
      'anthropic-version': anthropicVersion,
      ...options.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.apiKey === undefined ? {} : { 'x-api-key': options.apiKey }),
    };
    // The configured `anthropic-beta` (in any letter case) as features, for merging with a client's.
    this.headersWithoutBeta = { ...this.headers };
    for (const [name, value] of Object.entries(this.headers)) {
      if (name.toLowerCase() !== 'anthropic-beta') continue;
      delete this.headersWithoutBeta[name];
      this.configuredBetas.push(...value.split(',').map((feature) => feature.trim()).filter((feature) => feature !== ''));
    }
  }

  async chat(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<ChatResult> {
    const thinkingBlocks = this.thinkingBlocks.of(call.callerId);
    const converted = convertToAnthropicRequest(chatRequest, model, false, call, this.name, thinkingBlocks);
    const message = (await this.sendTranslated(converted.body, model, call, limitChosen(chatRequest), (body) => this.postJson(body, call))).parsed as AnthropicMessage;
    const completion: ChatCompletion = convertAnthropicResponse(message, converted.jsonToolName, thinkingBlocks);
    return { kind: 'json', body: Buffer.from(JSON.stringify(completion)), usage: completion.usage, completion: () => completion };
  }

  async chatStream(chatRequest: ChatRequest, model: string, call: ProviderCall): Promise<AsyncIterator<StreamPart>> {
    const thinkingBlocks = this.thinkingBlocks.of(call.callerId);
    const converted = convertToAnthropicRequest(chatRequest, model, true, call, this.name, thinkingBlocks);
    const response = await this.sendTranslated(converted.body, model, call, limitChosen(chatRequest), (body) => this.post(body, call, true));
    const parts = readAnthropicStream(guardUpstreamBody(response.body, this.name, call.signal), this.name, converted.jsonToolName, thinkingBlocks);
    return parts[Symbol.asyncIterator]();
  }

  async embeddings(): Promise<JsonResult> {
    throw this.noSuchEndpoint('embeddings', 'Use an embeddings model of another provider (for example text-embedding-3-small).');
  }

  async completions(): Promise<JsonResult | RawStream> {
    throw this.noSuchEndpoint('legacy completions', 'Use POST /v1/chat/completions (or POST /v1/messages) with this model.');
  }

  async messages(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult | RawStream> {
    if (body.stream !== true) {
      const result = await this.postJson({ ...body, model }, call);
      return { kind: 'json', body: result.body, usage: convertAnthropicUsage((result.parsed as { usage?: AnthropicMessage['usage'] }).usage) };
    }
    const response = await this.post({ ...body, model }, call, true);
    const peeked = await peekAnthropicStream(guardUpstreamBody(response.body, this.name, call.signal), this.name);
    return { kind: 'raw-stream', body: peeked, contentType: String(response.headers['content-type'] ?? 'text/event-stream') };
  }

  /**
   * Sends a translated request, and sends it again without a sampling parameter (temperature,
   * top_p, top_k) the model refuses as no longer taken (Claude Opus 4.7 and later take none: an
   * OpenAI client's temperature would otherwise fail every request), reported in
   * `x-relay-dropped-params` as any parameter Anthropic cannot honour; and, when `max_tokens` is the
   * relay's choice (`limitChosen`: Anthropic requires one and the client gave none), with the lower
   * one Anthropic's refusal names as the model's most. The refused calls produced nothing and are no
   * attempts of their own. Each refusal is remembered for the model for 10 minutes: its next
   * requests go without the parameter, or with the lower limit, at once. In strict mode a sampling
   * refusal reaches the client, and a remembered one is refused before any call.
   */
  private async sendTranslated<T>(body: AnthropicRequest, model: string, call: ProviderCall, limitChosen: boolean, post: (body: AnthropicRequest) => Promise<T>): Promise<T> {
    let request = body;
    const remembered = rememberedRefusals(this, model);
    if (remembered !== undefined) {
      for (const [field, limit] of remembered) request = field === outputLimitKey ? (limitChosen ? withMaxTokens(request, limit, call, this.name) : request) : this.withoutSampling(request, field, call);
    }
    for (;;) {
      try {
        return await post(request);
      } catch (error) {
        const limit = limitChosen ? refusedOutputLimit(error) : undefined;
        if (limit !== undefined && limit.limit < request.max_tokens) {
          if (limit.ofModel) rememberRefusal(this, model, outputLimitKey, limit.limit);
          request = withMaxTokens(request, limit.limit, call, this.name);
          continue;
        }
        const field = call.strict ? undefined : refusedSampling(error);
        if (field === undefined || (request as Record<string, unknown>)[field] === undefined) throw error;
        rememberRefusal(this, model, field, 0);
        request = this.withoutSampling(request, field, call);
      }
    }
  }

  /** The request without one sampling parameter the model refuses, reported (or refused, in strict mode); the same object when it has none. */
  private withoutSampling(request: AnthropicRequest, field: string, call: ProviderCall): AnthropicRequest {
    if ((request as Record<string, unknown>)[field] === undefined) return request;
    reportUnsupportedParameter(field, 'this Claude model takes no sampling parameters (it refuses them as deprecated)', call, this.name);
    const copy: Record<string, unknown> = { ...request };
    delete copy[field];
    return copy as unknown as AnthropicRequest;
  }

  private noSuchEndpoint(what: string, hint: string): UpstreamError {
    const message = `The model is served by Anthropic, which has no ${what} endpoint. ${hint}`;
    return new UpstreamError(`${this.name}: ${what} requested from an Anthropic upstream`, {
      reason: 'invalid_request',
      status: 400,
      upstreamMessage: message,
      upstreamType: 'invalid_request_error',
      upstreamCode: 'unsupported_endpoint',
      provider: this.name,
    });
  }

  /**
   * The provider's headers, with the beta features the client asked for when it asked for some:
   * after the provider's own `anthropic-beta` (configured in any letter case), without repeats.
   */
  private headersFor(call: ProviderCall): Record<string, string> {
    if (call.anthropicBetas === undefined) return this.headers;
    const features = [...this.configuredBetas];
    for (const feature of call.anthropicBetas) if (!features.includes(feature)) features.push(feature);
    return { ...this.headersWithoutBeta, 'anthropic-beta': features.join(',') };
  }

  private post(body: unknown, call: ProviderCall, stream: boolean): Promise<Dispatcher.ResponseData> {
    const headers = this.headersFor(call);
    return postUpstream({
      url: this.endpoint,
      dispatcher: this.dispatcher,
      headers: stream ? { ...headers, accept: 'text/event-stream' } : headers,
      body,
      call,
      provider: this.name,
      classifyError: classifyAnthropicError,
    });
  }

  private async postJson(body: unknown, call: ProviderCall): Promise<{ body: Buffer; parsed: object }> {
    const result = await postUpstreamJson({ url: this.endpoint, dispatcher: this.dispatcher, headers: this.headersFor(call), body, call, provider: this.name, classifyError: classifyAnthropicError });
    if (result.parsed.type === 'error') {
      throw new UpstreamError(`${this.name}: answered 2xx without a message: ${result.body.toString('utf8').slice(0, 300)}`, { reason: 'provider_internal', provider: this.name });
    }
    return result;
  }
}

