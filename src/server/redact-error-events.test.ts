import { describe, expect, it } from 'vitest';
import { maxEventBytes } from '../sse/event-size-limit.js';
import { pushPastEventLimit } from '../sse/event-size-limit.fixtures.js';
import { UpstreamError } from '../spec/relay-error.js';
import { ErrorEventRedactor } from './redact-error-events.js';

const key = 'sk-upstream-key-0123456789';

/** Feeds `text` cut at every given offset and returns what the client would get. */
function relay(text: string, cuts: number[], secrets = [key]): { out: string; writes: string[] } {
  const redactor = new ErrorEventRedactor(secrets);
  const writes: string[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    writes.push(redactor.push(Buffer.from(text.slice(from, cut))).toString('utf8'));
    from = cut;
  }
  writes.push(redactor.end().toString('utf8'));
  return { out: writes.join(''), writes };
}

describe('ErrorEventRedactor', () => {
  const delta = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"an error, quoted: ' + key + '"}\n\n';
  const error = `event: error\ndata: {"type":"error","message":"bad key ${key}"}\n\n`;

  it('redacts an error event wherever the reads cut it, and relays the answer events as they came', () => {
    const text = delta + error;
    for (let cut = 1; cut < text.length; cut++) {
      const { out } = relay(text, [cut]);
      expect(out).toBe(delta + 'event: error\ndata: {"type":"error","message":"bad key [REDACTED]"}\n\n');
    }
  });

  it('writes only complete events, with CRLF and CR line ends too', () => {
    for (const end of ['\r\n', '\r']) {
      const text = delta.replaceAll('\n', end) + error.replaceAll('\n', end);
      const { out, writes } = relay(text, [10, delta.length + 20]);
      expect(out).not.toContain(`bad key ${key}`);
      expect(out).toContain('bad key [REDACTED]');
      expect(writes[0]).toBe('');
    }
  });

  it('takes a data-only error object and a non-JSON failure for errors', () => {
    const completions = `data: {"choices":[{"text":"x"}]}\n\ndata: {"error":{"message":"Bearer ${key}"}}\n\n`;
    expect(relay(completions, []).out).toBe('data: {"choices":[{"text":"x"}]}\n\ndata: {"error":{"message":"Bearer [REDACTED]"}}\n\n');
    expect(relay(`data: upstream error: ${key}\n\n`, []).out).toBe('data: upstream error: [REDACTED]\n\n');
  });

  it('passes every read through unchanged when there is no credential to look for', () => {
    const { writes } = relay(error, [5], []);
    expect(writes.slice(0, 2)).toEqual([error.slice(0, 5), error.slice(5)]);
  });
});

describe('ErrorEventRedactor: an event whose end does not come', () => {
  it('relays a long event whole once it ends, whatever its line ends', () => {
    for (const end of ['\n', '\r\n', '\r']) {
      const text = `event: error${end}data: {"message":"${'x'.repeat(2000)} ${key}"}${end}${end}`;
      const cuts = Array.from({ length: 30 }, (_, index) => (index + 1) * 71);
      const { out, writes } = relay(text, cuts);
      expect(out).toBe(text.replace(key, '[REDACTED]'));
      expect(writes.filter((write) => write !== '')).toHaveLength(1);
    }
  });

  it('is given up, as the upstream’s failure, once what it holds of it passes maxEventBytes', () => {
    const redactor = new ErrorEventRedactor([key], 'test');
    redactor.push(Buffer.from('data: {"delta":"'));
    const { failure, pushed } = pushPastEventLimit((piece) => redactor.push(piece));
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as Error).message).toMatch(/^test: a stream event grew past/);
    expect(pushed).toBeLessThanOrEqual(maxEventBytes);
  });
});
