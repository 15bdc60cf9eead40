import { MessageStream } from '@anthropic-ai/sdk/lib/MessageStream';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../spec/openai-chat.js';
import { readUsage } from '../../spec/read-usage.js';
import { SseParser, type SseEvent } from '../../sse/sse-parser.js';
import { AnthropicEventEncoder } from './anthropic-event-encoder.js';

const fixture = readFileSync(new URL('./__fixtures__/openai-tool-stream.sse', import.meta.url));

/** Parses SSE bytes fed `size` bytes at a time. */
function parse(bytes: Buffer, size: number): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (let start = 0; start < bytes.length; start += size) events.push(...parser.push(bytes.subarray(start, start + size)));
  return events;
}

/** The content of the message Anthropic's SDK assembles from Anthropic SSE text. */
async function finalContent(text: string): Promise<unknown> {
  const events = parse(Buffer.from(text), 1000);
  return (await MessageStream.fromReadableStream(new Blob([events.map((event) => `${event.data}\n`).join('')]).stream()).finalMessage()).content;
}

/** Encodes the OpenAI fixture (read in `size`-byte pieces) into Anthropic SSE text. */
function encode(size: number): string {
  const chunks = parse(fixture, size)
    .filter((event) => event.data !== '[DONE]')
    .map((event) => JSON.parse(event.data) as ChatCompletionChunk);
  const encoder = new AnthropicEventEncoder('gpt-4.1');
  let output = encoder.start(chunks[0]);
  for (const chunk of chunks) output += encoder.push(chunk, readUsage(chunk.usage));
  return output + encoder.finish();
}

describe('AnthropicEventEncoder', () => {
  it.each([1, 3, 17, 100_000])('produces Anthropic’s exact event sequence (OpenAI bytes in %i-byte pieces)', (size) => {
    const events = parse(Buffer.from(encode(size)), 11);
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    // Every event's data names its own type, as Anthropic's do.
    for (const event of events) expect((JSON.parse(event.data) as { type: string }).type).toBe(event.event);
    const start = JSON.parse(events[0]!.data) as { message: Record<string, unknown> };
    expect(start.message).toMatchObject({ id: 'msg_chatcmpl-AbC123', type: 'message', role: 'assistant', model: 'gpt-4.1', content: [] });
    expect(JSON.parse(events[6]!.data)).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: {} } });
    expect(JSON.parse(events[13]!.data)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 100, output_tokens: 40 },
    });
  });

  it('builds the right final message in Anthropic’s own SDK', async () => {
    const lines = parse(Buffer.from(encode(5)), 64)
      .map((event) => `${event.data}\n`)
      .join('');
    const stream = MessageStream.fromReadableStream(new Blob([lines]).stream());
    const message = await stream.finalMessage();
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking both cities ☀️.' },
      { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_rome', name: 'get_weather', input: { city: 'Rome' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 20, output_tokens: 40, cache_read_input_tokens: 100 });
  });

  it('ends an empty answer with a ping, end_turn and zero usage', () => {
    const encoder = new AnthropicEventEncoder('m');
    const text = encoder.start(undefined) + encoder.finish();
    expect(parse(Buffer.from(text), 1000).map((event) => event.event)).toEqual(['message_start', 'ping', 'message_delta', 'message_stop']);
    expect(text).toContain('"stop_reason":"end_turn"');
  });

  it('maps length and content_filter finish reasons', () => {
    for (const [finish, stop] of [['length', 'max_tokens'], ['content_filter', 'refusal'], ['stop', 'end_turn']] as const) {
      const encoder = new AnthropicEventEncoder('m');
      encoder.push({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: finish }] }, undefined);
      expect(encoder.finish()).toContain(`"stop_reason":"${stop}"`);
    }
  });
});

describe('AnthropicEventEncoder with reasoning sent apart (reasoning_content, or reasoning)', () => {
  const chunk = (delta: Record<string, unknown>): ChatCompletionChunk =>
    ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] }) as ChatCompletionChunk;
  const encode = (thinking: boolean): string => {
    const encoder = new AnthropicEventEncoder('m', thinking);
    let text = encoder.start(undefined);
    for (const delta of [{ role: 'assistant', reasoning_content: 'Hmm, ' }, { reasoning_content: 'easy.' }, { content: 'Four.' }]) text += encoder.push(chunk(delta), undefined);
    return text + encoder.finish();
  };

  it('writes it as an unsigned thinking block before the text, which Anthropic’s SDK reads', async () => {
    const text = encode(true);
    const events = parse(Buffer.from(text), 1000);
    expect(events.map((event) => event.event)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(JSON.parse(events[4]!.data)).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'easy.' } });
    const stream = MessageStream.fromReadableStream(new Blob([events.map((event) => `${event.data}\n`).join('')]).stream());
    expect((await stream.finalMessage()).content).toEqual([{ type: 'thinking', thinking: 'Hmm, easy.', signature: '' }, { type: 'text', text: 'Four.' }]);
  });

  it('leaves it out when the client did not ask for thinking', () => {
    expect(parse(Buffer.from(encode(false)), 1000).map((event) => event.event)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });

  it('reads it under `reasoning` (vLLM, OpenRouter) too, and the same text sent under both names once', async () => {
    const encoder = new AnthropicEventEncoder('m', true);
    let text = encoder.start(undefined);
    for (const delta of [{ role: 'assistant', reasoning: 'Hmm, ' }, { reasoning_content: 'easy.', reasoning: 'easy.' }, { content: 'Four.' }]) text += encoder.push(chunk(delta), undefined);
    text += encoder.finish();
    expect(await finalContent(text)).toEqual([{ type: 'thinking', thinking: 'Hmm, easy.', signature: '' }, { type: 'text', text: 'Four.' }]);
  });
});

describe('AnthropicEventEncoder with tool call deltas numbered otherwise than OpenAI numbers them', () => {
  it('starts a call on an id and continues the last call without one', () => {
    const encoder = new AnthropicEventEncoder('m');
    const chunk = (toolCalls: unknown[]): ChatCompletionChunk =>
      ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { tool_calls: toolCalls }, finish_reason: null }] }) as ChatCompletionChunk;
    let text = encoder.start(undefined);
    text += encoder.push(chunk([{ id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x"' } }]), undefined);
    text += encoder.push(chunk([{ function: { arguments: ':1}' } }]), undefined);
    text += encoder.push(chunk([{ id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } }]), undefined);
    text += encoder.finish();
    const starts = parse(Buffer.from(text), 1000)
      .filter((event) => event.event === 'content_block_start')
      .map((event) => (JSON.parse(event.data) as { index: number; content_block: { id: string } }).content_block.id);
    expect(starts).toEqual(['call_a', 'call_b']);
    expect(text).toContain('{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":":1}"}}');
  });

  it('starts a new call when a fragment at an index already taken brings another id (servers that number every call 0)', async () => {
    const encoder = new AnthropicEventEncoder('m');
    const chunk = (toolCall: unknown, finishReason: string | null = null): ChatCompletionChunk =>
      ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: toolCall === undefined ? {} : { tool_calls: [toolCall] }, finish_reason: finishReason }] }) as ChatCompletionChunk;
    let text = encoder.start(undefined);
    text += encoder.push(chunk({ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x"' } }), undefined);
    text += encoder.push(chunk({ index: 0, function: { arguments: ':1}' } }), undefined);
    text += encoder.push(chunk({ index: 0, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"y"' } }), undefined);
    text += encoder.push(chunk({ index: 0, id: 'call_b', function: { arguments: ':2}' } }), undefined);
    text += encoder.push(chunk(undefined, 'tool_calls'), undefined);
    text += encoder.finish();
    expect(await finalContent(text)).toEqual([
      { type: 'tool_use', id: 'call_a', name: 'a', input: { x: 1 } },
      { type: 'tool_use', id: 'call_b', name: 'b', input: { y: 2 } },
    ]);
  });
});
