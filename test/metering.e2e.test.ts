import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { startRelay, type StartedRelay } from './support/start-relay.js';
import { adminJson } from './support/limited-relay.js';

/**
 * An upstream that answers with scripted JSON, or streams scripted events in its vendor's SSE format (OpenAI chat chunks, legacy
 * completions, Responses API events, Anthropic Messages events), then ends, holds the stream open
 * (until the relay lets go of it), or cuts the connection.
 */
type Ending = 'end' | 'hold' | 'cut';
let script: { events: string[]; ending: Ending; json?: unknown } = { events: [], ending: 'end' };
const upstream = createServer((incoming, response) => {
  incoming.resume();
  incoming.on('end', () => void play(response));
});
let upstreamOrigin = '';

async function play(response: ServerResponse): Promise<void> {
  const { events, ending, json } = script;
  if (json !== undefined) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(json));
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of events) response.write(event);
  if (ending === 'end') response.end();
  else if (ending === 'cut') setTimeout(() => response.socket?.destroy(), 50);
}

const words = Array.from({ length: 6 }, (_, index) => `word${index} `);
const deliveredText = words.join('');
const sse = (data: unknown, event?: string) => `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`;

const chatChunk = (delta: Record<string, unknown>) => sse({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: null }] });
const completionChunk = (text: string) => sse({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [{ index: 0, text, finish_reason: null, logprobs: null }] });
const anthropicStart = (usage: Record<string, number>) => [
  sse({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage } }, 'message_start'),
  sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
  ...words.map((word) => sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } }, 'content_block_delta')),
];
const responsesDeltas = [
  sse({ type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [], usage: null } }, 'response.created'),
  ...words.map((word, index) => sse({ type: 'response.output_text.delta', sequence_number: index + 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: word, logprobs: [] }, 'response.output_text.delta')),
];

let relay: StartedRelay | undefined;
let count: (text: string) => number;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamOrigin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const { Tiktoken } = await import('js-tiktoken/lite');
  const { default: cl100k } = await import('js-tiktoken/ranks/cl100k_base');
  const tokenizer = new Tiktoken(cl100k);
  count = (text) => tokenizer.encode(text).length;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/**
 * Every token costs 1000 micro-USD ($1000 per 1M), a cached prompt token 100, so a ledger row's cost
 * follows from its tokens. `gpt-x` is served by an OpenAI-compatible upstream that also serves the
 * Responses API as it is, `plain-x` by one that serves only chat (`/v1/responses` is translated),
 * `claude-x` by an Anthropic upstream.
 */
async function start(): Promise<StartedRelay> {
  const directory = mkdtempSync(join(tmpdir(), 'relay-stream-metering-'));
  const prices = '{ input: 1000, output: 1000, cached: 100 }';
  writeFileSync(
    join(directory, 'relay.yaml'),
    [
      'providers:',
      `  oai: { type: openai, baseUrl: "${upstreamOrigin}/v1", apiKey: oai-key-0123456789, responsesApi: true }`,
      `  plain: { type: openai, baseUrl: "${upstreamOrigin}/v1", apiKey: plain-key-0123456789 }`,
      `  ant: { type: anthropic, baseUrl: "${upstreamOrigin}", apiKey: ant-key-0123456789 }`,
      'models:',
      '  gpt-x: { targets: [{ provider: oai, model: gpt-4.1 }] }',
      '  plain-x: { targets: [{ provider: plain, model: gpt-4.1 }] }',
      '  instruct-x: { targets: [{ provider: oai, model: gpt-3.5-turbo-instruct }] }',
      '  claude-x: { targets: [{ provider: ant, model: claude-sonnet-4-5 }] }',
      // No price: served to keys that pay nothing.
      '  free-x: { targets: [{ provider: oai, model: gpt-4.1 }] }',
      'billing:',
      '  prices:',
      `    gpt-x: ${prices}`,
      `    plain-x: ${prices}`,
      `    instruct-x: ${prices}`,
      `    claude-x: ${prices}`,
      'ledger:',
      '  flushIntervalMs: 50',
      '',
    ].join('\n'),
  );
  const store = await openStore({ sqlitePath: join(directory, 'relay.db') });
  relay = await startRelay({}, directory, { store });
  return relay;
}

const admin = <T>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay!.url, path, method, body);

interface UsageRow {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost: number;
}

/** A key drawing on a new account of $10. */
async function prepaidKey(): Promise<{ key: string; id: string; account: string }> {
  const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'prepaid', currency: 'USD' });
  await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: 10, currency: 'USD' });
  const key = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'streams', account: account.id });
  return { ...key, account: account.id };
}

/** The key's one ledger row, once written; and the account's balance agrees with it to the micro-unit. */
async function meteredRow(key: { id: string; account: string }): Promise<UsageRow> {
  await expect.poll(async () => (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]?.requests).toBe(1);
  const row = (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]!;
  const expected = 1000 * (row.prompt_tokens - row.cached_tokens + row.completion_tokens) + 100 * row.cached_tokens;
  expect(Math.round(row.cost * 1e6)).toBe(expected);
  await expect.poll(async () => Math.round((10 - (await admin<{ balance: number }>(`/admin/accounts/${key.account}`)).balance) * 1e6)).toBe(expected);
  return row;
}

/** Reads a stream until it has delivered every scripted word, then leaves. */
async function readWordsThenLeave(chunks: AsyncIterable<unknown>, textOf: (chunk: unknown) => string | undefined, leave: () => void): Promise<string> {
  let text = '';
  try {
    for await (const chunk of chunks) {
      text += textOf(chunk) ?? '';
      if (text === deliveredText) {
        leave();
        break;
      }
    }
  } catch {
    // the abort
  }
  return text;
}

describe('streams are billed for what they delivered', () => {
  it('bills a streamed legacy completion for the usage its upstream reported', async () => {
    await start();
    const key = await prepaidKey();
    script = { events: [...words.map(completionChunk), sse({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [], usage: { prompt_tokens: 5, completion_tokens: 400, total_tokens: 405 } }), 'data: [DONE]\n\n'], ending: 'end' };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const stream = await client.completions.create({ model: 'instruct-x', prompt: 'Say a few words.', max_tokens: 500, stream: true, stream_options: { include_usage: true } });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(deliveredText);
    expect(await meteredRow(key)).toMatchObject({ prompt_tokens: 5, completion_tokens: 400, cached_tokens: 0 });
  });

  it('bills a streamed legacy completion without usage for the text it delivered', async () => {
    await start();
    const key = await prepaidKey();
    script = { events: [...words.map(completionChunk), 'data: [DONE]\n\n'], ending: 'end' };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const stream = await client.completions.create({ model: 'instruct-x', prompt: 'Say a few words.', max_tokens: 500, stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    const row = await meteredRow(key);
    expect(row.completion_tokens).toBe(count(deliveredText));
    expect(row.prompt_tokens).toBe(count('Say a few words.'));
  });

  it('bills a /v1/messages stream translated from an OpenAI upstream that the client left for what it delivered', async () => {
    await start();
    const key = await prepaidKey();
    script = { events: [chatChunk({ role: 'assistant', content: '' }), ...words.map((word) => chatChunk({ content: word }))], ending: 'hold' };
    const client = new Anthropic({ apiKey: key.key, baseURL: relay!.url, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'gpt-x', max_tokens: 500, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    const text = await readWordsThenLeave(stream, (event) => ((event as { delta?: { text?: string } }).delta?.text), () => stream.abort());
    expect(text).toBe(deliveredText);
    const row = await meteredRow(key);
    expect(row.completion_tokens).toBe(count(deliveredText));
    expect(row.prompt_tokens).toBeGreaterThan(0);
  });

  it("bills an Anthropic stream the client left for its prompt as Anthropic counted it and the text it delivered", async () => {
    await start();
    const key = await prepaidKey();
    script = { events: anthropicStart({ input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 1 }), ending: 'hold' };
    const client = new Anthropic({ apiKey: key.key, baseURL: relay!.url, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'claude-x', max_tokens: 500, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    const text = await readWordsThenLeave(stream, (event) => ((event as { delta?: { text?: string } }).delta?.text), () => stream.abort());
    expect(text).toBe(deliveredText);
    expect(await meteredRow(key)).toMatchObject({ prompt_tokens: 14, cached_tokens: 4, completion_tokens: count(deliveredText) });
  });

  it('bills an Anthropic stream its upstream cut before message_delta for the text it delivered, not the output count of message_start', async () => {
    await start();
    const key = await prepaidKey();
    script = { events: anthropicStart({ input_tokens: 10, output_tokens: 1 }), ending: 'cut' };
    const client = new Anthropic({ apiKey: key.key, baseURL: relay!.url, maxRetries: 0 });
    const stream = client.messages.stream({ model: 'claude-x', max_tokens: 500, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    let text = '';
    const failure = await (async () => {
      for await (const event of stream) text += (event as { delta?: { text?: string } }).delta?.text ?? '';
    })().catch((error: unknown) => error);
    expect(text).toBe(deliveredText);
    expect(failure).toBeInstanceOf(Error);
    expect(await meteredRow(key)).toMatchObject({ prompt_tokens: 10, cached_tokens: 0, completion_tokens: count(deliveredText) });
  });

  it('bills a chat stream its upstream cut for the reasoning it delivered too: sent as `reasoning` (vLLM, OpenRouter), and once when sent under both names', async () => {
    await start();
    const key = await prepaidKey();
    const reasoning = ['Let me think ', 'it over. '];
    script = {
      events: [chatChunk({ role: 'assistant', content: '' }), chatChunk({ reasoning: reasoning[0] }), chatChunk({ reasoning_content: reasoning[1], reasoning: reasoning[1] }), ...words.map((word) => chatChunk({ content: word }))],
      ending: 'cut',
    };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-x', max_tokens: 500, messages: [{ role: 'user', content: 'Tell me a story.' }], stream: true });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((error: unknown) => error);
    expect(text).toBe(deliveredText);
    expect(failure).toBeInstanceOf(Error);
    const row = await meteredRow(key);
    expect(row.completion_tokens).toBe(count(reasoning.join('') + deliveredText));
  });

  it('bills a chat stream its upstream cut for a legacy function call it delivered', async () => {
    await start();
    const key = await prepaidKey();
    const call = { name: 'lookup', arguments: '{"q":"relays","limit":5}' };
    script = {
      events: [chatChunk({ role: 'assistant', content: null, function_call: { name: call.name, arguments: '' } }), chatChunk({ function_call: { arguments: call.arguments.slice(0, 9) } }), chatChunk({ function_call: { arguments: call.arguments.slice(9) } })],
      ending: 'cut',
    };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-x',
      max_tokens: 500,
      messages: [{ role: 'user', content: 'Look it up.' }],
      functions: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }],
      stream: true,
    });
    let streamed = '';
    const failure = await (async () => {
      for await (const chunk of stream) streamed += (chunk.choices[0]?.delta.function_call?.name ?? '') + (chunk.choices[0]?.delta.function_call?.arguments ?? '');
    })().catch((error: unknown) => error);
    expect(streamed).toBe(call.name + call.arguments);
    expect(failure).toBeInstanceOf(Error);
    const row = await meteredRow(key);
    expect(row.completion_tokens).toBe(count(call.name + call.arguments));
  });

  it("bills a Responses stream relayed from the upstream's own Responses API that the client left for what it delivered", async () => {
    await start();
    const key = await prepaidKey();
    script = { events: responsesDeltas, ending: 'hold' };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const controller = new AbortController();
    const stream = await client.responses.create({ model: 'gpt-x', input: 'Tell me a story.', max_output_tokens: 500, stream: true }, { signal: controller.signal });
    const text = await readWordsThenLeave(stream, (event) => ((event as { type: string; delta?: string }).type === 'response.output_text.delta' ? (event as { delta: string }).delta : undefined), () => controller.abort());
    expect(text).toBe(deliveredText);
    const row = await meteredRow(key);
    expect(row.completion_tokens).toBe(count(deliveredText));
    expect(row.prompt_tokens).toBeGreaterThan(0);
  });
});

describe('JSON answers without usage are billed for their text', () => {
  const chatAnswer = (choices: unknown[]) => ({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices });
  const message = (fields: Record<string, unknown>) => ({ role: 'assistant', content: null, refusal: null, ...fields });

  it("on /v1/chat/completions: each choice's content, reasoning, refusal, tool calls and legacy function call", async () => {
    await start();
    const key = await prepaidKey();
    const call = { name: 'lookup', arguments: '{"q":"relays"}' };
    script = {
      events: [],
      ending: 'end',
      json: chatAnswer([
        { index: 0, message: message({ content: deliveredText, reasoning_content: 'Thinking it over. ', tool_calls: [{ id: 'call_1', type: 'function', function: call }] }), finish_reason: 'tool_calls', logprobs: null },
        { index: 1, message: message({ refusal: 'I cannot. ', function_call: { name: 'legacy', arguments: '{}' } }), finish_reason: 'stop', logprobs: null },
      ]),
    };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-x', max_tokens: 500, n: 2, messages: [{ role: 'user', content: 'Say hi.' }] });
    expect(completion.usage).toBeUndefined();
    expect(completion.choices[0]?.message.content).toBe(deliveredText);
    const text = `${deliveredText}Thinking it over. ${call.name}${call.arguments}I cannot. legacy{}`;
    expect(await meteredRow(key)).toMatchObject({ prompt_tokens: count('Say hi.') + 4, completion_tokens: count(text) });
  });

  it("on /v1/completions: each choice's text", async () => {
    await start();
    const key = await prepaidKey();
    const choice = (index: number, text: string) => ({ index, text, finish_reason: 'stop', logprobs: null });
    script = { events: [], ending: 'end', json: { id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [choice(0, deliveredText), choice(1, 'And more words.')] } };
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const completion = await client.completions.create({ model: 'instruct-x', prompt: 'Say a few words.', max_tokens: 500, n: 2 });
    expect(completion.choices.map((each) => each.text)).toEqual([deliveredText, 'And more words.']);
    expect(await meteredRow(key)).toMatchObject({ prompt_tokens: count('Say a few words.'), completion_tokens: count(`${deliveredText}And more words.`) });
  });

  it('on /v1/messages and /v1/responses translated from an OpenAI-compatible upstream', async () => {
    await start();
    script = { events: [], ending: 'end', json: chatAnswer([{ index: 0, message: message({ content: deliveredText }), finish_reason: 'stop', logprobs: null }]) };
    const messagesKey = await prepaidKey();
    const anthropic = new Anthropic({ apiKey: messagesKey.key, baseURL: relay!.url, maxRetries: 0 });
    const answer = await anthropic.messages.create({ model: 'gpt-x', max_tokens: 500, messages: [{ role: 'user', content: 'Tell me a story.' }] });
    expect(answer.content).toEqual([{ type: 'text', text: deliveredText }]);
    const messagesRow = await meteredRow(messagesKey);
    expect(messagesRow.completion_tokens).toBe(count(deliveredText));
    expect(messagesRow.prompt_tokens).toBeGreaterThan(0);

    const responsesKey = await prepaidKey();
    const openai = new OpenAI({ apiKey: responsesKey.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    const response = await openai.responses.create({ model: 'plain-x', input: 'Tell me a story.', max_output_tokens: 500 });
    expect(response.output_text).toBe(deliveredText);
    const responsesRow = await meteredRow(responsesKey);
    expect(responsesRow.completion_tokens).toBe(count(deliveredText));
    expect(responsesRow.prompt_tokens).toBeGreaterThan(0);
  });
});

describe('usage an upstream reports', () => {
  /** A chat answer "Hi.", with the usage given (none when undefined). */
  const answer = (usage?: Record<string, number>) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4.1',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hi.', refusal: null }, finish_reason: 'stop', logprobs: null }],
    ...(usage === undefined ? {} : { usage }),
  });

  it('counts a usage too large to price with the tokenizer, and frees the parallel slot of the request', async () => {
    await start();
    const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'prepaid', currency: 'USD' });
    await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: 10, currency: 'USD' });
    const key = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'one-at-a-time', account: account.id, max_parallel: 1 });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    // Beyond Number.MAX_SAFE_INTEGER, and a safe integer whose price is not.
    const reported = [{ prompt_tokens: 1e16, completion_tokens: 5, total_tokens: 5 }, { prompt_tokens: 2 ** 52, completion_tokens: 5, total_tokens: 5 }];
    for (const usage of reported) {
      script = { events: [], ending: 'end', json: answer(usage) };
      const completion = await client.chat.completions.create({ model: 'gpt-x', max_tokens: 20, messages: [{ role: 'user', content: 'Say hi.' }] });
      expect(completion.choices[0]?.message.content).toBe('Hi.');
    }
    // Both were metered and settled: the key's one parallel slot is free again.
    script = { events: [], ending: 'end', json: answer({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }) };
    await expect(client.chat.completions.create({ model: 'gpt-x', max_tokens: 20, messages: [{ role: 'user', content: 'Say hi.' }] })).resolves.toBeDefined();
    await expect.poll(async () => (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]?.requests).toBe(3);
    const row = (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]!;
    // Each counted prompt: its one message's text and the message's framing (4 tokens).
    expect(row.prompt_tokens).toBe(2 * (count('Say hi.') + 4) + 7);
    await expect.poll(async () => Math.round((10 - (await admin<{ balance: number }>(`/admin/accounts/${account.id}`)).balance) * 1e6)).toBe(Math.round(row.cost * 1e6));
    expect(relay!.logs.some((line) => String(line.detail).includes('cannot be priced'))).toBe(true);
  });

  it("frees a request's parallel slot while its tokens are still being counted", async () => {
    await start();
    const key = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'one-at-a-time', max_parallel: 1 });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    // No usage in the answer: the request is counted on the counting thread after it ended (a long prompt takes a while).
    script = { events: [], ending: 'end', json: answer() };
    const prompt = Array.from({ length: 20_000 }, (_, index) => `word${index}`).join(' ');
    for (let request = 0; request < 3; request++) {
      // Each one right after the last: none is refused for the one before, whose count may not be done.
      const completion = await client.chat.completions.create({ model: 'gpt-x', max_tokens: 20, messages: [{ role: 'user', content: prompt }] });
      expect(completion.choices[0]?.message.content).toBe('Hi.');
    }
    await expect.poll(async () => (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]?.requests).toBe(3);
    expect((await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]?.prompt_tokens).toBe(3 * (count(prompt) + 4));
  });

  it('counts a malformed usage of a model without a price with the tokenizer, and goes on storing every record', async () => {
    await start();
    const free = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'free' });
    const paying = await admin<{ key: string; id: string }>('/admin/keys', 'POST', { name: 'paying', budget: { amount: 100, currency: 'USD', period: 'total' } });
    // Beyond Number.MAX_SAFE_INTEGER, for a model that costs nothing: no price would have caught it.
    script = { events: [], ending: 'end', json: answer({ prompt_tokens: 2 ** 60, completion_tokens: 5, total_tokens: 5 }) };
    await new OpenAI({ apiKey: free.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'free-x', messages: [{ role: 'user', content: 'Say hi.' }] });
    script = { events: [], ending: 'end', json: answer({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }) };
    await new OpenAI({ apiKey: paying.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-x', max_tokens: 20, messages: [{ role: 'user', content: 'Say hi.' }] });
    const rows = async () => (await admin<{ data: Array<UsageRow & { group: string }> }>('/admin/usage?group_by=key')).data;
    await expect.poll(async () => (await rows()).length).toBe(2);
    const byKey = new Map((await rows()).map((row) => [row.group, row]));
    // The malformed count was replaced by the prompt's count: "Say hi." and the message's framing.
    expect(byKey.get(free.id)).toMatchObject({ requests: 1, prompt_tokens: count('Say hi.') + 4, cost: 0 });
    expect(byKey.get(paying.id)).toMatchObject({ requests: 1, prompt_tokens: 7, completion_tokens: 3 });
    expect(relay!.logs.some((line) => String(line.msg).includes('ledger write failed'))).toBe(false);
  });
});

describe('requests the client leaves before the answer', () => {
  it('are recorded in the ledger once they reached an upstream, with no tokens and no cost', async () => {
    await start();
    const key = await prepaidKey();
    const client = new OpenAI({ apiKey: key.key, baseURL: `${relay!.url}/v1`, maxRetries: 0 });
    // The upstream takes the request and never answers: a JSON request, then a stream before its first chunk.
    script = { events: [], ending: 'hold' };
    for (const stream of [false, true]) {
      const controller = new AbortController();
      const asked = client.chat.completions.create({ model: 'gpt-x', max_tokens: 20, stream, messages: [{ role: 'user', content: 'Take your time.' }] }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      await expect(asked).rejects.toThrow();
    }
    await expect.poll(async () => (await admin<{ data: Array<UsageRow & { errors: number }> }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]?.requests).toBe(2);
    const row = (await admin<{ data: Array<UsageRow & { errors: number }> }>(`/admin/usage?group_by=key&key=${key.id}`)).data[0]!;
    expect(row).toMatchObject({ requests: 2, errors: 2, prompt_tokens: 0, completion_tokens: 0, cost: 0 });
    expect((await admin<{ balance: number }>(`/admin/accounts/${key.account}`)).balance).toBe(10);
  });
});
