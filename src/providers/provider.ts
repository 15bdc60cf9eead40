import type { AbortLike } from './call-signal.js';
import type { Dispatcher } from 'undici';
import type { ChatCompletion, ChatRequest, Usage } from '../spec/openai-chat.js';

/**
 * The contract between routing and an upstream adapter. A provider is one configured upstream (one
 * base URL and key); it takes an already validated request and an upstream model name and gives back
 * OpenAI-shaped results. It knows nothing of client keys, limits, ledger, metrics or config files.
 * Failures are thrown as `UpstreamError` with a classified reason.
 */
export interface Provider {
  readonly name: string;
  readonly type: string;
  chat(request: ChatRequest, model: string, call: ProviderCall): Promise<ChatResult>;
  /** Resolves once the upstream accepted the stream; the parts follow through the iterator. */
  chatStream(request: ChatRequest, model: string, call: ProviderCall): Promise<AsyncIterator<StreamPart>>;
  embeddings(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult>;
  /** The legacy completions endpoint: passed through as it is (JSON, or SSE bytes untouched). */
  completions(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult | RawStream>;
  /** The moderations endpoint, passed through; present only on upstreams that speak the OpenAI API. */
  moderations?(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult>;
  /**
   * Native Anthropic Messages call, implemented only by providers that speak the Messages API: the
   * `/v1/messages` front door passes such requests through without re-encoding them. The body is an
   * Anthropic request; the result is Anthropic JSON, or Anthropic's SSE bytes untouched.
   */
  messages?(body: Record<string, unknown>, model: string, call: ProviderCall): Promise<JsonResult | RawStream>;
  /**
   * Native Responses API call, present only on OpenAI-compatible providers configured as serving it
   * (`responsesApi`): `/v1/responses` passes such requests through instead of translating them to
   * chat. The result is the upstream's JSON, or its SSE bytes untouched.
   */
  readonly responses?: (body: Record<string, unknown>, model: string, call: ProviderCall) => Promise<JsonResult | RawStream>;
  /**
   * A stored response of the Responses API at this upstream, present where `responses` is: `path`
   * is the API path with its query (`/responses/{id}`, `/responses/{id}/input_items?limit=5`), and
   * the answer is the upstream's JSON as it is.
   */
  readonly storedResponse?: (method: 'GET' | 'DELETE' | 'POST', path: string, call: ProviderCall) => Promise<JsonResult>;
}

export interface ProviderCall {
  /** Aborted when the client goes away or the request's deadline passes. */
  signal: AbortLike;
  /** Per-attempt timeout: to response headers, and between two body chunks. */
  timeoutMs: number;
  requestId: string;
  /**
   * The key the request came with (its id): what the relay remembers of an answer for the next turn
   * of a conversation (Claude's thinking blocks) is recalled for that key alone.
   */
  callerId?: string;
  /**
   * When true, a request parameter the upstream cannot honour is refused (an `UpstreamError` with
   * reason `invalid_request`, status 400, code `unsupported_parameter`) instead of being dropped.
   */
  strict: boolean;
  /** Where a translating provider lists the request parameters it dropped (reported to the client). */
  dropped: string[];
  /**
   * Set when the client speaks the upstream's own stream format (OpenAI chat chunks): an
   * OpenAI-compatible provider then relays the upstream's event bytes as they are (`raw` parts).
   * `includeUsage`: whether the client asked for the usage chunk.
   */
  passthrough?: { includeUsage: boolean };
  /**
   * Beta features a client of `/v1/messages` asked for with `anthropic-beta`: an Anthropic upstream
   * gets them (after its provider's own `anthropic-beta`, if configured); other upstreams ignore them.
   */
  anthropicBetas?: string[];
  /**
   * Top-level fields the attempt's target adds to the body it sends where the request has none of
   * that name (the target's `body` in relay.yaml, or a built-in model's vendor fields); set for each attempt.
   */
  bodyDefaults?: Readonly<Record<string, unknown>> | undefined;
}

/** What every provider is built from. */
export interface ProviderOptions {
  name: string;
  baseUrl: string;
  apiKey: string | undefined;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
}

export interface JsonResult {
  kind: 'json';
  /** Exact bytes to send to the client. */
  body: Buffer;
  usage: Usage | undefined;
  /** The answer's `id`, where the relay needs it (a Responses API answer passed through). */
  id?: string | undefined;
  /** The ids of a Responses API answer's output items, which clients may name by `item_reference`. */
  itemIds?: string[] | undefined;
}

export interface ChatResult extends JsonResult {
  /** The answer as an object (parsed once, on demand). */
  completion(): ChatCompletion;
}

/** One chunk of a chat stream, as the JSON text of an OpenAI `chat.completion.chunk`. */
export interface StreamPart {
  /** One chunk's JSON text (empty when the part is `raw`). */
  data: string;
  /** Complete SSE events to relay as they are (an OpenAI client of an OpenAI-compatible upstream). */
  raw?: Buffer;
  /** With `raw`: the text its events carried (content, refusals, tool-call names and arguments), to count a stream cut short. */
  text?: string;
  /** Set on the chunk that carries usage. */
  usage?: Usage;
  /**
   * The counts the stream gave at its start (an Anthropic stream's `message_start`: the prompt's,
   * cache reads and writes included, exact), while the answer's are not known: a stream cut before
   * its usage is billed with them.
   */
  startUsage?: Usage;
  /** True for the usage-only chunk (empty `choices`) that OpenAI sends when `include_usage` is set. */
  usageOnly?: boolean;
}

/** An upstream SSE body relayed byte for byte. */
export interface RawStream {
  kind: 'raw-stream';
  body: AsyncIterable<Buffer>;
  contentType: string;
}
