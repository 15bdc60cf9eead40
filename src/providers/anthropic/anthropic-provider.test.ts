import { readFileSync } from 'node:fs';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { ProviderCall, RawStream, StreamPart } from '../provider.js';
import { AnthropicProvider } from './anthropic-provider.js';

const origin = 'https://api.anthropic.test';
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));

function newCall(): ProviderCall {
  return { signal: new AbortController().signal, timeoutMs: 5000, requestId: 'req-1', strict: false, dropped: [] };
}

describe('AnthropicProvider', () => {
  let agent: MockAgent;
  let provider: AnthropicProvider;
  let sent: Array<{ path: string; headers: Record<string, string>; body: Record<string, unknown> }>;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    sent = [];
    provider = new AnthropicProvider({ name: 'anthropic', baseUrl: `${origin}/`, apiKey: 'sk-ant-test', headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' }, dispatcher: agent });
  });
  afterEach(async () => agent.close());

  function answer(status: number, body: string | Buffer, contentType = 'application/json', headers: Record<string, string> = {}) {
    agent
      .get(origin)
      .intercept({ path: '/v1/messages', method: 'POST' })
      .reply((options) => {
        sent.push({ path: options.path, headers: options.headers as Record<string, string>, body: JSON.parse(String(options.body)) as Record<string, unknown> });
        return { statusCode: status, data: body, responseOptions: { headers: { 'content-type': contentType, ...headers } } };
      });
  }

  it('posts to /v1/messages with x-api-key, anthropic-version and the operator headers, and converts the answer', async () => {
    answer(200, fixture('text-message.json'));
    const request: ChatRequest = { model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] };
    const result = await provider.chat(request, 'claude-sonnet-4-0', newCall());
    expect(sent[0]?.headers['x-api-key']).toBe('sk-ant-test');
    expect(sent[0]?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent[0]?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(sent[0]?.headers.authorization).toBeUndefined();
    expect(sent[0]?.body).toMatchObject({ model: 'claude-sonnet-4-0', max_tokens: 64_000, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    expect(result.completion().choices[0]?.message.content).toBe('Hello! How can I help you today?');
    expect(JSON.parse(result.body.toString('utf8'))).toEqual(result.completion());
    expect(result.usage?.prompt_tokens).toBe(2112);
  });

  it('streams OpenAI chunks from the SSE answer', async () => {
    answer(200, fixture('text-stream.sse'), 'text/event-stream');
    const parts = await provider.chatStream({ model: 'c', messages: [{ role: 'user', content: 'hi' }], stream: true }, 'claude-sonnet-4-0', newCall());
    const collected: StreamPart[] = [];
    for (let next = await parts.next(); next.done !== true; next = await parts.next()) collected.push(next.value);
    expect(sent[0]?.body.stream).toBe(true);
    expect(sent[0]?.headers.accept).toBe('text/event-stream');
    expect(collected.at(-1)?.usageOnly).toBe(true);
  });

  it('classifies an error answer', async () => {
    answer(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    const error = await provider.chat({ model: 'c', messages: [{ role: 'user', content: 'hi' }] }, 'm', newCall()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'provider_internal', status: 529 });
  });

  it('refuses embeddings and legacy completions with a 400 that says why', async () => {
    for (const attempt of [() => provider.embeddings(), () => provider.completions()]) {
      const error = (await attempt().catch((caught: unknown) => caught)) as UpstreamError;
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error).toMatchObject({ reason: 'invalid_request', status: 400 });
      expect(error.upstreamMessage).toMatch(/Anthropic, which has no (embeddings|legacy completions) endpoint/);
    }
    expect(sent).toHaveLength(0);
  });

  it('passes a Messages request through with only the model replaced, JSON answer untouched', async () => {
    const bytes = fixture('text-message.json');
    answer(200, bytes);
    const body = { model: 'claude-sonnet-4', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], top_k: 5, metadata: { user_id: 'u' } };
    const result = await provider.messages(body, 'claude-sonnet-4-0', newCall());
    expect(sent[0]?.body).toEqual({ ...body, model: 'claude-sonnet-4-0' });
    expect(result.kind).toBe('json');
    if (result.kind === 'json') {
      expect(result.body.equals(bytes)).toBe(true);
      expect(result.usage).toMatchObject({ prompt_tokens: 2112, completion_tokens: 10 });
    }
  });

  it('relays a passthrough stream byte for byte', async () => {
    const bytes = fixture('tool-use-stream.sse');
    answer(200, bytes, 'text/event-stream');
    const result = (await provider.messages({ model: 'x', max_tokens: 5, messages: [], stream: true }, 'claude-sonnet-4-0', newCall())) as RawStream;
    expect(result.kind).toBe('raw-stream');
    const received: Buffer[] = [];
    for await (const chunk of result.body) received.push(chunk);
    expect(Buffer.concat(received).equals(bytes)).toBe(true);
  });

  it('fails a passthrough stream whose first event is an error, before anything is relayed', async () => {
    answer(200, fixture('overloaded-first-event.sse'), 'text/event-stream');
    const error = await provider.messages({ model: 'x', max_tokens: 5, messages: [], stream: true }, 'm', newCall()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'provider_internal', status: 529 });
  });
});
