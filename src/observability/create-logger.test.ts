import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLoggers } from './create-logger.js';

/** A destination that keeps what the logger wrote. */
function capture(): { destination: Writable; written: () => string } {
  let out = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out += chunk.toString('utf8');
      callback();
    },
  });
  return { destination, written: () => out };
}

describe('createLoggers: errors', () => {
  it('shows an error by its type, message, stack and scalar fields, secrets scrubbed, and nothing it carries', () => {
    const { destination, written } = capture();
    const password = 'redis-password-0123456789';
    const { logger } = createLoggers({ level: 'debug', secrets: [password], destination });
    // As a Redis client rejects the commands it had queued when AUTH failed, and a database pool an idle client's error.
    const refused = Object.assign(new Error(`WRONGPASS for redis://default:${password}@redis:6379`), { code: 'WRONGPASS', command: { name: 'auth', args: ['default', password] } });
    const pooled = Object.assign(new Error('Connection terminated unexpectedly'), { client: { connectionParameters: { password } }, severity: 'FATAL' });
    logger.warn({ err: new Error('the store failed', { cause: refused }) }, 'with a cause');
    logger.warn({ err: refused }, 'refused');
    logger.error(pooled);
    const out = written();
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as { err: Record<string, unknown> });
    expect(lines[0]!.err.message).toBe('the store failed: WRONGPASS for redis://default:[REDACTED]@redis:6379');
    expect(lines[1]!.err).toMatchObject({ type: 'Error', code: 'WRONGPASS', message: 'WRONGPASS for redis://default:[REDACTED]@redis:6379' });
    expect(lines[1]!.err).not.toHaveProperty('command');
    expect(lines[2]!.err).toMatchObject({ message: 'Connection terminated unexpectedly', severity: 'FATAL' });
    expect(lines[2]!.err).not.toHaveProperty('client');
    expect(out).not.toContain(password);
  });
});

describe('createLoggers: fields', () => {
  it("scrubs secrets from every text of a line's fields, in arrays and nested objects, and leaves the caller's object as it was", () => {
    const { destination, written } = capture();
    const key = 'sk-upstream-key-0123456789';
    const { logger, setSecrets } = createLoggers({ level: 'info', secrets: [], destination });
    setSecrets([key]);
    const fields = { trigger: 'SIGHUP', problems: [`relay.yaml: near apiKey: ${key}`], upstream: { detail: `bad key ${key}`, attempts: [{ body: key }] }, count: 2 };
    logger.error(fields, `reload refused (${key})`);
    const line = JSON.parse(written()) as Record<string, unknown>;
    expect(line).toMatchObject({
      trigger: 'SIGHUP',
      problems: ['relay.yaml: near apiKey: [REDACTED]'],
      upstream: { detail: 'bad key [REDACTED]', attempts: [{ body: '[REDACTED]' }] },
      count: 2,
      msg: 'reload refused ([REDACTED])',
    });
    expect(fields.problems[0]).toContain(key);
  });
});
