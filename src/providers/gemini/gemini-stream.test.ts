import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { StreamPart } from '../provider.js';
import { readGeminiStream, type GeminiStreamOptions } from './gemini-stream.js';

function fixture(name: string): Buffer {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
}

const options: GeminiStreamOptions = { provider: 'gemini', model: 'gemini-2.5-flash', completionId: 'chatcmpl-s', created: 1700000000, toolCallIdPrefix: 'call_s_' };

async function* from(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) yield chunk;
}

async function collect(chunks: Buffer[], streamOptions: GeminiStreamOptions = options): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of readGeminiStream(from(chunks), streamOptions)) parts.push(part);
  return parts;
}

function chunksOf(parts: StreamPart[]): ChatCompletionChunk[] {
  return parts.map((part) => JSON.parse(part.data) as ChatCompletionChunk);
}

/** The same bytes cut in two at every position, and one byte at a time. */
function awkwardSplits(bytes: Buffer): Buffer[][] {
  const splits: Buffer[][] = [];
  for (let position = 1; position < bytes.length; position++) splits.push([bytes.subarray(0, position), bytes.subarray(position)]);
  splits.push([...bytes].map((byte) => Buffer.from([byte])));
  return splits;
}

describe('readGeminiStream', () => {
  it('streams text deltas, the role first, the finish reason last, then a usage-only chunk', async () => {
    const parts = await collect([fixture('stream-text.sse')]);
    const chunks = chunksOf(parts);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: 'The capital' },
      { content: ' of France is Paris — city of light. ' },
      { content: 'Ça va?' },
      {},
      undefined,
    ]);
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason ?? null)).toEqual([null, null, null, 'stop', null]);
    expect(chunks.every((chunk) => chunk.id === 'chatcmpl-s' && chunk.object === 'chat.completion.chunk' && chunk.model === 'gemini-2.5-flash')).toBe(true);
    const last = parts.at(-1)!;
    expect(last.usageOnly).toBe(true);
    expect(last.usage).toEqual({ prompt_tokens: 9, completion_tokens: 42, total_tokens: 51, completion_tokens_details: { reasoning_tokens: 28 } });
    expect(chunksOf([last])[0]).toMatchObject({ choices: [], usage: last.usage });
    expect(parts.slice(0, -1).every((part) => part.usage === undefined)).toBe(true);
  });

  it('gives the same parts whatever the byte boundaries (multi-byte characters and CRLF cut in half)', async () => {
    const bytes = fixture('stream-text.sse');
    const expected = await collect([bytes]);
    for (const split of awkwardSplits(bytes)) expect(await collect(split)).toEqual(expected);
  });

  it('streams function calls as complete tool-call deltas with their index, ignoring thoughts, and finishes with tool_calls', async () => {
    const remembered: string[] = [];
    const bytes = fixture('stream-function-call.sse');
    const parts = await collect([bytes], { ...options, rememberSignature: (id, signature) => remembered.push(`${id}=${signature}`) });
    const chunks = chunksOf(parts);
    expect(chunks[0]?.choices[0]).toEqual({
      index: 0,
      delta: {
        role: 'assistant',
        content: null,
        tool_calls: [
          { index: 0, id: 'call_s_0', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          { index: 1, id: 'call_s_1', type: 'function', function: { name: 'get_time', arguments: '{"timezone":"Europe/Paris"}' } },
        ],
      },
      finish_reason: null,
      logprobs: null,
    });
    expect(chunks[1]?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(parts.at(-1)?.usage).toEqual({ prompt_tokens: 70, completion_tokens: 50, total_tokens: 120, completion_tokens_details: { reasoning_tokens: 22 } });
    expect(remembered).toEqual(['call_s_0=CiQBVKhc7stream0signature']);
    for (const split of awkwardSplits(bytes).slice(0, 200)) expect(await collect(split)).toEqual(await collect([bytes]));
  });

  it('skips candidates that are not objects, as an untrusted upstream may send', async () => {
    const stream = 'data: {"candidates":[null]}\n\ndata: {"candidates":[{"content":{"role":"model","parts":[{"text":"kept"}]},"finishReason":"STOP"}]}\n\n';
    const chunks = chunksOf(await collect([Buffer.from(stream)]));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('kept');
  });

  it('ends a safety stop with content_filter', async () => {
    const chunks = chunksOf(await collect([fixture('stream-safety.sse')]));
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason ?? null)).toEqual([null, 'content_filter', null]);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: 'Step one is' });
  });

  it('answers a blocked prompt with one empty content_filter chunk', async () => {
    const event = 'data: {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},"usageMetadata": {"promptTokenCount": 6,"totalTokenCount": 6}}\r\n\r\n';
    const parts = await collect([Buffer.from(event)]);
    expect(chunksOf(parts)[0]?.choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'content_filter', logprobs: null }]);
    expect(parts[1]?.usage).toEqual({ prompt_tokens: 6, completion_tokens: 0, total_tokens: 6 });
  });

  it('fails on an error event with the classified reason, after yielding what came before', async () => {
    const parts: StreamPart[] = [];
    let error: unknown;
    try {
      for await (const part of readGeminiStream(from([fixture('stream-error.sse')]), options)) parts.push(part);
    } catch (caught) {
      error = caught;
    }
    expect(chunksOf(parts)[0]?.choices[0]?.delta.content).toBe('Once upon');
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'provider_internal', status: 503, upstreamMessage: 'The model is overloaded. Please try again later.' });
  });

  it('fails a stream that ends without a finish reason as cut', async () => {
    const bytes = fixture('stream-text.sse');
    const cut = bytes.subarray(0, bytes.indexOf('data:', 10));
    await expect(collect([cut])).rejects.toMatchObject({ reason: 'network' });
  });

  it('fails on an event that is not JSON', async () => {
    await expect(collect([Buffer.from('data: {"candidates": [\n\n')])).rejects.toMatchObject({ reason: 'provider_internal' });
  });
});
