import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI, { APIError, AuthenticationError, PermissionDeniedError, RateLimitError } from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { ledgerRecord } from '../src/store/relay-store.fixtures.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { relayBin } from './support/spawn-relay.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

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

/**
 * gpt-4.1 at $1000 per 1M tokens in and out: the mock upstream reports 11 + 7 = 18 tokens, so every
 * answered request costs exactly 18 000 micro-USD ($0.018).
 */
const pricing = 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\n  signupCredit: { amount: 0.18, currency: USD }\nledger:\n  flushIntervalMs: 100\n';

async function start(extraYaml = ''): Promise<StartedRelay> {
  const directory = mkdtempSync(join(tmpdir(), 'relay-keys-'));
  writeFileSync(join(directory, 'relay.yaml'), `${pricing}${extraYaml}`);
  const store = await openStore({ sqlitePath: join(directory, 'data', 'relay.db') });
  relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url }, directory, { store });
  return relay;
}

async function admin<T = Record<string, unknown>>(path: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET', body?: unknown, accept = 'application/json'): Promise<{ status: number; body: T; text: string; headers: Record<string, unknown> }> {
  const response = await request(`${relay!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${masterKey}`, accept, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (accept === 'application/json' ? JSON.parse(text) : text) as T, text, headers: response.headers };
}

const clientFor = (key: string) => new OpenAI({ apiKey: key, baseURL: relay!.baseURL, maxRetries: 0 });
const ask = (client: OpenAI, model = 'gpt-4.1') =>
  client.chat.completions.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'Please answer this question in a few words.' }] });

describe('virtual keys, limits, budgets and the ledger', () => {
  it('creates a key (secret shown once), uses it with the SDK, reports usage in JSON and CSV, and refuses it once revoked', async () => {
    await start();
    const created = await admin<{ id: string; key: string; prefix: string; models: string[] }>('/admin/keys', 'POST', { name: 'backend', models: ['gpt-*'], metadata: { team: 'search' } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^sk-relay-[0-9a-f]{48}$/);
    expect(created.body.prefix).toBe(created.body.key.slice(0, 13));
    const shown = await admin(`/admin/keys/${created.body.id}`);
    expect(shown.body).toMatchObject({ id: created.body.id, name: 'backend', models: ['gpt-*'], metadata: { team: 'search' }, revoked_at: null });
    expect(shown.text).not.toContain(created.body.key);

    const client = clientFor(created.body.key);
    const completion = await ask(client);
    expect(completion.choices[0]?.message.content).toMatch(/^echo:/);
    const denied = await ask(client, 'claude-sonnet-4').catch((caught: unknown) => caught);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as APIError).code).toBe('model_not_allowed');

    await expect
      .poll(async () => (await admin<{ data: Array<Record<string, unknown>> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0])
      .toMatchObject({ group: created.body.id, currency: 'USD', requests: 1, prompt_tokens: 11, completion_tokens: 7, cost: 0.018, official_cost: 0.072, savings: 0.054, savings_percent: 75 });
    const csv = await admin('/admin/usage?group_by=model', 'GET', undefined, 'text/csv');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('group,currency,requests,errors,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,cost,official_cost,savings,savings_percent');
    expect(csv.text).toMatch(/\r\ngpt-4\.1,USD,1,0,11,7,0,0,0\.018,0\.072,0\.054,75\r\n/);

    const revoked = await admin(`/admin/keys/${created.body.id}`, 'DELETE');
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    const refused = await ask(client).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(AuthenticationError);
  });

  it('defuses every spreadsheet formula starter in the CSV report (tab and carriage return too), and leaves negative amounts numbers', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'relay-csv-'));
    // A provider that serves any model name a client sends, priced above the official price, so
    // that the savings are negative.
    writeFileSync(
      join(directory, 'relay.yaml'),
      [
        'providers:',
        `  lab: { type: openai, baseUrl: "${upstream.url}", apiKey: lab-upstream-key-0123456789, models: ["*"] }`,
        'billing:',
        '  prices:',
        '    "*": { input: 2000, output: 2000, officialInput: 1000, officialOutput: 1000 }',
        'ledger:',
        '  flushIntervalMs: 100',
      ].join('\n'),
    );
    const store = await openStore({ sqlitePath: join(directory, 'data', 'relay.db') });
    relay = await startRelay({}, directory, { store });
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'sheet' });
    const client = clientFor(created.body.key);
    const names = ['\t=1+2', '\r=1+2', '=1+2', '@SUM(1)'];
    for (const model of names.slice(2)) await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Please answer this question in a few words.' }] });
    // Names with a tab or a carriage return are refused at the front door now; an earlier release's ledger may hold them.
    for (const model of names.slice(0, 2)) {
      await expect(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 400 });
    }
    await store.ledger.insertBatch(
      names.slice(0, 2).map((model) => ledgerRecord({ model, provider: 'lab', promptTokens: 11, completionTokens: 7, costMicros: 36_000, officialCostMicros: 18_000, createdAt: Date.now() })),
    );
    await expect.poll(async () => (await admin<{ data: unknown[] }>('/admin/usage?group_by=model')).body.data.length).toBe(names.length);

    // 11 + 7 tokens at $2000 per 1M against $1000 official: $0.036, $0.018 official, -$0.018 saved (-100 %).
    const amounts = 'USD,1,0,11,7,0,0,0.036,0.018,-0.018,-100\r\n';
    const { stdout: printed } = await promisify(execFile)(process.execPath, [relayBin, 'usage', '--csv', '--group-by', 'model'], {
      env: { PATH: process.env.PATH ?? '', RELAY_URL: relay.url, RELAY_MASTER_KEY: masterKey },
    });
    for (const csv of [(await admin('/admin/usage?group_by=model', 'GET', undefined, 'text/csv')).text, printed]) {
      expect(csv).toContain(`\r\n'\t=1+2,${amounts}`);
      expect(csv).toContain(`\r\n"'\r=1+2",${amounts}`);
      expect(csv).toContain(`\r\n'=1+2,${amounts}`);
      expect(csv).toContain(`\r\n'@SUM(1),${amounts}`);
      expect(csv.split('\r\n').filter((line) => line !== '')).toHaveLength(names.length + 1);
    }
  });

  it("matches a key's model globs against the model an alias leads to, in requests and in their fallbacks", async () => {
    await start('aliases:\n  claude-3-opus-latest: claude-opus-4\n');
    // The seed's claude-3-opus and the config's claude-3-opus-latest both lead to claude-opus-4.
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'legacy', models: ['claude-3-*', 'gpt-4'] });
    const client = clientFor(created.body.key);
    for (const model of ['claude-3-opus', 'claude-3-opus-latest', 'claude-opus-4']) {
      const denied = await ask(client, model).catch((caught: unknown) => caught);
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect((denied as APIError).code).toBe('model_not_allowed');
    }
    const denied = (await ask(client, 'claude-3-opus').catch((caught: unknown) => caught)) as APIError;
    expect(denied.message).toContain('"claude-3-opus" (an alias of "claude-opus-4")');
    expect(upstream.requests).toHaveLength(0);
    // The models list shows this key what it may use, and nothing else.
    const listed = [];
    for await (const model of client.models.list()) listed.push(model.id);
    expect(listed).toEqual(['gpt-4']);
    const everything = [];
    for await (const model of clientFor(masterKey).models.list()) everything.push(model.id);
    expect(everything).toEqual(expect.arrayContaining(['gpt-4', 'gpt-4.1', 'claude-3-opus', 'claude-opus-4']));

    // An alias the key names exactly is allowed: gpt-4 is the seed's alias of gpt-4.1.
    const completion = await ask(client, 'gpt-4');
    expect(completion.model).toBe('gpt-4.1');
    // A fallback through an alias is skipped like any model the key may not use.
    const failure = { kind: 'status' as const, status: 500, headers: { 'retry-after-ms': '0' } };
    upstream.next(failure, failure, failure, failure);
    const failed = await client.chat.completions
      .create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }], fallbacks: ['claude-3-opus'] } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((caught: unknown) => caught);
    expect((failed as APIError).status).toBe(502);
    expect(upstream.requests.map((received) => received.body.model)).not.toContain('claude-opus-4');
  });

  it('rotates a key: the new secret works, the old one is refused', async () => {
    await start();
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'rotating' });
    const rotated = await admin<{ key: string }>(`/admin/keys/${created.body.id}/rotate`, 'POST');
    expect(rotated.body.key).not.toBe(created.body.key);
    await expect(ask(clientFor(rotated.body.key))).resolves.toBeDefined();
    await expect(ask(clientFor(created.body.key))).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('refuses to rotate a revoked key with a 409, and leaves it as it was', async () => {
    await start();
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'revoked' });
    const revoked = await admin<{ prefix: string; updated_at: string; revoked_at: string }>(`/admin/keys/${created.body.id}`, 'DELETE');
    const rotated = await admin<{ error: { type: string; code: string }; key?: string }>(`/admin/keys/${created.body.id}/rotate`, 'POST');
    expect(rotated.status).toBe(409);
    expect(rotated.body.error).toMatchObject({ type: 'conflict_error', code: 'key_revoked' });
    expect(rotated.text).not.toContain('sk-relay-');
    expect((await admin(`/admin/keys/${created.body.id}`)).body).toEqual(revoked.body);
    expect((await admin<{ error: { code: string } }>('/admin/keys/key_unknown/rotate', 'POST')).body.error.code).toBe('key_not_found');
  });

  it('enforces RPM with a 429, retry-after and OpenAI rate limit headers on every answer', async () => {
    await start();
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'limited', rpm: 3, tpm: 100_000 });
    const client = clientFor(created.body.key);
    for (let index = 0; index < 3; index++) {
      const { response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(String(2 - index));
      expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(100_000);
    }
    const error = (await ask(client).catch((caught: unknown) => caught)) as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(error.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(upstream.requests).toHaveLength(3);
  });

  it('lets 200 parallel requests spend an account balance that covers 10, and the ledger matches the balance exactly', async () => {
    await start();
    const account = await admin<{ id: string; balance: number }>('/admin/accounts', 'POST', { name: 'team-a', currency: 'USD' });
    expect(account.body.balance).toBe(0.18); // the configured signup credit
    const created = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'team-a-key', account: account.body.id });
    const client = clientFor(created.body.key);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => ask(client)));
    const succeeded = results.filter((result) => result.status === 'fulfilled').length;
    const refused = results.filter((result) => result.status === 'rejected' && (result.reason as APIError).code === 'insufficient_balance').length;
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThanOrEqual(10);
    expect(succeeded + refused).toBe(200);
    await expect.poll(async () => (await admin<{ data: Array<{ requests: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0]?.requests).toBe(succeeded);
    const usage = (await admin<{ data: Array<{ cost: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0]!;
    const after = await admin<{ balance: number }>(`/admin/accounts/${account.body.id}`);
    expect(Math.round((0.18 - after.body.balance) * 1e6)).toBe(Math.round(usage.cost * 1e6));
    expect(Math.round(usage.cost * 1e6)).toBe(succeeded * 18_000);

    const topped = await admin<{ balance: number }>(`/admin/accounts/${account.body.id}/topup`, 'POST', { amount: 1, currency: 'USD' });
    expect(topped.body.balance).toBeCloseTo(after.body.balance + 1, 6);
    // An amount below one micro-unit adds nothing to a balance: refused, not recorded as a top-up.
    for (const tiny of [{ amount: 0.0000004 }, { amount: 0.0000001, currency: 'CNY' }]) {
      const refused = await admin<{ error: { param: string; message: string } }>(`/admin/accounts/${account.body.id}/topup`, 'POST', tiny);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ param: 'amount', message: expect.stringContaining('less than 0.000001 USD') });
    }
    const history = await admin<{ data: Array<{ amount: number }> }>(`/admin/accounts/${account.body.id}/transactions`);
    expect(history.body.data.map((transaction) => transaction.amount)).toEqual([1, 0.18]);
    await expect(ask(client)).resolves.toBeDefined();
  });

  it('meters every request of a client that sends the same x-request-id each time, and keeps that id on the answer', async () => {
    await start();
    const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'team-b', currency: 'USD' });
    const created = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'team-b-key', account: account.body.id });
    const client = new OpenAI({ apiKey: created.body.key, baseURL: relay!.baseURL, maxRetries: 0, defaultHeaders: { 'x-request-id': 'req-fixed-by-client' } });
    const answers = await Promise.all(Array.from({ length: 5 }, () => client.chat.completions.create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] }).withResponse()));
    for (const { response } of answers) expect(response.headers.get('x-request-id')).toBe('req-fixed-by-client');
    await expect.poll(async () => (await admin<{ data: Array<{ requests: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0]?.requests).toBe(5);
    const after = await admin<{ balance: number }>(`/admin/accounts/${account.body.id}`);
    expect(Math.round((0.18 - after.body.balance) * 1e6)).toBe(5 * 18_000);
  });

  it('holds a key budget in another currency under 200 parallel requests', async () => {
    await start();
    // 10 requests cost $0.18, which is €0.1656 at the default rate (0.92 EUR per USD).
    const created = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'budgeted', budget: { amount: 0.1656, currency: 'EUR', period: 'monthly' } });
    const client = clientFor(created.body.key);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => ask(client)));
    const succeeded = results.filter((result) => result.status === 'fulfilled').length;
    expect(succeeded).toBeGreaterThan(0);
    expect(succeeded).toBeLessThanOrEqual(10);
    const refusal = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect((refusal.reason as APIError).code).toBe('budget_exceeded');
    expect((refusal.reason as APIError).status).toBe(429);
  });

  it("restores a budget's spend this period from the ledger when the relay restarts", async () => {
    const first = await start();
    const directory = first.config.dataDir.replace(/\/data$/, '');
    // 3 requests cost $0.054; an $0.08 daily budget cannot hold a fourth one's worst case ($0.035).
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'restart', budget: { amount: 0.08, currency: 'USD', period: 'daily' } });
    for (let index = 0; index < 3; index++) await ask(clientFor(created.body.key));
    await first.close();
    relay = undefined;
    const store = await openStore({ sqlitePath: join(directory, 'data', 'relay.db') });
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url }, directory, { store });
    const error = (await ask(clientFor(created.body.key)).catch((caught: unknown) => caught)) as APIError;
    expect(error.code).toBe('budget_exceeded');
  });

  it('refuses a metered key for an unpriced model instead of charging zero', async () => {
    await start();
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'metered', budget: { amount: 5, currency: 'USD', period: 'daily' } });
    const error = (await ask(clientFor(created.body.key), 'some-vendor-model').catch((caught: unknown) => caught)) as APIError;
    expect(error.status).toBe(400); // unknown to routing first
    expect(error.code).toBe('model_not_found');
    const unpriced = (await ask(clientFor(created.body.key), 'gpt-4.5-preview').catch((caught: unknown) => caught)) as APIError;
    expect(unpriced.status).toBe(400);
    expect(unpriced.code).toBe('model_not_priced');
    expect(upstream.requests).toHaveLength(0);
  });

  it('bills a stream the client left half-way for what was delivered, counted with the tokenizer', async () => {
    await start();
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'streamer' });
    upstream.next({ kind: 'stream', chunks: 100, delayMs: 20 });
    const controller = new AbortController();
    const stream = await clientFor(created.body.key).chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'tell me a story' }], stream: true }, { signal: controller.signal });
    let received = 0;
    await (async () => {
      for await (const _chunk of stream) if (++received === 6) controller.abort();
    })().catch(() => undefined);
    await expect
      .poll(async () => (await admin<{ data: Array<{ requests: number; prompt_tokens: number; completion_tokens: number; cost: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0])
      .toMatchObject({ requests: 1, prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    const row = (await admin<{ data: Array<{ prompt_tokens: number; completion_tokens: number; cost: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0]!;
    // "word0 " … about five words were delivered before the client left: a few tokens, not zero, not 100 words.
    expect(row.completion_tokens).toBeGreaterThanOrEqual(4);
    expect(row.completion_tokens).toBeLessThan(30);
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.cost).toBeGreaterThan(0);
  });

  it('counts a stream with the tokenizer when the provider is told not to ask for stream usage', async () => {
    await start(`providers:\n  plain: { type: openai, baseUrl: "${upstream.url}", apiKey: plain-key-0123456789, streamUsage: false }\nmodels:\n  local-llama: { targets: [{ provider: plain }] }\n`);
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'local' });
    const stream = await clientFor(created.body.key).chat.completions.create({ model: 'local-llama', messages: [{ role: 'user', content: 'hello' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(upstream.requests[0]?.body.stream_options).toEqual({ include_usage: true }); // the client's own option passes through
    upstream.reset();
    const quiet = await clientFor(created.body.key).chat.completions.create({ model: 'local-llama', messages: [{ role: 'user', content: 'hello' }], stream: true });
    for await (const _chunk of quiet) {
      // drain
    }
    expect(upstream.requests[0]?.body).not.toHaveProperty('stream_options');
    await expect
      .poll(async () => (await admin<{ data: Array<{ requests: number; completion_tokens: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0])
      .toMatchObject({ requests: 2 });
    const row = (await admin<{ data: Array<{ completion_tokens: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0]!;
    expect(row.completion_tokens).toBeGreaterThanOrEqual(10); // counted from "word0 … word4" at least once
  });

  it('counts all of a long stream from an upstream that reports no usage, though its events are not all kept', async () => {
    await start(`providers:\n  plain: { type: openai, baseUrl: "${upstream.url}", apiKey: plain-key-0123456789, streamUsage: false }\nmodels:\n  local-llama: { targets: [{ provider: plain }] }\n`);
    const created = await admin<{ id: string; key: string }>('/admin/keys', 'POST', { name: 'long' });
    // ~1500 events of ~150 bytes: several times the 64 KiB of events a stream keeps before reducing them to their text.
    const chunks = 1500;
    upstream.next({ kind: 'stream', chunks });
    const stream = await clientFor(created.body.key).chat.completions.create({ model: 'local-llama', messages: [{ role: 'user', content: 'hello' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(Array.from({ length: chunks }, (_, index) => `word${index} `).join(''));
    const { Tiktoken } = await import('js-tiktoken/lite');
    const { default: cl100k } = await import('js-tiktoken/ranks/cl100k_base');
    await expect
      .poll(async () => (await admin<{ data: Array<{ completion_tokens: number }> }>(`/admin/usage?group_by=key&key=${created.body.id}`)).body.data[0]?.completion_tokens)
      .toBe(new Tiktoken(cl100k).encode(text).length);
  });

  it('validates admin input with clear errors and keeps the admin API to the master key', async () => {
    await start();
    const bad = await admin<{ error: { param: string; message: string } }>('/admin/keys', 'POST', { name: 'x', budget: { amount: 5, currency: 'GBP', period: 'daily' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toMatch(/^budget/);
    const missingAccount = await admin<{ error: { code: string } }>('/admin/keys', 'POST', { name: 'x', account: 'acct_nope' });
    expect(missingAccount.body.error.code).toBe('account_not_found');
    const created = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'plain' });
    const asClient = await request(`${relay!.url}/admin/keys`, { headers: { authorization: `Bearer ${created.body.key}` } });
    expect(asClient.statusCode).toBe(403);
    expect(((await asClient.body.json()) as { error: { code: string } }).error.code).toBe('admin_required');
  });

  it('refuses a usage report from or to a day that does not exist, rather than reading it as a later one', async () => {
    await start();
    type Refusal = { error: { code: string; param: string } };
    for (const [param, value] of [['from', '2030-02-31'], ['to', '2030-02-30T00:00:00Z'], ['from', '2030-13-01'], ['to', '2030-01-31T24:00:00Z']] as const) {
      const refused = await admin<Refusal>(`/admin/usage?group_by=day&${param}=${value}`);
      expect(refused.status, `${param}=${value}: ${refused.text}`).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'invalid_request', param });
    }
    for (const value of ['2028-02-29', '2030-01-31T23:59:59Z', '2030-01-31T08:00:00+08:00']) {
      expect((await admin(`/admin/usage?group_by=day&from=${encodeURIComponent(value)}&to=2031-01-01`)).status, value).toBe(200);
    }
  });

  it('refuses an expires_at that names no real instant, rather than moving it days later, and keeps one that does', async () => {
    await start();
    type Refusal = { error: { code: string; param: string; message: string } };
    const impossible = [
      '2030-02-31T00:00:00Z',
      '2030-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2030-04-31T12:00:00+02:00',
      '2030-01-00T00:00:00Z',
      '2030-13-01T00:00:00Z',
      '2030-01-31T24:00:00Z',
      '2030-01-31T23:60:00Z',
      '2030-01-31T23:59:60Z',
      '2030-01-31T00:00:00+24:00',
      '2030-01-31T00:00:00-05:60',
    ];
    for (const expiresAt of impossible) {
      const refused = await admin<Refusal>('/admin/keys', 'POST', { name: 'dated', expires_at: expiresAt });
      expect(refused.status, `${expiresAt}: ${refused.text}`).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'expires_at', message: expect.stringContaining('expected a date-time with a time zone') });
    }
    const real = { '2028-02-29T00:00:00Z': '2028-02-29T00:00:00.000Z', '2000-02-29T23:59:59.250+08:00': '2000-02-29T15:59:59.250Z', '2030-12-31t23:59:59-05:30': '2031-01-01T05:29:59.000Z' };
    for (const [written, stored] of Object.entries(real)) {
      const created = await admin<{ id: string; expires_at: string }>('/admin/keys', 'POST', { name: 'dated', expires_at: written });
      expect(created.status, created.text).toBe(201);
      expect(created.body.expires_at).toBe(stored);
    }
    const key = await admin<{ id: string; expires_at: string }>('/admin/keys', 'POST', { name: 'kept', expires_at: '2030-01-31T00:00:00Z' });
    expect((await admin<Refusal>(`/admin/keys/${key.body.id}`, 'PATCH', { expires_at: '2030-02-30T00:00:00Z' })).body.error.param).toBe('expires_at');
    expect((await admin<{ expires_at: string }>(`/admin/keys/${key.body.id}`)).body.expires_at).toBe('2030-01-31T00:00:00.000Z');
  });

  it('refuses with a 400 naming the field what no backend could keep: limits beyond 32 bits, expiries before 1970, a top-up the balance cannot hold', async () => {
    await start();
    type Refusal = { error: { type: string; code: string; param: string; message: string } };
    const beyond = [{ rpm: 2_147_483_648 }, { rpm: 1e300 }, { tpm: 2 ** 53 }, { max_parallel: 1e20 }];
    for (const fields of beyond) {
      const refused = await admin<Refusal>('/admin/keys', 'POST', { name: 'big', ...fields });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param: Object.keys(fields)[0] });
    }
    const largest = await admin<{ id: string; rpm: number; tpm: number; max_parallel: number }>('/admin/keys', 'POST', { name: 'largest', rpm: 2_147_483_647, tpm: 2_147_483_647, max_parallel: 2_147_483_647 });
    expect(largest.status).toBe(201);
    expect(largest.body).toMatchObject({ rpm: 2_147_483_647, tpm: 2_147_483_647, max_parallel: 2_147_483_647 });
    const patched = await admin<Refusal>(`/admin/keys/${largest.body.id}`, 'PATCH', { tpm: 3_000_000_000 });
    expect(patched.status).toBe(400);
    expect(patched.body.error.param).toBe('tpm');

    const before1970 = await admin<Refusal>('/admin/keys', 'POST', { name: 'old', expires_at: '1969-12-31T23:59:59Z' });
    expect(before1970.status).toBe(400);
    expect(before1970.body.error).toMatchObject({ code: 'invalid_request', param: 'expires_at', message: expect.stringContaining('before 1970') });
    const epoch = await admin<{ expires_at: string }>('/admin/keys', 'POST', { name: 'epoch', expires_at: '1970-01-01T08:00:00+08:00' });
    expect(epoch.status).toBe(201);
    expect(epoch.body.expires_at).toBe('1970-01-01T00:00:00.000Z');
    expect((await admin<Refusal>(`/admin/keys/${largest.body.id}`, 'PATCH', { expires_at: '1900-01-01T00:00:00Z' })).body.error?.param).toBe('expires_at');

    const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'large', currency: 'USD' });
    // 9 billion EUR is 9.78 billion USD: more micro-units than a balance holds exactly.
    const converted = await admin<Refusal>(`/admin/accounts/${account.body.id}/topup`, 'POST', { amount: 9e9, currency: 'EUR' });
    expect(converted.status, converted.text).toBe(400);
    expect(converted.body.error).toMatchObject({ code: 'invalid_request', param: 'amount', message: expect.stringContaining('the most it holds') });
    expect((await admin<{ balance: number }>(`/admin/accounts/${account.body.id}/topup`, 'POST', { amount: 9e9 })).body.balance).toBe(9_000_000_000.18);
    const overflow = await admin<Refusal>(`/admin/accounts/${account.body.id}/topup`, 'POST', { amount: 9e6 });
    expect(overflow.status).toBe(400);
    expect(overflow.body.error.param).toBe('amount');
    expect((await admin<{ balance: number }>(`/admin/accounts/${account.body.id}`)).body.balance).toBe(9_000_000_000.18);
  });
});
