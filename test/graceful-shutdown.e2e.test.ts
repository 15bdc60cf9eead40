import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-shutdown-master-0123456789';

/** The relay's exit code, or 'still running' (and the process killed) when it has not exited within `ms`. */
async function exitWithin(relay: SpawnedRelay, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([relay.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)))]);
  clearTimeout(timer);
  if (result === 'still running') relay.child.kill('SIGKILL');
  return result;
}

/** Whether a new connection to the port is refused (the listener closed). */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(port, '127.0.0.1');
    probe.on('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.on('error', () => resolve(true));
  });
}

/** A chat request as a client writes it on its own connection, kept alive (HTTP/1.1's default). */
function chatRequest(body: Record<string, unknown>): string {
  const text = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], ...body });
  return `POST /v1/chat/completions HTTP/1.1\r\nhost: relay\r\nauthorization: Bearer ${master}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

const chunk = (content: string, finish: string | null = null) => ({ id: 'chatcmpl-held', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

describe('graceful shutdown of a relay process', () => {
  const upstream = new MockOpenAIUpstream();
  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.stop();
  });

  /** A relay process in front of the mock, in a folder of its own, listening; shut down with the given delays (ms). */
  async function serve(prefix: string, drainDelayMs: number, gracePeriodMs: number): Promise<{ cwd: string; port: number; relay: SpawnedRelay }> {
    const cwd = mkdtempSync(join(tmpdir(), prefix));
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', String(drainDelayMs), '--grace-period-ms', String(gracePeriodMs)], {
      cwd,
      env: { PORT: String(port), HOST: '127.0.0.1', RELAY_MASTER_KEY: master, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    await relay.waitForLog(/relay listening/);
    return { cwd, port, relay };
  }

  it('turns /ready to 503 at once, finishes a stream in flight, refuses new connections, flushes the ledger and exits 0 once the stream ended', async () => {
    const { cwd, port, relay } = await serve('relay-shutdown-', 500, 30000);
    upstream.next({ kind: 'stream', chunks: 20, delayMs: 75 });
    const client = new OpenAI({ apiKey: master, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'long answer' }], stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    let text = ((await iterator.next()).value as OpenAI.ChatCompletionChunk | undefined)?.choices[0]?.delta.content ?? '';

    relay.child.kill('SIGTERM');
    await relay.waitForLog(/shutting down: readiness is now 503/);
    const ready = await request(`http://127.0.0.1:${port}/ready`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();

    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) text += next.value.choices[0]?.delta.content ?? '';
    expect(text.split(' ').filter(Boolean)).toHaveLength(20);

    await new Promise((resolve) => setTimeout(resolve, 200));
    // A new connection (not a kept-alive one) must be refused once the listener closed.
    const fresh = new Agent({ pipelining: 0 });
    const refused = await request(`http://127.0.0.1:${port}/health`, { dispatcher: fresh }).then(
      () => 'answered',
      (error: { code?: string }) => error.code,
    );
    await fresh.close();
    expect(refused).toBe('ECONNREFUSED');
    // The SDK keeps the stream's connection alive: it is closed as the stream ends, and the process
    // exits then, not when the grace period is over.
    expect(await exitWithin(relay, 10_000)).toBe(0);
    expect(relay.stdout()).not.toMatch(/grace period over/);

    const store = await openStore({ sqlitePath: join(cwd, 'data', 'relay.db') });
    try {
      expect(await store.ledger.count()).toBe(1);
      const [row] = await store.ledger.usage({ groupBy: 'model' });
      expect(row).toMatchObject({ group: 'gpt-4.1', requests: 1 });
    } finally {
      await store.close();
    }
  });

  it('answers a request sent on a kept-alive connection while closing with an OpenAI-shaped 503 the SDKs retry, and closes the connection', async () => {
    const { port, relay } = await serve('relay-shutdown-kept-alive-', 0, 30000);
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    upstream.next({ kind: 'events', events: [chunk('Hel'), released, chunk('lo', 'stop')] });
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('utf8')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(chatRequest({ stream: true }));
    await expect.poll(() => received).toContain('Hel');

    relay.child.kill('SIGTERM');
    await expect.poll(() => refusesConnections(port)).toBe(true);
    // The client sends its next request on the connection it keeps (pipelined behind the stream), then the stream ends.
    socket.write(chatRequest({ messages: [{ role: 'user', content: 'again' }] }));
    release();
    await closed;

    const second = received.indexOf('HTTP/1.1 ', 1);
    expect(received.slice(0, second)).toContain('data: [DONE]');
    const head = received.slice(second, received.indexOf('\r\n\r\n', second));
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head).toMatch(/\r\nx-should-retry: true\r\n/i);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(received.slice(second + head.length + 4))).toEqual({ error: { message: expect.stringMatching(/shutting down/), type: 'server_error', param: null, code: 'shutting_down' } });
    expect(await exitWithin(relay, 10_000)).toBe(0);
    expect(relay.stdout()).not.toMatch(/grace period over/);
  });

  it('cuts the streams still open when the grace period ends, meters what each delivered, and exits 0', async () => {
    const { cwd, port, relay } = await serve('relay-shutdown-cut-', 0, 300);
    const client = new OpenAI({ apiKey: master, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const delivered = await Promise.all(
      [0, 1, 2].map(async () => {
        upstream.next({ kind: 'stream', chunks: 400, delayMs: 50 });
        const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'a very long answer' }], stream: true });
        const iterator = stream[Symbol.asyncIterator]();
        await iterator.next();
        return iterator;
      }),
    );
    relay.child.kill('SIGTERM');
    const cut = await Promise.all(
      delivered.map(async (iterator) => {
        try {
          while ((await iterator.next()).done !== true);
          return 'finished';
        } catch {
          return 'cut';
        }
      }),
    );
    expect(cut).toEqual(['cut', 'cut', 'cut']);
    expect(await relay.exited).toBe(0);
    expect(relay.stdout()).toMatch(/grace period over: closing the remaining connections/);

    const store = await openStore({ sqlitePath: join(cwd, 'data', 'relay.db') });
    try {
      const [row] = await store.ledger.usage({ groupBy: 'model' });
      expect(row).toMatchObject({ group: 'gpt-4.1', requests: 3 });
      expect(row?.completionTokens).toBeGreaterThan(3);
    } finally {
      await store.close();
    }
  });
});
