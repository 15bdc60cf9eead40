import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { StreamPart } from '../provider.js';
import { readAnthropicStream } from './anthropic-stream.js';
import { ThinkingBlockCache } from './anthropic-thinking.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));

/** Feeds `bytes` in pieces of `size` bytes, so events, lines and UTF-8 characters are cut anywhere. */
async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

async function collect(bytes: Buffer, size: number, jsonToolName?: string): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of readAnthropicStream(pieces(bytes, size), 'anthropic', jsonToolName)) parts.push(part);
  return parts;
}

const chunks = (parts: StreamPart[]) => parts.map((part) => JSON.parse(part.data) as ChatCompletionChunk);
const textOf = (parts: StreamPart[]) => chunks(parts).map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');

describe('readAnthropicStream', () => {
  it.each([1, 2, 3, 7, 64, 100_000])('translates a text stream fed %i bytes at a time', async (size) => {
    const parts = await collect(fixture('text-stream.sse'), size);
    const all = chunks(parts);
    expect(all[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(all[0]).toMatchObject({ id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY', object: 'chat.completion.chunk', model: 'claude-sonnet-4-20250514' });
    expect(textOf(parts)).toBe('Hello, wörld – 你好 👋!');
    const finish = all[all.length - 2];
    expect(finish?.choices).toEqual([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    const usagePart = parts[parts.length - 1]!;
    expect(usagePart.usageOnly).toBe(true);
    expect(all[all.length - 1]?.choices).toEqual([]);
    expect(usagePart.usage).toEqual({ prompt_tokens: 32, completion_tokens: 15, total_tokens: 47, prompt_tokens_details: { cached_tokens: 7, cache_write_tokens: 0 } });
    expect(all[all.length - 1]?.usage).toEqual(usagePart.usage);
    expect(parts.filter((part) => part.usage !== undefined)).toHaveLength(1);
  });

  it.each([1, 5, 13])('numbers tool calls among tool calls, not content blocks (%i-byte pieces)', async (size) => {
    const parts = await collect(fixture('tool-use-stream.sse'), size);
    const all = chunks(parts);
    expect(textOf(parts)).toBe("Okay, let's check the weather.");
    const toolDeltas = all.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas[0]).toEqual({ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } });
    const second = toolDeltas.find((delta) => delta.index === 1);
    expect(second).toEqual({ index: 1, id: 'toolu_02U2y2gK45rBnl3uOUsO8Vq7', type: 'function', function: { name: 'get_weather', arguments: '' } });
    const argumentsOf = (index: number) => toolDeltas.filter((delta) => delta.index === index).map((delta) => delta.function?.arguments ?? '').join('');
    expect(JSON.parse(argumentsOf(0))).toEqual({ location: 'San Francisco, CA' });
    expect(JSON.parse(argumentsOf(1))).toEqual({ location: 'Paris' });
    // Only the first delta of a call carries its id and name.
    expect(toolDeltas.filter((delta) => delta.id !== undefined)).toHaveLength(2);
    expect(all.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(parts.at(-1)?.usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89 });
  });

  it('gives a forced JSON tool back as text with finish reason stop', async () => {
    const parts = await collect(fixture('tool-use-stream.sse'), 9, 'get_weather');
    const all = chunks(parts);
    expect(all.some((chunk) => chunk.choices[0]?.delta.tool_calls !== undefined)).toBe(false);
    expect(textOf(parts)).toBe('Okay, let\'s check the weather.{"location": "San Francisco, CA"}{"location": "Paris"}');
    expect(all.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('throws the classified failure of an error event after the text so far', async () => {
    const seen: StreamPart[] = [];
    let error: unknown;
    try {
      for await (const part of readAnthropicStream(pieces(fixture('error-stream.sse'), 4), 'anthropic')) seen.push(part);
    } catch (caught) {
      error = caught;
    }
    expect(textOf(seen)).toBe('Partial');
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).reason).toBe('provider_internal');
    expect((error as UpstreamError).status).toBe(529);
  });

  it('fails a stream cut before message_stop as a network failure', async () => {
    const bytes = fixture('text-stream.sse');
    const cut = bytes.subarray(0, bytes.indexOf('event: message_delta'));
    await expect(collect(cut, 10)).rejects.toMatchObject({ reason: 'network' });
  });

  it('takes input and cache counts from message_delta when Anthropic sends them there', async () => {
    const stream = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_x","model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":4}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    const parts = await collect(Buffer.from(stream), 11);
    expect(chunks(parts).at(-2)?.choices[0]?.finish_reason).toBe('length');
    expect(parts.at(-1)?.usage).toEqual({ prompt_tokens: 100, completion_tokens: 4, total_tokens: 104, prompt_tokens_details: { cached_tokens: 90, cache_write_tokens: 0 } });
  });

  it('skips a delta that is not an object, as an untrusted upstream may send, and goes on', async () => {
    const stream = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_x","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":null}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"still here"}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    expect(textOf(await collect(Buffer.from(stream), 9))).toBe('still here');
  });

  it.each([1, 6, 100_000])('sends thinking as reasoning_content and remembers the blocks of an answer that calls tools (%i-byte pieces)', async (size) => {
    const cache = new ThinkingBlockCache();
    const redacted = 'event: content_block_start\ndata: {"type":"content_block_start","index":9,"content_block":{"type":"redacted_thinking","data":"opaque"}}\n\nevent: content_block_stop\ndata: {"type":"content_block_stop","index":9}\n\n';
    const bytes = fixture('tool-use-stream.sse');
    const at = bytes.indexOf('event: content_block_start', bytes.indexOf('"index":0,"content_block"') + 10);
    const stream = Buffer.concat([bytes.subarray(0, at), Buffer.from(redacted), bytes.subarray(at)]);
    const parts: StreamPart[] = [];
    for await (const part of readAnthropicStream(pieces(stream, size), 'anthropic', undefined, cache)) parts.push(part);
    const deltas = chunks(parts).map((chunk) => chunk.choices[0]?.delta);
    expect(deltas.map((delta) => delta?.reasoning_content ?? '').join('')).toBe('I should call the weather tool twice.');
    expect(textOf(parts)).toBe("Okay, let's check the weather.");
    const blocks = [{ type: 'thinking', thinking: 'I should call the weather tool twice.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' }, { type: 'redacted_thinking', data: 'opaque' }];
    expect(cache.recall('toolu_01T1x1fJ34qAmk2tNTrN7Up6')).toEqual(blocks);
    expect(cache.recall('toolu_02U2y2gK45rBnl3uOUsO8Vq7')).toEqual(blocks);
  });

  it('sets the text of a later thinking block apart from the earlier one, as the JSON answer does', async () => {
    const event = (data: object) => `event: x\ndata: ${JSON.stringify(data)}\n\n`;
    const stream = [
      event({ type: 'message_start', message: { id: 'msg_x', model: 'm', content: [], usage: { input_tokens: 3, output_tokens: 1 } } }),
      event({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'First.' } }),
      event({ type: 'content_block_stop', index: 0 }),
      event({ type: 'content_block_start', index: 1, content_block: { type: 'thinking', thinking: '' } }),
      event({ type: 'content_block_delta', index: 1, delta: { type: 'thinking_delta', thinking: 'Second.' } }),
      event({ type: 'content_block_stop', index: 1 }),
      event({ type: 'message_stop' }),
    ].join('');
    const reasoning = chunks(await collect(Buffer.from(stream), 8)).map((chunk) => chunk.choices[0]?.delta.reasoning_content ?? '');
    expect(reasoning.join('')).toBe('First.\n\nSecond.');
  });
});
