import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import type { StartedRelay } from './support/start-relay.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';

/** A screenshot as a client sends it: ~600 KB of base64, which read as text would be ~200 000 tokens. */
const screenshot = 'iVBORw0KGgo'.padEnd(600_000, 'A');

/**
 * What admission reserves for a prompt with images, read from the `x-ratelimit-remaining-tokens` of
 * a key with a TPM limit of 100 000: an image counts as 5000 tokens, however many bytes it takes.
 */
describe('prompts with images, against a TPM limit', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    relay = await startLimitedRelay({ directory: mkdtempSync(join(tmpdir(), 'relay-prompt-estimate-')), yaml: 'ledger:\n  flushIntervalMs: 50\n', limits: 'memory', upstreamUrl: upstream.url });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  /** A new key (its own TPM window) allowing 100 000 tokens a minute. */
  async function newKey(): Promise<string> {
    return (await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'vision', tpm: 100_000 })).key;
  }

  it('admits a screenshot sent as base64 to the chat API, holding it as an image, not as its bytes', async () => {
    key = await newKey();
    const client = new OpenAI({ apiKey: key, baseURL: relay.baseURL, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4.1', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is on this screen?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${screenshot}` } }] }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain('echo');
    const remaining = Number(response.headers.get('x-ratelimit-remaining-tokens'));
    // 100 000 − 5000 for the image − 100 for max_tokens − a few dozen for the text and the framing.
    expect(remaining).toBeLessThan(100_000 - 5000 - 100);
    expect(remaining).toBeGreaterThan(100_000 - 5000 - 100 - 100);
  });

  it('holds an image given by URL at the same 5000 tokens, not at the few bytes of its URL', async () => {
    const client = new OpenAI({ apiKey: await newKey(), baseURL: relay.baseURL, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4.1', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] })
      .withResponse();
    const remaining = Number(response.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeLessThan(100_000 - 5000 - 100);
    expect(remaining).toBeGreaterThan(100_000 - 5000 - 100 - 100);
  });

  it("admits Claude Code's screenshot in a tool result at /v1/messages", async () => {
    const client = new Anthropic({ apiKey: await newKey(), baseURL: relay.url, maxRetries: 0 });
    const { data, response } = await client.messages
      .create({
        model: 'gpt-4.1',
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'Look at the screenshot.' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/tmp/screen.png' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: screenshot } }] }] },
        ],
        tools: [{ name: 'Read', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } }],
      })
      .withResponse();
    expect(data.type).toBe('message');
    const remaining = Number(response.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeLessThan(100_000 - 5000 - 100);
    expect(remaining).toBeGreaterThan(100_000 - 5000 - 100 - 200);
  });
});
