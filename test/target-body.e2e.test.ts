import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const question = [{ role: 'user' as const, content: 'One line, please.' }];

/**
 * Fields a target adds to what its upstream receives: DeepSeek's own API, which retired the names
 * `deepseek-chat` and `deepseek-reasoner` and serves both models as `deepseek-flash` with thinking
 * off or on, and a target's `body` in relay.yaml.
 */
describe('the fields a target adds to the upstream body', () => {
  describe('DeepSeek served directly (DEEPSEEK_API_KEY)', () => {
    const deepseek = new MockOpenAIUpstream();
    let relay: StartedRelay;
    let openai: OpenAI;
    const sent = () => deepseek.requests.filter((entry) => entry.path === '/v1/chat/completions').map((entry) => entry.body);

    beforeAll(async () => {
      await deepseek.start();
      relay = await startRelay({ DEEPSEEK_API_KEY: 'ds-upstream-key-0123456789', DEEPSEEK_BASE_URL: deepseek.url });
      openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    });
    afterAll(async () => {
      await relay.close();
      await deepseek.stop();
    });
    beforeEach(() => deepseek.reset());

    it('sends deepseek-v3.2 (and its alias deepseek-chat) as deepseek-flash with thinking off, JSON and streamed', async () => {
      const completion = await openai.chat.completions.create({ model: 'deepseek-v3.2', messages: question });
      expect(completion.choices[0]?.message.content).toBeTruthy();
      const stream = await openai.chat.completions.create({ model: 'deepseek-chat', messages: question, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).not.toBe('');
      expect(sent()).toHaveLength(2);
      for (const body of sent()) expect(body).toMatchObject({ model: 'deepseek-flash', thinking: { type: 'disabled' } });
      expect(sent()[1]).toMatchObject({ stream: true });
    });

    it('sends deepseek-reasoner as deepseek-flash with thinking on', async () => {
      await openai.chat.completions.create({ model: 'deepseek-reasoner', messages: question });
      expect(sent()[0]).toMatchObject({ model: 'deepseek-flash', thinking: { type: 'enabled' } });
    });

    it("keeps a client's own value of such a field", async () => {
      await openai.chat.completions.create({ model: 'deepseek-v3.2', messages: question, ...({ thinking: { type: 'enabled' } } as object) });
      expect(sent()[0]).toMatchObject({ model: 'deepseek-flash', thinking: { type: 'enabled' } });
    });

    it('adds the fields to a /v1/messages request translated for DeepSeek', async () => {
      const anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
      const message = await anthropic.messages.create({ model: 'deepseek-v3.2', max_tokens: 200, messages: question });
      expect(message.content[0]).toMatchObject({ type: 'text' });
      expect(sent()[0]).toMatchObject({ model: 'deepseek-flash', thinking: { type: 'disabled' }, max_tokens: 200 });
    });
  });

  describe("a route target's body in relay.yaml", () => {
    const local = new MockOpenAIUpstream();
    const holysheep = new MockOpenAIUpstream();
    let relay: StartedRelay;
    let openai: OpenAI;

    beforeAll(async () => {
      await Promise.all([local.start(), holysheep.start()]);
      const directory = mkdtempSync(join(tmpdir(), 'relay-target-body-'));
      writeFileSync(
        join(directory, 'relay.yaml'),
        [
          'providers:',
          `  local: { type: openai, baseUrl: "${local.url}" }`,
          'models:',
          '  qwen-local:',
          '    targets:',
          '      - { provider: local, model: qwen3, body: { chat_template_kwargs: { enable_thinking: false }, top_k: 20 } }',
          '',
        ].join('\n'),
      );
      relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: holysheep.url }, directory);
      openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    });
    afterAll(async () => {
      await relay.close();
      await Promise.all([local.stop(), holysheep.stop()]);
    });
    beforeEach(() => {
      local.reset();
      holysheep.reset();
    });

    it('adds them to chat (JSON and streamed), completions and embeddings, keeping what the client sent', async () => {
      await openai.chat.completions.create({ model: 'qwen-local', messages: question });
      const stream = await openai.chat.completions.create({ model: 'qwen-local', messages: question, stream: true, ...({ top_k: 5 } as object) });
      for await (const chunk of stream) void chunk;
      await openai.completions.create({ model: 'qwen-local', prompt: 'Say hi' });
      await openai.embeddings.create({ model: 'qwen-local', input: 'hi' });
      const bodies = local.requests.map((entry) => [entry.path, entry.body] as const);
      expect(bodies.map(([path]) => path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/completions', '/v1/embeddings']);
      expect(bodies[0]![1]).toMatchObject({ model: 'qwen3', chat_template_kwargs: { enable_thinking: false }, top_k: 20 });
      expect(bodies[1]![1]).toMatchObject({ model: 'qwen3', chat_template_kwargs: { enable_thinking: false }, top_k: 5 });
      expect(bodies[2]![1]).toMatchObject({ model: 'qwen3', prompt: 'Say hi', top_k: 20 });
      expect(bodies[3]![1]).toMatchObject({ model: 'qwen3', input: 'hi', top_k: 20 });
    });

    it('adds nothing where the target has no body: an aggregator gets the public name as the client sent it', async () => {
      await openai.chat.completions.create({ model: 'deepseek-v3.2', messages: question });
      expect(holysheep.requests[0]?.body).toMatchObject({ model: 'deepseek-v3.2' });
      expect(holysheep.requests[0]?.body).not.toHaveProperty('thinking');
    });
  });
});
