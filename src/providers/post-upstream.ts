import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { UpstreamError } from '../spec/relay-error.js';
import { onAbort, type AbortLike } from './call-signal.js';
import type { ProviderCall } from './provider.js';
import { classifyTransportError } from './upstream-failure.js';

export interface PostUpstreamOptions {
  url: string;
  dispatcher: Dispatcher;
  headers: Record<string, string>;
  body: unknown;
  call: ProviderCall;
  provider: string;
  /** Turns a non-2xx answer into a classified failure, in the upstream's own error format. */
  classifyError: (status: number, bodyText: string, headers: Record<string, string | string[] | undefined>, provider: string) => UpstreamError;
}

/**
 * One upstream POST, the same for every adapter: undici `request` (never `fetch`) on the shared
 * pool, the per-attempt timeout to headers and between body chunks, the call's abort signal, and
 * every failure classified — transport errors here, error answers by the adapter's classifier.
 */
export async function postUpstream(options: PostUpstreamOptions): Promise<Dispatcher.ResponseData> {
  const { call } = options;
  let response: Dispatcher.ResponseData;
  try {
    response = await options.dispatcher.request({ ...upstreamRequest(options), signal: call.signal });
  } catch (error) {
    throw classifyTransportError(error, options.provider, call.signal);
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return response;
  let text = '';
  try {
    text = await response.body.text();
  } catch {
    // the status is enough to classify
  }
  throw options.classifyError(response.statusCode, text, response.headers, options.provider);
}

/** The POST both ways of calling an upstream send: the body as JSON, the per-attempt timeout to headers and between body chunks. */
function upstreamRequest(options: PostUpstreamOptions): Dispatcher.DispatchOptions {
  const { origin, path } = splitUrl(options.url);
  return {
    origin,
    path,
    method: 'POST',
    headers: options.headers,
    body: JSON.stringify(options.body),
    headersTimeout: options.call.timeoutMs,
    bodyTimeout: options.call.timeoutMs,
  };
}

/** Upstream URLs split into origin and path once, not parsed again for every call (they are a few per provider). */
const splitUrls = new Map<string, { origin: string; path: string }>();

function splitUrl(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (split === undefined) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    // Gemini's paths carry the model name: keep the map bounded whatever the traffic.
    if (splitUrls.size >= 1_000) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return split;
}

/** A 2xx JSON answer: the exact bytes (relayed as they are) and the parsed object. */
export interface UpstreamJson {
  body: Buffer;
  parsed: Record<string, unknown>;
}

/**
 * One upstream POST whose answer is read whole as JSON: the same request, timeouts, abort and
 * classification as `postUpstream`, but the body is collected by a dispatch handler instead of
 * through a stream, and that handler settles the call's one promise with the parsed answer or the
 * classified failure. A JSON answer is small and wanted whole, and the stream (undici's body
 * Readable, its events and the consume step) showed in the relay's profile.
 */
export function postUpstreamJson(options: PostUpstreamOptions): Promise<UpstreamJson> {
  return new Promise((resolve, reject) => {
    const signal = options.call.signal;
    if (signal.aborted) {
      reject(classifyTransportError(new CallAbortedReason(), options.provider, signal));
      return;
    }
    options.dispatcher.dispatch(upstreamRequest(options), new CollectingHandler(options, resolve, reject));
  });
}

/** undici's handler of one collected answer: one object per call, its methods on the prototype. */
class CollectingHandler implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private readonly detach: () => void;

  constructor(
    private readonly options: PostUpstreamOptions,
    private readonly resolve: (answer: UpstreamJson) => void,
    private readonly reject: (error: Error) => void,
  ) {
    // Aborted while still queued for a connection: fail now; the request is dropped when it starts.
    this.detach = onAbort(options.call.signal, () => (this.controller === undefined ? this.fail(new CallAbortedReason()) : this.controller.abort(new CallAbortedReason())));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.options.call.signal.aborted) controller.abort(new CallAbortedReason());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    const { chunks, options, statusCode } = this;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.length);
    try {
      if (statusCode < 200 || statusCode >= 300) throw options.classifyError(statusCode, body.toString('utf8'), this.headers, options.provider);
      this.resolve({ body, parsed: parseJsonObject(body, options.provider) });
    } catch (error) {
      this.reject(error as Error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** A transport failure (or the call aborted): classified as `postUpstream` classifies it. */
  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    this.reject(classifyTransportError(error, this.options.provider, this.options.call.signal));
  }
}

/** Why a collected call stopped when its signal fired (classified as the client leaving). */
class CallAbortedReason extends Error {
  constructor() {
    super('the call was aborted');
    this.name = 'AbortError';
  }
}

function parseJsonObject(body: Buffer, provider: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamError(`${provider}: answered 2xx with a body that is not JSON`, { reason: 'provider_internal', provider });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamError(`${provider}: answered 2xx with JSON that is not an object`, { reason: 'provider_internal', provider });
  }
  return parsed as Record<string, unknown>;
}
