import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mp3File, pdfFile, wavFile } from './support/media-files.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import type { StartedRelay } from './support/start-relay.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';

/** A screenshot as a client sends it: ~600 KB of base64, which read as text would be ~200 000 tokens. */
const screenshot = 'iVBORw0KGgo'.padEnd(600_000, 'A');

/**
 * What admission reserves for a prompt with images, read from the `x-ratelimit-remaining-tokens` of
 * a key with a TPM limit of 100 000: an image counts as 5000 tokens, however many bytes it takes.
 */
describe('prompts with images, audio and PDFs, against a TPM limit', () => {
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

  /** What a request's prompt was held at: the TPM limit, less what is left, less its max_tokens (100). */
  const heldPrompt = (headers: Headers) => 100_000 - Number(headers.get('x-ratelimit-remaining-tokens')) - 100;

  it('admits a minute of speech sent as input_audio, holding it by its length, not by its base64', async () => {
    const client = new OpenAI({ apiKey: await newKey(), baseURL: relay.baseURL, maxRetries: 0 });
    // 1.9 MB of WAV (2.6 MB of base64): ~850 000 tokens read as text, refused by any TPM limit here.
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4.1', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'Transcribe this.' }, { type: 'input_audio', input_audio: { data: wavFile(60).toString('base64'), format: 'wav' } }] }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain('echo');
    // 60 s at 32 tokens a second, with the text and the message's framing.
    expect(heldPrompt(response.headers)).toBeGreaterThan(1920);
    expect(heldPrompt(response.headers)).toBeLessThan(1920 + 60);

    const mp3 = await client.chat.completions
      .create({ model: 'gpt-4.1', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: mp3File(30, 128).toString('base64'), format: 'mp3' } }] }] })
      .withResponse();
    expect(heldPrompt(mp3.response.headers)).toBeGreaterThan(960);
    expect(heldPrompt(mp3.response.headers)).toBeLessThan(960 + 60);
  });

  it('holds a PDF sent to /v1/messages at 3000 tokens a page', async () => {
    const client = new Anthropic({ apiKey: await newKey(), baseURL: relay.url, maxRetries: 0 });
    const { data, response } = await client.messages
      .create({
        model: 'gpt-4.1',
        max_tokens: 100,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdfFile(3).toString('base64') } }, { type: 'text', text: 'Summarise the report.' }] }],
      })
      .withResponse();
    expect(data.type).toBe('message');
    expect(heldPrompt(response.headers)).toBeGreaterThan(9000);
    expect(heldPrompt(response.headers)).toBeLessThan(9000 + 60);
  });

  it('counts a PDF for count_tokens by its pages, whatever its size', async () => {
    const client = new Anthropic({ apiKey: await newKey(), baseURL: relay.url, maxRetries: 0 });
    const count = async (pdf: Buffer) =>
      (await client.messages.countTokens({ model: 'gpt-4.1', messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf.toString('base64') } }] }] })).input_tokens;
    // 2300 a page, and the message's 3; the same pages with 1 MB more of fonts and pictures count the same.
    expect(await count(pdfFile(4))).toBe(4 * 2300 + 3);
    expect(await count(Buffer.concat([pdfFile(4, true), Buffer.alloc(1_000_000, 0x20)]))).toBe(4 * 2300 + 3);
  });

  it('holds a PDF file part of the chat API by its pages, read from its compressed object streams', async () => {
    const client = new OpenAI({ apiKey: await newKey(), baseURL: relay.baseURL, maxRetries: 0 });
    const pdf = pdfFile(12, true);
    // Padded as a real document's fonts and pictures pad it: 1.2 MB, ~530 000 tokens read as text.
    const padded = Buffer.concat([pdf, Buffer.alloc(1_200_000, 0x20)]);
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4.1', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${padded.toString('base64')}` } }] }] })
      .withResponse();
    expect(heldPrompt(response.headers)).toBeGreaterThan(36_000);
    expect(heldPrompt(response.headers)).toBeLessThan(36_000 + 60);
  });

  it('bills a stream cut before its usage for the image as an image, not for its base64 read as text', async () => {
    const created = await adminJson<{ id: string; key: string }>(relay.url, '/admin/keys', 'POST', { name: 'cut-vision' });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    upstream.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1',
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe it.' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${screenshot}` } }] }],
    });
    const failure = await (async () => {
      for await (const _chunk of stream) {
        // read until the cut
      }
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    type Row = { requests: number; prompt_tokens: number; completion_tokens: number };
    const row = async () => (await adminJson<{ data: Row[] }>(relay.url, `/admin/usage?group_by=key&key=${created.id}`)).data[0];
    await expect.poll(async () => (await row())?.requests).toBe(1);
    // The image (5000), "Describe it." and the parts' JSON, the message's framing: not ~400 000 tokens of base64.
    const prompt = (await row())!.prompt_tokens;
    expect(prompt).toBeGreaterThan(5000);
    expect(prompt).toBeLessThan(5100);
    expect((await row())!.completion_tokens).toBeGreaterThan(0);
  });

  it('counts a long run of one letter for count_tokens without stopping the relay', async () => {
    const client = new Anthropic({ apiKey: await newKey(), baseURL: relay.url, maxRetries: 0 });
    // Given whole to the encoder, 50 000 letters without a break would take it many minutes.
    const { input_tokens } = await client.messages.countTokens({ model: 'gpt-4.1', messages: [{ role: 'user', content: `Sequence: ${'A'.repeat(50_000)}` }] });
    expect(input_tokens).toBeGreaterThan(33_334);
    expect(input_tokens).toBeLessThan(33_400);
  });

  it("bills a cut stream's degenerate answer (one letter, over and over) for what it delivered", async () => {
    const created = await adminJson<{ id: string; key: string }>(relay.url, '/admin/keys', 'POST', { name: 'degenerate' });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    const chunk = (delta: Record<string, unknown>) => ({ id: 'chatcmpl-a', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: null }] });
    // The upstream ends the stream after 30 000 a's, with no usage and no [DONE].
    upstream.next({ kind: 'events', events: [chunk({ role: 'assistant', content: '' }), chunk({ content: 'a'.repeat(30_000) })], done: false });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'Say a.' }] });
    let text = '';
    await (async () => {
      for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
    })().catch(() => undefined);
    expect(text).toBe('a'.repeat(30_000));
    type Row = { requests: number; completion_tokens: number };
    const row = async () => (await adminJson<{ data: Row[] }>(relay.url, `/admin/usage?group_by=key&key=${created.id}`)).data[0];
    await expect.poll(async () => (await row())?.requests).toBe(1);
    expect((await row())!.completion_tokens).toBe(20_000);
  });
});
