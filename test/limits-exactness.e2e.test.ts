import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { type APIError } from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable } from './support/services.js';
import type { StartedRelay } from './support/start-relay.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';

const services = await reachable();
if (services.redisUrl === undefined) process.stdout.write(`limits-exactness.e2e: the Redis cases are skipped: ${services.why}\n`);

/** gpt-4.1 at $1000 per 1M tokens: the mock reports 11 + 7 tokens, so an answered request costs $0.018. */
const pricing = 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\nledger:\n  flushIntervalMs: 50\n';

const upstream = new MockOpenAIUpstream();
let relay: StartedRelay | undefined;

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.stop();
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  upstream.reset();
});

async function start(limitsStore: 'memory' | 'redis', directory = mkdtempSync(join(tmpdir(), 'relay-limits-'))): Promise<StartedRelay> {
  const started = await startLimitedRelay({ directory, yaml: pricing, limits: limitsStore, redisUrl: services.redisUrl, upstreamUrl: upstream.url });
  relay = started;
  return started;
}

const admin = <T = Record<string, unknown>>(path: string, method: 'GET' | 'POST' | 'PATCH' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay!.url, path, method, body);

/** The answer's content, or the refusal's code. */
async function ask(key: string): Promise<string> {
  const client = new OpenAI({ apiKey: key, baseURL: relay!.baseURL, maxRetries: 0 });
  try {
    return (await client.chat.completions.create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] })).choices[0]?.message.content ?? '';
  } catch (error) {
    return (error as APIError).code ?? String((error as APIError).status);
  }
}

describe.each(['memory', 'redis'] as const)('limits with the %s store', (limitsStore) => {
  it.skipIf(limitsStore === 'redis' && services.redisUrl === undefined)('counts requests that failed or were abandoned in the key\'s requests per minute, as OpenAI does', async () => {
    await start(limitsStore);
    const { key } = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'three-a-minute', rpm: 3, tpm: 10_000 });
    // One refused by the upstream…
    upstream.next({ kind: 'status', status: 400, body: { error: { message: 'Invalid image URL.', type: 'invalid_request_error', param: null, code: null } } });
    expect(await ask(key)).toBe('invalid_request');
    // …one the client gave up on while the upstream worked on it…
    upstream.next({ kind: 'hang' });
    const leaving = new AbortController();
    const abandoned = request(`${relay!.url}/v1/chat/completions`, {
      method: 'POST',
      signal: leaving.signal,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] }),
    }).catch(() => 'left');
    await expect.poll(() => upstream.requests.length).toBe(2);
    leaving.abort();
    expect(await abandoned).toBe('left');
    await expect.poll(() => relay!.logs.some((line) => line.status === 499)).toBe(true);
    // …and one answered: three requests this minute, so a fourth is refused.
    expect(await ask(key)).toBe('echo: Hello.');
    expect(await ask(key)).toBe('rate_limit_exceeded');
    expect(upstream.requests).toHaveLength(3);
  });

  it.skipIf(limitsStore === 'redis' && services.redisUrl === undefined)('counts what a key spent this period in a budget set or changed afterwards, as a restart would', async () => {
    await start(limitsStore);
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'budget-later', budget: { amount: 1, currency: 'USD', period: 'monthly' } });
    // $0.054 under a monthly budget, then $0.036 under none: $0.09 today.
    for (let index = 0; index < 3; index++) expect(await ask(created.key)).toBe('echo: Hello.');
    await admin(`/admin/keys/${created.id}`, 'PATCH', { budget: null });
    for (let index = 0; index < 2; index++) expect(await ask(created.key)).toBe('echo: Hello.');
    await expect.poll(async () => (await admin<{ data: Array<{ requests: number }> }>(`/admin/usage?group_by=key&key=${created.id}`)).data[0]?.requests).toBe(5);
    // A daily budget of $0.10 has $0.01 left today: too little for a request's worst case.
    const patched = await admin<{ budget: unknown }>(`/admin/keys/${created.id}`, 'PATCH', { budget: { amount: 0.1, currency: 'USD', period: 'daily' } });
    expect(patched.budget).toEqual({ amount: 0.1, currency: 'USD', period: 'daily' });
    expect(await ask(created.key)).toBe('budget_exceeded');
    // Raised to $0.12, it has room for one more: the spend is counted once, not once more per change.
    await admin(`/admin/keys/${created.id}`, 'PATCH', { budget: { amount: 0.12, currency: 'USD', period: 'daily' } });
    expect(await ask(created.key)).toBe('echo: Hello.');
    expect(await ask(created.key)).toBe('budget_exceeded');
  });

  it.skipIf(limitsStore === 'redis' && services.redisUrl === undefined)('says a request larger than the whole TPM limit can never pass, rather than to retry', async () => {
    await start(limitsStore);
    const { key } = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'small-tpm', tpm: 100 });
    const response = await request(`${relay!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', max_tokens: 500, messages: [{ role: 'user', content: 'Hello.' }] }),
    });
    const { error } = (await response.body.json()) as { error: { code: string; message: string } };
    expect(response.statusCode).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toMatch(/can never be admitted: lower max_tokens/);
    expect(error.message).not.toMatch(/retry after/i);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(upstream.requests).toHaveLength(0);
    // The SDKs retry a 429 unless told not to; this one is told, and asks once.
    const refusalsBefore = relay!.logs.filter((line) => line.msg === 'request' && line.status === 429).length;
    const sdk = new OpenAI({ apiKey: key, baseURL: relay!.baseURL });
    const sdkError = (await sdk.chat.completions.create({ model: 'gpt-4.1', max_tokens: 500, messages: [{ role: 'user', content: 'Hello.' }] }).catch((caught: unknown) => caught)) as APIError;
    expect(sdkError.code).toBe('rate_limit_exceeded');
    expect(sdkError.headers?.get('x-should-retry')).toBe('false');
    expect(relay!.logs.filter((line) => line.msg === 'request' && line.status === 429).length).toBe(refusalsBefore + 1);
  });
});
