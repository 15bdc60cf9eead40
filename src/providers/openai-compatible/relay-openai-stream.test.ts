import { describe, expect, it } from 'vitest';
import type { StreamPart } from '../provider.js';
import { OpenAIRawEventReader } from './relay-openai-stream.js';

/** Feeds reads to a reader and returns its parts as text, with the usage it found. */
function relay(reads: string[], clientWantsUsage = false): { text: string; usage: StreamPart['usage']; ended: () => void } {
  const reader = new OpenAIRawEventReader('test', clientWantsUsage);
  let text = '';
  let usage: StreamPart['usage'];
  for (const read of reads) {
    reader.push(Buffer.from(read), (part) => {
      text += part.raw?.toString('utf8') ?? '';
      usage = part.usage ?? usage;
    });
  }
  return { text, usage, ended: () => reader.end() };
}

const chunk = (body: string) => `data: ${body}\n\n`;

describe('OpenAIRawEventReader', () => {
  it('finds a finish reason and usage in either order, with spaces around the colon', () => {
    const first = chunk('{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason" : "stop"}],"usage":null}');
    const usage = chunk('{"usage" :\t{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"choices":[]}');
    const result = relay([first, usage]);
    expect(result.text).toBe(first); // the usage-only chunk the client did not ask for is dropped
    expect(result.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 1 });
    expect(result.ended).not.toThrow();
  });

  it('counts neither a null finish reason nor a null usage, nor key-like text inside a string', () => {
    const events = [
      chunk('{"choices":[{"index":0,"delta":{"content":"say \\"finish_reason\\": \\"stop\\" and \\"usage\\": {}"},"finish_reason":null}],"usage":null}'),
      chunk('{"choices":[{"index":0,"delta":{"content":"\\"usage\\":{\\"prompt_tokens\\":1}"},"finish_reason":null}]}'),
    ];
    const result = relay(events);
    expect(result.text).toBe(events.join(''));
    expect(result.usage).toBeUndefined();
    // No finish reason and no [DONE]: the stream was cut.
    expect(result.ended).toThrow();
  });

  it('keeps the usage chunk for a client that asked for it, and ends on [DONE]', () => {
    const usage = chunk('{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":5,"total_tokens":7}}');
    const result = relay([usage, 'data: [DONE]\n\n'], true);
    expect(result.text).toBe(usage);
    expect(result.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 5 });
    expect(result.ended).not.toThrow();
  });
});
