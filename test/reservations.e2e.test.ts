import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable } from './support/services.js';
import { startRelay, type StartedRelay } from './support/start-relay.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';

/**
 * What a request reserves before it goes upstream: its worst case, which the settle step then
 * replaces with what it used. A reservation short of what the request can use would let requests
 * at a budget's edge spend past it by more than the docs' bound; one that cannot be computed must
 * be a clear refusal, not a 500.
 */

const services = await reachable();
if (services.redisUrl === undefined) process.stdout.write(`reservations.e2e: the Redis cases are skipped: ${services.why}\n`);

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

async function start(limitsStore: 'memory' | 'redis', yaml: string): Promise<StartedRelay> {
  const directory = mkdtempSync(join(tmpdir(), 'relay-reservations-'));
  const started = await startLimitedRelay({ directory, yaml: `ledger:\n  flushIntervalMs: 50\n${yaml}`, limits: limitsStore, redisUrl: services.redisUrl, upstreamUrl: upstream.url });
  relay = started;
  return started;
}

const admin = <T = Record<string, unknown>>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay!.url, path, method, body);

async function post(key: string, path: string, body: unknown): Promise<{ status: number; error: { code: string; message: string } | undefined }> {
  const response = await request(`${relay!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.body.json()) as { error?: { code: string; message: string } };
  return { status: response.statusCode, error: answer.error };
}

const hello = [{ role: 'user', content: 'Hello.' }];

/** An upstream's chat answer with `choices` choices and this usage. */
function chatAnswer(choices: number, completionTokens: number): unknown {
  return {
    id: 'chatcmpl-choices',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4.1',
    choices: Array.from({ length: choices }, (_, index) => ({ index, message: { role: 'assistant', content: 'word '.repeat(100) }, finish_reason: 'length' })),
    usage: { prompt_tokens: 9, completion_tokens: completionTokens, total_tokens: 9 + completionTokens },
  };
}

describe.each(['memory', 'redis'] as const)('reservations with the %s store', (limitsStore) => {
  const skip = limitsStore === 'redis' && services.redisUrl === undefined;

  it.skipIf(skip)('refuses a request whose max_tokens is too large to price with a 429, not a 500', async () => {
    await start(limitsStore, 'billing:\n  exchangeRates: { CNY: 7.2 }\n');
    const budgeted = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'budgeted', budget: { amount: 5, currency: 'CNY', period: 'daily' } });
    const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'prepaid', currency: 'USD' });
    await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: 5 });
    const prepaid = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'prepaid', account: account.id });
    const limited = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'tpm-only', tpm: 10_000 });
    for (const max_tokens of [Number.MAX_SAFE_INTEGER, 10 ** 15]) {
      expect(await post(budgeted.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens, messages: hello })).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
      expect(await post(prepaid.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens, messages: hello })).toMatchObject({ status: 429, error: { code: 'insufficient_balance' } });
      expect(await post(limited.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens, messages: hello })).toMatchObject({ status: 429, error: { code: 'rate_limit_exceeded' } });
    }
    expect(upstream.requests).toHaveLength(0);
    // The refusals took nothing: a request of an ordinary size passes on each key.
    for (const key of [budgeted.key, prepaid.key, limited.key]) expect(await post(key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens: 50, messages: hello })).toMatchObject({ status: 200 });
  });

  it.skipIf(skip)('reserves max_tokens for each of the n choices a request asks for, so a budget is never overspent through n', async () => {
    // $1000 per 1M tokens: 100 output tokens cost $0.10.
    await start(limitsStore, 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000 }\n    gpt-3.5-turbo-instruct: { input: 1000, output: 1000 }\n');
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'five-choices', budget: { amount: 0.3, currency: 'USD', period: 'total' } });
    // Five choices of up to 100 tokens may cost $0.502 and more, on a $0.30 budget.
    const five = await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', n: 5, max_tokens: 100, messages: hello });
    expect(five).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
    // A batch of three prompts at best_of 2 is six completions of up to 100 tokens.
    const batch = await post(created.key, '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: ['a', 'b', 'c'], best_of: 2, max_tokens: 100 });
    expect(batch).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
    expect(upstream.requests).toHaveLength(0);
    // Two choices fit: reserved as two, charged what they used.
    upstream.next({ kind: 'status', status: 200, body: chatAnswer(2, 200) });
    expect(await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', n: 2, max_tokens: 100, messages: hello })).toMatchObject({ status: 200 });
    await expect.poll(async () => (await admin<{ totals: Array<{ cost: number }> }>(`/admin/usage?key=${created.id}`)).totals[0]?.cost).toBe(0.209);
  });

  it.skipIf(skip)("reserves at the price of the dearest model a request may fall back to, and never serves a metered key an unpriced fallback", async () => {
    // gpt-4.1 at $1 per 1M tokens falls back to claude-sonnet-4.5 at $1000: 100 tokens of it cost $0.10.
    await start(
      limitsStore,
      'billing:\n  prices:\n    gpt-4.1: { input: 1, output: 1 }\n    claude-sonnet-4.5: { input: 1000, output: 1000 }\nmodels:\n  my-finetune: { targets: [{ provider: holysheep }] }\nfallbacks:\n  gpt-4.1: [claude-sonnet-4.5]\n',
    );
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'falls-back', budget: { amount: 0.05, currency: 'USD', period: 'total' } });
    // Its worst case is $0.102 at the fallback's price: more than the budget, though $0.000102 at gpt-4.1's.
    expect(await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens: 100, messages: hello })).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
    expect(upstream.requests).toHaveLength(0);
    // Within the budget, the fallback answers and is charged at its own price: 9 + 40 tokens, $0.049.
    upstream.next({ kind: 'status', status: 500 }, { kind: 'status', status: 200, body: chatAnswer(1, 40) });
    expect(await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens: 40, messages: hello })).toMatchObject({ status: 200 });
    await expect.poll(async () => (await admin<{ totals: Array<{ cost: number }> }>(`/admin/usage?key=${created.id}`)).totals[0]?.cost).toBe(0.049);
    // A fallback without a price is not tried for a metered key: it would be billed at gpt-4.1's price.
    const metered = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'metered', budget: { amount: 1, currency: 'USD', period: 'total' } });
    const unlimited = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'unmetered' });
    for (const key of [metered.key, unlimited.key]) {
      upstream.reset();
      upstream.next({ kind: 'status', status: 500 });
      expect(await post(key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens: 1, messages: hello, fallbacks: ['my-finetune'] })).toMatchObject({ status: 200 });
      expect(upstream.requests.map((received) => received.body.model)).toEqual(key === metered.key ? ['gpt-4.1', 'claude-sonnet-4.5'] : ['gpt-4.1', 'my-finetune']);
    }
  });

  it.skipIf(skip)('counts tool definitions in the prompt a request reserves, on every route', async () => {
    await start(limitsStore, 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000 }\n');
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'agent', budget: { amount: 1, currency: 'USD', period: 'total' } });
    // An agent's 40 tools of about 800 bytes each: some 8 000 prompt tokens, $8 at this price, on a $1 budget.
    const described = (index: number) => ({ name: `tool_${index}`, description: 'Looks things up. '.repeat(40), schema: { type: 'object', properties: { query: { type: 'string', description: 'What to look up. '.repeat(8) } } } });
    const chatTools = Array.from({ length: 40 }, (_, index) => ({ type: 'function', function: { name: described(index).name, description: described(index).description, parameters: described(index).schema } }));
    expect(await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens: 10, messages: hello, tools: chatTools })).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
    const anthropicTools = Array.from({ length: 40 }, (_, index) => ({ name: described(index).name, description: described(index).description, input_schema: described(index).schema }));
    const messages = await request(`${relay!.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': created.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', max_tokens: 10, messages: hello, tools: anthropicTools }),
    });
    expect(messages.statusCode).toBe(429);
    expect(await messages.body.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    const responsesTools = chatTools.map(({ function: tool }) => ({ type: 'function', ...tool }));
    expect(await post(created.key, '/v1/responses', { model: 'gpt-4.1', max_output_tokens: 16, input: 'Hello.', tools: responsesTools })).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
    expect(upstream.requests).toHaveLength(0);
    // Without them, the same request fits.
    expect(await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', max_tokens: 10, messages: hello })).toMatchObject({ status: 200 });
  });
});

describe('n choices of a model whose upstream answers one', () => {
  const anthropic = new MockAnthropicUpstream();
  beforeAll(async () => {
    await anthropic.start();
  });
  afterAll(async () => {
    await anthropic.stop();
  });

  it("reserves one choice for Claude through Anthropic's Messages API, which answers one whatever n says, and n where the upstream answers n", async () => {
    const directory = mkdtempSync(join(tmpdir(), 'relay-reservations-'));
    // $1000 per 1M tokens: 100 output tokens cost $0.10.
    writeFileSync(join(directory, 'relay.yaml'), 'billing:\n  prices:\n    claude-sonnet-4: { input: 1000, output: 1000 }\n    gpt-4.1: { input: 1000, output: 1000 }\n');
    relay = await startRelay({ ANTHROPIC_API_KEY: 'sk-ant-upstream-choices-0123', ANTHROPIC_BASE_URL: anthropic.origin, HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url, MAX_RETRIES: '0' }, directory);
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'three-choices', budget: { amount: 0.15, currency: 'USD', period: 'total' } });
    // One choice of up to 100 tokens fits the $0.15 budget; three would not.
    const response = await request(`${relay.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4', n: 3, max_tokens: 100, messages: hello }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-relay-dropped-params']).toBe('n');
    expect(((await response.body.json()) as { choices: unknown[] }).choices).toHaveLength(1);
    expect(await post(created.key, '/v1/chat/completions', { model: 'gpt-4.1', n: 3, max_tokens: 100, messages: hello })).toMatchObject({ status: 429, error: { code: 'budget_exceeded' } });
  });
});
