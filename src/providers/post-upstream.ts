import type { Dispatcher } from 'undici';
import { UpstreamError } from '../spec/relay-error.js';
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
    const { origin, path } = splitUrl(options.url);
    response = await options.dispatcher.request({
      origin,
      path,
      method: 'POST',
      headers: options.headers,
      body: JSON.stringify(options.body),
      signal: call.signal,
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
    });
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

/** Reads a 2xx JSON body: the exact bytes and the parsed object, or a `provider_internal` failure. */
export async function readUpstreamJson(response: Dispatcher.ResponseData, call: ProviderCall, provider: string): Promise<{ body: Buffer; parsed: Record<string, unknown> }> {
  let body: Buffer;
  try {
    body = Buffer.from(await response.body.arrayBuffer());
  } catch (error) {
    throw classifyTransportError(error, provider, call.signal);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamError(`${provider}: answered 2xx with a body that is not JSON`, { reason: 'provider_internal', provider });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamError(`${provider}: answered 2xx with JSON that is not an object`, { reason: 'provider_internal', provider });
  }
  return { body, parsed: parsed as Record<string, unknown> };
}
