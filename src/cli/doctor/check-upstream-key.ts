import { request, type Dispatcher } from 'undici';
import { readRetryAfter } from '../../providers/upstream-failure.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { upstreamFixes } from './upstream-fixes.js';
import type { UpstreamKey, UpstreamTarget } from './upstream-target.js';
import { errorCode, errorMessage } from './with-timeout.js';

/** What the authenticated call found: the check, and the upstream's model names when it listed them. */
export interface KeyCheckOutcome {
  result: CheckResult;
  models: string[] | undefined;
}

/** The longest upstream message quoted in the report. */
const messageLimit = 200;

/**
 * The cheapest authenticated call each API has: listing models. It proves the key is accepted
 * without spending tokens, and the list lets the doctor check the routed model names. Keys go in
 * headers, never in the URL (Gemini accepts `?key=`, which would end up in proxies' logs).
 * @see https://platform.openai.com/docs/api-reference/models/list
 * @see https://docs.anthropic.com/en/api/models-list
 * @see https://ai.google.dev/api/models#method:-models.list
 */
export async function checkUpstreamKey(target: UpstreamTarget, key: UpstreamKey, name: string, dispatcher: Dispatcher, timeoutMs: number): Promise<KeyCheckOutcome> {
  const { url, headers } = modelListRequest(target, key);
  const call = `GET ${new URL(url).pathname}`;
  let response: Dispatcher.ResponseData;
  let text: string;
  try {
    response = await request(url, { method: 'GET', headers, dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    text = await response.body.text();
  } catch (error) {
    const code = errorCode(error);
    const timedOut = /TIMEOUT|TimeoutError|AbortError/i.test(code);
    const detail = timedOut ? `${call}: no answer within ${timeoutMs} ms` : `${call}: ${code}: ${errorMessage(error)}`;
    return { result: checkResult(name, 'fail', detail, upstreamFixes.connection(target, timedOut ? 'ETIMEDOUT' : code)), models: undefined };
  }
  const status = response.statusCode;
  const parsed = parseJson(text);
  const contentType = String(response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (status >= 200 && status < 300 && parsed === undefined && (contentType === 'text/html' || /^\s*<(!doctype|html)/i.test(text))) {
    // A website answers any path with a page, whatever the key: nothing was checked, and every relayed request would fail.
    const example = target.settings.type === 'openai' ? ' (type openai takes the API\'s URL with /v1, e.g. https://api.holysheep.ai/v1; anthropic and gemini take the API\'s origin)' : ` (the API's origin, e.g. ${target.settings.type === 'anthropic' ? 'https://api.anthropic.com' : 'https://generativelanguage.googleapis.com'})`;
    return {
      result: checkResult(
        name,
        'fail',
        `${call} → ${status} with a web page (${contentType || 'html'}), not the API's JSON: the key was not checked`,
        `${target.baseUrlSource} points at a website, not at the API: give the API's base URL${example}.`,
      ),
      models: undefined,
    };
  }
  if (status >= 200 && status < 300) {
    const listed = readModelList(target.settings.type, parsed);
    if (listed === undefined) return { result: checkResult(name, 'warn', `${key.source} accepted (${call} → ${status}), but the answer is not a model list`), models: undefined };
    const count = `${listed.ids.length}${listed.more ? '+' : ''} model${listed.ids.length === 1 && !listed.more ? '' : 's'}`;
    return { result: checkResult(name, 'pass', `${key.source} accepted (${call} → ${status}, lists ${count})`), models: listed.more ? undefined : listed.ids };
  }
  const message = upstreamMessage(parsed, text);
  const quoted = message === '' ? '' : `: "${message}"`;
  if (status === 401 || status === 403) {
    return { result: checkResult(name, 'fail', `the upstream refused the key in ${key.source} (${call} → ${status})${quoted}`, upstreamFixes.keyRefused(target, key, status)), models: undefined };
  }
  if (status === 402 || (status === 429 && /insufficient_quota|quota|billing|credit/i.test(text))) {
    return { result: checkResult(name, 'fail', `the upstream account behind ${key.source} is out of quota (${call} → ${status})${quoted}`, upstreamFixes.quota(target, key)), models: undefined };
  }
  if (status === 429) {
    const retryAfter = readRetryAfter(response.headers);
    const wait = retryAfter === undefined ? 'no retry-after given' : `retry after ${Math.ceil(retryAfter / 1000)} s`;
    // A warning: the key was accepted far enough to be counted, and the relay retries 429s itself.
    return { result: checkResult(name, 'warn', `${key.source}: rate limited (${call} → 429, ${wait})${quoted}`, upstreamFixes.rateLimited(target)), models: undefined };
  }
  const fix =
    status === 404
      ? `the upstream has no ${new URL(url).pathname}: check ${target.baseUrlSource} (type openai takes the URL with /v1, e.g. https://api.holysheep.ai/v1; anthropic and gemini take the origin).\nIf it is right, this server may not list models; chat requests can still work.`
      : `the upstream answered ${status} to a model list: the message above says why; a 5xx is usually on the upstream's side, try again later.`;
  return { result: checkResult(name, 'fail', `${call} → ${status}${quoted}`, fix), models: undefined };
}

function modelListRequest(target: UpstreamTarget, key: UpstreamKey): { url: string; headers: Record<string, string> } {
  const base = target.settings.baseUrl.replace(/\/+$/, '');
  const extra = target.settings.headers;
  const accept = { accept: 'application/json' };
  switch (target.settings.type) {
    case 'anthropic':
      // The same URL and headers as the adapter's calls (a trailing /v1 on the origin is forgiven there too).
      return {
        url: `${base.replace(/\/v1$/, '')}/v1/models?limit=1000`,
        headers: { 'anthropic-version': '2023-06-01', ...extra, ...accept, ...(key.value === undefined ? {} : { 'x-api-key': key.value }) },
      };
    case 'gemini':
      return {
        url: `${base.replace(/\/v1beta$/, '')}/v1beta/models?pageSize=1000`,
        headers: { ...extra, ...accept, ...(key.value === undefined ? {} : { 'x-goog-api-key': key.value }) },
      };
    default:
      return { url: `${base}/models`, headers: { ...extra, ...accept, ...(key.value === undefined ? {} : { authorization: `Bearer ${key.value}` }) } };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads the model ids of the three list shapes, checking each field it reads (the body is untrusted). */
function readModelList(type: string, body: unknown): { ids: string[]; more: boolean } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  if (type === 'gemini') {
    if (!Array.isArray(record.models)) return undefined;
    const ids = record.models.flatMap((entry) => (typeof (entry as { name?: unknown })?.name === 'string' ? [(entry as { name: string }).name.replace(/^models\//, '')] : []));
    return { ids, more: typeof record.nextPageToken === 'string' && record.nextPageToken !== '' };
  }
  if (!Array.isArray(record.data)) return undefined;
  const ids = record.data.flatMap((entry) => (typeof (entry as { id?: unknown })?.id === 'string' ? [(entry as { id: string }).id] : []));
  return { ids, more: record.has_more === true };
}

/** The upstream's own explanation: `error.message` in all three APIs' error shapes, else the raw text. */
function upstreamMessage(body: unknown, text: string): string {
  const error = (body as { error?: unknown } | undefined)?.error;
  const fromJson =
    typeof error === 'string' ? error : typeof (error as { message?: unknown } | undefined)?.message === 'string' ? (error as { message: string }).message : undefined;
  const message = (fromJson ?? text).replace(/\s+/g, ' ').trim();
  return message.length > messageLimit ? `${message.slice(0, messageLimit)}…` : message;
}
