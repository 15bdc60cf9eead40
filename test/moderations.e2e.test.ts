import OpenAI, { BadRequestError, PermissionDeniedError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** `POST /v1/moderations` through the relay, with OpenAI's SDK: passed through, free, and counted as a request. */

const upstream = new MockOpenAIUpstream();
const anthropic = new MockAnthropicUpstream();
let relay: StartedRelay;

async function admin<T>(path: string, body?: unknown): Promise<T> {
  const response = await request(`${relay.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${masterKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.body.json()) as T;
}

describe('/v1/moderations', () => {
  beforeAll(async () => {
    await Promise.all([upstream.start(), anthropic.start()]);
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'sk-upstream-moderations-1a2b', HOLYSHEEP_BASE_URL: upstream.url, ANTHROPIC_API_KEY: 'sk-ant-moderations-3c4d', ANTHROPIC_BASE_URL: anthropic.origin });
  });
  afterAll(async () => {
    await relay.close();
    await Promise.all([upstream.stop(), anthropic.stop()]);
  });

  it("passes a moderation through with OpenAI's default model, free for a key with a budget, and counts it as a request", async () => {
    // A TPM limit far below the text's tokens: moderations are not counted in it.
    const created = await admin<{ key: string; id: string }>('/admin/keys', { name: 'moderated-app', budget: { amount: 1, currency: 'USD', period: 'monthly' }, tpm: 10 });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    const result = await client.moderations.create({ input: ['a friendly greeting', 'plans to attack the castle'] });
    expect(result.results.map((entry) => entry.flagged)).toEqual([false, true]);
    expect(result.results[1]!.category_scores.violence).toBe(0.93);
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/moderations');
    expect(sent.body).toEqual({ model: 'omni-moderation-latest', input: ['a friendly greeting', 'plans to attack the castle'] });
    expect(sent.headers.authorization).toBe('Bearer sk-upstream-moderations-1a2b');

    const named = await client.moderations.create({ model: 'omni-moderation-2024-09-26', input: 'a long text to check '.repeat(200) });
    expect(named.results[0]!.flagged).toBe(false);
    expect(upstream.requests.at(-1)!.body.model).toBe('omni-moderation-2024-09-26');
    expect(named.results).toHaveLength(1);
    await expect
      .poll(async () => (await admin<{ data: Array<Record<string, unknown>> }>(`/admin/usage?group_by=key&key=${created.id}`)).data[0])
      .toMatchObject({ requests: 2, errors: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0 });
  });

  it("passes a moderation while the key's TPM window is already over its limit", async () => {
    const created = await admin<{ key: string }>('/admin/keys', { name: 'busy-app', tpm: 15 });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    // Admitted on its estimate; the upstream then reports 18 tokens, past the limit of 15.
    await client.chat.completions.create({ model: 'gpt-4.1', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] });
    const refused = await client.chat.completions.create({ model: 'gpt-4.1', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ status: 429 });
    const { data, response } = await client.moderations.create({ input: 'hello' }).withResponse();
    expect(data.results).toHaveLength(1);
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBeNull();
  });

  it('refuses a moderation for a model whose upstream has no such endpoint, and one the key may not use', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    const error = await client.moderations.create({ model: 'claude-sonnet-4', input: 'hello' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'unsupported_endpoint' });
    expect(anthropic.requests).toHaveLength(0);

    const limited = await admin<{ key: string }>('/admin/keys', { name: 'chat-only', models: ['gpt-*'] });
    const denied = await new OpenAI({ apiKey: limited.key, baseURL: relay.baseURL, maxRetries: 0 }).moderations.create({ input: 'hello' }).catch((caught: unknown) => caught);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied).toMatchObject({ code: 'model_not_allowed' });
  });

  it('answers a moderation without input as the other routes answer a bad body', async () => {
    const response = await request(`${relay.url}/v1/moderations`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'omni-moderation-latest' }) });
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'input' } });
  });
});
