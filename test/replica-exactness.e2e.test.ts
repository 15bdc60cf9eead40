import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI, { type APIError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { streamGpt41 } from './support/stream-gpt41.js';
import { freshSchema, installed, reachable } from './support/services.js';
import { startPrivateRedis } from './support/private-redis.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-exactness-master-0123456789';
const services = await reachable();
const missing = services.why ?? (installed('redis-server') ? undefined : 'redis-server is not installed');
if (missing !== undefined) process.stdout.write(`replica-exactness.e2e: skipped: ${missing}\n`);

/** gpt-4.1 at $1000 per 1M tokens: a stream of n words reports 9 + n tokens. */
const yaml = 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\nledger:\n  flushIntervalMs: 100\n';

describe.skipIf(missing !== undefined)('replicas sharing Postgres and a Redis of their own', () => {
  const upstream = new MockOpenAIUpstream();
  const running: SpawnedRelay[] = [];
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let redisServer: ChildProcess | undefined;
  let redisPort: number;
  let redis: Redis;
  let cwd: string;

  async function startRedis(): Promise<void> {
    redisServer = await startPrivateRedis(redisPort);
  }

  async function replica(environment: Record<string, string> = {}): Promise<{ relay: SpawnedRelay; url: string }> {
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0', '--grace-period-ms', '3000'], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, DATABASE_URL: schema.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url, ...environment },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return { relay, url: `http://127.0.0.1:${port}` };
  }

  async function admin<T>(base: string, path: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET', body?: unknown): Promise<T> {
    const response = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${master}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.body.json()) as T;
  }

  const stream = streamGpt41;

  type Usage = { data: Array<{ requests: number; cost: number; currency: string }> };
  const ledgerCost = async (base: string, keyId: string) => (await admin<Usage>(base, `/admin/usage?group_by=key&key=${keyId}`)).data.reduce((sum, row) => sum + Math.round(row.cost * 1e6), 0);
  const ledgerRequests = async (base: string, keyId: string) => (await admin<Usage>(base, `/admin/usage?group_by=key&key=${keyId}`)).data.reduce((sum, row) => sum + row.requests, 0);

  beforeAll(async () => {
    await upstream.start();
    schema = await freshSchema(services.databaseUrl!);
    redisPort = await freePort();
    await startRedis();
    redis = new Redis(redisPort, '127.0.0.1');
    cwd = mkdtempSync(join(tmpdir(), 'relay-replica-exactness-'));
    writeFileSync(join(cwd, 'relay.yaml'), yaml);
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    redis?.disconnect();
    redisServer?.kill('SIGKILL');
    await upstream.stop();
    await schema?.drop();
  });

  it('charge the balances and budgets of streams in flight while Redis lost its data: the key spends no more than it has', { timeout: 60_000 }, async () => {
    const [a, b] = [await replica(), await replica()];
    const account = await admin<{ id: string }>(a.url, '/admin/accounts', 'POST', { name: 'prepaid' });
    await admin(a.url, `/admin/accounts/${account.id}/topup`, 'POST', { amount: 0.5 });
    const prepaid = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'prepaid', account: account.id });
    const budgeted = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'budgeted', budget: { amount: 0.5, currency: 'USD', period: 'daily' } });
    // Both replicas know the keys.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // Eight streams per key, half at each replica, of 30 words 100 ms apart (3 s): 9 + 30 tokens,
    // $0.039 each, $0.312 a key. Redis loses its data once all have reached the upstream.
    upstream.setStreamDefaults({ chunks: 30, delayMs: 100 });
    const before = upstream.requests.length;
    const streams = Array.from({ length: 16 }, (_, index) => stream(index % 2 === 0 ? a.url : b.url, index < 8 ? prepaid.key : budgeted.key));
    await expect.poll(() => upstream.requests.length - before, { timeout: 5000, interval: 20 }).toBe(16);
    await redis.flushall();
    expect(await Promise.all(streams)).toEqual(Array(16).fill('ok'));
    upstream.setStreamDefaults({ chunks: 5, delayMs: 0 });
    const restored = () => [a, b].some((replica) => /limit counters were missing from Redis/.test(replica.relay.stdout()));
    await expect.poll(restored, { timeout: 5000, interval: 50 }).toBe(true);
    await expect.poll(async () => (await ledgerRequests(a.url, prepaid.id)) + (await ledgerRequests(a.url, budgeted.id)), { timeout: 5000, interval: 100 }).toBe(16);
    expect(await ledgerCost(a.url, prepaid.id)).toBe(312_000);
    expect(await ledgerCost(a.url, budgeted.id)).toBe(312_000);

    // $0.188 left of each: a request of 'Hello.' costs $0.018 (11 + 7 tokens) and reserves $0.022
    // (2 + 20): ten pass, at either replica, and the eleventh is refused.
    const ask = (base: string, key: string) =>
      new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] })
        .then(() => 'ok', (error: APIError) => String(error.code));
    for (const key of [prepaid, budgeted]) {
      const answers: string[] = [];
      for (let index = 0; index < 11; index++) answers.push(await ask(index % 2 === 0 ? a.url : b.url, key.key));
      expect(answers).toEqual([...Array(10).fill('ok'), key === prepaid ? 'insufficient_balance' : 'budget_exceeded']);
    }
    await expect.poll(async () => Math.round((await admin<{ balance: number }>(a.url, `/admin/accounts/${account.id}`)).balance * 1e6), { timeout: 3000, interval: 100 }).toBe(8_000);
  });

  it('charge requests in flight to a budget set or changed at another replica meanwhile: the key spends no more than the budget', { timeout: 60_000 }, async () => {
    const [a, b] = [await replica(), await replica()];
    // One key without any limit (its requests reserve nothing), one whose monthly budget becomes a daily one.
    const unlimited = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'no-budget-yet' });
    const monthly = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'monthly-then-daily', budget: { amount: 10, currency: 'USD', period: 'monthly' } });
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // Four streams per key at B, $0.039 each ($0.156 a key), and meanwhile at A a daily budget of $0.21 for both.
    upstream.setStreamDefaults({ chunks: 30, delayMs: 100 });
    const before = upstream.requests.length;
    const streams = Array.from({ length: 8 }, (_, index) => stream(b.url, index < 4 ? unlimited.key : monthly.key));
    await expect.poll(() => upstream.requests.length - before, { timeout: 5000, interval: 20 }).toBe(8);
    for (const key of [unlimited, monthly]) await admin(a.url, `/admin/keys/${key.id}`, 'PATCH', { budget: { amount: 0.21, currency: 'USD', period: 'daily' } });
    expect(await Promise.all(streams)).toEqual(Array(8).fill('ok'));
    upstream.setStreamDefaults({ chunks: 5, delayMs: 0 });
    await expect.poll(async () => (await ledgerRequests(a.url, unlimited.id)) + (await ledgerRequests(a.url, monthly.id)), { timeout: 5000, interval: 100 }).toBe(8);

    // $0.054 left of each: a request costs $0.018 and reserves $0.026 (6 prompt tokens estimated, 20 for
    // max_tokens), so two pass, at either replica and whether or not the first was settled yet, and a third is refused.
    for (const key of [unlimited, monthly]) {
      const answers: string[] = [];
      for (let index = 0; index < 3; index++) {
        answers.push(
          await new OpenAI({ apiKey: key.key, baseURL: `${(index % 2 === 0 ? a : b).url}/v1`, maxRetries: 0 }).chat.completions
            .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] })
            .then(() => 'ok', (error: APIError) => String(error.code)),
        );
      }
      expect(answers).toEqual(['ok', 'ok', 'budget_exceeded']);
      await expect.poll(() => ledgerCost(a.url, key.id), { timeout: 3000, interval: 100 }).toBe(156_000 + 36_000);
    }
  });

  it('hold the parallel slots and budget of requests in flight again once Redis lost its data and the counters are loaded again', { timeout: 60_000 }, async () => {
    const [a, b] = [await replica(), await replica()];
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'two-at-a-time', max_parallel: 2, budget: { amount: 0.15, currency: 'USD', period: 'daily' } });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const ask = (base: string) =>
      new OpenAI({ apiKey: key.key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] })
        .then(() => 'ok', (error: APIError) => String(error.code));

    // Two streams of 40 words 150 ms apart (6 s; 49 tokens, $0.049 each), one at each replica; Redis loses its data meanwhile.
    upstream.setStreamDefaults({ chunks: 40, delayMs: 150 });
    const before = upstream.requests.length;
    const streams = [stream(a.url, key.key), stream(b.url, key.key)];
    await expect.poll(() => upstream.requests.length - before, { timeout: 5000, interval: 20 }).toBe(2);
    const flushedAt = Date.now();
    await redis.flushall();
    // Loaded again (by one of the replicas running): the mark holds when.
    await expect.poll(async () => Number(await redis.get('relay:limits:claimed')) > flushedAt, { timeout: 5000, interval: 50 }).toBe(true);
    // Every replica looks at the mark every 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // Both slots are taken while the streams run, at either replica.
    expect([await ask(a.url), await ask(b.url)]).toEqual(['parallel_limit_exceeded', 'parallel_limit_exceeded']);
    upstream.setStreamDefaults({ chunks: 5, delayMs: 0 });
    expect(await Promise.all(streams)).toEqual(['ok', 'ok']);

    // $0.052 of the budget left: two requests of $0.018 (each reserving $0.022), not a third.
    await expect.poll(() => ledgerRequests(a.url, key.id), { timeout: 5000, interval: 100 }).toBe(2);
    expect([await ask(a.url), await ask(b.url), await ask(a.url)]).toEqual(['ok', 'ok', 'budget_exceeded']);
  });
});
