import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MockGeminiUpstream } from './support/mock-gemini-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const geminiKey = 'AIzaSy-upstream-gemini-secret-dropped-0123';

/**
 * A parameter the chosen upstream cannot honour is dropped and named in `x-relay-dropped-params`.
 * Its name is the client's (a field of its JSON body, a content part's or a tool's `type`), so it may
 * hold any character: like `x-relay-model`, the header must carry it percent-encoded where it is not
 * printable ASCII, and the answer the upstream gave (and the key was charged for) must reach the
 * client, never a 500.
 */
describe('x-relay-dropped-params naming a parameter the client spelled with characters a header cannot hold', () => {
  const gemini = new MockGeminiUpstream(geminiKey);
  const openai = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let client: OpenAI;

  beforeAll(async () => {
    await gemini.start();
    await openai.start();
    relay = await startRelay({ GEMINI_API_KEY: geminiKey, GEMINI_BASE_URL: gemini.origin, OPENAI_API_KEY: 'sk-upstream-openai-dropped-0123456789', OPENAI_BASE_URL: openai.url, MAX_RETRIES: '0' });
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await gemini.stop();
    await openai.stop();
  });
  beforeEach(() => gemini.reset());

  it('answers a Gemini chat request with a parameter named in Chinese, and names it percent-encoded', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hello' }], 温度: 0.2 } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello');
    expect(response.headers.get('x-relay-dropped-params')).toBe('%E6%B8%A9%E5%BA%A6');
    expect(gemini.requests).toHaveLength(1);
  });

  it('streams a Gemini chat answer to a request with a parameter named in Chinese, rather than sending nothing until the client gives up', { timeout: 30_000 }, async () => {
    const patient = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0, timeout: 10_000 });
    const { data: stream, response } = await patient.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hello' }], stream: true, 温度: 0.2 } as OpenAI.ChatCompletionCreateParamsStreaming)
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: hello');
    expect(response.headers.get('x-relay-dropped-params')).toBe('%E6%B8%A9%E5%BA%A6');
  });

  it('answers a Gemini chat request whose parameter name holds a line break, without letting it end the header', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hello' }], 'seed\r\nx-injected: 1': 1 } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello');
    expect(response.headers.get('x-injected')).toBeNull();
    expect(response.headers.get('x-relay-dropped-params')).toBe('seed%0D%0Ax-injected: 1');
  });

  it('keeps a parameter whose name holds a comma one name in the list, its comma percent-encoded', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hello' }], 'top,k': 1, logprobs: true } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(response.headers.get('x-relay-dropped-params')?.split(',').sort()).toEqual(['logprobs', 'top%2Ck']);
  });

  it('answers an Anthropic SDK request translated for an OpenAI-compatible upstream, with a field named in Chinese', async () => {
    const anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
    const { data, response } = await anthropic.messages
      .create({ model: 'gpt-4.1', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }], 温度: 0.2 } as Anthropic.MessageCreateParamsNonStreaming)
      .withResponse();
    expect(data.type).toBe('message');
    expect(response.headers.get('x-relay-dropped-params')).toBe('%E6%B8%A9%E5%BA%A6');
  });
});
