import { readFileSync } from 'node:fs';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { ProviderCall, StreamPart } from '../provider.js';
import { GeminiProvider } from './gemini-provider.js';

const origin = 'https://generativelanguage.googleapis.com';
const apiKey = 'AIza-test-key-0123456789';

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
}

function newCall(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return { signal: new AbortController().signal, timeoutMs: 5000, requestId: 'request-1', strict: false, dropped: [], ...overrides };
}

const chatRequest: ChatRequest = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] };

describe('GeminiProvider', () => {
  let agent: MockAgent;
  let provider: GeminiProvider;
  const seen: Array<{ path: string; headers: Record<string, string>; body: Record<string, unknown> }> = [];

  beforeEach(() => {
    seen.length = 0;
    agent = new MockAgent();
    agent.disableNetConnect();
    provider = new GeminiProvider({ name: 'gemini', baseUrl: `${origin}/v1beta/`, apiKey, headers: { 'x-extra': '1' }, dispatcher: agent });
  });
  afterEach(async () => {
    await agent.close();
  });

  function answer(pathSuffix: string, status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): void {
    agent
      .get(origin)
      .intercept({ path: (path) => path.endsWith(pathSuffix), method: 'POST' })
      .reply((options) => {
        seen.push({ path: options.path, headers: options.headers as Record<string, string>, body: JSON.parse(String(options.body)) as Record<string, unknown> });
        return { statusCode: status, data: body, responseOptions: { headers } };
      });
  }

  it('calls generateContent with the key in x-goog-api-key, never in the URL, and answers an OpenAI completion', async () => {
    answer('/v1beta/models/gemini-2.5-flash:generateContent', 200, fixture('generate-content-text.json'));
    const result = await provider.chat(chatRequest, 'gemini-2.5-flash', newCall());
    expect(seen[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(seen[0]?.path).not.toContain(apiKey);
    expect(seen[0]?.headers['x-goog-api-key']).toBe(apiKey);
    expect(seen[0]?.headers['x-extra']).toBe('1');
    expect(seen[0]?.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    expect(result.completion().choices[0]?.message.content).toBe('Hello! How can I help you today?');
    expect(result.completion().id).toBe('chatcmpl-request-1');
    expect(JSON.parse(result.body.toString('utf8'))).toEqual(result.completion());
    expect(result.usage?.total_tokens).toBe(41);
  });

  it('streams from streamGenerateContent?alt=sse', async () => {
    answer(':streamGenerateContent?alt=sse', 200, fixture('stream-text.sse'), { 'content-type': 'text/event-stream' });
    const iterator = await provider.chatStream({ ...chatRequest, stream: true }, 'gemini-2.5-flash', newCall());
    const parts: StreamPart[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) parts.push(next.value);
    expect(seen[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(seen[0]?.headers.accept).toBe('text/event-stream');
    expect(parts.at(-1)?.usageOnly).toBe(true);
  });

  it('sends the thought signature of a function call back on the next turn', async () => {
    answer(':generateContent', 200, fixture('generate-content-function-call.json'));
    const first = await provider.chat(chatRequest, 'gemini-3-pro-preview', newCall());
    const calls = first.completion().choices[0]!.message.tool_calls!;
    answer(':generateContent', 200, fixture('generate-content-text.json'));
    await provider.chat(
      {
        ...chatRequest,
        messages: [
          ...chatRequest.messages,
          { role: 'assistant', content: null, tool_calls: calls },
          { role: 'tool', tool_call_id: calls[0]!.id, content: '{"temperature":21}' },
          { role: 'tool', tool_call_id: calls[1]!.id, content: '14:05' },
        ],
      },
      'gemini-3-pro-preview',
      newCall({ requestId: 'request-2' }),
    );
    const parts = (seen[1]?.body.contents as Array<{ parts: Array<Record<string, unknown>> }>)[1]!.parts;
    expect(parts.map((part) => part.thoughtSignature)).toEqual(['CtwBAVSoXO5tHf3mN0example0signature0A==', undefined]);
  });

  it('classifies an HTTP error, and refuses in strict mode before calling upstream', async () => {
    answer(':generateContent', 400, fixture('error-api-key-invalid.json'));
    await expect(provider.chat(chatRequest, 'gemini-2.5-flash', newCall())).rejects.toMatchObject({ reason: 'auth', status: 400 });
    const strict = newCall({ strict: true });
    await expect(provider.chat({ ...chatRequest, logit_bias: { '1': 1 } }, 'gemini-2.5-flash', strict)).rejects.toMatchObject({
      reason: 'invalid_request',
      upstreamCode: 'unsupported_parameter',
      upstreamParam: 'logit_bias',
    });
    expect(seen).toHaveLength(1);
    const lenient = newCall();
    answer(':generateContent', 200, fixture('generate-content-text.json'));
    await provider.chat({ ...chatRequest, logit_bias: { '1': 1 } }, 'gemini-2.5-flash', lenient);
    expect(lenient.dropped).toEqual(['logit_bias']);
  });

  it('maps embeddings to batchEmbedContents', async () => {
    answer(':batchEmbedContents', 200, fixture('batch-embed-contents.json'));
    const result = await provider.embeddings({ model: 'gemini-embedding-001', input: ['a', 'b'], dimensions: 4 }, 'gemini-embedding-001', newCall());
    expect(seen[0]?.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect((seen[0]?.body.requests as unknown[])[0]).toEqual({ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] }, outputDimensionality: 4 });
    expect((JSON.parse(result.body.toString('utf8')) as { data: unknown[] }).data).toHaveLength(2);
  });

  it('sends more than 100 texts in batches, and fails the whole as one error when a batch fails', async () => {
    const vectors = (count: number) => JSON.stringify({ embeddings: Array.from({ length: count }, () => ({ values: [1] })) });
    answer(':batchEmbedContents', 200, vectors(100));
    answer(':batchEmbedContents', 200, vectors(20));
    const input = Array.from({ length: 120 }, (_value, index) => `text ${index}`);
    const result = await provider.embeddings({ model: 'gemini-embedding-001', input }, 'gemini-embedding-001', newCall());
    expect(seen.map((sent) => (sent.body.requests as unknown[]).length).sort((a, b) => a - b)).toEqual([20, 100]);
    expect((JSON.parse(result.body.toString('utf8')) as { data: unknown[] }).data).toHaveLength(120);

    answer(':batchEmbedContents', 200, vectors(100));
    answer(':batchEmbedContents', 503, fixture('error-unavailable.json'));
    const error = await provider.embeddings({ model: 'gemini-embedding-001', input }, 'gemini-embedding-001', newCall()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'provider_internal', status: 503 });
  });

  it('refuses legacy completions with a clear 400', async () => {
    const error = (await provider.completions({ model: 'gemini-2.5-flash', prompt: 'x' }, 'gemini-2.5-flash').catch((caught: unknown) => caught)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'invalid_request', status: 400 });
    expect(error.upstreamMessage).toMatch(/no legacy completions endpoint/);
  });
});
