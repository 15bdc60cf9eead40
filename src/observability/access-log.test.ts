import { describe, expect, it } from 'vitest';
import { AccessLog, type AccessLine } from './access-log.js';

const line: AccessLine = {
  requestId: 'req-1',
  ledgerId: undefined,
  method: 'POST',
  path: '/v1/chat/completions',
  keyName: 'team "a"\nline',
  model: 'gpt-4.1',
  provider: undefined,
  status: 200,
  errorCode: undefined,
  stream: false,
  attempts: 1,
  promptTokens: 12,
  completionTokens: undefined,
  durationMs: 1.25,
  clientAborted: undefined,
};

describe('AccessLog', () => {
  it('writes the lines of one turn in one write, each a JSON object in the shape of the relay’s other lines', async () => {
    const writes: string[] = [];
    const log = new AccessLog({ write: (text) => writes.push(text) }, () => true);
    log.write(line);
    log.write({ ...line, requestId: 'req-2', ledgerId: 'led-2', clientAborted: true, durationMs: Number.NaN });
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    const [first, second] = writes[0]!.trimEnd().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(Object.keys(first!)).toEqual(['level', 'time', 'service', 'requestId', 'method', 'path', 'keyName', 'model', 'status', 'stream', 'attempts', 'promptTokens', 'durationMs', 'msg']);
    expect(first).toMatchObject({ level: 'info', service: 'relay', keyName: 'team "a"\nline', status: 200, stream: false, durationMs: 1.25, msg: 'request' });
    expect(new Date(first!.time as string).toISOString()).toBe(first!.time);
    expect(second).toMatchObject({ requestId: 'req-2', ledgerId: 'led-2', clientAborted: true, durationMs: null });
  });

  it('writes nothing when info lines are off, and writes what waits on flush', () => {
    const writes: string[] = [];
    let enabled = false;
    const log = new AccessLog({ write: (text) => writes.push(text) }, () => enabled);
    log.write(line);
    log.flush();
    expect(writes).toEqual([]);
    enabled = true;
    log.write(line);
    log.flush();
    expect(writes).toHaveLength(1);
  });
});
