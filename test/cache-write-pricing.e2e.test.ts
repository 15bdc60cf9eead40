import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError, RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { cacheWriteTokensPerBreakpoint, MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { startRelay, type StartedRelay } from './support/start-relay.js';
import { adminJson } from './support/limited-relay.js';

/**
 * Claude Sonnet 4.5 at Anthropic's list prices: $3 per 1M input tokens, $15 output, $0.30 cache
 * hits; cache writes are not set, so they follow Anthropic's multipliers: $3.75 for 5 minutes, $6
 * for 1 hour. The official prices stay the built-in ones ($15, so writes at $18.75 and $30).
 *
 * The mock Anthropic upstream answers a request with one 5-minute breakpoint (the system block) and
 * one 1-hour breakpoint (the user's block) as Anthropic would the first time: 12 input tokens, 1 500
 * written for 5 minutes, 2 500 for 1 hour, 6 output tokens. So every such request costs
 *   12 × $3 + 1 500 × $3.75 + 2 500 × $6 + 6 × $15 = 36 + 5 625 + 15 000 + 90 = 20 751 micro-USD,
 * officially 12 × $15 + 1 500 × $18.75 + 2 500 × $30 + 6 × $15 = 180 + 28 125 + 75 000 + 90 = 103 395,
 * where billing the writes as input gave 12 126 (and 60 270 officially).
 * In EUR (0.92 per USD, half up): 19 091 and 95 123 micro-EUR.
 */
const model = 'claude-sonnet-4.5';
const written5m = cacheWriteTokensPerBreakpoint['5m'];
const written1h = cacheWriteTokensPerBreakpoint['1h'];
const usdCost = { cost: 20_751, official: 103_395 };
const eurCost = { cost: 19_091, official: 95_123 };

const anthropicUpstream = new MockAnthropicUpstream();
let relay: StartedRelay;

beforeAll(async () => {
  await anthropicUpstream.start();
  const directory = mkdtempSync(join(tmpdir(), 'relay-cache-writes-'));
  writeFileSync(join(directory, 'relay.yaml'), `billing:\n  prices:\n    ${model}: { input: 3, output: 15, cached: 0.3 }\nledger:\n  flushIntervalMs: 50\n`);
  const store = await openStore({ sqlitePath: join(directory, 'relay.db') });
  relay = await startRelay({ ANTHROPIC_API_KEY: 'sk-ant-upstream-secret-0123456789', ANTHROPIC_BASE_URL: anthropicUpstream.origin }, directory, { store });
});
afterAll(async () => {
  await relay.close();
  await anthropicUpstream.stop();
});
beforeEach(() => anthropicUpstream.reset());

const admin = <T>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay.url, path, method, body);

interface UsageRow {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  cost: number;
  official_cost: number;
  currency: string;
}

/** A key drawing on a new account of 10 units of `currency`. */
async function prepaidKey(currency: 'USD' | 'EUR'): Promise<{ key: string; id: string; account: string }> {
  const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: `cache-${currency}`, currency });
  await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: 10, currency });
  const key = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: `cache-${currency}`, account: account.id });
  return { ...key, account: account.id };
}

/** The key's ledger totals once `requests` rows are written, in micro-units; the account's balance fell by the same cost. */
async function ledgerOf(key: { id: string; account: string }, requests: number): Promise<UsageRow & { costMicros: number; officialMicros: number }> {
  await expect.poll(async () => (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]?.requests).toBe(requests);
  const row = (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]!;
  const costMicros = Math.round(row.cost * 1e6);
  await expect.poll(async () => Math.round((10 - (await admin<{ balance: number }>(`/admin/accounts/${key.account}`)).balance) * 1e6)).toBe(costMicros);
  return { ...row, costMicros, officialMicros: Math.round(row.official_cost * 1e6) };
}

/** A system block cached for 5 minutes (the default) and a user block cached for 1 hour, in Anthropic's shape. */
const anthropicRequest = {
  model,
  max_tokens: 64,
  system: [{ type: 'text' as const, text: 'You answer questions about the attached handbook.', cache_control: { type: 'ephemeral' as const } }],
  messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'The handbook: chapter one.', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }] }],
};

/** The same breakpoints in an OpenAI chat request, as the relay carries them to Claude. */
const chatMessages = [
  { role: 'system', content: [{ type: 'text', text: 'You answer questions about the attached handbook.', cache_control: { type: 'ephemeral' } }] },
  { role: 'user', content: [{ type: 'text', text: 'The handbook: chapter one.', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
] as unknown as OpenAI.Chat.ChatCompletionMessageParam[];

describe('prompt-cache writes are billed as Anthropic bills them', () => {
  it('through the Anthropic SDK (/v1/messages passthrough), JSON and streamed: 5-minute writes at 1.25× input, 1-hour writes at 2×, in USD', async () => {
    const key = await prepaidKey('USD');
    const client = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });

    const message = await client.messages.create(anthropicRequest);
    expect(message.usage).toMatchObject({ input_tokens: 12, cache_creation_input_tokens: written5m + written1h, cache_creation: { ephemeral_5m_input_tokens: written5m, ephemeral_1h_input_tokens: written1h } });
    // The stream's message_delta gives the final total of writes, message_start their split by lifetime.
    const streamed = await client.messages.stream(anthropicRequest).finalMessage();
    expect(streamed.usage).toMatchObject({ input_tokens: 12, cache_creation_input_tokens: written5m + written1h, output_tokens: 6 });
    expect(anthropicUpstream.requests.map((received) => received.body.system)).toEqual([anthropicRequest.system, anthropicRequest.system]);

    const row = await ledgerOf(key, 2);
    expect(row).toMatchObject({ currency: 'USD', prompt_tokens: 2 * (12 + written5m + written1h), completion_tokens: 12, cached_tokens: 0, cache_write_tokens: 2 * (written5m + written1h) });
    expect(row.costMicros).toBe(2 * usdCost.cost);
    expect(row.officialMicros).toBe(2 * usdCost.official);
  });

  it('through the OpenAI SDK (translated to Claude), JSON and streamed, in EUR', async () => {
    const key = await prepaidKey('EUR');
    const client = new OpenAI({ apiKey: key.key, baseURL: relay.baseURL, maxRetries: 0 });

    const completion = await client.chat.completions.create({ model, max_tokens: 64, messages: chatMessages });
    expect(completion.usage).toMatchObject({ prompt_tokens: 12 + written5m + written1h, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: written5m + written1h, cache_write_1h_tokens: written1h } });
    const stream = await client.chat.completions.create({ model, max_tokens: 64, messages: chatMessages, stream: true, stream_options: { include_usage: true } });
    let streamedUsage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) streamedUsage = chunk.usage ?? streamedUsage;
    expect(streamedUsage).toMatchObject({ prompt_tokens: 12 + written5m + written1h, prompt_tokens_details: { cache_write_tokens: written5m + written1h, cache_write_1h_tokens: written1h } });
    // The breakpoints reached Anthropic where the client put them.
    const sent = anthropicUpstream.requests[0]!.body as { system: Array<Record<string, unknown>>; messages: Array<{ content: Array<Record<string, unknown>> }> };
    expect(sent.system[0]?.cache_control).toEqual({ type: 'ephemeral' });
    expect(sent.messages[0]?.content[0]?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });

    const row = await ledgerOf(key, 2);
    expect(row).toMatchObject({ currency: 'EUR', cache_write_tokens: 2 * (written5m + written1h) });
    expect(row.costMicros).toBe(2 * eurCost.cost);
    expect(row.officialMicros).toBe(2 * eurCost.official);
  });

  it('bills a stream cut before its final usage for the prompt and writes message_start reported, through the OpenAI SDK and the Responses API as through the Anthropic SDK', async () => {
    const key = await prepaidKey('USD');
    const openai = new OpenAI({ apiKey: key.key, baseURL: relay.baseURL, maxRetries: 0 });
    anthropicUpstream.next({ kind: 'stream-cut' });
    const stream = await openai.chat.completions.create({ model, max_tokens: 4000, reasoning_effort: 'low', messages: chatMessages, stream: true });
    let text = '';
    const cut = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((error: unknown) => error);
    expect(cut).toBeInstanceOf(APIError);
    expect(text).toBe('echo: The handbook: chapter one.');
    // Anthropic bills the prompt it read and wrote, cut or not: 12 input tokens, 1 500 written for 5 minutes, 2 500 for 1 hour.
    const row = await ledgerOf(key, 1);
    expect(row).toMatchObject({ prompt_tokens: 12 + written5m + written1h, cache_write_tokens: written5m + written1h, cached_tokens: 0 });
    expect(row.completion_tokens).toBeGreaterThan(1);
    expect(row.costMicros).toBe(12 * 3 + written5m * 3.75 + written1h * 6 + row.completion_tokens * 15);

    anthropicUpstream.next({ kind: 'stream-cut' });
    const responses = await openai.responses.create({ model, max_output_tokens: 4000, input: 'The handbook: chapter two.', stream: true });
    const responsesCut = await (async () => {
      for await (const _event of responses);
    })().catch((error: unknown) => error);
    expect(responsesCut).toBeInstanceOf(Error);

    anthropicUpstream.next({ kind: 'stream-cut' });
    const anthropic = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });
    await expect(anthropic.messages.stream(anthropicRequest).finalMessage()).rejects.toBeInstanceOf(Error);
    // The Responses request marks no breakpoint: the mock's plain answer writes 2 tokens for 5 minutes.
    const rows = await ledgerOf(key, 3);
    expect(rows.cache_write_tokens).toBe(2 * (written5m + written1h) + 2);
  });

  it('bills the writes and reads an answer reports beside each other, rounded up once per request', async () => {
    const key = await prepaidKey('USD');
    const client = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });
    // The mock's plain answer: 12 input tokens, 2 written for 5 minutes, 3 read, 6 output:
    // 12 × $3 + 2 × $3.75 + 3 × $0.30 + 6 × $15 = 36 + 7.5 + 0.9 + 90 = 134.4 → 135 micro-USD.
    await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Hello.' }] });
    const row = await ledgerOf(key, 1);
    expect(row).toMatchObject({ prompt_tokens: 17, cached_tokens: 3, cache_write_tokens: 2 });
    expect(row.costMicros).toBe(135);
  });

  it('reserves the prompt of a request with breakpoints at the price of the writes it may cause, so a budget is never overspent by writes nor refuses what it can pay', async () => {
    // About 10 000 prompt tokens by the estimate (30 000 bytes ÷ 3): $0.030 at input, $0.0375 written
    // for 5 minutes, $0.060 written for 1 hour, plus 1 output token. A budget of $0.045 admits the
    // plain request and the one with 5-minute breakpoints, and refuses the one that may be written for 1 hour.
    const created = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'budgeted', budget: { amount: 0.045, currency: 'USD', period: 'total' } });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    const text = 'a'.repeat(30_000);
    const plain = await client.chat.completions.create({ model, max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text }] }] });
    expect(plain.choices[0]?.message.content).toMatch(/^echo:/);
    const marked = (ttl?: '1h') => [{ role: 'user', content: [{ type: 'text', text, cache_control: { type: 'ephemeral', ...(ttl === undefined ? {} : { ttl }) } }] }] as unknown as OpenAI.Chat.ChatCompletionMessageParam[];
    const refused = await client.chat.completions.create({ model, max_tokens: 1, messages: marked('1h') }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect((refused as APIError).code).toBe('budget_exceeded');
    expect(anthropicUpstream.requests).toHaveLength(1);
    const fiveMinutes = await client.chat.completions.create({ model, max_tokens: 1, messages: marked() });
    expect(fiveMinutes.choices[0]?.message.content).toMatch(/^echo:/);
    expect(anthropicUpstream.requests).toHaveLength(2);

    // Through /v1/messages as well, a breakpoint on the request itself included.
    const anthropicBudget = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'budgeted-messages', budget: { amount: 0.045, currency: 'USD', period: 'total' } });
    const anthropic = new Anthropic({ apiKey: anthropicBudget.key, baseURL: relay.url, maxRetries: 0 });
    const request = (cacheControl: Record<string, string>) => ({ model, max_tokens: 1, cache_control: cacheControl, messages: [{ role: 'user' as const, content: text }] }) as unknown as Anthropic.MessageCreateParamsNonStreaming;
    const refusedMessage = await anthropic.messages.create(request({ type: 'ephemeral', ttl: '1h' })).catch((error: unknown) => error);
    expect((refusedMessage as { status?: number }).status).toBe(429);
    const admitted = await anthropic.messages.create(request({ type: 'ephemeral' }));
    expect(admitted.content[0]).toMatchObject({ type: 'text' });
  });
});
