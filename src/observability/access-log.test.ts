import { describe, expect, it } from 'vitest';
import { AccessLog, isoTimeOf } from './access-log.js';
import type { RequestEndEvent } from './relay-events.js';

const end: RequestEndEvent = {
  requestId: 'req-1',
  route: '/v1/chat/completions',
  principalId: 'key_1',
  principalName: 'team "a"\nline',
  requestedModel: 'gpt-4.1',
  model: 'gpt-4.1',
  provider: undefined,
  status: 200,
  errorCode: undefined,
  stream: false,
  attempts: 1,
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
  startedAt: 0,
  durationMs: 1.2549,
  firstByteMs: undefined,
  clientAborted: false,
  servedModel: 'gpt-4.1',
  upstreamMs: undefined,
  answerAttemptMs: undefined,
  fallbackFrom: undefined,
};

describe('AccessLog', () => {
  it('writes the lines of one turn in one write, each a JSON object in the shape of the relay’s other lines', async () => {
    const writes: string[] = [];
    const log = new AccessLog({ write: (text) => writes.push(text) }, () => true);
    log.write(end, 'POST', '/v1/chat/completions', undefined);
    log.write({ ...end, requestId: 'req-2', clientAborted: true, durationMs: Number.NaN }, 'POST', '/v1/chat/completions', 'led-2');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    const [first, second] = writes[0]!.trimEnd().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(Object.keys(first!)).toEqual(['level', 'time', 'service', 'requestId', 'method', 'path', 'keyName', 'model', 'status', 'stream', 'attempts', 'promptTokens', 'completionTokens', 'durationMs', 'msg']);
    expect(first).toMatchObject({ level: 'info', service: 'relay', keyName: 'team "a"\nline', status: 200, stream: false, durationMs: 1.25, msg: 'request' });
    expect(new Date(first!.time as string).toISOString()).toBe(first!.time);
    expect(second).toMatchObject({ requestId: 'req-2', ledgerId: 'led-2', clientAborted: true, durationMs: null });
  });

  it('writes nothing when info lines are off, and writes what waits on flush', () => {
    const writes: string[] = [];
    let enabled = false;
    const log = new AccessLog({ write: (text) => writes.push(text) }, () => enabled);
    log.write(end, 'POST', '/v1/chat/completions', undefined);
    log.flush();
    expect(writes).toEqual([]);
    enabled = true;
    log.write(end, 'POST', '/v1/chat/completions', undefined);
    log.flush();
    expect(writes).toHaveLength(1);
  });

  it('formats times exactly as Date#toISOString does, across seconds, minutes, days and years', () => {
    const samples = [0, 59_999, 60_000, 86_399_999, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1)];
    for (let index = 0; index < 20_000; index++) samples.push(Math.floor(Math.random() * Date.UTC(2200, 0, 1)));
    for (let ms = Date.UTC(2026, 10, 26, 18, 59, 58, 990); ms < Date.UTC(2026, 10, 26, 19, 0, 1, 10); ms++) samples.push(ms);
    for (const ms of samples) expect(isoTimeOf(ms), String(ms)).toBe(new Date(ms).toISOString());
  });
});
