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
});
