import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/*
 * What reaches the log when a client sends bytes that are not HTTP: Node hands the relay the raw
 * bytes it could not parse, headers and all, and an error object's fields are written as they are
 * unless the relay chooses them.
 */

/** Sends `text` on a fresh connection and waits for the relay to close it. */
function sendRaw(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

/** A value as a log line could hold it: its text, or its bytes as a JSON Buffer holds them. */
const forms = (value: string) => [value, Array.from(Buffer.from(value)).join(',')];

describe('the log at LOG_LEVEL=trace, when a client sends a malformed request', () => {
  let relay: StartedRelay;
  let port: number;
  const clientKey = 'sk-relay-client-key-of-a-malformed-request-0123';

  beforeAll(async () => {
    relay = await startRelay({ LOG_LEVEL: 'trace', HOLYSHEEP_API_KEY: 'hs-upstream-log-secret-0123456789' });
    port = Number(new URL(relay.url).port);
  });
  afterAll(() => relay.close());

  it('never holds the keys of its headers: the bytes Node could not parse are left out of the error', async () => {
    // A header line without a colon after the credentials: the parser gives up at that line.
    await sendRaw(port, `POST /v1/chat/completions HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${masterKey}\r\nx-api-key: ${clientKey}\r\nthis is not a header\r\n\r\n`);
    // A header block over Node's limit, with a key in it.
    await sendRaw(port, `GET /v1/models HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${clientKey}\r\nx-padding: ${'x'.repeat(20_000)}\r\n\r\n`);
    await expect.poll(() => relay.logs.filter((line) => String(line.msg).startsWith('client ')).length).toBe(2);
    const lines = relay.logs.filter((line) => String(line.msg).startsWith('client '));
    expect(lines.map((line) => (line.err as { code?: string }).code)).toEqual(['HPE_INVALID_HEADER_TOKEN', 'HPE_HEADER_OVERFLOW']);
    for (const line of lines) expect(line.err).not.toHaveProperty('rawPacket');
    const log = relay.rawLogs();
    for (const secret of [masterKey, clientKey]) for (const form of forms(secret)) expect(log).not.toContain(form);
  });
});
