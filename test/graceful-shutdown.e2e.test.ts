import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { freePort, spawnRelay } from './support/spawn-relay.js';

const master = 'sk-relay-shutdown-master-0123456789';

describe('graceful shutdown of a relay process', () => {
  const upstream = new MockOpenAIUpstream();
  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.stop();
  });

  it('turns /ready to 503 at once, finishes a stream in flight, refuses new connections, flushes the ledger and exits 0', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-shutdown-'));
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '500', '--grace-period-ms', '10000'], {
      cwd,
      env: { PORT: String(port), HOST: '127.0.0.1', RELAY_MASTER_KEY: master, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    await relay.waitForLog(/relay listening/);
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
    expect(await relay.exited).toBe(0);

    const store = await openStore({ sqlitePath: join(cwd, 'data', 'relay.db') });
    try {
      expect(await store.ledger.count()).toBe(1);
      const [row] = await store.ledger.usage({ groupBy: 'model' });
      expect(row).toMatchObject({ group: 'gpt-4.1', requests: 1 });
    } finally {
      await store.close();
    }
  });

  it('cuts the streams still open when the grace period ends, meters what each delivered, and exits 0', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-shutdown-cut-'));
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0', '--grace-period-ms', '300'], {
      cwd,
      env: { PORT: String(port), HOST: '127.0.0.1', RELAY_MASTER_KEY: master, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    await relay.waitForLog(/relay listening/);
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
