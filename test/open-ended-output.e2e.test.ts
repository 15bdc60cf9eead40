import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { type APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable } from './support/services.js';
import type { StartedRelay } from './support/start-relay.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';

const services = await reachable();
if (services.redisUrl === undefined) process.stdout.write(`open-ended-output.e2e: the Redis cases are skipped: ${services.why}\n`);

/**
 * gpt-4.1 (an output limit of 32768 tokens, known to the relay) at $2 / $8 per 1M tokens: a request
 * may cost up to 32768 × $8 / 1M ≈ $0.26 in output. `house-model` is a model whose limit nobody
 * gave the relay, at the same price.
 */
const yaml = (houseUrl: string, claudeOrigin: string) => [
  'providers:',
  `  house: { type: openai, baseUrl: "${houseUrl}", apiKey: "house-upstream-key-0123456789" }`,
  `  claude: { type: anthropic, baseUrl: "${claudeOrigin}", apiKey: "claude-upstream-key-0123456789" }`,
  `  native: { type: openai, baseUrl: "${houseUrl}", apiKey: "native-upstream-key-0123456789", responsesApi: true }`,
  'models:',
  '  gpt-4o:',
  '    targets:',
  '      - { provider: native, model: gpt-4o }',
  '  house-model:',
  '    targets:',
  '      - { provider: house, model: house-model }',
  '  claude-sonnet-4-5:',
  '    targets:',
  '      - { provider: claude, model: claude-sonnet-4-5 }',
  '  deepseek-flash:',
  '    targets:',
  '      - { provider: house, model: deepseek-flash }',
  'billing:',
  '  prices:',
  '    claude-sonnet-4-5: { input: 3, output: 15, officialInput: 3, officialOutput: 15 }',
  '    gpt-4.1: { input: 2, output: 8, officialInput: 2, officialOutput: 8 }',
  '    gpt-4o: { input: 2, output: 8, officialInput: 2, officialOutput: 8 }',
  '    house-model: { input: 2, output: 8, officialInput: 2, officialOutput: 8 }',
  '    deepseek-flash: { input: 2, output: 8, officialInput: 2, officialOutput: 8 }',
  'ledger:',
  '  flushIntervalMs: 50',
  '',
].join('\n');

/** A prompt of ~600 bytes: the relay reserves ~200 prompt tokens for it, the mock bills 11. */
const messages = [{ role: 'user' as const, content: 'Write at length about relays. '.repeat(20) }];
/** What the mock's model writes when nothing stops it: more than a reservation of 4096 tokens pays for. */
const verbose = { kind: 'verbose', completionTokens: 30_000 } as const;

const upstream = new MockOpenAIUpstream();
const claude = new MockAnthropicUpstream();
let relay: StartedRelay | undefined;

beforeAll(async () => {
  await Promise.all([upstream.start(), claude.start()]);
});
afterAll(async () => {
  await Promise.all([upstream.stop(), claude.stop()]);
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  upstream.reset();
  claude.reset();
});

async function start(limits: 'memory' | 'redis'): Promise<StartedRelay> {
  relay = await startLimitedRelay({ directory: mkdtempSync(join(tmpdir(), 'relay-open-ended-')), yaml: yaml(upstream.url, claude.origin), limits, redisUrl: services.redisUrl, upstreamUrl: upstream.url });
  return relay;
}

const admin = <T = Record<string, unknown>>(path: string, method: 'GET' | 'POST' | 'PATCH' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay!.url, path, method, body);

/** A key spending `dollars`: from a monthly budget of that amount, or from an account holding it. */
async function keyWith(dollars: number, from: 'budget' | 'balance'): Promise<{ id: string; key: string; account?: string }> {
  if (from === 'budget') {
    const { id, key } = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'open-ended', budget: { amount: dollars, currency: 'USD', period: 'monthly' } });
    return { id, key };
  }
  const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'open-ended', currency: 'USD' });
  await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: dollars, currency: 'USD' });
  const { id, key } = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'open-ended', account: account.id });
  return { id, key, account: account.id };
}

/** One chat request with no max_tokens: its answer's finish reason, completion tokens and `x-relay-max-tokens`, or the refusal's code. */
async function ask(key: string, model = 'gpt-4.1'): Promise<{ finish: string; completionTokens: number; maxTokens: string | null } | string> {
  const client = new OpenAI({ apiKey: key, baseURL: relay!.baseURL, maxRetries: 0 });
  try {
    const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
    return { finish: data.choices[0]!.finish_reason, completionTokens: data.usage!.completion_tokens, maxTokens: response.headers.get('x-relay-max-tokens') };
  } catch (error) {
    return (error as APIError).code ?? String((error as APIError).status);
  }
}

/** The key's spend in the ledger once `requests` rows are in, in micro-dollars. */
async function spentMicros(keyId: string, requests: number): Promise<number> {
  type Row = { requests: number; cost: number };
  await expect.poll(async () => (await admin<{ data: Row[] }>(`/admin/usage?group_by=key&key=${keyId}`)).data[0]?.requests ?? 0).toBe(requests);
  return Math.round((await admin<{ data: Row[] }>(`/admin/usage?group_by=key&key=${keyId}`)).data[0]!.cost * 1e6);
}

const sentLimit = (index: number) => {
  const body = upstream.requests.filter((entry) => entry.path === '/v1/chat/completions')[index]!.body;
  return body.max_tokens ?? body.max_completion_tokens;
};

describe.each(['memory', 'redis'] as const)('requests without max_tokens on a metered key, limits in %s', (limits) => {
  const needsRedis = limits === 'redis' && services.redisUrl === undefined;

  it.skipIf(needsRedis).each(['budget', 'balance'] as const)("never cost more than the key's %s holds: the last requests are sent with the limit it can pay for", async (from) => {
    await start(limits);
    const key = await keyWith(0.4, from);
    upstream.next(verbose, verbose, verbose);

    // The first reserves the model's whole limit (32768 tokens), and goes as the client sent it.
    const first = await ask(key.key);
    expect(first).toEqual({ finish: 'stop', completionTokens: 30_000, maxTokens: null });
    expect(sentLimit(0)).toBeUndefined();

    // $0.16 is left: less than the worst case, enough for ~20 000 tokens. The upstream is asked for no more.
    const second = await ask(key.key);
    expect(second).toMatchObject({ finish: 'length' });
    const capped = (second as { completionTokens: number }).completionTokens;
    expect(capped).toBeGreaterThan(19_000);
    expect(capped).toBeLessThan(20_000);
    expect(sentLimit(1)).toBe(capped);
    expect((second as { maxTokens: string }).maxTokens).toBe(String(capped));

    // What is left pays for the prompt and little else: refused, as an empty budget or balance is.
    expect(await ask(key.key)).toBe(from === 'budget' ? 'budget_exceeded' : 'insufficient_balance');
    expect(upstream.requests.filter((entry) => entry.path === '/v1/chat/completions')).toHaveLength(2);

    const spent = await spentMicros(key.id, 2);
    expect(spent).toBeLessThanOrEqual(400_000);
    // 11 prompt tokens at $2 and 30 000 output tokens at $8 per 1M, then the capped answer.
    expect(spent).toBe(22 + 240_000 + 22 + capped * 8);
    if (key.account !== undefined) await expect.poll(async () => (await admin<{ balance: number }>(`/admin/accounts/${key.account}`)).balance).toBeCloseTo(0.4 - spent / 1e6, 6);
  });

  it.skipIf(needsRedis)('hold a budget under concurrency: ten parallel requests that would each cost $0.24 spend at most the $1 budget', async () => {
    await start(limits);
    const key = await keyWith(1, 'budget');
    upstream.next(...Array.from({ length: 10 }, () => verbose));
    const answers = await Promise.all(Array.from({ length: 10 }, () => ask(key.key)));
    const answered = answers.filter((answer) => typeof answer !== 'string');
    expect(answers.filter((answer) => typeof answer === 'string').every((code) => code === 'budget_exceeded')).toBe(true);
    // Three pay for the model's whole limit; the fourth gets what is left of the budget.
    expect(answered.length).toBeGreaterThanOrEqual(4);
    expect(await spentMicros(key.id, answered.length)).toBeLessThanOrEqual(1_000_000);
  });
});

describe('requests without an output limit, other routes and vendors', () => {
  it('on /v1/responses (served by translation), get the limit the budget can pay for', async () => {
    await start('memory');
    const key = await keyWith(0.4, 'budget');
    upstream.next(verbose, verbose);
    const client = new OpenAI({ apiKey: key.key, baseURL: relay!.baseURL, maxRetries: 0 });
    const first = await client.responses.create({ model: 'gpt-4.1', input: messages[0]!.content });
    expect(first.usage?.output_tokens).toBe(30_000);
    const { data, response } = await client.responses.create({ model: 'gpt-4.1', input: messages[0]!.content }).withResponse();
    const capped = Number(response.headers.get('x-relay-max-tokens'));
    expect(capped).toBeGreaterThan(19_000);
    expect(sentLimit(1)).toBe(capped);
    expect(data.usage?.output_tokens).toBe(capped);
    expect(data.status).toBe('incomplete');
    expect(await spentMicros(key.id, 2)).toBeLessThanOrEqual(400_000);
  });

  it("on /v1/responses to an upstream's own Responses API, are sent the max_output_tokens the budget can pay for", async () => {
    await start('memory');
    // gpt-4o writes up to 16384 tokens: $0.13 at $8 per 1M; $0.05 pays for ~6000.
    const key = await keyWith(0.05, 'budget');
    const client = new OpenAI({ apiKey: key.key, baseURL: relay!.baseURL, maxRetries: 0 });
    const { response } = await client.responses.create({ model: 'gpt-4o', input: messages[0]!.content }).withResponse();
    const sent = upstream.requests.filter((entry) => entry.path === '/v1/responses').at(-1)!.body.max_output_tokens;
    expect(sent).toBe(Number(response.headers.get('x-relay-max-tokens')));
    expect(sent).toBeGreaterThan(6000);
    expect(sent).toBeLessThan(6250);
  });

  it("to Claude, are sent the max_tokens the budget can pay for instead of the model's whole limit", async () => {
    await start('memory');
    // Claude Sonnet 4.5 writes up to 64000 tokens (the relay sends that when an OpenAI client gives no limit): $0.96 at $15 per 1M.
    const key = await keyWith(0.5, 'budget');
    const client = new OpenAI({ apiKey: key.key, baseURL: relay!.baseURL, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages }).withResponse();
    const sent = claude.requests.at(-1)!.body.max_tokens as number;
    expect(sent).toBe(Number(response.headers.get('x-relay-max-tokens')));
    // ($0.50 - the prompt's reservation) / $15 per 1M.
    expect(sent).toBeGreaterThan(33_000);
    expect(sent).toBeLessThan(33_334);

    // A key with money for the whole limit sends what an OpenAI client's request means: as long as the model goes.
    const rich = await keyWith(10, 'budget');
    const answer = await new OpenAI({ apiKey: rich.key, baseURL: relay!.baseURL, maxRetries: 0 }).chat.completions.create({ model: 'claude-sonnet-4-5', messages }).withResponse();
    expect(claude.requests.at(-1)!.body.max_tokens).toBe(64_000);
    expect(answer.response.headers.get('x-relay-max-tokens')).toBeNull();
  });
});

describe('requests without max_tokens to a model whose output limit the relay does not know', () => {
  it("are sent with billing.defaultMaxTokens for a metered key (what its money was reserved for), and as they are for a key that pays nothing", async () => {
    await start('memory');
    const metered = await keyWith(10, 'budget');
    const free = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'unmetered', rpm: 100 });
    upstream.next(verbose, verbose);
    expect(await ask(metered.key, 'house-model')).toEqual({ finish: 'length', completionTokens: 4096, maxTokens: '4096' });
    expect(sentLimit(0)).toBe(4096);
    expect(await ask(free.key, 'house-model')).toEqual({ finish: 'stop', completionTokens: 30_000, maxTokens: null });
    expect(sentLimit(1)).toBeUndefined();
  });
});

describe('legacy completions without max_tokens', () => {
  it("are sent the API's default of 16 tokens for a metered key (what its money was reserved for), and as they came for a key that pays nothing", async () => {
    await start('memory');
    const metered = await keyWith(10, 'budget');
    const free = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'unmetered', rpm: 100 });
    // The server writes until the model stops (llama.cpp, Ollama): 30 000 tokens, $0.24 of output.
    upstream.next(verbose, verbose, verbose);
    const sentBodies = () => upstream.requests.filter((entry) => entry.path === '/v1/completions').map((entry) => entry.body);

    const { data, response } = await new OpenAI({ apiKey: metered.key, baseURL: relay!.baseURL, maxRetries: 0 }).completions.create({ model: 'house-model', prompt: 'Say this is a test' }).withResponse();
    expect(data.choices[0]!.finish_reason).toBe('length');
    expect(data.usage?.completion_tokens).toBe(16);
    expect(response.headers.get('x-relay-max-tokens')).toBe('16');
    expect(sentBodies()[0]!.max_tokens).toBe(16);
    // Two completions of two prompts each: 16 tokens each, in the one request.
    await new OpenAI({ apiKey: metered.key, baseURL: relay!.baseURL, maxRetries: 0 }).completions.create({ model: 'house-model', prompt: ['one', 'two'], n: 2 });
    expect(sentBodies()[1]).toMatchObject({ max_tokens: 16, n: 2 });
    // 2 prompt tokens at $2 and 16 output tokens at $8 per 1M; the second answer too.
    expect(await spentMicros(metered.id, 2)).toBe(2 * (4 + 128));

    const unmetered = await new OpenAI({ apiKey: free.key, baseURL: relay!.baseURL, maxRetries: 0 }).completions.create({ model: 'house-model', prompt: 'Say this is a test' });
    expect(unmetered.usage?.completion_tokens).toBe(30_000);
    expect(sentBodies()[2]).not.toHaveProperty('max_tokens');
  });

  it('on a budget that pays for fewer than 16 tokens, are sent what it pays for', async () => {
    await start('memory');
    // The prompt's reservation (~6 tokens at $2 per 1M) and 10 output tokens at $8 per 1M: $0.000092.
    const key = await keyWith(0.000_092, 'budget');
    upstream.next(verbose);
    const { data, response } = await new OpenAI({ apiKey: key.key, baseURL: relay!.baseURL, maxRetries: 0 }).completions.create({ model: 'house-model', prompt: 'Say this is a test' }).withResponse();
    const sent = upstream.requests.filter((entry) => entry.path === '/v1/completions')[0]!.body.max_tokens as number;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(16);
    expect(response.headers.get('x-relay-max-tokens')).toBe(String(sent));
    expect(data.usage?.completion_tokens).toBe(sent);
    expect(await spentMicros(key.id, 1)).toBeLessThanOrEqual(92);
  });
});

describe('requests with an output limit', () => {
  it("are sent it in the field their model takes: ten parallel requests with max_completion_tokens to a server that knows only max_tokens (DeepSeek) hold a budget", async () => {
    await start('memory');
    // Each reserves ~200 prompt and 100 output tokens (~$0.0012); one the upstream let write 30 000 tokens would cost $0.24.
    const key = await keyWith(0.02, 'budget');
    upstream.next(...Array.from({ length: 10 }, () => verbose));
    const client = new OpenAI({ apiKey: key.key, baseURL: relay!.baseURL, maxRetries: 0 });
    const one = () =>
      client.chat.completions.create({ model: 'deepseek-flash', max_completion_tokens: 100, messages }).then(
        (answer) => [answer.choices[0]!.finish_reason, answer.usage!.completion_tokens],
        (error: APIError) => error.code,
      );
    expect(await Promise.all(Array.from({ length: 10 }, one))).toEqual(Array.from({ length: 10 }, () => ['length', 100]));
    // 11 prompt tokens at $2 and 100 output tokens at $8 per 1M, ten times.
    expect(await spentMicros(key.id, 10)).toBe(10 * (22 + 800));

    // A stream too; the client's own max_tokens goes as it came.
    const stream = await client.chat.completions.create({ model: 'deepseek-flash', max_completion_tokens: 100, messages, stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    await client.chat.completions.create({ model: 'deepseek-flash', max_tokens: 100, messages });
    const sent = upstream.requests.filter((entry) => entry.path === '/v1/chat/completions').map((entry) => entry.body);
    expect(sent).toHaveLength(12);
    for (const body of sent) {
      expect(body.max_tokens).toBe(100);
      expect(body).not.toHaveProperty('max_completion_tokens');
    }
  });
});
