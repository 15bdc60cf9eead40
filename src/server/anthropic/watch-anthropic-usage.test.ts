import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AnthropicUsageWatcher } from './watch-anthropic-usage.js';

const stream = readFileSync(new URL('../../providers/anthropic/__fixtures__/text-stream.sse', import.meta.url));

describe('AnthropicUsageWatcher', () => {
  it.each([1, 4, 1000])('reads usage from message_start and message_delta (%i-byte pieces)', (size) => {
    const watcher = new AnthropicUsageWatcher();
    expect(watcher.usage).toBeUndefined();
    for (let start = 0; start < stream.length; start += size) watcher.push(stream.subarray(start, start + size));
    expect(watcher.usage).toEqual({ prompt_tokens: 32, completion_tokens: 15, total_tokens: 47, prompt_tokens_details: { cached_tokens: 7, cache_write_tokens: 0 } });
  });

  it('gives the prompt counts of message_start and the delivered text until message_delta gives the final counts', () => {
    const watcher = new AnthropicUsageWatcher();
    const text = stream.toString('utf8');
    const cut = text.indexOf('event: message_delta');
    watcher.push(Buffer.from(text.slice(0, cut)));
    expect(watcher.usage).toBeUndefined();
    expect(watcher.startUsage?.prompt_tokens).toBe(32);
    expect(watcher.delivered.text().length).toBeGreaterThan(0);
    watcher.push(Buffer.from(text.slice(cut)));
    expect(watcher.usage?.completion_tokens).toBe(15);
    expect(watcher.startUsage).toBeUndefined();
  });

  it('keeps the split of cache writes by lifetime from message_start when message_delta gives only their final total', () => {
    const watcher = new AnthropicUsageWatcher();
    const event = (name: string, data: unknown) => Buffer.from(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    const startUsage = { input_tokens: 12, cache_read_input_tokens: 0, cache_creation_input_tokens: 4000, cache_creation: { ephemeral_5m_input_tokens: 1500, ephemeral_1h_input_tokens: 2500 }, output_tokens: 1 };
    watcher.push(event('message_start', { type: 'message_start', message: { id: 'msg_1', usage: startUsage } }));
    // Cut before message_delta: the prompt as message_start counted it, writes and their split included.
    expect(watcher.startUsage?.prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 4000, cache_write_1h_tokens: 2500 });
    watcher.push(event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 12, cache_read_input_tokens: 0, cache_creation_input_tokens: 4000, output_tokens: 6 } }));
    expect(watcher.usage).toEqual({ prompt_tokens: 4012, completion_tokens: 6, total_tokens: 4018, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 4000, cache_write_1h_tokens: 2500 } });
  });
});
