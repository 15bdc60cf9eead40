import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../spec/relay-error.js';
import { maxEventBytes } from './event-size-limit.js';
import { pushPastEventLimit } from './event-size-limit.fixtures.js';
import { SseParser, type SseEvent } from './sse-parser.js';

function parseInPieces(bytes: Buffer, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  events.push(...parser.end());
  return events;
}

const openAiStream = Buffer.from(
  'data: {"id":"1","choices":[{"delta":{"content":"héllo wörld 🐑"}}]}\n\n' +
    ': keep-alive comment\n\n' +
    'data: {"id":"1","choices":[],"usage":{"prompt_tokens":3}}\n\n' +
    'data: [DONE]\n\n',
);

const expected: SseEvent[] = [
  { event: undefined, data: '{"id":"1","choices":[{"delta":{"content":"héllo wörld 🐑"}}]}' },
  { event: undefined, data: '{"id":"1","choices":[],"usage":{"prompt_tokens":3}}' },
  { event: undefined, data: '[DONE]' },
];

describe('SseParser', () => {
  it('parses a whole stream in one chunk', () => {
    expect(parseInPieces(openAiStream, [])).toEqual(expected);
  });

  it('gives the same events when the bytes are split at every position', () => {
    for (let cut = 0; cut <= openAiStream.length; cut++) {
      expect(parseInPieces(openAiStream, [cut]), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('gives the same events when the bytes arrive one at a time', () => {
    const cuts = Array.from({ length: openAiStream.length - 1 }, (_, index) => index + 1);
    expect(parseInPieces(openAiStream, cuts)).toEqual(expected);
  });

  it('handles CRLF and CR line ends split at every position, with event names and multi-line data', () => {
    const bytes = Buffer.from('event: message_start\r\ndata: {"a":1}\r\n\r\nevent: ping\rdata: x\rdata: y\r\rdata:z\n\n');
    const want: SseEvent[] = [
      { event: 'message_start', data: '{"a":1}' },
      { event: 'ping', data: 'x\ny' },
      { event: undefined, data: 'z' },
    ];
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (let second = cut; second <= bytes.length; second += 7) {
        expect(parseInPieces(bytes, [cut, second]), `cuts at ${cut},${second}`).toEqual(want);
      }
    }
  });

  it('drops an event whose closing blank line never came, and ignores unknown fields', () => {
    expect(parseInPieces(Buffer.from('id: 7\nretry: 10\ndata: a\n\ndata: cut-short'), [])).toEqual([
      { event: undefined, data: 'a' },
    ]);
  });
});

describe('SseParser: an event whose end does not come', () => {
  it('gives the same event when a long line comes in many pieces', () => {
    const data = 'x'.repeat(5000);
    const bytes = Buffer.from(`data: ${data}\r\n\r\n`);
    const cuts = Array.from({ length: 60 }, (_, index) => (index + 1) * 84);
    expect(parseInPieces(bytes, cuts)).toEqual([{ event: undefined, data }]);
  });

  it('is given up, as the upstream’s failure, once what it holds of it passes maxEventBytes: one line, or many', () => {
    for (const lineStart of ['', '\ndata: ']) {
      const parser = new SseParser('test');
      parser.push(Buffer.from('data: '));
      const { failure, pushed } = pushPastEventLimit((piece) => parser.push(lineStart === '' ? piece : Buffer.concat([Buffer.from(lineStart), piece])));
      expect(failure).toBeInstanceOf(UpstreamError);
      expect((failure as Error).message).toMatch(/^test: a stream event grew past/);
      expect(pushed).toBeLessThanOrEqual(maxEventBytes);
    }
  });
});
