import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../spec/relay-error.js';
import { maxEventBytes } from '../../sse/event-size-limit.js';
import { pushPastEventLimit } from '../../sse/event-size-limit.fixtures.js';
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

describe('OpenAIRawEventReader: the text a stream delivered', () => {
  /** The text each part says its events carried, joined, against the same events parsed as JSON. */
  function delivered(reads: Array<string | Buffer>): { fromParts: string; parsed: string } {
    const reader = new OpenAIRawEventReader('test', true);
    let fromParts = '';
    let relayed = '';
    for (const read of reads) {
      reader.push(typeof read === 'string' ? Buffer.from(read) : read, (part) => {
        fromParts += part.text ?? '';
        relayed += part.raw?.toString('utf8') ?? '';
      });
    }
    let parsed = '';
    for (const event of relayed.split('\n\n')) {
      const data = event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
      if (!data.startsWith('{')) continue;
      const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string | null; refusal?: string | null; reasoning_content?: string | null; reasoning?: string | null; tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> } }> };
      for (const choice of chunk.choices) {
        // Reasoning is `reasoning_content`, else `reasoning`: a server that sends both sends the same text twice.
        const { reasoning_content: reasoningContent, reasoning } = choice.delta;
        parsed += (choice.delta.content ?? '') + (choice.delta.refusal ?? '') + (typeof reasoningContent === 'string' ? reasoningContent : (reasoning ?? ''));
        for (const call of choice.delta.tool_calls ?? []) parsed += (call.function?.name ?? '') + (call.function?.arguments ?? '');
      }
    }
    return { fromParts, parsed };
  }
  const event = (chunk: unknown) => chunk_(JSON.stringify(chunk));
  const chunk_ = (body: string) => `data: ${body}\n\n`;
  const delta = (value: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id: 'c', object: 'chat.completion.chunk', model: 'name', choices: [{ index: 0, delta: value, finish_reason: null, ...extra }] });

  it('reads content, refusals, reasoning, tool calls, escapes and unicode as JSON does, and nothing else', () => {
    const reads = [
      event(delta({ role: 'assistant', content: '' })),
      event(delta({ reasoning_content: 'Thinking "hard" about it.' })),
      event(delta({ reasoning: ' Then (vLLM, OpenRouter) ' })),
      event(delta({ reasoning: 'once ', reasoning_content: 'once ' })),
      event(delta({ reasoning_content: 'twice ', reasoning: 'twice ' })),
      event(delta({ reasoning: null, reasoning_content: 'and null. ' })),
      event(delta({ content: 'Hello, wörld 😀 — "quoted" \\ back\nslash\ttab \u0001' })),
      event(delta({ content: 'say "content": "not this" and \\"name\\"' }, { logprobs: { content: [{ token: 'x', logprob: -1, bytes: [120], top_logprobs: [] }] } })),
      event(delta({ refusal: 'I cannot' })),
      event(delta({ content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] })),
      event(delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })),
      event({ id: 'c', object: 'chat.completion.chunk', name: 'a value named name', choices: [{ index: 0, delta: { content: 'end' }, finish_reason: 'stop' }] }),
      chunk_('{"choices":[{"index":0,"delta":{"content" : "spaced"}}]}'),
      chunk_('{"choices":[{"index":0,"delta":{"content":"\\u00e9\\ud83d\\ude00"}}]}'),
      event({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
    ];
    const result = delivered(reads);
    expect(result.parsed).toContain('get_weather{"city":"Paris"}');
    expect(result.parsed).toContain('Thinking "hard" about it. Then (vLLM, OpenRouter) once twice and null. Hello');
    expect(result.fromParts).toBe(result.parsed);
    // The same, one byte per read: events cut anywhere.
    const bytes = Buffer.from(reads.join(''));
    expect(delivered([...bytes].map((byte) => Buffer.from([byte]))).fromParts).toBe(result.parsed);
  });

  it('reads the same text as JSON does from 300 generated streams, cut into reads anywhere', () => {
    // A small seeded generator: the same streams on every run.
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const pieces = ['a', ' ', 'wörld', '😀', '"', '\\', '\n', '\t', '\u0000', '{', '}', '[', ']', ':', ',', '"content":', 'name', 'data: ', '\r'];
    const text = () => Array.from({ length: Math.floor(random() * 6) }, () => pick(pieces)).join('');
    const noise = (): unknown => pick([null, 1.5, true, text(), { content: text(), name: text() }, [text(), { arguments: text() }]]);
    const delta = (): Record<string, unknown> => {
      const value: Record<string, unknown> = {};
      if (random() < 0.7) value.content = random() < 0.1 ? null : text();
      if (random() < 0.2) value.refusal = text();
      // Reasoning under either name, or both (in either order), as servers send it.
      const reasoning = random() < 0.1 ? null : text();
      for (const name of pick([[], [], ['reasoning_content'], ['reasoning'], ['reasoning_content', 'reasoning'], ['reasoning', 'reasoning_content']])) value[name] = reasoning;
      if (random() < 0.3) value.tool_calls = [{ index: 0, id: text(), type: 'function', function: { name: random() < 0.5 ? text() : undefined, arguments: text() }, extra: noise() }];
      if (random() < 0.2) value.audio = { transcript: text(), content: noise() };
      return value;
    };
    for (let stream = 0; stream < 300; stream++) {
      const events = Array.from({ length: 1 + Math.floor(random() * 5) }, () => {
        const chunk = { id: 'c', name: noise(), choices: [{ index: 0, delta: delta(), logprobs: random() < 0.2 ? { content: [{ token: text() }] } : null, finish_reason: null }], content: noise() };
        // Pretty-printed JSON spans lines: several `data:` lines, read by parsing the event.
        const json = random() < 0.1 ? JSON.stringify(chunk, null, 1) : JSON.stringify(chunk);
        return `${json.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`;
      });
      const bytes = Buffer.from(events.join(''));
      const reads: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 80);
        reads.push(bytes.subarray(at, at + size));
        at += size;
      }
      const result = delivered(reads);
      expect(result.fromParts).toBe(result.parsed);
    }
  });

  it('reads an event whose data spans lines, or that has fields after its data, by parsing it', () => {
    const result = delivered([
      'data: {"choices":[{"index":0,\ndata: "delta":{"content":"two lines"}}]}\n\n',
      `data: ${JSON.stringify(delta({ content: ' and an id' }))}\nid: 7\n\n`,
    ]);
    expect(result.fromParts).toBe('two lines and an id');
    expect(result.fromParts).toBe(result.parsed);
  });
});

describe('OpenAIRawEventReader: an event whose end does not come', () => {
  it('holds an event whose end has not come as the reads that brought it, and relays it whole once it ends', () => {
    const long = chunk(`{"choices":[{"index":0,"delta":{"content":"${'a'.repeat(3000)}"},"finish_reason":null}]}`);
    const reader = new OpenAIRawEventReader('test', false);
    const parts: string[] = [];
    for (let at = 0; at < long.length; at += 100) reader.push(Buffer.from(long.slice(at, at + 100)), (part) => parts.push(part.raw?.toString('utf8') ?? ''));
    expect(parts).toEqual([long]);
  });

  it('gives an event up, as the upstream’s failure, once what it holds of it passes maxEventBytes', () => {
    const reader = new OpenAIRawEventReader('test', false);
    reader.push(Buffer.from('data: {"choices":[{"delta":{"content":"'), () => {});
    const { failure, pushed } = pushPastEventLimit((piece) => reader.push(piece, () => {}));
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).reason).toBe('provider_internal');
    expect((failure as Error).message).toMatch(/a stream event grew past 16777216 bytes/);
    expect(pushed).toBeLessThanOrEqual(maxEventBytes);
  });
});

describe('OpenAIRawEventReader: the stream’s start', () => {
  const first = chunk('{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}');

  it('emits no part for comments or events without data before the first chunk, and relays them after it', () => {
    const reader = new OpenAIRawEventReader('test', false);
    const parts: string[] = [];
    const emit = (part: StreamPart) => parts.push(part.raw?.toString('utf8') ?? '');
    reader.push(Buffer.from(': OPENROUTER PROCESSING\n\n'), emit);
    reader.push(Buffer.from('event: ping\n\n: OPENROUTER PROCESSING\n\n'), emit);
    expect(parts).toEqual([]);
    // In the read that brings the first chunk, what came before it is dropped too.
    reader.push(Buffer.from(`: OPENROUTER PROCESSING\n\n${first}`), emit);
    reader.push(Buffer.from(': OPENROUTER PROCESSING\n\n'), emit);
    expect(parts).toEqual([first, ': OPENROUTER PROCESSING\n\n']);
  });
});

describe('OpenAIRawEventReader: the stream’s end', () => {
  const first = chunk('{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}');

  it('says the stream ended at [DONE], wherever the reads cut it, and reads nothing after it', () => {
    const text = `${first}data: [DONE]\n\n${chunk('{"error":{"message":"after the end"}}')}`;
    for (let cut = 1; cut < text.length; cut++) {
      const reader = new OpenAIRawEventReader('test', false);
      let relayed = '';
      const emit = (part: StreamPart) => (relayed += part.raw?.toString('utf8') ?? '');
      const ended = [reader.push(Buffer.from(text.slice(0, cut)), emit)];
      if (!ended[0]) ended.push(reader.push(Buffer.from(text.slice(cut)), emit));
      expect(ended.at(-1), `cut at ${cut}`).toBe(true);
      expect(relayed).toBe(first);
      expect(() => reader.end()).not.toThrow();
    }
  });
});
