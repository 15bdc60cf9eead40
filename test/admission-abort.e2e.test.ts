import { request as httpRequest } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import OpenAI, { type APIError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLimitStore } from '../src/limits/redis-limit-store.js';
import { ResilientLimitStore } from '../src/limits/resilient-limit-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable } from './support/services.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const services = await reachable();

describe.skipIf(services.redisUrl === undefined)('a client that leaves while its admission is checked in Redis', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  // Between the relay and Redis: a proxy that can hold what the relay sends, as a slow network would.
  let holding = false;
  const held: Array<() => void> = [];
  const proxy = createServer((client: Socket) => {
    const redisUrl = new URL(services.redisUrl!);
    const server = connect(Number(redisUrl.port || 6379), redisUrl.hostname);
    client.on('data', (bytes) => {
      if (holding) held.push(() => server.write(bytes));
      else server.write(bytes);
    });
    server.pipe(client);
    for (const socket of [client, server]) socket.on('error', () => {});
    client.on('close', () => server.destroy());
  });

  beforeAll(async () => {
    await upstream.start();
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const limits = new ResilientLimitStore({
      primary: new RedisLimitStore({ redis: `redis://127.0.0.1:${(proxy.address() as { port: number }).port}`, keyPrefix: `relay:test:${randomUUID()}:` }),
      policy: 'fail-closed',
    });
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url }, undefined, { limits });
  });
  afterAll(async () => {
    await relay?.close();
    proxy.close();
    await upstream.stop();
  });

  it('gives its parallel slot back and sends nothing upstream', async () => {
    const created = await request(`${relay.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'one-at-a-time', max_parallel: 1 }),
    });
    const key = ((await created.body.json()) as { key: string }).key;

    holding = true;
    const leaving = httpRequest(`${relay.url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
    leaving.on('error', () => {});
    leaving.end(JSON.stringify({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] }));
    // The reservation is on its way to Redis: the client leaves before it is answered.
    await expect.poll(() => held.length).toBeGreaterThan(0);
    leaving.destroy();
    await expect.poll(() => relay.logs.some((line) => line.status === 499)).toBe(true);
    holding = false;
    for (const send of held.splice(0)) send();

    const client = new OpenAI({ apiKey: key, baseURL: relay.baseURL, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello again.' }] });
    // The slot comes back once the reservation's answer reached the relay: until then the next request may find it taken.
    await expect
      .poll(async () => {
        try {
          return (await ask()).choices[0]?.message.content;
        } catch (error) {
          return (error as APIError).code;
        }
      })
      .toBe('echo: Hello again.');
    expect(upstream.requests.map((received) => (received.body.messages as Array<{ content: string }>)[0]?.content)).toEqual(['Hello again.']);
  });
});
