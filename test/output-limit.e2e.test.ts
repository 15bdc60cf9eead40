import Anthropic, { RateLimitError as AnthropicRateLimitError } from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { BadRequestError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** What Claude Code and other Anthropic clients send: a limit sized for Claude. */
const claudeSized = 32_000;
const question = [{ role: 'user' as const, content: 'Summarise the design in one line.' }];

/**
 * Anthropic and OpenAI clients in front of OpenAI-compatible upstreams that refuse, as OpenAI and
 * DeepSeek do, a `max_tokens` above their model's output limit: HolySheep serving `gpt-4o`
 * (16384, a limit the relay knows) and a DeepSeek provider serving `deepseek-chat` (8192, a limit
 * only relay.yaml gives, on the `deepseek-v3.2` route; `deepseek-raw` routes to it without one).
 */
describe('output limits of the upstream models', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let anthropic: Anthropic;
  let openai: OpenAI;
  const limits = {
    'gpt-4o': { limit: 16_384, vendor: 'openai' },
    'gpt-4o-2024-05-13': { limit: 4_096, vendor: 'openai' },
    'deepseek-chat': { limit: 8_192, vendor: 'deepseek' },
    'Qwen/Qwen3-8B': { limit: 20_000, vendor: 'vllm' },
  } as const;
  const received = () => upstream.requests.filter((entry) => entry.path === '/v1/chat/completions').map((entry) => entry.body);

  beforeAll(async () => {
    await upstream.start();
    const directory = mkdtempSync(join(tmpdir(), 'relay-output-limit-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      [
        'providers:',
        `  deepseek: { type: openai, baseUrl: "${upstream.url}", apiKey: "ds-upstream-key-0123456789" }`,
        'models:',
        '  deepseek-v3.2:',
        '    targets:',
        '      - { provider: deepseek, model: deepseek-chat, maxOutputTokens: 8192 }',
        '  deepseek-raw:',
        '    targets:',
        '      - { provider: deepseek, model: deepseek-chat }',
        '  gpt-4o-first:',
        '    targets:',
        '      - { provider: deepseek, model: gpt-4o-2024-05-13 }',
        '  reasoner:',
        '    targets:',
        '      - { provider: deepseek, model: reasoner-prod }',
        '  reasoner-chat:',
        '    targets:',
        '      - { provider: deepseek, model: reasoner-chat-prod }',
        '  qwen-local:',
        '    targets:',
        '      - { provider: deepseek, model: Qwen/Qwen3-8B }',
        'billing:',
        '  prices:',
        '    gpt-4o: { input: 1, output: 1 }',
        '',
      ].join('\n'),
    );
    const store = await openStore({ sqlitePath: join(directory, 'data', 'relay.db') });
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url }, directory, { store });
    // An explicit timeout, as the SDK wants for a non-streamed request this large.
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0, timeout: 30_000 });
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });
  beforeEach(() => {
    upstream.reset();
    upstream.setOutputLimits(limits);
  });

  describe('/v1/messages translated to chat', () => {
    it('lowers a Claude-sized max_tokens to the known limit of gpt-4o, and the answer comes back', async () => {
      const message = await anthropic.messages.create({ model: 'gpt-4o', max_tokens: claudeSized, messages: question });
      expect(message.content).toEqual([{ type: 'text', text: `echo: ${question[0]!.content}` }]);
      expect(message.stop_reason).toBe('end_turn');
      expect(received()).toHaveLength(1);
      expect(received()[0]).toMatchObject({ model: 'gpt-4o', max_tokens: 16_384 });
    });

    it('lowers it in a stream too', async () => {
      const stream = anthropic.messages.stream({ model: 'gpt-4o', max_tokens: claudeSized, messages: question });
      const message = await stream.finalMessage();
      expect(message.content[0]).toMatchObject({ type: 'text' });
      expect(message.stop_reason).toBe('end_turn');
      expect(received()[0]).toMatchObject({ model: 'gpt-4o', stream: true, max_tokens: 16_384 });
    });

    it('sends a max_tokens within the limit as it came', async () => {
      await anthropic.messages.create({ model: 'gpt-4o', max_tokens: 1_000, messages: question });
      expect(received()[0]).toMatchObject({ max_tokens: 1_000 });
    });

    it("lowers it to the route target's maxOutputTokens from relay.yaml, JSON and streamed", async () => {
      const message = await anthropic.messages.create({ model: 'deepseek-v3.2', max_tokens: claudeSized, messages: question });
      expect(message.content[0]).toMatchObject({ type: 'text' });
      const streamed = await anthropic.messages.stream({ model: 'deepseek-v3.2', max_tokens: claudeSized, messages: question }).finalMessage();
      expect(streamed.stop_reason).toBe('end_turn');
      expect(received()).toMatchObject([
        { model: 'deepseek-chat', max_tokens: 8_192 },
        { model: 'deepseek-chat', max_tokens: 8_192, stream: true },
      ]);
    });

    it("learns the limit of a model it does not know from the upstream's refusal: sent again with it, and its next requests with it at once", async () => {
      const message = await anthropic.messages.create({ model: 'deepseek-raw', max_tokens: claudeSized, messages: question }).withResponse();
      expect(message.data.content[0]).toMatchObject({ type: 'text' });
      expect(message.response.headers.get('x-relay-attempts')).toBe('1');
      expect(received()).toMatchObject([
        { model: 'deepseek-chat', max_tokens: claudeSized },
        { model: 'deepseek-chat', max_tokens: 8_192 },
      ]);
      upstream.reset();
      upstream.setOutputLimits(limits);
      const streamed = await anthropic.messages.stream({ model: 'deepseek-raw', max_tokens: claudeSized, messages: question }).finalMessage();
      expect(streamed.stop_reason).toBe('end_turn');
      expect(received()).toMatchObject([{ model: 'deepseek-chat', max_tokens: 8_192, stream: true }]);
    });

    it("sends max_tokens as max_completion_tokens to a reasoning model that refuses the first under a name the relay does not know, and its next requests so at once", async () => {
      const message = await anthropic.messages.create({ model: 'reasoner', max_tokens: 1_000, messages: question }).withResponse();
      expect(message.data.content[0]).toMatchObject({ type: 'text' });
      expect(message.response.headers.get('x-relay-dropped-params')).toBeNull();
      expect(received()).toEqual([expect.objectContaining({ max_tokens: 1_000 }), expect.objectContaining({ max_completion_tokens: 1_000 })]);
      expect(received()[1]).not.toHaveProperty('max_tokens');
      upstream.reset();
      await anthropic.messages.stream({ model: 'reasoner', max_tokens: 1_000, messages: question }).finalMessage();
      expect(received()).toEqual([expect.objectContaining({ max_completion_tokens: 1_000, stream: true })]);
      expect(received()[0]).not.toHaveProperty('max_tokens');
    });

    it("lowers it to what a server's context window leaves after the prompt (vLLM), for that request only", async () => {
      for (let round = 0; round < 2; round++) {
        upstream.reset();
        upstream.setOutputLimits(limits);
        const message = await anthropic.messages.create({ model: 'qwen-local', max_tokens: claudeSized, messages: question });
        expect(message.content[0]).toMatchObject({ type: 'text' });
        const [first, second] = received();
        expect(first).toMatchObject({ model: 'Qwen/Qwen3-8B', max_tokens: claudeSized });
        expect(second!.max_tokens).toBeLessThan(20_000);
        expect(second!.max_tokens).toBeGreaterThan(19_900);
      }
    });
  });

  describe('/v1/responses translated to chat', () => {
    it('lowers max_output_tokens to the limit of gpt-4o, JSON and streamed', async () => {
      const response = await openai.responses.create({ model: 'gpt-4o', max_output_tokens: claudeSized, input: 'hello' });
      expect(response.status).toBe('completed');
      expect(response.output_text).toBe('echo: hello');
      const stream = await openai.responses.create({ model: 'gpt-4o', max_output_tokens: claudeSized, input: 'hello', stream: true });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      expect(types.at(-1)).toBe('response.completed');
      expect(received()).toMatchObject([
        { model: 'gpt-4o', max_tokens: 16_384 },
        { model: 'gpt-4o', max_tokens: 16_384, stream: true },
      ]);
    });
  });

  describe('/v1/responses, a limit learnt from the refusal', () => {
    it("sends max_output_tokens again at the limit OpenAI's refusal names, and the next request with it at once", async () => {
      const response = await openai.responses.create({ model: 'gpt-4o-first', max_output_tokens: claudeSized, input: 'hello' });
      expect(response.status).toBe('completed');
      expect(received()).toMatchObject([{ max_tokens: claudeSized }, { max_tokens: 4_096 }]);
      upstream.reset();
      upstream.setOutputLimits(limits);
      await openai.responses.create({ model: 'gpt-4o-first', max_output_tokens: claudeSized, input: 'hello' });
      expect(received()).toMatchObject([{ max_tokens: 4_096 }]);
    });
  });

  describe('/v1/chat/completions', () => {
    it("passes the client's max_tokens through, and the upstream's refusal is the answer", async () => {
      const error = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens: claudeSized, messages: question }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toContain('max_tokens is too large: 32000. This model supports at most 16384 completion tokens');
      expect(received()[0]).toMatchObject({ model: 'gpt-4o', max_tokens: claudeSized });
    });

    it('sends the output limit in the one field the model takes: max_tokens to other servers, max_completion_tokens to OpenAI reasoning models', async () => {
      await openai.chat.completions.create({ model: 'deepseek-raw', max_completion_tokens: 1_000, messages: question });
      await openai.chat.completions.create({ model: 'gpt-5', max_tokens: 1_000, messages: question });
      await openai.chat.completions.create({ model: 'gpt-5', max_tokens: 1_000, max_completion_tokens: 2_000, messages: question });
      const stream = await openai.chat.completions.create({ model: 'deepseek-raw', max_completion_tokens: 1_000, messages: question, stream: true });
      for await (const _chunk of stream) {
        // drain
      }
      const limits = received().map((body) => [body.model, body.max_tokens, body.max_completion_tokens]);
      expect(limits).toEqual([
        ['deepseek-chat', 1_000, undefined],
        ['gpt-5', undefined, 1_000],
        // Both given: the one admission reserved, alone.
        ['gpt-5', undefined, 2_000],
        ['deepseek-chat', 1_000, undefined],
      ]);
    });

    it('sends it again as max_completion_tokens to a reasoning model that refuses max_tokens under a name the relay does not know, and its next requests so at once', async () => {
      const { response } = await openai.chat.completions.create({ model: 'reasoner-chat', max_completion_tokens: 1_000, messages: question }).withResponse();
      expect(response.headers.get('x-relay-attempts')).toBe('1');
      expect(received().map((body) => [body.max_tokens, body.max_completion_tokens])).toEqual([
        [1_000, undefined],
        [undefined, 1_000],
      ]);
      upstream.reset();
      const stream = await openai.chat.completions.create({ model: 'reasoner-chat', max_tokens: 1_000, messages: question, stream: true });
      for await (const _chunk of stream) {
        // drain
      }
      expect(received().map((body) => [body.max_tokens, body.max_completion_tokens])).toEqual([[undefined, 1_000]]);
    });
  });

  describe('admission', () => {
    /** A key whose TPM (20000) holds a lowered request (16384 and its prompt) but not a Claude-sized one. */
    async function limitedClient(): Promise<Anthropic> {
      const response = await request(`${relay.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `tpm-${Math.random()}`, tpm: 20_000 }),
      });
      expect(response.statusCode).toBe(201);
      const { key } = (await response.body.json()) as { key: string };
      return new Anthropic({ apiKey: key, baseURL: relay.url, maxRetries: 0, timeout: 30_000 });
    }

    it('reserves the lowered max_tokens, not the client’s', async () => {
      const client = await limitedClient();
      const { data, response } = await client.messages.create({ model: 'gpt-4o', max_tokens: claudeSized, messages: question }).withResponse();
      expect(data.stop_reason).toBe('end_turn');
      expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('20000');
      // 20000 − 16384 − the prompt's estimate (a few tokens for this short question).
      const remaining = Number(response.headers.get('x-ratelimit-remaining-tokens'));
      expect(remaining).toBeLessThan(20_000 - 16_384);
      expect(remaining).toBeGreaterThan(20_000 - 16_384 - 50);
    });

    it('reserves the client’s value when a fallback the request may reach has no known limit', async () => {
      const client = await limitedClient();
      const body = { model: 'gpt-4o', max_tokens: claudeSized, messages: question, fallbacks: ['deepseek-raw'] };
      const error = await client.messages.create(body as Anthropic.MessageCreateParamsNonStreaming).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AnthropicRateLimitError);
      expect(received()).toHaveLength(0);
    });
  });
});
