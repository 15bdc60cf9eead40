import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLoggers } from './create-logger.js';

describe('createLoggers: errors', () => {
  it('shows an error by its type, message, stack and scalar fields, secrets scrubbed, and nothing it carries', () => {
    let out = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out += chunk.toString('utf8');
        callback();
      },
    });
    const password = 'redis-password-0123456789';
    const { logger } = createLoggers({ level: 'debug', secrets: [password], destination });
    // As a Redis client rejects the commands it had queued when AUTH failed, and a database pool an idle client's error.
    const refused = Object.assign(new Error(`WRONGPASS for redis://default:${password}@redis:6379`), { code: 'WRONGPASS', command: { name: 'auth', args: ['default', password] } });
    const pooled = Object.assign(new Error('Connection terminated unexpectedly'), { client: { connectionParameters: { password } }, severity: 'FATAL' });
    logger.warn({ err: new Error('the store failed', { cause: refused }) }, 'with a cause');
    logger.warn({ err: refused }, 'refused');
    logger.error(pooled);
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as { err: Record<string, unknown> });
    expect(lines[0]!.err.message).toBe('the store failed: WRONGPASS for redis://default:[REDACTED]@redis:6379');
    expect(lines[1]!.err).toMatchObject({ type: 'Error', code: 'WRONGPASS', message: 'WRONGPASS for redis://default:[REDACTED]@redis:6379' });
    expect(lines[1]!.err).not.toHaveProperty('command');
    expect(lines[2]!.err).toMatchObject({ message: 'Connection terminated unexpectedly', severity: 'FATAL' });
    expect(lines[2]!.err).not.toHaveProperty('client');
    expect(out).not.toContain(password);
  });
});
